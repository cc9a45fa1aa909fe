# Guest side of tests/host/blk-unplug.sh (busybox sh, sourced by the --cmd).
# BLK_S_GONE is unplugged by the host under fio load; BLK_S_STAY stays.
# shellcheck shell=sh disable=SC2154 # BLK_* come from the host
. /tests/blk-lib.sh

gone=$(blk_dev "$BLK_S_GONE")
stay=$(blk_dev "$BLK_S_STAY")
check disks-found test -n "$gone" -a -n "$stay" || return 1
vdev=$(basename "$(readlink -f "/sys/block/$gone/device")")

# Load: random reads and writes at iodepth 32 from two jobs, until it fails.
fio --name=load --filename="/dev/$gone" --ioengine=io_uring --direct=1 \
	--rw=randrw --bs=4k --iodepth=32 --numjobs=2 --size=16m \
	--offset_increment=16m --time_based --runtime=600 \
	--eta=never --output=/tmp/fio-load.log &
load=$!
# A reader that holds the disk open across the unplug.
exec 3<"/dev/$gone"
check load-running wait_for 30 sh -c "awk '/^used:/ { s += \$2 } END { exit !(s > 2000) }' /sys/kernel/debug/vireo/$vdev/vq*"
echo BLK-UNPLUG-NOW

check disk-gone wait_for 120 sh -c "! test -e /sys/block/$gone"
check vireo-device-gone wait_for 30 sh -c "! test -e /sys/bus/vireo/devices/$vdev"
# Ended: gone, or a zombie that "wait" reaps below.
if ! check load-ended wait_for 120 sh -c "! grep -q '^State:.*[RSD]' /proc/$load/status 2>/dev/null"; then
	for t in /proc/[0-9]*/task/*; do
		case $(cat "$t/comm" 2>/dev/null) in fio* | iou*) echo "== $t $(cat "$t/comm") $(cat "$t/wchan")"; cat "$t/stack" ;; esac
	done
	tail -n 20 /tmp/fio-load.log
fi
wait $load
rc=$?
check load-saw-errors test $rc != 0
grep -E "err=|error" /tmp/fio-load.log | head -n 3
# The dead disk has no capacity left: a held descriptor reads no data (not
# stale data: fio wrote there with O_DIRECT, nothing of it is cached).
check_eq held-fd-reads-nothing 0 sh -c "dd bs=4k skip=12000 count=1 <&3 2>/dev/null | wc -c"
exec 3<&-
check reopen-fails sh -c "! blk-io zero /dev/$gone 0 4k"

# The other disk carries on.
check other-disk-writes blk-io write "/dev/$stay" 0 4m 17 direct
check other-disk-reads blk-io verify "/dev/$stay" 0 4m 17
check unload vireo_unload
