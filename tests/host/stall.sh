#!/usr/bin/env bash
# matrix: debug-pci-split
#
# A live device that stops answering, as the guest sees it: QEMU's write
# throttling at 64 KiB/s holds an 8 MiB write far longer than vireo_ring's
# abort_timeout, set to 8 s once the disk is up (a partition scan on a
# host loaded with other guests once took longer). The driver then resets the device (QEMU drains, so the
# held write finishes or fails) and fails the disk's I/O: logged once, the
# writer answered (EIO or done, never a hang), new I/O gets EIO; unbind,
# suspend and rmmod of the transport issued meanwhile finish; a bind brings
# the disk back. An entropy device giving 64 bytes per 10 minutes gives its
# blocked reader EIO after the bound.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-stall.XXXXXX")
trap 'rm -rf "$work"' EXIT
truncate -s 16M "$work/d.img"

boot --timeout 1200 --modparam "vireo_blk stall_timeout=2" \
	--qemu -drive --qemu "file=$work/d.img,if=none,id=dst,format=raw,throttling.bps-write=65536" \
	--dev "blk,drive=dst,serial=vireo-stall" --dev rng,max-bytes=64,period=600000 \
	--cmd "STALL_SERIAL=vireo-stall STALL_ABORT=8 . /tests/stall.sh"
exit 0
