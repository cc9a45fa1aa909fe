#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.12-pci-packed debug-pci-split
#
# A live device that stops answering: bus mastering switched off and on
# again in the guest's PCI config space (what `setpci COMMAND=` does) makes
# QEMU 7.2 drop DRIVER_OK and stop serving the queues. With vireo_ring's
# abort_timeout=8 the driver resets the device after 8 s and fails the
# outstanding and new I/O (EIO, never a hang), once logged; unbind, suspend
# and rmmod issued meanwhile finish; a bind brings the disk back. An
# entropy device stopped the same way gives its blocked reader EIO.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

[ "${TRANSPORT%%-*}" = pci ] || { tap_skip stall "bus mastering is a PCI matter"; exit 0; }
work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-stall.XXXXXX")
trap 'rm -rf "$work"' EXIT
truncate -s 16M "$work/d.img"

boot --timeout 1200 --modparam "vireo_ring abort_timeout=8" \
	--modparam "vireo_blk stall_timeout=2" \
	--qemu -drive --qemu "file=$work/d.img,if=none,id=dst,format=raw" \
	--dev "blk,drive=dst,serial=vireo-stall" --dev rng \
	--cmd "STALL_SERIAL=vireo-stall . /tests/stall.sh"
exit 0
