#!/usr/bin/env bash
# matrix: 6.12-pci-split
#
# The users' command on a kernel whose in-tree virtiofs is built in:
# util-linux's `mount -t virtiofs TAG DIR` through /sbin/mount.virtiofs (as
# make install puts it) reaches vireo_fs for a vireo device's tag and the
# in-tree virtiofs for the others. Three devices on three virtiofsd at
# once (two vireo, one in-tree), a tag mounted twice (ro the second time),
# an fstab line; every file lands in its own daemon's directory.
# The harness's /bin/mount is busybox's, which runs no mount.TYPE helper:
# util-linux's mount and its libraries come in one more initramfs segment.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/host/fs-common.inc
. "$(dirname "$0")/fs-common.inc"

# The helper as make install installs it, util-linux's mount beside it.
inst=$FS_WORK/inst
stage=$FS_WORK/stage
"$VIREO_ROOT/packaging/vireo-files" install "$inst" >/dev/null
mkdir -p "$stage/sbin" "$stage/usr/bin"
install -m 755 "$inst/sbin/mount.virtiofs" "$stage/sbin/mount.virtiofs"
cp /usr/bin/mount "$stage/usr/bin/mount"
for l in $(ldd /usr/bin/mount | grep -oE '/[^ ]+'); do
	mkdir -p "$stage$(dirname "$l")"
	cp -L "$l" "$stage$l"
done
(cd "$stage" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$FS_WORK/extra.cpio.gz"

fs_daemon_start || exit 0
fs_daemon_more b debug || exit 0
fs_daemon_more c || exit 0
mapfile -t qa < <(fs_qemu_mem
	fs_qemu_dev char0 "$FS_SOCK" fsa
	fs_qemu_dev char1 "$FS_WORK/b.sock" fsb
	fs_qemu_dev char2 "$FS_WORK/c.sock" fsc)
VIREO_EXTRA_INITRD=$FS_WORK/extra.cpio.gz boot "${qa[@]}" --no-vireo --takeover none \
	--timeout 600 --cmd '. /tests/fs-mount.sh'
fs_daemon_stop
fs_daemon_more_stop

host_check() { # NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then tap_ok "host/$1"; else tap_fail "host/$1" "expected '$2', got '$3'"; fi
}
want=$(grep -aoE 'FS-SHA big [0-9a-f]+' "$VIREO_LOGDIR/$TEST-boot1.log" | head -n 1 | cut -d' ' -f3)
sums() { for d in "$@"; do sha256sum "$d/big" 2>/dev/null | cut -c1-16 || echo none; done | xargs; }
w=${want:-none}
host_check big-in-each-dir "${w:0:16} ${w:0:16} ${w:0:16}" "$(sums "$FS_SRC" "$FS_WORK/b" "$FS_WORK/c")"
host_check files-in-own-dir "A B C" "$(cat "$FS_SRC/fromA" "$FS_WORK/b/fromB" "$FS_WORK/c/fromC" 2>&1 | xargs)"
host_check no-file-elsewhere "$(printf '%s\n' big fromA rw) $(printf '%s\n' big cfr fromB) $(printf '%s\n' big fromC)" \
	"$(ls "$FS_SRC") $(ls "$FS_WORK/b") $(ls "$FS_WORK/c")"
# reply_to OPCODE: how fsb's daemon answered the first OPCODE request.
reply_to() {
	local dlog=$VIREO_LOGDIR/$TEST-virtiofsd-b.log u
	u=$(grep -aoE "unique: [0-9]+, opcode: $1 " "$dlog" | head -n 1 | grep -oE '[0-9]+' | head -n 1)
	[ -n "$u" ] || { echo "no $1 request"; return; }
	grep -aoE "unique: $u, (success|error: [^,]*)" "$dlog" | head -n 1 | sed 's/^unique: [0-9]*, //'
}
host_check daemon-got-syncfs success "$(reply_to SYNCFS)"
host_check daemon-got-copy-file-range success "$(reply_to COPY_FILE_RANGE)"
host_check copy-range-bytes "$(head -c 1000 "$FS_WORK/b/big" | md5sum)" "$(md5sum <"$FS_WORK/b/cfr" 2>&1)"
host_check ro-write-not-done x "$(cat "$FS_SRC/rw" 2>&1)"
exit 0
