# The FUSE protocol features (tests/host/fs-proto.sh): the guest's side.
# The host waits for each FS-* marker, checks the daemon, and answers with a
# file go<N> in the shared directory.
# shellcheck shell=sh
. /tests/fs-lib.sh

M=/mnt/fs
go() { # N: wait for the host's go file (bounded)
	wait_for 300 test -e "$M/go$1"
	check "host-go$1" test -e "$M/go$1"
}
fs_mount myfs $M || exit 1
flags=$(dmesg | sed -n 's/.*vireo_fs myfs: FUSE .* flags 0x\([0-9a-f]*\).*/\1/p' | tail -n 1)
echo "FUSE flags 0x$flags"
# DO_READDIRPLUS (bit 13), READDIRPLUS_AUTO (14), HANDLE_KILLPRIV_V2 (28)
check_eq init-readdirplus-auto 3 sh -c "echo \$(( (0x$flags >> 13) & 3 ))"
check_eq init-killpriv-v2 1 sh -c "echo \$(( (0x$flags >> 28) & 1 ))"
echo FS-MOUNTED
go 0

# READDIRPLUS: every entry comes with its attributes (the host counts the
# LOOKUPs: none); the sizes are the host's.
check_eq ls-l-150 150 sh -c "ls -l $M/rd | grep -c ' f[0-9]*\$'"
check_eq ls-l-sizes "1 100 150" sh -c "ls -l $M/rd | awk '\$NF == \"f1\" || \$NF == \"f100\" || \$NF == \"f150\" {print \$5}' | sort -n | tr '\n' ' ' | sed 's/ \$//'"
check_eq stat-from-readdirplus 137 stat -c %s $M/rd/f137
echo FS-LISTED
go 1

# BATCH_FORGET: the evicted inodes give their lookups back.
echo 3 >/proc/sys/vm/drop_caches
sleep 2
echo FS-FORGOT
go 2

# FUSE_INTERRUPT: the daemon blocks in the OPEN (the host's lease); a
# signal sends INTERRUPT and the call goes on (virtiofsd ignores it).
fs-ops sigopen $M/leased >/tmp/o1.out 2>&1 &
o1=$!
wait_for 20 grep -q opening /tmp/o1.out
sleep 2
check open-blocked sh -c "kill -0 $o1 && ! grep -q 'open=' /tmp/o1.out"
kill -USR1 $o1
sleep 2
check open-blocked-after-signal sh -c "kill -0 $o1 && ! grep -q 'open=' /tmp/o1.out"
echo FS-INTERRUPTED
wait_for 60 sh -c "! kill -0 $o1"
check_eq open-completed "open=ok signals=1" sh -c "grep -E '^(open|signals|err)=' /tmp/o1.out | tr '\n' ' ' | sed 's/ \$//'"
echo FS-OPENED
go 3

# SIGKILL while blocked: the process ends at once, the request lives on.
fs-ops sigopen $M/leased >/tmp/o2.out 2>&1 &
o2=$!
wait_for 20 grep -q opening /tmp/o2.out
sleep 2
check open2-blocked sh -c "kill -0 $o2 && ! grep -q 'open=' /tmp/o2.out"
kill -KILL $o2
wait_for 5 sh -c "! kill -0 $o2"
check killed-at-once sh -c "! kill -0 $o2"
echo FS-KILLED
go 4

# HANDLE_KILLPRIV_V2 (the host checks the modes after the guest is done).
check user-truncate fs-ops usertrunc 1000 $M/kp1 5
check user-write fs-ops userwrite 1000 $M/kp2 x
check root-truncate truncate -s 5 $M/kp3
check user-open-trunc fs-ops usertruncopen 1000 $M/kp4
check_eq no-oops 0 sh -c "dmesg | grep -cE 'BUG:|WARNING:|Oops'"
check umount umount $M
check unload rmmod vireo_fs
