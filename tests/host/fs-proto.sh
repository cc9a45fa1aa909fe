#!/usr/bin/env bash
# matrix: 6.1-pci-split
#
# The FUSE protocol features of vireo_fs, shown on the daemon's side (its
# -o debug log and its open file descriptors, one O_PATH descriptor per node
# it was told about) and on the host directory:
# - READDIRPLUS (AUTO): `ls -l` of 150 files needs no LOOKUP; the sizes are
#   right; the daemon holds a descriptor per entry;
# - BATCH_FORGET: drop_caches gives the lookups back in BATCH_FORGETs (no
#   single FORGET): the daemon's descriptors go back to what they were;
# - FUSE_INTERRUPT: an OPEN the daemon blocks in (a host process holds a
#   read lease on the file: the daemon's open(O_WRONLY) waits for it) is
#   interrupted by a signal: INTERRUPT with the OPEN's unique id reaches the
#   daemon (virtiofsd ignores it: the open completes when the lease goes);
#   a SIGKILL ends the waiting process at once, and the daemon's late reply
#   is undone (RELEASE: its descriptor of the file is closed);
# - remote POSIX locks and flock (a second daemon, -o posix_lock,flock, on
#   its own directory, tag lkfs): a host process's lockf/flock on a file
#   makes the guest's F_SETLK and flock(LOCK_NB) fail with EAGAIN, F_GETLK
#   report its range, F_SETLKW and flock() wait and get the locks once it
#   released them; a signal ends an F_SETLKW (EINTR) and leaves no lock on
#   the host; the guest's locks make the host's fail until the guest
#   closes the file (FLUSH's lock owner, RELEASE) or is killed;
# - writeback cache (a third daemon, -o writeback, cache=auto, tag wbfs):
#   the INIT flag; small writes then fsync: the host's bytes and mtime are
#   the guest's while the file is still open; a file closed without fsync
#   is on the host at once; O_WRONLY over part of an uncached page; O_APPEND
#   from two open descriptors; truncate down after dirty writes; stat
#   before writeback has the guest's size; 1 MiB in 4 KiB writes reaches
#   the daemon in at most 32 WRITEs (its debug log);
# - HANDLE_KILLPRIV_V2 (-o killpriv_v2: QEMU 7.2 virtiofsd leaves it off
#   by default, whatever its --help says): a truncation by a user without CAP_FSETID drops
#   suid/sgid on the host, root's keeps them; a user's write and
#   open(O_TRUNC) drop them.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/host/fs-common.inc
. "$(dirname "$0")/fs-common.inc"

mkdir "$FS_SRC/rd"
for i in $(seq 150); do head -c "$i" /dev/zero >"$FS_SRC/rd/f$i"; done
echo leased >"$FS_SRC/leased"
for f in kp1 kp2 kp3 kp4; do
	echo 0123456789 >"$FS_SRC/$f"
	chmod 6777 "$FS_SRC/$f"
done

LK=$FS_WORK/lk
mkdir -p "$LK"
for f in f g h; do head -c 200 /dev/zero >"$LK/$f"; done

fs_daemon_start xattr cache=always killpriv_v2 debug || exit 0
fs_daemon_more lk posix_lock flock || exit 0
fs_daemon_more wb cache=auto writeback debug || exit 0
WB=$FS_WORK/wb
wlog=$VIREO_LOGDIR/$TEST-virtiofsd-wb.log
dlog=$VIREO_LOGDIR/$TEST-virtiofsd.log
mapfile -t qa < <(fs_qemu_args myfs; fs_qemu_dev char1 "$LK.sock" lkfs
	fs_qemu_dev char2 "$WB.sock" wbfs)
boot_bg "${qa[@]}" --timeout 900 --cmd '. /tests/fs-proto.sh'

host_check() { # NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then tap_ok "host/$1"; else tap_fail "host/$1" "expected '$2', got '$3'"; fi
}
# Descriptors of the daemon (all its processes); of one path inside it.
dfds() { local p; for p in $(fs_daemon_pids); do ls "/proc/$p/fd" 2>/dev/null; done | wc -l; }
dfds_of() {
	local p
	for p in $(fs_daemon_pids); do
		find "/proc/$p/fd" -mindepth 1 -maxdepth 1 -lname "*$1" 2>/dev/null
	done | wc -l
}
step() { # MARKER GOFILE
	if guest_console_wait "$1" 300; then return 0; fi
	tap_fail "marker-$1" "the guest never reported $1 (log: $GUEST_LOG)"
	return 1
}
# A host process with a read lease on FILE (open(O_WRONLY) of it waits).
LEASE_PID=
lease_start() {
	python3 -c '
import fcntl, os, signal, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
signal.signal(signal.SIGIO, lambda s, f: print("broken", flush=True))
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
print("leased", flush=True)
end = time.time() + 40
while time.time() < end:
    time.sleep(0.2)' "$1" >"$2" 2>&1 &
	LEASE_PID=$!
	local i
	for i in $(seq 50); do grep -q leased "$2" && return 0; sleep 0.1; done
	return 1
}
lease_stop() { [ -z "$LEASE_PID" ] || { kill "$LEASE_PID" 2>/dev/null; wait "$LEASE_PID" 2>/dev/null; }; LEASE_PID=; }
# A host process with a write lock on bytes 10-109 (lockf) or a flock on
# each posix:FILE / flock:FILE, until $FS_WORK/unlock exists (60 s at most).
HOLD_PID=
hold_start() {
	python3 -c '
import fcntl, os, sys, time
fds = []
for spec in sys.argv[1:]:
    kind, path = spec.split(":", 1)
    fd = os.open(path, os.O_RDWR)
    fds.append(fd)
    if kind == "posix":
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 10)
    else:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("held", flush=True)
end = time.time() + 60
while time.time() < end and not os.path.exists(os.environ["UNLOCK"]):
    time.sleep(0.1)
for fd in fds:
    os.close(fd)
print("released", flush=True)' "$@" >"$FS_WORK/hold.out" 2>&1 &
	HOLD_PID=$!
	local i
	for i in $(seq 50); do grep -q held "$FS_WORK/hold.out" && return 0; sleep 0.1; done
	return 1
}
hold_stop() { [ -z "$HOLD_PID" ] || { touch "$FS_WORK/unlock"; wait "$HOLD_PID" 2>/dev/null; }; HOLD_PID=; }
# lk_try posix:FILE|flock:FILE...: busy or free for each, as the host's
# non-blocking lockf / flock finds it.
lk_try() {
	python3 -c '
import fcntl, os, sys
r = []
for spec in sys.argv[1:]:
    kind, path = spec.split(":", 1)
    fd = os.open(path, os.O_RDWR)
    try:
        if kind == "posix":
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        r.append("free")
    except OSError:
        r.append("busy")
    os.close(fd)
print(" ".join(r))' "$@"
}
export UNLOCK=$FS_WORK/unlock
trap 'lease_stop; hold_stop; fs_daemon_stop; fs_daemon_more_stop; rm -rf "$FS_WORK"' EXIT

ok=1
if step FS-MOUNTED; then
	base=$(dfds)
	touch "$FS_SRC/go0"
else ok=0; fi
if [ $ok = 1 ] && step FS-LISTED; then
	listed=$(dfds)
	host_check readdirplus-sent 1 "$(grep -c 'opcode: READDIRPLUS (44)' "$dlog" | sed 's/^[1-9][0-9]*$/1/')"
	host_check no-lookup-of-listed 0 "$(grep -cE 'lo_lookup\(parent=[0-9]+, name=f[0-9]+\)' "$dlog")"
	host_check daemon-holds-entries 1 "$([ $((listed - base)) -ge 150 ] && echo 1 || echo "$base->$listed")"
	touch "$FS_SRC/go1"
else ok=0; fi
if [ $ok = 1 ] && step FS-FORGOT; then
	forgot=$(dfds)
	host_check batch-forget-sent 1 "$(grep -c 'opcode: BATCH_FORGET (42)' "$dlog" | sed 's/^[1-9][0-9]*$/1/')"
	host_check no-single-forget 0 "$(grep -c 'opcode: FORGET (2)' "$dlog")"
	host_check forgets-match-lookups 1 "$([ "$forgot" -le $((base + 2)) ] && echo 1 || echo "$base->$listed->$forgot")"
	lease_start "$FS_SRC/leased" "$FS_WORK/lease1.out" || tap_fail lease-1 "no lease ($(cat "$FS_WORK/lease1.out"))"
	touch "$FS_SRC/go2"
else ok=0; fi
if [ $ok = 1 ] && step FS-INTERRUPTED; then
	u=$(grep -aE 'unique: [0-9]+, opcode: OPEN \(14\)' "$dlog" | tail -n 1 | sed -E 's/.*unique: ([0-9]+),.*/\1/')
	host_check lease-broken-by-open broken "$(grep -o broken "$FS_WORK/lease1.out" | head -n 1)"
	host_check interrupt-of-open "INTERRUPT: ${u:-none}" "$(grep -aoE "INTERRUPT: ${u:-none}\$" "$dlog" | head -n 1)"
	lease_stop
	step FS-OPENED || ok=0
fi
if [ $ok = 1 ]; then
	lease_start "$FS_SRC/leased" "$FS_WORK/lease2.out" || tap_fail lease-2 "no lease"
	touch "$FS_SRC/go3"
	if step FS-KILLED; then
		host_check open-still-blocked 1 "$(kill -0 "$LEASE_PID" 2>/dev/null && echo 1)"
		lease_stop
		# The daemon's OPEN now completes; vireo_fs releases the handle.
		sleep 3
		host_check orphan-open-released 1 "$(dfds_of /leased)"
		touch "$FS_SRC/go4"
	else ok=0; fi
fi
if [ $ok = 1 ] && step FS-LK-MOUNTED; then
	hold_start posix:"$LK/f" flock:"$LK/f" posix:"$LK/h" || tap_fail lk-host-hold "$(cat "$FS_WORK/hold.out")"
	touch "$FS_SRC/go5"
else ok=0; fi
if [ $ok = 1 ] && step FS-LK-WAITING; then
	hold_stop
	host_check lk-host-released released "$(tail -n 1 "$FS_WORK/hold.out")"
	touch "$FS_SRC/go6"
else ok=0; fi
if [ $ok = 1 ] && step FS-LK-HELD; then
	# f: POSIX and flock of a guest process; g: POSIX of another; h: the
	# interrupted F_SETLKW's process is alive, but holds nothing.
	host_check lk-guest-locks-on-host "busy busy busy free" \
		"$(lk_try posix:"$LK/f" flock:"$LK/f" posix:"$LK/g" posix:"$LK/h")"
	touch "$FS_SRC/go7"
else ok=0; fi
if [ $ok = 1 ] && step FS-LK-RELEASED; then
	host_check lk-close-and-kill-release "free free free" \
		"$(lk_try posix:"$LK/f" flock:"$LK/f" posix:"$LK/g")"
	touch "$FS_SRC/go8"
else ok=0; fi
# Writeback cache: fsync'ed bytes and mtime, and a closed file's bytes, on
# the host while the guest still runs (dirty_expire is 30 s away).
mtime_ns() { python3 -c 'import os, sys; t = os.stat(sys.argv[1]).st_mtime_ns; print("%d.%09d" % divmod(t, 10**9))' "$1" 2>&1; }
if [ $ok = 1 ] && step FS-WB-SYNCED; then
	log=$VIREO_LOGDIR/$TEST-boot1.log
	gm=$(grep -aoE 'FS-WB-SYNCED mtime [0-9.]+' "$log" | head -n 1 | cut -d' ' -f3)
	host_check wb-fsync-bytes "1000 $(head -c 1000 /dev/zero | tr '\0' a | md5sum | cut -c1-32)" \
		"$(stat -c %s "$WB/small" 2>&1) $(md5sum <"$WB/small" | cut -c1-32)"
	host_check wb-fsync-mtime "${gm:-none}" "$(mtime_ns "$WB/small")"
	host_check wb-close-bytes "3000 $(head -c 3000 /dev/zero | tr '\0' b | md5sum | cut -c1-32)" \
		"$(stat -c %s "$WB/closed" 2>&1) $(md5sum <"$WB/closed" | cut -c1-32)"
	touch "$FS_SRC/go9"
else ok=0; fi
if [ $ok = 1 ] && step FS-WB-DONE; then
	host_check wb-wronly-partial 012XX56789 "$(cat "$WB/wo" 2>&1)"
	host_check wb-append-two 0123abcdef "$(cat "$WB/app" 2>&1)"
	host_check wb-trunc-dirty "10000 $(head -c 10000 /dev/zero | tr '\0' t | md5sum | cut -c1-32)" \
		"$(stat -c %s "$WB/tr" 2>&1) $(md5sum <"$WB/tr" | cut -c1-32)"
	touch "$FS_SRC/go10"
else ok=0; fi
wait_guest 600
# The 1 MiB file: its WRITEs in the daemon's log (the first file written
# on wbfs, closed before the next: the first WRITEs, of one node, until
# they add up to 1 MiB; virtiofsd reuses node numbers, so not all of that
# node's), far fewer than its 256 write(2)s of 4 KiB.
want=$(grep -aoE 'FS-WB-MD5 mib [0-9a-f]+' "$VIREO_LOGDIR/$TEST-boot1.log" | head -n 1 | cut -d' ' -f3)
host_check wb-mib-bytes "1048576 ${want:-none}" "$(stat -c %s "$WB/mib" 2>&1) $(md5sum <"$WB/mib" | cut -c1-32)"
nw=$(grep -aoE 'lo_write_buf\(ino=[0-9]+, size=[0-9]+' "$wlog" | sed -E 's/.*ino=([0-9]+), size=([0-9]+)/\1 \2/' |
	awk 'NR == 1 { ino = $1 } $1 == ino && b < 1048576 { n++; b += $2 } END { if (b == 1048576) print n }')
echo "# writeback cache: 1 MiB in 4 KiB writes reached the daemon in ${nw:-no} WRITEs"
host_check wb-mib-few-writes 1 "$([ -n "$nw" ] && [ "$nw" -le 32 ] && echo 1 || echo "${nw:-no} WRITEs")"
lease_stop
fs_daemon_stop
host_check killpriv-user-truncate "777 5" "$(stat -c '%a %s' "$FS_SRC/kp1")"
host_check killpriv-user-write "777" "$(stat -c '%a' "$FS_SRC/kp2")"
host_check killpriv-root-truncate-keeps "6777 5" "$(stat -c '%a %s' "$FS_SRC/kp3")"
host_check killpriv-user-open-trunc "777 0" "$(stat -c '%a %s' "$FS_SRC/kp4")"
