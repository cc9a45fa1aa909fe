#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.1-mmio1-split 6.12-pci-legacy-split 6.12-mmio2-packed 6.12-pci-split-bind 6.1-pci-split-intree debug-mmio2-packed
#
# vireo_rng as a user sees it: three entropy devices give three hwrngs listed
# in rng_available, /dev/hwrng returns the host's random bytes and they pass
# rngtest's FIPS 140-2 tests over 1000 blocks. Feature negotiation follows
# what QEMU was told: one device as the cell has it, one with
# indirect_desc=off,event_idx=off, one with packed=on (which only a virtio
# 1.x transport can negotiate).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# Expected "indirect event_idx packed" of the three devices, sorted.
p0=0 pc=0
[ "$RING" = packed ] && p0=1
case $TRANSPORT in pci | mmio2) pc=1 ;; esac
want=$(printf '%s\n' "1 1 $p0" "0 0 $p0" "1 1 $pc" | sort | tr '\n' ,)

# shellcheck disable=SC2016 # guest-side expansions
boot --dev rng --dev rng,indirect_desc=off,event_idx=off --dev rng,packed=on --cmd '
	check modules-loaded test "$VIREO_LOAD_FAILED" = 0
	avail=/sys/class/misc/hw_random/rng_available
	check three-hwrngs-listed sh -c "grep -qw vireo_rng.0 $avail && grep -qw vireo_rng.1 $avail && grep -qw vireo_rng.2 $avail"
	check_eq vireo-is-current vireo_rng.0 cat /sys/class/misc/hw_random/rng_current

	# Bytes come from the device: 64 KiB, not constant, two reads differ.
	hwrng-read -o /tmp/a 65536 >/tmp/ra
	hwrng-read -o /tmp/b 65536 >/tmp/rb
	check read-64k grep -q "^bytes=65536 err=none" /tmp/ra
	check reads-differ sh -c "! cmp -s /tmp/a /tmp/b"
	check not-constant sh -c "test \$(od -An -v -tx1 /tmp/a | tr \" \" \"\n\" | sort -u | grep -c .) -gt 250"

	# Both devices deliver: read through the second one too.
	echo vireo_rng.1 >/sys/class/misc/hw_random/rng_current
	check_eq second-is-current vireo_rng.1 cat /sys/class/misc/hw_random/rng_current
	check read-second sh -c "hwrng-read 4096 | grep -q \"^bytes=4096 err=none\""
	echo vireo_rng.0 >/sys/class/misc/hw_random/rng_current

	# FIPS 140-2 over 1000 blocks: a real generator fails about one block
	# in a thousand; broken data (zeros, repeats, stale buffers) fails most.
	rngtest -c 1000 </dev/hwrng 2>/tmp/fips
	ok_blocks=$(sed -n "s/.*FIPS 140-2 successes: //p" /tmp/fips)
	bad_blocks=$(sed -n "s/.*FIPS 140-2 failures: //p" /tmp/fips)
	check rngtest-1000-blocks test "${ok_blocks:-0}" -ge 995 -a "${bad_blocks:-1000}" -le 5
	echo "rngtest: $ok_blocks passed, $bad_blocks failed"

	# Negotiated bits 28 (indirect), 29 (event_idx), 34 (packed); the
	# features string has bit 0 first.
	got=$(for d in $(vireo_devices 0x0004); do
		cut -c29,30,35 $d/features | sed "s/./& /g; s/ $//"
	done | sort | tr "\n" ,)
	check_eq negotiated-features "'"$want"'" echo "$got"
	for d in $(vireo_devices 0x0004); do
		check_eq "$(basename $d)-bound" vireo_rng basename "$(readlink $d/driver)"
	done
	check debugfs-queue-stats sh -c "ls /sys/kernel/debug/vireo/vireo0/ | grep -q ."
	check unload-all vireo_unload'
