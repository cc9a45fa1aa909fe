#!/usr/bin/env bash
# matrix: 6.12-pci-split debug-pci-split
#
# Queue reset and resize (VIRTIO_F_RING_RESET) on a real device, through
# vireo_rng's debugfs trigger, while a reader runs: QEMU's own view of the
# queue (QMP x-query-virtio-queue-status) shows the size before and after a
# resize, every buffer that was posted comes back through the recycle
# callback (the ring's and the driver's log lines agree), sizes the device
# cannot take are refused with the old ring kept, and the queue gives fresh
# bytes afterwards. On the debug kernel, kmemleak and KASAN watch the
# reallocation. Only PCI modern has queue reset: QEMU 7.2's virtio-mmio has
# no QueueReset register, legacy interfaces none at all.
#
# Two devices: a fast one (vireo0, the current hwrng) that a reader drains
# across the resets, and one rate-limited to 1 byte an hour (vireo1),
# which holds its posted buffers: its reset must give back exactly the
# buffers its ring had in flight, and its resized ring (2) can hold only 2
# of the driver's 4 buffers afterwards.
#
# The guest holds each state until the host has looked at it: the host
# answers each STATE-n line with a QMP inject-nmi, which the guest sees in
# /proc/interrupts, and repeats it until the guest prints ACK-n.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck disable=SC2016 # guest-side expansions
boot_bg --dev rng,id=rngfast --dev rng,id=rngslow,max-bytes=1,period=3600000 --cmd '
	nmis() {
		_s=0
		for _v in $(sed -n "s/^ *NMI:\(.*\)Non-maskable.*/\1/p" /proc/interrupts); do
			_s=$((_s + _v))
		done
		echo $_s
	}
	nmi_after() { test "$(nmis)" -gt "$1"; }
	state() {
		_n=$(nmis)
		echo "STATE-$1"
		if wait_for 120 nmi_after "$_n"; then
			echo "ACK-$1"
			ok "host-saw-state-$1"
		else
			fail "host-saw-state-$1" "no NMI from the host in 120 s"
		fi
	}
	d=$(vireo_devices 0x0004 | head -n 1)
	dev=$(basename "$d")
	dbg=/sys/kernel/debug/vireo/$dev
	stats=$(ls $dbg/vq0-* | head -n 1)
	check feature-ring-reset-negotiated test "$(cut -c41 $d/features)" = 1
	check trigger-present test -e $dbg/reset_queue
	check_eq size-before 8 sed -n "s/^size: //p" $stats
	check read-before sh -c "hwrng-read 4096 | grep -q \"^bytes=4096 err=none\""
	state 1

	# A reader runs across the resets.
	hwrng-read -o /tmp/bg 65536 >/tmp/bgr &
	reader=$!
	check resize-to-4 sh -c "echo 4 >$dbg/reset_queue"
	check_eq size-after 4 sed -n "s/^size: //p" $stats
	line=$(dmesg | grep "queue reset (0): .* ring size 4" | tail -n 1)
	echo "driver: $line"
	rec=$(echo "$line" | sed -n "s/.*: \([0-9]*\) buffers recycled, .*/\1/p")
	lost=$(echo "$line" | sed -n "s/.*, \([0-9]*\) not given back.*/\1/p")
	ring=$(dmesg | grep "queue 0 (input): reset, .* size 8 -> 4" | tail -n 1)
	echo "ring: $ring"
	rrec=$(echo "$ring" | sed -n "s/.*reset, \([0-9]*\) buffers* recycled.*/\1/p")
	check_eq none-lost 0 echo "$lost"
	check_eq ring-and-driver-agree "${rec:-none}" echo "$rrec"
	check_eq stats-resets 1 sed -n "s/^resets: //p" $stats
	check_eq stats-recycled "${rec:-none}" sed -n "s/^recycled: //p" $stats

	# The stalled device: what its ring holds is exactly what comes back.
	sdbg=/sys/kernel/debug/vireo/vireo1
	sstats=$(ls $sdbg/vq0-* | head -n 1)
	before=$(sed -n "s/^inflight: //p" $sstats)
	echo "stalled device: $before buffers in flight"
	check stalled-holds-buffers test "${before:-0}" -ge 3
	check stalled-resize-to-2 sh -c "echo 2 >$sdbg/reset_queue"
	sring=$(dmesg | grep "vireo1: queue 0 (input): reset, .* size 8 -> 2" | tail -n 1)
	echo "ring: $sring"
	check_eq stalled-recycled-what-was-in-flight "${before:-none}" echo "$(echo "$sring" | sed -n "s/.*reset, \([0-9]*\) buffers* recycled.*/\1/p")"
	check_eq stalled-stats-recycled "${before:-none}" sed -n "s/^recycled: //p" $sstats
	check_eq stalled-none-lost 0 echo "$(dmesg | grep "vireo1: vireo_rng.1: queue reset (0)" | tail -n 1 | sed -n "s/.*, \([0-9]*\) not given back.*/\1/p")"
	check_eq stalled-ring-full-again 2 sed -n "s/^inflight: //p" $sstats
	state 2

	# A plain reset keeps the size; sizes the device or the ring cannot
	# take are refused and the queue keeps working at its size.
	check reset-same-size sh -c "echo 0 >$dbg/reset_queue"
	check_eq size-kept 4 sed -n "s/^size: //p" $stats
	check refuse-beyond-device-max sh -c "! echo 16 >$dbg/reset_queue"
	check refusal-logged sh -c "dmesg | grep -q \"cannot resize to 16 (split ring, the device takes at most 8); keeping 4\""
	check refuse-not-power-of-2 sh -c "! echo 3 >$dbg/reset_queue"
	check_eq size-still 4 sed -n "s/^size: //p" $stats
	# The refused 16 still reset the queue (only then does the device say
	# its largest size); 3 was refused before.
	check_eq stats-resets 3 sed -n "s/^resets: //p" $stats
	check_eq not-broken 0 sed -n "s/^broken: //p" $stats

	wait_for 240 sh -c "! kill -0 $reader"
	cat /tmp/bgr
	check reader-across-resets grep -q "^bytes=65536 err=none" /tmp/bgr
	hwrng-read -o /tmp/a 16384 >/tmp/ra
	hwrng-read -o /tmp/b 16384 >/tmp/rb
	check read-after grep -q "^bytes=16384 err=none" /tmp/ra
	check fresh-bytes sh -c "! cmp -s /tmp/a /tmp/b && ! cmp -s /tmp/a /tmp/bg"
	check not-constant sh -c "test \$(od -An -v -tx1 /tmp/a | tr \" \" \"\n\" | sort -u | grep -c .) -gt 250"
	rngtest -c 20 </dev/hwrng 2>/tmp/fips
	okb=$(sed -n "s/.*FIPS 140-2 successes: //p" /tmp/fips)
	check rngtest-after-reset test "${okb:-0}" -ge 19
	state 3
	check unload vireo_unload'

# queue_status ID FIELD: FIELD of queue 0 of device ID, as QEMU sees it.
queue_status() {
	local path out
	path=$(qmp x-query-virtio | grep -o "\"path\": \"[^\"]*/$1/[^\"]*\"" | head -n 1 | cut -d'"' -f4)
	[ -n "$path" ] || return 1
	out=$(qmp "x-query-virtio-queue-status {\"path\": \"$path\", \"queue\": 0}") || return 1
	echo "$out" | grep -o "\"$2\": [0-9]*" | head -n 1 | awk '{ print $2 }'
}

# step N FAST SLOW: at STATE-N, QEMU's vring-num of the two devices must be
# FAST and SLOW; then let the guest on.
step() {
	local got id want
	if ! guest_console_wait "STATE-$1" 300; then
		tap_fail "qmp-state-$1" "the guest never reached STATE-$1 (log: $GUEST_LOG)"
		stop_guest
		return 1
	fi
	for id in rngfast rngslow; do
		want=$2
		[ $id = rngfast ] || want=$3
		got=$(queue_status $id vring-num)
		if [ "$got" = "$want" ]; then
			tap_ok "qmp-$id-vring-num-$1-is-$want"
		else
			tap_fail "qmp-$id-vring-num-$1-is-$want" "x-query-virtio-queue-status says vring-num ${got:-?}"
		fi
	done
	if [ "$1" = 3 ]; then
		# The device went on using the queue after the resets.
		got=$(queue_status rngfast last-avail-idx)
		if [ "${got:-0}" -gt 0 ]; then
			tap_ok qmp-queue-used-after-reset
		else
			tap_fail qmp-queue-used-after-reset "last-avail-idx ${got:-?}"
		fi
	fi
	for _ in $(seq 60); do
		qmp inject-nmi >/dev/null
		guest_console_wait "ACK-$1" 2 && return 0
	done
	tap_fail "qmp-ack-$1" "the guest never saw an NMI (log: $GUEST_LOG)"
	stop_guest
	return 1
}

step 1 8 8 && step 2 4 2 && step 3 4 2
wait_guest 600
