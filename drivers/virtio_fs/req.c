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

static int req_result(struct vf_dev *dev, struct vf_req *req,
		      struct vf_args *a);

/*
 * An asynchronous request is back: its reply is checked as vf_send checks
 * one (a READ: no reply structure, at most data_len bytes of data; a
 * WRITE: exactly its reply structure) and its owner told. Under the
 * queue's lock, maybe in IRQ context.
 */
static void req_end_async(struct vf_dev *dev, struct vf_req *req)
{
	struct vf_args a = {
		.out = req->async_out,
		.out_size = req->async_out_size,
		.out_exact = !!req->async_out_size,
		.data_len = req->data_len,
		.data_out = req->data_out,
	};
	int err;

	err = req_result(dev, req, &a);
	req->end(req, err ? err : (ssize_t)a.data_len);
	atomic_dec(&dev->async);
}

/* The device is done with @req (used, or taken back after a reset). */
static void req_finish(struct vf_dev *dev, struct vf_req *req,
		       unsigned int len, int err)
{
	unsigned long flags;

	list_del_init(&req->node);
	req->posted = false;
	req->out_len = len;
	req->error = err;
	if (req->end)
		req_end_async(dev, req);
	complete(&req->done);
	if (atomic_dec_and_test(&dev->in_flight))
		wake_up_all(&dev->state_wq);
	if (req->orphan && !err) {
		/* Its caller is gone: what the reply made is undone in a work. */
		spin_lock_irqsave(&dev->forget_lock, flags);
		list_add_tail(&req->node, &dev->orphans);
		spin_unlock_irqrestore(&dev->forget_lock, flags);
		schedule_work(&dev->orphan_work);
		return;
	}
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
	req->nodeid = a->nodeid;
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

/* A request is interrupted only after it waited this long (vf_send). */
#define VF_INTERRUPT_DELAY	HZ

/*
 * A signal arrived while @req waits: FUSE_INTERRUPT on the hiprio queue
 * (virtio 1.2, 5.11.6.2.2). It has no reply on virtio (virtiofsd returns
 * the buffer empty); the daemon may answer @req with EINTR, or finish it.
 */
static void send_interrupt(struct vf_dev *dev, struct vf_req *req)
{
	struct fuse_interrupt_in in = { .unique = req->unique };
	struct vf_args a = {
		.opcode = FUSE_INTERRUPT,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
		.noreply = true,
	};

	vf_send(dev, &a);
}

/*
 * The caller of @req was killed. If the device still holds @req, it is
 * marked an orphan: the request lives on until the device returns it (the
 * device never writes into freed memory) and what a successful reply made
 * in the daemon (a lookup count, an open handle) is undone then. Returns
 * false if the reply came in meanwhile (the caller then uses it).
 */
static bool req_abandon(struct vf_req *req)
{
	struct vf_queue *q = req->q;
	bool held;

	spin_lock_irq(&q->lock);
	held = req->posted;
	if (held)
		req->orphan = true;
	spin_unlock_irq(&q->lock);
	return held;
}

/*
 * Sends one request and waits for its reply: at most vireo_ring's
 * abort_timeout, after which the device is given up on (reset, every request
 * fails). A signal sends FUSE_INTERRUPT (once) and the wait goes on; a fatal
 * signal ends the wait of a request without file data: the request then
 * lives on until the device returns it.
 */
int vf_send(struct vf_dev *dev, struct vf_args *a)
{
	bool intr = !a->pagecache && !a->force && !a->noreply;
	unsigned long deadline = 0, submitted;
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

	submitted = jiffies;
	/* A SETLKW may block in the daemon for as long as the lock is held. */
	limit = a->unbounded ? 0 : vireo_abort_timeout();
	if (limit)
		deadline = jiffies + limit * HZ;
	for (;;) {
		long t = MAX_SCHEDULE_TIMEOUT;

		if (limit)
			t = max_t(long, (long)(deadline - jiffies), 1);
		if (a->pagecache)
			left = wait_for_completion_timeout(&req->done, t);
		else if (intr)
			left = wait_for_completion_interruptible_timeout(&req->done, t);
		else
			left = wait_for_completion_killable_timeout(&req->done, t);
		if (left > 0)
			break;
		if (left < 0 && !fatal_signal_pending(current)) {
			/*
			 * Once; then the wait goes on, killable only. Not
			 * before the request waited VF_INTERRUPT_DELAY: a
			 * daemon that gets the INTERRUPT of a request it just
			 * answered keeps it for a later one (virtiofsd then
			 * answers it with EAGAIN through the freed buffer of
			 * the INTERRUPT); a request that long outstanding is
			 * blocked, not being answered.
			 */
			intr = false;
			left = (long)(submitted + VF_INTERRUPT_DELAY - jiffies);
			if (left > 0)
				left = wait_for_completion_killable_timeout(&req->done,
									    left);
			if (left > 0)
				break;
			if (!left || !fatal_signal_pending(current)) {
				send_interrupt(dev, req);
				continue;
			}
		}
		if (left < 0) {
			if (req_abandon(req)) {
				err = -EINTR;
				goto out;
			}
			break;
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

/*
 * Sends one request without waiting for it (readahead): @end(req, result)
 * runs when the device gives it back, from the reply path or the reclaim
 * after a reset (device death, the abort, unplug, suspend), exactly once
 * if this returns 0; @priv is req->priv then. On an error @end is not
 * called. Only for requests whose reply is file data (no reply structure:
 * READ) or a reply structure of a fixed size (@a->out_exact: WRITE, its
 * fuse_write_out at @a->out, which must live until @end). The wait is
 * bounded as vf_send's: the watch resets the device when one of them is
 * outstanding for abort_timeout.
 */
int vf_send_async(struct vf_dev *dev, struct vf_args *a,
		  void (*end)(struct vf_req *req, ssize_t result), void *priv)
{
	unsigned int limit = vireo_abort_timeout();
	struct vf_req *req;
	int err;

	if (WARN_ON_ONCE(a->noreply || (a->out_size && !a->out_exact)))
		return -EINVAL;
	if (a->opcode < 64 && test_bit(a->opcode, dev->conn.enosys))
		return -ENOSYS;
	if (READ_ONCE(dev->dead))
		return vf_dead_error(dev);
	req = req_build(dev, a);
	if (!req)
		return -ENOMEM;
	req->end = end;
	req->priv = priv;
	req->async_out = a->out;
	req->async_out_size = a->out_size;
	req->submitted = jiffies;
	atomic_inc(&dev->async);
	/* Waits for a resume, as vf_send does for page cache I/O. */
	err = req_submit(dev, pick_queue(dev, false), req);
	if (err) {
		req->end = NULL;
		atomic_dec(&dev->async);
	} else if (limit) {
		/* Pending already: it comes at the oldest one's deadline. */
		schedule_delayed_work(&dev->async_watch, limit * HZ);
	}
	req_put(req);
	return err;
}

/*
 * Nobody waits for an asynchronous request, so this bounds it: one that
 * was outstanding for abort_timeout gives the device up, as a waiter of
 * vf_send would.
 */
void vf_async_watch(struct work_struct *work)
{
	struct vf_dev *dev = container_of(to_delayed_work(work), struct vf_dev,
					  async_watch);
	unsigned int limit = vireo_abort_timeout(), i;
	unsigned long oldest = jiffies, timeout;
	struct vf_req *req;
	bool found = false;
	long left;

	if (!limit || READ_ONCE(dev->dead) || !atomic_read(&dev->async))
		return;
	timeout = (unsigned long)limit * HZ;
	for (i = 0; i < dev->nr_queues; i++) {
		struct vf_queue *q = &dev->queues[i];

		spin_lock_irq(&q->lock);
		list_for_each_entry(req, &q->in_flight, node) {
			if (req->end && (!found ||
					 time_before(req->submitted, oldest))) {
				oldest = req->submitted;
				found = true;
			}
		}
		spin_unlock_irq(&q->lock);
	}
	if (!found)
		return;
	/* Read once: jiffies passing the bound after a check would wrap. */
	left = (long)(oldest + timeout - jiffies);
	if (left <= 0) {
		/* The abort ends every request, these too. */
		if (!READ_ONCE(dev->frozen))
			schedule_abort(dev, limit);
		else
			schedule_delayed_work(&dev->async_watch, HZ);
		return;
	}
	schedule_delayed_work(&dev->async_watch, left);
}

/* One FORGET on the hiprio queue: no reply (virtio 1.2, 5.11.6.2.2). */
static void send_forget(struct vf_dev *dev, u64 nodeid, u64 nlookup)
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

struct vf_forget_ent {
	struct list_head node;
	struct fuse_forget_one one;
};

/* Node ids one BATCH_FORGET carries at most (4 KiB of them). */
#define VF_FORGET_BATCH	(PAGE_SIZE / sizeof(struct fuse_forget_one))

/*
 * The daemon may forget @nlookup lookups of @nodeid. The forget is queued
 * and a work sends what gathered as one BATCH_FORGET (FUSE 7.16; vireo_fs
 * needs 7.28): an eviction of many inodes, drop_caches, umount of a busy
 * tree. Only when no memory is left for the queue does one FORGET go out
 * at once.
 */
void vf_forget(struct vf_dev *dev, u64 nodeid, u64 nlookup)
{
	struct vf_forget_ent *ent;

	/* After DESTROY (umount) the daemon forgot every node itself. */
	if (!nlookup || !dev->mounted)
		return;
	ent = kmalloc(sizeof(*ent), GFP_NOFS | __GFP_NOWARN);
	if (!ent) {
		send_forget(dev, nodeid, nlookup);
		return;
	}
	ent->one.nodeid = nodeid;
	ent->one.nlookup = nlookup;
	spin_lock_irq(&dev->forget_lock);
	list_add_tail(&ent->node, &dev->forgets);
	spin_unlock_irq(&dev->forget_lock);
	/* A jiffy lets an eviction loop gather its forgets in one request. */
	schedule_delayed_work(&dev->forget_work, 1);
}

/*
 * Sends the queued forgets, VF_FORGET_BATCH per BATCH_FORGET. An entry is
 * freed once its request went out; with the hiprio ring full they go back
 * to the queue and the work comes again, so no lookup is lost.
 */
void vf_forget_work(struct work_struct *work)
{
	struct vf_dev *dev = container_of(to_delayed_work(work), struct vf_dev,
					  forget_work);
	struct fuse_batch_forget_in in = { 0 };
	struct fuse_forget_one *batch;
	struct vf_forget_ent *ent, *tmp;
	struct list_head chunk;
	struct vf_args a = {
		.opcode = FUSE_BATCH_FORGET,
		.nr_in = 2,
		.in = { &in },
		.noreply = true,
	};
	unsigned int n;

	batch = kmalloc_array(VF_FORGET_BATCH, sizeof(*batch), GFP_KERNEL);
	if (!batch) {
		schedule_delayed_work(&dev->forget_work, HZ / 10);
		return;
	}
	for (;;) {
		/* Suspended: they wait for the resume (vf_restore kicks us). */
		if (READ_ONCE(dev->frozen) && !READ_ONCE(dev->dead))
			break;
		INIT_LIST_HEAD(&chunk);
		n = 0;
		spin_lock_irq(&dev->forget_lock);
		list_for_each_entry_safe(ent, tmp, &dev->forgets, node) {
			if (n == VF_FORGET_BATCH)
				break;
			batch[n++] = ent->one;
			list_move_tail(&ent->node, &chunk);
		}
		spin_unlock_irq(&dev->forget_lock);
		if (!n)
			break;
		in.count = n;
		a.in[1] = batch;
		a.in_size[0] = sizeof(in);
		a.in_size[1] = n * sizeof(*batch);
		if (vf_send(dev, &a) == -EAGAIN) {
			/* The hiprio ring is full: again when it has room. */
			spin_lock_irq(&dev->forget_lock);
			list_splice(&chunk, &dev->forgets);
			spin_unlock_irq(&dev->forget_lock);
			schedule_delayed_work(&dev->forget_work, HZ / 10);
			break;
		}
		list_for_each_entry_safe(ent, tmp, &chunk, node)
			kfree(ent);
	}
	kfree(batch);
}

/*
 * Umount: DESTROY makes the daemon forget every node, so what is queued is
 * dropped. After the last inode went (no new forgets).
 */
void vf_forget_drop(struct vf_dev *dev)
{
	struct vf_forget_ent *ent, *tmp;
	LIST_HEAD(list);

	cancel_delayed_work_sync(&dev->forget_work);
	spin_lock_irq(&dev->forget_lock);
	list_splice_init(&dev->forgets, &list);
	spin_unlock_irq(&dev->forget_lock);
	list_for_each_entry_safe(ent, tmp, &list, node)
		kfree(ent);
}

/* Undoes a successful reply whose caller was killed (req_abandon). */
static void orphan_undo(struct vf_dev *dev, struct vf_req *req)
{
	struct fuse_out_header *oh = req->out;
	struct fuse_release_in rin = { 0 };
	struct vf_args r = {
		.nodeid = req->nodeid,
		.nr_in = 1,
		.in = { &rin },
		.in_size = { sizeof(rin) },
		.force = true,
	};
	struct fuse_entry_out *e = NULL;
	struct fuse_open_out *o = NULL;
	unsigned int len;

	if (req->out_len < sizeof(*oh) || oh->len != req->out_len ||
	    oh->unique != req->unique || oh->error)
		return;
	len = req->out_len - sizeof(*oh);
	switch (req->opcode) {
	case FUSE_LOOKUP:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_SYMLINK:
	case FUSE_LINK:
		if (len == sizeof(*e))
			e = (void *)(oh + 1);
		break;
	case FUSE_CREATE:
		if (len == sizeof(*e) + sizeof(*o)) {
			e = (void *)(oh + 1);
			o = (void *)(e + 1);
			r.nodeid = e->nodeid;
			r.opcode = FUSE_RELEASE;
		}
		break;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		if (len == sizeof(*o)) {
			o = (void *)(oh + 1);
			r.opcode = req->opcode == FUSE_OPEN ? FUSE_RELEASE :
							      FUSE_RELEASEDIR;
		}
		break;
	case FUSE_READDIRPLUS:
		vf_readdirplus_orphan(dev, oh + 1, len);
		break;
	}
	if (e && e->nodeid && e->nodeid != FUSE_ROOT_ID)
		vf_forget(dev, e->nodeid, 1);
	if (o) {
		rin.fh = o->fh;
		vf_send(dev, &r);
	}
}

/* The device is going away (last reference): no work may run after this. */
void vf_dev_works_stop(struct vf_dev *dev)
{
	struct vf_req *req, *tmp;
	LIST_HEAD(list);

	vf_forget_drop(dev);
	cancel_delayed_work_sync(&dev->async_watch);
	cancel_work_sync(&dev->orphan_work);
	spin_lock_irq(&dev->forget_lock);
	list_splice_init(&dev->orphans, &list);
	spin_unlock_irq(&dev->forget_lock);
	list_for_each_entry_safe(req, tmp, &list, node) {
		list_del_init(&req->node);
		req_put(req);
	}
}

void vf_orphan_work(struct work_struct *work)
{
	struct vf_dev *dev = container_of(work, struct vf_dev, orphan_work);
	struct vf_req *req;

	for (;;) {
		spin_lock_irq(&dev->forget_lock);
		req = list_first_entry_or_null(&dev->orphans, struct vf_req,
					       node);
		if (req)
			list_del_init(&req->node);
		spin_unlock_irq(&dev->forget_lock);
		if (!req)
			break;
		if (dev->mounted && !READ_ONCE(dev->dead))
			orphan_undo(dev, req);
		req_put(req);
	}
}
