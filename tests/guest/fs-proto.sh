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

# Remote locks: lkfs's daemon has -o posix_lock,flock, myfs's has not.
# POSIX_LOCKS is INIT flag bit 1, FLOCK_LOCKS bit 10.
L=/mnt/lk
fs_mount lkfs $L
lflags=$(dmesg | sed -n 's/.*vireo_fs lkfs: FUSE .* flags 0x\([0-9a-f]*\).*/\1/p' | tail -n 1)
check_eq init-lock-flags "lkfs 1 1 myfs 0 0" sh -c "echo lkfs \$(( (0x$lflags >> 1) & 1 )) \$(( (0x$lflags >> 10) & 1 )) myfs \$(( (0x$flags >> 1) & 1 )) \$(( (0x$flags >> 10) & 1 ))"
echo FS-LK-MOUNTED
go 5
# lkout FILE: what an fs-ops lockop printed, on one line
lkout() { grep -v '^ready$' "$1" | tr '\n' ' ' | sed 's/ $//'; }
lk() { fs-ops lockop "$@" >/tmp/lk1.out 2>&1; lkout /tmp/lk1.out; }
# A host process holds a write lock on bytes 10-109 of f and h and a
# flock on f.
check_eq lk-setlk-host-holds "setlk=EAGAIN" lk $L/f setlk
check_eq lk-getlk-host-range "getlk=W:10-109" lk $L/f getlk
check_eq lk-flock-host-holds "flocknb=EAGAIN" lk $L/f flocknb
fs-ops lockop $L/f setlkw,sleep:1,close >/tmp/lw.out 2>&1 &
lw=$!
fs-ops lockop $L/f flock,close >/tmp/fw.out 2>&1 &
fw=$!
fs-ops lockop $L/h setlkw,wait:$M/go7 >/tmp/li.out 2>&1 &
li=$!
wait_for 10 sh -c "grep -q ready /tmp/lw.out && grep -q ready /tmp/fw.out && grep -q ready /tmp/li.out"
sleep 2
check lk-setlkw-flock-wait sh -c "kill -0 $lw && kill -0 $fw && ! grep -q = /tmp/lw.out /tmp/fw.out"
kill -USR1 $li
wait_for 5 grep -q setlkw= /tmp/li.out
check_eq lk-setlkw-signal "setlkw=EINTR" lkout /tmp/li.out
echo FS-LK-WAITING
go 6
# The host released: both waits end (the retries pause 500 ms at most).
wait_for 10 sh -c "! kill -0 $lw && ! kill -0 $fw"
check_eq lk-setlkw-got-it "setlkw=ok sleep:1=ok close=ok" lkout /tmp/lw.out
check_eq lk-flock-got-it "flock=ok close=ok" lkout /tmp/fw.out
# The guest's locks on the host: f by a process that closes it, g by one
# that is killed.
fs-ops lockop $L/f setlk,flocknb,wait:$M/go7,close,wait:$M/go8 >/tmp/lh.out 2>&1 &
lh=$!
fs-ops lockop $L/g setlk,wait:$M/never >/tmp/lg.out 2>&1 &
lg=$!
wait_for 10 sh -c "grep -q flocknb= /tmp/lh.out && grep -q setlk= /tmp/lg.out"
check_eq lk-guest-holds "setlk=ok flocknb=ok setlk=ok" echo "$(lkout /tmp/lh.out) $(lkout /tmp/lg.out)"
# The VFS's bookkeeping too: /proc/locks has the POSIX lock and the flock.
check_eq lk-proc-locks "POSIX FLOCK" sh -c "grep ' $lh ' /proc/locks | awk '{print \$2}' | sort -r | tr '\n' ' ' | sed 's/ \$//'"
echo FS-LK-HELD
go 7
wait_for 10 grep -q close= /tmp/lh.out
check_eq lk-closed "setlk=ok flocknb=ok wait:$M/go7=ok close=ok" lkout /tmp/lh.out
kill -KILL $lg
wait_for 5 sh -c "! kill -0 $lg"
echo FS-LK-RELEASED
go 8
wait_for 10 sh -c "! kill -0 $lh && ! kill -0 $li"
check_eq lk-proc-locks-gone 0 sh -c "grep -cE ' ($lh|$lg|$li) ' /proc/locks"
check umount-lkfs umount $L

# Writeback cache: wbfs's daemon has -o writeback (cache=auto, debug);
# WRITEBACK_CACHE is INIT flag bit 16.
W=/mnt/wb
fs_mount wbfs $W
wflags=$(dmesg | sed -n 's/.*vireo_fs wbfs: FUSE .* flags 0x\([0-9a-f]*\).*/\1/p' | tail -n 1)
check_eq wb-init-flag "wbfs 1 myfs 0" sh -c "echo wbfs \$(( (0x$wflags >> 16) & 1 )) myfs \$(( (0x$flags >> 16) & 1 ))"
check wb-init-line sh -c "dmesg | grep -q 'vireo_fs wbfs: FUSE .*, writeback cache\$'"
# 1 MiB in 4 KiB writes, then close: the host counts its WRITEs.
dd if=/dev/urandom of=/tmp/mib bs=4k count=256 2>/dev/null
check wb-mib dd if=/tmp/mib of=$W/mib bs=4k
echo "FS-WB-MD5 mib $(md5sum </tmp/mib | cut -c1-32)"
# Small writes then fsync, the descriptor kept open (until go9); a file
# written and closed without fsync. The host looks at both while they
# are still open or just closed.
fs-ops wbwrite $W/small fsync,wait:$M/go9 0 100 10 a >/tmp/wb1.out 2>&1 &
wb1=$!
wait_for 60 grep -q mtime= /tmp/wb1.out
check_eq wb-small-size-mtime "size=1000 $(stat -c %Y $W/small)" sh -c "sed -n 's/^size=/size=/p; s/^mtime=\([0-9]*\)\..*/\1/p' /tmp/wb1.out | tr '\n' ' ' | sed 's/ \$//'"
check wb-closed fs-ops wbwrite $W/closed none 0 3 1000 b
echo "FS-WB-SYNCED mtime $(sed -n 's/^mtime=//p' /tmp/wb1.out)"
go 9
wait_for 30 sh -c "! kill -0 $wb1"
# O_WRONLY over part of an uncached page: it is read first, by the
# writer's handle (the daemon opened it O_RDWR).
printf 0123456789 >$W/wo
echo 3 >/proc/sys/vm/drop_caches
check wb-wronly-partial fs-ops wbwrite $W/wo wronly 3 1 2 X
check_eq wb-wronly-bytes 012XX56789 cat $W/wo
# O_APPEND from two descriptors open at once: appends at the guest's size.
printf 0123 >$W/app
check wb-append-two sh -c "exec 3>>$W/app 4>>$W/app; printf ab >&3; printf cd >&4; printf ef >&3"
check_eq wb-append-bytes 0123abcdef cat $W/app
# Truncate down after dirty writes; a stat once the attributes expired
# (cache=auto: 1 s), before any writeback, has the guest's size.
check_eq wb-trunc-dirty size=10000 fs-ops wbwrite $W/tr trunc:10000 0 64 4096 t
check_eq wb-stat-before-writeback size=5000 fs-ops wbwrite $W/st sleep 0 5 1000 s
# Another open of a file whose cache is dirty sees the bytes.
check_eq wb-open-sees-dirty hello sh -c "exec 5>$W/seen; printf hello >&5; cat $W/seen"
echo FS-WB-DONE
go 10
check umount-wbfs umount $W

# HANDLE_KILLPRIV_V2 (the host checks the modes after the guest is done).
check user-truncate fs-ops usertrunc 1000 $M/kp1 5
check user-write fs-ops userwrite 1000 $M/kp2 x
check root-truncate truncate -s 5 $M/kp3
check user-open-trunc fs-ops usertruncopen 1000 $M/kp4
check_eq no-oops 0 sh -c "dmesg | grep -cE 'BUG:|WARNING:|Oops'"
check umount umount $M
check unload rmmod vireo_fs
