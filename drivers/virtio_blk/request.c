// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_blk request path.
 *
 * A block request becomes one descriptor chain (virtio 1.2, 5.2.6): a
 * device-readable header, the data (device-readable for writes,
 * device-writable for reads) or the ranges of a discard/write zeroes, and
 * a device-writable status byte. The device returns the chain with the
 * number of bytes it wrote; both that length and the status byte are the
 * device's word, checked in completion.c.
 *
 * This file: submission (queue_rq, the batched queue_rqs, commit_rqs) and
 * the driver's own GET_ID request.
 */
#include <linux/jiffies.h>
#include <linux/slab.h>

#include "blk.h"

/*
 * virtio 1.2, 5.2.6.1: a driver MUST NOT submit a request which would cause
 * a read or write beyond capacity. The block layer checks bios against the
 * capacity it knows, but a shrink can race with requests already queued.
 */
static bool vblk_beyond_capacity(struct request *rq, sector_t sector,
				 unsigned int nr)
{
	sector_t cap = get_capacity(rq->q->disk);

	return sector > cap || nr > cap - sector;
}

/*
 * The payload of a discard, and of a write zeroes, which takes the same
 * ranges (virtio 1.2, 5.2.6): one range per bio.
 */
static blk_status_t vblk_setup_discard(struct vblk *vblk, struct request *rq,
				       struct vblk_req *vbr, u32 flags)
{
	unsigned int n = 1, i = 0;
	struct vblk_range *r;
	struct bio *bio;

	/*
	 * With more than one discard segment the block layer merges
	 * discontiguous discard bios into one request, one range each; other
	 * requests are merged only when contiguous and are one range.
	 */
	if (req_op(rq) == REQ_OP_DISCARD && vblk->max_discard_seg > 1)
		n = blk_rq_nr_discard_segments(rq);
	/* virtio 1.2, 5.2.6.1: no more segments than max_discard_seg. */
	if (req_op(rq) == REQ_OP_DISCARD && n > vblk->max_discard_seg)
		return BLK_STS_IOERR;

	if (n <= VBLK_INLINE_RANGES) {
		r = vbr->inline_range;
	} else {
		r = kmalloc_array(n, sizeof(*r), GFP_ATOMIC);
		if (!r)
			return BLK_STS_RESOURCE;
	}

	if (n == 1) {
		r[0].sector = cpu_to_le64(blk_rq_pos(rq));
		r[0].num_sectors = cpu_to_le32(blk_rq_sectors(rq));
		r[0].flags = cpu_to_le32(flags);
		i = 1;
		if (vblk_beyond_capacity(rq, blk_rq_pos(rq), blk_rq_sectors(rq)))
			goto bad;
	} else {
		__rq_for_each_bio(bio, rq) {
			if (i == n)
				goto bad;
			r[i].sector = cpu_to_le64(bio->bi_iter.bi_sector);
			r[i].num_sectors = cpu_to_le32(bio_sectors(bio));
			r[i].flags = cpu_to_le32(flags);
			if (vblk_beyond_capacity(rq, bio->bi_iter.bi_sector,
						 bio_sectors(bio)))
				goto bad;
			i++;
		}
	}
	vbr->ranges = r;
	vbr->nr_ranges = i;
	return BLK_STS_OK;

bad:
	if (r != vbr->inline_range)
		kfree(r);
	return BLK_STS_IOERR;
}

/* Frees what vblk_prep() and the data mapping took. */
void vblk_unprep(struct vblk_req *vbr)
{
	if (vbr->sgt.orig_nents) {
		sg_free_table_chained(&vbr->sgt, VBLK_INLINE_SG);
		vbr->sgt.orig_nents = 0;
	}
	if (vbr->ranges != vbr->inline_range)
		kfree(vbr->ranges);
	vbr->ranges = NULL;
}

/* Fills the header (and the ranges) of @rq. Inlined into vblk_start(). */
static __always_inline blk_status_t vblk_prep(struct vblk *vblk,
					      struct request *rq,
					      struct vblk_req *vbr)
{
	blk_status_t st;
	u64 sector = 0;
	u32 type;

	vbr->ranges = NULL;
	vbr->nr_ranges = 0;
	vbr->sgt.orig_nents = 0;
	vbr->sgt.nents = 0;
	vbr->in_len = 1;
	vbr->stall_logged = false;
	vbr->aborted = false;
	/* Not a status the device may write: one it did not write is caught. */
	vbr->status = 0xff;

	switch (req_op(rq)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
		type = req_op(rq) == REQ_OP_READ ? VIRTIO_BLK_T_IN :
						   VIRTIO_BLK_T_OUT;
		sector = blk_rq_pos(rq);
		if (vblk_beyond_capacity(rq, sector, blk_rq_sectors(rq)))
			return BLK_STS_IOERR;
		if (type == VIRTIO_BLK_T_IN)
			vbr->in_len += blk_rq_bytes(rq);
		break;
	case REQ_OP_FLUSH:
		/* virtio 1.2, 5.2.6.1: sector 0 and no data for a flush. */
		type = VIRTIO_BLK_T_FLUSH;
		break;
	case REQ_OP_DISCARD:
		type = VIRTIO_BLK_T_DISCARD;
		/* virtio 1.2, 5.2.6.1: unmap MUST be zero for discards. */
		st = vblk_setup_discard(vblk, rq, vbr, 0);
		if (st)
			return st;
		break;
	case REQ_OP_WRITE_ZEROES:
		type = VIRTIO_BLK_T_WRITE_ZEROES;
		st = vblk_setup_discard(vblk, rq, vbr,
					rq->cmd_flags & REQ_NOUNMAP ? 0 :
					VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		if (st)
			return st;
		break;
	case REQ_OP_DRV_IN:
		/* GET_ID: vblk_get_id() filled the header. */
		vbr->in_len += blk_rq_bytes(rq);
		return BLK_STS_OK;
	default:
		return BLK_STS_NOTSUPP;
	}

	vbr->hdr.type = cpu_to_le32(type);
	vbr->hdr.reserved = 0;
	vbr->hdr.sector = cpu_to_le64(sector);
	return BLK_STS_OK;
}

static __always_inline int vblk_map_data(struct request *rq,
					 struct vblk_req *vbr)
{
	unsigned short segs = blk_rq_nr_phys_segments(rq);
	int err;

	if (!blk_rq_bytes(rq) || vbr->ranges || !segs)
		return 0;
	vbr->sgt.sgl = vbr->sg;
	err = sg_alloc_table_chained(&vbr->sgt, segs, vbr->sg, VBLK_INLINE_SG);
	if (err) {
		vbr->sgt.orig_nents = 0;
		return err;
	}
	vbr->sgt.nents = blk_rq_map_sg(rq->q, rq, vbr->sgt.sgl);
	return vbr->sgt.nents;
}

/*
 * The header and the status byte sit at fixed places in the request's PDU
 * for the life of the tag set: their one-entry lists are made once, here,
 * not on every request.
 */
int vblk_init_request(struct blk_mq_tag_set *set, struct request *rq,
		      unsigned int hctx_idx, unsigned int numa_node)
{
	struct vblk_req *vbr = blk_mq_rq_to_pdu(rq);

	sg_init_one(&vbr->hdr_sg, &vbr->hdr, sizeof(vbr->hdr));
	sg_init_one(&vbr->status_sg, &vbr->status, sizeof(vbr->status));
	vbr->sgs[0] = &vbr->hdr_sg;
	return 0;
}

/*
 * Puts the chain of @vbr on @vq. Under the queue's lock. The lists live in
 * the request, not on the stack: the kernel is built to zero every local
 * array and struct, and a local whose address is taken costs a stack
 * canary, on every request.
 */
static __always_inline int vblk_add(struct vireo_vq *vq, struct request *rq,
				    struct vblk_req *vbr)
{
	struct scatterlist **sgs = vbr->sgs;
	unsigned int out = 1, in = 0;

	/* sgs[0] is the header's, for good (vblk_init_request). */
	if (unlikely(vbr->ranges)) {
		/* No data with ranges: the inline data list carries them. */
		sg_init_one(vbr->sg, vbr->ranges,
			    vbr->nr_ranges * sizeof(*vbr->ranges));
		sgs[out++] = vbr->sg;
	} else if (vbr->sgt.nents) {
		if (rq_data_dir(rq) == WRITE)
			sgs[out++] = vbr->sgt.sgl;
		else
			sgs[out + in++] = vbr->sgt.sgl;
	}
	sgs[out + in++] = &vbr->status_sg;

	return vireo_vq_add_sgs(vq, sgs, out, in, vbr, GFP_ATOMIC);
}

/*
 * Prepares @rq for the device and starts it (its stall clock too). Inlined
 * into queue_rq and queue_rqs, as is vblk_enqueue(): a call and its frame
 * on every request otherwise.
 */
static __always_inline blk_status_t vblk_start(struct vblk *vblk,
					       struct request *rq,
					       struct vblk_req *vbr)
{
	blk_status_t st;

	st = vblk_prep(vblk, rq, vbr);
	if (unlikely(st))
		return st;
	if (unlikely(vblk_map_data(rq, vbr) < 0)) {
		vblk_unprep(vbr);
		return BLK_STS_RESOURCE;
	}
	vbr->issued = jiffies;
	blk_mq_start_request(rq);
	return BLK_STS_OK;
}

/*
 * Puts a started request on its queue's ring. Under q->lock; on failure the
 * request is unprepared again and the status says what blk-mq should do.
 */
static __always_inline blk_status_t vblk_enqueue(struct vblk *vblk,
						 struct vblk_queue *q,
						 struct request *rq,
						 struct vblk_req *vbr)
{
	int err;

	/* vblk->dead is set before the abort path takes this lock. */
	if (unlikely(READ_ONCE(vblk->dead) || !q->vq))
		err = -ENODEV;
	else
		err = vblk_add(q->vq, rq, vbr);
	if (likely(!err))
		return BLK_STS_OK;

	vblk_unprep(vbr);
	switch (err) {
	case -ENOSPC:
		return BLK_STS_DEV_RESOURCE;
	case -ENOMEM:
		return BLK_STS_RESOURCE;
	default:
		return BLK_STS_IOERR;
	}
}

blk_status_t vblk_queue_rq(struct blk_mq_hw_ctx *hctx,
			   const struct blk_mq_queue_data *bd)
{
	struct vblk *vblk = hctx->queue->queuedata;
	struct vblk_queue *q = &vblk->queues[hctx->queue_num];
	struct request *rq = bd->rq;
	struct vblk_req *vbr = blk_mq_rq_to_pdu(rq);
	struct vireo_vq *vq;
	unsigned long flags;
	blk_status_t st;
	bool notify;

	st = vblk_start(vblk, rq, vbr);
	if (unlikely(st))
		return st;

	spin_lock_irqsave(&q->lock, flags);
	/*
	 * The queue as it is under the lock: freeze and remove free it only
	 * after blk-mq has no dispatch running, so it stays valid for the
	 * notify below, outside the lock; q->vq itself may be NULL by then.
	 */
	vq = q->vq;
	st = vblk_enqueue(vblk, q, rq, vbr);
	if (unlikely(st)) {
		/* What earlier requests of this batch added must still go. */
		if (st != BLK_STS_IOERR)
			vireo_vq_kick(vq);
		/* Restarted when the device returns a request. */
		if (st == BLK_STS_DEV_RESOURCE) {
			blk_mq_stop_hw_queue(hctx);
			q->stopped = hctx;
		}
		spin_unlock_irqrestore(&q->lock, flags);
		return st;
	}
	notify = bd->last && vireo_vq_kick_prepare(vq);
	spin_unlock_irqrestore(&q->lock, flags);

	if (notify)
		vireo_vq_notify(vq);
	return BLK_STS_OK;
}

/* The hardware queue @rq was mapped to. */
static struct vblk_queue *vblk_rq_queue(struct request *rq)
{
	struct vblk *vblk = rq->q->queuedata;

	return &vblk->queues[rq->mq_hctx->queue_num];
}

/* Hands @rq back to blk-mq later, with status @st. */
static void vblk_defer(struct request **back, struct request *rq,
		       blk_status_t st)
{
	((struct vblk_req *)blk_mq_rq_to_pdu(rq))->result = st;
	rq->rq_next = *back;
	*back = rq;
}

/*
 * A plugged batch (io_uring, plugged submitters): each run of requests for
 * one hardware queue is prepared outside the lock, then goes on the ring
 * under one lock and with one notification. What cannot go now is handed
 * back to blk-mq (requeued, or failed), so the list is always consumed.
 */
void vblk_queue_rqs(vireo_rq_list *rqlist)
{
	struct request *rq, *run, *next, **tail, *back = NULL;
	struct vblk_queue *q;
	struct vireo_vq *vq;
	unsigned long flags;
	struct vblk *vblk;
	blk_status_t st;
	bool notify;

	rq = rq_list_pop(rqlist);
	while (rq) {
		q = vblk_rq_queue(rq);
		vblk = rq->q->queuedata;
		run = NULL;
		tail = &run;
		for (; rq && vblk_rq_queue(rq) == q; rq = rq_list_pop(rqlist)) {
			st = vblk_start(vblk, rq, blk_mq_rq_to_pdu(rq));
			if (unlikely(st)) {
				vblk_defer(&back, rq, st);
				continue;
			}
			*tail = rq;
			tail = &rq->rq_next;
		}
		*tail = NULL;
		if (!run)
			continue;

		spin_lock_irqsave(&q->lock, flags);
		vq = q->vq;	/* see vblk_queue_rq() */
		for (; run; run = next) {
			next = run->rq_next;
			st = vblk_enqueue(vblk, q, run, blk_mq_rq_to_pdu(run));
			if (unlikely(st))
				vblk_defer(&back, run, st);
		}
		notify = vq && vireo_vq_kick_prepare(vq);
		spin_unlock_irqrestore(&q->lock, flags);
		if (notify)
			vireo_vq_notify(vq);
	}

	while ((rq = back)) {
		back = rq->rq_next;
		st = ((struct vblk_req *)blk_mq_rq_to_pdu(rq))->result;
		if (st == BLK_STS_RESOURCE || st == BLK_STS_DEV_RESOURCE)
			blk_mq_requeue_request(rq, true);
		else
			blk_mq_end_request(rq, st);
	}
}

void vblk_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct vblk *vblk = hctx->queue->queuedata;
	struct vblk_queue *q = &vblk->queues[hctx->queue_num];
	struct vireo_vq *vq;
	bool notify = false;

	spin_lock_irq(&q->lock);
	vq = q->vq;	/* see vblk_queue_rq() */
	if (vq && !READ_ONCE(vblk->dead))
		notify = vireo_vq_kick_prepare(vq);
	spin_unlock_irq(&q->lock);

	if (notify)
		vireo_vq_notify(vq);
}

/* Reads the device's ID string (serial) into @buf, 20 bytes. */
int vblk_get_id(struct vblk *vblk, char *buf)
{
	struct request_queue *q = vblk->disk->queue;
	struct vblk_req *vbr;
	struct request *rq;
	int err;

	rq = blk_mq_alloc_request(q, REQ_OP_DRV_IN, 0);
	if (IS_ERR(rq))
		return PTR_ERR(rq);
	vbr = blk_mq_rq_to_pdu(rq);
	vbr->hdr.type = cpu_to_le32(VIRTIO_BLK_T_GET_ID);
	vbr->hdr.reserved = 0;
	vbr->hdr.sector = 0;
	/* virtio 1.2, 5.2.6.1: the data of a GET_ID MUST be 20 bytes. */
	err = blk_rq_map_kern(q, rq, buf, VIRTIO_BLK_ID_BYTES, GFP_KERNEL);
	if (!err)
		err = blk_status_to_errno(blk_execute_rq(rq, false));
	blk_mq_free_request(rq);
	return err;
}
