// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_blk completion path: what the device returns, and what happens
 * when it returns nothing.
 *
 * The used length and the status byte of every returned request are the
 * device's word and are checked before the block layer hears of them
 * (vblk_verdict). Completions come from the queue interrupt or, on poll
 * queues, from blk-mq polling. A request stays the device's until the
 * device returns it or is reset: the stall detector only logs, and the
 * abort path resets the device before it takes anything back.
 */
#include <linux/jiffies.h>
#include <linux/module.h>

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
	if (unlikely(len != vbr->in_len && vblk->check_len)) {
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

void vblk_complete_rq(struct request *rq)
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

/*
 * A queue broke: take everything back from the device. The ring logged why,
 * once; that line is the only one this fault gets.
 */
static void vblk_queue_broken(struct vblk *vblk)
{
	schedule_work(&vblk->abort_work);
}

/* The device failed or a queue broke: nothing more will come back. */
bool vblk_broken(struct vblk *vblk)
{
	unsigned int i;

	if (vireo_device_is_failed(vblk->vd))
		return true;
	for (i = 0; i < vblk->nr_queues; i++)
		if (vblk->queues[i].vq && vireo_vq_is_broken(vblk->queues[i].vq))
			return true;
	return false;
}

/*
 * Takes every request the device returned on @q and gives it its verdict;
 * each goes to @iob where blk-mq lets a request be batched (@iob NULL:
 * never), else it is completed alone. Under q->lock. Returns how many.
 */
static int vblk_reap(struct vblk *vblk, struct vblk_queue *q,
		     struct io_comp_batch *iob)
{
	struct vblk_req *vbr;
	struct request *rq;
	unsigned int len;
	int found = 0;

	while ((vbr = vireo_vq_get_buf(q->vq, &len))) {
		rq = blk_mq_rq_from_pdu(vbr);
		vbr->result = vblk_verdict(vblk, rq, vbr, len);
		found++;
		if (unlikely(blk_should_fake_timeout(rq->q)))
			continue;
		if (!iob || !blk_mq_add_to_batch(rq, iob,
						 vbr->result != BLK_STS_OK,
						 vblk_complete_batch))
			blk_mq_complete_request(rq);
	}
	return found;
}

/*
 * After a reap that found something, under q->lock: the hardware queue that
 * a full ring stopped, now that there is room, or NULL. Only that one is
 * started again: looking at every hardware queue of the disk on every
 * interrupt walks blk-mq's table of them each time, for nothing almost
 * always.
 */
static struct blk_mq_hw_ctx *vblk_take_stopped(struct vblk_queue *q)
{
	struct blk_mq_hw_ctx *hctx = q->stopped;

	q->stopped = NULL;
	return hctx;
}

/* After a reap, outside q->lock: a broken queue fails the disk; room restarts it. */
static void vblk_reaped(struct vblk *vblk, bool broken,
			struct blk_mq_hw_ctx *stopped)
{
	if (unlikely(broken))
		vblk_queue_broken(vblk);
	if (unlikely(stopped))
		blk_mq_start_stopped_hw_queue(stopped, true);
}

/*
 * Interrupt: the device returned requests on @vq. Successful ones are
 * ended as one batch (tags, accounting and the submitters' wake-ups in one
 * go, as blk-mq polling does), the rest one by one. The batch is ended
 * outside the queue's lock but before callbacks are enabled again: what
 * the device returns meanwhile is picked up by the next round of the loop
 * instead of raising an interrupt of its own.
 */
void vblk_vq_done(struct vireo_vq *vq)
{
	struct vblk *vblk = vq->vdev->priv;
	struct vblk_queue *q = &vblk->queues[vq->index];
	struct blk_mq_hw_ctx *stopped = NULL;
	unsigned long flags;
	bool broken, more;

	spin_lock_irqsave(&q->lock, flags);
	do {
		DEFINE_IO_COMP_BATCH(iob);

		vireo_vq_disable_cb(vq);
		if (vblk_reap(vblk, q, &iob) && !stopped)
			stopped = vblk_take_stopped(q);
		broken = vireo_vq_is_broken(vq);
		/* Set by the first request blk_mq_add_to_batch() took. */
		if (iob.complete) {
			spin_unlock_irqrestore(&q->lock, flags);
			iob.complete(&iob);
			spin_lock_irqsave(&q->lock, flags);
		}
		/* false: more were used meanwhile, and no interrupt will say so */
		more = !broken && !vireo_vq_enable_cb(vq);
	} while (more);
	spin_unlock_irqrestore(&q->lock, flags);

	vblk_reaped(vblk, broken, stopped);
}

/* Polled queues (no interrupt): io_uring IOPOLL and RWF_HIPRI reads. */
int vblk_poll(struct blk_mq_hw_ctx *hctx, struct io_comp_batch *iob)
{
	struct vblk *vblk = hctx->queue->queuedata;
	struct vblk_queue *q = &vblk->queues[hctx->queue_num];
	struct blk_mq_hw_ctx *stopped = NULL;
	unsigned long flags;
	bool broken = false;
	int found = 0;

	spin_lock_irqsave(&q->lock, flags);
	/* No queue between freeze and restore. */
	if (q->vq) {
		found = vblk_reap(vblk, q, iob);
		broken = vireo_vq_is_broken(q->vq);
		if (found)
			stopped = vblk_take_stopped(q);
	}
	spin_unlock_irqrestore(&q->lock, flags);

	vblk_reaped(vblk, broken, stopped);
	return found;
}

/*
 * The stall detector: blk-mq calls this when a request has been outstanding
 * for stall_timeout seconds (the queue's io_timeout), and every
 * stall_timeout seconds after. The device still owns the request's buffers:
 * it is logged, once, and waited for, up to vireo_ring's abort_timeout;
 * then the abort path resets the device, which gives the buffers back, and
 * fails the disk's I/O, so that remove and suspend do not wait for ever.
 */
enum blk_eh_timer_return vblk_timeout(struct request *rq)
{
	struct vblk *vblk = rq->q->queuedata;
	struct vblk_req *vbr = blk_mq_rq_to_pdu(rq);
	unsigned int limit = vireo_abort_timeout();

	if (limit && time_after_eq(jiffies, vbr->issued + limit * HZ) &&
	    !READ_ONCE(vblk->dead)) {
		WRITE_ONCE(vblk->stalled, true);
		schedule_work(&vblk->abort_work);
		return BLK_EH_RESET_TIMER;
	}
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
	unsigned int i;

	vireo_reset_device(vblk->vd);
	for (i = 0; i < vblk->nr_queues; i++) {
		q = &vblk->queues[i];
		if (!q->vq)
			continue;
		spin_lock_irq(&q->lock);
		vblk_reap(vblk, q, NULL);
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
 * and so does every new one. @why is logged, unless NULL: whoever found the
 * fault (the ring, the transport) has said so already. Under vblk->lock.
 */
void vblk_abort_all(struct vblk *vblk, const char *why)
{
	if (READ_ONCE(vblk->dead))
		return;
	if (why)
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
	if (vblk->vd && !vblk->suspended && READ_ONCE(vblk->stalled))
		vblk_abort_all(vblk, "the device stopped answering");
	else if (vblk->vd && !vblk->suspended && vblk_broken(vblk))
		vblk_abort_all(vblk, NULL);
	mutex_unlock(&vblk->lock);
}
