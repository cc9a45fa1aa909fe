# The virtio-fs device is unplugged (QMP device_del) under I/O (a writer
# and a sequential reader)
# (tests/host/fs-unplug.sh): the mount's callers get EIO, the vireo device
# goes, umount and unload work.
# shellcheck shell=sh
. /tests/fs-lib.sh

M=/mnt/fs
fs_ring_check
fs_mount myfs $M || exit 1
# A reader of a 4 MiB file (several readahead windows, READs in flight that
# nobody waits for) beside the writer: the unplug must end those too.
dd if=/dev/urandom of=$M/readme bs=64k count=64 2>/dev/null
fs-ops writeloop $M/w 600 >/tmp/w.out 2>&1 &
writer=$!
# A remote lock (the daemon has -o posix_lock) and an F_SETLKW waiting for
# it (SETLK retried: virtiofsd has no SETLKW).
: >$M/lk
fs-ops lockop $M/lk setlk,wait:/tmp/never >/tmp/lh.out 2>&1 &
holder=$!
wait_for 10 grep -q setlk=ok /tmp/lh.out
fs-ops lockop $M/lk setlkw >/tmp/lw.out 2>&1 &
waiter=$!
(i=0; while [ $i -lt 100000 ] && cat $M/readme >/dev/null 2>/tmp/r.err; do
	echo 3 >/proc/sys/vm/drop_caches; i=$((i + 1)); done; echo "reads=$i" >/tmp/r.out) &
reader=$!
sleep 2
check io-running kill -0 $writer
check lock-waiting sh -c "kill -0 $waiter && grep -q setlk=ok /tmp/lh.out && ! grep -q = /tmp/lw.out"
echo FS-IO-RUNNING
wait_for 120 sh -c "! kill -0 $writer"
check writer-ended sh -c "! kill -0 $writer"
check_eq writer-error 1 sh -c "grep -cE 'err=(EIO|ENOTCONN|ENODEV)' /tmp/w.out"
# The lock waiter ends with the device, not after its next timeout.
wait_for 5 sh -c "! kill -0 $waiter"
check_eq lock-waiter-error 1 sh -c "grep -cE 'setlkw=(EIO|ENOTCONN)' /tmp/lw.out"
kill $holder
wait_for 10 sh -c "! kill -0 $holder"
wait_for 60 sh -c "! kill -0 $reader"
check reader-ended sh -c "! kill -0 $reader"
check reader-error grep -qiE 'not connected|Input/output error|No such device' /tmp/r.err
check vireo-device-gone test -z "$(vireo_devices 0x001a)"
check_eq calls-fail 1 sh -c "timeout 20 ls $M 2>&1 | grep -ciE 'Input/output error|not connected'"
check removed-line sh -c "dmesg | grep -q 'myfs: removed while mounted'"
check umount timeout 30 umount $M
check unload rmmod vireo_fs
