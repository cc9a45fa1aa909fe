// SPDX-License-Identifier: GPL-2.0
/*
 * The virtqueue calls drivers make: add, kick, get, callback control and
 * detach, plus the interrupt entry the transport calls. Each dispatches once
 * to the split (split.c) or packed (packed.c) layout, so that what both
 * share - argument checks, statistics, the broken flag - is written once
 * and the layouts only move descriptors.
 */
#include <linux/rculist.h>

#include "ring.h"

/*
 * The device wrote something no correct device writes: stop using the queue.
 * Every later operation fails cleanly; one line says why.
 */
void vireo_ring_bad(struct vireo_ring *vr, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	WRITE_ONCE(vr->broken, true);
	if (test_and_set_bit(0, &vr->error_logged))
		return;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	dev_err(&vr->vq.vdev->dev, "queue %u (%s): %pV; queue disabled\n",
		vr->vq.index, vr->vq.name, &vaf);
	va_end(args);
}

/* What every add that succeeded records, in both paths below. */
static __always_inline void vireo_ring_added(struct vireo_ring *vr, u16 id,
					     void *ctx, bool with_ctx)
{
	/* A plain add on a context queue must give back NULL. */
	if (vr->ctx)
		vr->ctx[id] = with_ctx ? ctx : NULL;
	/* Read without the lock by vireo_packed_is_used(). */
	WRITE_ONCE(vr->inflight, vr->inflight + 1);
	vr->stats.added++;
}

/*
 * Any request on either layout: counted and checked first, then handed to
 * the layout, which puts it behind a table or into a chain. Out of line:
 * the short requests of a split ring never come here, and its struct on
 * the stack would cost them a canary.
 */
static noinline int vireo_ring_add_general(struct vireo_ring *vr,
					   struct scatterlist *sgs[],
					   unsigned int limit,
					   unsigned int out_sgs,
					   unsigned int in_sgs, void *data,
					   void *ctx, gfp_t gfp,
					   bool premapped, bool with_ctx)
{
	const struct vireo_sgs r = {
		.sgs = sgs,
		.nlists = out_sgs + in_sgs,
		.out_lists = out_sgs,
		.limit = limit,
	};
	unsigned int total = 0, i, left;
	struct scatterlist *sg;
	/* Both layouts give the buffer the first free pool entry as its id. */
	u16 id = vr->free_head;
	u64 bytes = 0;
	int err;

	/*
	 * virtio 1.2, 2.7.5.3.1 and 2.8.17: no chain longer than the queue
	 * size, unless it goes into one indirect table (vr->max_chain);
	 * 2.7.5.2: no more than 2^32 bytes. Counting stops there, which also
	 * bounds a scatterlist that loops. The walk is vireo_sgs_next()'s,
	 * list by list.
	 */
	for (i = 0; i < r.nlists; i++) {
		left = limit;
		for (sg = sgs[i]; sg && left; sg = vireo_sg_next(sg)) {
			bytes += sg->length;
			if (unlikely(++total > vr->max_chain))
				return -EINVAL;
			left--;
		}
	}
	if (unlikely(!total || bytes > U32_MAX))
		return -EINVAL;

	if (premapped)
		err = vr->is_packed ?
			vireo_packed_add_premapped(vr, &r, total, data, gfp) :
			vireo_split_add_premapped(vr, &r, total, data, gfp);
	else if (vr->is_packed)
		err = vireo_packed_add(vr, &r, total, data, gfp);
	else
		err = vireo_split_add(vr, &r, total, data, gfp);
	if (err == -ENOSPC) {
		/*
		 * Only a table can carry a request longer than the ring, and
		 * there was no memory for one: waiting for room would never end.
		 */
		if (total > vr->num && vr->num_free)
			return -ENOMEM;
		vr->stats.full++;
	}
	if (err)
		return err;
	vireo_ring_added(vr, id, ctx, with_ctx);
	return 0;
}

/*
 * Inlined into each exported add: @premapped and @with_ctx are constants
 * there, so the plain adds (the hot path) carry neither. A short request
 * on a split ring is checked in the pass that writes it
 * (vireo_split_add_short()); the rest, or when that says 1, are counted
 * first (vireo_ring_add_general()).
 */
static __always_inline int vireo_ring_add(struct vireo_vq *vq,
					  struct scatterlist *sgs[],
					  unsigned int limit,
					  unsigned int out_sgs,
					  unsigned int in_sgs, void *data,
					  void *ctx, gfp_t gfp, bool premapped,
					  bool with_ctx)
{
	struct vireo_ring *vr = to_vireo_ring(vq);
	u16 id = vr->free_head;
	int err;

	if (unlikely(READ_ONCE(vr->broken)))
		return -EIO;
	if (!data)
		return -EINVAL;
	if (with_ctx && ctx && unlikely(!vr->ctx)) {
		dev_err_once(&vq->vdev->dev,
			     "queue %u (%s): a buffer context needs VIREO_VQ_F_CTX\n",
			     vq->index, vq->name);
		return -EINVAL;
	}

	if (!vr->is_packed) {
		if (premapped)
			err = vireo_split_add_short_premapped(vr, sgs,
							      out_sgs + in_sgs,
							      out_sgs, limit,
							      data);
		else
			err = vireo_split_add_short(vr, sgs, out_sgs + in_sgs,
						    out_sgs, limit, data);
		if (likely(!err)) {
			vireo_ring_added(vr, id, ctx, with_ctx);
			return 0;
		}
		if (err < 0)
			return err;
	}
	return vireo_ring_add_general(vr, sgs, limit, out_sgs, in_sgs, data,
				      ctx, gfp, premapped, with_ctx);
}

int vireo_vq_add_sgs(struct vireo_vq *vq, struct scatterlist *sgs[],
		     unsigned int out_sgs, unsigned int in_sgs,
		     void *data, gfp_t gfp)
{
	return vireo_ring_add(vq, sgs, UINT_MAX, out_sgs, in_sgs, data, NULL,
			      gfp, false, false);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_add_sgs, VIREO_NS);

int vireo_vq_add_outbuf(struct vireo_vq *vq, struct scatterlist *sg,
			unsigned int num, void *data, gfp_t gfp)
{
	return vireo_ring_add(vq, &sg, num, 1, 0, data, NULL, gfp, false,
			      false);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_add_outbuf, VIREO_NS);

int vireo_vq_add_inbuf(struct vireo_vq *vq, struct scatterlist *sg,
		       unsigned int num, void *data, gfp_t gfp)
{
	return vireo_ring_add(vq, &sg, num, 0, 1, data, NULL, gfp, false,
			      false);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_add_inbuf, VIREO_NS);

int vireo_vq_add_sgs_ctx(struct vireo_vq *vq, struct scatterlist *sgs[],
			 unsigned int out_sgs, unsigned int in_sgs,
			 void *data, void *ctx, gfp_t gfp)
{
	return vireo_ring_add(vq, sgs, UINT_MAX, out_sgs, in_sgs, data, ctx,
			      gfp, false, true);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_add_sgs_ctx, VIREO_NS);

int vireo_vq_add_inbuf_ctx(struct vireo_vq *vq, struct scatterlist *sg,
			   unsigned int num, void *data, void *ctx, gfp_t gfp)
{
	return vireo_ring_add(vq, &sg, num, 0, 1, data, ctx, gfp, false, true);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_add_inbuf_ctx, VIREO_NS);

int vireo_vq_add_sgs_premapped(struct vireo_vq *vq, struct scatterlist *sgs[],
			       unsigned int out_sgs, unsigned int in_sgs,
			       void *data, void *ctx, gfp_t gfp)
{
	return vireo_ring_add(vq, sgs, UINT_MAX, out_sgs, in_sgs, data, ctx,
			      gfp, true, true);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_add_sgs_premapped, VIREO_NS);

int vireo_vq_add_outbuf_premapped(struct vireo_vq *vq, struct scatterlist *sg,
				  unsigned int num, void *data, void *ctx,
				  gfp_t gfp)
{
	return vireo_ring_add(vq, &sg, num, 1, 0, data, ctx, gfp, true, true);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_add_outbuf_premapped, VIREO_NS);

int vireo_vq_add_inbuf_premapped(struct vireo_vq *vq, struct scatterlist *sg,
				 unsigned int num, void *data, void *ctx,
				 gfp_t gfp)
{
	return vireo_ring_add(vq, &sg, num, 0, 1, data, ctx, gfp, true, true);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_add_inbuf_premapped, VIREO_NS);

bool vireo_vq_kick_prepare(struct vireo_vq *vq)
{
	struct vireo_ring *vr = to_vireo_ring(vq);
	bool added = vr->num_added, need;

	if (unlikely(READ_ONCE(vr->broken)))
		return false;
	if (vr->is_packed)
		need = vireo_packed_kick_prepare(vr);
	else
		need = vireo_split_kick_prepare(vr);
	if (!need && added)
		vr->stats.kicks_suppressed++;
	return need;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_kick_prepare, VIREO_NS);

bool vireo_vq_notify(struct vireo_vq *vq)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	if (unlikely(READ_ONCE(vr->broken)))
		return false;
	atomic64_inc(&vr->stats.kicks);
	if (!vr->notify(vq)) {
		/* The transport says the device is gone. */
		WRITE_ONCE(vr->broken, true);
		return false;
	}
	return true;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_notify, VIREO_NS);

u32 vireo_vq_notification_data(struct vireo_vq *vq)
{
	struct vireo_ring *vr = to_vireo_ring(vq);
	u32 next;

	/*
	 * Read outside the queue lock, like the kick it goes with: an add that
	 * ran since only moves the value on, which the device reads as "at
	 * least this far" (virtio 1.2, 2.9).
	 */
	if (vr->is_packed)
		next = READ_ONCE(vr->packed.next_avail) |
			(READ_ONCE(vr->packed.avail_wrap) ? BIT(15) : 0);
	else
		next = READ_ONCE(vr->split.avail_idx);
	return (vq->index & 0xffff) | next << 16;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_notification_data, VIREO_NS);

bool vireo_vq_kick(struct vireo_vq *vq)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	if (unlikely(READ_ONCE(vr->broken)))
		return false;
	if (vireo_vq_kick_prepare(vq))
		return vireo_vq_notify(vq);
	return true;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_kick, VIREO_NS);

/* Inlined twice: the plain get (@ctx NULL) never looks at contexts. */
static __always_inline void *vireo_ring_get(struct vireo_vq *vq,
					    unsigned int *len, void **ctx)
{
	struct vireo_ring *vr = to_vireo_ring(vq);
	struct vireo_used u;

	if (unlikely(READ_ONCE(vr->broken)))
		return NULL;
	if (vr->is_packed)
		u = vireo_packed_get_buf(vr);
	else
		u = vireo_split_get_buf(vr);
	if (u.token) {
		vr->stats.used++;
		if (len)
			*len = u.len;
		if (ctx)
			*ctx = vr->ctx ? vr->ctx[u.id] : NULL;
	}
	return u.token;
}

void *vireo_vq_get_buf_ctx(struct vireo_vq *vq, unsigned int *len, void **ctx)
{
	return vireo_ring_get(vq, len, ctx);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_get_buf_ctx, VIREO_NS);

void *vireo_vq_get_buf(struct vireo_vq *vq, unsigned int *len)
{
	return vireo_ring_get(vq, len, NULL);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_get_buf, VIREO_NS);

void vireo_vq_disable_cb(struct vireo_vq *vq)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	if (vr->is_packed)
		vireo_packed_disable_cb(vr);
	else
		vireo_split_disable_cb(vr);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_disable_cb, VIREO_NS);

unsigned int vireo_vq_enable_cb_prepare(struct vireo_vq *vq)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	if (vr->is_packed)
		return vireo_packed_enable_cb_prepare(vr);
	return vireo_split_enable_cb_prepare(vr);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_enable_cb_prepare, VIREO_NS);

bool vireo_vq_poll(struct vireo_vq *vq, unsigned int pos)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	/* A broken queue has nothing to poll: callers loop while this is true. */
	if (unlikely(READ_ONCE(vr->broken)))
		return false;
	if (vr->is_packed)
		return vireo_packed_poll(vr, pos);
	return vireo_split_poll(vr, pos);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_poll, VIREO_NS);

bool vireo_vq_enable_cb(struct vireo_vq *vq)
{
	/* A broken queue says true: nothing to poll for (see vireo_vq_poll). */
	return !vireo_vq_poll(vq, vireo_vq_enable_cb_prepare(vq));
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_enable_cb, VIREO_NS);

bool vireo_vq_enable_cb_delayed(struct vireo_vq *vq)
{
	struct vireo_ring *vr = to_vireo_ring(vq);
	bool more;

	if (vr->is_packed)
		more = vireo_packed_enable_cb_delayed(vr);
	else
		more = vireo_split_enable_cb_delayed(vr);
	return !more || READ_ONCE(vr->broken);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_enable_cb_delayed, VIREO_NS);

static bool vireo_ring_more_used(struct vireo_ring *vr)
{
	if (vr->is_packed)
		return vireo_packed_more_used(vr);
	return vireo_split_more_used(vr);
}

bool vireo_vq_more_used(struct vireo_vq *vq)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	if (unlikely(READ_ONCE(vr->broken)))
		return false;
	return vireo_ring_more_used(vr);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_more_used, VIREO_NS);

void *vireo_vq_detach_unused_ctx(struct vireo_vq *vq, void **ctx)
{
	struct vireo_ring *vr = to_vireo_ring(vq);
	struct vireo_buf *b;
	void *token;

	for (; vr->detach_pos < vr->num; vr->detach_pos++) {
		b = &vr->bufs[vr->detach_pos];
		token = b->token;
		if (token) {
			if (ctx)
				*ctx = vr->ctx ? vr->ctx[vr->detach_pos] : NULL;
			vireo_ring_detach(vr, vr->detach_pos);
			return token;
		}
	}
	return NULL;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_detach_unused_ctx, VIREO_NS);

void *vireo_vq_detach_unused(struct vireo_vq *vq)
{
	return vireo_vq_detach_unused_ctx(vq, NULL);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_detach_unused, VIREO_NS);

const struct cpumask *vireo_vq_get_affinity(struct vireo_vq *vq)
{
	struct vireo_device *vd = vq->vdev;

	if (!vd->ops->get_vq_affinity)
		return NULL;
	return vd->ops->get_vq_affinity(vd, vq->index);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_get_affinity, VIREO_NS);

int vireo_vq_set_affinity(struct vireo_vq *vq, const struct cpumask *mask)
{
	struct vireo_device *vd = vq->vdev;
	int err = -EOPNOTSUPP;

	if (vd->ops->set_vq_affinity)
		err = vd->ops->set_vq_affinity(vd, vq->index, mask);
	/* Not an error of the device: said once, so a driver may just try. */
	if ((err == -EOPNOTSUPP || err == -EBUSY) &&
	    !test_and_set_bit(VIREO_LOGGED_AFFINITY, &vd->logged))
		dev_info(&vd->dev, "queue %u (%s): interrupt affinity not set (%d): %s\n",
			 vq->index, vq->name, err, err == -EBUSY ?
			 "the kernel manages its vector (spread over the CPUs)" :
			 "it has no interrupt of its own (MMIO, a shared MSI-X vector or INTx)");
	return err;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_set_affinity, VIREO_NS);

unsigned int vireo_vq_size(struct vireo_vq *vq)
{
	return to_vireo_ring(vq)->num;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_size, VIREO_NS);

unsigned int vireo_vq_num_free(struct vireo_vq *vq)
{
	return READ_ONCE(to_vireo_ring(vq)->num_free);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_num_free, VIREO_NS);

bool vireo_vq_is_broken(struct vireo_vq *vq)
{
	return READ_ONCE(to_vireo_ring(vq)->broken);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_is_broken, VIREO_NS);

irqreturn_t vireo_vq_interrupt(struct vireo_vq *vq)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	atomic64_inc(&vr->stats.interrupts);
	if (unlikely(READ_ONCE(vr->broken)))
		return IRQ_HANDLED;
	/* The device is not using the queue; its ring is being rebuilt. */
	if (unlikely(READ_ONCE(vr->resetting)))
		return IRQ_NONE;
	/* virtio 1.2, 2.7.7.1: notifications may be spurious. */
	if (!vireo_ring_more_used(vr)) {
		atomic64_inc(&vr->stats.spurious);
		return IRQ_NONE;
	}
	if (vq->callback)
		vq->callback(vq);
	return IRQ_HANDLED;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_interrupt, VIREO_NS);

void vireo_break_vqs(struct vireo_device *vd)
{
	struct vireo_ring *vr;

	rcu_read_lock();
	list_for_each_entry_rcu(vr, &vd->vqs, node)
		WRITE_ONCE(vr->broken, true);
	rcu_read_unlock();
}
EXPORT_SYMBOL_NS_GPL(vireo_break_vqs, VIREO_NS);
