# The random-operation stress on vireo_fs mounts (tests/host/fs-stress.sh):
# one mount per tag in STRESS_MODES (the tag is the daemon's cache mode),
# fs-stress for each seed in STRESS_SEEDS with STRESS_OPS operations. The
# host compares the files left behind with the model.
# shellcheck shell=sh
. /tests/fs-lib.sh

for m in $STRESS_MODES; do
	fs_mount "$m" "/mnt/$m" || continue
	mm=
	# cache=none opens with FOPEN_DIRECT_IO: shared writable mmap is refused.
	if [ "$m" = none ]; then
		mm=nommap
		check_eq none-no-shared-mmap err=ENODEV sh -c \
			"printf x >/mnt/none/mm; fs-ops mmapwrite /mnt/none/mm 0 y 2>/dev/null"
	fi
	for s in $STRESS_SEEDS; do
		t0=$(date +%s)
		check "stress/$m-seed$s" fs-stress "/mnt/$m/stress-$s" "$s" "$STRESS_OPS" $mm
		echo "fs-stress $m seed $s: $(($(date +%s) - t0)) s: $(echo "$_out" | tail -n 1)"
		[ $_rc = 0 ] || echo "$_out" | tail -n 20
	done
	check "umount-$m" umount "/mnt/$m"
done
check unload rmmod vireo_fs
