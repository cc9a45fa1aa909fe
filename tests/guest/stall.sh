# Guest side of tests/host/stall.sh (busybox sh, sourced by the --cmd).
# vireo_blk is loaded with stall_timeout=2; vireo_ring's abort_timeout is
# set to STALL_ABORT here, once the disk is up.
# shellcheck shell=sh disable=SC2154 # STALL_* come from the host
. /tests/blk-lib.sh

# revive: bind vireo_blk again and check the disk works. The host's throttle
# is still paying off what it let through when the reset drained it (up to
# 2 MiB at 64 KiB/s): the bound is lifted meanwhile, so a slow answer is
# waited for.
revive() {
	echo "$blkv" >/sys/bus/vireo/drivers/vireo_blk/bind
	d=$(blk_dev "$STALL_SERIAL")
	echo 300 >/sys/module/vireo_ring/parameters/abort_timeout
	check "$1/back" sh -c "blk-io write /dev/$d 0 64k $2 direct && blk-io verify /dev/$d 0 64k $2"
	echo "$STALL_ABORT" >/sys/module/vireo_ring/parameters/abort_timeout
}

# stall_disk [SERIAL]: a writer the throttled host serves far slower than
# abort_timeout; sets d, blkv, w.
stall_disk() {
	d=$(blk_dev "${1:-$STALL_SERIAL}")
	blkv=$(basename "$(readlink -f "/sys/block/$d/device")")
	dmesg -c >>/tmp/dmesg.all
	rm -f /tmp/w.out
	blk-io write "/dev/$d" 0 8m 3 direct >/tmp/w.out 2>&1 &
	w=$!
	sleep 1
}

d=$(blk_dev "$STALL_SERIAL")
check disk-found test -n "$d" || return 1
echo "$STALL_ABORT" >/sys/module/vireo_ring/parameters/abort_timeout

line="the device stopped answering: resetting the device and failing its I/O"
state=freeze
grep -qw mem /sys/power/state && state=mem

# 1. Nothing else happens: the disk fails its I/O after abort_timeout.
stall_disk
check alone/escalated wait_for 120 sh -c "dmesg | grep -q '$blkv: $d: $line'"
check alone/writer-ended wait_for 30 sh -c "! kill -0 $w"
# The reset lets the host finish what it held: the writer sees either EIO
# or its write done, never a hang.
check alone/writer-answered grep -qE "err=EIO|write ok" /tmp/w.out
check alone/new-io-eio sh -c "blk-io verify /dev/$d 0 4k 0 | grep -q err=EIO"
check_eq alone/logged-once 1 sh -c "dmesg | grep -c '$line'"
bounded alone/unbind 60 sh -c "echo $blkv >/sys/bus/vireo/drivers/vireo_blk/unbind"
revive alone 5

# 2. Unbind while the device does not answer: it finishes after the bound.
stall_disk
bounded unbind/unbind 120 sh -c "echo $blkv >/sys/bus/vireo/drivers/vireo_blk/unbind"
check unbind/escalated sh -c "dmesg | grep -q '$line'"
# The disk went away under it: any error, or done.
check unbind/writer-answered wait_for 30 grep -qE "err=|write ok" /tmp/w.out
revive unbind 6

# 3. Suspend while the device does not answer: it finishes after the bound;
# the disk comes back dead (its I/O fails), then unbind/bind revive it.
stall_disk
echo devices >/sys/power/pm_test
bounded suspend/suspend 180 sh -c "echo $state >/sys/power/state"
echo none >/sys/power/pm_test
check suspend/escalated sh -c "dmesg | grep -q '$line'"
check suspend/writer-answered wait_for 30 grep -qE "err=EIO|write ok" /tmp/w.out
check suspend/io-eio sh -c "blk-io verify /dev/$d 0 4k 0 | grep -q err=EIO"
bounded suspend/unbind 60 sh -c "echo $blkv >/sys/bus/vireo/drivers/vireo_blk/unbind"
revive suspend 7

# 4. An entropy device that stops answering (the host gives 64 bytes per
# 10 minutes; the hwrng core's own reader may have hit the bound already):
# a blocked reader gets EIO, the reset is logged.
rngv=$(basename "$(vireo_devices 0x0004)")
hwrng-read 1000000 >/tmp/r.out &
check rng/reader-eio wait_for 120 grep -q "err=EIO" /tmp/r.out
check rng/escalated sh -c "dmesg | cat /tmp/dmesg.all - | grep -q '$rngv: vireo_rng.*returned nothing for [0-9]* s'"

# 5. Hot-unplug while the device does not answer: the host's device_del
# (pciehp) removes the disk under the held writer; the removal waits for
# the escalation, then finishes (QEMU reports DEVICE_DELETED, the host
# checks), the writer and a descriptor held open get errors.
stall_disk "$STALL_UNPLUG"
pci=$(basename "$(dirname "$(readlink -f "/sys/bus/vireo/devices/$blkv")")")
exec 3<"/dev/$d"
echo STALL-UNPLUG-NOW
# The disk and the vireo device leave sysfs as their removal starts; the
# PCI function only once vireo_blk and the transport are done with it.
check unplug/disk-gone wait_for 150 sh -c "! test -e /sys/block/$d"
check unplug/vireo-device-gone wait_for 30 sh -c "! test -e /sys/bus/vireo/devices/$blkv"
check unplug/escalated wait_for 120 sh -c "dmesg | grep -q '$blkv: $d: $line'"
check unplug/pci-function-gone wait_for 120 sh -c "! test -e /sys/bus/pci/devices/$pci"
check_eq unplug/logged-once 1 sh -c "dmesg | grep -c '$line'"
check unplug/writer-answered wait_for 30 grep -qE "err=|write ok" /tmp/w.out
check_eq unplug/held-fd-reads-nothing 0 sh -c "dd bs=4k count=1 <&3 2>/dev/null | wc -c"
exec 3<&-
check unplug/other-disk-alive test -e "/sys/block/$(blk_dev "$STALL_SERIAL")"

# 6. rmmod while the device does not answer. A process with the disk open
# holds vireo_blk (rmmod vireo_blk is refused), not the transport: rmmod
# vireo_transport removes the device under the stalled writer and finishes
# after the bound.
stall_disk
bounded rmmod/rmmod 120 rmmod vireo_transport
check rmmod/escalated sh -c "dmesg | grep -q '$line'"
check rmmod/writer-answered wait_for 30 grep -qE "err=|write ok" /tmp/w.out
check unload vireo_unload
