# Guest side of scripts/bench-blk (busybox sh, sourced by the --cmd): two
# identical disks, the in-tree virtio_blk on the first, vireo_blk on the
# second, fio runs alternating between them. BENCH_PAIRS, BENCH_RUNTIME (s),
# BENCH_JOBS ("name:fio options;...") come from the host. One line per run:
#   BENCH <workload> <intree|vireo> <terse fio line>
# shellcheck shell=sh disable=SC2154 # BENCH_* come from the host
. /tests/blk-lib.sh

modprobe virtio_pci 2>/dev/null
modprobe virtio_blk || exit 1
a=$(blk_dev bench-a) && b=$(blk_dev bench-b) || exit 1
vireo_load vireo_ring vireo_transport vireo_blk || exit 1
pci=$(basename "$(dirname "$(readlink -f "/sys/block/$b/device")")")
vireo-bind "$pci" >/dev/null || exit 1
intree=$(blk_dev bench-a)
vireo=$(blk_dev bench-b)
blk_is_vireo "$vireo" && ! blk_is_vireo "$intree" || exit 1
echo "BENCH-SETUP in-tree $intree ($(cat /sys/block/$intree/queue/nr_requests) tags, $(ls /sys/block/$intree/mq | wc -l) queues)," \
	"vireo $vireo ($(cat /sys/block/$vireo/queue/nr_requests) tags, $(ls /sys/block/$vireo/mq | wc -l) queues)"

# Job N runs on CPU N: runs do not differ by where the scheduler put fio.
last_cpu=$(($(grep -c ^processor /proc/cpuinfo) - 1))

echo "$BENCH_JOBS" | tr ';' '\n' | while IFS=: read -r name opts; do
	[ -n "$name" ] || continue
	i=0
	while [ $i -lt "$BENCH_PAIRS" ]; do
		for who in intree vireo; do
			eval "d=\$$who"
			# shellcheck disable=SC2086 # options
			line=$(fio --name="$name" --filename="/dev/$d" --ioengine=io_uring \
				--direct=1 --time_based --runtime="$BENCH_RUNTIME" \
				--ramp_time=1 --group_reporting --output-format=terse \
				--cpus_allowed="0-$last_cpu" --cpus_allowed_policy=split \
				--terse-version=3 $opts 2>&1 | grep "^3;")
			echo "BENCH $name $who $line"
		done
		i=$((i + 1))
	done
done
