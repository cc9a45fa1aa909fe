# virtiofsd dies under I/O (tests/host/fs-kill.sh): the callers get EIO or
# ENOTCONN within vireo_ring's abort_timeout, new calls fail at once, umount
# works, the module unloads.
# shellcheck shell=sh
. /tests/fs-lib.sh

M=/mnt/fs
fs_ring_check
fs_mount myfs $M || exit 1
# 4 MiB: each cat is several readahead windows, READs in flight at the kill.
dd if=/dev/urandom of=$M/readme bs=64k count=64 2>/dev/null
# The daemon has -o writeback: the writer's pages are dirty in the cache
# until its fsync, and a second file's stay dirty through the kill (written,
# then held open until after it, then fsync'ed).
check_eq writeback-cache 1 sh -c "dmesg | grep -c 'vireo_fs myfs: FUSE .*, writeback cache\$'"
fs-ops writeloop $M/w 600 >/tmp/w.out 2>&1 &
writer=$!
fs-ops wbwrite $M/dirty hold:/tmp/killed,fsync 0 16 4096 d >/tmp/d.out 2>&1 &
dirty=$!
(i=0; while [ $i -lt 100000 ] && cat $M/readme >/dev/null 2>/tmp/r.err; do
	echo 3 >/proc/sys/vm/drop_caches; i=$((i + 1)); done; echo "reads=$i" >/tmp/r.out) &
reader=$!
sleep 2
check io-running kill -0 $writer
echo FS-IO-RUNNING
# abort_timeout is 5 s here: give it 20 times that before calling it a hang.
wait_for 100 sh -c "! kill -0 $writer"
check writer-ended sh -c "! kill -0 $writer"
check_eq writer-error 1 sh -c "grep -cE 'err=(EIO|ENOTCONN)' /tmp/w.out"
touch /tmp/killed
wait_for 60 sh -c "! kill -0 $dirty"
check_eq dirty-fsync-error 1 sh -c "grep -cE 'err=(EIO|ENOTCONN)' /tmp/d.out"
wait_for 60 sh -c "! kill -0 $reader"
check reader-ended sh -c "! kill -0 $reader"
check reader-error grep -qiE 'not connected|Input/output error' /tmp/r.err
check_eq new-call-fails 1 sh -c "timeout 20 ls $M 2>&1 | grep -ciE 'not connected|Input/output error'"
check_eq create-fails 1 sh -c "timeout 20 sh -c ': >$M/new' 2>&1 | grep -ciE 'not connected|Input/output error'"
check_eq one-abort-line 1 sh -c "dmesg | grep -c 'vireo_fs.*went unanswered'"
check umount timeout 30 umount $M
check unload rmmod vireo_fs
