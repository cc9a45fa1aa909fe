#!/usr/bin/env bash
# matrix: debug-pci-split 6.1-pci-packed
#
# vireo_blk on a device that misbehaves on purpose, through the real
# transport: seventeen vhost-user-blk disks in one guest, each served by its
# own hostile-blk back-end (tests/hostile/, docs/hostile.md) with one fault.
# A fault fires on the guest's O_DIRECT read of sector 2048; each case
# checks what a user would: the caller's error (EIO), exactly one kernel
# line of that device naming the fault, bounded time, and (the harness) no
# oops or warning, no leak on the debug kernel. Config values are checked
# at probe: the clamped or ignored value in sysfs, or the refused device.
# On the host afterwards: every back-end applied its rule and saw the
# driver keep the virtio rules (no "driver error" in its log).
#
# VIREO_HOSTILE_KNOWN_BAD: CASE/CHECK names that fail because of a known
# driver defect (reported as "SKIP needs fix: ..." when they fail); empty
# by default: every case is expected to pass.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/hostile/lib.sh
. "$VIREO_ROOT/tests/hostile/lib.sh"

known=${VIREO_HOSTILE_KNOWN_BAD-}

hostile_build || { tap_fail build "tests/hostile does not build"; exit 0; }
make -s -C "$VIREO_ROOT/tests/guest-src" OUT="$VIREO_ROOT/build/guest-bin" >&2

at='sector=2048 type=in'
if [ "$RING" = packed ]; then
	# The packed ring's own faults only (the rest is the split cells'):
	# a used id out of range, a second use of one id (on the packed ring
	# it lands where nothing is in flight), a used length too long, and
	# used flags that are neither available nor used for the wrap counter
	# (caught at the interrupt that brings them, not by the stall detector).
	hostile_disk clean 0x08 hx-clean
	hostile_disk bad-id 0x09 hx-bad-id -- "bad-id $at"
	hostile_disk dup-id 0x0b hx-dup-id -- "dup-id $at"
	hostile_disk len-long 0x0c hx-len-long -- "len-long $at"
	hostile_disk bad-flags 0x0d hx-bad-flags -- "bad-flags $at"
	calls="
hx_disks hx-clean hx-bad-id hx-dup-id hx-len-long hx-bad-flags
hx_packed
hx_clean clean hx-clean nofs
hx_eio bad-id hx-bad-id 'queue 0 .*used id [0-9]+ is not a buffer in flight'
hx_dead dup-id hx-dup-id 'queue 0 .*(used id [0-9]+ is not a buffer in flight|marked used with no buffer in flight)'
hx_eio len-long hx-len-long 'queue 0 .*used len [0-9]+ for id [0-9]+ exceeds'
hx_eio bad-flags hx-bad-flags 'queue 0 .*descriptor [0-9]+ has flags (0x)?[0-9a-f]+: not used for wrap counter'
"
	mapfile -t qargs < <(hostile_args)
	boot --name packed --timeout 600 "${qargs[@]}" \
		--cmd "$(cat "$VIREO_ROOT/tests/hostile/guest.sh")
$calls"
	hostile_stop
	for n in "${HOSTILE_NAMES[@]}"; do
		case $n in
		clean) hostile_host_checks "$n" ;;
		*) hostile_host_checks "$n" fired ;;
		esac
	done
	exit 0
fi

# name slot serial options -- rules; the guest call follows in calls.
hostile_disk clean 0x08 hx-clean
hostile_disk bad-id 0x09 hx-bad-id -- "bad-id $at"
hostile_disk stale-id 0x0a hx-stale-id -- "stale-id $at"
hostile_disk dup-id 0x0b hx-dup-id -- "dup-id $at"
hostile_disk len-long 0x0c hx-len-long -- "len-long $at"
hostile_disk len-short 0x0d hx-len-short -- "len-short $at"
hostile_disk status 0x0e hx-status -- "status=7 $at"
hostile_disk seg-max-0 0x0f hx-seg-max -- "config seg_max 0"
hostile_disk blk-size-odd 0x10 hx-blk-odd -- "config blk_size 1000"
hostile_disk blk-size-small 0x11 hx-blk-small -- "config blk_size 256"
hostile_disk size-max-small 0x12 hx-size-max -- "config size_max 512"
hostile_disk capacity-huge 0x13 hx-capacity -- "config capacity 0xffffffffffffffff"
hostile_disk storm 0x14 hx-storm -- "storm=50 every=20 $at"
hostile_disk reconnect 0x15 hx-reconnect chardev=reconnect=1 -- "disconnect reconnect $at"
hostile_disk gone 0x16 hx-gone -- "disconnect $at"
hostile_disk stall 0x17 hx-stall -- "stall $at"
hostile_disk unsettled 0x18 hx-unsettled

# The debug kernel is slow: ext4 on the clean disk is shown on the others.
nofs=
[ "$KERNEL" != debug ] || nofs=nofs
calls="
hx_disks hx-clean hx-bad-id hx-stale-id hx-dup-id hx-len-long hx-len-short hx-status hx-seg-max hx-blk-odd hx-blk-small hx-capacity hx-storm hx-reconnect hx-gone hx-stall hx-unsettled
hx_clean clean hx-clean $nofs
hx_eio bad-id hx-bad-id 'queue 0 .*used id [0-9]+ is not a buffer in flight'
hx_eio stale-id hx-stale-id 'queue 0 .*used id [0-9]+ is not a buffer in flight'
hx_dead dup-id hx-dup-id 'queue 0 .*(used id [0-9]+ is not a buffer in flight|used idx jumped)'
hx_eio len-long hx-len-long 'queue 0 .*used len [0-9]+ for id [0-9]+ exceeds'
hx_eio len-short hx-len-short 'device wrote [0-9]+ bytes of a [0-9]+-byte reply'
hx_eio status hx-status 'returned status 7'
hx_cfg seg-max-0 hx-seg-max 'ignoring seg_max 0' queue/max_segments 1
hx_cfg blk-size-odd hx-blk-odd 'ignoring blk_size 1000' queue/logical_block_size 512
hx_cfg blk-size-small hx-blk-small 'ignoring blk_size 256' queue/logical_block_size 512
hx_refused size-max-small 0x12 'size_max 512 is below the page size'
hx_cfg capacity-huge hx-capacity 'ignoring capacity 18446744073709551615' size $(((1 << 54) - 1))
hx_storm storm hx-storm $((16 << 11))
hx_unsettled unsettled hx-unsettled
hx_reconnect reconnect hx-reconnect
hx_stall_start gone hx-gone
hx_stall_start stall hx-stall
hx_stall gone
hx_stall stall
hx_stall_unbind gone
hx_stall_unbind stall
"
mapfile -t qargs < <(hostile_args)
boot --name main --timeout 900 "${qargs[@]}" --modparam 'vireo_blk stall_timeout=5' --modparam 'vireo_ring abort_timeout=30' \
	--cmd "HX_KNOWN_BAD='$known'
$(cat "$VIREO_ROOT/tests/hostile/guest.sh")
$calls"
hostile_stop

for n in "${HOSTILE_NAMES[@]}"; do
	case $n in
	clean | seg-max-0 | blk-size-* | size-max-small | capacity-huge | unsettled) hostile_host_checks "$n" ;;
	*) hostile_host_checks "$n" fired ;;
	esac
done
exit 0
