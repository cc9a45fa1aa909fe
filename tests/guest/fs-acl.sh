# POSIX ACLs (tests/host/fs-acl.sh): the guest's side. myfs is on a
# virtiofsd with -o posix_acl, noacl on one without. The host checks what
# the guest wrote at FS-ACL-WRITTEN and changes an ACL after FS-ACL-CACHED
# (then the file go1 appears).
# shellcheck shell=sh
. /tests/fs-lib.sh

M=/mnt/fs
N=/mnt/noacl
fs_mount myfs $M || exit 1
fs_mount noacl $N || exit 1
init_flags() { # TAG
	dmesg | sed -n "s/.*vireo_fs $1: FUSE .* flags 0x\([0-9a-f]*\).*/\1/p" | tail -n 1
}
flags=$(init_flags myfs)
echo "FUSE flags of myfs 0x$flags, of noacl 0x$(init_flags noacl)"
# DONT_MASK (bit 6), POSIX_ACL (20), SETXATTR_EXT (29)
check_eq init-acl-flags "1 1 1" sh -c "echo \$(( (0x$flags >> 6) & 1 )) \$(( (0x$flags >> 20) & 1 )) \$(( (0x$flags >> 29) & 1 ))"

# The host's ACL u:1000:r on a root file of mode 0600.
check_eq host-acl-read "u::rw-,u:1000:r--,g::---,m::r--,o::---" fs-ops getacl $M/hacl access
check_eq host-acl-mode 640 stat -c %a $M/hacl
check_eq uid1000-reads secret fs-ops as 1000 read $M/hacl
check_eq uid1001-denied err=EACCES sh -c "fs-ops as 1001 read $M/hacl 2>/dev/null"
check_eq uid1000-no-write err=EACCES sh -c "fs-ops userwrite 1000 $M/hacl x 2>/dev/null"

# ACLs written here, checked on the host.
check setacl-access fs-ops setacl $M/gacl access u::rw,u:1001:rw,g::r,m::rw,o::-
check_eq setacl-mode 660 stat -c %a $M/gacl
check_eq setacl-read-back "u::rw-,u:1001:rw-,g::r--,m::rw-,o::---" fs-ops getacl $M/gacl access
check_eq uid1001-writes-by-acl "" fs-ops userwrite 1001 $M/gacl x
check setacl-equivalent fs-ops setacl $M/eq access u::rw,g::r,o::-
check_eq equivalent-mode 640 stat -c %a $M/eq
check_eq equivalent-no-acl none fs-ops getacl $M/eq access
check_eq rm-before "u::rw-,u:1000:rw-,g::r--,m::rw-,o::r--" fs-ops getacl $M/rm access
check removexattr-acl fs-ops removexattr $M/rm system.posix_acl_access
check_eq rm-after none fs-ops getacl $M/rm access
check_eq sgid-before 2770 stat -c %a $M/sg
check user-setacl-sgid fs-ops as 1000 setacl $M/sg access u::rwx,g::rwx,m::rwx,o::-
check_eq sgid-cleared 770 stat -c %a $M/sg
check_eq default-on-file err=EACCES sh -c "fs-ops setacl $M/eq default u::rw,g::r,o::- 2>/dev/null"
check setacl-default fs-ops setacl $M/gdef default u::rwx,u:1000:rx,g::rx,m::rx,o::-
check_eq default-read-back "u::rwx,u:1000:r-x,g::r-x,m::r-x,o::---" fs-ops getacl $M/gdef default

# The host's default ACL, inherited under umask 022; the umask without one.
check_eq host-default-acl "u::rwx,u:1000:rwx,g::r-x,m::rwx,o::---" fs-ops getacl $M/dacl default
check_eq inherit-file-create mode=0660 fs-ops create $M/dacl/gfile 0666 022
check_eq inherit-file-acl "u::rw-,u:1000:rwx,g::r-x,m::rw-,o::---" fs-ops getacl $M/dacl/gfile access
check_eq inherit-dir-mkdir mode=0770 fs-ops mkdir $M/dacl/gdir 0777 022
check_eq inherit-dir-default "u::rwx,u:1000:rwx,g::r-x,m::rwx,o::---" fs-ops getacl $M/dacl/gdir default
check_eq umask-file mode=0644 fs-ops create $M/dplain/gfile 0666 022
check_eq umask-dir mode=0755 fs-ops mkdir $M/dplain/gdir 0777 022
check_eq umask-no-acl none fs-ops getacl $M/dplain/gfile access
# Longer than a page: the host's 700 users (5.6 KiB), then 600 written here.
count_users() { fs-ops getacl "$1" access | tr ',' '\n' | grep -c '^u:[0-9]'; }
check_eq big-host-acl-entries 700 count_users $M/big/hbig
check_eq big-last-user-reads bigsecret fs-ops as 2699 read $M/big/hbig
check_eq big-other-denied err=EACCES sh -c "fs-ops as 1001 read $M/big/hbig 2>/dev/null"
big=u::rw
i=3000
while [ $i -lt 3600 ]; do big="$big,u:$i:r"; i=$((i + 1)); done
check setacl-big fs-ops setacl $M/big/gbig access "$big,g::-,m::r,o::-"
check_eq setacl-big-read-back 600 count_users $M/big/gbig
check_eq big-guest-user-reads data fs-ops as 3599 read $M/big/gbig
echo FS-ACL-WRITTEN

# The cached ACL (1001 denied) is forgotten once fresh attributes show the
# host's change (virtiofsd's default cache=auto: attributes for 1 s).
check_eq later-1001-denied err=EACCES sh -c "fs-ops as 1001 read $M/later 2>/dev/null"
echo FS-ACL-CACHED
wait_for 300 test -e $M/go1
check host-go1 test -e $M/go1
sleep 2
check_eq later-1001-reads later fs-ops as 1001 read $M/later

# Without posix_acl: as before.
nflags=$(init_flags noacl)
check_eq noacl-init-flags "0 0 0" sh -c "echo \$(( (0x$nflags >> 6) & 1 )) \$(( (0x$nflags >> 20) & 1 )) \$(( (0x$nflags >> 29) & 1 ))"
check_eq noacl-mode-bits-only err=EACCES sh -c "fs-ops as 1000 read $N/f 2>/dev/null"
check_eq noacl-umask mode=0644 fs-ops create $N/g 0666 022
case $(uname -r) in
6.1.*)
	# The VFS of 6.1 hands the names to the file system: passed through.
	check_eq noacl-xattr-passed "u::rw-,u:1000:r--,g::---,m::r--,o::---" fs-ops getacl $N/f access
	;;
*)
	# Since 6.2 the VFS answers them itself on a file system without ACLs.
	check_eq noacl-xattr-refused err=EOPNOTSUPP sh -c "fs-ops getacl $N/f access 2>/dev/null"
	;;
esac

check_eq no-oops 0 sh -c "dmesg | grep -cE 'BUG:|WARNING:|Oops'"
check umount umount $M
check umount-noacl umount $N
check unload rmmod vireo_fs
