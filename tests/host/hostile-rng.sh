#!/usr/bin/env bash
# matrix: 6.12-pci-split
#
# vireo_rng on an entropy device that misbehaves on purpose, through the
# real transport: one vhost-user-rng-pci per case in one guest, each served
# by its own hostile-rng back-end (tests/hostile/hostile-rng.c,
# docs/hostile.md) with one fault rule that fires after the first 6
# buffers. Each case makes its device the current hwrng, reads 32 KiB from
# /dev/hwrng and checks what a user would: the bytes, or EIO within its
# bound; exactly one kernel line of that device naming the fault (none for
# a clean device and for empty buffers, which are posted again). At the
# end rmmod vireo_rng returns; the harness fails the run on any oops or
# warning. On the host: every back-end applied its rule and saw the
# driver keep the virtio rules (no "driver error" in its log).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/hostile/lib.sh
. "$VIREO_ROOT/tests/hostile/lib.sh"

hostile_build || { tap_fail build "tests/hostile does not build"; exit 0; }

at='after=6'
hostile_rng clean 0x08
hostile_rng len-long 0x09 -- "len-long $at"
hostile_rng bad-id 0x0a -- "bad-id $at"
hostile_rng stale-id 0x0b -- "stale-id $at"
hostile_rng zero 0x0c -- "zero $at count=3"
hostile_rng stall 0x0d -- "stall $at"

calls="
hr_clean clean 0x08
hr_fails len-long 0x09 'queue 0 .*used len [0-9]+ for id [0-9]+ exceeds'
hr_fails bad-id 0x0a 'queue 0 .*used id [0-9]+ is not a buffer in flight'
hr_fails stale-id 0x0b 'queue 0 .*used id [0-9]+ is not a buffer in flight'
hr_clean zero 0x0c
hr_fails stall 0x0d 'returned nothing for 15 s: resetting it'
hr_unload
"
mapfile -t qargs < <(hostile_args)
# abort_timeout: the stalled reader gets EIO after 15 s.
boot --name main --timeout 600 "${qargs[@]}" --modparam 'vireo_ring abort_timeout=15' \
	--cmd "$(cat "$VIREO_ROOT/tests/hostile/rng-guest.sh")
$calls"
hostile_stop

for n in "${HOSTILE_NAMES[@]}"; do
	case $n in
	clean) hostile_host_checks "$n" ;;
	*) hostile_host_checks "$n" fired ;;
	esac
done
exit 0
