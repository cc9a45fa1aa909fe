// SPDX-License-Identifier: GPL-2.0
/*
 * FUSE requests over the device's queues (virtio 1.2, 5.11.6): each request
 * is one descriptor chain, the device-readable part (fuse_in_header, the
 * opcode's arguments, WRITE data) first and the device-writable part
 * (fuse_out_header, the reply, READ data) after it.
 *
 * Every reply is checked before anything of it is used: the length the
 * device wrote against the out header's own length, the unique id against
 * the request, the error against the errno range and the payload against
 * what the opcode's reply can be. A bad reply fails that request with EIO
 * and one log line.
 */
#include <linux/cred.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uidgid.h>

#include "fs.h"

static void req_free(struct vf_req *req)
{
	kfree(req->sg);
	kfree(req->in);
	kfree(req->out);
	kfree(req);
}

static void req_put(struct vf_req *req)
{
	if (refcount_dec_and_test(&req->ref))
		req_free(req);
}

int vf_dead_error(struct vf_dev *dev)
{
	return READ_ONCE(dev->dead_err) ?: -ENOTCONN;
}

/* The device is done with @req (used, or taken back after a reset). */
static void req_finish(struct vf_dev *dev, struct vf_req *req,
		       unsigned int len, int err)
{
	list_del_init(&req->node);
	req->posted = false;
	req->out_len = len;
	req->error = err;
	complete(&req->done);
	if (atomic_dec_and_test(&dev->in_flight))
		wake_up_all(&dev->state_wq);
	req_put(req);
}

/* Queue callback: used buffers. IRQ context. */
void vf_queue_done(struct vireo_vq *vq)
{
	struct vf_queue *q = vq->priv;
	struct vf_req *req;
	unsigned long flags;
	unsigned int len;

	spin_lock_irqsave(&q->lock, flags);
	do {
		vireo_vq_disable_cb(vq);
		while ((req = vireo_vq_get_buf(vq, &len)))
			req_finish(q->dev, req, len, 0);
	} while (!vireo_vq_enable_cb(vq));
	spin_unlock_irqrestore(&q->lock, flags);
	wake_up_all(&q->space);
	/*
	 * The ring refused what the device used (and said why): nothing more
	 * comes back on this queue, so fail the device now rather than after
	 * abort_timeout.
	 */
	if (unlikely(vireo_vq_is_broken(vq)) &&
	    !test_and_set_bit(0, &q->dev->ring_broken))
		schedule_work(&q->dev->abort_work);
}

/*
 * After the device was reset: what it returned is finished normally, what it
 * still held fails with @err. Every waiter wakes.
 */
void vf_reclaim_queue(struct vf_queue *q, int err)
{
	struct vf_req *req, *tmp;
	unsigned int len;

	if (!q->vq)
		return;
	spin_lock_irq(&q->lock);
	while ((req = vireo_vq_get_buf(q->vq, &len)))
		req_finish(q->dev, req, len, 0);
	while ((req = vireo_vq_detach_unused(q->vq)))
		req_finish(q->dev, req, 0, err);
	/* Nothing can be left, but never leave a waiter behind. */
	list_for_each_entry_safe(req, tmp, &q->in_flight, node)
		req_finish(q->dev, req, 0, err);
	spin_unlock_irq(&q->lock);
	wake_up_all(&q->space);
}

/*
 * The device is gone or stopped answering: it is reset so that it cannot
 * touch a buffer any more, every outstanding request fails with @err and so
 * does every new one. Under dev->dev_lock.
 */
void vf_abort_all(struct vf_dev *dev, int err)
{
	unsigned int i;

	spin_lock_irq(&dev->state_lock);
	vf_set_dead_locked(dev, err);
	spin_unlock_irq(&dev->state_lock);
	if (dev->vd && dev->hiprio.vq) {
		vireo_reset_device(dev->vd);
		vf_reclaim_queue(&dev->hiprio, err);
		for (i = 0; i < dev->nr_queues; i++)
			vf_reclaim_queue(&dev->queues[i], err);
	}
	wake_up_all(&dev->state_wq);
}

static struct vf_queue *pick_queue(struct vf_dev *dev, bool hiprio)
{
	if (hiprio)
		return &dev->hiprio;
	/* Spread over the request queues by CPU (virtio 1.2, 5.11.2). */
	return &dev->queues[raw_smp_processor_id() % dev->nr_queues];
}

static struct vf_req *req_build(struct vf_dev *dev, struct vf_args *a)
{
	unsigned int i, in_args = 0, n_out, n_in;
	struct fuse_in_header *ih;
	struct scatterlist *sg;
	struct vf_req *req;
	void *p;

	for (i = 0; i < a->nr_in; i++)
		in_args += a->in_size[i];
	req = kzalloc(sizeof(*req), GFP_NOFS);
	if (!req)
		return NULL;
	refcount_set(&req->ref, 1);
	INIT_LIST_HEAD(&req->node);
	init_completion(&req->done);
	req->opcode = a->opcode;
	req->noreply = a->noreply;
	req->in_len = sizeof(*ih) + in_args;
	req->in = kmalloc(req->in_len, GFP_NOFS);
	if (!req->in)
		goto free;
	if (!a->noreply) {
		req->out_cap = sizeof(struct fuse_out_header) + a->out_size;
		req->out = kzalloc(req->out_cap, GFP_NOFS);
		if (!req->out)
			goto free;
	}
	req->pages = a->pages;
	req->nr_pages = a->nr_pages;
	req->page_off = a->page_off;
	req->data_len = a->data_len;
	req->data_out = a->data_out;

	req->unique = atomic64_inc_return(&dev->next_unique);
	ih = req->in;
	ih->len = req->in_len + (a->data_out ? a->data_len : 0);
	ih->opcode = a->opcode;
	ih->unique = req->unique;
	ih->nodeid = a->nodeid;
	ih->uid = from_kuid_munged(&init_user_ns, current_fsuid());
	ih->gid = from_kgid_munged(&init_user_ns, current_fsgid());
	ih->pid = task_tgid_vnr(current);
	ih->padding = 0;
	p = ih + 1;
	for (i = 0; i < a->nr_in; i++) {
		memcpy(p, a->in[i], a->in_size[i]);
		p += a->in_size[i];
	}

	/* out list: header+args [+ data]; in list: reply [+ data] */
	n_out = 1 + (a->data_out ? a->nr_pages : 0);
	n_in = a->noreply ? 0 : 1 + (a->data_out ? 0 : a->nr_pages);
	req->sg = kcalloc(n_out + n_in, sizeof(*sg), GFP_NOFS);
	if (!req->sg)
		goto free;
	sg = req->sg;
	sg_init_table(sg, n_out);
	sg_set_buf(&sg[0], req->in, req->in_len);
	if (n_in) {
		sg_init_table(sg + n_out, n_in);
		sg_set_buf(&sg[n_out], req->out, req->out_cap);
	}
	if (a->nr_pages) {
		struct scatterlist *d = a->data_out ? &sg[1] : &sg[n_out + 1];
		unsigned int left = a->data_len, off = a->page_off, len;

		for (i = 0; i < a->nr_pages; i++) {
			len = min_t(unsigned int, left, PAGE_SIZE - off);
			sg_set_page(&d[i], a->pages[i], len, off);
			left -= len;
			off = 0;
		}
	}
	return req;
free:
	req_free(req);
	return NULL;
}

/* Puts @req into a ring; waits for room (bounded). */
static int req_submit(struct vf_dev *dev, struct vf_queue *q,
		      struct vf_req *req)
{
	unsigned int n_out = 1 + (req->data_out ? req->nr_pages : 0);
	unsigned int n_in = req->noreply ? 0 :
			    1 + (req->data_out ? 0 : req->nr_pages);
	struct scatterlist *sgs[2] = { req->sg, req->sg + n_out };
	unsigned int limit = vireo_abort_timeout();
	unsigned long deadline = jiffies + (limit ? limit : 3600) * HZ;
	bool kick;
	int err;

	for (;;) {
		spin_lock_irq(&q->lock);
		if (READ_ONCE(dev->dead)) {
			spin_unlock_irq(&q->lock);
			return vf_dead_error(dev);
		}
		if (READ_ONCE(dev->frozen)) {
			/* Suspending: the queue is about to go; wait for restore. */
			spin_unlock_irq(&q->lock);
			if (req->noreply)
				return 0;
			wait_event(dev->state_wq, !READ_ONCE(dev->frozen) ||
				   READ_ONCE(dev->dead));
			continue;
		}
		err = vireo_vq_add_sgs(q->vq, sgs, 1, n_in ? 1 : 0, req,
				       GFP_ATOMIC);
		if (!err) {
			refcount_inc(&req->ref);	/* the device's */
			req->q = q;
			req->posted = true;
			atomic_inc(&dev->in_flight);
			list_add_tail(&req->node, &q->in_flight);
			kick = vireo_vq_kick_prepare(q->vq);
			spin_unlock_irq(&q->lock);
			if (kick)
				vireo_vq_notify(q->vq);
			return 0;
		}
		spin_unlock_irq(&q->lock);
		if (err != -ENOSPC || req->noreply) {
			if (err != -ENOSPC)
				pr_err_ratelimited("vireo_fs %s: cannot queue a request: %d\n",
						   dev->tag, err);
			return err == -ENOSPC ? -EAGAIN : -EIO;
		}
		if (time_after(jiffies, deadline))
			return -EIO;
		wait_event_timeout(q->space,
				   vireo_vq_num_free(q->vq) >= n_out + n_in ||
				   READ_ONCE(dev->dead), HZ);
	}
}

static int bad_reply(struct vf_dev *dev, struct vf_req *req,
		     const char *what, long val)
{
	pr_err_ratelimited("vireo_fs %s: bad reply to opcode %u: %s (%ld): failing it with EIO\n",
			   dev->tag, req->opcode, what, val);
	return -EIO;
}

/* Checks the reply and copies it out. Returns the FUSE error or 0. */
static int req_result(struct vf_dev *dev, struct vf_req *req,
		      struct vf_args *a)
{
	struct fuse_out_header *oh = req->out;
	unsigned int payload;

	if (req->error)
		return req->error;
	if (req->out_len < sizeof(*oh))
		return bad_reply(dev, req, "shorter than its header", req->out_len);
	if (oh->len != req->out_len)
		return bad_reply(dev, req, "header length is not what was written",
				 oh->len);
	if (oh->unique != req->unique)
		return bad_reply(dev, req, "unique id of another request",
				 (long)oh->unique);
	if (oh->error > 0 || oh->error < -MAX_ERRNO)
		return bad_reply(dev, req, "error out of range", oh->error);
	if (oh->error) {
		if (oh->error == -ENOSYS && req->opcode < 64)
			set_bit(req->opcode, dev->conn.enosys);
		return oh->error;
	}
	payload = req->out_len - sizeof(*oh);
	if (payload > a->out_size + (a->data_out ? 0 : a->data_len))
		return bad_reply(dev, req, "longer than the reply can be", payload);
	if (a->out_exact && payload != a->out_size)
		return bad_reply(dev, req, "reply size", payload);
	a->out_got = min(payload, a->out_size);
	if (!a->data_out)
		a->data_len = payload - a->out_got;
	if (a->out_got)
		memcpy(a->out, oh + 1, a->out_got);
	return 0;
}

static void schedule_abort(struct vf_dev *dev, unsigned int waited)
{
	WRITE_ONCE(dev->waited, waited);
	schedule_work(&dev->abort_work);
}

/*
 * Sends one request and waits for its reply: at most vireo_ring's
 * abort_timeout, after which the device is given up on (reset, every request
 * fails). A fatal signal ends the wait of a request without file data: the
 * request then lives on until the device returns it.
 */
int vf_send(struct vf_dev *dev, struct vf_args *a)
{
	struct vf_req *req;
	unsigned int limit;
	long left;
	int err;

	if (!a->force && a->opcode < 64 && test_bit(a->opcode, dev->conn.enosys))
		return -ENOSYS;
	if (READ_ONCE(dev->frozen)) {
		/* Suspended: wait for the resume (or the end). */
		if (a->noreply)
			return 0;
		if (a->pagecache)
			wait_event(dev->state_wq, !READ_ONCE(dev->frozen) ||
				   READ_ONCE(dev->dead));
		else if (wait_event_killable(dev->state_wq,
					     !READ_ONCE(dev->frozen) ||
					     READ_ONCE(dev->dead)))
			return -EINTR;
	}
	if (READ_ONCE(dev->dead))
		return vf_dead_error(dev);

	req = req_build(dev, a);
	if (!req)
		return -ENOMEM;
	err = req_submit(dev, pick_queue(dev, a->noreply), req);
	if (err || a->noreply)
		goto out;

	limit = vireo_abort_timeout();
	for (;;) {
		long t = limit ? limit * HZ : MAX_SCHEDULE_TIMEOUT;

		if (a->pagecache)
			left = wait_for_completion_timeout(&req->done, t);
		else
			left = wait_for_completion_killable_timeout(&req->done, t);
		if (left > 0)
			break;
		if (left < 0) {
			/* Killed: the device's reference keeps req alive. */
			err = -EINTR;
			goto out;
		}
		if (limit) {
			/* The abort completes every request, this one too. */
			schedule_abort(dev, limit);
			wait_for_completion(&req->done);
			break;
		}
	}
	err = req_result(dev, req, a);
out:
	req_put(req);
	return err;
}

/* FORGET on the hiprio queue: no reply (virtio 1.2, 5.11.6.1). */
void vf_forget(struct vf_dev *dev, u64 nodeid, u64 nlookup)
{
	struct fuse_forget_in in = { .nlookup = nlookup };
	struct vf_args a = {
		.opcode = FUSE_FORGET,
		.nodeid = nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
		.noreply = true,
	};

	vf_send(dev, &a);
}
