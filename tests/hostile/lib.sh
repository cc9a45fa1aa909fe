# Host-side helpers for the tests that boot guests on hostile-blk and
# hostile-fs, hostile-net and hostile-rng back-ends
# (tests/host/hostile-*.sh). Source after tests/lib.sh.
#
#   hostile_build                       build build/hostile/hostile-{blk,fs}
#   hostile_disk NAME SLOT SERIAL [OPTS] [-- RULE...]
#                                       a 16 MiB image NAME.img (bytes at 1 MiB
#                                       from seed 7), its back-end with those
#                                       rules, and the QEMU arguments for it as
#                                       a vhost-user-blk-pci at pcie.0 slot SLOT
#                                       (packed=on on a packed cell);
#                                       OPTS: chardev=EXTRA (e.g. reconnect=1),
#                                       queues=N
#   hostile_fs NAME SLOT TAG [-- RULE...]
#                                       a hostile-fs back-end (its FUSE tree,
#                                       those rules) and the QEMU arguments for
#                                       it as a vhost-user-fs-pci with tag TAG
#                                       at pcie.0 slot SLOT
#   hostile_net NAME SLOT [-- RULE...]  a hostile-net back-end at 10.99.SLOT.2
#                                       (those rules) and the QEMU arguments
#                                       for it as a virtio-net-pci (vhost-user
#                                       netdev) with MAC 52:54:00:99:SLOT:01 at
#                                       pcie.0 slot SLOT (INTx: see
#                                       docs/hostile.md)
#   hostile_rng NAME SLOT [-- RULE...]  a hostile-rng back-end (those rules) and
#                                       the QEMU arguments for it as a
#                                       vhost-user-rng-pci at pcie.0 slot SLOT
#   hostile_args                        the vireo-qemu options for every device
#                                       (guest RAM as a shared memfd included)
#   hostile_stop                        end the back-ends (by PID), keep logs
#
# HOSTILE_WORK is the directory of images, sockets and back-end logs
# (NAME.log). Sockets live under /tmp: sun_path holds 108 bytes.
# shellcheck shell=bash

HOSTILE_BIN=$VIREO_ROOT/build/hostile/hostile-blk
HOSTILE_MEM=1G
HOSTILE_WORK=$(mktemp -d /tmp/vireo-hostile.XXXXXX)
HOSTILE_PIDS=()
HOSTILE_QEMU=()
HOSTILE_NAMES=()
trap 'hostile_stop; rm -rf "$HOSTILE_WORK"' EXIT

hostile_build() {
	mkdir -p "$VIREO_ROOT/build/hostile"
	make -s -C "$VIREO_ROOT/tests/hostile" OUT="$VIREO_ROOT/build/hostile" >/dev/null 2>"$HOSTILE_WORK/build.err" ||
		{ cat "$HOSTILE_WORK/build.err"; return 1; }
}

hostile_disk() {
	local name=$1 slot=$2 serial=$3 chardev='' queues=1 rules=() i
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		case $1 in
		chardev=*) chardev=,${1#chardev=} ;;
		queues=*) queues=${1#queues=} ;;
		esac
		shift
	done
	[ $# -eq 0 ] || shift
	for i in "$@"; do rules+=(--fault "$i"); done
	local img=$HOSTILE_WORK/$name.img sock=$HOSTILE_WORK/$name.sock packed=
	# The cell's ring: QEMU offers RING_PACKED only with packed=on.
	[ "${RING:-split}" != packed ] || packed=,packed=on
	truncate -s 16M "$img"
	"$VIREO_ROOT/build/guest-bin/blk-io" write "$img" 1m 64k 7 >/dev/null
	"$HOSTILE_BIN" --socket "$sock" --disk "$img" --serial "$serial" --queues "$queues" \
		--timeout 900 ${rules[@]+"${rules[@]}"} 2>"$HOSTILE_WORK/$name.log" &
	HOSTILE_PIDS+=($!)
	HOSTILE_NAMES+=("$name")
	for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	HOSTILE_QEMU+=(--qemu -chardev --qemu "socket,id=hc$slot,path=$sock$chardev"
		--qemu -device --qemu "vhost-user-blk-pci,chardev=hc$slot,num-queues=$queues,disable-legacy=on,bus=pcie.0,addr=$slot$packed")
}

hostile_fs() {
	local name=$1 slot=$2 tag=$3 rules=() i
	shift 3
	[ $# -eq 0 ] || shift
	for i in "$@"; do rules+=(--fault "$i"); done
	local sock=$HOSTILE_WORK/$name.sock
	"$VIREO_ROOT/build/hostile/hostile-fs" --socket "$sock" --tag "$tag" \
		--timeout 900 ${rules[@]+"${rules[@]}"} 2>"$HOSTILE_WORK/$name.log" &
	HOSTILE_PIDS+=($!)
	HOSTILE_NAMES+=("$name")
	for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	# SLOT or SLOT.FUNCTION (pcie.0 has slots up to 0x1e for us): function
	# 0 of a slot is multifunction, so that more devices fit.
	local mf=
	[[ $slot = *.* ]] || mf=,multifunction=on
	HOSTILE_QEMU+=(--qemu -chardev --qemu "socket,id=hc$slot,path=$sock"
		--qemu -device --qemu "vhost-user-fs-pci,chardev=hc$slot,tag=$tag,bus=pcie.0,addr=$slot$mf")
}

hostile_net() {
	local name=$1 slot=$2 rules=() i packed=
	shift 2
	[ $# -eq 0 ] || shift
	for i in "$@"; do rules+=(--fault "$i"); done
	local sock=$HOSTILE_WORK/$name.sock
	[ "${RING:-split}" != packed ] || packed=,packed=on
	"$VIREO_ROOT/build/hostile/hostile-net" --socket "$sock" --ip "10.99.$((slot)).2" \
		--mac "$(printf '52:54:00:ee:%02x:02' "$((slot))")" \
		--timeout 900 ${rules[@]+"${rules[@]}"} 2>"$HOSTILE_WORK/$name.log" &
	HOSTILE_PIDS+=($!)
	HOSTILE_NAMES+=("$name")
	for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	# vectors=0: QEMU 7.2 crashes in vhost_net_start when a vhost-user
	# netdev's virtio-net-pci has MSI-X enabled (docs/hostile.md).
	HOSTILE_QEMU+=(--qemu -chardev --qemu "socket,id=hc$slot,path=$sock"
		--qemu -netdev --qemu "vhost-user,id=hn$slot,chardev=hc$slot"
		--qemu -device --qemu "virtio-net-pci,netdev=hn$slot,mac=$(printf '52:54:00:99:%02x:01' "$((slot))"),vectors=0,disable-legacy=on,bus=pcie.0,addr=$slot$packed")
}

hostile_rng() {
	local name=$1 slot=$2 rules=() i packed=
	shift 2
	[ $# -eq 0 ] || shift
	for i in "$@"; do rules+=(--fault "$i"); done
	local sock=$HOSTILE_WORK/$name.sock
	[ "${RING:-split}" != packed ] || packed=,packed=on
	"$VIREO_ROOT/build/hostile/hostile-rng" --socket "$sock" --name "$name" \
		--timeout 900 ${rules[@]+"${rules[@]}"} 2>"$HOSTILE_WORK/$name.log" &
	HOSTILE_PIDS+=($!)
	HOSTILE_NAMES+=("$name")
	for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	HOSTILE_QEMU+=(--qemu -chardev --qemu "socket,id=hc$slot,path=$sock"
		--qemu -device --qemu "vhost-user-rng-pci,chardev=hc$slot,bus=pcie.0,addr=$slot$packed")
}

hostile_args() {
	printf '%s\n' --mem "$HOSTILE_MEM" \
		--qemu -object --qemu "memory-backend-memfd,id=hmem,size=$HOSTILE_MEM,share=on" \
		--qemu -machine --qemu memory-backend=hmem "${HOSTILE_QEMU[@]}"
}

hostile_stop() {
	local p
	for p in ${HOSTILE_PIDS[@]+"${HOSTILE_PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
	for p in ${HOSTILE_PIDS[@]+"${HOSTILE_PIDS[@]}"}; do wait "$p" 2>/dev/null || true; done
	HOSTILE_PIDS=()
}

# hostile_host_checks NAME [fired]: after the guest: the back-end saw no
# driver error (it checks the guest's rings), and with "fired" its fault
# rule was applied. Keeps the log beside the console logs.
hostile_host_checks() {
	local name=$1 log=$HOSTILE_WORK/$1.log
	cp "$log" "$VIREO_LOGDIR/$TEST-backend-$name.log" 2>/dev/null
	if grep -q 'driver error' "$log"; then
		tap_fail "host/$name/driver-clean" "$(grep 'driver error' "$log" | head -n 3)"
	else
		tap_ok "host/$name/driver-clean"
	fi
	if [ "${2:-}" = fired ]; then
		if grep -q "fault '" "$log"; then
			tap_ok "host/$name/fault-fired"
		else
			tap_fail "host/$name/fault-fired" "the back-end never applied its rule (log: $VIREO_LOGDIR/$TEST-backend-$name.log)"
		fi
	fi
}
