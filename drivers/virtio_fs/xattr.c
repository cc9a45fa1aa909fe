// SPDX-License-Identifier: GPL-2.0
/*
 * Extended attributes: every name goes to the daemon as it is (one handler
 * with an empty prefix), as with the in-tree FUSE client. When the daemon
 * granted FUSE_POSIX_ACL, system.posix_acl_access and _default are the
 * kernel's (acl.c): on 6.1 through the VFS's ACL handlers, listed before
 * ours; since 6.2 the VFS sends those names to the ACL inode operations
 * itself. Without the grant they are names like any other.
 */
#include <linux/fs.h>
#include <linux/posix_acl_xattr.h>
#include <linux/slab.h>
#include <linux/xattr.h>

#include "fs.h"

/*
 * GETXATTR and LISTXATTR: with @size 0 the daemon answers the size needed
 * (fuse_getxattr_out), otherwise the bytes.
 */
static ssize_t xattr_query(struct inode *inode, u32 opcode, const char *name,
			   void *value, size_t size)
{
	struct vf_dev *dev = VF_DEV(inode);
	struct fuse_getxattr_in in = { .size = size };
	struct fuse_getxattr_out out;
	struct vf_args a = {
		.opcode = opcode,
		.nodeid = VF_I(inode)->nodeid,
		.nr_in = name ? 2 : 1,
		.in = { &in, name },
		.in_size = { sizeof(in), name ? strlen(name) + 1 : 0 },
	};
	int err;

	if (size > XATTR_SIZE_MAX) {
		size = XATTR_SIZE_MAX;
		in.size = size;
	}
	if (size) {
		a.out = value;
		a.out_size = size;
	} else {
		a.out = &out;
		a.out_size = sizeof(out);
		a.out_exact = true;
	}
	err = vf_send(dev, &a);
	if (err == -ENOSYS)
		return -EOPNOTSUPP;
	if (err)
		return err;
	if (!size)
		return min_t(u32, out.size, XATTR_SIZE_MAX);
	return a.out_got;
}

ssize_t vf_getxattr(struct inode *inode, const char *name, void *value,
		    size_t size)
{
	return xattr_query(inode, FUSE_GETXATTR, name, value, size);
}

static int vf_xattr_get(const struct xattr_handler *handler,
			struct dentry *dentry, struct inode *inode,
			const char *name, void *value, size_t size)
{
	return vf_getxattr(inode, name, value, size);
}

/*
 * SETXATTR (@value) or REMOVEXATTR (@value NULL). @setxattr_flags
 * (FUSE_SETXATTR_*) go only where the daemon granted FUSE_SETXATTR_EXT:
 * then every SETXATTR carries the whole fuse_setxattr_in, otherwise its
 * first two fields.
 */
int vf_setxattr(struct inode *inode, const char *name, const void *value,
		size_t size, int flags, u32 setxattr_flags)
{
	struct vf_dev *dev = VF_DEV(inode);
	struct fuse_setxattr_in in = { .size = size, .flags = flags };
	struct vf_args a = {
		.nodeid = VF_I(inode)->nodeid,
		.in = { &in, name, value },
	};
	int err;

	if (value) {
		a.opcode = FUSE_SETXATTR;
		a.nr_in = 3;
		if (dev->conn.flags & FUSE_SETXATTR_EXT) {
			in.setxattr_flags = setxattr_flags;
			a.in_size[0] = sizeof(in);
		} else {
			a.in_size[0] = FUSE_COMPAT_SETXATTR_IN_SIZE;
		}
		a.in_size[1] = strlen(name) + 1;
		a.in_size[2] = size;
	} else {
		a.opcode = FUSE_REMOVEXATTR;
		a.nr_in = 1;
		a.in[0] = name;
		a.in_size[0] = strlen(name) + 1;
	}
	err = vf_send(dev, &a);
	if (err == -ENOSYS)
		return -EOPNOTSUPP;
	if (!err)
		vf_invalidate_attr(inode);	/* ctime */
	return err;
}

static int vf_xattr_set(const struct xattr_handler *handler,
			vireo_idmap_t *idmap, struct dentry *dentry,
			struct inode *inode, const char *name,
			const void *value, size_t size, int flags)
{
	return vf_setxattr(inode, name, value, size, flags, 0);
}

ssize_t vf_listxattr(struct dentry *dentry, char *list, size_t size)
{
	ssize_t n = xattr_query(d_inode(dentry), FUSE_LISTXATTR, NULL, list,
				size);

	/* The list is NUL-separated names: it must end with a NUL. */
	if (n > 0 && size && list[n - 1] != '\0') {
		pr_err_ratelimited("vireo_fs %s: LISTXATTR reply does not end with a NUL: EIO\n",
				   VF_DEV(d_inode(dentry))->tag);
		return -EIO;
	}
	return n;
}

static const struct xattr_handler vf_xattr_handler = {
	.prefix = "",
	.get = vf_xattr_get,
	.set = vf_xattr_set,
};

const struct xattr_handler *vf_xattr_handlers[] = {
	&vf_xattr_handler,
	NULL,
};

/* FUSE_POSIX_ACL granted: the ACL names first (6.1), then every other. */
const struct xattr_handler *vf_acl_xattr_handlers[] = {
#if VIREO_ACL_XATTR_HANDLERS && IS_ENABLED(CONFIG_FS_POSIX_ACL)
	&posix_acl_access_xattr_handler,
	&posix_acl_default_xattr_handler,
#endif
	&vf_xattr_handler,
	NULL,
};
