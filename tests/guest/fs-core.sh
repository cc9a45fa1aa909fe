# The functional suite on a vireo_fs mount (tests/host/fs-core.sh): what a
# user does on a shared directory, checked in the guest; the host checks
# its directory afterwards. Expects HOST_SHA (sha256 of the host's
# hostfile), HOST_BLOCKS (total blocks of the host's file system) and
# HOST_VIRTIOFS_BUILTIN (1: the kernel has the in-tree virtiofs built in).
# shellcheck shell=sh
. /tests/fs-lib.sh

M=/mnt/fs
if [ "$HOST_VIRTIOFS_BUILTIN" = 1 ]; then
	check_eq fs-type-builtin-virtiofs vireofs fs_type
else
	check_eq fs-type-virtiofs-free virtiofs fs_type
fi
fs_ring_check
fs_mount myfs $M || exit 1
check_eq fstype-in-mounts "$FS_TYPE" sh -c "awk '\$2 == \"$M\" {print \$3}' /proc/mounts"
dmesg | grep 'vireo_fs myfs: FUSE'

# Files the host made.
check_eq host-file-bytes "$HOST_SHA" sh -c "sha256sum $M/hostfile | cut -d' ' -f1"
check_eq host-file-mode-owner "640 1234 5678" stat -c '%a %u %g' $M/hostmode
check_eq host-symlink hostfile readlink $M/hostlink
check_eq host-dir-1000-entries 1000 sh -c "ls $M/hostbig | wc -l"
check_eq host-dir-names "f1 f1000 f500" sh -c "ls $M/hostbig | grep -x -e f1 -e f500 -e f1000 | sort | tr '\n' ' ' | sed 's/ \$//'"
# A getdents buffer of 64 bytes (two entries) over replies of hundreds: the
# rest of each reply is given by the next calls, every entry exactly once.
echo 3 >/proc/sys/vm/drop_caches
check_eq getdents-tiny-buffer "1002 1002" sh -c "fs-ops getdents $M/hostbig 64 >/tmp/gd && echo \$(wc -l </tmp/gd) \$(sort -u /tmp/gd | wc -l)"

# Files the guest makes; the host checks them after the guest exits.
mkdir $M/g
dd if=/dev/urandom of=/tmp/data bs=64k count=40 2>/dev/null
check write-file cp /tmp/data $M/g/data
echo "FS-SHA data $(sha256sum /tmp/data | cut -d' ' -f1)"
echo 3 >/proc/sys/vm/drop_caches
check_eq read-back "$(sha256sum /tmp/data | cut -d' ' -f1)" sh -c "sha256sum $M/g/data | cut -d' ' -f1"
check chmod chmod 751 $M/g/data
check chown chown 1001:1002 $M/g/data
check_eq chmod-chown-seen "751 1001 1002" stat -c '%a %u %g' $M/g/data
check hardlink ln $M/g/data $M/g/data.link
check_eq hardlink-count 2 stat -c %h $M/g/data
check symlink ln -s data $M/g/sym
check_eq symlink-target data readlink $M/g/sym
check mkfifo mkfifo $M/g/fifo
check_eq fifo-type "fifo" sh -c "stat -c %F $M/g/fifo | cut -d' ' -f1"
check touch-time touch -d '2020-01-02 03:04:05' $M/g/data
check_eq mtime-set "2020-01-02 03:04:05" sh -c "stat -c %y $M/g/data | cut -c1-19"
check mkdir-rmdir sh -c "mkdir $M/g/tmpd && rmdir $M/g/tmpd && ! test -e $M/g/tmpd"
check_eq rmdir-nonempty-fails 1 sh -c "mkdir $M/g/ne; : >$M/g/ne/x; rmdir $M/g/ne 2>/dev/null; echo \$?"

# Renames.
echo one >$M/g/r1
echo two >$M/g/r2
check rename-over mv $M/g/r1 $M/g/r2
check_eq rename-over-content one cat $M/g/r2
check rename-over-old-gone sh -c "! test -e $M/g/r1"
mkdir $M/g/other
check rename-across-dirs mv $M/g/r2 $M/g/other/r3
echo left >$M/g/x1
echo right >$M/g/x2
check rename-exchange fs-ops rename2 $M/g/x1 $M/g/x2 exchange
check_eq rename-exchange-content "right left" sh -c "echo \$(cat $M/g/x1 $M/g/x2)"
check_eq rename-noreplace-refused err=EEXIST sh -c "fs-ops rename2 $M/g/x1 $M/g/x2 noreplace 2>/dev/null"
check rename-noreplace-free fs-ops rename2 $M/g/x1 $M/g/x3 noreplace

# POSIX behaviour.
check_eq unlink-open-file "read=still-here nlink=0" fs-ops unlinkopen $M/g/gone still-here
check unlinked-gone sh -c "! test -e $M/g/gone"
printf 'a' >$M/g/app
fs-ops append $M/g/app b
fs-ops append $M/g/app c
check_eq o-append abc cat $M/g/app
printf 'long content' >$M/g/ot
printf 'x' >$M/g/ot
check_eq o-trunc "x 1" sh -c "echo \$(cat $M/g/ot) \$(stat -c %s $M/g/ot)"
dd if=/dev/zero of=$M/g/trunc bs=1k count=100 2>/dev/null
check truncate-down truncate -s 1000 $M/g/trunc
check_eq truncate-down-size 1000 stat -c %s $M/g/trunc
check truncate-up truncate -s 300000 $M/g/trunc
check_eq truncate-up-size 300000 stat -c %s $M/g/trunc
printf '%08192d' 0 >$M/g/mm
check mmap-write fs-ops mmapwrite $M/g/mm 4100 MMAPPED
check_eq mmap-read-after-write MMAPPED fs-ops mmapread $M/g/mm 4100 7
check_eq mmap-seen-by-read MMAPPED sh -c "dd if=$M/g/mm bs=1 skip=4100 count=7 2>/dev/null"
check odirect-write fs-ops dwrite $M/g/direct 8192 64 7
check_eq odirect-read sum=$((64 * 1024 * 7)) fs-ops dread $M/g/direct 8192 64
check_eq odirect-size $((8192 + 65536)) stat -c %s $M/g/direct
check fsync sh -c "dd if=/dev/zero of=$M/g/synced bs=4k count=4 conv=fsync 2>/dev/null"

# Sparse files: a 1 MiB file with data only at 512 KiB.
check sparse-make sh -c "truncate -s 1M $M/g/sparse && dd if=/dev/urandom of=$M/g/sparse bs=4k count=1 seek=128 conv=notrunc 2>/dev/null"
check_eq seek-data 524288 fs-ops seek $M/g/sparse data 0
check_eq seek-hole 528384 fs-ops seek $M/g/sparse hole 524288
check punch-hole /usr/bin/fallocate -p -o 524288 -l 4096 $M/g/sparse
check_eq punched-no-data err=ENXIO sh -c "fs-ops seek $M/g/sparse data 0 2>/dev/null"

# Past 4 GiB: 4 KiB at 5 GiB of a sparse file, read back after a cache drop.
dd if=/dev/urandom of=/tmp/blk4 bs=4k count=1 2>/dev/null
check write-past-4g sh -c "dd if=/tmp/blk4 of=$M/g/huge bs=4k seek=1310720 conv=notrunc 2>/dev/null"
check_eq huge-size 5368713216 stat -c %s $M/g/huge
echo 3 >/proc/sys/vm/drop_caches
check_eq read-past-4g "$(md5sum </tmp/blk4 | cut -c1-32)" sh -c "dd if=$M/g/huge bs=4k skip=1310720 count=1 2>/dev/null | md5sum | cut -c1-32"
echo "FS-MD5 huge $(md5sum </tmp/blk4 | cut -c1-32)"

# xattrs (virtiofsd -o xattr).
check setxattr fs-ops setxattr $M/g/data user.vireo hello
check_eq getxattr hello fs-ops getxattr $M/g/data user.vireo
check_eq listxattr user.vireo sh -c "fs-ops listxattr $M/g/data | grep user.vireo"
check setxattr-2 fs-ops setxattr $M/g/data user.gone x
check removexattr fs-ops removexattr $M/g/data user.gone
check_eq getxattr-removed err=ENODATA sh -c "fs-ops getxattr $M/g/data user.gone 2>/dev/null"

# Locks between two processes (kept by the kernel: the daemon is not asked).
: >$M/g/lock
fs-ops lockhold $M/g/lock 30 >/tmp/lock.out &
holder=$!
wait_for 10 grep -q locked /tmp/lock.out
check_eq posix-lock-conflict "holder=$holder err=EAGAIN" sh -c "fs-ops locktry $M/g/lock 2>/dev/null | tr '\n' ' ' | sed 's/ \$//'"
kill $holder
wait $holder 2>/dev/null
check_eq posix-lock-free "holder=0 got-lock" fs-ops locktry $M/g/lock
fs-ops flockhold $M/g/lock 30 >/tmp/flock.out &
fholder=$!
wait_for 10 grep -q locked /tmp/flock.out
check_eq flock-conflict err=EAGAIN sh -c "fs-ops flocktry $M/g/lock 2>/dev/null"
kill $fholder
wait $fholder 2>/dev/null
check_eq flock-free locked fs-ops flocktry $M/g/lock

# copy_file_range(2): the daemon copies on the host (FUSE_COPY_FILE_RANGE);
# the destination's cached pages and size follow without a cache drop.
printf '%08192d' 0 >$M/g/cfr
cat $M/g/cfr >/dev/null
check_eq copy-file-range copied=100000 fs-ops copyrange $M/g/data 4096 $M/g/cfr 8192 100000
check_eq cfr-size 108192 stat -c %s $M/g/cfr
check_eq cfr-bytes "$(dd if=/tmp/data bs=4096 skip=1 2>/dev/null | head -c 100000 | md5sum | cut -c1-32)" \
	sh -c "tail -c 100000 $M/g/cfr | md5sum | cut -c1-32"
check_eq cfr-head-kept "$(printf '%08192d' 0 | md5sum | cut -c1-32)" sh -c "head -c 8192 $M/g/cfr | md5sum | cut -c1-32"

# A directory of 300 entries made here (1000 made by the host are listed
# above), listed completely.
mkdir $M/g/big
i=1
while [ $i -le 300 ]; do
	: >$M/g/big/e$i
	i=$((i + 1))
done
check_eq readdir-300 300 sh -c "ls $M/g/big | wc -l"

# statfs reports the host's file system.
check_eq statfs-blocks "$HOST_BLOCKS" sh -c "stat -f -c '%b' $M"

# Suspend and resume (the device stage, as tests/host/suspend.sh) with the
# mount in use: a file stays open across it; the session survives.
echo before >$M/g/pm1
exec 7<$M/g/pm1
echo devices >/sys/power/pm_test
if grep -qw freeze /sys/power/state; then
	check freeze-cycle sh -c "echo freeze >/sys/power/state"
	check_eq freeze-open-file-reads before cat <&7
	check_eq freeze-new-file after sh -c "echo after >$M/g/pm2 && cat $M/g/pm2"
else
	skip freeze-cycle "freeze is not in /sys/power/state"
fi
echo none >/sys/power/pm_test
exec 7<&-

check umount umount $M
check_eq no-vireofs-mount 0 sh -c "grep -c ' $M ' /proc/mounts"
check unload rmmod vireo_fs
