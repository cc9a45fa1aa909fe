// SPDX-License-Identifier: GPL-2.0
/*
 * Inodes and their attributes. An inode is keyed by the daemon's node id;
 * its attributes are the daemon's, cached for as long as the daemon said
 * (attr_valid) and fetched again (GETATTR) after that.
 */
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/posix_acl.h>
#include <linux/uidgid.h>

#include "fs.h"

/* A timeout of the daemon's (sec, nsec) as an absolute jiffies value. */
u64 vf_timeout(u64 sec, u32 nsec)
{
	struct timespec64 ts = {
		.tv_sec = min_t(u64, sec, (u64)(MAX_JIFFY_OFFSET / HZ) - 1),
		.tv_nsec = min_t(u32, nsec, NSEC_PER_SEC - 1),
	};

	if (!sec && !nsec)
		return get_jiffies_64();
	return get_jiffies_64() + timespec64_to_jiffies(&ts);
}

void vf_invalidate_attr(struct inode *inode)
{
	VF_I(inode)->attr_expire = 0;
}

/*
 * A reply that gives a known node another file type (the host replaced the
 * object under the same node id, or the daemon is wrong): one line, and the
 * inode is marked bad, so every later call on it fails with EIO.
 */
static bool attr_type_changed(struct inode *inode, struct fuse_attr *attr)
{
	if ((inode->i_mode & S_IFMT) == (attr->mode & S_IFMT))
		return false;
	pr_warn_ratelimited("vireo_fs: node %llu changed its type (0%o to 0%o): marking it bad\n",
			    VF_I(inode)->nodeid, inode->i_mode & S_IFMT,
			    attr->mode & S_IFMT);
	make_bad_inode(inode);
	return true;
}

/* The attributes of a reply into the inode. Under the inode's i_lock. */
static void set_attributes(struct inode *inode, struct fuse_attr *attr)
{
	struct timespec64 at, mt, ct;

	inode->i_ino = attr->ino;
	inode->i_mode = (inode->i_mode & S_IFMT) | (attr->mode & 07777);
	set_nlink(inode, attr->nlink);
	inode->i_uid = make_kuid(&init_user_ns, attr->uid);
	inode->i_gid = make_kgid(&init_user_ns, attr->gid);
	inode->i_blocks = attr->blocks;
	at.tv_sec = attr->atime;
	at.tv_nsec = min_t(u32, attr->atimensec, NSEC_PER_SEC - 1);
	mt.tv_sec = attr->mtime;
	mt.tv_nsec = min_t(u32, attr->mtimensec, NSEC_PER_SEC - 1);
	ct.tv_sec = attr->ctime;
	ct.tv_nsec = min_t(u32, attr->ctimensec, NSEC_PER_SEC - 1);
	vireo_inode_set_amtime(inode, at, mt);
	inode_set_ctime_to_ts(inode, ct);
	if (attr->blksize && is_power_of_2(attr->blksize) &&
	    attr->blksize >= 512 && attr->blksize <= PAGE_SIZE * 256)
		inode->i_blkbits = ilog2(attr->blksize);
	else
		inode->i_blkbits = inode->i_sb->s_blocksize_bits;
}

/*
 * A local change of the inode's size (write, truncate, fallocate): replies
 * to requests sent before it carry an older size and must not undo it.
 */
void vf_attr_changed(struct inode *inode)
{
	struct vf_inode *vi = VF_I(inode);

	spin_lock(&inode->i_lock);
	vi->attr_version = atomic64_inc_return(&VF_DEV(inode)->attr_version);
	vi->attr_expire = 0;
	spin_unlock(&inode->i_lock);
}

/*
 * A cached write (writeback cache) ended at @end: the size grows here, and
 * replies to requests sent before keep their hands off it. The attributes
 * stay valid: the guest is the size's authority now.
 */
void vf_size_grown(struct inode *inode, loff_t end)
{
	struct vf_inode *vi = VF_I(inode);

	spin_lock(&inode->i_lock);
	if (end > i_size_read(inode)) {
		i_size_write(inode, end);
		vi->attr_version = atomic64_inc_return(&VF_DEV(inode)->attr_version);
	}
	spin_unlock(&inode->i_lock);
}

u64 vf_attr_version(struct inode *inode)
{
	return atomic64_read(&VF_DEV(inode)->attr_version);
}

/*
 * Fresh attributes from the daemon, for a request sent at @version. A size
 * or mtime changed by someone else drops the cached pages (the host changed
 * the file), unless the daemon took EXPLICIT_INVAL_DATA: then it says when
 * the data changed, and a smaller size only cuts the cache. If the inode
 * changed here since the request went out, its size stays and the
 * attributes are fetched again next time.
 */
void vf_change_attributes(struct inode *inode, struct fuse_attr *attr,
			  u64 attr_valid, u32 attr_valid_nsec, u64 version)
{
	struct vf_inode *vi = VF_I(inode);
	struct timespec64 old_mtime, old_ctime;
	bool changed, stale, acl_changed, wb = vf_wb_cache(inode);
	loff_t old_size;

	if (attr_type_changed(inode, attr))
		return;
	spin_lock(&inode->i_lock);
	stale = vi->attr_version > version;
	old_mtime = vireo_inode_mtime(inode);
	old_ctime = inode_get_ctime(inode);
	old_size = i_size_read(inode);
	/* An ACL changed on the host changes the ctime (and maybe the mode). */
	acl_changed = old_ctime.tv_sec != attr->ctime ||
		      old_ctime.tv_nsec != attr->ctimensec ||
		      (inode->i_mode & 07777) != (attr->mode & 07777);
	set_attributes(inode, attr);
	vi->attr_expire = stale ? 0 : vf_timeout(attr_valid, attr_valid_nsec);
	changed = !stale && S_ISREG(inode->i_mode) &&
		  (old_size != attr->size || old_mtime.tv_sec != attr->mtime ||
		   old_mtime.tv_nsec != attr->mtimensec);
	if (wb) {
		/*
		 * Writeback cache: the guest's size and times are ahead of
		 * the host's until writeback and write_inode; the daemon's
		 * would shrink the file under dirty pages and move its mtime
		 * back. They stay, and the cache is the guest's own.
		 */
		vireo_inode_set_mtime(inode, old_mtime);
		inode_set_ctime_to_ts(inode, old_ctime);
		changed = false;
		acl_changed = (inode->i_mode & 07777) != (attr->mode & 07777);
	} else if (!stale) {
		i_size_write(inode, attr->size);
	}
	spin_unlock(&inode->i_lock);

	if (acl_changed && vf_posix_acl(inode))
		forget_all_cached_acls(inode);

	if (changed) {
		if (attr->size < old_size)
			truncate_pagecache(inode, attr->size);
		if (!(VF_DEV(inode)->conn.flags & FUSE_EXPLICIT_INVAL_DATA))
			invalidate_inode_pages2(inode->i_mapping);
	}
}

void vf_init_inode(struct inode *inode, struct fuse_attr *attr)
{
	inode->i_mode = attr->mode & S_IFMT;
	i_size_write(inode, attr->size);
	switch (inode->i_mode) {
	case S_IFREG:
		inode->i_op = &vf_file_iops;
		inode->i_fop = &vf_file_fops;
		inode->i_mapping->a_ops = &vf_aops;
		break;
	case S_IFDIR:
		inode->i_op = &vf_dir_iops;
		inode->i_fop = &vf_dir_fops;
		break;
	case S_IFLNK:
		inode->i_op = &vf_symlink_iops;
		inode_nohighmem(inode);
		break;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		inode->i_op = &vf_file_iops;
		init_special_inode(inode, inode->i_mode,
				   new_decode_dev(attr->rdev));
		break;
	default:
		make_bad_inode(inode);
	}
}

static int iget_test(struct inode *inode, void *data)
{
	return VF_I(inode)->nodeid == *(u64 *)data;
}

static int iget_set(struct inode *inode, void *data)
{
	VF_I(inode)->nodeid = *(u64 *)data;
	return 0;
}

/*
 * The inode for @nodeid with @attr, from a reply that counts as one lookup
 * (LOOKUP, CREATE, MKDIR, ... and READDIRPLUS entries): its nlookup goes up.
 */
struct inode *vf_iget(struct super_block *sb, u64 nodeid,
		      struct fuse_attr *attr, u64 attr_valid,
		      u32 attr_valid_nsec, u64 version)
{
	struct inode *inode;
	struct vf_inode *vi;

	inode = iget5_locked(sb, nodeid, iget_test, iget_set, &nodeid);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	vi = VF_I(inode);
	if (!(inode->i_state & I_NEW)) {
		if (attr_type_changed(inode, attr)) {
			/* The lookup was counted: eviction forgets it. */
			spin_lock(&inode->i_lock);
			vi->nlookup++;
			spin_unlock(&inode->i_lock);
			iput(inode);
			return ERR_PTR(-EIO);
		}
		vf_change_attributes(inode, attr, attr_valid, attr_valid_nsec,
				     version);
	} else {
		inode->i_flags |= S_NOATIME;
		/* With a writeback cache the guest keeps a file's times. */
		if (S_ISDIR(attr->mode) ||
		    (S_ISREG(attr->mode) &&
		     !(VF_SB(sb)->conn.flags & FUSE_WRITEBACK_CACHE)))
			inode->i_flags |= S_NOCMTIME;
		vf_init_inode(inode, attr);
		spin_lock(&inode->i_lock);
		set_attributes(inode, attr);
		vi->attr_expire = vf_timeout(attr_valid, attr_valid_nsec);
		spin_unlock(&inode->i_lock);
		unlock_new_inode(inode);
	}
	spin_lock(&inode->i_lock);
	vi->nlookup++;
	spin_unlock(&inode->i_lock);
	return inode;
}

/* GETATTR; with @file, by its handle. */
int vf_refresh_attr(struct inode *inode, struct file *file)
{
	struct vf_dev *dev = VF_DEV(inode);
	struct fuse_getattr_in in = { 0 };
	struct fuse_attr_out out;
	struct vf_args a = {
		.opcode = FUSE_GETATTR,
		.nodeid = VF_I(inode)->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
		.out = &out,
		.out_size = sizeof(out),
		.out_exact = true,
	};
	u64 version = vf_attr_version(inode);
	int err;

	if (file && S_ISREG(inode->i_mode) && file->private_data) {
		struct vf_file *ff = file->private_data;

		in.getattr_flags = FUSE_GETATTR_FH;
		in.fh = ff->fh;
	}
	err = vf_send(dev, &a);
	if (err)
		return err;
	if (attr_type_changed(inode, &out.attr))
		return -EIO;
	vf_change_attributes(inode, &out.attr, out.attr_valid,
			     out.attr_valid_nsec, version);
	return 0;
}

static int refresh_if_stale(struct inode *inode)
{
	if (time_before64(get_jiffies_64(), VF_I(inode)->attr_expire))
		return 0;
	return vf_refresh_attr(inode, NULL);
}

static int vf_getattr(vireo_idmap_t *idmap, const struct path *path,
		      struct kstat *stat, u32 request_mask,
		      unsigned int flags)
{
	struct inode *inode = d_inode(path->dentry);
	int err = 0;

	if (flags & AT_STATX_FORCE_SYNC)
		err = vf_refresh_attr(inode, NULL);
	else if (!(flags & AT_STATX_DONT_SYNC))
		err = refresh_if_stale(inode);
	if (err)
		return err;
	if (test_bit(VF_I_FROM_RDPLUS, &VF_I(inode)->state) &&
	    test_and_clear_bit(VF_I_FROM_RDPLUS, &VF_I(inode)->state)) {
		struct dentry *parent = dget_parent(path->dentry);

		if (d_inode(parent) != inode)
			set_bit(VF_I_ADVISE_RDPLUS, &VF_I(d_inode(parent))->state);
		dput(parent);
	}
	vireo_generic_fillattr(idmap, request_mask, inode, stat);
	stat->blksize = 1 << inode->i_blkbits;
	return 0;
}

static int vf_permission(vireo_idmap_t *idmap, struct inode *inode, int mask)
{
	int err;

	/* Permissions are checked here, on fresh attributes (as the daemon does). */
	if (mask & MAY_NOT_BLOCK) {
		if (time_before64(get_jiffies_64(), VF_I(inode)->attr_expire))
			return generic_permission(idmap, inode, mask);
		return -ECHILD;
	}
	err = refresh_if_stale(inode);
	if (err)
		return err;
	return generic_permission(idmap, inode, mask);
}

static void ts_to_fuse(struct timespec64 ts, u64 *sec, u32 *nsec)
{
	*sec = ts.tv_sec;
	*nsec = ts.tv_nsec;
}

int vf_setattr_inode(struct inode *inode, struct iattr *iattr,
		     struct file *file)
{
	struct vf_inode *vi = VF_I(inode);
	struct vf_dev *dev = VF_DEV(inode);
	struct fuse_setattr_in in = { 0 };
	struct fuse_attr_out out;
	struct vf_args a = {
		.opcode = FUSE_SETATTR,
		.nodeid = vi->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
		.out = &out,
		.out_size = sizeof(out),
		.out_exact = true,
	};
	unsigned int v = iattr->ia_valid;
	bool trunc = (v & ATTR_SIZE) && S_ISREG(inode->i_mode);
	bool wb = vf_wb_cache(inode);
	struct timespec64 mtime, ctime;
	int err;

	if (v & ATTR_MODE) {
		in.valid |= FATTR_MODE;
		in.mode = iattr->ia_mode;
	}
	if (v & ATTR_UID) {
		in.valid |= FATTR_UID;
		in.uid = from_kuid(&init_user_ns, iattr->ia_uid);
	}
	if (v & ATTR_GID) {
		in.valid |= FATTR_GID;
		in.gid = from_kgid(&init_user_ns, iattr->ia_gid);
	}
	if (v & ATTR_SIZE) {
		in.valid |= FATTR_SIZE;
		in.size = iattr->ia_size;
	}
	if (v & ATTR_ATIME) {
		in.valid |= FATTR_ATIME;
		if (!(v & ATTR_ATIME_SET))
			in.valid |= FATTR_ATIME_NOW;
		else
			ts_to_fuse(iattr->ia_atime, &in.atime, &in.atimensec);
	}
	if (v & ATTR_MTIME) {
		in.valid |= FATTR_MTIME;
		/* Writeback cache: the host gets the guest's clock, as at write_inode. */
		if (!(v & ATTR_MTIME_SET) && !wb)
			in.valid |= FATTR_MTIME_NOW;
		else
			ts_to_fuse(iattr->ia_mtime, &in.mtime, &in.mtimensec);
	}
	if ((v & ATTR_CTIME) && !(v & (ATTR_ATIME | ATTR_MTIME | ATTR_SIZE |
				       ATTR_MODE | ATTR_UID | ATTR_GID))) {
		in.valid |= FATTR_CTIME;
		ts_to_fuse(iattr->ia_ctime, &in.ctime, &in.ctimensec);
	}
	/*
	 * HANDLE_KILLPRIV_V2: a truncation by someone without CAP_FSETID
	 * kills suid/sgid in the daemon, with the truncation (virtiofsd drops
	 * its CAP_FSETID for it); the mode the VFS derived from a maybe stale
	 * i_mode is not sent.
	 */
	if ((v & ATTR_SIZE) && (v & (ATTR_KILL_SUID | ATTR_KILL_SGID)) &&
	    (dev->conn.flags & FUSE_HANDLE_KILLPRIV_V2) &&
	    !S_ISDIR(inode->i_mode)) {
		in.valid &= ~FATTR_MODE;
		in.valid |= FATTR_KILL_SUIDGID;
	}
	if (file && file->private_data && S_ISREG(inode->i_mode)) {
		struct vf_file *ff = file->private_data;

		in.valid |= FATTR_FH;
		in.fh = ff->fh;
	}
	if (!in.valid)
		return 0;

	if (trunc) {
		/*
		 * Dirty pages go out first, or they would come back; no mmap
		 * store dirties one until the page cache is cut too (the
		 * invalidate lock, vf_page_mkwrite), or its WRITE could reach
		 * the daemon after the truncation and extend the file again.
		 */
		mutex_lock(&vi->io_lock);
		filemap_invalidate_lock(inode->i_mapping);
		err = filemap_write_and_wait(inode->i_mapping);
		if (err)
			goto unlock;
	} else if (wb && (v & (ATTR_MODE | ATTR_UID | ATTR_GID |
			       ATTR_MTIME_SET | ATTR_TIMES_SET))) {
		/* Or a later WRITE would move the host's times past these. */
		err = filemap_write_and_wait(inode->i_mapping);
		if (err)
			return err;
	}
	err = vf_send(dev, &a);
	if (!err && attr_type_changed(inode, &out.attr))
		err = -EIO;
	if (!err) {
		spin_lock(&inode->i_lock);
		mtime = (v & ATTR_MTIME) ? iattr->ia_mtime : vireo_inode_mtime(inode);
		ctime = (v & ATTR_CTIME) ? iattr->ia_ctime : inode_get_ctime(inode);
		set_attributes(inode, &out.attr);
		/* The guest keeps its times (writeback cache). */
		if (wb) {
			vireo_inode_set_mtime(inode, mtime);
			inode_set_ctime_to_ts(inode, ctime);
		}
		vi->attr_expire = vf_timeout(out.attr_valid,
					     out.attr_valid_nsec);
		if (trunc || !S_ISREG(inode->i_mode))
			i_size_write(inode, out.attr.size);
		spin_unlock(&inode->i_lock);
		/* The host's chmod rewrote the access ACL's mask entry. */
		if ((in.valid & (FATTR_MODE | FATTR_KILL_SUIDGID)) &&
		    vf_posix_acl(inode))
			forget_all_cached_acls(inode);
		if (trunc) {
			truncate_pagecache(inode, out.attr.size);
			vf_attr_changed(inode);
		}
	}
unlock:
	if (trunc) {
		filemap_invalidate_unlock(inode->i_mapping);
		mutex_unlock(&vi->io_lock);
	}
	return err;
}

/*
 * Writeback cache: the times the guest gave a regular file (writes,
 * mmap stores, truncations) go to the daemon, as the in-tree FUSE client
 * sends them (SETATTR of mtime, and ctime from 7.23 on). The size goes with
 * the pages (writepages). By a writable handle where there is one.
 */
int vf_write_inode(struct inode *inode, struct writeback_control *wbc)
{
	struct vf_dev *dev = VF_DEV(inode);
	struct fuse_setattr_in in = { .valid = FATTR_MTIME };
	struct fuse_attr_out out;
	struct vf_args a = {
		.opcode = FUSE_SETATTR,
		.nodeid = VF_I(inode)->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
		.out = &out,
		.out_size = sizeof(out),
		.out_exact = true,
		.pagecache = true,
	};
	int err;

	if (!vf_wb_cache(inode) || is_bad_inode(inode))
		return 0;
	/* After the WRITEs in flight, which move the host's mtime. */
	filemap_fdatawait(inode->i_mapping);
	ts_to_fuse(vireo_inode_mtime(inode), &in.mtime, &in.mtimensec);
	if (dev->conn.minor >= 23) {
		in.valid |= FATTR_CTIME;
		ts_to_fuse(inode_get_ctime(inode), &in.ctime, &in.ctimensec);
	}
	if (vf_pick_fh(inode, true, &in.fh))
		in.valid |= FATTR_FH;
	err = vf_send(dev, &a);
	if (!err && attr_type_changed(inode, &out.attr))
		err = -EIO;
	return err;
}

static int vf_setattr(vireo_idmap_t *idmap, struct dentry *dentry,
		      struct iattr *iattr)
{
	struct file *file = (iattr->ia_valid & ATTR_FILE) ? iattr->ia_file : NULL;
	struct inode *inode = d_inode(dentry);
	int err;

	err = setattr_prepare(idmap, dentry, iattr);
	if (err)
		return err;
	/*
	 * open(O_TRUNC): with ATOMIC_O_TRUNC the OPEN truncated the file and
	 * vf_open_common the page cache already.
	 */
	if ((iattr->ia_valid & ATTR_OPEN) && S_ISREG(inode->i_mode) &&
	    (VF_DEV(inode)->conn.flags & FUSE_ATOMIC_O_TRUNC)) {
		vf_attr_changed(inode);
		/*
		 * The daemon truncated with its own privileges (virtiofsd keeps
		 * CAP_FSETID): suid/sgid the VFS wants gone go with a SETATTR.
		 */
		if (!(iattr->ia_valid & (ATTR_KILL_SUID | ATTR_KILL_SGID)) ||
		    !(iattr->ia_valid & ATTR_MODE))
			return 0;
		iattr->ia_valid &= ~(ATTR_SIZE | ATTR_OPEN);
	}
	return vf_setattr_inode(inode, iattr, file);
}

static const char *vf_get_link(struct dentry *dentry, struct inode *inode,
			       struct delayed_call *done)
{
	struct vf_dev *dev;
	struct vf_args a = { .opcode = FUSE_READLINK };
	char *buf;
	int err;

	if (!dentry)
		return ERR_PTR(-ECHILD);
	dev = VF_DEV(inode);
	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	a.nodeid = VF_I(inode)->nodeid;
	a.out = buf;
	a.out_size = PAGE_SIZE - 1;
	err = vf_send(dev, &a);
	if (err) {
		kfree(buf);
		return ERR_PTR(err);
	}
	buf[a.out_got] = '\0';
	if (!a.out_got || strlen(buf) != a.out_got) {
		kfree(buf);
		pr_err_ratelimited("vireo_fs %s: READLINK reply is empty or has a NUL: EIO\n",
				   dev->tag);
		return ERR_PTR(-EIO);
	}
	set_delayed_call(done, kfree_link, buf);
	return buf;
}

const struct inode_operations vf_file_iops = {
	.getattr = vf_getattr,
	.setattr = vf_setattr,
	.permission = vf_permission,
	.listxattr = vf_listxattr,
	.VIREO_GET_INODE_ACL = VF_ACL_GET,
	.set_acl = VF_ACL_SET,
};

const struct inode_operations vf_symlink_iops = {
	.get_link = vf_get_link,
	.getattr = vf_getattr,
	.setattr = vf_setattr,
	.listxattr = vf_listxattr,
};

/* For dir.c */
int vf_dir_getattr(vireo_idmap_t *idmap, const struct path *path,
		   struct kstat *stat, u32 request_mask, unsigned int flags)
{
	return vf_getattr(idmap, path, stat, request_mask, flags);
}

int vf_dir_setattr(vireo_idmap_t *idmap, struct dentry *dentry,
		   struct iattr *iattr)
{
	return vf_setattr(idmap, dentry, iattr);
}

int vf_dir_permission(vireo_idmap_t *idmap, struct inode *inode, int mask)
{
	return vf_permission(idmap, inode, mask);
}
