# The random-operation stress on vireo_fs mounts (tests/host/fs-stress.sh):
# one mount per tag in STRESS_MODES (the tag is the daemon's cache mode),
# fs-stress for each seed in STRESS_SEEDS with STRESS_OPS operations. The
# host compares the files left behind with the model. Then truncations
# racing mmap stores (fs-ops truncrace, TRUNC_ROUNDS rounds; not on
# cache=none, which has no shared writable mmap). Then sendfile(2) and
# splice(2) on each mount (FS-SPLICE lines: the host compares its copies).
# shellcheck shell=sh
. /tests/fs-lib.sh

# splice_copy sendfile|pipe SRC DST: "copied=N MD5-of-DST".
splice_copy() {
	_c=$(fs-splice "$1" "$2" "$3") || return 1
	echo "$_c $(md5sum <"$3" | cut -c1-32)"
}

for m in $STRESS_MODES; do
	fs_mount "$m" "/mnt/$m" || continue
	mm=
	# cache=none opens with FOPEN_DIRECT_IO: shared writable mmap is refused.
	if [ "$m" = none ]; then
		mm=nommap
		check_eq none-no-shared-mmap err=ENODEV sh -c \
			"printf x >/mnt/none/mm; fs-ops mmapwrite /mnt/none/mm 0 y 2>/dev/null"
	fi
	# wb's daemon has -o writeback: INIT granted the writeback cache.
	[ "$m" = wb ] && check wb-writeback-cache sh -c \
		"dmesg | grep -q 'vireo_fs wb: FUSE .*, writeback cache\$'"
	for s in $STRESS_SEEDS; do
		t0=$(date +%s)
		check "stress/$m-seed$s" fs-stress "/mnt/$m/stress-$s" "$s" "$STRESS_OPS" $mm
		echo "fs-stress $m seed $s: $(($(date +%s) - t0)) s: $(echo "$_out" | tail -n 1)"
		[ $_rc = 0 ] || echo "$_out" | tail -n 20
	done
	# Truncations and O_TRUNC opens racing shared-mmap stores and
	# writeback (fs-ops truncrace): the daemon's size is the cut's after
	# every round (with the writeback cache the guest's size is what
	# statx says: the host checks the file's last size, 0).
	if [ -z "$mm" ]; then
		check "trunc-race/$m" fs-ops truncrace "/mnt/$m/trunc-race" "$TRUNC_ROUNDS"
		echo "$_out" | tail -n 3
	fi
	# splice_read / splice_write: sendfile and splice through a pipe, mount
	# to mount and in and out of the guest's tmpfs; the host checks its
	# copies' bytes.
	d=/mnt/$m
	dd if=/dev/urandom of=/tmp/sp bs=1000 count=300 2>/dev/null
	want="copied=300000 $(md5sum </tmp/sp | cut -c1-32)"
	check_eq "splice/$m-sendfile-in" "$want" splice_copy sendfile /tmp/sp $d/sp-src
	echo 3 >/proc/sys/vm/drop_caches
	check_eq "splice/$m-sendfile" "$want" splice_copy sendfile $d/sp-src $d/sp-send
	check_eq "splice/$m-pipe" "$want" splice_copy pipe $d/sp-src $d/sp-pipe
	check_eq "splice/$m-sendfile-out" "$want" splice_copy sendfile $d/sp-pipe /tmp/sp-out
	echo "FS-SPLICE $m $(md5sum </tmp/sp | cut -c1-32)"
	check "umount-$m" umount "/mnt/$m"
done
check unload rmmod vireo_fs
