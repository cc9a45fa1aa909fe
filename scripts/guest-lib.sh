# The Debian distro guest (scripts/mkguest) under QEMU: start, ssh, stop.
# Sourced by scripts/run (GUEST=debian) and tests/host/guest-*.sh, after
# scripts/lib.sh. The guest boots its own GRUB, kernel and initramfs from
# the disk; QEMU gets the command line vireo's users give it.
# shellcheck shell=bash

GUEST_KEY=$VIREO_CACHE/guest/ssh/id_ed25519
GUEST_KNOWN=$VIREO_CACHE/guest/ssh/known_hosts
GUEST_PID='' GUEST_PORT='' GUEST_CONSOLE=''
# GUEST_FS_SOCK and GUEST_FS_TAG (guest_fs_start sets them): the guest gets
# a vhost-user-fs-pci device with that tag on the virtiofsd at that socket,
# its memory a shared memfd (what the daemon maps), as the users' command
# line has it. GUEST_FS_PID, GUEST_FS_RC: the daemon's PID and the file its
# exit status is written to.
GUEST_FS_SOCK='' GUEST_FS_TAG='' GUEST_FS_PID='' GUEST_FS_RC='' GUEST_FS_START=''

# guest_overlay IMAGE OVERLAY: a copy-on-write disk over the cached image,
# which stays untouched.
guest_overlay() {
	rm -f "$2"
	qemu-img create -q -f qcow2 -b "$1" -F qcow2 "$2"
}

# guest_free_port [PORT]: a TCP port on 127.0.0.1 nothing listens on now
# (PORT itself, or fails when PORT is taken).
# shellcheck disable=SC2120 # PORT is optional
guest_free_port() {
	python3 -c 'import socket, sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); print(s.getsockname()[1])' "${1:-0}" 2>/dev/null
}

# guest_qemu_args DISK KERNEL PORT DRIVE [QMP] [SLOTS]: the QEMU command line.
# DRIVE: "virtio" (-drive if=virtio) or "pci" (if=none, aio=native,
# cache.direct=on, -device virtio-blk-pci). KERNEL picks GRUB's entry
# through SMBIOS (see mkguest's 01_vireo_kernel).
# shellcheck disable=SC2054 # commas inside QEMU options
guest_qemu_args() {
	local disk=$1 kernel=$2 port=$3 drive=$4 qmp=${5:-} slots=${6:-0} i
	# -erms: under TCG a rep string instruction runs an iteration at a time,
	# and without ERMS the kernel zeroes and copies 8 bytes an iteration,
	# not 1 (scripts/vireo-qemu says more). A systemd boot allocates a lot.
	GUEST_Q=(qemu-system-x86_64 -M q35 -cpu max,-erms -m "${GUEST_MEM:-1G}" -smp 2 -nographic
		-smbios "type=1,sku=vireo-kernel=$kernel")
	case $drive in
	virtio) GUEST_Q+=(-drive "file=$disk,if=virtio") ;;
	pci) GUEST_Q+=(-drive "file=$disk,if=none,id=d0,aio=native,cache.direct=on" -device virtio-blk-pci,drive=d0) ;;
	*) die "drive: virtio or pci" ;;
	esac
	GUEST_Q+=(-device virtio-rng-pci -device virtio-balloon,deflate-on-oom=on
		-netdev "user,id=user.0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22"
		-device virtio-net,netdev=user.0)
	[ -z "$qmp" ] || GUEST_Q+=(-qmp "unix:$qmp,server=on,wait=off")
	if [ -n "$GUEST_FS_SOCK" ]; then
		GUEST_Q+=(-chardev "socket,id=char0,path=$GUEST_FS_SOCK"
			-device "vhost-user-fs-pci,chardev=char0,tag=$GUEST_FS_TAG"
			-object "memory-backend-memfd,id=mem,size=${GUEST_MEM:-1G},share=on"
			-numa node,memdev=mem)
	fi
	for ((i = 0; i < slots; i++)); do
		GUEST_Q+=(-device "pcie-root-port,id=hp$i,bus=pcie.0,chassis=$((i + 10))")
	done
}

# guest_start DISK KERNEL CONSOLE_LOG [DRIVE] [QMP] [SLOTS]: boot in the
# background. Sets GUEST_PID, GUEST_PORT (a free one unless set already),
# GUEST_CONSOLE.
guest_start() {
	[ -n "$GUEST_PORT" ] || GUEST_PORT=$(guest_free_port)
	GUEST_CONSOLE=$3
	guest_qemu_args "$1" "$2" "$GUEST_PORT" "${4:-virtio}" "${5:-}" "${6:-0}"
	"${GUEST_Q[@]}" -serial "file:$GUEST_CONSOLE" -monitor none </dev/null >"$GUEST_CONSOLE.qemu" 2>&1 &
	GUEST_PID=$!
}

# guest_fs_start DIR TAG LOG [OPTIONS...]: /usr/lib/qemu/virtiofsd on DIR
# (each OPTION one more -o), its socket in DIR's parent, its output in LOG;
# the next guest_start gives the guest a vhost-user-fs-pci device with tag
# TAG on it. Waits (10 s at most) until the daemon listens. Its PID is
# GUEST_FS_PID (kill it by that); a subshell waits for it and writes its
# exit status to GUEST_FS_RC. virtiofsd serves one connection and exits
# when QEMU goes: guest_fs_restart starts it again the same way (the boot
# retry of guest_boot_checked does; tests/host/fs-daemon is the initramfs
# tests' counterpart).
guest_fs_start() {
	local dir=$1 tag=$2 log=$3
	shift 3
	GUEST_FS_SOCK=$(dirname "$dir")/vfsd-$tag.sock GUEST_FS_TAG=$tag
	GUEST_FS_RC=$GUEST_FS_SOCK.rc
	GUEST_FS_START=$(printf '%q ' "$dir" "$log" "$@")
	_guest_fs_daemon "$dir" "$log" "$@"
}

# guest_fs_restart: the daemon of guest_fs_start again (same directory,
# socket and options), unless it still runs; an earlier LOG is kept as
# LOG.N.
guest_fs_restart() {
	[ -n "$GUEST_FS_START" ] || return 0
	if [ -n "$GUEST_FS_PID" ] && [ ! -e "$GUEST_FS_RC" ] && kill -0 "$GUEST_FS_PID" 2>/dev/null; then
		return 0
	fi
	eval "_guest_fs_daemon $GUEST_FS_START"
}

_guest_fs_daemon() {
	local dir=$1 log=$2 n=1 o=() i
	shift 2
	GUEST_FS_PID=''
	for i in "$@"; do o+=(-o "$i"); done
	if [ -e "$log" ]; then
		while [ -e "$log.$n" ]; do n=$((n + 1)); done
		mv "$log" "$log.$n"
	fi
	rm -f "$GUEST_FS_SOCK" "$GUEST_FS_RC" "$GUEST_FS_RC.pid"
	(
		/usr/lib/qemu/virtiofsd --socket-path="$GUEST_FS_SOCK" -o source="$dir" \
			${o[@]+"${o[@]}"} >"$log" 2>&1 </dev/null &
		echo $! >"$GUEST_FS_RC.pid"
		rc=0
		wait $! || rc=$?
		echo "$rc" >"$GUEST_FS_RC.tmp"
		mv "$GUEST_FS_RC.tmp" "$GUEST_FS_RC"
	) &
	for _ in $(seq 100); do
		[ -n "$GUEST_FS_PID" ] || GUEST_FS_PID=$(cat "$GUEST_FS_RC.pid" 2>/dev/null || true)
		[ -S "$GUEST_FS_SOCK" ] && grep -q 'Waiting for vhost-user socket connection' "$log" 2>/dev/null && return 0
		[ ! -e "$GUEST_FS_RC" ] || break
		sleep 0.1
	done
	echo "guest_fs_start: no socket from virtiofsd at $GUEST_FS_SOCK (log: $log)" >&2
	return 1
}

# guest_fs_wait_exit [TIMEOUT]: until the daemon has exited (default 10 s);
# prints its exit status, or "running" (it is left running then).
guest_fs_wait_exit() {
	local end=$((SECONDS + ${1:-10}))
	while [ ! -e "$GUEST_FS_RC" ] && [ $SECONDS -lt "$end" ]; do sleep 0.2; done
	if [ -e "$GUEST_FS_RC" ]; then cat "$GUEST_FS_RC"; else echo running; fi
}

# guest_fs_stop: TERM the daemon and its (sandboxed) child by PID, KILL
# what is left after 3 s.
guest_fs_stop() {
	local p kids
	[ -n "$GUEST_FS_PID" ] || return 0
	if [ ! -e "$GUEST_FS_RC" ]; then
		kids=$(cat "/proc/$GUEST_FS_PID/task/$GUEST_FS_PID/children" 2>/dev/null || true)
		for p in $GUEST_FS_PID $kids; do kill -TERM "$p" 2>/dev/null || true; done
		for _ in $(seq 30); do
			[ ! -e "$GUEST_FS_RC" ] || break
			sleep 0.1
		done
		[ -e "$GUEST_FS_RC" ] || for p in $GUEST_FS_PID $kids; do kill -KILL "$p" 2>/dev/null || true; done
	fi
	GUEST_FS_PID=''
}

# guest_ssh CMD...: run CMD in the guest as root (stdin passed on).
guest_ssh() {
	ssh -q -i "$GUEST_KEY" -o UserKnownHostsFile="$GUEST_KNOWN" -o HostKeyAlias=vireo-guest \
		-o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=10 -o ServerAliveCountMax=6 \
		-p "$GUEST_PORT" root@127.0.0.1 "$@"
}

# A kernel problem on the console (as scripts/vireo-qemu tells one).
GUEST_BAD='\[ *[0-9]+\.[0-9]+\] .*(WARNING:|BUG:|BUG [^ ]+ \(|kernel BUG at|Oops|Kernel panic|KASAN|UBSAN:|INFO: |DEBUG_LOCKS_WARN_ON|Slab corruption|slab error|Call Trace:|general protection fault)'

# guest_early_crash: the console shows a kernel problem before the kernel
# ran the initramfs's /init, i.e. before anything of vireo or of the test
# ran (TCG sometimes trips the kernel's own boot); such a boot is retried
# rather than failed.
guest_early_crash() {
	local p s
	p=$(grep -anE "$GUEST_BAD" "$GUEST_CONSOLE" 2>/dev/null | head -n 1 | cut -d: -f1)
	[ -n "$p" ] || return 1
	s=$(grep -an 'Run /init as init process' "$GUEST_CONSOLE" | head -n 1 | cut -d: -f1)
	[ -z "$s" ] || [ "$p" -lt "$s" ]
}

# guest_wait_ssh [TIMEOUT]: until sshd answers (default 600 s) or QEMU ends
# (1), or the kernel failed before /init (2: guest_early_crash).
guest_wait_ssh() {
	local end=$((SECONDS + ${1:-600}))
	while [ $SECONDS -lt $end ]; do
		guest_early_crash && return 2
		kill -0 "$GUEST_PID" 2>/dev/null || return 1
		guest_ssh true </dev/null 2>/dev/null && return 0
		sleep 2
	done
	return 1
}

# guest_wait_exit [TIMEOUT]: until QEMU ends (default 300 s); kill it then.
guest_wait_exit() {
	local end=$((SECONDS + ${1:-300}))
	while kill -0 "$GUEST_PID" 2>/dev/null; do
		if [ $SECONDS -ge "$end" ]; then
			guest_kill
			return 1
		fi
		sleep 1
	done
	wait "$GUEST_PID" 2>/dev/null || true
	GUEST_PID='' GUEST_PORT=''
}

# guest_poweroff [TIMEOUT]: a clean shutdown from inside; QEMU then exits.
guest_poweroff() {
	[ -n "$GUEST_PID" ] || return 0
	guest_ssh 'systemctl poweroff' </dev/null >/dev/null 2>&1 || true
	guest_wait_exit "${1:-300}"
}

# guest_kill: end QEMU now.
guest_kill() {
	[ -n "$GUEST_PID" ] || return 0
	kill "$GUEST_PID" 2>/dev/null || true
	sleep 1
	kill -9 "$GUEST_PID" 2>/dev/null || true
	wait "$GUEST_PID" 2>/dev/null || true
	GUEST_PID='' GUEST_PORT=''
}

# The guest-side listing of which driver has which virtio PCI device.
# shellcheck disable=SC2016,SC2034 # guest-side expansions; used by the sourcer
GUEST_DRIVERS='for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1af4 ] || continue
	id=$(cat $d/device); case $id in
	0x1000|0x1041) t=net ;; 0x1001|0x1042) t=blk ;; 0x1002|0x1045) t=balloon ;;
	0x1005|0x1044) t=rng ;; 0x105a) t=fs ;; *) t=$id ;; esac
	drv=none; [ -e $d/driver ] && drv=$(basename $(readlink $d/driver))
	sub=; for c in $d/*/driver; do [ -e "$c" ] && sub="$sub $(basename $(readlink $c))"; done
	what=
	for b in $d/*/block/* $d/*/*/block/*; do [ -e "$b" ] && what="$what /dev/${b##*/}"; done
	for n in $d/*/net/* $d/*/*/net/*; do [ -e "$n" ] && what="$what ${n##*/}"; done
	for n in $d/*/tag; do [ -e "$n" ] && what="$what tag=$(cat $n)"; done
	echo "${d##*/} virtio-$t: $drv ->${sub:- (no driver)}${what:+ (${what# })}"
done'

# The guest-side name of the driver that has the balloon (virtio level:
# virtio_balloon or vireo_balloon; "none" when nothing has it).
# shellcheck disable=SC2016,SC2034 # guest-side expansions; used by the sourcer
GUEST_BALLOON_DRIVER='drv=none; for d in /sys/bus/pci/devices/*; do
	case $(cat $d/device) in 0x1002|0x1045) ;; *) continue ;; esac
	for c in $d/*/driver; do [ -e "$c" ] && drv=$(basename $(readlink $c)); done
done; echo $drv'
