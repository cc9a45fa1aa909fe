/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vireo_fs: a FUSE client over the virtio file system device (virtio 1.2,
 * 5.11). The wire protocol is the kernel's public uapi <linux/fuse.h>; the
 * file system is built on the VFS's public helpers (page cache, generic
 * read/write iterators, lock bookkeeping).
 */
#ifndef _VIREO_FS_H
#define _VIREO_FS_H

#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/fuse.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/siphash.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <vireo/virtio.h>

#define VF_TAG_LEN		36	/* virtio 1.2, 5.11.4: tag[36] */
#define VF_MAX_REQ_QUEUES	16
#define VF_HIPRIO		0	/* queue 0: FORGET and friends */
#define VF_NAME_MAX		1024	/* longest name in a FUSE dirent */

/*
 * Largest read/write payload of one request, in pages: also bounded by the
 * daemon's max_write and our ring's size.
 */
#define VF_MAX_PAGES		32

/*
 * The readahead window asked for at INIT: four READs of VF_MAX_PAGES in
 * flight at once (readahead is asynchronous, file.c).
 */
#define VF_RA_PAGES		(4 * VF_MAX_PAGES)

struct vf_dev;

/* One request queue (or the hiprio queue) of the device. */
struct vf_queue {
	struct vf_dev *dev;
	struct vireo_vq *vq;
	spinlock_t lock;		/* vq, in_flight */
	struct list_head in_flight;	/* vf_req.node */
	wait_queue_head_t space;	/* waiting for ring room */
	char name[24];
};

/*
 * One FUSE request. Headers and argument structures live in kmalloc'ed
 * buffers owned by the request, file data in @pages; the request is freed
 * when both the caller and the device are done with it (@ref), so a caller
 * that gives up (killed, timed out) never leaves memory the device may
 * still write into.
 */
struct vf_req {
	refcount_t ref;
	struct list_head node;		/* vf_queue.in_flight */
	struct vf_queue *q;
	struct completion done;
	u32 opcode;
	u64 unique;
	bool posted;			/* in a ring */
	bool noreply;			/* FORGET: nothing comes back */
	bool orphan;			/* its caller was killed: undo the reply */
	int error;			/* transport error, or 0 */
	u64 nodeid;			/* of the in header */

	void *in;			/* fuse_in_header + arguments */
	unsigned int in_len;
	void *out;			/* fuse_out_header + reply */
	unsigned int out_cap;		/* bytes reserved for the reply */
	unsigned int out_len;		/* bytes the device wrote (all of it) */

	/* File data after the arguments (WRITE) or after the reply (READ). */
	struct page **pages;
	unsigned int nr_pages;
	unsigned int page_off;		/* into pages[0] */
	unsigned int data_len;
	bool data_out;			/* device-readable (WRITE) */

	struct scatterlist *sg;		/* built at submit */

	/*
	 * Asynchronous requests (readahead): nobody waits; @end runs where
	 * the device gave the request back (the reply path, or a reclaim
	 * after a reset) with the checked result: the data bytes, or an error.
	 * A fixed-size reply structure (WRITE's) is copied to @async_out.
	 */
	void (*end)(struct vf_req *req, ssize_t result);
	void *priv;
	void *async_out;
	unsigned int async_out_size;
	unsigned long submitted;	/* jiffies, for the abort watch */
};

/*
 * The FUSE session on one device: INIT's outcome. One mount per device at a
 * time (the super block is keyed by the device).
 */
struct vf_conn {
	u32 minor;
	u32 max_write;
	u32 max_read;
	u32 max_pages;
	u32 max_readahead;
	u32 time_gran;
	u64 flags;			/* FUSE_* init flags both sides have */
	bool no_open;
	/* lock.c: SETLKW refused (EOPNOTSUPP), waits are SETLK retried */
	bool no_setlkw;
	siphash_key_t lock_key;		/* lock owner ids (vf_lock_owner) */
	/* Opcodes the daemon answered ENOSYS: not sent again. */
	DECLARE_BITMAP(enosys, 64);
};

struct vf_dev {
	struct kref kref;
	struct list_head list;		/* vf_devices */
	struct vireo_device *vd;	/* NULL once removed */
	char tag[VF_TAG_LEN + 1];
	unsigned int nr_queues;		/* request queues */
	struct vf_queue hiprio;
	struct vf_queue *queues;

	/* dev_lock: queue set-up and teardown (probe, remove, freeze, abort) */
	struct mutex dev_lock;
	spinlock_t state_lock;		/* the flags below */
	bool dead;			/* removed, failed or aborted */
	bool frozen;			/* between freeze and restore */
	int dead_err;			/* -ENOTCONN or -EIO */
	wait_queue_head_t state_wq;	/* frozen -> thawed, in-flight drain */
	atomic_t in_flight;
	atomic64_t next_unique;
	atomic64_t attr_version;	/* bumped by every local size change */
	struct work_struct abort_work;
	unsigned int waited;		/* seconds, for the abort log line */
	unsigned long ring_broken;	/* bit 0: a queue broke (the ring said why) */

	/* FORGETs waiting to go out as one BATCH_FORGET; replies of orphans */
	spinlock_t forget_lock;
	struct list_head forgets;	/* vf_forget_ent.node */
	struct delayed_work forget_work;
	struct list_head orphans;	/* vf_req.node */
	struct work_struct orphan_work;

	/* Asynchronous requests in flight; the watch bounds their wait. */
	atomic_t async;
	struct delayed_work async_watch;

	bool mounted;
	struct vf_conn conn;
	struct super_block *sb;
};

/* Per-inode state. */
struct vf_inode {
	struct inode inode;
	u64 nodeid;
	u64 nlookup;			/* LOOKUP replies not yet FORGOTten */
	u64 attr_expire;		/* jiffies */
	u64 attr_version;		/* dev->attr_version at its last change */
	struct mutex io_lock;		/* serialises write paths */
	spinlock_t lock;		/* open_files */
	struct list_head open_files;	/* writable vf_file.node */
	unsigned long state;		/* VF_I_* bits */
	/*
	 * The last readahead READ that failed: its error goes to the reader
	 * of its pages (read_folio), once, instead of a second READ.
	 */
	spinlock_t ra_lock;		/* IRQ-safe: set from the reply path */
	int ra_err;
	pgoff_t ra_index;
	unsigned int ra_nr;
};

/* A LOOKUP in this directory since its last READDIRPLUS (READDIRPLUS_AUTO). */
#define VF_I_ADVISE_RDPLUS	0
/*
 * The inode's attributes came with a READDIRPLUS entry and nobody stat'ed
 * it since: a stat of it advises READDIRPLUS for its directory (the caller
 * uses what a listing brings, as ls -l does).
 */
#define VF_I_FROM_RDPLUS	1

static inline struct vf_inode *VF_I(struct inode *inode)
{
	return container_of(inode, struct vf_inode, inode);
}

/* A file type an inode can have (a FUSE attr's mode is the daemon's word). */
static inline bool vf_valid_type(u32 mode)
{
	return S_ISREG(mode) || S_ISDIR(mode) || S_ISLNK(mode) ||
	       S_ISCHR(mode) || S_ISBLK(mode) || S_ISFIFO(mode) ||
	       S_ISSOCK(mode);
}

/* An open file or directory: the daemon's handle. */
struct vf_file {
	struct vf_dev *dev;
	u64 fh;
	u64 nodeid;
	u32 open_flags;			/* FOPEN_* */
	struct list_head node;		/* vf_inode.open_files */
	bool writable;
	bool flock;			/* a remote flock was taken on it */
	/*
	 * Directories: the last READDIR(PLUS) reply (checked, its lookups
	 * taken), of which the records from @dir_next on were not given to
	 * the reader yet: the next getdents at @dir_pos starts with them.
	 */
	struct mutex dir_lock;
	void *dir_buf;
	unsigned int dir_size;		/* allocated */
	unsigned int dir_len;		/* bytes of records */
	unsigned int dir_next;
	bool dir_plus;			/* fuse_direntplus records */
	u64 dir_pos;
};

static inline struct vf_dev *VF_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

static inline struct vf_dev *VF_DEV(struct inode *inode)
{
	return inode->i_sb->s_fs_info;
}

/* device.c */
struct vf_dev *vf_dev_get_by_tag(const char *tag);
void vf_dev_put(struct vf_dev *dev);
int vf_register_driver(void);
void vf_unregister_driver(void);

/* req.c */
/*
 * A request in one call: @in_args (@in_sizes) after the in header, the
 * reply into @out (at most @out_size bytes; *@out_got gets the length).
 * @exact: the reply must be exactly @out_size bytes (fixed-size replies).
 */
struct vf_args {
	u32 opcode;
	u64 nodeid;
	unsigned int nr_in;
	const void *in[3];
	unsigned int in_size[3];
	void *out;
	unsigned int out_size;
	bool out_exact;
	unsigned int out_got;
	/* file data */
	struct page **pages;
	unsigned int nr_pages;
	unsigned int page_off;
	unsigned int data_len;
	bool data_out;
	bool noreply;
	bool force;			/* send even on an ENOSYS opcode */
	bool pagecache;			/* pages are page cache: never abandon */
	bool unbounded;			/* no abort_timeout (SETLKW blocks) */
};

int vf_send(struct vf_dev *dev, struct vf_args *args);
int vf_send_async(struct vf_dev *dev, struct vf_args *args,
		  void (*end)(struct vf_req *req, ssize_t result), void *priv);
void vf_async_watch(struct work_struct *work);
void vf_queue_done(struct vireo_vq *vq);
void vf_abort_all(struct vf_dev *dev, int err);

/* Under dev->state_lock: the first error the device died of is kept. */
static inline void vf_set_dead_locked(struct vf_dev *dev, int err)
{
	lockdep_assert_held(&dev->state_lock);
	if (!dev->dead) {
		dev->dead = true;
		dev->dead_err = err;
	}
}

void vf_reclaim_queue(struct vf_queue *q, int err);
int vf_dead_error(struct vf_dev *dev);
void vf_forget(struct vf_dev *dev, u64 nodeid, u64 nlookup);
void vf_forget_work(struct work_struct *work);
void vf_forget_drop(struct vf_dev *dev);
void vf_orphan_work(struct work_struct *work);
void vf_dev_works_stop(struct vf_dev *dev);

/* super.c */
extern struct kmem_cache *vf_inode_cachep;
int vf_register_fs(void);
void vf_unregister_fs(void);

/* inode.c */
struct inode *vf_iget(struct super_block *sb, u64 nodeid,
		      struct fuse_attr *attr, u64 attr_valid,
		      u32 attr_valid_nsec, u64 version);
void vf_change_attributes(struct inode *inode, struct fuse_attr *attr,
			  u64 attr_valid, u32 attr_valid_nsec, u64 version);
void vf_attr_changed(struct inode *inode);
u64 vf_attr_version(struct inode *inode);
int vf_refresh_attr(struct inode *inode, struct file *file);
u64 vf_timeout(u64 sec, u32 nsec);
void vf_invalidate_attr(struct inode *inode);
int vf_setattr_inode(struct inode *inode, struct iattr *iattr,
		     struct file *file);
void vf_size_grown(struct inode *inode, loff_t end);
int vf_write_inode(struct inode *inode, struct writeback_control *wbc);
int vf_dir_getattr(vireo_idmap_t *idmap, const struct path *path,
		   struct kstat *stat, u32 request_mask, unsigned int flags);
int vf_dir_setattr(vireo_idmap_t *idmap, struct dentry *dentry,
		   struct iattr *iattr);
int vf_dir_permission(vireo_idmap_t *idmap, struct inode *inode, int mask);
extern const struct inode_operations vf_file_iops;
extern const struct inode_operations vf_symlink_iops;
void vf_init_inode(struct inode *inode, struct fuse_attr *attr);

/* dir.c */
extern const struct inode_operations vf_dir_iops;
extern const struct file_operations vf_dir_fops;
extern const struct dentry_operations vf_dentry_ops;
void vf_readdirplus_orphan(struct vf_dev *dev, const void *buf,
			   unsigned int len);

/* file.c */
extern const struct file_operations vf_file_fops;
extern const struct address_space_operations vf_aops;
int vf_open_common(struct inode *inode, struct file *file, bool dir);
void vf_release_common(struct inode *inode, struct file *file, bool dir);
struct vf_file *vf_file_alloc(struct vf_dev *dev);
void vf_file_install(struct inode *inode, struct file *file,
		     struct vf_file *ff);
bool vf_pick_fh(struct inode *inode, bool write, u64 *fh);
u32 vf_open_flags(struct vf_dev *dev, u32 flags);

/* lock.c */
u64 vf_lock_owner(struct vf_dev *dev, fl_owner_t owner);
int vf_lock(struct file *file, int cmd, struct file_lock *fl);
int vf_flock(struct file *file, int cmd, struct file_lock *fl);

/* xattr.c */
extern const struct xattr_handler *vf_xattr_handlers[];
extern const struct xattr_handler *vf_acl_xattr_handlers[];
ssize_t vf_listxattr(struct dentry *dentry, char *list, size_t size);
ssize_t vf_getxattr(struct inode *inode, const char *name, void *value,
		    size_t size);
int vf_setxattr(struct inode *inode, const char *name, const void *value,
		size_t size, int flags, u32 setxattr_flags);

/* acl.c: only where the daemon granted FUSE_POSIX_ACL (SB_POSIXACL). */
#if IS_ENABLED(CONFIG_FS_POSIX_ACL)
struct posix_acl *vf_get_acl(struct inode *inode, int type, bool rcu);
int vf_set_acl(vireo_idmap_t *idmap, VIREO_ACL_TARGET *target,
	       struct posix_acl *acl, int type);
#define VF_ACL_GET	vf_get_acl
#define VF_ACL_SET	vf_set_acl
#else
#define VF_ACL_GET	NULL
#define VF_ACL_SET	NULL
#endif

/*
 * FUSE_WRITEBACK_CACHE (virtiofsd -o writeback): regular files' writes go
 * through the page cache and reach the daemon at writeback; the guest then
 * keeps the size and mtime/ctime of a regular file (file.c, inode.c).
 */
static inline bool vf_wb_cache(struct inode *inode)
{
	return S_ISREG(inode->i_mode) &&
	       (VF_DEV(inode)->conn.flags & FUSE_WRITEBACK_CACHE);
}

static inline bool vf_posix_acl(struct inode *inode)
{
	return IS_ENABLED(CONFIG_FS_POSIX_ACL) &&
	       (VF_DEV(inode)->conn.flags & FUSE_POSIX_ACL);
}

#endif /* _VIREO_FS_H */
