#!/usr/bin/env bash
# matrix: 6.12-pci-split
#
# POSIX ACLs (virtiofsd -o posix_acl: FUSE_POSIX_ACL, DONT_MASK and
# SETXATTR_EXT), as a user checks them with setfacl/getfacl on the host and
# processes of other uids in the guest (tests/guest/fs-acl.sh):
# - the mount works and INIT's line shows the three flags;
# - an ACL set on the host (u:1000:r on a root file of mode 0600) lets uid
#   1000 read the file in the guest and not uid 1001; a later host setfacl
#   for 1001 reaches the guest once its attributes time out (the cached ACL
#   is forgotten);
# - ACLs written in the guest (setxattr system.posix_acl_access/_default in
#   the xattr format) are the host's (getfacl), with the mode the mask
#   makes; an ACL equivalent to a mode leaves no ACL, only the mode; a
#   removed ACL is gone; a user's ACL on its sgid file of another group
#   drops the sgid bit on the host (FUSE_SETXATTR_ACL_KILL_SGID);
# - a default ACL of a host directory is inherited by a file and a
#   directory made in the guest under umask 022, exactly as the same calls
#   made locally on the host file system do (getfacl and mode); without a
#   default ACL the umask applies;
# - ACLs longer than a page (the in-tree FUSE client's limit, E2BIG past
#   it): on a tmpfs under the daemon's directory (ext4 here keeps 4 KiB of
#   xattrs at most), a host ACL of 700 users (5.6 KiB) is read whole in the
#   guest and grants its last user, and one of 600 users written in the
#   guest is the host's;
# - a second device on a virtiofsd without posix_acl behaves as before: no
#   POSIX_ACL in INIT, the guest checks the mode bits only.
#
# The test runs in a mount namespace of its own, so that the tmpfs is
# nobody else's and goes away with the test.
if [ -z "${VIREO_FS_ACL_NS:-}" ]; then
	VIREO_FS_ACL_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/host/fs-common.inc
. "$(dirname "$0")/fs-common.inc"

command -v setfacl >/dev/null || {
	tap_fail "$TEST" "setfacl is missing: apt-get install acl (scripts/install-deps)"
	exit 0
}

host_check() { # NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then tap_ok "host/$1"; else tap_fail "host/$1" "expected '$2', got '$3'"; fi
}
# acl FILE [-d]: the ACL as getfacl prints it, without the header, one line.
acl() { getfacl -c -n -p ${2:+"$2"} "$1" 2>&1 | grep . | tr '\n' ' ' | sed 's/ $//'; }
has_acl_xattr() { python3 -c 'import os, sys; print(int("system.posix_acl_access" in os.listxattr(sys.argv[1])))' "$1"; }

umask 022
S=$FS_SRC
echo secret >"$S/hacl"
echo later >"$S/later"
chmod 0600 "$S/hacl" "$S/later"
setfacl -m u:1000:r "$S/hacl" "$S/later"
for f in gacl eq rm; do echo data >"$S/$f"; done
setfacl -m u:1000:rw "$S/rm"
echo data >"$S/sg"
chown 1000:0 "$S/sg"
chmod 2770 "$S/sg"
mkdir "$S/dacl" "$S/dplain" "$S/gdef"
setfacl -d -m u:1000:rwx,g::r-x,o::--- "$S/dacl"
mkdir "$S/big"
mount -t tmpfs -o size=16m vireo-fs-acl "$S/big" || {
	tap_fail big-tmpfs "mount -t tmpfs on $S/big failed"
	exit 0
}
trap 'fs_daemon_stop; fs_daemon_more_stop; umount -l "$S/big"; rm -rf "$FS_WORK"' EXIT
echo bigsecret >"$S/big/hbig"
echo data >"$S/big/gbig"
chmod 0600 "$S/big/hbig" "$S/big/gbig"
setfacl -m "$(seq -f 'u:%g:r' 2000 2699 | paste -sd,)" "$S/big/hbig"
# The same calls on the same (host) file system, for comparison.
REF=$FS_WORK/ref
mkdir -p "$REF/dacl"
setfacl -d -m u:1000:rwx,g::r-x,o::--- "$REF/dacl"
python3 -c '
import os, sys
os.umask(0o022)
os.close(os.open(sys.argv[1] + "/file", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
os.mkdir(sys.argv[1] + "/dir", 0o777)' "$REF/dacl"

fs_daemon_start xattr posix_acl || exit 0
fs_daemon_more noacl xattr || exit 0
echo secret >"$FS_WORK/noacl/f"
chmod 0600 "$FS_WORK/noacl/f"
setfacl -m u:1000:r "$FS_WORK/noacl/f"
mapfile -t qa < <(fs_qemu_args myfs; fs_qemu_dev char1 "$FS_WORK/noacl.sock" noacl)
boot_bg "${qa[@]}" --timeout 900 --cmd '. /tests/fs-acl.sh'

step() { # MARKER
	if guest_console_wait "$1" 300; then return 0; fi
	tap_fail "marker-$1" "the guest never reported $1 (log: $GUEST_LOG)"
	return 1
}

if step FS-ACL-WRITTEN; then
	host_check guest-acl "user::rw- user:1001:rw- group::r-- mask::rw- other::---" "$(acl "$S/gacl")"
	host_check guest-acl-mode 660 "$(stat -c %a "$S/gacl")"
	host_check equivalent-acl-no-xattr "0 640" "$(has_acl_xattr "$S/eq") $(stat -c %a "$S/eq")"
	host_check removed-acl "0 user::rw- group::rw- other::r--" "$(has_acl_xattr "$S/rm") $(acl "$S/rm")"
	host_check kill-sgid "770 user::rwx group::rwx mask::rwx other::---" "$(stat -c %a "$S/sg") $(acl "$S/sg")"
	host_check guest-default-acl "user::rwx user:1000:r-x group::r-x mask::r-x other::---" "$(acl "$S/gdef" -d)"
	host_check inherit-file "$(stat -c %a "$REF/dacl/file") $(acl "$REF/dacl/file")" \
		"$(stat -c %a "$S/dacl/gfile") $(acl "$S/dacl/gfile")"
	host_check inherit-dir "$(stat -c %a "$REF/dacl/dir") $(acl "$REF/dacl/dir") / $(acl "$REF/dacl/dir" -d)" \
		"$(stat -c %a "$S/dacl/gdir") $(acl "$S/dacl/gdir") / $(acl "$S/dacl/gdir" -d)"
	host_check umask-no-default "644 755" "$(stat -c %a "$S/dplain/gfile") $(stat -c %a "$S/dplain/gdir")"
	host_check big-guest-acl "600 3000 3599 640" \
		"$(getfacl -c -n "$S/big/gbig" 2>/dev/null | grep -c '^user:[0-9]') $(getfacl -c -n "$S/big/gbig" 2>/dev/null | sed -n 's/^user:\([0-9]*\):r--$/\1/p' | sed -n '1p;$p' | paste -sd' ') $(stat -c %a "$S/big/gbig")"
fi
if step FS-ACL-CACHED; then
	setfacl -m u:1001:r "$S/later"
	touch "$S/go1"
fi
wait_guest 600
