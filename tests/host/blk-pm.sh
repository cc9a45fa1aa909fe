#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.12-mmio2-split
#
# vireo_blk across suspend and resume, and the stall detector.
#  - Suspend/resume (pm_test=devices: every device's suspend and resume
#    callbacks, so vireo_blk's freeze and restore, without firmware) with
#    ext4 mounted and fio verify writing: fio and the files survive; the
#    cache mode the guest chose survives the device reset (QMP query-block).
#  - A backend that stops answering (a blkdebug breakpoint on the write):
#    with stall_timeout=2 the guest logs the request once, with disk,
#    operation, sector and age, keeps waiting, and the write completes with
#    the right bytes when the backend resumes.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

"$VIREO_ROOT/scripts/build-fio" >/dev/null || { tap_fail build-fio "scripts/build-fio failed"; exit 0; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-blk-pm.XXXXXX")
trap 'rm -rf "$work"' EXIT
truncate -s 64M "$work/pm.img" "$work/stall.img"

hmp() { # HMP command through QMP; prints its output
	qmp "human-monitor-command $(python3 -c 'import json, sys; print(json.dumps({"command-line": sys.argv[1]}))' "$1")" |
		python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["return"].strip())'
}
resize() { # DRIVE BYTES
	qmp "block_resize {\"device\": \"$1\", \"size\": $2}" >/dev/null
}

rm -f "$VIREO_LOGDIR/$TEST-main.log"
boot_bg --name main --timeout 1200 --fio --modparam "vireo_blk stall_timeout=2" \
	--qemu -drive --qemu "file=$work/pm.img,if=none,id=dpm,format=raw" \
	--qemu -drive --qemu "if=none,id=dstall,format=raw,file.driver=blkdebug,file.image.driver=file,file.image.filename=$work/stall.img" \
	--dev "blk,drive=dpm,serial=vireo-pm" \
	--dev "blk,drive=dstall,serial=vireo-stall" \
	--cmd "BLK_S_PM=vireo-pm BLK_S_STALL=vireo-stall . /tests/blk-pm.sh"

grown=$(((64 << 20) + (1 << 20)))
if guest_console_wait BLK-PM-RESUMED 900; then
	wb=$(qmp query-block | python3 -c '
import json, sys
for dev in json.loads(sys.stdin.readline())["return"]:
    if dev["device"] == "dpm":
        print(dev["inserted"]["cache"]["writeback"])')
	if [ "$wb" = False ]; then
		tap_ok host-cache-mode-restored
	else
		tap_fail host-cache-mode-restored "QEMU's drive dpm: writeback=$wb after resume; the guest had chosen write through"
	fi
	resize dpm $grown || tap_fail host-resize-dpm "block_resize failed"
fi
if guest_console_wait BLK-STALL-READY 600; then
	out=$(hmp 'qemu-io dstall "break write_aio stall1"')
	[ -z "$out" ] && tap_ok host-break-set || tap_fail host-break-set "qemu-io: $out"
	resize dstall $grown || tap_fail host-resize-dstall "block_resize failed"
	if guest_console_wait BLK-STALL-LOGGED 600; then
		# Several stall periods go by: the guest must log only once.
		sleep 6
		out=$(hmp 'qemu-io dstall "resume stall1"')
		[ -z "$out" ] && tap_ok host-resumed || tap_fail host-resumed "qemu-io: $out"
	else
		hmp 'qemu-io dstall "resume stall1"' >/dev/null
	fi
else
	stop_guest
fi
wait_guest 1200
exit 0
