# Guest side of scripts/bench-insns (busybox sh, sourced by the --cmd): two
# identical disks, the in-tree virtio_blk on one (bench-a), vireo_blk on the
# other (bench-b). The guest runs under the insn-count QEMU plugin; each
# insn-mark ends one measurement. For every workload and driver, fio runs
# BENCH_IOS/4 and then BENCH_IOS I/Os, each between two marks: the host
# subtracts the first from the second, which leaves what the extra I/Os
# cost and cancels fio's start and exit. The plugin writes counts file N,
# the counts since boot, at the (N+1)th mark. Lines for the host:
#   INSN-RUN <workload> <intree|vireo> <file after the short run>
#            <file after the long run> <extra I/Os>
# and the kernel's text symbols between KSYMS-BEGIN and KSYMS-END.
# BENCH_JOBS ("name:fio options;...") and BENCH_IOS come from the host.
# shellcheck shell=sh disable=SC2154 # BENCH_* come from the host
. /tests/blk-lib.sh

modprobe virtio_pci 2>/dev/null
modprobe virtio_blk || exit 1
blk_dev bench-a >/dev/null && blk_dev bench-b >/dev/null || exit 1
vireo_load vireo_ring vireo_transport vireo_blk || exit 1
_pci=$(basename "$(dirname "$(readlink -f "/sys/block/$(blk_dev bench-b)/device")")")
vireo-bind "$_pci" >/dev/null || exit 1
intree=$(blk_dev bench-a) && vireo=$(blk_dev bench-b) || exit 1
blk_is_vireo "$vireo" && ! blk_is_vireo "$intree" || exit 1

# fio's buffers are the pages of one file, made here once and kept (fio
# keeps a mmap file that exists), so both drivers get the very same pages;
# scatter-file places them physically apart. Left to chance, how many of
# fio's pages happen to be adjacent decides how many segments a 1 MiB
# request has (1 to 256, a new draw each run), and the counts would follow
# that draw instead of the driver. Apart, every request has one segment
# per page: the most work a driver does for its size.
# shellcheck disable=SC2046 # "pages N adjacent M" into $1..$4
set -- $(scatter-file /tmp/insn-buf 24) && [ "$4" -ge 0 ] &&
	[ "$4" -le $(($2 / 100)) ] ||
	{ echo "insn-buf: pages not apart ($*)"; exit 1; }

marks=0
mark() {
	insn-mark
	marks=$((marks + 1))
}

# insn_fio DISK IOS OPTIONS: one fio run of IOS I/Os per job, job N on
# CPU N; prints the I/Os issued.
insn_fio() {
	# shellcheck disable=SC2086 # options
	fio --name=insns --filename="/dev/$1" --ioengine=io_uring --direct=1 \
		--number_ios="$2" --size=1G --io_size=100000g \
		--iomem=mmapshared:/tmp/insn-buf \
		--group_reporting \
		--cpus_allowed="0-$(($(grep -c ^processor /proc/cpuinfo) - 1))" \
		--cpus_allowed_policy=split $3 >/tmp/fio.out 2>&1 ||
		{ cat /tmp/fio.out; return 1; }
	sed -n 's/.*issued rwts: total=\([0-9]*\),\([0-9]*\),.*/\1 \2/p' /tmp/fio.out |
		awk '{ n += $1 + $2 } END { print n }'
}

small=$((BENCH_IOS / 4))
echo "$BENCH_JOBS" | tr ';' '\n' | while IFS=: read -r name opts; do
	[ -n "$name" ] || continue
	insn_fio "$intree" "$small" "$opts" >/dev/null &&
		insn_fio "$vireo" "$small" "$opts" >/dev/null || exit 1
	for who in intree vireo; do
		eval "d=\$$who"
		mark
		n1=$(insn_fio "$d" "$small" "$opts") || exit 1
		mark
		f1=$((marks - 1))
		n2=$(insn_fio "$d" "$BENCH_IOS" "$opts") || exit 1
		mark
		echo "INSN-RUN $name $who $f1 $((marks - 1)) $((n2 - n1))"
	done
done || exit 1
echo KSYMS-BEGIN
grep -E ' [tT] ' /proc/kallsyms
echo KSYMS-END
