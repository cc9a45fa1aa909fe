# Guest side of tests/host/blk-pm.sh (busybox sh, sourced by the --cmd).
# vireo_blk is loaded with stall_timeout=BLK_STALL_SECS.
# shellcheck shell=sh disable=SC2154 # BLK_* come from the host
. /tests/blk-lib.sh

pm=$(blk_dev "$BLK_S_PM")
st=$(blk_dev "$BLK_S_STALL")
check disks-found test -n "$pm" -a -n "$st" || return 1

# --- suspend and resume with a file system mounted and I/O in flight -----------

blk_ext4
mkfs.ext4 -q -F "/dev/$pm"
mkdir -p /mnt/blk
check pm/mount mount -t ext4 "/dev/$pm" /mnt/blk || return 1
blk_tree /mnt/blk/tree
blk_sums /mnt/blk/tree >/tmp/blk-sums
echo "write through" >"/sys/block/$pm/cache_type"
fio --name=pmload --filename=/mnt/blk/fiofile --size=16m --ioengine=io_uring \
	--direct=1 --rw=randwrite --bs=4k --iodepth=16 --verify=crc32c \
	--verify_backlog=256 --verify_fatal=1 --time_based --runtime=20 \
	--eta=never --output=/tmp/fio-pm.log &
load=$!
sleep 4
state=freeze
grep -qw mem /sys/power/state && state=mem
echo devices >/sys/power/pm_test
check "pm/suspend-$state" sh -c "echo $state >/sys/power/state"
echo none >/sys/power/pm_test
check pm/devices-suspended sh -c "dmesg | grep -q 'suspend debug: Waiting for'"
wait $load
check_eq pm/load-survived 0 echo $?
grep -E "err=|verify" /tmp/fio-pm.log | head -n 3
check pm/tree-intact sh -c "cd /mnt/blk/tree && sha256sum -c -s /tmp/blk-sums"
check_eq pm/cache_type-kept "write through" cat "/sys/block/$pm/cache_type"
check pm/writes-after-resume sh -c "dd if=/dev/urandom of=/mnt/blk/after bs=1M count=4 conv=fsync 2>/dev/null"
size=$(blk_size "$pm")
echo BLK-PM-RESUMED
check pm/host-done blk_wait_size "$pm" $((size + 2048))
echo "write back" >"/sys/block/$pm/cache_type"
check pm/umount umount /mnt/blk
check pm/fsck-clean e2fsck -fn "/dev/$pm"

# --- the stall detector ---------------------------------------------------------

size=$(blk_size "$st")
echo BLK-STALL-READY
check stall/host-break-set blk_wait_size "$st" $((size + 2048))
blk-io write "/dev/$st" 1m 64k 3 direct >/tmp/stall.out 2>&1 &
w=$!
line="$st: write of 128 sectors at sector 2048 outstanding for"
check stall/logged wait_for 120 sh -c "dmesg | grep -q '$line'"
dmesg | grep "$line"
check stall/write-pending sh -c "kill -0 $w && ! grep -q . /tmp/stall.out"
echo BLK-STALL-LOGGED
check stall/write-completed wait_for 300 grep -q "write ok" /tmp/stall.out
wait $w
check stall/data-written blk-io verify "/dev/$st" 1m 64k 3
check_eq stall/logged-once 1 sh -c "dmesg | grep -c '$line'"
check stall/other-io-fine sh -c "blk-io write /dev/$st 8m 1m 4 direct && blk-io verify /dev/$st 8m 1m 4"

check unload vireo_unload
