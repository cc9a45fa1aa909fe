// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_blk request path.
 *
 * A block request becomes one descriptor chain (virtio 1.2, 5.2.6): a
 * device-readable header, the data (device-readable for writes,
 * device-writable for reads) or the ranges of a discard/write zeroes, and
 * a device-writable status byte. The device returns the chain with the
 * number of bytes it wrote; both that length and the status byte are the
 * device's word and are checked before the block layer hears of them.
 *
 * A request stays the device's until the device returns it or is reset: the
 * stall detector only logs, and the abort path resets the device before it
 * takes anything back.
 */
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "blk.h"

unsigned int vblk_stall_timeout = 30;
module_param_named(stall_timeout, vblk_stall_timeout, uint, 0444);
MODULE_PARM_DESC(stall_timeout,
		 "Seconds a request may be outstanding before it is logged as stalled (default 30)");

static const char *vblk_op_name(struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
		return "read";
	case REQ_OP_WRITE:
		return "write";
	case REQ_OP_FLUSH:
		return "flush";
	case REQ_OP_DISCARD:
		return "discard";
	case REQ_OP_WRITE_ZEROES:
		return "write zeroes";
	case REQ_OP_DRV_IN:
		return "get id";
	default:
		return "request";
	}
}

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

/* The payload of a discard or write zeroes: one range per bio. */
static blk_status_t vblk_setup_ranges(struct vblk *vblk, struct request *rq,
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

static void vblk_unprep(struct vblk_req *vbr)
{
	if (vbr->sgt.orig_nents) {
		sg_free_table_chained(&vbr->sgt, VBLK_INLINE_SG);
		vbr->sgt.orig_nents = 0;
	}
	if (vbr->ranges != vbr->inline_range)
		kfree(vbr->ranges);
	vbr->ranges = NULL;
}

/* Fills the header (and the ranges) of @rq. */
static blk_status_t vblk_prep(struct vblk *vblk, struct request *rq,
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
		st = vblk_setup_ranges(vblk, rq, vbr, 0);
		if (st)
			return st;
		break;
	case REQ_OP_WRITE_ZEROES:
		type = VIRTIO_BLK_T_WRITE_ZEROES;
		st = vblk_setup_ranges(vblk, rq, vbr,
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

static int vblk_map_data(struct request *rq, struct vblk_req *vbr)
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

/* Puts the chain of @vbr on @vq. Under the queue's lock. */
static int vblk_add(struct vireo_vq *vq, struct request *rq,
		    struct vblk_req *vbr)
{
	struct scatterlist hdr, payload, status, *sgs[3];
	unsigned int out = 0, in = 0;

	sg_init_one(&hdr, &vbr->hdr, sizeof(vbr->hdr));
	sgs[out++] = &hdr;
	if (vbr->ranges) {
		sg_init_one(&payload, vbr->ranges,
			    vbr->nr_ranges * sizeof(*vbr->ranges));
		sgs[out++] = &payload;
	} else if (vbr->sgt.nents && rq_data_dir(rq) == WRITE) {
		sgs[out++] = vbr->sgt.sgl;
	}
	if (vbr->sgt.nents && rq_data_dir(rq) == READ)
		sgs[out + in++] = vbr->sgt.sgl;
	sg_init_one(&status, &vbr->status, sizeof(vbr->status));
	sgs[out + in++] = &status;

	return vireo_vq_add_sgs(vq, sgs, out, in, vbr, GFP_ATOMIC);
}

/* Prepares @rq for the device and starts it (its stall clock too). */
static blk_status_t vblk_start(struct vblk *vblk, struct request *rq,
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
static blk_status_t vblk_enqueue(struct vblk *vblk, struct vblk_queue *q,
				 struct request *rq, struct vblk_req *vbr)
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

static blk_status_t vblk_queue_rq(struct blk_mq_hw_ctx *hctx,
				  const struct blk_mq_queue_data *bd)
{
	struct vblk *vblk = hctx->queue->queuedata;
	struct vblk_queue *q = &vblk->queues[hctx->queue_num];
	struct request *rq = bd->rq;
	struct vblk_req *vbr = blk_mq_rq_to_pdu(rq);
	unsigned long flags;
	blk_status_t st;
	bool notify;

	st = vblk_start(vblk, rq, vbr);
	if (unlikely(st))
		return st;

	spin_lock_irqsave(&q->lock, flags);
	st = vblk_enqueue(vblk, q, rq, vbr);
	if (unlikely(st)) {
		/* What earlier requests of this batch added must still go. */
		if (st != BLK_STS_IOERR)
			vireo_vq_kick(q->vq);
		/* Restarted when the device returns a request. */
		if (st == BLK_STS_DEV_RESOURCE)
			blk_mq_stop_hw_queue(hctx);
		spin_unlock_irqrestore(&q->lock, flags);
		return st;
	}
	notify = bd->last && vireo_vq_kick_prepare(q->vq);
	spin_unlock_irqrestore(&q->lock, flags);

	if (notify)
		vireo_vq_notify(q->vq);
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
static void vblk_queue_rqs(vireo_rq_list *rqlist)
{
	struct request *rq, *run, *next, **tail, *back = NULL;
	struct vblk_queue *q;
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
		for (; run; run = next) {
			next = run->rq_next;
			st = vblk_enqueue(vblk, q, run, blk_mq_rq_to_pdu(run));
			if (unlikely(st))
				vblk_defer(&back, run, st);
		}
		notify = q->vq && vireo_vq_kick_prepare(q->vq);
		spin_unlock_irqrestore(&q->lock, flags);
		if (notify)
			vireo_vq_notify(q->vq);
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

static void vblk_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct vblk *vblk = hctx->queue->queuedata;
	struct vblk_queue *q = &vblk->queues[hctx->queue_num];
	bool notify = false;

	spin_lock_irq(&q->lock);
	if (q->vq && !READ_ONCE(vblk->dead))
		notify = vireo_vq_kick_prepare(q->vq);
	spin_unlock_irq(&q->lock);

	if (notify)
		vireo_vq_notify(q->vq);
}

/*
 * The device's verdict on a request it returned, having written @len bytes.
 * Under the queue's lock.
 */
static blk_status_t vblk_verdict(struct vblk *vblk, struct request *rq,
				 struct vblk_req *vbr, unsigned int len)
{
	/*
	 * The status byte is the last byte of the chain, so a device that says
	 * it wrote less than everything it was offered did not write the status
	 * (or not all the data read). The ring already refused lengths beyond
	 * the buffer. Legacy devices put other values there and drivers SHOULD
	 * ignore them (virtio 1.2, 5.2.6.3).
	 */
	if (unlikely(len != vbr->in_len &&
		     vblk_has(vblk, VIRTIO_F_VERSION_1))) {
		if (!test_and_set_bit(VBLK_LOGGED_LEN, &vblk->logged))
			dev_err(&vblk->vd->dev,
				"%s: device wrote %u bytes of a %u-byte reply to a %s at sector %llu; failing such requests\n",
				vblk->disk->disk_name, len, vbr->in_len,
				vblk_op_name(rq),
				(unsigned long long)blk_rq_pos(rq));
		return BLK_STS_IOERR;
	}

	switch (vbr->status) {
	case VIRTIO_BLK_S_OK:
		return BLK_STS_OK;
	case VIRTIO_BLK_S_IOERR:
		return BLK_STS_IOERR;
	case VIRTIO_BLK_S_UNSUPP:
		return BLK_STS_NOTSUPP;
	default:
		if (!test_and_set_bit(VBLK_LOGGED_STATUS, &vblk->logged))
			dev_err(&vblk->vd->dev,
				"%s: device returned status %u, not a virtio-blk status, for a %s at sector %llu; failing such requests\n",
				vblk->disk->disk_name, vbr->status,
				vblk_op_name(rq),
				(unsigned long long)blk_rq_pos(rq));
		return BLK_STS_IOERR;
	}
}

static void vblk_complete_rq(struct request *rq)
{
	struct vblk_req *vbr = blk_mq_rq_to_pdu(rq);
	blk_status_t st = vbr->result;

	vblk_unprep(vbr);
	blk_mq_end_request(rq, st);
}

static void vblk_complete_batch(struct io_comp_batch *iob)
{
	struct request *rq;

	rq_list_for_each(&iob->req_list, rq)
		vblk_unprep(blk_mq_rq_to_pdu(rq));
	blk_mq_end_request_batch(iob);
}

/* A queue broke (the ring logged why): take everything back from the device. */
static void vblk_queue_broken(struct vblk *vblk)
{
	if (!test_and_set_bit(VBLK_LOGGED_BROKEN, &vblk->logged))
		dev_err(&vblk->vd->dev,
			"%s: a request queue is broken; failing all outstanding and new I/O\n",
			vblk->disk ? vblk->disk->disk_name : "disk");
	schedule_work(&vblk->abort_work);
}

/* The device failed or a queue broke: nothing more will come back. */
bool vblk_broken(struct vblk *vblk)
{
	unsigned int i;

	if (vblk->vd->failed)
		return true;
	for (i = 0; i < vblk->nr_queues; i++)
		if (vblk->queues[i].vq && vireo_vq_is_broken(vblk->queues[i].vq))
			return true;
	return false;
}

/* Interrupt: the device returned requests on @vq. */
void vblk_vq_done(struct vireo_vq *vq)
{
	struct vblk *vblk = vq->vdev->priv;
	struct vblk_queue *q = &vblk->queues[vq->index];
	struct vblk_req *vbr;
	struct request *rq;
	unsigned long flags;
	unsigned int len;
	bool done = false, broken;

	spin_lock_irqsave(&q->lock, flags);
	do {
		vireo_vq_disable_cb(vq);
		while ((vbr = vireo_vq_get_buf(vq, &len))) {
			rq = blk_mq_rq_from_pdu(vbr);
			vbr->result = vblk_verdict(vblk, rq, vbr, len);
			if (likely(!blk_should_fake_timeout(rq->q)))
				blk_mq_complete_request(rq);
			done = true;
		}
		broken = vireo_vq_is_broken(vq);
		/* true: more were used meanwhile, and no interrupt will say so */
	} while (!broken && vireo_vq_enable_cb(vq));
	spin_unlock_irqrestore(&q->lock, flags);

	if (unlikely(broken))
		vblk_queue_broken(vblk);
	if (done)
		blk_mq_start_stopped_hw_queues(vblk->disk->queue, true);
}

/* Polled queues (no interrupt): io_uring IOPOLL and RWF_HIPRI reads. */
static int vblk_poll(struct blk_mq_hw_ctx *hctx, struct io_comp_batch *iob)
{
	struct vblk *vblk = hctx->queue->queuedata;
	struct vblk_queue *q = &vblk->queues[hctx->queue_num];
	struct vblk_req *vbr;
	struct request *rq;
	unsigned long flags;
	unsigned int len;
	bool broken = false;
	int found = 0;

	spin_lock_irqsave(&q->lock, flags);
	/* No queue between freeze and restore. */
	if (q->vq) {
		while ((vbr = vireo_vq_get_buf(q->vq, &len))) {
			rq = blk_mq_rq_from_pdu(vbr);
			vbr->result = vblk_verdict(vblk, rq, vbr, len);
			if (!blk_mq_add_to_batch(rq, iob, vbr->result != BLK_STS_OK,
						 vblk_complete_batch))
				blk_mq_complete_request(rq);
			found++;
		}
		broken = vireo_vq_is_broken(q->vq);
	}
	spin_unlock_irqrestore(&q->lock, flags);

	if (unlikely(broken))
		vblk_queue_broken(vblk);
	if (found)
		blk_mq_start_stopped_hw_queues(vblk->disk->queue, true);
	return found;
}

/*
 * The stall detector: blk-mq calls this when a request has been outstanding
 * for stall_timeout seconds (the queue's io_timeout). The device still owns
 * the request's buffers, so it is only logged, once, and waited for; only a
 * reset (the abort path, remove) takes them back.
 */
static enum blk_eh_timer_return vblk_timeout(struct request *rq)
{
	struct vblk *vblk = rq->q->queuedata;
	struct vblk_req *vbr = blk_mq_rq_to_pdu(rq);

	if (vblk_broken(vblk) || READ_ONCE(vblk->dead)) {
		/* It will not come back by itself: the abort path fails it. */
		schedule_work(&vblk->abort_work);
		return BLK_EH_RESET_TIMER;
	}
	if (!vbr->stall_logged) {
		vbr->stall_logged = true;
		dev_warn(&vblk->vd->dev,
			 "%s: %s of %u sectors at sector %llu outstanding for %u ms; the device has not answered\n",
			 vblk->disk->disk_name, vblk_op_name(rq),
			 blk_rq_sectors(rq), (unsigned long long)blk_rq_pos(rq),
			 jiffies_to_msecs(jiffies - vbr->issued));
	}
	return BLK_EH_RESET_TIMER;
}

/*
 * Resets the device, after which it uses no buffer any more (virtio 1.2,
 * 2.4), then completes what it had returned and fails what it had not.
 * Under vblk->lock.
 */
void vblk_reset_reclaim(struct vblk *vblk)
{
	struct vblk_queue *q;
	struct vblk_req *vbr;
	struct request *rq;
	unsigned int i, len;

	vireo_reset_device(vblk->vd);
	for (i = 0; i < vblk->nr_queues; i++) {
		q = &vblk->queues[i];
		if (!q->vq)
			continue;
		spin_lock_irq(&q->lock);
		while ((vbr = vireo_vq_get_buf(q->vq, &len))) {
			rq = blk_mq_rq_from_pdu(vbr);
			vbr->result = vblk_verdict(vblk, rq, vbr, len);
			blk_mq_complete_request(rq);
		}
		while ((vbr = vireo_vq_detach_unused(q->vq))) {
			vbr->aborted = true;
			vbr->result = BLK_STS_IOERR;
			blk_mq_complete_request(blk_mq_rq_from_pdu(vbr));
		}
		spin_unlock_irq(&q->lock);
	}
}

/*
 * Gives up on the device for good: it is reset, outstanding requests fail
 * and so does every new one. Under vblk->lock.
 */
void vblk_abort_all(struct vblk *vblk, const char *why)
{
	if (READ_ONCE(vblk->dead))
		return;
	dev_err(&vblk->vd->dev, "%s: %s: resetting the device and failing its I/O\n",
		vblk->disk ? vblk->disk->disk_name : "disk", why);
	WRITE_ONCE(vblk->dead, true);
	vblk_reset_reclaim(vblk);
	if (vblk->disk)
		blk_mq_start_stopped_hw_queues(vblk->disk->queue, true);
}

void vblk_abort_work(struct work_struct *work)
{
	struct vblk *vblk = container_of(work, struct vblk, abort_work);

	mutex_lock(&vblk->lock);
	if (vblk->vd && !vblk->suspended && vblk_broken(vblk))
		vblk_abort_all(vblk, "device failed");
	mutex_unlock(&vblk->lock);
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

static void vblk_map_queues(struct blk_mq_tag_set *set)
{
	struct vblk *vblk = set->driver_data;
	const struct cpumask *mask;
	struct blk_mq_queue_map *map;
	unsigned int i, qoff = 0, n, cpu;

	for (i = 0; i < set->nr_maps; i++) {
		map = &set->map[i];
		map->nr_queues = vblk->io_queues[i];
		map->queue_offset = qoff;
		qoff += map->nr_queues;
		/* A type without queues falls back to the default ones. */
		if (!map->nr_queues)
			continue;
		/* Polled queues have no interrupt to follow. */
		if (i == HCTX_TYPE_POLL || !vblk->vd->ops->get_vq_affinity) {
			blk_mq_map_queues(map);
			continue;
		}
		/* Each CPU submits to the queue whose interrupt it serves. */
		for (n = 0; n < map->nr_queues; n++) {
			mask = vblk->vd->ops->get_vq_affinity(vblk->vd,
							      map->queue_offset + n);
			if (!mask)
				break;
			for_each_cpu(cpu, mask)
				map->mq_map[cpu] = map->queue_offset + n;
		}
		if (n < map->nr_queues)
			blk_mq_map_queues(map);
	}
}

const struct blk_mq_ops vblk_mq_ops = {
	.queue_rq	= vblk_queue_rq,
	.queue_rqs	= vblk_queue_rqs,
	.commit_rqs	= vblk_commit_rqs,
	.complete	= vblk_complete_rq,
	.map_queues	= vblk_map_queues,
	.poll		= vblk_poll,
	.timeout	= vblk_timeout,
};
