/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vireo_blk internals, shared by the files of the driver:
 *   main.c        probe, remove, suspend/resume, queues and their CPUs
 *   request.c     submission: requests to descriptor chains, queue_rq(s)
 *   completion.c  what the device returns: status and length checks,
 *                 interrupts, polling, the stall detector, the abort path
 *   config.c      device config space: queue limits, capacity changes,
 *                 geometry, and the sysfs attributes serial and cache_type
 */
#ifndef _VIREO_BLK_H
#define _VIREO_BLK_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/virtio_blk.h>
#include <linux/workqueue.h>

#include <vireo/virtio.h>

/*
 * Wire formats (virtio 1.2, 5.2.6). vireo runs on little-endian guests only,
 * where legacy devices use the same byte order as virtio 1.x ones.
 */
struct vblk_outhdr {
	__le32 type;
	__le32 reserved;		/* "ioprio" in legacy devices */
	__le64 sector;
};

/* One range of a discard or write-zeroes request. */
struct vblk_range {
	__le64 sector;
	__le32 num_sectors;
	__le32 flags;
};

/* Data segments kept in the request itself; more come from the sg pool. */
#define VBLK_INLINE_SG		2
/* Ranges kept in the request itself; more are allocated per request. */
#define VBLK_INLINE_RANGES	1
/* Our own bounds on what a device may ask of us. */
#define VBLK_MAX_SEGS		1024
#define VBLK_MAX_RANGES		256

/* Per-request state, blk-mq's PDU behind each struct request. */
struct vblk_req {
	struct vblk_outhdr hdr;		/* device-readable */
	u8 status;			/* device-writable: VIRTIO_BLK_S_* */
	bool stall_logged;		/* the stall detector spoke once */
	bool aborted;			/* taken back after a reset */
	blk_status_t result;		/* decided when the device returned it */
	unsigned int in_len;		/* device-writable bytes we offered */
	unsigned long issued;		/* jiffies when it went to the device */
	struct vblk_range *ranges;	/* discard/write zeroes payload or NULL */
	unsigned int nr_ranges;
	struct vblk_range inline_range[VBLK_INLINE_RANGES];
	/* One-entry lists of @hdr and @status, made once in init_request. */
	struct scatterlist hdr_sg;
	struct scatterlist status_sg;
	/* The lists of the chain, for vireo_vq_add_sgs(); [0] is @hdr_sg. */
	struct scatterlist *sgs[3];
	struct sg_table sgt;		/* data, if any */
	struct scatterlist sg[];	/* VBLK_INLINE_SG entries */
};

/* One request virtqueue. */
struct vblk_queue {
	spinlock_t lock;		/* the vq; taken in its callback */
	struct vireo_vq *vq;
	/* Stopped on a full ring, under @lock; started by the next completion. */
	struct blk_mq_hw_ctx *stopped;
	char name[20];			/* req.N, req_poll.N */
} ____cacheline_aligned_in_smp;

struct vblk {
	struct vireo_device *vd;	/* NULL once removed */
	struct gendisk *disk;
	struct blk_mq_tag_set tag_set;
	int index;			/* vda = 0, vdb = 1, ... */

	struct vblk_queue *queues;
	unsigned int nr_queues;		/* request virtqueues */
	unsigned int nr_poll;		/* of which polled, no interrupt */
	unsigned int io_queues[HCTX_MAX_TYPES];

	/* Limits decided at probe from the device's config. */
	unsigned int ring_size;		/* descriptors of the smallest queue */
	bool check_len;			/* VERSION_1: the used length is exact */
	unsigned int sg_elems;		/* data segments per request */
	unsigned int max_discard_seg;
	bool wz_may_unmap;
	bool writeback;			/* the cache mode we want */
	bool writeback_set;		/* ... chosen by the user (cache_type) */

	/*
	 * Serialises the things that change the device's state: remove,
	 * freeze/restore, the abort after a failure, config reads for
	 * getgeo and cache_type.
	 */
	struct mutex lock;
	struct work_struct config_work;	/* capacity change */
	struct work_struct abort_work;	/* a queue broke: fail what is queued */
	bool dead;			/* reset for good: requests fail */
	bool stalled;			/* a request outlived abort_timeout */
	bool suspended;			/* between freeze and restore */
	unsigned long logged;		/* VBLK_LOGGED_* bits: log once */
};

enum {
	VBLK_LOGGED_STATUS,		/* a status byte outside the spec */
	VBLK_LOGGED_LEN,		/* a used length that does not fit */
};

static inline bool vblk_has(const struct vblk *vblk, unsigned int bit)
{
	return vireo_has_feature(vblk->vd, bit);
}

/* request.c */
blk_status_t vblk_queue_rq(struct blk_mq_hw_ctx *hctx,
			   const struct blk_mq_queue_data *bd);
void vblk_queue_rqs(vireo_rq_list *rqlist);
void vblk_commit_rqs(struct blk_mq_hw_ctx *hctx);
int vblk_init_request(struct blk_mq_tag_set *set, struct request *rq,
		      unsigned int hctx_idx, unsigned int numa_node);
void vblk_unprep(struct vblk_req *vbr);
int vblk_get_id(struct vblk *vblk, char *buf);

/* completion.c */
extern unsigned int vblk_stall_timeout;
void vblk_vq_done(struct vireo_vq *vq);
void vblk_complete_rq(struct request *rq);
int vblk_poll(struct blk_mq_hw_ctx *hctx, struct io_comp_batch *iob);
enum blk_eh_timer_return vblk_timeout(struct request *rq);
void vblk_reset_reclaim(struct vblk *vblk);
bool vblk_broken(struct vblk *vblk);
void vblk_abort_all(struct vblk *vblk, const char *why);
void vblk_abort_work(struct work_struct *work);

/* config.c */
int vblk_read_limits(struct vblk *vblk, struct queue_limits *lim);
int vblk_read_capacity(struct vblk *vblk, sector_t *capacity);
void vblk_config_work(struct work_struct *work);
int vblk_getgeo(struct block_device *bdev, struct hd_geometry *geo);
void vblk_apply_writeback(struct vblk *vblk);
extern const struct attribute_group *vblk_attr_groups[];

#endif /* _VIREO_BLK_H */
