#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.12-pci-packed 6.12-mmio2-split
#
# vireo_blk under fio: random 4 KiB writes at iodepth 32 with crc32c verify
# on disks of 1, 2 and 4 request queues (QEMU num-queues) in a 4-CPU guest,
# one job per CPU so that every queue carries I/O (vireo_ring debugfs counts
# per queue) and the queues cover every CPU once; with poll_queues=1, the
# same through io_uring polled I/O (--hipri) on the queue without
# interrupts; and on a 16-entry ring without indirect tables, which fills
# over and over. (A kernel with 2 CPUs, like the debug kernel, must give the
# 4-queue disk 2 queues.)
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

"$VIREO_ROOT/scripts/build-fio" >/dev/null || { tap_fail build-fio "scripts/build-fio failed"; exit 0; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-blk-fio.XXXXXX")
trap 'rm -rf "$work"' EXIT
args=()
disks=
for q in 1 2 4; do
	truncate -s 64M "$work/q$q.img"
	args+=(--qemu -drive --qemu "file=$work/q$q.img,if=none,id=dq$q,format=raw,cache=none,aio=threads")
	args+=(--dev "blk,drive=dq$q,serial=vireo-fio-q$q,num-queues=$q")
	disks+=" vireo-fio-q$q:$q"
done
# A ring that fills: 16 descriptors, no indirect tables, 3 per request, so
# at most 5 of fio's 128 requests fit; the rest wait for room (the stopped
# hardware queue and its restart). Over virtio-mmio QEMU offers 1024
# entries whatever queue-size says, and the driver takes them all.
if [ "${TRANSPORT%%[0-9]*}" != mmio ]; then
	truncate -s 64M "$work/full.img"
	args+=(--qemu -drive --qemu "file=$work/full.img,if=none,id=dfull,format=raw,cache=none,aio=threads")
	args+=(--dev "blk,drive=dfull,serial=vireo-fio-full,num-queues=1,queue-size=16,indirect_desc=off")
	disks+=" vireo-fio-full:1"
fi

boot --timeout 1200 --smp 4 --fio --modparam "vireo_blk poll_queues=1" "${args[@]}" \
	--cmd "BLK_DISKS='$disks' BLK_POLL=1 . /tests/blk-fio.sh"
exit 0
