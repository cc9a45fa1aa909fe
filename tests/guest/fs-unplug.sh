# The virtio-fs device is unplugged (QMP device_del) under I/O
# (tests/host/fs-unplug.sh): the mount's callers get EIO, the vireo device
# goes, umount and unload work.
# shellcheck shell=sh
. /tests/fs-lib.sh

M=/mnt/fs
fs_ring_check
fs_mount myfs $M || exit 1
fs-ops writeloop $M/w 600 >/tmp/w.out 2>&1 &
writer=$!
sleep 2
check io-running kill -0 $writer
echo FS-IO-RUNNING
wait_for 120 sh -c "! kill -0 $writer"
check writer-ended sh -c "! kill -0 $writer"
check_eq writer-error 1 sh -c "grep -cE 'err=(EIO|ENOTCONN|ENODEV)' /tmp/w.out"
check vireo-device-gone test -z "$(vireo_devices 0x001a)"
check_eq calls-fail 1 sh -c "timeout 20 ls $M 2>&1 | grep -ciE 'Input/output error|not connected'"
check removed-line sh -c "dmesg | grep -q 'myfs: removed while mounted'"
check umount timeout 30 umount $M
check unload rmmod vireo_fs
