# Guest side of tests/host/blk-durable.sh (busybox sh, sourced by the --cmd).
# Writes data the host checks in the raw images after killing QEMU.
# shellcheck shell=sh disable=SC2154 # BLK_* come from the host
. /tests/blk-lib.sh

wb=$(blk_dev "$BLK_S_WB")
nc=$(blk_dev "$BLK_S_NOCACHE")
fs=$(blk_dev "$BLK_S_FS")
check disks-found test -n "$wb" -a -n "$nc" -a -n "$fs" || return 1

# Raw writes, acknowledged once blk-io says "write ok".
check writeback/o_direct blk-io write "/dev/$wb" 0 8m 21 direct
check writeback/fsync blk-io write "/dev/$wb" 8m 8m 22 fsync
check nocache/o_direct blk-io write "/dev/$nc" 0 8m 23 direct
check nocache/fsync blk-io write "/dev/$nc" 8m 8m 24 fsync

# A file on ext4, fsync'd: after the kill the journal has it.
blk_ext4
mkfs.ext4 -q -F "/dev/$fs"
mkdir -p /mnt/blk
check ext4/mount mount -t ext4 "/dev/$fs" /mnt/blk
: >/mnt/blk/data
check ext4/fsync blk-io write /mnt/blk/data 0 8m 25 fsync

echo BLK-DURABLE-DONE
# The host kills QEMU now; nothing after this line runs.
sleep 600
