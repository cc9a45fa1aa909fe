// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX ACLs, when the daemon granted FUSE_POSIX_ACL. The ACLs are the
 * host's: the xattrs system.posix_acl_access and system.posix_acl_default
 * in the POSIX ACL xattr format, read with GETXATTR and written with
 * SETXATTR or REMOVEXATTR. The VFS keeps the ACL read here in the inode and
 * the guest's permission check (generic_permission, SB_POSIXACL) uses it;
 * fresh attributes that show a change forget it (inode.c). The daemon
 * gives new nodes their default ACLs and applies the umask itself
 * (FUSE_DONT_MASK: dir.c sends the mode unmasked).
 */
#include <linux/fs.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <linux/slab.h>
#include <linux/xattr.h>

#include "fs.h"

/*
 * One GETXATTR reads an ACL of up to a page (511 entries in 4 KiB, more
 * than most local file systems store). A longer one (tmpfs, XFS or ext4
 * with ea_inode keep them) is read after asking its size, up to
 * XATTR_SIZE_MAX, what the VFS allows any xattr; the in-tree FUSE client
 * stops at a page.
 */
#define VF_ACL_FIRST_SIZE	PAGE_SIZE
/* Tries of a size that keeps changing on the host before giving up. */
#define VF_ACL_TRIES		4

static const char *acl_xattr_name(int type)
{
	return type == ACL_TYPE_ACCESS ? XATTR_NAME_POSIX_ACL_ACCESS :
					 XATTR_NAME_POSIX_ACL_DEFAULT;
}

/*
 * The ACL's bytes into *@bufp (kvfree), or an error: -ERANGE from the
 * daemon means the buffer was short, so ask the size (GETXATTR of size 0)
 * and read again into one that size; the host may change the ACL between
 * the two, hence a few tries.
 */
static ssize_t acl_read(struct inode *inode, const char *name, void **bufp)
{
	size_t size = VF_ACL_FIRST_SIZE;
	unsigned int tries;
	ssize_t n = -ERANGE;
	void *buf;

	for (tries = 0; tries < VF_ACL_TRIES && n == -ERANGE; tries++) {
		buf = kvmalloc(size, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		n = vf_getxattr(inode, name, buf, size);
		if (n != -ERANGE) {
			*bufp = buf;
			return n;
		}
		kvfree(buf);
		if (size == XATTR_SIZE_MAX)
			break;
		n = vf_getxattr(inode, name, NULL, 0);
		if (n < 0)
			return n;
		if (n == 0)
			return -ENODATA;	/* gone meanwhile */
		/* A size no larger than tried: it shrank meanwhile, again. */
		size = max_t(size_t, n, size);
		n = -ERANGE;
	}
	return n;
}

struct posix_acl *vf_get_acl(struct inode *inode, int type, bool rcu)
{
	struct vf_dev *dev = VF_DEV(inode);
	struct posix_acl *acl;
	void *buf = NULL;
	ssize_t n;

	if (rcu)
		return ERR_PTR(-ECHILD);
	if (!vf_posix_acl(inode))
		return NULL;
	n = acl_read(inode, acl_xattr_name(type), &buf);
	if (n == -ENODATA || n == -EOPNOTSUPP || n == 0) {
		acl = NULL;
	} else if (n == -ERANGE) {
		acl = ERR_PTR(-E2BIG);
	} else if (n < 0) {
		acl = ERR_PTR(n);
	} else {
		acl = posix_acl_from_xattr(&init_user_ns, buf, n);
		/* The daemon's bytes: a well-formed ACL, or none is used. */
		if (!IS_ERR_OR_NULL(acl) && posix_acl_valid(&init_user_ns, acl)) {
			posix_acl_release(acl);
			acl = ERR_PTR(-EINVAL);
		}
		if (IS_ERR(acl)) {
			pr_err_ratelimited("vireo_fs %s: node %llu: %s from the daemon is not a valid ACL (%ld): EIO\n",
					   dev->tag, VF_I(inode)->nodeid,
					   acl_xattr_name(type), PTR_ERR(acl));
			acl = ERR_PTR(-EIO);
		}
	}
	kvfree(buf);
	return acl;
}

/*
 * The VFS checked ownership and the ACL's form (set_posix_acl). The
 * daemon's setxattr makes the host derive the mode from an access ACL
 * (and keep no ACL equivalent to a mode), as a local file system does;
 * the guest computes the same mode (posix_acl_update_mode) to tell the
 * daemon to clear SGID where the caller may not keep it: virtiofsd sets
 * the ACL with the caller's credentials and without CAP_FSETID then.
 */
int vf_set_acl(vireo_idmap_t *idmap, VIREO_ACL_TARGET *target,
	       struct posix_acl *acl, int type)
{
	struct inode *inode = vireo_acl_inode(target);
	struct vf_dev *dev = VF_DEV(inode);
	const char *name = acl_xattr_name(type);
	struct posix_acl *equiv = acl;
	umode_t mode = inode->i_mode;
	bool kill_sgid;
	size_t size;
	void *buf;
	int err;

	if (!vf_posix_acl(inode))
		return -EOPNOTSUPP;
	if (type == ACL_TYPE_ACCESS && acl) {
		err = posix_acl_update_mode(idmap, inode, &mode, &equiv);
		if (err)
			return err;
	}
	kill_sgid = (inode->i_mode & S_ISGID) && !(mode & S_ISGID);

	if (acl) {
		size = posix_acl_xattr_size(acl->a_count);
		if (size > XATTR_SIZE_MAX)
			return -E2BIG;
		buf = kvmalloc(size, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		err = posix_acl_to_xattr(&init_user_ns, acl, buf, size);
		if (err >= 0)
			err = vf_setxattr(inode, name, buf, size, 0,
					  kill_sgid ? FUSE_SETXATTR_ACL_KILL_SGID : 0);
		kvfree(buf);
	} else {
		err = vf_setxattr(inode, name, NULL, 0, 0, 0);
		/* No ACL to remove is what was asked for. */
		if (err == -ENODATA)
			err = 0;
	}
	if (err)
		return err;

	forget_all_cached_acls(inode);
	if (mode != inode->i_mode) {
		spin_lock(&inode->i_lock);
		inode->i_mode = mode;
		spin_unlock(&inode->i_lock);
	}
	/*
	 * A daemon without SETXATTR_EXT cannot be asked to clear SGID with
	 * the ACL: a SETATTR of the mode does.
	 */
	if (kill_sgid && !(dev->conn.flags & FUSE_SETXATTR_EXT)) {
		struct iattr ia = { .ia_valid = ATTR_MODE, .ia_mode = mode };

		err = vf_setattr_inode(inode, &ia, NULL);
	}
	vf_invalidate_attr(inode);
	return err;
}
