# Guest side of tests/host/hostile-net.sh (busybox sh): one virtio-net
# device per case, each on its own hostile-net back-end with one fault
# rule (tests/hostile/hostile-net.c). Device at slot S has the MAC
# 52:54:00:99:S:01 and the guest the address 10.99.S.1/24; its back-end
# is 10.99.S.2 and answers ARP and ping. The host passes this file's text
# in --cmd, followed by the calls, e.g.:
#   hn_drop len-short 0x0a rx_length_errors 'dropped a frame: shorter than header'
#
# The "one line" checks count the kernel lines of the case's device (its
# vireoN, the netdev's and the ring's lines) from the case's mark on.
# HN_KNOWN_BAD lists CASE/CHECK names that fail today for want of a driver
# fix: such a check is reported as a skip ("needs fix: ...") when it fails.
# shellcheck shell=sh disable=SC2034

hn_known() {
	case " ${HN_KNOWN_BAD:-} " in *" $1 "*) return 0 ;; esac
	return 1
}

hn_verdict() {
	if [ "$2" = 1 ]; then
		ok "$1"
		hn_known "$1" && echo "hostile: $1 is on HN_KNOWN_BAD but passes now"
	elif hn_known "$1"; then
		skip "$1" "needs fix: $3"
	else
		fail "$1" "$3"
	fi
	return 0
}

# hn_if SLOT: the interface of the device at SLOT (by its MAC).
hn_if() {
	_mac=$(printf '52:54:00:99:%02x:01' "$1")
	for _d in /sys/class/net/*; do
		[ "$(cat "$_d/address" 2>/dev/null)" = "$_mac" ] && basename "$_d" && return 0
	done
	return 1
}

# hn_dev IF: the vireo device (vireoN) under the interface.
hn_dev() { basename "$(readlink "/sys/class/net/$1/device")"; }

hn_mark() { echo "hostile-mark $1" >/dev/kmsg; }

# hn_lines CASE DEV: DEV's kernel lines since the mark of CASE (not the
# stack's own watchdog lines, which it prints every 5 s while a queue is
# stopped: they are not the driver's).
hn_lines() {
	dmesg | sed -n "/hostile-mark $1\$/,\$p" | grep -E "(^|[] ])$2[: ]" |
		grep -v 'NETDEV WATCHDOG'
}

# hn_one_line CASE DEV PATTERN: exactly one line, matching PATTERN ("none":
# no line at all).
hn_one_line() {
	_l=$(hn_lines "$1" "$2")
	_n=$(printf '%s' "$_l" | grep -c .)
	echo "hostile: $1: $_n line(s):"
	printf '%s\n' "$_l" | sed 's/^/hostile:   /'
	if [ "$3" = none ]; then
		[ "$_n" = 0 ] && hn_verdict "$1/no-line" 1 ||
			hn_verdict "$1/no-line" 0 "$_n lines: $(printf '%s' "$_l" | tr '\n' '|' | cut -c1-400)"
	elif [ "$_n" = 1 ] && printf '%s' "$_l" | grep -qE "$3"; then
		hn_verdict "$1/one-line" 1
	else
		hn_verdict "$1/one-line" 0 "$_n lines (want 1 matching '$3'): $(printf '%s' "$_l" | tr '\n' '|' | cut -c1-400)"
	fi
}

# hn_up SLOT: the interface up with its address; prints its name.
hn_up() {
	_i=$(hn_if "$1") || return 1
	ip link set "$_i" up
	ip addr add "10.99.$(($1)).1/24" dev "$_i"
	echo "$_i"
}

# hn_ping SLOT COUNT [SIZE]: echo replies received of COUNT (2 s each).
hn_ping() {
	ping -c "$2" -W 2 -s "${3:-56}" "10.99.$(($1)).2" 2>&1 |
		sed -n 's/.* \([0-9]*\) packets received.*/\1/p'
}

hn_stat() { cat "/sys/class/net/$1/statistics/$2"; }

# hn_interfaces SLOT...: every device has its interface, on vireo_net.
hn_interfaces() {
	for _s in "$@"; do
		_i=$(hn_if "$_s")
		_drv=$(basename "$(readlink "/sys/class/net/$_i/device/driver" 2>/dev/null)")
		check_eq "interface-$_s" "vireo_net" echo "$_drv"
	done
}

# hn_clean CASE SLOT: a device without rules: 3 of 3 small pings, 2 of 2
# of 1400 bytes (each reply spread over two receive buffers), no error
# counted, no line.
hn_clean() {
	hn_mark "$1"
	_i=$(hn_up "$2") || { fail "$1/up" "no interface"; return; }
	check_eq "$1/ping" 3 hn_ping "$2" 3
	check_eq "$1/ping-1400" 2 hn_ping "$2" 2 1400
	check_eq "$1/rx-errors" 0 hn_stat "$_i" rx_errors
	check_eq "$1/rx-dropped" 0 hn_stat "$_i" rx_dropped
	hn_one_line "$1" "$(hn_dev "$_i")" none
}

# hn_drop CASE SLOT COUNTER PATTERN: the back-end spoils the second echo
# reply: 2 of 3 pings come back, COUNTER and rx_dropped are 1, one line
# matching PATTERN; then the device works on: 2 of 2 of 1400 bytes.
hn_drop() {
	hn_mark "$1"
	_i=$(hn_up "$2") || { fail "$1/up" "no interface"; return; }
	hn_verdict "$1/one-lost" "$([ "$(hn_ping "$2" 3)" = 2 ] && echo 1)" "not 2 of 3 replies"
	check_eq "$1/$3" 1 hn_stat "$_i" "$3"
	check_eq "$1/rx-dropped" 1 hn_stat "$_i" rx_dropped
	check_eq "$1/works-after" 2 hn_ping "$2" 2 1400
	hn_one_line "$1" "$(hn_dev "$_i")" "$4"
}

# hn_broken CASE SLOT PATTERN [flood]: a fault that breaks a queue (or
# stalls it: "flood" sends UDP at the back-end for 15 s, so the transmit
# ring fills and the stack stops the queue): one line matching PATTERN for
# the device (a stall: two, the timeout's and, after abort_timeout, the
# driver's giving up; PATTERN is then "FIRST|SECOND" in order), pings and
# the flood return within their bounds, and the driver gives up on the
# device: the carrier goes off (/sys/class/net/IF/carrier 0). rmmod at the
# end shows nothing hangs.
hn_broken() {
	hn_mark "$1"
	_i=$(hn_up "$2") || { fail "$1/up" "no interface"; return; }
	_got=$(hn_ping "$2" 3)
	echo "hostile: $1: $_got of 3 replies"
	if [ "${4:-}" = flood ]; then
		# netio gives up after its SECS; 60 s bounds it here.
		netio udp-flood "10.99.$(($2)).2" 9 256 15 >/tmp/hn-flood.out 2>&1 &
		_fp=$!
		_r=0
		wait_for 60 sh -c "! kill -0 $_fp 2>/dev/null" && _r=1
		hn_verdict "$1/flood-returned" "$_r" "the sender still runs after 60 s"
	fi
	_r=0
	wait_for 60 sh -c "[ \"\$(cat /sys/class/net/$_i/carrier 2>/dev/null)\" = 0 ]" && _r=1
	hn_verdict "$1/carrier-off" "$_r" "carrier $(cat "/sys/class/net/$_i/carrier" 2>&1) 60 s after the fault"
	if [ "${4:-}" = flood ]; then
		hn_two_lines "$1" "$(hn_dev "$_i")" "${3%%|*}" "${3#*|}"
	else
		hn_one_line "$1" "$(hn_dev "$_i")" "$3"
	fi
}

# hn_two_lines CASE DEV PATTERN1 PATTERN2: exactly two lines, in that order.
hn_two_lines() {
	_l=$(hn_lines "$1" "$2")
	_n=$(printf '%s' "$_l" | grep -c .)
	echo "hostile: $1: $_n line(s):"
	printf '%s\n' "$_l" | sed 's/^/hostile:   /'
	if [ "$_n" = 2 ] && printf '%s' "$_l" | sed -n 1p | grep -qE "$3" &&
		printf '%s' "$_l" | sed -n 2p | grep -qE "$4"; then
		hn_verdict "$1/two-lines" 1
	else
		hn_verdict "$1/two-lines" 0 "$_n lines (want '$3' then '$4'): $(printf '%s' "$_l" | tr '\n' '|' | cut -c1-400)"
	fi
}

# hn_unload: rmmod vireo_net returns within 60 s with every device gone.
hn_unload() {
	rmmod vireo_net >/tmp/hn-rmmod.out 2>&1 &
	_rp=$!
	if wait_for 60 sh -c "! kill -0 $_rp 2>/dev/null"; then
		wait $_rp && ok unload || fail unload "$(cat /tmp/hn-rmmod.out)"
	else
		fail unload "rmmod vireo_net still runs after 60 s"
	fi
	_left=$(for _d in /sys/class/net/*; do
		case $(cat "$_d/address") in 52:54:00:99:*) basename "$_d" ;; esac
	done)
	check_eq unload/no-interface "" echo "$_left"
}
