#!/usr/bin/env bash
# matrix: 6.1-pci-split debug-pci-split
#
# Load and unload every vireo module 25 times with devices present (8 on
# the debug kernel, where a round costs four times as much; a per-round leak
# shows in slab debugging and kmemleak after a few rounds as surely as after
# fifty): each
# time the devices bind again and deliver, and nothing leaks (slab debugging
# here; kmemleak on the debug kernel, scanned by the harness at the end).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck disable=SC2016 # guest-side expansions
boot --dev rng --dev rng --timeout 900 --cmd '
	mods=$(vireo_loaded)
	bad=0
	i=0
	rounds=25
	[ "$VIREO_DEBUG" = 0 ] || rounds=8
	while [ $i -lt $rounds ]; do
		vireo_unload || { fail reload-unload "round $i"; bad=1; break; }
		if grep -q "^vireo_" /proc/modules; then fail reload-unloaded "round $i"; bad=1; break; fi
		vireo_load $mods || { fail reload-load "round $i"; bad=1; break; }
		n=$(vireo_devices 0x0004 | wc -l)
		[ "$n" = 2 ] || { fail reload-devices "round $i: $n devices"; bad=1; break; }
		wait_for 10 grep -q vireo_rng.1 /sys/class/misc/hw_random/rng_available ||
			{ fail reload-hwrng "round $i"; bad=1; break; }
		i=$((i + 1))
	done
	[ $bad = 1 ] || ok reload-$rounds-rounds
	check read-after-reload sh -c "hwrng-read 4096 | grep -q \"^bytes=4096 err=none\""'
