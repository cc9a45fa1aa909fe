#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.12-pci-split
#
# vireo_blk beside the in-tree virtio_blk in one guest: the in-tree driver
# owns both disks first (vda, vdb); vireo-bind moves the second to vireo,
# which must not take the name vda (the in-tree disk's) and says so; both
# disks carry I/O at once; vireo-bind --back returns the disk with its data;
# vireo unloads and the in-tree disk carries on. On 6.12 the in-tree
# virtio-pci is built in and binds at boot (no initcall blacklist here).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-blk-coexist.XXXXXX")
trap 'rm -rf "$work"' EXIT
truncate -s 64M "$work/keep.img" "$work/move.img"

boot --timeout 600 --no-vireo --takeover none \
	--qemu -drive --qemu "file=$work/keep.img,if=none,id=dkeep,format=raw" \
	--qemu -drive --qemu "file=$work/move.img,if=none,id=dmove,format=raw" \
	--dev "blk,drive=dkeep,serial=vireo-keep" \
	--dev "blk,drive=dmove,serial=vireo-move" \
	--cmd "BLK_S_KEEP=vireo-keep BLK_S_MOVE=vireo-move . /tests/blk-coexist.sh"
exit 0
