#!/usr/bin/env bash
# matrix: 6.1-pci-split
#
# The functional suite on a vireo_fs mount of a virtiofsd directory: files
# the host made read correctly in the guest (bytes, mode, owner, links, a
# directory of 1000 entries), and what the guest made is on the host with
# the right bytes, modes, owners, link counts, times, xattrs and names
# (renames over, across, exchange, noreplace; unlink of an open file;
# O_APPEND; truncate; mmap written and msync'ed; O_DIRECT; sparse files
# with SEEK_DATA/SEEK_HOLE and a punched hole; 4 KiB past 4 GiB; POSIX
# locks and flock between processes; 1000 entries; statfs; suspend and
# resume with a file open).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/host/fs-common.inc
. "$(dirname "$0")/fs-common.inc"

head -c 100000 /dev/urandom >"$FS_SRC/hostfile"
: >"$FS_SRC/hostmode"
chmod 640 "$FS_SRC/hostmode"
chown 1234:5678 "$FS_SRC/hostmode"
ln -s hostfile "$FS_SRC/hostlink"
mkdir "$FS_SRC/hostbig"
(cd "$FS_SRC/hostbig" && for i in $(seq 1000); do : >"f$i"; done)
sha=$(sha256sum "$FS_SRC/hostfile" | cut -d' ' -f1)
blocks=$(stat -f -c %b "$FS_SRC")
builtin=0
kernel_has_builtin virtiofs && builtin=1

fs_daemon_start xattr || exit 0
mapfile -t qa < <(fs_qemu_args myfs)
boot "${qa[@]}" --timeout 600 --cmd "HOST_SHA=$sha HOST_BLOCKS=$blocks HOST_VIRTIOFS_BUILTIN=$builtin . /tests/fs-core.sh"
fs_daemon_stop

# What the host directory holds now.
g=$FS_SRC/g
log=$VIREO_LOGDIR/$TEST-boot1.log
host_check() { # NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then tap_ok "host/$1"; else tap_fail "host/$1" "expected '$2', got '$3'"; fi
}
want=$(grep -aoE 'FS-SHA data [0-9a-f]+' "$log" | head -n 1 | cut -d' ' -f3)
host_check data-bytes "${want:-none}" "$(sha256sum "$g/data" 2>/dev/null | cut -d' ' -f1)"
host_check data-mode-owner "751 1001 1002 2" "$(stat -c '%a %u %g %h' "$g/data" 2>&1)"
host_check hardlink-same-inode "$(stat -c %i "$g/data" 2>&1)" "$(stat -c %i "$g/data.link" 2>&1)"
host_check data-mtime "$(date -d '2020-01-02 03:04:05' +%s)" "$(stat -c %Y "$g/data" 2>&1)"
host_check symlink "data" "$(readlink "$g/sym")"
host_check fifo "fifo" "$(stat -c %F "$g/fifo" 2>&1)"
host_check rename-over "one" "$(cat "$g/other/r3" 2>&1)"
host_check rename-gone "" "$(ls "$g" | grep -x -e r1 -e r2)"
host_check rename-exchange-noreplace "gone left right" "$(test -e "$g/x1" || echo gone) $(cat "$g/x2") $(cat "$g/x3")"
host_check unlinked-gone "" "$(ls "$g" | grep -x gone)"
host_check o-append "abc" "$(cat "$g/app")"
host_check truncate-size "300000" "$(stat -c %s "$g/trunc")"
host_check mmap-msync "MMAPPED" "$(dd if="$g/mm" bs=1 skip=4100 count=7 2>/dev/null)"
host_check odirect "$((8192 + 65536)) $(head -c 65536 /dev/zero | tr '\0' '\7' | md5sum | cut -c1-8)" \
	"$(stat -c %s "$g/direct") $(tail -c 65536 "$g/direct" | md5sum | cut -c1-8)"
host_check sparse-hole-punched "0" "$(python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.lseek(fd, 0, os.SEEK_DATA); print(1)
except OSError:
    print(0)' "$g/sparse")"
host_check xattr "hello none" "$(python3 -c '
import os, sys
v = os.getxattr(sys.argv[1], "user.vireo").decode()
g = "user.gone" in os.listxattr(sys.argv[1])
print(v, "present" if g else "none")' "$g/data" 2>&1)"
want=$(grep -aoE 'FS-MD5 huge [0-9a-f]+' "$log" | head -n 1 | cut -d' ' -f3)
host_check past-4g "5368713216 ${want:-none}" "$(stat -c %s "$g/huge") $(dd if="$g/huge" bs=4k skip=1310720 count=1 2>/dev/null | md5sum | cut -c1-32)"
host_check after-resume "after" "$(cat "$g/pm2" 2>&1)"
host_check copy-file-range "108192 $(dd if="$g/data" bs=4096 skip=1 2>/dev/null | head -c 100000 | md5sum | cut -c1-32)" \
	"$(stat -c %s "$g/cfr" 2>&1) $(tail -c 100000 "$g/cfr" 2>/dev/null | md5sum | cut -c1-32)"
host_check readdir-300 300 "$(ls "$g/big" | wc -l)"
