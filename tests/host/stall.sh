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
# blocked reader EIO after the bound. A second throttled disk is unplugged
# (QMP device_del behind its pcie-root-port) while its writer is held: QEMU
# reports DEVICE_DELETED, the guest's removal finishes after the bound, the
# writer and a held descriptor get errors.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-stall.XXXXXX")
trap 'rm -rf "$work"' EXIT
truncate -s 16M "$work/d.img"

truncate -s 16M "$work/u.img"

rm -f "$VIREO_LOGDIR/$TEST-main.log"
boot_bg --name main --timeout 1200 --hotplug --modparam "vireo_blk stall_timeout=2" \
	--qemu -drive --qemu "file=$work/d.img,if=none,id=dst,format=raw,throttling.bps-write=65536" \
	--qemu -drive --qemu "file=$work/u.img,if=none,id=dun,format=raw,throttling.bps-write=65536" \
	--dev "blk,drive=dst,serial=vireo-stall" --dev rng,max-bytes=64,period=600000 \
	--dev "blk,drive=dun,id=unplug0,serial=vireo-stall-unplug" \
	--cmd "STALL_SERIAL=vireo-stall STALL_UNPLUG=vireo-stall-unplug STALL_ABORT=8 . /tests/stall.sh"

# Phase 5 of the guest: the unplug, while that disk's writer is held.
if guest_console_wait STALL-UNPLUG-NOW 900; then
	if qmp 'device_del {"id": "unplug0"}' --wait-event DEVICE_DELETED --data device=unplug0 --timeout 180 >/dev/null; then
		tap_ok unplug/host-device-deleted
	else
		tap_fail unplug/host-device-deleted "QEMU never reported DEVICE_DELETED for unplug0 (log: $GUEST_LOG)"
	fi
else
	tap_fail unplug/host "the guest never got to the unplug (log: $GUEST_LOG)"
	stop_guest
fi
wait_guest 1200
exit 0
