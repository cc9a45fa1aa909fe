#!/usr/bin/env bash
# matrix: 6.1-pci-packed
#
# vireo_net on a network device that misbehaves on purpose, through the
# real transport: one virtio-net device per case in one guest, each with a
# vhost-user netdev served by its own hostile-net back-end
# (tests/hostile/hostile-net.c, docs/hostile.md), a tiny host at
# 10.99.SLOT.2 that answers ARP and ping, with one fault rule. Each case
# pings it and checks what a user would: how many replies came back, the
# interface's error counters (/sys/class/net/IF/statistics), exactly one
# kernel line of that device naming the fault, and that the interface
# works on after a dropped frame. Faults that break a queue (a used length
# or id out of range) or stall it (for abort_timeout) make the driver give
# up on the device: one line (a stall: the timeout's and the giving up),
# the carrier off, the sender's blocked socket freed, no hang: at the end
# rmmod vireo_net returns with every interface gone, and the harness
# fails the run on any oops or warning. On the host afterwards: every
# back-end applied its rule and saw the driver keep the virtio rules (no
# "driver error" in its log: it checks every chain the driver makes
# available, and every transmit header).
#
# VIREO_HOSTILE_KNOWN_BAD: CASE/CHECK names that fail because of a known
# driver defect (reported as "SKIP needs fix: ..."); empty by default.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/hostile/lib.sh
. "$VIREO_ROOT/tests/hostile/lib.sh"

known=${VIREO_HOSTILE_KNOWN_BAD-}
hostile_build || { tap_fail build "tests/hostile does not build"; exit 0; }
make -s -C "$VIREO_ROOT/tests/guest-src" OUT="$VIREO_ROOT/build/guest-bin" >&2

rx='frame=icmp after=1'
tx='queue=tx after=3'
# name slot -- rule; the guest call follows in calls.
hostile_net clean 0x08
hostile_net len-short 0x09 -- "len-short $rx"
hostile_net num-buffers-0 0x0a -- "num-buffers=0 $rx"
hostile_net num-buffers-big 0x0b -- "num-buffers=65535 $rx"
hostile_net num-buffers-missing 0x0c -- "num-buffers=3 $rx"
hostile_net gso 0x0d -- "gso $rx"
hostile_net csum 0x0e -- "csum $rx"
hostile_net rx-len-long 0x0f -- "len-long $rx"
hostile_net rx-bad-id 0x10 -- "bad-id $rx"
hostile_net rx-stale-id 0x11 -- "stale-id $rx"
hostile_net tx-bad-id 0x12 -- "bad-id $tx"
hostile_net tx-len-long 0x13 -- "len-long $tx"
hostile_net tx-stall 0x14 -- "stall $tx"

calls="
hn_interfaces 0x08 0x09 0x0a 0x0b 0x0c 0x0d 0x0e 0x0f 0x10 0x11 0x12 0x13 0x14
hn_clean clean 0x08
hn_drop len-short 0x09 rx_length_errors 'dropped a frame: shorter than header'
hn_drop num-buffers-0 0x0a rx_length_errors 'dropped a frame: bad num_buffers \\(0, '
hn_drop num-buffers-big 0x0b rx_length_errors 'dropped a frame: bad num_buffers \\(65535, '
hn_drop num-buffers-missing 0x0c rx_length_errors 'dropped a frame: buffers missing, of num_buffers \\(2, 3\\)'
hn_drop gso 0x0d rx_frame_errors 'bad header \\(flags 0x0, gso_type 0x1, gso_size 1000\\)'
hn_drop csum 0x0e rx_frame_errors 'bad header \\(flags 0x1, gso_type 0x0'
hn_broken rx-len-long 0x0f 'queue 0 .*used len [0-9]+ for id [0-9]+ exceeds'
hn_broken rx-bad-id 0x10 'queue 0 .*used id [0-9]+ is not a buffer in flight'
hn_broken rx-stale-id 0x11 'queue 0 .*used id [0-9]+ is not a buffer in flight'
hn_broken tx-bad-id 0x12 'queue 1 .*used id [0-9]+ is not a buffer in flight'
hn_broken tx-len-long 0x13 'queue 1 .*used len 64 for id [0-9]+ exceeds'
hn_broken tx-stall 0x14 'tx0 timed out: |tx0: the device has sent nothing for [0-9]+ ms: resetting the device' flood
hn_unload
"
mapfile -t qargs < <(hostile_args)
# abort_timeout: the stalled transmit queue is given up on after 20 s.
boot --name main --timeout 900 "${qargs[@]}" --modparam 'vireo_ring abort_timeout=20' \
	--cmd "HN_KNOWN_BAD='$known'
$(cat "$VIREO_ROOT/tests/hostile/net-guest.sh")
$calls"
hostile_stop

for n in "${HOSTILE_NAMES[@]}"; do
	case $n in
	clean) hostile_host_checks "$n" ;;
	*) hostile_host_checks "$n" fired ;;
	esac
done
exit 0
