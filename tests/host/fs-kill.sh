#!/usr/bin/env bash
# matrix: 6.12-mmio2-packed
#
# virtiofsd killed (by the PID this test started, with its sandboxed child)
# while the guest writes, fsyncs and reads on the mount. QEMU 7.2 tells the
# guest nothing, so vireo_fs notices through vireo_ring's abort_timeout
# (5 s here): one log line, the device reset, every caller gets EIO or
# ENOTCONN, new calls fail at once, umount and unload work, no warning.
# The daemon runs with -o writeback: the writer's bytes are dirty pages
# until each fsync, and a file with dirty pages at the kill gets the
# error at its fsync.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/host/fs-common.inc
. "$(dirname "$0")/fs-common.inc"

fs_daemon_start writeback || exit 0
mapfile -t qa < <(fs_qemu_args myfs)
boot_bg "${qa[@]}" --modparam 'vireo_ring abort_timeout=5' --timeout 400 \
	--cmd '. /tests/fs-kill.sh'
if guest_console_wait FS-IO-RUNNING 240; then
	fs_daemon_kill KILL
	sleep 1
	if [ -z "$(for p in $(fs_daemon_pids); do fs_pid_alive "$p" && echo "$p"; done)" ]; then
		tap_ok virtiofsd-killed
	else
		tap_fail virtiofsd-killed "the daemon still runs"
	fi
else
	tap_fail io-running-marker "the guest never reported running I/O (log: $GUEST_LOG)"
	stop_guest
fi
wait_guest 500
fs_daemon_stop
