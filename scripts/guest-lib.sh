# The Debian distro guest (scripts/mkguest) under QEMU: start, ssh, stop.
# Sourced by scripts/run (GUEST=debian) and tests/host/guest-*.sh, after
# scripts/lib.sh. The guest boots its own GRUB, kernel and initramfs from
# the disk; QEMU gets the command line vireo's users give it.
# shellcheck shell=bash

GUEST_KEY=$VIREO_CACHE/guest/ssh/id_ed25519
GUEST_KNOWN=$VIREO_CACHE/guest/ssh/known_hosts
GUEST_PID='' GUEST_PORT='' GUEST_CONSOLE=''

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
	GUEST_Q=(qemu-system-x86_64 -M q35 -cpu max -m "${GUEST_MEM:-1G}" -smp 2 -nographic
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

# guest_ssh CMD...: run CMD in the guest as root (stdin passed on).
guest_ssh() {
	ssh -q -i "$GUEST_KEY" -o UserKnownHostsFile="$GUEST_KNOWN" -o HostKeyAlias=vireo-guest \
		-o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=10 -o ServerAliveCountMax=6 \
		-p "$GUEST_PORT" root@127.0.0.1 "$@"
}

# guest_wait_ssh [TIMEOUT]: until sshd answers (default 600 s) or QEMU ends.
guest_wait_ssh() {
	local end=$((SECONDS + ${1:-600}))
	while [ $SECONDS -lt $end ]; do
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
	0x1005|0x1044) t=rng ;; *) t=$id ;; esac
	drv=none; [ -e $d/driver ] && drv=$(basename $(readlink $d/driver))
	sub=; for c in $d/*/driver; do [ -e "$c" ] && sub="$sub $(basename $(readlink $c))"; done
	what=
	for b in $d/*/block/* $d/*/*/block/*; do [ -e "$b" ] && what="$what /dev/${b##*/}"; done
	for n in $d/*/net/* $d/*/*/net/*; do [ -e "$n" ] && what="$what ${n##*/}"; done
	echo "${d##*/} virtio-$t: $drv ->${sub:- (no driver)}${what:+ (${what# })}"
done'

# The guest-side name of the driver that has the balloon (virtio level:
# virtio_balloon or vireo_balloon; "none" when nothing has it).
# shellcheck disable=SC2016,SC2034 # guest-side expansions; used by the sourcer
GUEST_BALLOON_DRIVER='drv=none; for d in /sys/bus/pci/devices/*; do
	case $(cat $d/device) in 0x1002|0x1045) ;; *) continue ;; esac
	for c in $d/*/driver; do [ -e "$c" ] && drv=$(basename $(readlink $c)); done
done; echo $drv'
