// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueues (virtio 1.2, 2.7): a descriptor table and an available
 * ring the driver writes, a used ring the device writes.
 */
#include "ring.h"

/* Far from any used index the device can reach: no notification wanted. */
#define VIREO_SPLIT_EVENT_OFF	0x8000

/* At the end of the available ring (virtio 1.2, 2.7.6). */
static __le16 *vireo_split_used_event(struct vireo_ring *vr)
{
	return &vr->split.avail->ring[vr->num];
}

/* At the end of the used ring (virtio 1.2, 2.7.8). */
static __le16 *vireo_split_avail_event(struct vireo_ring *vr)
{
	return (__le16 *)&vr->split.used->ring[vr->num];
}

static u16 vireo_split_used_idx(struct vireo_ring *vr)
{
	return le16_to_cpu(READ_ONCE(vr->split.used->idx));
}

void vireo_split_init(struct vireo_ring *vr)
{
	/* The areas are zeroed: used->flags starts at 0 (virtio 1.2, 2.7.10.1). */
	vr->split.avail_idx = 0;
	vr->split.avail_flags = 0;
	vr->last_used_idx = 0;
}

/* The one ring descriptor of a request behind an indirect table. */
static void vireo_split_add_indirect(struct vireo_ring *vr, dma_addr_t addr,
				     unsigned int total)
{
	struct vireo_desc_extra *ex = &vr->extra[vr->free_head];
	struct vireo_split_desc *d = &vr->split.desc[vr->free_head];

	/* virtio 1.2, 2.7.5.3.1: INDIRECT never together with NEXT. */
	ex->addr = addr;
	ex->len = total * sizeof(*d);
	ex->flags = VRING_DESC_F_INDIRECT;
	d->addr = cpu_to_le64(ex->addr);
	d->len = cpu_to_le32(ex->len);
	d->flags = cpu_to_le16(ex->flags);
	d->next = 0;
}

/*
 * One descriptor of a chain, linked to @next; the last one of the chain
 * loses VRING_DESC_F_NEXT afterwards (virtio 1.2, 2.7.5).
 */
static __always_inline void split_put_desc(struct vireo_split_desc *d,
					   dma_addr_t addr, u32 len, u16 flags,
					   u16 next)
{
	d->addr = cpu_to_le64(addr);
	d->len = cpu_to_le32(len);
	d->flags = cpu_to_le16(flags | VRING_DESC_F_NEXT);
	d->next = cpu_to_le16(next);
}

/*
 * Maps the request into a chain of ring descriptors from free_head on,
 * following our own links, and writes each one as it goes. Returns the
 * chain's last descriptor; on failure nothing stays mapped. The ring and
 * pool are kept in locals: the kernel is built without strict aliasing, so
 * every store into a descriptor would make the compiler read them again.
 */
static __always_inline int vireo_split_add_chain(struct vireo_ring *vr,
						 const struct vireo_sgs *r,
						 u32 *in_len, bool premapped)
{
	struct vireo_split_desc *desc = vr->split.desc, *d = NULL;
	struct vireo_desc_extra *extra = vr->extra;
	u16 idx = vr->free_head, last = idx, next;
	struct vireo_sg_pos pos = {};
	struct scatterlist *sg;
	unsigned int n = 0;
	u32 writable = 0;
	dma_addr_t addr;
	u16 flags = 0;

	for (sg = vireo_sgs_next(r, &pos, NULL); sg;
	     sg = vireo_sgs_next(r, &pos, sg)) {
		bool w = vireo_sgs_writable(r, &pos);
		u32 len = sg->length;

		if (unlikely(vireo_ring_map(vr, sg, w, &extra[idx], &addr,
					    premapped))) {
			vireo_ring_unmap_pool(vr, vr->free_head, n);
			return -ENOMEM;
		}
		flags = w ? VRING_DESC_F_WRITE : 0;
		if (w)
			writable += len;
		next = extra[idx].next;
		d = &desc[idx];
		split_put_desc(d, addr, len, flags, next);
		last = idx;
		idx = next;
		n++;
	}
	/* The chain ends here (virtio 1.2, 2.7.5). */
	d->flags = cpu_to_le16(flags);
	d->next = 0;
	*in_len = writable;
	return last;
}

/* Makes the request at descriptor @head available (virtio 1.2, 2.7.13). */
static __always_inline void vireo_split_publish(struct vireo_ring *vr,
						u16 head)
{
	vr->split.avail->ring[vr->split.avail_idx & (vr->num - 1)] =
		cpu_to_le16(head);
	/*
	 * virtio 1.2, 2.7.13.3.1: the descriptors and the ring entry must be
	 * visible before the new idx.
	 */
	vireo_ring_wmb(vr);
	/* virtio 1.2, 2.7.6.1: idx only ever goes forward. */
	vr->split.avail_idx++;
	WRITE_ONCE(vr->split.avail->idx, cpu_to_le16(vr->split.avail_idx));
	vireo_ring_count_added(vr, 1);
}

/*
 * A request behind an indirect table: 0 when added, 1 when there was no
 * memory for a table (the request may still go straight into the ring),
 * or an error. Out of line: the table's address and writable bytes come
 * back through pointers, which would cost the direct path a stack frame
 * and a canary.
 */
static noinline int vireo_split_add_table(struct vireo_ring *vr,
					  const struct vireo_sgs *r,
					  unsigned int total, void *data,
					  gfp_t gfp, bool premapped)
{
	u16 head = vr->free_head;
	dma_addr_t table_addr;
	void *table;
	u32 in_len;

	if (premapped)
		table = vireo_ring_indir_build_premapped(vr, r, total, gfp,
							 &in_len, &table_addr);
	else
		table = vireo_ring_indir_build(vr, r, total, gfp, &in_len,
					       &table_addr);
	if (IS_ERR(table))
		return PTR_ERR(table);
	if (!table)
		return 1;
	/* want_table saw a free descriptor. */
	vireo_split_add_indirect(vr, table_addr, total);
	vireo_ring_took(vr, head, head, data, table, total, in_len);
	vireo_split_publish(vr, head);
	return 0;
}

/*
 * The common request, in one pass: a chain short enough to go straight
 * into the ring (vireo_ring_direct_cap()), mapped, checked and written as
 * the lists are walked, with no count of its buffers first. The checks of
 * vireo_ring_add()'s count are made here as it goes: the chain stops at
 * the cap (which also bounds a list that loops), and the bytes are summed
 * for the 2^32 limit (virtio 1.2, 2.7.5.2). Returns 0 when added, a
 * mapping error, or 1 when the request is not one of these (longer than
 * the cap, empty, or too many bytes): nothing of it stays mapped, and the
 * caller takes the general path, which counts it and says why. The
 * descriptors written meanwhile are free ones the device is never pointed
 * at. List by list, as vireo_ring_indir_fill() walks.
 */
static __always_inline int
__vireo_split_add_short(struct vireo_ring *vr, struct scatterlist **sgs,
			unsigned int nlists, unsigned int out_lists,
			unsigned int limit, void *data, bool premapped, bool dma)
{
	struct vireo_split_desc *desc = vr->split.desc, *d = NULL;
	struct vireo_desc_extra *extra = vr->extra;
	const unsigned int cap = vireo_ring_direct_cap(vr);
	u16 head = vr->free_head, idx = head, last = head, next;
	unsigned int l, left, n = 0;
	u32 writable = 0;
	u16 flags = 0;
	u64 bytes = 0;

	for (l = 0; l < nlists; l++) {
		const bool w = l >= out_lists;
		struct scatterlist *sg;

		for (sg = sgs[l], left = limit; sg && left;
		     sg = --left ? vireo_sg_next(sg) : NULL) {
			u32 len = sg->length;
			dma_addr_t addr;

			if (unlikely(n == cap))
				goto general;
			if (premapped) {
				addr = sg_dma_address(sg);
				if (dma)
					extra[idx].flags = VIREO_EXTRA_PREMAPPED;
			} else if (!dma) {
				addr = sg_phys(sg);	/* virtio 1.2, 6.1 */
			} else if (unlikely(vireo_ring_map(vr, sg, w, &extra[idx],
							   &addr, false))) {
				vireo_ring_unmap_pool(vr, head, n);
				return -ENOMEM;
			}
			bytes += len;
			flags = w ? VRING_DESC_F_WRITE : 0;
			if (w)
				writable += len;
			next = extra[idx].next;
			d = &desc[idx];
			split_put_desc(d, addr, len, flags, next);
			last = idx;
			idx = next;
			n++;
		}
	}
	if (unlikely(!n || bytes > U32_MAX))
		goto general;
	/* The chain ends here (virtio 1.2, 2.7.5). */
	d->flags = cpu_to_le16(flags);
	d->next = 0;
	vireo_ring_took(vr, head, last, data, NULL, n, writable);
	vireo_split_publish(vr, head);
	return 0;

general:
	if (dma)
		vireo_ring_unmap_pool(vr, head, n);
	return 1;
}

/*
 * The lists come as arguments, not as a struct vireo_sgs: in registers,
 * so that the caller's fast path keeps no struct on its stack (and no
 * canary for it). The loop is made once per DMA mode: without the DMA API
 * it calls nothing, and keeps everything in registers.
 */
int vireo_split_add_short(struct vireo_ring *vr, struct scatterlist **sgs,
			  unsigned int nlists, unsigned int out_lists,
			  unsigned int limit, void *data)
{
	if (unlikely(vr->use_dma_api))
		return __vireo_split_add_short(vr, sgs, nlists, out_lists,
					       limit, data, false, true);
	return __vireo_split_add_short(vr, sgs, nlists, out_lists, limit, data,
				       false, false);
}

int vireo_split_add_short_premapped(struct vireo_ring *vr,
				    struct scatterlist **sgs,
				    unsigned int nlists, unsigned int out_lists,
				    unsigned int limit, void *data)
{
	if (vr->use_dma_api)
		return __vireo_split_add_short(vr, sgs, nlists, out_lists,
					       limit, data, true, true);
	return __vireo_split_add_short(vr, sgs, nlists, out_lists, limit, data,
				       true, false);
}

/* Made twice: ring-mapped buffers, and buffers the driver mapped. */
static __always_inline int __vireo_split_add(struct vireo_ring *vr,
					     const struct vireo_sgs *r,
					     unsigned int total, void *data,
					     gfp_t gfp, bool premapped)
{
	u16 head = vr->free_head;
	u32 in_len;
	int last;

	if (vireo_ring_want_table(vr, total)) {
		last = vireo_split_add_table(vr, r, total, data, gfp,
					     premapped);
		if (last <= 0)
			return last;
	}
	/* virtio 1.2, 2.7.13.1: room for the whole chain first. */
	if (vr->num_free < total)
		return -ENOSPC;
	last = vireo_split_add_chain(vr, r, &in_len, premapped);
	if (last < 0)
		return last;
	vireo_ring_took(vr, head, last, data, NULL, total, in_len);
	vireo_split_publish(vr, head);
	return 0;
}

int vireo_split_add(struct vireo_ring *vr, const struct vireo_sgs *r,
		    unsigned int total, void *data, gfp_t gfp)
{
	return __vireo_split_add(vr, r, total, data, gfp, false);
}

int vireo_split_add_premapped(struct vireo_ring *vr, const struct vireo_sgs *r,
			      unsigned int total, void *data, gfp_t gfp)
{
	return __vireo_split_add(vr, r, total, data, gfp, true);
}

bool vireo_split_kick_prepare(struct vireo_ring *vr)
{
	u16 new = vr->split.avail_idx, added = vr->num_added;
	u16 flags;

	vr->num_added = 0;
	/*
	 * virtio 1.2, 2.7.13.4.1: the new idx must be visible before we read
	 * flags or avail_event, or a needed notification can be missed.
	 */
	vireo_ring_mb(vr);
	if (added == U16_MAX)
		return true;	/* lost count of what the device has seen */
	/*
	 * virtio 1.2, 2.7.10.1: with EVENT_IDX, notify when the new entries
	 * passed avail_event (flags is ignored); without, unless NO_NOTIFY.
	 */
	if (vr->event_idx)
		return vireo_need_event(le16_to_cpu(READ_ONCE(*vireo_split_avail_event(vr))),
					new, new - added);
	flags = le16_to_cpu(READ_ONCE(vr->split.used->flags));
	return !(flags & VRING_USED_F_NO_NOTIFY);
}

bool vireo_split_more_used(struct vireo_ring *vr)
{
	return vireo_split_used_idx(vr) != READ_ONCE(vr->last_used_idx);
}

struct vireo_used vireo_split_get_buf(struct vireo_ring *vr)
{
	struct vireo_used u = {};
	u16 last = vr->last_used_idx, used_idx = vireo_split_used_idx(vr);
	const struct vireo_split_used_elem *e;
	u16 pending = used_idx - last;
	u32 id, l;

	if (!pending)
		return u;
	/*
	 * Each used entry returns a distinct buffer in flight, so the index
	 * can never run further ahead than that (and never by more than the
	 * ring size).
	 */
	if (pending > vr->inflight) {
		vireo_ring_bad(vr, "used idx jumped from %u to %u with %u buffers in flight",
			       last, used_idx, vr->inflight);
		return u;
	}
	/* Read idx before the entry it covers. */
	vireo_ring_rmb(vr);

	e = &vr->split.used->ring[last & (vr->num - 1)];
	id = le32_to_cpu(READ_ONCE(e->id));
	l = le32_to_cpu(READ_ONCE(e->len));
	if (id >= vr->num || !vr->bufs[id].token) {
		vireo_ring_bad(vr, "used id %u is not a buffer in flight", id);
		return u;
	}
	/* virtio 1.2, 2.7.8.2: len counts bytes written into the buffer. */
	if (l > vr->bufs[id].in_len) {
		vireo_ring_bad(vr, "used len %u for id %u exceeds its %u writable bytes",
			       l, id, vr->bufs[id].in_len);
		return u;
	}

	u.token = vr->bufs[id].token;
	u.id = id;
	vireo_ring_detach_inline(vr, id);
	WRITE_ONCE(vr->last_used_idx, last + 1);
	if (vr->event_idx && !(vr->split.avail_flags & VRING_AVAIL_F_NO_INTERRUPT)) {
		/* Callbacks on: ask to be told about the next one. */
		WRITE_ONCE(*vireo_split_used_event(vr), cpu_to_le16(last + 1));
		vireo_ring_mb(vr);
	}
	u.len = l;
	return u;
}

void vireo_split_disable_cb(struct vireo_ring *vr)
{
	if (vr->split.avail_flags & VRING_AVAIL_F_NO_INTERRUPT)
		return;
	vr->split.avail_flags |= VRING_AVAIL_F_NO_INTERRUPT;
	if (vr->event_idx)
		/* virtio 1.2, 2.7.7.1: flags stays 0; used_event goes far away. */
		WRITE_ONCE(*vireo_split_used_event(vr),
			   cpu_to_le16(vr->last_used_idx + VIREO_SPLIT_EVENT_OFF));
	else
		WRITE_ONCE(vr->split.avail->flags,
			   cpu_to_le16(vr->split.avail_flags));
	atomic64_inc(&vr->stats.cb_suppressed);
}

static void vireo_split_cb_on(struct vireo_ring *vr)
{
	if (!(vr->split.avail_flags & VRING_AVAIL_F_NO_INTERRUPT))
		return;
	vr->split.avail_flags &= ~VRING_AVAIL_F_NO_INTERRUPT;
	if (!vr->event_idx)
		WRITE_ONCE(vr->split.avail->flags,
			   cpu_to_le16(vr->split.avail_flags));
}

unsigned int vireo_split_enable_cb_prepare(struct vireo_ring *vr)
{
	u16 last = vr->last_used_idx;

	if (vr->event_idx)
		WRITE_ONCE(*vireo_split_used_event(vr), cpu_to_le16(last));
	vireo_split_cb_on(vr);
	return last;
}

bool vireo_split_poll(struct vireo_ring *vr, unsigned int pos)
{
	/*
	 * Our used_event/flags write against the device's idx write: one of
	 * us sees the other's (virtio 1.2, 2.7.14).
	 */
	vireo_ring_mb(vr);
	return vireo_split_used_idx(vr) != (u16)pos;
}

bool vireo_split_enable_cb_delayed(struct vireo_ring *vr)
{
	u16 last = vr->last_used_idx, bufs;

	vireo_split_cb_on(vr);
	if (!vr->event_idx)
		return vireo_split_poll(vr, last);

	/* Be told when about three quarters of what is in flight is used. */
	bufs = (u16)(vr->split.avail_idx - last) * 3 / 4;
	WRITE_ONCE(*vireo_split_used_event(vr), cpu_to_le16(last + bufs));
	vireo_ring_mb(vr);
	return (u16)(vireo_split_used_idx(vr) - last) > bufs;
}
