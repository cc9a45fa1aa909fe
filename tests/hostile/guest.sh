# Guest side of the hostile-blk tests (busybox sh). The host passes this
# file's text in --cmd, followed by the calls, e.g.:  hx_eio bad-id hx-bad 0x09 'used id'
#
# A disk is found by its serial (GET_ID); a device the driver refused has no
# disk, so it is found by its PCI slot. The "one line" checks count the
# kernel lines of that vireo device (" vireoN: ") from the case's mark on,
# or, for config values read at probe, the complaint lines since boot.
# HX_KNOWN_BAD lists CASE/CHECK names that fail today for want of a driver
# fix: such a check is reported as a skip ("needs fix: ...") when it fails.
# shellcheck shell=sh disable=SC2034,SC1091 # /tests/ is the guest's

. /tests/blk-lib.sh
HX_PAT_OFF=1048576

# hx_vdev_of_slot SLOT: vireoN of the device at pcie.0 slot SLOT (0x0a).
hx_vdev_of_slot() {
	_s=$(printf '%02x' "$1")
	for _v in /sys/bus/vireo/devices/vireo*; do
		case $(readlink -f "$_v") in
		*/0000:00:$_s.0/*) echo "${_v##*/}"; return 0 ;;
		esac
	done
	return 1
}

# hx_disks SERIAL...: note every disk's name first. Reading the serial of a
# disk whose device stopped answering sends GET_ID and waits with it, so
# names are never looked up once a fault has fired.
hx_disks() {
	for _bd in /sys/block/vd*; do
		[ -e "$_bd/serial" ] && echo "${_bd##*/}" >"/tmp/hx-disk-$(cat "$_bd/serial")"
	done
	for _sr in "$@"; do
		[ -s "/tmp/hx-disk-$_sr" ] || blk_dev "$_sr" >"/tmp/hx-disk-$_sr" || rm -f "/tmp/hx-disk-$_sr"
	done
}

# hx_dev SERIAL: the disk noted for SERIAL (hx_disks), or blk_dev's answer.
hx_dev() {
	if [ -s "/tmp/hx-disk-$1" ]; then cat "/tmp/hx-disk-$1"; else blk_dev "$1"; fi
}

hx_mark() { echo "hostile-mark $1" >/dev/kmsg; }

# hx_lines CASE VDEV [all]: this device's kernel lines since the mark (or,
# with "all", its complaint lines since boot). The driver core's own
# "probe with driver X failed with error N" (6.12) is not vireo's line.
hx_lines() {
	if [ "${3:-}" = all ]; then
		dmesg | grep -F " $2: " | grep -E 'ignor|cannot|refus|fail|error|broken|never|disabled|not answered|wrote'
	else
		dmesg | sed -n "/hostile-mark $1\$/,\$p" | grep -F " $2: "
	fi | grep -v 'probe with driver .* failed with error'
}

# hx_known CASE/CHECK: is it on the known-bad list?
hx_known() {
	case " ${HX_KNOWN_BAD:-} " in *" $1 "*) return 0 ;; esac
	return 1
}

# hx_verdict NAME OK DETAIL: ok, fail, or skip for a listed known-bad check.
hx_verdict() {
	if [ "$2" = 1 ]; then
		ok "$1"
		hx_known "$1" && echo "hostile: $1 is on HX_KNOWN_BAD but passes now"
	elif hx_known "$1"; then
		skip "$1" "needs fix: $3"
	else
		fail "$1" "$3"
	fi
	return 0
}

# hx_one_line CASE VDEV PATTERN [all]: exactly one line, matching PATTERN.
hx_one_line() {
	_l=$(hx_lines "$1" "$2" "${4:-}")
	_n=$(printf '%s' "$_l" | grep -c .)
	echo "hostile: $1: $_n line(s) of $2:"
	printf '%s\n' "$_l" | sed 's/^/hostile:   /'
	if [ "$_n" = 1 ] && printf '%s' "$_l" | grep -qE "$3"; then
		hx_verdict "$1/one-line" 1
	else
		hx_verdict "$1/one-line" 0 "$_n lines of $2 (want 1 matching '$3'): $(printf '%s' "$_l" | tr '\n' '|' | cut -c1-400)"
	fi
}

# hx_io SECS CMD...: run CMD in the background, give it SECS seconds; prints
# its output, or "hung" if it did not finish (it is left running).
hx_io() {
	_t=$1
	shift
	"$@" >/tmp/hx.out 2>&1 &
	_p=$!
	if wait_for "$_t" sh -c "! kill -0 $_p 2>/dev/null"; then
		wait $_p
		cat /tmp/hx.out
	else
		echo hung
	fi
}

# hx_clean CASE SERIAL [nofs]: a device that behaves: the host's pattern
# reads back, 8 MiB written and read with O_DIRECT, an ext4 round trip
# (unless nofs), no line of the device since the mark.
hx_clean() {
	_d=$(hx_dev "$2") || { fail "$1/disk" "no disk with serial $2"; return; }
	_v=$(readlink -f "/sys/block/$_d/device"); _v=${_v##*/}
	ok "$1/disk"
	hx_mark "$1"
	check "$1/host-pattern" blk-io verify "/dev/$_d" 1m 64k 7
	check "$1/write-8m" blk-io write "/dev/$_d" 2m 8m 5 direct
	check "$1/read-8m" blk-io verify "/dev/$_d" 2m 8m 5
	if [ "${3:-}" != nofs ]; then
		blk_ext4
		blk_fs_roundtrip "$1/fs" "/dev/$_d"
	fi
	_n=$(hx_lines "$1" "$_v" | grep -c .)
	check_eq "$1/no-lines" 0 echo "$_n"
}

# hx_eio CASE SERIAL PATTERN: the read of sector 2048 (where the rule
# fires) fails with EIO, in bounded time, with one line naming the fault.
hx_eio() {
	_d=$(hx_dev "$2") || { fail "$1/disk" "no disk with serial $2"; return; }
	_v=$(readlink -f "/sys/block/$_d/device"); _v=${_v##*/}
	hx_mark "$1"
	_o=$(hx_io 60 blk-io verify "/dev/$_d" 1m 4k 7)
	check_eq "$1/eio" "verify err=EIO" echo "$_o"
	sleep 1
	hx_one_line "$1" "$_v" "$3"
}

# hx_dead CASE SERIAL PATTERN: the fault comes after the read at 2048 was
# answered (a second used entry): that read may succeed, the next one fails
# with EIO, one line names the fault.
hx_dead() {
	_d=$(hx_dev "$2") || { fail "$1/disk" "no disk with serial $2"; return; }
	_v=$(readlink -f "/sys/block/$_d/device"); _v=${_v##*/}
	hx_mark "$1"
	_o=$(hx_io 60 blk-io verify "/dev/$_d" 1m 4k 7)
	check "$1/bounded" test "$_o" != hung
	sleep 1
	_o=$(hx_io 60 blk-io verify "/dev/$_d" 2m 4k 7)
	check_eq "$1/next-eio" "verify err=EIO" echo "$_o"
	hx_one_line "$1" "$_v" "$3"
}

# hx_cfg CASE SERIAL PATTERN ATTR WANT: a config value the driver clamps or
# ignores: one line at probe, the queue attribute, and I/O works.
hx_cfg() {
	_d=$(hx_dev "$2") || { fail "$1/disk" "no disk with serial $2"; return; }
	_v=$(readlink -f "/sys/block/$_d/device"); _v=${_v##*/}
	hx_one_line "$1" "$_v" "$3" all
	check_eq "$1/$4" "$5" cat "/sys/block/$_d/$4"
	check "$1/io" blk-io verify "/dev/$_d" 1m 64k 7
}

# hx_refused CASE SLOT PATTERN: a config value the driver cannot honour:
# the device stays without a driver, one line says why.
hx_refused() {
	_v=$(hx_vdev_of_slot "$2") || { fail "$1/device" "no vireo device at slot $2"; return; }
	check "$1/no-driver" test ! -e "/sys/bus/vireo/devices/$_v/driver"
	hx_one_line "$1" "$_v" "$3" all
}

# hx_packed: every hostile disk runs on a packed ring (the cell's).
hx_packed() {
	_n=0
	for _f in /sys/kernel/debug/vireo/vireo*/vq0-*; do
		grep -q '^layout: packed' "$_f" && _n=$((_n + 1))
	done
	check_eq packed/layout "$(ls -d /sys/bus/vireo/devices/vireo* | grep -c .)" echo "$_n"
}

# hx_unsettled CASE SERIAL: a config that never settles, at probe. QEMU 7.2
# gives a vhost-user back-end no way to make one (docs/hostile.md), so
# vireo_ring's fail_config makes the device's generation move on every try
# of one read: binding vireo_blk again fails with one line, no disk, no
# leak; with nothing armed the next bind gives the disk back.
hx_unsettled() {
	_d=$(hx_dev "$2") || { fail "$1/disk" "no disk with serial $2"; return; }
	_v=$(readlink -f "/sys/block/$_d/device"); _v=${_v##*/}
	_f=/sys/kernel/debug/vireo/$_v/fail_config
	hx_mark "$1"
	echo "$_v" >/sys/bus/vireo/drivers/vireo_blk/unbind
	echo 1 >"$_f"
	check_eq "$1/armed" 1 cat "$_f"
	if echo "$_v" >/sys/bus/vireo/drivers/vireo_blk/bind 2>/dev/null; then
		hx_verdict "$1/bind-fails" 0 "vireo_blk bound a device whose config never settled"
	else
		hx_verdict "$1/bind-fails" 1
	fi
	check "$1/no-driver" test ! -e "/sys/bus/vireo/devices/$_v/driver"
	check_eq "$1/spent" 0 cat "$_f"
	hx_one_line "$1" "$_v" 'config read [0-9]+\+[0-9]+ never settled: .* \(injected\)' all
	check "$1/rebind" sh -c "echo $_v >/sys/bus/vireo/drivers/vireo_blk/bind"
	_d=$(blk_dev "$2") || { fail "$1/disk-back" "no disk with serial $2 after the rebind"; return; }
	ok "$1/disk-back"
	check "$1/read-after" blk-io verify "/dev/$_d" 1m 64k 7
}

# hx_storm CASE SERIAL SECTORS: the read at 2048 starts a storm of config
# changes (capacity back and forth); the disk ends at its size, reads work.
hx_storm() {
	_d=$(hx_dev "$2") || { fail "$1/disk" "no disk with serial $2"; return; }
	_v=$(readlink -f "/sys/block/$_d/device"); _v=${_v##*/}
	hx_mark "$1"
	check "$1/read" blk-io verify "/dev/$_d" 1m 4k 7
	# Settled: the same size five times in a row, 0.5 s apart (bounded).
	_i=0 _same=0 _last=x
	while [ $_i -lt 120 ] && [ $_same -lt 5 ]; do
		_s=$(cat "/sys/block/$_d/size")
		if [ "$_s" = "$_last" ]; then _same=$((_same + 1)); else _same=0; fi
		_last=$_s
		sleep 0.5
		_i=$((_i + 1))
	done
	check_eq "$1/final-size" "$3" cat "/sys/block/$_d/size"
	check "$1/read-after" blk-io verify "/dev/$_d" 1m 64k 7
	echo "hostile: $1: $(dmesg | sed -n "/hostile-mark $1\$/,\$p" | grep -c "$_d: detected capacity change") capacity change lines, $(hx_lines "$1" "$_v" | grep -c 'never settled') 'never settled'"
}

# hx_reconnect CASE SERIAL: the back-end hangs up in the middle of the read
# at 2048 and QEMU (reconnect=1) connects again: the read completes with the
# right bytes, writes work, the guest saw nothing.
hx_reconnect() {
	_d=$(hx_dev "$2") || { fail "$1/disk" "no disk with serial $2"; return; }
	_v=$(readlink -f "/sys/block/$_d/device"); _v=${_v##*/}
	hx_mark "$1"
	_o=$(hx_io 60 blk-io verify "/dev/$_d" 1m 4k 7)
	check_eq "$1/read" "verify ok" echo "$_o"
	check "$1/write" blk-io write "/dev/$_d" 4m 64k 3 direct
	check "$1/read-back" blk-io verify "/dev/$_d" 4m 64k 3
	_n=$(hx_lines "$1" "$_v" | grep -c .)
	check_eq "$1/no-lines" 0 echo "$_n"
}

# hx_stall_start CASE SERIAL: the read of 2048 that makes the queue stop
# answering (the back-end stops serving it, or hangs up and goes away),
# left waiting in the background; hx_stall CASE checks it. Stalls go last:
# their readers stay.
hx_stall_start() {
	_d=$(hx_dev "$2") || { fail "$1/disk" "no disk with serial $2"; return; }
	_v=$(readlink -f "/sys/block/$_d/device"); _v=${_v##*/}
	echo "$_v" >"/tmp/hx-vdev-$1"
	hx_mark "$1"
	blk-io verify "/dev/$_d" 1m 4k 7 >"/tmp/hx-stall-$1.out" 2>&1 &
	echo $! >"/tmp/hx-pid-$1"
}

# hx_stall CASE: the stall detector says so once while the reader waits.
# Both stalls are checked before either is unbound: the escalation
# (vireo_ring abort_timeout) ends every stalled request at about the same
# time.
hx_stall() {
	[ -s "/tmp/hx-pid-$1" ] || return
	_v=$(cat "/tmp/hx-vdev-$1") _p=$(cat "/tmp/hx-pid-$1")
	wait_for 40 sh -c "dmesg | sed -n '/hostile-mark $1\$/,\$p' | grep -F ' $_v: ' | grep -q 'not answered'"
	check "$1/reader-waits" kill -0 "$_p"
	hx_one_line "$1" "$_v" 'outstanding for .* has not answered'
}

# hx_stall_unbind CASE: unbinding the driver ends in bounded time (the
# device is reset once abort_timeout has passed), the read fails with EIO,
# and the escalation is one more line.
hx_stall_unbind() {
	[ -s "/tmp/hx-pid-$1" ] || return
	_v=$(cat "/tmp/hx-vdev-$1") _p=$(cat "/tmp/hx-pid-$1")
	if hx_known "$1/unbind"; then
		skip "$1/unbind" "needs fix: unbinding a driver whose queue stopped answering waits for ever"
		return
	fi
	echo "$_v" >/sys/bus/vireo/drivers/vireo_blk/unbind &
	_u=$!
	if wait_for 60 sh -c "! kill -0 $_u 2>/dev/null"; then
		ok "$1/unbind"
		wait_for 20 sh -c "! kill -0 $_p 2>/dev/null"
		check_eq "$1/reader-eio" "verify err=EIO" cat "/tmp/hx-stall-$1.out"
		_n=$(hx_lines "$1" "$_v" | grep -c 'stopped answering: resetting the device')
		check_eq "$1/escalation-line" 1 echo "$_n"
	else
		fail "$1/unbind" "unbind of $_v still waiting after 60 s"
	fi
}
