#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.12-pci-packed debug-pci-split
#
# Hot-unplug (QMP device_del) of a vireo_blk disk under fio load: the
# in-flight and new requests fail, fio sees errors, a file descriptor held
# open across the unplug reads errors and closes, the disk and the vireo
# device go away, QEMU completes the unplug, a second disk keeps working and
# every module unloads afterwards (no warning, no leak on the debug kernel).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

"$VIREO_ROOT/scripts/build-fio" >/dev/null || { tap_fail build-fio "scripts/build-fio failed"; exit 0; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-blk-unplug.XXXXXX")
trap 'rm -rf "$work"' EXIT
truncate -s 64M "$work/gone.img" "$work/stay.img"

rm -f "$VIREO_LOGDIR/$TEST-main.log"
boot_bg --name main --timeout 900 --hotplug --fio \
	--qemu -drive --qemu "file=$work/gone.img,if=none,id=dgone,format=raw" \
	--qemu -drive --qemu "file=$work/stay.img,if=none,id=dstay,format=raw" \
	--dev "blk,drive=dgone,id=gone0,serial=vireo-unplug-gone" \
	--dev "blk,drive=dstay,id=stay0,serial=vireo-unplug-stay" \
	--cmd "BLK_S_GONE=vireo-unplug-gone BLK_S_STAY=vireo-unplug-stay . /tests/blk-unplug.sh"

if guest_console_wait BLK-UNPLUG-NOW 600; then
	if qmp 'device_del {"id": "gone0"}' --wait-event DEVICE_DELETED --data device=gone0 --timeout 120 >/dev/null; then
		tap_ok host-device-deleted
	else
		tap_fail host-device-deleted "QEMU never reported DEVICE_DELETED for gone0"
	fi
else
	tap_fail host-unplug "the guest never got its load going (log: $GUEST_LOG)"
	stop_guest
fi
wait_guest 900
exit 0
