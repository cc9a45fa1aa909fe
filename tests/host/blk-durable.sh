#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.12-pci-packed 6.12-mmio1-split
#
# Durability: the guest writes with O_DIRECT, with fsync, and a file on ext4
# with fsync, to a disk with QEMU's default cache (writeback: the guest must
# send flushes) and one with cache=none,aio=native; the moment it reports
# the writes done, QEMU is killed with SIGKILL. The host then reads the raw
# images: every acknowledged byte must be there (the ext4 file after
# e2fsck replays the journal).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-blk-durable.XXXXXX")
trap 'rm -rf "$work"' EXIT
truncate -s 64M "$work/wb.img" "$work/nc.img" "$work/fs.img"

# descendants PID: every process below PID.
descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		descendants "$c"
	done
}

rm -f "$VIREO_LOGDIR/$TEST-main.log"
boot_bg --name main --timeout 900 \
	--qemu -drive --qemu "file=$work/wb.img,if=none,id=dwb,format=raw" \
	--qemu -drive --qemu "file=$work/nc.img,if=none,id=dnc,format=raw,cache=none,aio=native" \
	--qemu -drive --qemu "file=$work/fs.img,if=none,id=dfs,format=raw" \
	--dev "blk,drive=dwb,serial=vireo-dur-wb" \
	--dev "blk,drive=dnc,serial=vireo-dur-nc" \
	--dev "blk,drive=dfs,serial=vireo-dur-fs" \
	--cmd "BLK_S_WB=vireo-dur-wb BLK_S_NOCACHE=vireo-dur-nc BLK_S_FS=vireo-dur-fs . /tests/blk-durable.sh"

killed=0
if guest_console_wait BLK-DURABLE-DONE 600; then
	qpid=$(for p in $(descendants "$GUEST_PID"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = qemu-system-x86 ] && echo "$p"
	done | head -n 1)
	if [ -n "$qpid" ] && kill -KILL "$qpid"; then
		killed=1
		tap_ok host-qemu-killed
	else
		tap_fail host-qemu-killed "no QEMU process below $GUEST_PID"
	fi
else
	tap_fail host-guest-done "the guest never reported its writes done (log: $GUEST_LOG)"
fi
if [ $killed = 0 ]; then
	stop_guest
	wait_guest 120
	exit 0
fi
# The guest cannot say VIREO-EXIT now: report its checks, and any kernel
# problem vireo-qemu found on the console before the kill.
end=$((SECONDS + 120))
while [ ! -e "$GUEST_LOG.rc" ] && [ $SECONDS -lt $end ]; do sleep 0.5; done
rm -f "$GUEST_QMP"
report_guest "$GUEST_NAME" "$GUEST_LOG" 0
if grep -a 'vireo-qemu: FAIL:' "$GUEST_LOG.out" | grep -qv 'without VIREO-EXIT'; then
	tap_fail console-clean "$(grep -a 'vireo-qemu: FAIL:' "$GUEST_LOG.out" | head -n 1)"
else
	tap_ok console-clean
fi

bio=$VIREO_ROOT/build/guest-bin/blk-io
for c in "writeback-o_direct $work/wb.img 0 8m 21" "writeback-fsync $work/wb.img 8m 8m 22" \
	"nocache-o_direct $work/nc.img 0 8m 23" "nocache-fsync $work/nc.img 8m 8m 24"; do
	# shellcheck disable=SC2086 # a command line
	set -- $c
	name=$1
	shift
	if out=$("$bio" verify "$@" 2>&1); then tap_ok "host-$name"; else tap_fail "host-$name" "$out"; fi
done

# ext4: replay the journal on a copy, as a reboot would, then read the file.
cp --sparse=always "$work/fs.img" "$work/fs-copy.img"
rc=0
e2fsck -fy "$work/fs-copy.img" >"$work/fsck.log" 2>&1 || rc=$?
if [ $rc -le 1 ]; then tap_ok host-ext4-recovers; else tap_fail host-ext4-recovers "e2fsck exit $rc: $(tail -n 3 "$work/fsck.log")"; fi
rm -f "$work/data.out"
debugfs -R "dump /data $work/data.out" "$work/fs-copy.img" >/dev/null 2>&1
if out=$("$bio" verify "$work/data.out" 0 8m 25 2>&1) && [ "$(stat -c %s "$work/data.out")" = $((8 << 20)) ]; then
	tap_ok host-ext4-fsync
else
	tap_fail host-ext4-fsync "the fsync'd file: $out"
fi
exit 0
