# Guest side of scripts/bench-fs (busybox sh, sourced by the --cmd): two
# virtio-fs devices (tags fsa, fsb) on two virtiofsd with the same cache
# mode; the in-tree virtiofs (a module on 6.1) drives one, vireo_fs (moved
# over with vireo-bind) the other. Each workload runs once unmeasured on both,
# then in BENCH_PAIRS pairs whose order alternates (in-tree first, then
# vireo first, ...). BENCH_MIB (sequential file size), BENCH_RANDREADS,
# BENCH_FILES, BENCH_DIRENTS, BENCH_WORKLOADS (a subset, in this order) and
# BENCH_COUNT (mark each run in the daemons' debug logs) come from the
# host. One line per run:
#   BENCH <workload> <intree|vireo> <value> <unit>
# shellcheck shell=sh disable=SC2154 # BENCH_* come from the host
. /tests/fs-lib.sh

# The in-tree virtiofs first (it must own the name virtiofs), then vireo's
# modules while virtio_pci is not loaded: vireo_transport takes both
# functions; the first goes back to the in-tree virtio_pci. (Moving a
# function the in-tree virtiofs had probed over to vireo_fs left vireo_fs's
# first requests unanswered on 6.1.)
modprobe virtiofs || exit 1
for _m in vireo_ring vireo_transport vireo_fs; do
	insmod "/vireo/$_m.ko" || exit 1
done
modprobe virtio_pci 2>/dev/null
pa=$(for _p in /sys/bus/pci/devices/*; do
	[ "$(cat "$_p/vendor"):$(cat "$_p/device")" = 0x1af4:0x105a ] && basename "$_p"
done | sort | head -n 1)
[ -n "$pa" ] || { echo "bench-fs: no vhost-user-fs PCI function"; exit 1; }
vireo-bind --back "$pa" >/dev/null || exit 1
vtag=$(cat /sys/bus/vireo/drivers/vireo_fs/*/tag)
case $vtag in
fsa) itag=fsb ;;
fsb) itag=fsa ;;
*) echo "bench-fs: vireo_fs has tag '$vtag'"; exit 1 ;;
esac
mkdir -p /mnt/intree /mnt/vireo
mount -t virtiofs $itag /mnt/intree || exit 1
mount -t vireofs $vtag /mnt/vireo || exit 1
echo "BENCH-SETUP in-tree: $(awk '$2 == "/mnt/intree" {print $3}' /proc/mounts) on $itag; vireo: $(awk '$2 == "/mnt/vireo" {print $3}' /proc/mounts) on $vtag; in-tree on $pa; $(dmesg | grep -o "vireo_fs $vtag: FUSE.*")"
for _d in /mnt/intree /mnt/vireo; do
	fs-bench mkdir $_d "$BENCH_DIRENTS" || exit 1
done

# bench_run WORKLOAD WHO CMD...: one run, its BENCH line.
bench_run() {
	_w=$1
	_who=$2
	shift 2
	_r=$("$@") || { echo "bench-fs: $_w on $_who failed"; exit 1; }
	echo "BENCH $_w $_who $_r"
}

# bench_pair WORKLOAD FIRST CMD-with-@: one run on each mount, FIRST first.
bench_pair() {
	_w=$1
	_first=$2
	shift 2
	if [ "$_first" = intree ]; then _order="intree vireo"; else _order="vireo intree"; fi
	for _who in $_order; do
		# Counting (BENCH_COUNT): a LOOKUP of this name marks the start
		# of the run in its daemon's debug log.
		[ -n "${BENCH_COUNT:-}" ] && stat "/mnt/$_who/.bench-mark-$_w" >/dev/null 2>&1
		# shellcheck disable=SC2046 # the command's words
		bench_run "$_w" "$_who" $(echo "$@" | sed "s|@|/mnt/$_who|g")
	done
}

for w in ${BENCH_WORKLOADS:-seqwrite seqread randread files readdir lsl}; do
	case $w in
	seqwrite) cmd="fs-bench seqwrite @ $BENCH_MIB" ;;
	seqread) cmd="fs-bench seqread @" ;;
	randread) cmd="fs-bench randread @ $BENCH_RANDREADS" ;;
	files) cmd="fs-bench files @ $BENCH_FILES" ;;
	readdir) cmd="fs-bench readdir @ 3" ;;
	lsl) cmd="fs-bench lsl @ 3" ;;
	esac
	# shellcheck disable=SC2086 # the command's words
	bench_pair "$w" intree $cmd >/dev/null # warm-up: TCG translates the paths
	i=0
	while [ $i -lt "$BENCH_PAIRS" ]; do
		if [ $((i % 2)) = 0 ]; then f=intree; else f=vireo; fi
		# shellcheck disable=SC2086
		bench_pair "$w" $f $cmd
		i=$((i + 1))
	done
done
umount /mnt/intree
umount /mnt/vireo
echo BENCH-DONE
