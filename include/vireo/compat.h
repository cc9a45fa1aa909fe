/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between the kernels vireo supports, in one place.
 * Driver code includes this (through virtio.h) and never tests
 * LINUX_VERSION_CODE itself.
 */
#ifndef _VIREO_COMPAT_H
#define _VIREO_COMPAT_H

#include <linux/version.h>
#include <linux/module.h>

#ifdef __BIG_ENDIAN
/*
 * Ring and config fields are handled as little-endian, which is what virtio
 * 1.x specifies and what legacy devices use on x86 guests.
 */
#error "vireo supports little-endian guests only"
#endif

/*
 * Exported symbols live in the VIREO namespace. Since 6.13 the namespace
 * argument is a string literal.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define VIREO_NS		"VIREO"
#else
#define VIREO_NS		VIREO
#endif
#define VIREO_EXPORT(sym)	EXPORT_SYMBOL_NS_GPL(sym, VIREO_NS)
#define VIREO_IMPORT_NS()	MODULE_IMPORT_NS(VIREO_NS)

/* struct bus_type callbacks take a const driver since 6.11. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#define VIREO_BUS_MATCH_DRV_CONST const
#else
#define VIREO_BUS_MATCH_DRV_CONST
#endif

/* ... and a const device for uevent since 6.3. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define VIREO_BUS_UEVENT_DEV_CONST const
#else
#define VIREO_BUS_UEVENT_DEV_CONST
#endif

/* The driver core takes a const struct bus_type since 6.4. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define VIREO_BUS_CONST const
#else
#define VIREO_BUS_CONST
#endif

/* ---- vireo_transport ---------------------------------------------------- */

/* PCI_IRQ_LEGACY was renamed PCI_IRQ_INTX; the old name is gone in 6.10. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define VIREO_PCI_IRQ_INTX	PCI_IRQ_INTX
#else
#define VIREO_PCI_IRQ_INTX	PCI_IRQ_LEGACY
#endif

/*
 * platform_driver.remove returns void since 6.11; before that the void
 * callback is .remove_new (Debian's 6.1 has it). Use as
 * ".VIREO_PLATFORM_REMOVE = fn," with a void fn.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#define VIREO_PLATFORM_REMOVE	remove
#else
#define VIREO_PLATFORM_REMOVE	remove_new
#endif

/* ---- end vireo_transport ------------------------------------------------ */

/* ---- vireo_blk ---------------------------------------------------------- */

#include <linux/blk-mq.h>
#include <linux/blkdev.h>

/*
 * Allocating a blk-mq disk. Since 6.11 the disk is allocated with its
 * queue_limits, feature flags (volatile write cache, rotational) included;
 * up to 6.8 the limits were set one by one on the queue afterwards (6.9 and
 * 6.10 are in between and not supported). vireo_blk fills the queue_limits
 * fields both kernels have and passes the features as VIREO_BLK_* flags.
 */
#define VIREO_BLK_WRITE_CACHE	BIT(0)	/* volatile write cache: flushes */
#define VIREO_BLK_ROTATIONAL	BIT(1)

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
static inline struct gendisk *
vireo_blk_mq_alloc_disk(struct blk_mq_tag_set *set, struct queue_limits *lim,
			unsigned int flags, void *queuedata)
{
	if (flags & VIREO_BLK_WRITE_CACHE)
		lim->features |= BLK_FEAT_WRITE_CACHE;
	if (flags & VIREO_BLK_ROTATIONAL)
		lim->features |= BLK_FEAT_ROTATIONAL;
	return blk_mq_alloc_disk(set, lim, queuedata);
}

/* Turns the volatile write cache (and with it flushes) on or off. */
static inline int vireo_blk_set_write_cache(struct gendisk *disk, bool on)
{
	struct queue_limits lim = queue_limits_start_update(disk->queue);

	if (on)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	else
		lim.features &= ~BLK_FEAT_WRITE_CACHE;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0)
	return queue_limits_commit_update_frozen(disk->queue, &lim);
#else
	{
		int err;

		blk_mq_freeze_queue(disk->queue);
		err = queue_limits_commit_update(disk->queue, &lim);
		blk_mq_unfreeze_queue(disk->queue);
		return err;
	}
#endif
}
#else
static inline struct gendisk *
vireo_blk_mq_alloc_disk(struct blk_mq_tag_set *set, struct queue_limits *lim,
			unsigned int flags, void *queuedata)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, queuedata);
	struct request_queue *q;

	if (IS_ERR(disk))
		return disk;
	q = disk->queue;
	/* In this order: each setter checks against the ones before. */
	blk_queue_logical_block_size(q, lim->logical_block_size ?: SECTOR_SIZE);
	blk_queue_physical_block_size(q, lim->physical_block_size);
	blk_queue_alignment_offset(q, lim->alignment_offset);
	blk_queue_io_min(q, lim->io_min);
	blk_queue_io_opt(q, lim->io_opt);
	blk_queue_max_hw_sectors(q, lim->max_hw_sectors);
	blk_queue_max_segments(q, lim->max_segments);
	blk_queue_max_segment_size(q, lim->max_segment_size);
	blk_queue_max_discard_sectors(q, lim->max_hw_discard_sectors);
	blk_queue_max_discard_segments(q, lim->max_discard_segments);
	q->limits.discard_granularity = lim->discard_granularity;
	blk_queue_max_write_zeroes_sectors(q, lim->max_write_zeroes_sectors);
	blk_queue_write_cache(q, flags & VIREO_BLK_WRITE_CACHE, false);
	if (!(flags & VIREO_BLK_ROTATIONAL))
		blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	return disk;
}

static inline int vireo_blk_set_write_cache(struct gendisk *disk, bool on)
{
	blk_queue_write_cache(disk->queue, on, false);
	return 0;
}
#endif

/*
 * The request list blk-mq hands to ->queue_rqs: a chain of struct request
 * until struct rq_list came (6.13, and backported into later 6.12.y, so no
 * version test is right). The completion batch changed with it: its field's
 * type names the right one on every kernel. rq_list_pop() takes a pointer
 * to either.
 */
#define vireo_rq_list	typeof(((struct io_comp_batch *)0)->req_list)

/* ---- end vireo_blk ------------------------------------------------------ */

/* 6.1's uapi <linux/virtio_config.h> predates the name (virtio 1.2, 6). */
#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA	38
#endif

/* ---- vireo_fs ----------------------------------------------------------- */

#include <linux/fs.h>
#include <linux/writeback.h>
#include <linux/pagemap.h>

/*
 * Inode operations take the mount's idmapping: a struct mnt_idmap since
 * 6.3, the mount's user namespace before.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define vireo_idmap_t		struct mnt_idmap
#define VIREO_NOP_IDMAP		(&nop_mnt_idmap)
#else
#define vireo_idmap_t		struct user_namespace
#define VIREO_NOP_IDMAP		(&init_user_ns)
#endif

/* generic_fillattr() takes the statx request mask since 6.6. */
static inline void vireo_generic_fillattr(vireo_idmap_t *idmap, u32 mask,
					  struct inode *inode,
					  struct kstat *stat)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	generic_fillattr(idmap, mask, inode, stat);
#else
	generic_fillattr(idmap, inode, stat);
#endif
}

/* atime and mtime are behind accessors since 6.7 (ctime since 6.6). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
static inline void vireo_inode_set_amtime(struct inode *inode,
					  struct timespec64 at,
					  struct timespec64 mt)
{
	inode_set_atime_to_ts(inode, at);
	inode_set_mtime_to_ts(inode, mt);
}

static inline struct timespec64 vireo_inode_mtime(struct inode *inode)
{
	return inode_get_mtime(inode);
}

static inline void vireo_inode_set_mtime(struct inode *inode,
					 struct timespec64 mt)
{
	inode_set_mtime_to_ts(inode, mt);
}
#else
static inline void vireo_inode_set_amtime(struct inode *inode,
					  struct timespec64 at,
					  struct timespec64 mt)
{
	inode->i_atime = at;
	inode->i_mtime = mt;
}

static inline struct timespec64 vireo_inode_mtime(struct inode *inode)
{
	return inode->i_mtime;
}

static inline void vireo_inode_set_mtime(struct inode *inode,
					 struct timespec64 mt)
{
	inode->i_mtime = mt;
}
#endif

/*
 * write_cache_pages() hands its callback a folio since 6.3, a page before.
 * Declare the callback as
 *	static int cb(VIREO_WRITEPAGE_ARG, struct writeback_control *wbc,
 *		      void *data)
 * and get the folio with VIREO_WRITEPAGE_FOLIO.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define VIREO_WRITEPAGE_ARG	struct folio *vireo_wp_folio
#define VIREO_WRITEPAGE_FOLIO	(vireo_wp_folio)
#else
#define VIREO_WRITEPAGE_ARG	struct page *vireo_wp_page
#define VIREO_WRITEPAGE_FOLIO	page_folio(vireo_wp_page)
#endif

/*
 * write_begin and write_end pass a folio since 6.12, a page before:
 * declare them with VIREO_WB_PAGE *, convert with vireo_wb_folio() and
 * vireo_wb_page(); vireo_write_begin_folio() is the locked, stable folio
 * for a buffered write at @index, or NULL.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define VIREO_WB_PAGE		struct folio
static inline struct folio *vireo_wb_folio(struct folio *folio)
{
	return folio;
}

static inline struct folio *vireo_wb_page(struct folio *folio)
{
	return folio;
}

static inline struct folio *
vireo_write_begin_folio(struct address_space *mapping, pgoff_t index)
{
	struct folio *folio = __filemap_get_folio(mapping, index, FGP_WRITEBEGIN,
						  mapping_gfp_mask(mapping));

	return IS_ERR(folio) ? NULL : folio;
}
#else
#define VIREO_WB_PAGE		struct page
static inline struct folio *vireo_wb_folio(struct page *page)
{
	return page_folio(page);
}

static inline struct page *vireo_wb_page(struct folio *folio)
{
	return &folio->page;
}

static inline struct folio *
vireo_write_begin_folio(struct address_space *mapping, pgoff_t index)
{
	struct page *page = grab_cache_page_write_begin(mapping, index);

	return page ? page_folio(page) : NULL;
}
#endif

/*
 * generic_perform_write() moves ki_pos itself since 6.5, and in the 6.1
 * stable releases that took that change (Debian's 6.1.0-57 has it); before,
 * the caller does. Which one is seen at run time: the position moved or not.
 */
static inline ssize_t vireo_perform_write(struct kiocb *iocb,
					  struct iov_iter *from)
{
	loff_t pos = iocb->ki_pos;
	ssize_t ret = generic_perform_write(iocb, from);

	if (ret > 0 && iocb->ki_pos == pos)
		iocb->ki_pos += ret;
	return ret;
}

/* ---- end vireo_fs ------------------------------------------------------- */
/* ---- vireo_balloon ------------------------------------------------------ */

#include <linux/virtio_balloon.h>

/*
 * Statistics tags 10-15 (OOM kills, allocation stalls, scans, reclaims) came
 * with 6.12's uapi header; the numbers are the specification's (virtio 1.3,
 * 5.5.6.3), the same on every kernel.
 */
#ifndef VIRTIO_BALLOON_S_OOM_KILL
#define VIRTIO_BALLOON_S_OOM_KILL	10
#define VIRTIO_BALLOON_S_ALLOC_STALL	11
#define VIRTIO_BALLOON_S_ASYNC_SCAN	12
#define VIRTIO_BALLOON_S_DIRECT_SCAN	13
#define VIRTIO_BALLOON_S_ASYNC_RECLAIM	14
#define VIRTIO_BALLOON_S_DIRECT_RECLAIM	15
#endif

/* ---- end vireo_balloon -------------------------------------------------- */

/* ---- vireo_net ---------------------------------------------------------- */

/*
 * ethtool -S: up to 6.9 the in-tree virtio_net names each queue's counters
 * rx_queue_N_packets, tx_queue_N_kicks, ...; from 6.10 (device statistics)
 * it prints totals first (rx_drops, tx_kicks, ...), then rxN_drops, ...,
 * and reports packets and bytes per queue through the netdev queue
 * statistics (struct netdev_stat_ops, netlink qstats) instead. vireo_net
 * uses the names of the kernel it runs on.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define VIREO_NET_QSTATS	1
#include <net/netdev_queues.h>
#else
#define VIREO_NET_QSTATS	0
#endif

/*
 * ethtool -k rx-checksumming: 6.12's in-tree virtio_net claims it always
 * (fixed), 6.1's only with VIRTIO_NET_F_GUEST_CSUM.
 */
#define VIREO_NET_RXCSUM_ALWAYS	VIREO_NET_QSTATS

/*
 * ethtool get_rxfh/set_rxfh: from 6.8 they take struct ethtool_rxfh_param
 * (and set_rxfh an extack), before that the table, key and hash function
 * one by one; vireo_net defines the shape VIREO_NET_RXFH_PARAM says.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define VIREO_NET_RXFH_PARAM	1
#else
#define VIREO_NET_RXFH_PARAM	0
#endif

/* ---- end vireo_net ------------------------------------------------------ */

/* ---- vireo_fs (splice) --------------------------------------------------- */

/*
 * splice_read: from 6.5 filemap_splice_read() takes the page cache's folios
 * without ->read_iter and copy_splice_read() goes through ->read_iter; up
 * to 6.4 generic_file_splice_read() does the latter for every file.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define vireo_filemap_splice_read	filemap_splice_read
#define vireo_copy_splice_read		copy_splice_read
#else
#define vireo_filemap_splice_read	generic_file_splice_read
#define vireo_copy_splice_read		generic_file_splice_read
#endif

/* ---- end vireo_fs (splice) ---------------------------------------------- */

/* ---- vireo_fs (POSIX ACLs) ---------------------------------------------- */

#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>

/*
 * The ACL inode operations. Up to 6.1 ->get_acl(inode, type, rcu) feeds
 * both the permission check and getxattr, ->set_acl takes the inode, and
 * the names system.posix_acl_* reach them only through the xattr handlers
 * the VFS exports, which the file system lists in s_xattr
 * (VIREO_ACL_XATTR_HANDLERS). Since 6.2 the same ->get_acl is called
 * ->get_inode_acl, ->set_acl takes the dentry, and the VFS routes the ACL
 * names to the inode operations itself. Declare set_acl as
 *	int fn(vireo_idmap_t *idmap, VIREO_ACL_TARGET *target,
 *	       struct posix_acl *acl, int type)
 * and get its inode with vireo_acl_inode(target).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define VIREO_GET_INODE_ACL		get_inode_acl
#define VIREO_ACL_TARGET		struct dentry
#define vireo_acl_inode(target)		d_inode(target)
#define VIREO_ACL_XATTR_HANDLERS	0
#else
#define VIREO_GET_INODE_ACL		get_acl
#define VIREO_ACL_TARGET		struct inode
#define vireo_acl_inode(target)		(target)
#define VIREO_ACL_XATTR_HANDLERS	1
#endif

/* ---- end vireo_fs (POSIX ACLs) ------------------------------------------ */

/* ---- vireo_fs (locks) --------------------------------------------------- */

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#include <linux/filelock.h>
#endif

/*
 * struct file_lock's owner, flags, type and pid moved into its
 * file_lock_core (fl->c.flc_*) in 6.9; the range stayed (fl_start, fl_end).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
#define VIREO_FLC(fl, field)		((fl)->c.flc_##field)
#else
#define VIREO_FLC(fl, field)		((fl)->fl_##field)
#endif

/* ---- end vireo_fs (locks) ----------------------------------------------- */

#endif /* _VIREO_COMPAT_H */
