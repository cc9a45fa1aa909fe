# Guest side of tests/host/blk-fio.sh (busybox sh, sourced by the --cmd).
# BLK_DISKS: "SERIAL:QUEUES ..." as the host told QEMU; vireo_blk was loaded
# with poll_queues=BLK_POLL. A disk gets at most one queue per CPU.
# shellcheck shell=sh disable=SC2154 # BLK_* come from the host
. /tests/blk-lib.sh

dbg=/sys/kernel/debug/block

# vq_stat DISK KIND FIELD: FIELD (used, interrupts, ...) of each request
# queue of KIND (req: with interrupts, req_poll: polled) of DISK, from
# vireo_ring's debugfs statistics.
vq_stat() {
	_vd=$(basename "$(readlink -f "/sys/block/$1/device")")
	for _f in /sys/kernel/debug/vireo/"$_vd"/vq*-"$2".*; do
		[ -e "$_f" ] && sed -n "s/^$3: //p" "$_f"
	done | xargs
}

# fio_verify NAME DISK JOBS [fio options]: random 4 KiB writes at iodepth
# 32 from JOBS jobs, each on its own CPU and its own 4 MiB, then a crc32c
# verify pass.
fio_verify() {
	_n=$1 _d=$2 _j=$3
	shift 3
	fio --name="$_n" --filename="/dev/$_d" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bs=4k --iodepth=32 --size=4m --offset_increment=4m \
		--numjobs="$_j" --cpus_allowed="0-$((BLK_CPUS - 1))" \
		--cpus_allowed_policy=split --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --group_reporting --eta=never --output=/tmp/fio-"$_n".log "$@"
	_rc=$?
	grep -E "err=|IOPS|verify" /tmp/fio-"$_n".log | head -n 5
	return $_rc
}

BLK_CPUS=$(nproc)
for spec in $BLK_DISKS; do
	serial=${spec%%:*}
	n=q${spec#*:}
	[ "$serial" != vireo-fio-full ] || n=full
	nq=${spec#*:}
	[ "$nq" -le "$BLK_CPUS" ] || nq=$BLK_CPUS
	d=$(blk_dev "$serial")
	check "$n/disk" test -n "$d" || continue
	npoll=0
	[ "$nq" -gt 1 ] && npoll=$BLK_POLL
	check_eq "$n/hw-queues" "$nq" sh -c "ls /sys/block/$d/mq | wc -l"
	check_eq "$n/poll-queues" "$npoll" sh -c "grep -l '^poll\$' $dbg/$d/hctx*/type 2>/dev/null | wc -l"
	check_eq "$n/io_poll" "$([ "$npoll" -gt 0 ] && echo 1 || echo 0)" cat "/sys/block/$d/queue/io_poll"
	# Each interrupt-driven queue serves CPUs of its own; together all CPUs.
	cpus=""
	for h in "$dbg/$d"/hctx*; do
		[ "$(cat "$h/type")" = default ] || continue
		cpus="$cpus $(ls -d "$h"/cpu* | sed 's/.*cpu//' | xargs)"
	done
	check_eq "$n/queues-cover-cpus" "$(seq 0 $((BLK_CPUS - 1)) | xargs)" sh -c "echo $cpus | tr ' ' '\n' | sort -n | xargs"

	if [ "$n" = full ]; then
		# The premise: 16 tags, no indirect tables (feature bit 28).
		vd=$(basename "$(readlink -f "/sys/block/$d/device")")
		check_eq "$n/tags" 16 cat "/sys/block/$d/mq/0/nr_tags"
		check_eq "$n/no-indirect" 0 sh -c "cut -c29 /sys/bus/vireo/devices/$vd/features"
	fi
	# One job per CPU: every CPU's queue gets requests.
	check "$n/fio-verify" fio_verify "$n" "$d" "$BLK_CPUS"
	# Every interrupt-driven queue carried requests.
	used=$(vq_stat "$d" req used)
	echo "$n requests per queue: $used"
	check_eq "$n/queues-seen" "$((nq - npoll))" sh -c "echo $used | wc -w"
	check "$n/all-queues-used" sh -c "for n in $used; do [ \$n -gt 0 ] || exit 1; done"
	if [ "$n" = full ]; then
		# The ring did fill (adds refused for want of room), and every
		# request came back all the same.
		full=$(vq_stat "$d" req full)
		echo "$n adds refused on a full ring: $full"
		check "$n/ring-filled" test "$full" -gt 0
	fi

	if [ "$npoll" -gt 0 ]; then
		before=$(vq_stat "$d" req_poll used)
		check "$n/fio-verify-polled" fio_verify "${n}p" "$d" 1 --hipri=1
		after=$(vq_stat "$d" req_poll used)
		echo "$n requests on the poll queue: $before -> $after"
		check "$n/poll-queue-used" test "$after" -ge "$((before + 2048))"
		# No interrupt for it: every completion there was polled.
		check_eq "$n/poll-queue-no-interrupts" 0 vq_stat "$d" req_poll interrupts
	fi
done

check unload vireo_unload
