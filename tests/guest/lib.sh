# Helpers for guest-side test scripts (busybox sh). /init sources this before
# the --cmd command runs; a script under /tests/ sources it itself:
#   . /tests/lib.sh
#
# Results are lines on the console that the host (tests/lib.sh) turns into
# TAP:  TAP-OK name | TAP-FAIL name detail... | TAP-SKIP name why...
# A name is one word (spaces become '_'); use a/b or a:b to group.
# shellcheck shell=sh

_tap_name() { echo "$1" | tr ' \t' '__'; }

ok() {
	echo "TAP-OK $(_tap_name "$1")"
}

fail() {
	_n=$(_tap_name "$1")
	shift
	echo "TAP-FAIL $_n $*"
	echo "$_n" >>/tmp/.vireo-fails
}

skip() {
	_n=$(_tap_name "$1")
	shift
	echo "TAP-SKIP $_n $*"
}

# check NAME CMD [ARGS...]: ok if CMD exits 0, else fail with its exit status
# and the last lines of its output. Returns CMD's status.
check() {
	_cn=$1
	shift
	_out=$("$@" 2>&1)
	_rc=$?
	if [ $_rc -eq 0 ]; then
		ok "$_cn"
	else
		fail "$_cn" "exit $_rc: $(echo "$_out" | tail -n 3 | tr '\n' ' ')"
	fi
	return $_rc
}

# check_eq NAME EXPECTED CMD [ARGS...]: ok if CMD prints exactly EXPECTED.
check_eq() {
	_cn=$1
	_want=$2
	shift 2
	_out=$("$@" 2>&1)
	if [ "$_out" = "$_want" ]; then
		ok "$_cn"
	else
		fail "$_cn" "expected '$_want', got '$(echo "$_out" | tail -n 3 | tr '\n' ' ')'"
	fi
}

# wait_for SECS CMD [ARGS...]: poll CMD (every 0.2 s) until it succeeds;
# non-zero if it never did within SECS.
wait_for() {
	_t=$(($1 * 5))
	shift
	while [ $_t -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		_t=$((_t - 1))
	done
	return 1
}

# vireo_devices [ID]: sysfs paths of vireo devices, all or those whose
# virtio device id reads ID (e.g. 0x0004 for entropy, 0x0002 block).
vireo_devices() {
	for _d in /sys/bus/vireo/devices/*; do
		[ -e "$_d" ] || continue
		[ -z "${1:-}" ] || [ "$(cat "$_d/device" 2>/dev/null)" = "$1" ] || continue
		echo "$_d"
	done
}

# vireo_loaded: the vireo modules /init loaded, in load order.
vireo_loaded() {
	cat /vireo/.loaded 2>/dev/null
}

# vireo_load [MODULE...]: insmod vireo modules (default: all, in order),
# for guests booted with --no-vireo.
vireo_load() {
	_mods=${*:-vireo_ring vireo_transport $(cd /vireo && ls ./*.ko | sed 's|^\./||; s|\.ko$||' |
		grep -v -e '^vireo_ring$' -e '^vireo_transport$')}
	for _m in $_mods; do
		insmod "/vireo/$_m.ko" || return 1
		echo "$_m" >>/vireo/.loaded
	done
}

# vireo_unload: rmmod every loaded vireo module, in reverse load order.
vireo_unload() {
	for _m in $(vireo_loaded | sed -n '1!G;h;$p'); do
		grep -q "^$_m " /proc/modules || continue
		rmmod "$_m" || return 1
	done
	: >/vireo/.loaded
}
