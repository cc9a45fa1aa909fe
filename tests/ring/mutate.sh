#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make -C tests/ring mutate: for each full barrier (a line that is just
# "vireo_ring_mb(vr);") of split.c and packed.c, a copy of the ring sources
# with that one line deleted, built and run on the concurrent test alone
# (ring-test --only concurrent). Each mutant must fail. Prints one line a
# mutant, "caught" or "MISSED", and exits 1 if any was missed.
#
# Environment (from the Makefile): B RING RING_SRC CC CPPFLAGS CFLAGS LDLIBS
# SRC. RING_SRC is the Makefile's list of ring sources, so a new ring file
# is copied too.
set -euo pipefail

out=$B/mutants
rm -rf "$out"
mkdir -p "$out"
missed=0
total=0

for file in split.c packed.c; do
	# Line numbers of the barriers, each with the function it is in.
	mapfile -t sites < <(awk '
		/^[a-z].*\(/ { fn = $0; sub(/\(.*/, "", fn); sub(/.* \**/, "", fn) }
		/^[ \t]*vireo_ring_mb\(vr\);[ \t]*$/ { print NR " " fn }
	' "$RING/$file")
	for site in "${sites[@]}"; do
		line=${site%% *}
		fn=${site#* }
		name=${file%.c}-$fn-$line
		dir=$out/$name
		mkdir -p "$dir"
		copies=()
		for f in $RING_SRC; do
			cp "$f" "$dir/${f##*/}"
			copies+=("$dir/${f##*/}")
		done
		sed -i "${line}s/vireo_ring_mb(vr);/\/* mutant: barrier deleted *\//" "$dir/$file"
		if cmp -s "$RING/$file" "$dir/$file"; then
			echo "mutate: $name: sed changed nothing" >&2
			exit 2
		fi
		# shellcheck disable=SC2086 # word lists from make
		$CC $CPPFLAGS -I"$RING" $CFLAGS -o "$dir/ring-test" $SRC \
			"${copies[@]}" $LDLIBS
		total=$((total + 1))
		if "$dir/ring-test" --only concurrent >"$dir/log" 2>&1; then
			echo "MISSED $name: the concurrent test passes without this barrier"
			missed=$((missed + 1))
		else
			echo "caught $name: $(grep -m1 '^not ok' "$dir/log" | sed 's/^not ok [0-9]* - //')"
		fi
	done
done
echo "mutate: $((total - missed)) of $total barrier deletions caught"
[ "$missed" = 0 ]
