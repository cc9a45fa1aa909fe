// SPDX-License-Identifier: GPL-2.0
/*
 * Directories: lookup and dentry timeouts, the operations that create and
 * remove names, rename, and reading a directory.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/namei.h>
#include <linux/slab.h>

#include "fs.h"

static void dentry_set_expire(struct dentry *dentry, u64 sec, u32 nsec)
{
	dentry->d_fsdata = (void *)(unsigned long)vf_timeout(sec, nsec);
}

static bool dentry_fresh(struct dentry *dentry)
{
	return time_before64(get_jiffies_64(),
			     (u64)(unsigned long)dentry->d_fsdata);
}

static u64 dir_nodeid(struct inode *dir)
{
	return VF_I(dir)->nodeid;
}

/* An entry reply must name a node (nodeid 0 only means "negative"). */
static int check_entry(struct vf_dev *dev, struct fuse_entry_out *e,
		       bool negative_ok)
{
	if (!e->nodeid && !negative_ok) {
		pr_err_ratelimited("vireo_fs %s: entry reply without a node id: EIO\n",
				   dev->tag);
		return -EIO;
	}
	if (e->nodeid == FUSE_ROOT_ID && negative_ok) {
		pr_err_ratelimited("vireo_fs %s: a name resolves to the root node: EIO\n",
				   dev->tag);
		return -EIO;
	}
	if (e->nodeid && !vf_valid_type(e->attr.mode)) {
		pr_err_ratelimited("vireo_fs %s: entry reply without a valid file type (mode 0%o): EIO\n",
				   dev->tag, e->attr.mode);
		return -EIO;
	}
	return 0;
}

static int do_lookup(struct inode *dir, const struct qstr *name,
		     struct fuse_entry_out *out)
{
	struct vf_dev *dev = VF_DEV(dir);
	struct vf_args a = {
		.opcode = FUSE_LOOKUP,
		.nodeid = dir_nodeid(dir),
		.nr_in = 1,
		.in = { name->name },
		.in_size = { name->len + 1 },
		.out = out,
		.out_size = sizeof(*out),
		.out_exact = true,
	};
	int err;

	if (name->len > VF_NAME_MAX)
		return -ENAMETOOLONG;
	err = vf_send(dev, &a);
	if (err)
		return err;
	return check_entry(dev, out, true);
}

static struct dentry *vf_lookup(struct inode *dir, struct dentry *dentry,
				unsigned int flags)
{
	u64 version = vf_attr_version(dir);
	struct fuse_entry_out out;
	struct inode *inode = NULL;
	struct dentry *res;
	int err;

	/* READDIRPLUS_AUTO: names of this directory are being looked up. */
	set_bit(VF_I_ADVISE_RDPLUS, &VF_I(dir)->state);
	err = do_lookup(dir, &dentry->d_name, &out);
	if (err == -ENOENT) {
		/* Negative, cached for the default (0): asked again next time. */
		out.nodeid = 0;
		out.entry_valid = 0;
		out.entry_valid_nsec = 0;
	} else if (err) {
		return ERR_PTR(err);
	}
	if (out.nodeid) {
		inode = vf_iget(dir->i_sb, out.nodeid, &out.attr,
				out.attr_valid, out.attr_valid_nsec, version);
		if (IS_ERR(inode))
			return ERR_CAST(inode);
	}
	res = d_splice_alias(inode, dentry);
	if (IS_ERR(res))
		return res;
	dentry_set_expire(res ?: dentry, out.entry_valid, out.entry_valid_nsec);
	return res;
}

static int vf_d_revalidate(struct dentry *dentry, unsigned int flags)
{
	struct inode *inode = d_inode_rcu(dentry);
	struct fuse_entry_out out;
	struct dentry *parent;
	struct vf_inode *vi;
	u64 version;
	int err;

	if (inode && is_bad_inode(inode))
		return 0;
	if (dentry_fresh(dentry))
		return 1;
	if (!inode)
		return 0;
	if (flags & LOOKUP_RCU)
		return -ECHILD;

	version = vf_attr_version(inode);
	parent = dget_parent(dentry);
	err = do_lookup(d_inode(parent), &dentry->d_name, &out);
	dput(parent);
	vi = VF_I(inode);
	if (err == -ENOMEM || err == -EINTR)
		return err;
	if (err || !out.nodeid)
		return 0;
	if (out.nodeid != vi->nodeid) {
		/* The daemon counted this lookup: give it back. */
		vf_forget(VF_DEV(inode), out.nodeid, 1);
		return 0;
	}
	spin_lock(&inode->i_lock);
	vi->nlookup++;
	spin_unlock(&inode->i_lock);
	if ((inode->i_mode ^ out.attr.mode) & S_IFMT)
		return 0;
	vf_change_attributes(inode, &out.attr, out.attr_valid,
			     out.attr_valid_nsec, version);
	dentry_set_expire(dentry, out.entry_valid, out.entry_valid_nsec);
	return 1;
}

static int vf_d_delete(const struct dentry *dentry)
{
	/* Negative dentries live only as long as the daemon said. */
	return !d_really_is_positive(dentry) && !dentry_fresh((struct dentry *)dentry);
}

const struct dentry_operations vf_dentry_ops = {
	.d_revalidate = vf_d_revalidate,
	.d_delete = vf_d_delete,
};

/*
 * The mode of a new node. On a file system with POSIX ACLs (SB_POSIXACL)
 * the VFS leaves the umask to the file system, elsewhere it applied it
 * already. With FUSE_DONT_MASK the daemon applies the umask (the request's
 * umask field) unless a default ACL of the directory replaces it, as a local
 * file system does; without, the umask goes here.
 */
static umode_t create_mode(struct inode *dir, umode_t mode)
{
	if (!(VF_DEV(dir)->conn.flags & FUSE_DONT_MASK))
		mode &= ~current_umask();
	return mode;
}

/* MKNOD, MKDIR, SYMLINK, LINK: the reply is a new entry for @dentry. */
static int create_entry(struct inode *dir, struct dentry *dentry,
			struct vf_args *a, umode_t type)
{
	struct vf_dev *dev = VF_DEV(dir);
	u64 version = vf_attr_version(dir);
	struct fuse_entry_out out;
	struct inode *inode;
	int err;

	a->nodeid = dir_nodeid(dir);
	a->out = &out;
	a->out_size = sizeof(out);
	a->out_exact = true;
	err = vf_send(dev, a);
	if (err)
		return err;
	err = check_entry(dev, &out, false);
	if (err)
		return err;
	if ((out.attr.mode & S_IFMT) != type) {
		pr_err_ratelimited("vireo_fs %s: the new entry has another file type: EIO\n",
				   dev->tag);
		vf_forget(dev, out.nodeid, 1);
		return -EIO;
	}
	inode = vf_iget(dir->i_sb, out.nodeid, &out.attr, out.attr_valid,
			out.attr_valid_nsec, version);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	d_drop(dentry);
	d_add(dentry, inode);
	dentry_set_expire(dentry, out.entry_valid, out.entry_valid_nsec);
	vf_invalidate_attr(dir);
	return 0;
}

static int vf_mknod(vireo_idmap_t *idmap, struct inode *dir,
		    struct dentry *dentry, umode_t mode, dev_t rdev)
{
	struct fuse_mknod_in in = {
		.mode = create_mode(dir, mode),
		.rdev = new_encode_dev(rdev),
		.umask = current_umask(),
	};
	struct vf_args a = {
		.opcode = FUSE_MKNOD,
		.nr_in = 2,
		.in = { &in, dentry->d_name.name },
		.in_size = { sizeof(in), dentry->d_name.len + 1 },
	};

	return create_entry(dir, dentry, &a, mode & S_IFMT);
}

static int vf_mkdir(vireo_idmap_t *idmap, struct inode *dir,
		    struct dentry *dentry, umode_t mode)
{
	struct fuse_mkdir_in in = {
		.mode = create_mode(dir, mode) | S_IFDIR,
		.umask = current_umask(),
	};
	struct vf_args a = {
		.opcode = FUSE_MKDIR,
		.nr_in = 2,
		.in = { &in, dentry->d_name.name },
		.in_size = { sizeof(in), dentry->d_name.len + 1 },
	};

	return create_entry(dir, dentry, &a, S_IFDIR);
}

static int vf_symlink(vireo_idmap_t *idmap, struct inode *dir,
		      struct dentry *dentry, const char *target)
{
	size_t len = strlen(target);
	struct vf_args a = {
		.opcode = FUSE_SYMLINK,
		.nr_in = 2,
		.in = { dentry->d_name.name, target },
		.in_size = { dentry->d_name.len + 1, len + 1 },
	};

	if (len >= PAGE_SIZE)
		return -ENAMETOOLONG;
	return create_entry(dir, dentry, &a, S_IFLNK);
}

static int vf_link(struct dentry *old, struct inode *dir,
		   struct dentry *dentry)
{
	struct inode *inode = d_inode(old);
	struct fuse_link_in in = { .oldnodeid = VF_I(inode)->nodeid };
	struct vf_args a = {
		.opcode = FUSE_LINK,
		.nr_in = 2,
		.in = { &in, dentry->d_name.name },
		.in_size = { sizeof(in), dentry->d_name.len + 1 },
	};

	return create_entry(dir, dentry, &a, inode->i_mode & S_IFMT);
}

static int remove_entry(struct inode *dir, struct dentry *dentry, u32 opcode)
{
	struct inode *inode = d_inode(dentry);
	struct vf_args a = {
		.opcode = opcode,
		.nodeid = dir_nodeid(dir),
		.nr_in = 1,
		.in = { dentry->d_name.name },
		.in_size = { dentry->d_name.len + 1 },
	};
	int err;

	err = vf_send(VF_DEV(dir), &a);
	if (err)
		return err;
	if (opcode == FUSE_RMDIR)
		clear_nlink(inode);
	else if (inode->i_nlink)
		drop_nlink(inode);
	vf_invalidate_attr(inode);
	vf_invalidate_attr(dir);
	d_invalidate(dentry);
	return 0;
}

static int vf_unlink(struct inode *dir, struct dentry *dentry)
{
	return remove_entry(dir, dentry, FUSE_UNLINK);
}

static int vf_rmdir(struct inode *dir, struct dentry *dentry)
{
	return remove_entry(dir, dentry, FUSE_RMDIR);
}

static int vf_rename(vireo_idmap_t *idmap, struct inode *olddir,
		     struct dentry *old, struct inode *newdir,
		     struct dentry *new, unsigned int flags)
{
	struct vf_dev *dev = VF_DEV(olddir);
	struct fuse_rename2_in in2 = {
		.newdir = dir_nodeid(newdir),
		.flags = flags,
	};
	struct fuse_rename_in in = { .newdir = dir_nodeid(newdir) };
	struct vf_args a = {
		.nodeid = dir_nodeid(olddir),
		.nr_in = 3,
		.in = { NULL, old->d_name.name, new->d_name.name },
		.in_size = { 0, old->d_name.len + 1, new->d_name.len + 1 },
	};
	int err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if (flags) {
		a.opcode = FUSE_RENAME2;
		a.in[0] = &in2;
		a.in_size[0] = sizeof(in2);
	} else {
		a.opcode = FUSE_RENAME;
		a.in[0] = &in;
		a.in_size[0] = sizeof(in);
	}
	err = vf_send(dev, &a);
	if (err == -ENOSYS && flags)
		return -EINVAL;
	if (err)
		return err;
	vf_invalidate_attr(d_inode(old));
	vf_invalidate_attr(olddir);
	vf_invalidate_attr(newdir);
	if (d_really_is_positive(new)) {
		vf_invalidate_attr(d_inode(new));
		if (!(flags & RENAME_EXCHANGE) && d_inode(new)->i_nlink) {
			if (S_ISDIR(d_inode(new)->i_mode))
				clear_nlink(d_inode(new));
			else
				drop_nlink(d_inode(new));
		}
	}
	return 0;
}

/* CREATE: a new file, opened, in one request. */
static int vf_atomic_open(struct inode *dir, struct dentry *dentry,
			  struct file *file, unsigned int flags,
			  umode_t mode)
{
	struct vf_dev *dev = VF_DEV(dir);
	struct fuse_create_in in = {
		.flags = vf_open_flags(dev, flags & ~O_NOCTTY),
		.mode = create_mode(dir, mode),
		.umask = current_umask(),
	};
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} out;
	struct vf_args a = {
		.opcode = FUSE_CREATE,
		.nodeid = dir_nodeid(dir),
		.nr_in = 2,
		.in = { &in, dentry->d_name.name },
		.in_size = { sizeof(in), dentry->d_name.len + 1 },
		.out = &out,
		.out_size = sizeof(out),
		.out_exact = true,
	};
	u64 version = vf_attr_version(dir);
	struct dentry *res = NULL;
	struct vf_file *ff;
	struct inode *inode;
	int err;

	if (d_in_lookup(dentry)) {
		res = vf_lookup(dir, dentry, 0);
		if (IS_ERR(res))
			return PTR_ERR(res);
		if (res)
			dentry = res;
	}
	if (!(flags & O_CREAT) || d_really_is_positive(dentry))
		return finish_no_open(file, res);
	/* The name may exist in the daemon by now: O_TRUNC kills suid there. */
	if ((dev->conn.flags & FUSE_HANDLE_KILLPRIV_V2) && (flags & O_TRUNC) &&
	    !capable(CAP_FSETID))
		in.open_flags |= FUSE_OPEN_KILL_SUIDGID;
	if (test_bit(FUSE_CREATE, dev->conn.enosys))
		goto mknod;

	ff = vf_file_alloc(dev);
	if (!ff) {
		err = -ENOMEM;
		goto out;
	}
	err = vf_send(dev, &a);
	if (err == -ENOSYS) {
		kfree(ff);
		goto mknod;
	}
	if (!err)
		err = check_entry(dev, &out.e, false);
	if (!err && !S_ISREG(out.e.attr.mode)) {
		vf_forget(dev, out.e.nodeid, 1);
		err = -EIO;
	}
	if (err) {
		kfree(ff);
		goto out;
	}
	ff->fh = out.o.fh;
	ff->open_flags = out.o.open_flags;
	ff->nodeid = out.e.nodeid;
	inode = vf_iget(dir->i_sb, out.e.nodeid, &out.e.attr,
			out.e.attr_valid, out.e.attr_valid_nsec, version);
	if (IS_ERR(inode)) {
		err = PTR_ERR(inode);
		kfree(ff);
		goto out;
	}
	ff->writable = true;
	vf_invalidate_attr(dir);
	d_instantiate(dentry, inode);
	dentry_set_expire(dentry, out.e.entry_valid, out.e.entry_valid_nsec);
	file->f_mode |= FMODE_CREATED;
	err = finish_open(file, dentry, generic_file_open);
	if (err) {
		struct fuse_release_in rin = { .fh = ff->fh };
		struct vf_args r = {
			.opcode = FUSE_RELEASE,
			.nodeid = ff->nodeid,
			.nr_in = 1,
			.in = { &rin },
			.in_size = { sizeof(rin) },
		};

		vf_send(dev, &r);
		kfree(ff);
	} else {
		vf_file_install(inode, file, ff);
	}
out:
	dput(res);
	return err;

mknod:
	err = vf_mknod(VIREO_NOP_IDMAP, dir, dentry, mode | S_IFREG, 0);
	if (err)
		goto out;
	return finish_no_open(file, NULL);
}

static int vf_create(vireo_idmap_t *idmap, struct inode *dir,
		     struct dentry *dentry, umode_t mode, bool excl)
{
	return vf_mknod(idmap, dir, dentry, mode | S_IFREG, 0);
}

const struct inode_operations vf_dir_iops = {
	.lookup = vf_lookup,
	.atomic_open = vf_atomic_open,
	.create = vf_create,
	.mkdir = vf_mkdir,
	.mknod = vf_mknod,
	.symlink = vf_symlink,
	.link = vf_link,
	.unlink = vf_unlink,
	.rmdir = vf_rmdir,
	.rename = vf_rename,
	.getattr = vf_dir_getattr,
	.setattr = vf_dir_setattr,
	.permission = vf_dir_permission,
	.listxattr = vf_listxattr,
	.VIREO_GET_INODE_ACL = VF_ACL_GET,
	.set_acl = VF_ACL_SET,
};

/*
 * A READDIR(PLUS) asks for this much: a listing of a few hundred entries
 * (with attributes: 152 bytes and the name each) in one request.
 */
#define VF_READDIR_BUF		(32U * 1024)

static bool is_dot_or_dotdot(const char *name, unsigned int len)
{
	return name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'));
}

/*
 * One record of a READDIR (@plus false: fuse_dirent) or READDIRPLUS (@plus:
 * fuse_direntplus) reply at @p, @left bytes before the buffer's end: its
 * length, or 0 if it is malformed (header or name past the end, a name of
 * 0 or more than VF_NAME_MAX bytes, a '/' or NUL in it, an entry other than
 * "." and ".." of a node without a file type or naming the root).
 */
static unsigned int dirent_check(const void *p, unsigned int left, bool plus)
{
	unsigned int hdr = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
	const struct fuse_direntplus *dp = p;
	const struct fuse_dirent *d = plus ? &dp->dirent : p;
	unsigned int reclen;

	if (left < hdr)
		return 0;
	if (!d->namelen || d->namelen > VF_NAME_MAX)
		return 0;
	reclen = FUSE_DIRENT_ALIGN(hdr + d->namelen);
	if (reclen > left)
		return 0;
	if (memchr(d->name, '/', d->namelen) || memchr(d->name, '\0', d->namelen))
		return 0;
	/* "." and ".." are the directory and its parent: the root may be either. */
	if (plus && dp->entry_out.nodeid &&
	    !is_dot_or_dotdot(d->name, d->namelen) &&
	    (!(dp->entry_out.attr.mode & S_IFMT) ||
	     dp->entry_out.nodeid == FUSE_ROOT_ID))
		return 0;
	return reclen;
}

/*
 * The lookup a READDIRPLUS entry counts in the daemon: every entry with a
 * node id except "." and ".." (FUSE's rule for READDIRPLUS).
 */
static bool dirplus_counted(const struct fuse_direntplus *dp)
{
	return dp->entry_out.nodeid &&
	       !is_dot_or_dotdot(dp->dirent.name, dp->dirent.namelen);
}

/* Forgets the lookups of the first @len (checked) bytes of a reply. */
static void dirplus_forget_all(struct vf_dev *dev, const void *buf,
			       unsigned int len)
{
	const struct fuse_direntplus *dp;
	unsigned int pos, reclen;

	for (pos = 0; pos < len; pos += reclen) {
		dp = buf + pos;
		reclen = dirent_check(dp, len - pos, true);
		if (!reclen)
			return;
		if (dirplus_counted(dp))
			vf_forget(dev, dp->entry_out.nodeid, 1);
	}
}

/* A READDIRPLUS reply whose caller was killed (req.c): its lookups go back. */
void vf_readdirplus_orphan(struct vf_dev *dev, const void *buf,
			   unsigned int len)
{
	dirplus_forget_all(dev, buf, len);
}

/*
 * A READDIRPLUS entry becomes a dentry and inode, as a LOOKUP reply would:
 * the entry's lookup is counted in the inode's nlookup (given back by FORGET
 * at eviction). A dentry of the name that points elsewhere is dropped
 * first. Returns false if the lookup was not taken (the caller forgets it).
 */
static bool dirplus_link(struct dentry *parent, const struct fuse_direntplus *dp,
			 u64 version)
{
	const struct fuse_entry_out *o = &dp->entry_out;
	struct qstr name = QSTR_INIT(dp->dirent.name, dp->dirent.namelen);
	DECLARE_WAIT_QUEUE_HEAD_ONSTACK(wq);
	struct inode *dir = d_inode(parent);
	struct dentry *dentry, *alias;
	struct fuse_attr attr = o->attr;
	struct inode *inode;
	bool retried = false;

	name.hash = full_name_hash(parent, name.name, name.len);
	dentry = d_lookup(parent, &name);
	for (;;) {
		if (!dentry) {
			dentry = d_alloc_parallel(parent, &name, &wq);
			if (IS_ERR(dentry))
				return false;
		}
		if (d_in_lookup(dentry))
			break;
		inode = d_inode(dentry);
		if (inode && !is_bad_inode(inode) &&
		    VF_I(inode)->nodeid == o->nodeid &&
		    !((inode->i_mode ^ attr.mode) & S_IFMT)) {
			spin_lock(&inode->i_lock);
			VF_I(inode)->nlookup++;
			spin_unlock(&inode->i_lock);
			vf_change_attributes(inode, &attr, o->attr_valid,
					     o->attr_valid_nsec, version);
			set_bit(VF_I_FROM_RDPLUS, &VF_I(inode)->state);
			dentry_set_expire(dentry, o->entry_valid,
					  o->entry_valid_nsec);
			dput(dentry);
			return true;
		}
		/* Negative, or another node now: the entry replaces it. */
		d_invalidate(dentry);
		dput(dentry);
		dentry = NULL;
		if (retried)
			return false;
		retried = true;
	}
	inode = vf_iget(dir->i_sb, o->nodeid, &attr, o->attr_valid,
			o->attr_valid_nsec, version);
	if (IS_ERR(inode)) {
		d_lookup_done(dentry);
		dput(dentry);
		/* vf_iget counted the lookup unless it found no memory. */
		return PTR_ERR(inode) != -ENOMEM;
	}
	set_bit(VF_I_FROM_RDPLUS, &VF_I(inode)->state);
	alias = d_splice_alias(inode, dentry);
	d_lookup_done(dentry);
	if (alias) {
		dput(dentry);
		dentry = alias;
	}
	/* On error d_splice_alias put the inode: its eviction forgets. */
	if (IS_ERR(dentry))
		return true;
	dentry_set_expire(dentry, o->entry_valid, o->entry_valid_nsec);
	dput(dentry);
	return true;
}

/*
 * READDIRPLUS_AUTO: READDIRPLUS for the first getdents of a listing, and
 * for a whole getdents after a LOOKUP in the directory or a stat of an
 * entry a READDIRPLUS brought (someone stats what is listed, as ls -l does
 * between its getdents: then the entries' attributes come in the listing
 * instead of one LOOKUP each); plain READDIR otherwise. Without AUTO,
 * always READDIRPLUS. @advised: decided at the start of the getdents.
 */
static bool use_readdirplus(struct inode *dir, bool advised)
{
	struct vf_dev *dev = VF_DEV(dir);

	if (!(dev->conn.flags & FUSE_DO_READDIRPLUS) ||
	    test_bit(FUSE_READDIRPLUS, dev->conn.enosys))
		return false;
	if (!(dev->conn.flags & FUSE_READDIRPLUS_AUTO))
		return true;
	return advised;
}

/*
 * Gives the reader the records of @ff's buffer from dir_next on; returns
 * false when its buffer filled (the rest stays for the next getdents).
 */
static bool dir_emit_rest(struct vf_file *ff, struct dir_context *ctx)
{
	const struct fuse_direntplus *dp;
	const struct fuse_dirent *d;
	unsigned int reclen;

	while (ff->dir_next < ff->dir_len) {
		dp = ff->dir_buf + ff->dir_next;
		d = ff->dir_plus ? &dp->dirent : (const void *)dp;
		/* Checked when the reply came: cannot fail here. */
		reclen = dirent_check(dp, ff->dir_len - ff->dir_next,
				      ff->dir_plus);
		if (WARN_ON_ONCE(!reclen))
			break;
		if (!dir_emit(ctx, d->name, d->namelen, d->ino, d->type)) {
			ff->dir_pos = ctx->pos;
			return false;
		}
		ctx->pos = d->off;
		ff->dir_next += reclen;
	}
	ff->dir_len = 0;
	ff->dir_next = 0;
	return true;
}

/*
 * READDIR / READDIRPLUS: the records are all checked before any is used;
 * a malformed reply fails with EIO (the lookups of its good records given
 * back). READDIRPLUS entries are instantiated even after the caller's
 * buffer is full, so that every lookup the daemon counted is held by an
 * inode. The records the caller's buffer had no room for are kept with the
 * open directory and given by the next getdents that continues there (a
 * seek elsewhere drops them), so no reply is asked for twice.
 */
static int vf_readdir(struct file *file, struct dir_context *ctx)
{
	struct inode *inode = file_inode(file);
	struct vf_file *ff = file->private_data;
	struct vf_dev *dev = VF_DEV(inode);
	struct fuse_read_in in = { .fh = ff->fh };
	struct vf_args a = {
		.nodeid = VF_I(inode)->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
	};
	unsigned int size = min_t(unsigned int, VF_READDIR_BUF,
				  dev->conn.max_pages * PAGE_SIZE);
	const struct fuse_direntplus *dp;
	unsigned int pos, reclen;
	bool plus, advised;
	u64 version;
	char *buf;
	int err = 0;

	if (mutex_lock_killable(&ff->dir_lock))
		return -EINTR;
	if (ff->dir_len && ff->dir_pos == ctx->pos) {
		if (!dir_emit_rest(ff, ctx))
			goto out;
	}
	ff->dir_len = 0;
	ff->dir_next = 0;
	if (!ff->dir_buf) {
		/* The reply and its header fit in one allocation of @size (req.c). */
		size -= sizeof(struct fuse_out_header);
		buf = kmalloc(size, GFP_KERNEL | __GFP_NOWARN);
		if (!buf) {
			size = PAGE_SIZE - sizeof(struct fuse_out_header);
			buf = kmalloc(size, GFP_KERNEL);
			if (!buf) {
				err = -ENOMEM;
				goto out;
			}
		}
		ff->dir_buf = buf;
		ff->dir_size = size;
	}
	buf = ff->dir_buf;
	a.out = buf;
	a.out_size = ff->dir_size;
	in.size = ff->dir_size;
	advised = test_and_clear_bit(VF_I_ADVISE_RDPLUS, &VF_I(inode)->state) ||
		  ctx->pos == 0;
	for (;;) {
		plus = use_readdirplus(inode, advised);
		a.opcode = plus ? FUSE_READDIRPLUS : FUSE_READDIR;
		in.offset = ctx->pos;
		a.out_got = 0;
		version = vf_attr_version(inode);
		err = vf_send(dev, &a);
		if (err == -ENOSYS && plus)
			continue;	/* remembered: READDIR from now on */
		if (err || !a.out_got)
			break;
		for (pos = 0; pos < a.out_got; pos += reclen) {
			reclen = dirent_check(buf + pos, a.out_got - pos, plus);
			if (!reclen)
				goto bad;
		}
		if (plus) {
			for (pos = 0; pos < a.out_got; pos += reclen) {
				dp = (const void *)(buf + pos);
				reclen = dirent_check(dp, a.out_got - pos, true);
				if (dirplus_counted(dp) &&
				    !dirplus_link(file->f_path.dentry, dp, version))
					vf_forget(dev, dp->entry_out.nodeid, 1);
			}
		}
		ff->dir_plus = plus;
		ff->dir_len = a.out_got;
		ff->dir_next = 0;
		if (!dir_emit_rest(ff, ctx))
			break;
	}
out:
	mutex_unlock(&ff->dir_lock);
	return err;
bad:
	pr_err_ratelimited("vireo_fs %s: malformed %s reply at byte %u: EIO\n",
			   dev->tag, plus ? "READDIRPLUS" : "READDIR", pos);
	if (plus)
		dirplus_forget_all(dev, buf, pos);
	mutex_unlock(&ff->dir_lock);
	return -EIO;
}

static int vf_dir_open(struct inode *inode, struct file *file)
{
	return vf_open_common(inode, file, true);
}

static int vf_dir_release(struct inode *inode, struct file *file)
{
	vf_release_common(inode, file, true);
	return 0;
}

static int vf_dir_fsync(struct file *file, loff_t start, loff_t end,
			int datasync)
{
	struct vf_file *ff = file->private_data;
	struct fuse_fsync_in in = {
		.fh = ff->fh,
		.fsync_flags = datasync ? FUSE_FSYNC_FDATASYNC : 0,
	};
	struct vf_args a = {
		.opcode = FUSE_FSYNCDIR,
		.nodeid = ff->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
	};
	int err = vf_send(ff->dev, &a);

	return err == -ENOSYS ? 0 : err;
}

const struct file_operations vf_dir_fops = {
	.llseek = generic_file_llseek,
	.read = generic_read_dir,
	.iterate_shared = vf_readdir,
	.open = vf_dir_open,
	.release = vf_dir_release,
	.fsync = vf_dir_fsync,
};
