# Guest side of tests/host/blk-coexist.sh (busybox sh, sourced by the --cmd).
# Booted without vireo and with the in-tree virtio-pci free to bind.
# shellcheck shell=sh disable=SC2154 # BLK_* come from the host
. /tests/blk-lib.sh

# driver NAME: the driver of disk NAME's virtio device.
driver() {
	basename "$(readlink -f "/sys/block/$1/device/driver")"
}

modprobe virtio_pci 2>/dev/null
check intree-loaded modprobe virtio_blk
keep=$(blk_dev "$BLK_S_KEEP")
move=$(blk_dev "$BLK_S_MOVE")
check intree-disks test -n "$keep" -a -n "$move" || return 1
check_eq intree-names "vda vdb" echo "$keep $move"
check_eq intree-driver virtio_blk driver "$keep"

for m in vireo_ring vireo_transport vireo_blk; do
	check "insmod-$m" insmod "/vireo/$m.ko"
done
check_eq vireo-took-nothing "" sh -c "ls /sys/bus/vireo/devices"

# Move the second disk to vireo: vda stays the in-tree driver's.
pci=$(basename "$(dirname "$(readlink -f "/sys/block/$move/device")")")
check vireo-bind vireo-bind "$pci"
moved=$(blk_dev "$BLK_S_MOVE")
check moved-is-vireo blk_is_vireo "$moved"
check_eq moved-name vdb echo "$moved"
check_eq kept-name vda blk_dev "$BLK_S_KEEP"
check_eq kept-driver virtio_blk driver vda
check name-clash-said sh -c "dmesg | grep -q 'vda is taken by another driver'"

# Both work at once.
blk-io write /dev/vda 0 8m 31 direct >/tmp/a 2>&1 &
a=$!
blk-io write /dev/vdb 0 8m 32 direct >/tmp/b 2>&1 &
b=$!
wait $a $b
check_eq both-write "write ok write ok" sh -c "cat /tmp/a /tmp/b | xargs"
check intree-reads blk-io verify /dev/vda 0 8m 31
check vireo-reads blk-io verify /dev/vdb 0 8m 32

# And back: the in-tree driver has it again, with its data.
check vireo-bind-back vireo-bind --back "$pci"
back=$(blk_dev "$BLK_S_MOVE")
check_eq back-driver virtio_blk driver "$back"
check back-data blk-io verify "/dev/$back" 0 8m 32
check rmmod-vireo sh -c "rmmod vireo_blk && rmmod vireo_transport && rmmod vireo_ring"
check intree-still-works blk-io verify /dev/vda 0 8m 31
