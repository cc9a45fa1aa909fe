// SPDX-License-Identifier: GPL-2.0
/*
 * Packed virtqueues (virtio 1.2, 2.8): one descriptor ring that both sides
 * write, and an event suppression structure for each direction.
 *
 * Ring slots are taken in ring order; buffer ids (and the driver-private
 * records of each descriptor) come from the pool in struct vireo_ring, since
 * buffers complete out of order while slots are reused in order.
 */
#include "ring.h"

/* virtio 1.2, 2.8.1: AVAIL matches the driver's wrap counter, USED does not. */
static u16 vireo_packed_avail_bits(bool wrap)
{
	return wrap ? VIREO_PACKED_F_AVAIL : VIREO_PACKED_F_USED;
}

/*
 * Has the device written the descriptor at @pos (slot, wrap counter in bit
 * 15), so that get_buf must look at it? Used (AVAIL == USED == wrap) is;
 * still available (AVAIL == wrap, USED != wrap) is not. AVAIL != wrap is
 * what the last lap left there while nothing is in flight; with a buffer
 * in flight the driver made this slot available in this lap, which no
 * correct device undoes: a fault, for get_buf to report now rather than
 * for the stall detector much later. Also runs without the queue's lock
 * (the interrupt): a stale @inflight only makes a callback find nothing.
 */
static bool vireo_packed_is_used(struct vireo_ring *vr, u16 pos)
{
	u16 slot = pos & ~VIREO_PACKED_WRAP;
	bool wrap = pos & VIREO_PACKED_WRAP;
	u16 flags;

	if (slot >= vr->num)
		return false;
	flags = le16_to_cpu(READ_ONCE(vr->packed.desc[slot].flags));
	if (!!(flags & VIREO_PACKED_F_AVAIL) == wrap)
		return !!(flags & VIREO_PACKED_F_USED) == wrap;
	return READ_ONCE(vr->inflight) != 0;
}

void vireo_packed_init(struct vireo_ring *vr)
{
	/* virtio 1.2, 2.8.1: both wrap counters start at 1. */
	vr->packed.next_avail = 0;
	vr->packed.avail_wrap = true;
	vr->last_used_pos = VIREO_PACKED_WRAP;
	/* The zeroed driver area says RING_EVENT_FLAGS_ENABLE ... */
	vr->packed.event_flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	/* ... or, with EVENT_IDX, "the next one" as a split ring's used_event. */
	if (vr->event_idx)
		vireo_packed_enable_cb_prepare(vr);
}

/*
 * The one ring descriptor of a request behind an indirect table, all but
 * its flags, which it returns.
 */
static u16 vireo_packed_add_indirect(struct vireo_ring *vr, dma_addr_t addr,
				     unsigned int total)
{
	struct vireo_desc_extra *ex = &vr->extra[vr->free_head];
	struct vireo_packed_desc *d = &vr->packed.desc[vr->packed.next_avail];

	ex->addr = addr;
	ex->len = total * sizeof(*d);
	ex->flags = VRING_DESC_F_INDIRECT;
	d->addr = cpu_to_le64(ex->addr);
	d->len = cpu_to_le32(ex->len);
	d->id = cpu_to_le16(vr->free_head);
	return VRING_DESC_F_INDIRECT |
		vireo_packed_avail_bits(vr->packed.avail_wrap);
}

/*
 * Maps the request into ring slots from next_avail on, one pool entry each
 * from free_head on, and writes every descriptor but the first one's flags,
 * which it returns in *@head_flags. Returns the last pool entry; on failure
 * nothing stays mapped.
 */
static __always_inline int vireo_packed_add_chain(struct vireo_ring *vr,
						  const struct vireo_sgs *r,
						  unsigned int total,
						  u16 *head_flags, u32 *in_len,
						  bool premapped)
{
	u16 slot = vr->packed.next_avail, id = vr->free_head, idx = id, last = id;
	bool wrap = vr->packed.avail_wrap;
	struct vireo_sg_pos pos = {};
	struct scatterlist *sg;
	unsigned int n = 0;
	u32 writable = 0;
	dma_addr_t addr;

	for (sg = vireo_sgs_next(r, &pos, NULL); sg;
	     sg = vireo_sgs_next(r, &pos, sg)) {
		struct vireo_packed_desc *d = &vr->packed.desc[slot];
		bool w = vireo_sgs_writable(r, &pos);
		u16 flags;

		if (unlikely(vireo_ring_map(vr, sg, w, &vr->extra[idx], &addr,
					    premapped))) {
			vireo_ring_unmap_pool(vr, id, n);
			return -ENOMEM;
		}
		flags = (w ? VRING_DESC_F_WRITE : 0) |
			vireo_packed_avail_bits(wrap);
		if (w)
			writable += sg->length;
		if (n + 1 < total)
			flags |= VRING_DESC_F_NEXT;
		d->addr = cpu_to_le64(addr);
		d->len = cpu_to_le32(sg->length);
		/* virtio 1.2, 2.8.6: the id belongs in the last; all carry it. */
		d->id = cpu_to_le16(id);
		if (n)
			d->flags = cpu_to_le16(flags);
		else
			*head_flags = flags;
		last = idx;
		idx = vr->extra[idx].next;
		if (++slot == vr->num) {
			slot = 0;
			wrap = !wrap;
		}
		n++;
	}
	*in_len = writable;
	return last;
}

/* Made twice: ring-mapped buffers, and buffers the driver mapped. */
static __always_inline int __vireo_packed_add(struct vireo_ring *vr,
					      const struct vireo_sgs *r,
					      unsigned int total, void *data,
					      gfp_t gfp, bool premapped)
{
	u16 id = vr->free_head, head = vr->packed.next_avail, head_flags = 0;
	unsigned int ndescs, slot;
	dma_addr_t table_addr;
	void *table;
	u32 in_len;
	int last;

	table = vireo_ring_table(vr, r, total, gfp, &in_len, &table_addr,
				 premapped);
	if (IS_ERR(table))
		return PTR_ERR(table);
	if (table) {
		/* want_table saw a free slot. */
		head_flags = vireo_packed_add_indirect(vr, table_addr, total);
		last = id;
	} else {
		/* virtio 1.2, 2.8.17: room for the whole list first. */
		if (vr->num_free < total)
			return -ENOSPC;
		last = vireo_packed_add_chain(vr, r, total, &head_flags,
					      &in_len, premapped);
		if (last < 0)
			return last;
	}
	ndescs = vireo_ring_took(vr, id, last, data, table, total, in_len);

	slot = head + ndescs;
	if (slot >= vr->num) {
		slot -= vr->num;
		vr->packed.avail_wrap = !vr->packed.avail_wrap;
	}
	vr->packed.next_avail = slot;

	/*
	 * virtio 1.2, 2.8.21.1.1 and 2.8.17: the rest of the list must be
	 * visible before the first descriptor's flags make it available.
	 */
	vireo_ring_wmb(vr);
	WRITE_ONCE(vr->packed.desc[head].flags, cpu_to_le16(head_flags));
	vireo_ring_count_added(vr, ndescs);
	return 0;
}

int vireo_packed_add(struct vireo_ring *vr, const struct vireo_sgs *r,
		     unsigned int total, void *data, gfp_t gfp)
{
	return __vireo_packed_add(vr, r, total, data, gfp, false);
}

int vireo_packed_add_premapped(struct vireo_ring *vr, const struct vireo_sgs *r,
			       unsigned int total, void *data, gfp_t gfp)
{
	return __vireo_packed_add(vr, r, total, data, gfp, true);
}

bool vireo_packed_kick_prepare(struct vireo_ring *vr)
{
	u16 added = vr->num_added, new = vr->packed.next_avail;
	u16 flags, off_wrap, event;

	vr->num_added = 0;
	/*
	 * virtio 1.2, 2.8.21.3.1: the new flags must be visible before we
	 * read the device's event suppression structure.
	 */
	vireo_ring_mb(vr);
	/* Over a whole lap (or a lost count) the event offset says nothing. */
	if (added >= vr->num)
		return true;
	flags = le16_to_cpu(READ_ONCE(vr->packed.device->flags)) & 0x3;
	if (flags == VRING_PACKED_EVENT_FLAG_DESC && vr->event_idx) {
		/* The device writes the offset before the flags that use it. */
		vireo_ring_rmb(vr);
		off_wrap = le16_to_cpu(READ_ONCE(vr->packed.device->off_wrap));
		event = off_wrap & ~VIREO_PACKED_WRAP;
		/* An offset from the previous lap lies num slots back. */
		if (!!(off_wrap & VIREO_PACKED_WRAP) != vr->packed.avail_wrap)
			event -= vr->num;
		return vireo_need_event(event, new, new - added);
	}
	/* DISABLE suppresses; ENABLE, and anything undefined, does not. */
	return flags != VRING_PACKED_EVENT_FLAG_DISABLE;
}

bool vireo_packed_more_used(struct vireo_ring *vr)
{
	return vireo_packed_is_used(vr, READ_ONCE(vr->last_used_pos));
}

struct vireo_used vireo_packed_get_buf(struct vireo_ring *vr)
{
	struct vireo_used u = {};
	u16 last = vr->last_used_pos, slot = last & ~VIREO_PACKED_WRAP;
	bool wrap = last & VIREO_PACKED_WRAP;
	struct vireo_packed_desc *d = &vr->packed.desc[slot];
	u16 flags = le16_to_cpu(READ_ONCE(d->flags));
	bool avail = flags & VIREO_PACKED_F_AVAIL;
	bool used = flags & VIREO_PACKED_F_USED;
	unsigned int next;
	struct vireo_buf *b;
	u16 id;
	u32 l;

	if (!vr->inflight) {
		/* Nothing was made available in this lap at this slot. */
		if (avail == wrap && used == wrap)
			vireo_ring_bad(vr, "descriptor %u marked used with no buffer in flight",
				       slot);
		return u;
	}
	if (avail == wrap && used != wrap)
		return u;		/* still available to the device */
	/*
	 * We made this slot available with AVAIL == wrap; the device may
	 * only turn it used, AVAIL == USED == wrap (virtio 1.2, 2.8.1).
	 */
	if (avail != wrap || used != wrap) {
		vireo_ring_bad(vr, "descriptor %u has flags %#x: not used for wrap counter %u",
			       slot, flags, wrap);
		return u;
	}
	/* Read the flags before the rest of the descriptor. */
	vireo_ring_rmb(vr);

	id = le16_to_cpu(READ_ONCE(d->id));
	l = le32_to_cpu(READ_ONCE(d->len));
	if (id >= vr->num || !vr->bufs[id].token) {
		vireo_ring_bad(vr, "used id %u is not a buffer in flight", id);
		return u;
	}
	b = &vr->bufs[id];
	if (l > b->in_len) {
		if (flags & VRING_DESC_F_WRITE) {
			vireo_ring_bad(vr, "used len %u for id %u exceeds its %u writable bytes",
				       l, id, b->in_len);
			return u;
		}
		/*
		 * virtio 1.2, 2.8.4: without WRITE the length is reserved and
		 * nothing was written. (QEMU fills it in without setting
		 * WRITE, so a length that fits is taken.)
		 */
		l = 0;
	}

	u.token = b->token;
	u.id = id;
	/* virtio 1.2, 2.8.6: skip the rest of the buffer's descriptors. */
	next = slot + b->ndescs;
	if (next >= vr->num) {
		next -= vr->num;
		wrap = !wrap;
	}
	vireo_ring_detach(vr, id);
	last = next | (wrap ? VIREO_PACKED_WRAP : 0);
	WRITE_ONCE(vr->last_used_pos, last);
	if (vr->packed.event_flags == VRING_PACKED_EVENT_FLAG_DESC) {
		/* Callbacks on: ask to be told about the next one. */
		WRITE_ONCE(vr->packed.driver->off_wrap, cpu_to_le16(last));
		vireo_ring_mb(vr);
	}
	u.len = l;
	return u;
}

void vireo_packed_disable_cb(struct vireo_ring *vr)
{
	if (vr->packed.event_flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return;
	vr->packed.event_flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	WRITE_ONCE(vr->packed.driver->flags,
		   cpu_to_le16(VRING_PACKED_EVENT_FLAG_DISABLE));
	atomic64_inc(&vr->stats.cb_suppressed);
}

/* With EVENT_IDX, notifications are asked for at a descriptor (off_wrap). */
static void vireo_packed_cb_on(struct vireo_ring *vr)
{
	u16 want = vr->event_idx ? VRING_PACKED_EVENT_FLAG_DESC :
		VRING_PACKED_EVENT_FLAG_ENABLE;

	if (vr->packed.event_flags == want)
		return;
	vr->packed.event_flags = want;
	WRITE_ONCE(vr->packed.driver->flags, cpu_to_le16(want));
}

unsigned int vireo_packed_enable_cb_prepare(struct vireo_ring *vr)
{
	u16 last = vr->last_used_pos;

	if (vr->event_idx) {
		WRITE_ONCE(vr->packed.driver->off_wrap, cpu_to_le16(last));
		/* The offset before the flags that make it count. */
		vireo_ring_wmb(vr);
	}
	vireo_packed_cb_on(vr);
	return last;
}

bool vireo_packed_poll(struct vireo_ring *vr, unsigned int pos)
{
	/* Our event structure write against the device's descriptor write. */
	vireo_ring_mb(vr);
	return vireo_packed_is_used(vr, pos);
}

bool vireo_packed_enable_cb_delayed(struct vireo_ring *vr)
{
	u16 last = vr->last_used_pos;

	if (vr->event_idx) {
		/* Be told when about three quarters of what is in flight is used. */
		unsigned int bufs = (vr->num - vr->num_free) * 3 / 4;
		unsigned int slot = (last & ~VIREO_PACKED_WRAP) + bufs;
		u16 wrap = last & VIREO_PACKED_WRAP;

		if (slot >= vr->num) {
			slot -= vr->num;
			wrap ^= VIREO_PACKED_WRAP;
		}
		WRITE_ONCE(vr->packed.driver->off_wrap, cpu_to_le16(slot | wrap));
		vireo_ring_wmb(vr);
	}
	vireo_packed_cb_on(vr);
	return vireo_packed_poll(vr, last);
}
