#!/usr/bin/env bash
# matrix: 6.12-pci-split
#
# A random-operation stress with a model (tests/guest-src/fs-stress.c:
# writes past EOF, truncate up and down, MAP_SHARED stores, punched holes,
# fsync, reopen, cache drops; every read checked against the model) on
# four vireo_fs mounts in one guest, each on its own virtiofsd:
# cache=none (FOPEN_DIRECT_IO: no shared writable mmap, so no mmap
# stores), cache=auto, cache=always, and cache=auto with -o writeback
# (tag wb: FUSE_WRITEBACK_CACHE, writes cached, the guest's size). After the guest ends, the file
# each run left on the host is compared byte for byte with the model's
# final bytes, which fs-stress --model computes here from the same seed.
# Then truncations and O_TRUNC opens racing MAP_SHARED stores and
# writeback (fs-ops truncrace): after every round the daemon's size is the
# cut's, and the host's file ends empty. Then sendfile(2) and splice(2)
# through a pipe on each mount: the copies' bytes on the host are the guest's. STRESS_SEEDS (default "1 2") and STRESS_OPS (default 400) choose the
# runs; a failing run prints its seed and the failing operation.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/host/fs-common.inc
. "$(dirname "$0")/fs-common.inc"

seeds=${STRESS_SEEDS:-1 2}
ops=${STRESS_OPS:-400}
# A multiple of 4: the last round is an open(O_TRUNC), the file ends empty.
trounds=${TRUNC_ROUNDS:-60}
modes="none auto always wb"
stress=$VIREO_ROOT/build/guest-bin/fs-stress

mapfile -t qa < <(fs_qemu_mem)
n=0
for m in $modes; do
	# wb: cache=auto with the writeback cache (-o writeback).
	o=("cache=$m")
	[ "$m" = wb ] && o=(cache=auto writeback)
	fs_daemon_more "$m" "${o[@]}" || exit 0
	mapfile -t -O "${#qa[@]}" qa < <(fs_qemu_dev "char$n" "$FS_WORK/$m.sock" "$m")
	n=$((n + 1))
done
boot "${qa[@]}" --timeout 900 \
	--cmd "STRESS_MODES='$modes' STRESS_SEEDS='$seeds' STRESS_OPS=$ops TRUNC_ROUNDS=$trounds . /tests/fs-stress.sh"
fs_daemon_more_stop

if [ ! -x "$stress" ]; then
	tap_fail host-model "no $stress (built by scripts/mkinitramfs)"
	exit 0
fi
for m in $modes; do
	mm=
	[ "$m" = none ] && mm=nommap
	for s in $seeds; do
		f=$FS_WORK/$m/stress-$s
		if ! "$stress" --model "$FS_WORK/model" "$s" "$ops" $mm; then
			tap_fail "host/$m-seed$s" "fs-stress --model failed"
		elif [ ! -e "$f" ]; then
			tap_fail "host/$m-seed$s" "no $f on the host"
		elif out=$(cmp "$FS_WORK/model" "$f" 2>&1); then
			tap_ok "host/$m-seed$s"
		else
			tap_fail "host/$m-seed$s" "the host file differs from the model (seed $s, $ops ops): $out"
		fi
	done
done

# trunc-race: the last cut (an O_TRUNC open) left the host's file empty,
# also where the guest's size is its own (wb).
for m in auto always wb; do
	f=$FS_WORK/$m/trunc-race
	if [ -e "$f" ] && [ "$(stat -c %s "$f")" = 0 ]; then
		tap_ok "host/trunc-race-$m"
	else
		tap_fail "host/trunc-race-$m" "$f: $(stat -c '%s bytes' "$f" 2>&1) after the last round's open(O_TRUNC)"
	fi
done

# splice: the copies sendfile and splice made on each mount.
log=$VIREO_LOGDIR/$TEST-boot1.log
for m in $modes; do
	want=$(grep -aoE "FS-SPLICE $m [0-9a-f]+" "$log" | head -n 1 | cut -d' ' -f3)
	got=
	for f in sp-src sp-send sp-pipe; do
		got="$got $(md5sum <"$FS_WORK/$m/$f" 2>/dev/null | cut -c1-32)"
	done
	if [ -n "$want" ] && [ "$got" = " $want $want $want" ]; then
		tap_ok "host/splice-$m"
	else
		tap_fail "host/splice-$m" "expected ${want:-none} 3 times, got$got"
	fi
done
