#!/usr/bin/env bash
# matrix: 6.1-pci-packed
#
# Requests with more segments than the ring has descriptors (what the
# in-tree driver allows with indirect descriptors): a 4-entry ring (QEMU
# queue-size=4) whose device still takes 126 segments a request
# (seg-max-adjust=off keeps QEMU's seg_max at 126). vireo_blk's max_segments
# follows seg_max, and a 1 MiB O_DIRECT write from physically scattered
# pages (one segment per page) goes out in requests of up to 126 segments,
# each in one indirect table; the host reads the bytes back from the image.
# PCI only: over virtio-mmio QEMU offers 1024 entries whatever queue-size
# says.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-blk-long.XXXXXX")
trap 'rm -rf "$work"' EXIT
truncate -s 16M "$work/long.img"

# shellcheck disable=SC2016 # guest-side expansions
boot --fio --qemu -drive --qemu "file=$work/long.img,if=none,id=dlong,format=raw,cache=none" \
	--dev "blk,drive=dlong,serial=vireo-long,num-queues=1,queue-size=4,seg-max-adjust=off" --cmd '
	. /tests/blk-lib.sh
	d=$(blk_dev vireo-long) || exit 1
	check is-vireo blk_is_vireo "$d"
	vdev=$(basename "$(readlink -f /sys/block/$d/device)")
	stats=$(ls /sys/kernel/debug/vireo/$vdev/vq0-* | head -n 1)
	check_eq ring-size 4 sed -n "s/^size: //p" "$stats"
	check indirect-negotiated grep -q " indirect" "$stats"
	check_eq max-segments-is-seg-max 126 cat /sys/block/$d/queue/max_segments
	set -- $(scatter-file /tmp/buf 1)
	echo "scatter-file: $*"
	check pages-apart test "${4:--1}" -ge 0 -a "${4:-99}" -le 4
	fio --name=long --filename=/dev/$d --rw=write --bs=1M --size=1M \
		--direct=1 --ioengine=psync --iomem=mmapshared:/tmp/buf \
		--buffer_pattern=0x5a --number_ios=1 >/tmp/fio.out 2>&1
	check fio-write-1m sh -c "grep -q \"issued rwts: total=0,1,\" /tmp/fio.out"
	longest=$(sed -n "s/^longest_table: //p" "$stats")
	echo "longest indirect table: $longest entries, ring of 4"
	check requests-longer-than-ring test "${longest:-0}" -gt 4
	check_eq not-broken 0 sed -n "s/^broken: //p" "$stats"
	check unload vireo_unload'

python3 - "$work/long.img" <<'EOF' && tap_ok host-image-bytes || tap_fail host-image-bytes "the first MiB of the image is not all 0x5a"
import sys
with open(sys.argv[1], "rb") as f:
    data = f.read(1 << 20)
sys.exit(0 if data == b"\x5a" * (1 << 20) else 1)
EOF
exit 0
