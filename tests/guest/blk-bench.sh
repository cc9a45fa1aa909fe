# Guest side of scripts/bench-blk (busybox sh, sourced by the --cmd): two
# identical disks, the in-tree virtio_blk on one, vireo_blk on the other,
# fio runs alternating between them; then the disks swap drivers and it
# all runs again. BENCH_PAIRS (per placement), BENCH_RUNTIME (s),
# BENCH_JOBS ("name:fio options;...") come from the host; BENCH_AA=1 puts
# vireo_blk on both disks (an A/A run: what the method reads when there is
# no difference). One line per run:
#   BENCH <workload> <intree|vireo> <terse fio line>
# shellcheck shell=sh disable=SC2154 # BENCH_* come from the host
. /tests/blk-lib.sh

modprobe virtio_pci 2>/dev/null
modprobe virtio_blk || exit 1
blk_dev bench-a >/dev/null && blk_dev bench-b >/dev/null || exit 1
vireo_load vireo_ring vireo_transport vireo_blk || exit 1

# bench_pci SERIAL: the PCI function of that disk.
bench_pci() {
	basename "$(dirname "$(readlink -f "/sys/block/$(blk_dev "$1")/device")")"
}

# bench_place VIREO_SERIAL: vireo_blk drives that disk, the in-tree driver
# the other (or vireo_blk too, with BENCH_AA=1); sets $intree and $vireo.
bench_place() {
	_other=bench-a
	[ "$1" != bench-a ] || _other=bench-b
	if [ "${BENCH_AA:-0}" = 0 ]; then
		if blk_is_vireo "$(blk_dev $_other)"; then
			vireo-bind --back "$(bench_pci $_other)" >/dev/null || return 1
		fi
		what="in-tree"
	else
		blk_is_vireo "$(blk_dev $_other)" ||
			vireo-bind "$(bench_pci $_other)" >/dev/null || return 1
		what="A/A: vireo"
	fi
	blk_is_vireo "$(blk_dev "$1")" ||
		vireo-bind "$(bench_pci "$1")" >/dev/null || return 1
	intree=$(blk_dev $_other) && vireo=$(blk_dev "$1") || return 1
	blk_is_vireo "$vireo" || return 1
	[ "${BENCH_AA:-0}" != 0 ] || ! blk_is_vireo "$intree" || return 1
	echo "BENCH-SETUP $what $intree on $_other ($(cat /sys/block/$intree/queue/nr_requests) tags," \
		"$(ls /sys/block/$intree/mq | wc -l) queues), vireo $vireo on $1" \
		"($(cat /sys/block/$vireo/queue/nr_requests) tags, $(ls /sys/block/$vireo/mq | wc -l) queues)"
}

# Job N runs on CPU N: runs do not differ by where the scheduler put fio.
last_cpu=$(($(grep -c ^processor /proc/cpuinfo) - 1))

# bench_fio DISK SECONDS OPTIONS: one run, its terse line.
bench_fio() {
	# shellcheck disable=SC2086 # options
	fio --name=bench --filename="/dev/$1" --ioengine=io_uring \
		--direct=1 --time_based --runtime="$2" \
		--ramp_time=1 --group_reporting --output-format=terse \
		--terse-version=3 --cpus_allowed="0-$last_cpu" \
		--cpus_allowed_policy=split $3 2>&1 | grep "^3;"
}

# bench_pairs: BENCH_PAIRS pairs of every workload on the current placement.
bench_pairs() {
	echo "$BENCH_JOBS" | tr ';' '\n' | while IFS=: read -r name opts; do
		[ -n "$name" ] || continue
		# Unmeasured: TCG translates the code paths of this workload first.
		bench_fio "$intree" 2 "$opts" >/dev/null
		bench_fio "$vireo" 2 "$opts" >/dev/null
		i=0
		while [ $i -lt "$BENCH_PAIRS" ]; do
			# Who goes first alternates: neither is always the second run.
			order="intree vireo"
			[ $((i % 2)) = 0 ] || order="vireo intree"
			for who in $order; do
				eval "d=\$$who"
				echo "BENCH $name $who $(bench_fio "$d" "$BENCH_RUNTIME" "$opts")"
			done
			i=$((i + 1))
		done
	done
}

# The second disk of the guest runs faster than the first whoever drives
# it (docs/BENCHMARKS.md): each driver gets each disk for half the pairs.
bench_place bench-b || exit 1
bench_pairs
bench_place bench-a || exit 1
bench_pairs
