#!/usr/bin/env bash
# matrix: debug-pci-split
#
# Hot-unplug (QMP device_del) of a mounted virtio-fs device while the guest
# writes, fsyncs and reads on it: the callers get EIO, the vireo device goes,
# umount and unload work, no warning, no hang. The daemon has remote locks
# (-o posix_lock,flock): an F_SETLKW waiting (SETLK retried) on a lock of
# another guest process ends with the device.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/host/fs-common.inc
. "$(dirname "$0")/fs-common.inc"

fs_daemon_start posix_lock flock || exit 0
mapfile -t qa < <(fs_qemu_args myfs)
qa[${#qa[@]} - 1]+=",id=fs0"
boot_bg --hotplug "${qa[@]}" --timeout 400 --cmd '. /tests/fs-unplug.sh'
if guest_console_wait FS-IO-RUNNING 240; then
	if qmp 'device_del {"id": "fs0"}' --wait-event DEVICE_DELETED --data device=fs0 --timeout 90 >/dev/null; then
		tap_ok qmp-device-deleted
	else
		tap_fail qmp-device-deleted "QEMU never reported DEVICE_DELETED for fs0"
	fi
else
	tap_fail io-running-marker "the guest never reported running I/O (log: $GUEST_LOG)"
	stop_guest
fi
wait_guest 500
fs_daemon_stop
