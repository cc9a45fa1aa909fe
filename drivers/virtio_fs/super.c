// SPDX-License-Identifier: GPL-2.0
/*
 * The file system types, mounting by tag, the FUSE session (INIT, DESTROY)
 * and the super block.
 *
 * "vireofs" is always registered; "virtiofs" too when no other file system
 * has that name (the in-tree virtiofs is built into Debian's 6.12).
 */
#include <linux/backing-dev.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/statfs.h>

#include "fs.h"

#define VF_SUPER_MAGIC		0x65735546	/* FUSE's, as the in-tree one */
#define VF_MIN_MINOR		28		/* max_pages, time_gran exist */

struct kmem_cache *vf_inode_cachep;

static int vf_init_session(struct vf_dev *dev, struct super_block *sb)
{
	struct vf_conn *c = &dev->conn;
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = VF_RA_PAGES * PAGE_SIZE,
	};
	struct fuse_init_out out = { 0 };
	struct vf_args a = {
		.opcode = FUSE_INIT,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
		.out = &out,
		.out_size = sizeof(out),
		.force = true,
	};
	u64 want, got;
	int err;

	/*
	 * What vireo_fs implements; everything else is left out so that the
	 * daemon never relies on it.
	 */
	want = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
	       FUSE_DO_READDIRPLUS | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES |
	       FUSE_INIT_EXT;
	want |= FUSE_READDIRPLUS_AUTO;		/* dir.c: use_readdirplus() */
	want |= FUSE_HANDLE_KILLPRIV_V2;	/* inode.c: vf_setattr_inode() */
	/* acl.c; virtiofsd grants POSIX_ACL only with the other two. */
	if (IS_ENABLED(CONFIG_FS_POSIX_ACL))
		want |= FUSE_POSIX_ACL | FUSE_DONT_MASK | FUSE_SETXATTR_EXT;
	/* lock.c: the daemon's locks (virtiofsd -o posix_lock, -o flock) */
	want |= FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS;
	/* file.c, inode.c: the page cache holds writes (virtiofsd -o writeback) */
	want |= FUSE_WRITEBACK_CACHE;
	/* inode.c: vf_change_attributes() keeps the cache on a new mtime */
	want |= FUSE_EXPLICIT_INVAL_DATA;
	in.flags = lower_32_bits(want);
	in.flags2 = upper_32_bits(want);

	err = vf_send(dev, &a);
	if (err) {
		pr_err("vireo_fs %s: INIT failed: %d\n", dev->tag, err);
		return err;
	}
	if (a.out_got < FUSE_COMPAT_22_INIT_OUT_SIZE) {
		pr_err("vireo_fs %s: INIT reply of %u bytes is too short\n",
		       dev->tag, a.out_got);
		return -EIO;
	}
	if (out.major != FUSE_KERNEL_VERSION || out.minor < VF_MIN_MINOR) {
		pr_err("vireo_fs %s: the daemon speaks FUSE %u.%u; vireo_fs needs %u.%u or later\n",
		       dev->tag, out.major, out.minor, FUSE_KERNEL_VERSION,
		       VF_MIN_MINOR);
		return -EPROTO;
	}
	memset(c, 0, sizeof(*c));
	c->minor = min_t(u32, out.minor, FUSE_KERNEL_MINOR_VERSION);
	get_random_bytes(&c->lock_key, sizeof(c->lock_key));
	got = out.flags;
	if (got & FUSE_INIT_EXT)
		got |= (u64)out.flags2 << 32;
	c->flags = got & want;
	/* SETXATTR_EXT is FUSE 7.33: an older daemon's bit means nothing. */
	if (c->minor < 33)
		c->flags &= ~FUSE_SETXATTR_EXT;
	/* Nor EXPLICIT_INVAL_DATA's before 7.30. */
	if (c->minor < 30)
		c->flags &= ~FUSE_EXPLICIT_INVAL_DATA;
	/*
	 * The host's ACLs: the guest checks them (generic_permission), and
	 * system.posix_acl_* are the kernel's (acl.c).
	 */
	if (c->flags & FUSE_POSIX_ACL) {
		sb->s_flags |= SB_POSIXACL;
		sb->s_xattr = vf_acl_xattr_handlers;
	}

	c->max_pages = VF_MAX_PAGES;
	if ((c->flags & FUSE_MAX_PAGES) && !out.max_pages) {
		/* As the in-tree FUSE: no fewer than one page a request. */
		pr_warn("vireo_fs %s: ignoring max_pages 0 from the daemon: using 1\n",
			dev->tag);
		c->max_pages = 1;
	} else if (c->flags & FUSE_MAX_PAGES) {
		c->max_pages = min_t(u32, out.max_pages, VF_MAX_PAGES);
	}
	c->max_write = clamp_t(u32, out.max_write, PAGE_SIZE,
			       c->max_pages * PAGE_SIZE);
	if (!(c->flags & FUSE_BIG_WRITES))
		c->max_write = PAGE_SIZE;
	c->max_read = c->max_pages * PAGE_SIZE;
	c->max_readahead = min_t(u32, out.max_readahead, in.max_readahead);
	c->time_gran = out.time_gran;
	if (!c->time_gran || c->time_gran > NSEC_PER_SEC)
		c->time_gran = 1;
	sb->s_time_gran = c->time_gran;
	pr_info("vireo_fs %s: FUSE %u.%u, max_write %u, max_pages %u, max_readahead %u, time_gran %u, flags 0x%llx%s%s\n",
		dev->tag, out.major, c->minor, c->max_write, c->max_pages,
		c->max_readahead, c->time_gran, c->flags,
		(c->flags & FUSE_EXPLICIT_INVAL_DATA) ? ", explicit inval data" : "",
		(c->flags & FUSE_WRITEBACK_CACHE) ? ", writeback cache" : "");
	return 0;
}

static void vf_destroy_session(struct vf_dev *dev)
{
	struct vf_args a = { .opcode = FUSE_DESTROY, .force = true };

	if (!READ_ONCE(dev->dead))
		vf_send(dev, &a);
}

static struct inode *vf_alloc_inode(struct super_block *sb)
{
	struct vf_inode *vi;

	vi = alloc_inode_sb(sb, vf_inode_cachep, GFP_KERNEL);
	if (!vi)
		return NULL;
	vi->nodeid = 0;
	vi->nlookup = 0;
	vi->attr_expire = 0;
	vi->attr_version = 0;
	vi->state = 0;
	mutex_init(&vi->io_lock);
	spin_lock_init(&vi->lock);
	spin_lock_init(&vi->ra_lock);
	vi->ra_err = 0;
	INIT_LIST_HEAD(&vi->open_files);
	return &vi->inode;
}

static void vf_free_inode(struct inode *inode)
{
	kmem_cache_free(vf_inode_cachep, VF_I(inode));
}

static void vf_evict_inode(struct inode *inode)
{
	struct vf_inode *vi = VF_I(inode);
	struct vf_dev *dev = VF_DEV(inode);

	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	/* After DESTROY (umount) the daemon forgot everything itself. */
	if (vi->nlookup && vi->nodeid != FUSE_ROOT_ID && dev->mounted)
		vf_forget(dev, vi->nodeid, vi->nlookup);
}

static int vf_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct vf_dev *dev = VF_SB(dentry->d_sb);
	struct fuse_statfs_out out;
	struct vf_args a = {
		.opcode = FUSE_STATFS,
		.nodeid = VF_I(d_inode(dentry))->nodeid,
		.out = &out,
		.out_size = sizeof(out),
		.out_exact = true,
	};
	int err;

	err = vf_send(dev, &a);
	if (err)
		return err;
	buf->f_type = VF_SUPER_MAGIC;
	buf->f_bsize = out.st.bsize;
	buf->f_frsize = out.st.frsize;
	buf->f_blocks = out.st.blocks;
	buf->f_bfree = out.st.bfree;
	buf->f_bavail = out.st.bavail;
	buf->f_files = out.st.files;
	buf->f_ffree = out.st.ffree;
	buf->f_namelen = out.st.namelen;
	return 0;
}

static int vf_show_options(struct seq_file *m, struct dentry *root)
{
	/* Nothing beyond the defaults; the tag is the source. */
	return 0;
}

/*
 * sync(2), syncfs(2): once the guest's dirty pages went out (wait == 1),
 * the daemon syncs the host file system (FUSE_SYNCFS, 7.34). A daemon
 * without it (ENOSYS, remembered) leaves this a local no-op: every write
 * already went to the daemon. The request is about the whole file system:
 * the root's node id.
 */
static int vf_sync_fs(struct super_block *sb, int wait)
{
	struct vf_dev *dev = VF_SB(sb);
	struct fuse_syncfs_in in = { 0 };
	struct vf_args a = {
		.opcode = FUSE_SYNCFS,
		.nodeid = FUSE_ROOT_ID,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
	};
	int err;

	/*
	 * No s_root: umount (generic_shutdown_super syncs after it dropped
	 * the dentries; DESTROY follows) or a mount that never got a root.
	 */
	if (!wait || !sb->s_root || dev->conn.minor < 34)
		return 0;
	err = vf_send(dev, &a);
	return err == -ENOSYS ? 0 : err;
}

static const struct super_operations vf_super_ops = {
	.alloc_inode = vf_alloc_inode,
	.free_inode = vf_free_inode,
	.evict_inode = vf_evict_inode,
	.write_inode = vf_write_inode,
	.drop_inode = generic_delete_inode,
	.statfs = vf_statfs,
	.sync_fs = vf_sync_fs,
	.show_options = vf_show_options,
};

static int vf_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct vf_dev *dev = sb->s_fs_info;
	struct fuse_attr_out out;
	struct vf_args a = {
		.opcode = FUSE_GETATTR,
		.nodeid = FUSE_ROOT_ID,
		.out = &out,
		.out_size = sizeof(out),
		.out_exact = true,
	};
	struct fuse_getattr_in gin = { 0 };
	struct inode *root;
	int err;

	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_magic = VF_SUPER_MAGIC;
	sb->s_op = &vf_super_ops;
	sb->s_xattr = vf_xattr_handlers;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_d_op = &vf_dentry_ops;

	err = vf_init_session(dev, sb);
	if (err)
		return err;
	/* A bdi of its own: writeback (shared mmap) and readahead need one. */
	err = super_setup_bdi(sb);
	if (err)
		return err;
	sb->s_bdi->ra_pages = dev->conn.max_readahead / PAGE_SIZE;
	sb->s_bdi->io_pages = dev->conn.max_pages;
	dev->mounted = true;
	dev->sb = sb;

	a.nr_in = 1;
	a.in[0] = &gin;
	a.in_size[0] = sizeof(gin);
	err = vf_send(dev, &a);
	if (err) {
		pr_err("vireo_fs %s: cannot get the root's attributes: %d\n",
		       dev->tag, err);
		return err;
	}
	if (!S_ISDIR(out.attr.mode)) {
		pr_err("vireo_fs %s: the root is not a directory\n", dev->tag);
		return -EIO;
	}
	root = vf_iget(sb, FUSE_ROOT_ID, &out.attr, out.attr_valid,
		       out.attr_valid_nsec, 0);
	if (IS_ERR(root))
		return PTR_ERR(root);
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;
	return 0;
}

enum { OPT_DAX, OPT_DAX_ENUM };

static const struct constant_table dax_modes[] = {
	{ "always", 1 },
	{ "never", 0 },
	{ "inode", 2 },
	{}
};

static const struct fs_parameter_spec vf_params[] = {
	fsparam_flag("dax", OPT_DAX),
	fsparam_enum("dax", OPT_DAX_ENUM, dax_modes),
	{}
};

static int vf_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	struct fs_parse_result result;
	int opt;

	opt = fs_parse(fc, vf_params, param, &result);
	if (opt < 0)
		return opt;
	/* QEMU 7.2's vhost-user-fs has no DAX window; vireo_fs has no DAX. */
	if (opt == OPT_DAX || result.uint_32 != 0)
		return invalfc(fc, "dax is not supported (the device has no DAX window)");
	return 0;
}

static int vf_test_super(struct super_block *sb, struct fs_context *fc)
{
	return sb->s_fs_info == fc->s_fs_info;
}

/* sget_fc() moves fc->s_fs_info (a device reference) into a new sb. */
static int vf_set_super(struct super_block *sb, struct fs_context *fc)
{
	return set_anon_super_fc(sb, fc);
}

static int vf_get_tree(struct fs_context *fc)
{
	struct vf_dev *dev;
	struct super_block *sb;
	int err;

	if (!fc->source)
		return invalfc(fc, "no tag given (mount -t %s TAG DIR)",
			       fc->fs_type->name);
	dev = vf_dev_get_by_tag(fc->source);
	if (!dev) {
		pr_err("vireo_fs: no virtio-fs device with tag '%s'\n",
		       fc->source);
		return -ENOENT;
	}
	/* A new sb takes this reference; a shared one leaves it to ->free. */
	fc->s_fs_info = dev;
	sb = sget_fc(fc, vf_test_super, vf_set_super);
	if (IS_ERR(sb))
		return PTR_ERR(sb);
	if (!sb->s_root) {
		mutex_lock(&dev->dev_lock);
		if (dev->mounted || dev->dead) {
			err = dev->dead ? vf_dead_error(dev) : -EBUSY;
			mutex_unlock(&dev->dev_lock);
			deactivate_locked_super(sb);
			return err;
		}
		mutex_unlock(&dev->dev_lock);
		err = vf_fill_super(sb, fc);
		if (err) {
			deactivate_locked_super(sb);
			return err;
		}
		sb->s_flags |= SB_ACTIVE;
	}
	fc->root = dget(sb->s_root);
	return 0;
}

static void vf_kill_sb(struct super_block *sb)
{
	struct vf_dev *dev = sb->s_fs_info;

	/*
	 * Dirty pages were written back when their files were closed; what is
	 * left (a failed writeback) is dropped with the inodes.
	 */
	if (dev && dev->mounted && sb->s_root) {
		sync_filesystem(sb);
		/* DESTROY forgets every node: queued forgets are moot. */
		vf_forget_drop(dev);
		vf_destroy_session(dev);
	}
	if (dev)
		dev->mounted = false;
	kill_anon_super(sb);
	if (dev) {
		vf_forget_drop(dev);
		dev->sb = NULL;
		vf_dev_put(dev);
	}
}

static void vf_free_fc(struct fs_context *fc)
{
	if (fc->s_fs_info)
		vf_dev_put(fc->s_fs_info);
}

static const struct fs_context_operations vf_context_ops = {
	.free = vf_free_fc,
	.parse_param = vf_parse_param,
	.get_tree = vf_get_tree,
};

static int vf_init_fs_context(struct fs_context *fc)
{
	fc->ops = &vf_context_ops;
	return 0;
}

static struct file_system_type vireofs_type = {
	.owner = THIS_MODULE,
	.name = "vireofs",
	.init_fs_context = vf_init_fs_context,
	.parameters = vf_params,
	.kill_sb = vf_kill_sb,
};

static struct file_system_type virtiofs_type = {
	.owner = THIS_MODULE,
	.name = "virtiofs",
	.init_fs_context = vf_init_fs_context,
	.parameters = vf_params,
	.kill_sb = vf_kill_sb,
};

static bool virtiofs_registered;

int vf_register_fs(void)
{
	int err;

	err = register_filesystem(&vireofs_type);
	if (err)
		return err;
	/* Taken by the in-tree virtiofs when that is loaded or built in. */
	err = register_filesystem(&virtiofs_type);
	if (!err) {
		virtiofs_registered = true;
		pr_info("vireo_fs: file systems vireofs and virtiofs registered\n");
	} else {
		pr_info("vireo_fs: the name virtiofs is taken (the in-tree virtiofs is loaded or built in): mount with -t vireofs\n");
	}
	return 0;
}

void vf_unregister_fs(void)
{
	if (virtiofs_registered)
		unregister_filesystem(&virtiofs_type);
	unregister_filesystem(&vireofs_type);
}

static void vf_inode_once(void *p)
{
	struct vf_inode *vi = p;

	inode_init_once(&vi->inode);
}

static int __init vf_init(void)
{
	int err;

	vf_inode_cachep = kmem_cache_create("vireo_fs_inode",
					    sizeof(struct vf_inode), 0,
					    SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
					    vf_inode_once);
	if (!vf_inode_cachep)
		return -ENOMEM;
	err = vf_register_fs();
	if (err)
		goto cache;
	err = vf_register_driver();
	if (err)
		goto fs;
	return 0;
fs:
	vf_unregister_fs();
cache:
	kmem_cache_destroy(vf_inode_cachep);
	return err;
}

static void __exit vf_exit(void)
{
	vf_unregister_driver();
	vf_unregister_fs();
	/* Inodes are freed after an RCU grace period. */
	rcu_barrier();
	kmem_cache_destroy(vf_inode_cachep);
}

module_init(vf_init);
module_exit(vf_exit);

VIREO_MODULE_ALIAS_DEVICE(VIRTIO_ID_FS);
MODULE_ALIAS_FS("vireofs");
VIREO_IMPORT_NS();
MODULE_DESCRIPTION("vireo virtio file system (a FUSE client over virtqueues)");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIREO_VERSION);
