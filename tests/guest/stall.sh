# Guest side of tests/host/stall.sh (busybox sh, sourced by the --cmd).
# vireo_ring is loaded with abort_timeout=STALL_ABORT, vireo_blk with
# stall_timeout=2.
# shellcheck shell=sh disable=SC2154 # STALL_* come from the host
. /tests/blk-lib.sh

# bounded NAME SECS CMD...: run CMD in the background and check that it
# returns within SECS (a hung unbind stays in D state; it is not waited for).
bounded() {
	_bn=$1 _bs=$2 _bf=/tmp/$(echo "$1" | tr / _)
	shift 2
	rm -f "$_bf.rc"
	(
		"$@" >"$_bf.out" 2>&1
		echo $? >"$_bf.rc"
	) &
	check "$_bn" wait_for "$_bs" test -e "$_bf.rc" || return 1
	check_eq "$_bn-status" 0 cat "$_bf.rc"
}

# pci_of VIREO_DEV: the PCI function behind a vireo device.
pci_of() {
	basename "$(readlink -f "/sys/bus/vireo/devices/$1/..")"
}

# master BDF on|off: PCI bus mastering through the COMMAND register's low
# byte (what setpci COMMAND=... does; QEMU 7.2 then drops DRIVER_OK).
master() {
	_cfg=/sys/bus/pci/devices/$1/config
	_lo=$(od -An -tu1 -j4 -N1 "$_cfg" | tr -d ' ')
	if [ "$2" = on ]; then _lo=$((_lo | 4)); else _lo=$((_lo & ~4)); fi
	# shellcheck disable=SC2059 # an octal escape made on purpose
	printf "\\$(printf %o "$_lo")" | dd of="$_cfg" bs=1 seek=4 count=1 conv=notrunc 2>/dev/null
}

# stall_disk: bus mastering off and on again under a writer; sets d, blkv, w.
stall_disk() {
	d=$(blk_dev "$STALL_SERIAL")
	blkv=$(basename "$(readlink -f "/sys/block/$d/device")")
	rm -f /tmp/w.out
	blk-io write "/dev/$d" 0 8m 3 direct >/tmp/w.out 2>&1 &
	w=$!
	sleep 1
	master "$(pci_of "$blkv")" off
	sleep 1
	master "$(pci_of "$blkv")" on
	dmesg -c >/dev/null
}

line="the device stopped answering: resetting the device and failing its I/O"
state=freeze
grep -qw mem /sys/power/state && state=mem

# 1. Nothing else happens: the disk fails its I/O after abort_timeout.
stall_disk
check alone/escalated wait_for 120 sh -c "dmesg | grep -q '$blkv: $d: $line'"
check alone/writer-ended wait_for 30 sh -c "! kill -0 $w"
check alone/writer-eio grep -q "err=EIO" /tmp/w.out
check alone/new-io-eio sh -c "blk-io verify /dev/$d 0 4k 0 | grep -q err=EIO"
check_eq alone/logged-once 1 sh -c "dmesg | grep -c '$line'"
bounded alone/unbind 60 sh -c "echo $blkv >/sys/bus/vireo/drivers/vireo_blk/unbind"
echo "$blkv" >/sys/bus/vireo/drivers/vireo_blk/bind
check alone/back sh -c "d=\$(blk_dev $STALL_SERIAL) && blk-io write /dev/\$d 0 64k 5 direct && blk-io verify /dev/\$d 0 64k 5"

# 2. Unbind while the device does not answer: it finishes after the bound.
stall_disk
bounded unbind/unbind 120 sh -c "echo $blkv >/sys/bus/vireo/drivers/vireo_blk/unbind"
check unbind/escalated sh -c "dmesg | grep -q '$line'"
check unbind/writer-eio wait_for 30 grep -q "err=EIO" /tmp/w.out
echo "$blkv" >/sys/bus/vireo/drivers/vireo_blk/bind

# 3. Suspend while the device does not answer: it finishes after the bound;
# the disk comes back dead (its I/O fails), then unbind/bind revive it.
stall_disk
echo devices >/sys/power/pm_test
bounded suspend/suspend 180 sh -c "echo $state >/sys/power/state"
echo none >/sys/power/pm_test
check suspend/escalated sh -c "dmesg | grep -q '$line'"
check suspend/writer-eio wait_for 30 grep -q "err=EIO" /tmp/w.out
check suspend/io-eio sh -c "blk-io verify /dev/$d 0 4k 0 | grep -q err=EIO"
bounded suspend/unbind 60 sh -c "echo $blkv >/sys/bus/vireo/drivers/vireo_blk/unbind"
echo "$blkv" >/sys/bus/vireo/drivers/vireo_blk/bind

# 4. An entropy device that stops answering: a blocked reader gets EIO.
rngv=$(basename "$(vireo_devices 0x0004)")
hwrng-read -N 1000000 >/dev/null
master "$(pci_of "$rngv")" off
sleep 1
master "$(pci_of "$rngv")" on
dmesg -c >/dev/null
hwrng-read 1000000 >/tmp/r.out &
check rng/reader-eio wait_for 120 grep -q "err=EIO" /tmp/r.out
check rng/escalated sh -c "dmesg | grep -q '$rngv: vireo_rng.*returned nothing for'"

# 5. rmmod while the disk does not answer.
stall_disk
bounded rmmod/rmmod 120 rmmod vireo_blk vireo_rng
check rmmod/escalated sh -c "dmesg | grep -q '$line'"
check unload vireo_unload
