# Guest side of tests/host/blk-core.sh (busybox sh, sourced by the --cmd with
# /tests/lib.sh loaded). The host sets BLK_* to what it told QEMU; every
# check compares the guest's view with that.
# shellcheck shell=sh disable=SC2154 # BLK_* come from the host
. /tests/blk-lib.sh

fs=$(blk_dev "$BLK_S_FS")
part=$(blk_dev "$BLK_S_PART")
ro=$(blk_dev "$BLK_S_RO")
err=$(blk_dev "$BLK_S_ERR")
disc=$(blk_dev "$BLK_S_DISC")
check disks-found test -n "$fs" -a -n "$part" -a -n "$ro" -a -n "$err" -a -n "$disc" || return 1
echo "disks: fs=$fs part=$part ro=$ro err=$err disc=$disc"
ok=1
for d in $fs $part $ro $err $disc; do blk_is_vireo "$d" || ok=0; done
check disks-driven-by-vireo test $ok = 1
check_eq disk-names "vda vdb vdc vdd vde" sh -c "ls /sys/block | grep '^vd' | sort | xargs"

# --- what the device said, as the guest sees it ------------------------------

q=/sys/block/$fs/queue
check_eq serial "$BLK_S_FS" cat "/sys/block/$fs/serial"
check_eq serial-20-bytes "$BLK_S_RO" cat "/sys/block/$ro/serial"
check_eq size "$BLK_SIZE_SECTORS" cat "/sys/block/$fs/size"
check_eq logical_block_size "$BLK_FS_LBS" cat $q/logical_block_size
check_eq physical_block_size "$BLK_FS_PBS" cat $q/physical_block_size
check_eq minimum_io_size "$BLK_FS_MINIO" cat $q/minimum_io_size
check_eq optimal_io_size "$BLK_FS_OPTIO" cat $q/optimal_io_size
check_eq alignment_offset 0 cat "/sys/block/$fs/alignment_offset"
check_eq logical_block_size-default 512 cat "/sys/block/$part/queue/logical_block_size"
check_eq hw-queues "$BLK_FS_QUEUES" sh -c "ls /sys/block/$fs/mq | wc -l"
check_eq hw-queues-one 1 sh -c "ls /sys/block/$part/mq | wc -l"
check_eq max_segments "$BLK_SEG_MAX" cat "/sys/block/$part/queue/max_segments"
check_eq geometry "$BLK_RO_GEO 0" blk-io geo "/dev/$ro"
check_eq ro 1 cat "/sys/block/$ro/ro"
check_eq rw 0 cat "/sys/block/$fs/ro"
check ro-write-fails sh -c "! blk-io write /dev/$ro 0 4k 1 direct"
check ro-data-readable blk-io zero "/dev/$ro" 0 1m
check_eq cache_type "write back" cat "/sys/block/$part/cache_type"
check_eq cache_type-write-cache-off "write through" cat "/sys/block/$ro/cache_type"
check_eq queue-write_cache-off "write through" cat "/sys/block/$ro/queue/write_cache"
check_eq queue-write_cache-on "write back" cat "/sys/block/$part/queue/write_cache"
check_eq cache_type-writable 644 stat -c %a "/sys/block/$part/cache_type"
check_eq cache_type-fixed-without-config-wce 444 stat -c %a "/sys/block/$err/cache_type"
check cache_type-refused-without-config-wce sh -c "! echo 'write through' 2>/dev/null >/sys/block/$err/cache_type"
check_eq cache_type-unchanged "write back" cat "/sys/block/$err/cache_type"
check_eq discard_granularity "$BLK_DISC_GRAN" cat "/sys/block/$disc/queue/discard_granularity"
check_eq discard_max_hw_bytes "$BLK_DISC_MAX" cat "/sys/block/$disc/queue/discard_max_hw_bytes"
check_eq write_zeroes_max_bytes "$BLK_WZ_MAX" cat "/sys/block/$disc/queue/write_zeroes_max_bytes"

# --- ext4 on the whole disk and on a partition ----------------------------------

blk_ext4
blk_fs_roundtrip ext4-disk "/dev/$fs"

blk_mbr "/dev/$part" 2048 65536
wait_for 10 test -b "/dev/${part}1"
check_eq partition-start 2048 cat "/sys/block/$part/${part}1/start"
check_eq partition-size 65536 cat "/sys/block/$part/${part}1/size"
blk_fs_roundtrip ext4-partition "/dev/${part}1"

# A mounted disk holds the module.
mount -t ext4 "/dev/${part}1" /mnt/blk
check rmmod-refused-while-mounted sh -c "! rmmod vireo_blk 2>/dev/null"
check mounted-still-readable sh -c "cd /mnt/blk && sha256sum -c -s /tmp/blk-sums"
umount /mnt/blk

# --- discard and write zeroes (the host checks du and the bytes) -----------------

check disc-fill blk-io write "/dev/$disc" 0 32m 11 direct
check disc-discard /usr/sbin/blkdiscard -f -o 0 -l 16m "/dev/$disc"
check disc-write-zeroes /usr/sbin/blkdiscard -f -z -o 16m -l 4m "/dev/$disc"
check disc-punch-hole /usr/bin/fallocate -p -o 20m -l 4m "/dev/$disc"
check disc-zero-range /usr/bin/fallocate -z -o 24m -l 4m "/dev/$disc"
echo 3 >/proc/sys/vm/drop_caches
check disc-zeroes-read blk-io zero "/dev/$disc" 16m 12m
check disc-rest-intact blk-io verify "/dev/$disc" 28m 4m 11

# --- errors from the backend ----------------------------------------------------

check_eq eio-to-writer "write err=EIO" blk-io write "/dev/$err" "$BLK_ERR_OFF" 4k 5 direct
check_eq eio-fsync "write err=EIO" blk-io write "/dev/$err" "$BLK_ERR_OFF" 64k 6 fsync
check err-other-writes-work blk-io write "/dev/$err" 8m 1m 7 direct
check err-reads-work blk-io verify "/dev/$err" 8m 1m 7
check err-bad-sector-readable blk-io zero "/dev/$err" "$BLK_ERR_OFF" 4k
check_eq eio-again "write err=EIO" blk-io write "/dev/$err" "$BLK_ERR_OFF" 4k 5 direct

# --- cache mode and capacity changes, with the host watching -------------------

echo "write through" >"/sys/block/$part/cache_type"
check_eq cache_type-set "write through" cat "/sys/block/$part/cache_type"
check_eq cache_type-set-queue "write through" cat "/sys/block/$part/queue/write_cache"
uevent sh -c 'env >>/tmp/blk-uevents; echo -- >>/tmp/blk-uevents' &
uev=$!
sleep 1
echo BLK-HOST-TURN
check resized wait_for 120 sh -c "test \$(cat /sys/block/$fs/size) = $BLK_RESIZE_SECTORS"
check_eq resized-bytes "$((BLK_RESIZE_SECTORS * 512))" blockdev --getsize64 "/dev/$fs"
check resize-uevent wait_for 10 sh -c "grep -q '^RESIZE=1' /tmp/blk-uevents && grep -q '^DEVNAME=$fs\$' /tmp/blk-uevents"
kill $uev 2>/dev/null
check resized-disk-usable sh -c "blk-io write /dev/$fs $((BLK_SIZE_SECTORS * 512)) 1m 9 direct && blk-io verify /dev/$fs $((BLK_SIZE_SECTORS * 512)) 1m 9"
echo "write back" >"/sys/block/$part/cache_type"
check_eq cache_type-back "write back" cat "/sys/block/$part/cache_type"

check unload vireo_unload
check disks-gone sh -c "! ls /sys/block | grep -q '^vd'"
