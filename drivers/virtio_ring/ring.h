/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vireo_ring private state: the ring layouts of the virtio specification
 * (virtio 1.2, 2.7 split and 2.8 packed virtqueues) and the driver-side
 * bookkeeping behind a struct vireo_vq.
 *
 * Locking: the caller serialises add, get_buf, kick_prepare, the callback
 * controls and detach_unused on one queue (its own lock or NAPI), as with
 * Linux virtqueues. vireo_vq_notify(), vireo_vq_interrupt(),
 * vireo_vq_more_used() and vireo_break_vqs() run without that lock; they
 * only read state that is published with WRITE_ONCE (last_used_idx/_pos, broken)
 * and update atomic counters.
 *
 * Nothing the device can write is trusted: descriptor chains, lengths and
 * DMA addresses live in driver-private arrays (struct vireo_desc_extra,
 * struct vireo_buf) and never come back from ring memory.
 */
#ifndef _VIREO_RING_H
#define _VIREO_RING_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>
#include <linux/types.h>
#include <asm/barrier.h>

#include <vireo/virtio.h>

/* Largest queue either layout allows (virtio 1.2, 2.7 and 2.8). */
#define VIREO_RING_MAX		32768U
/* Longest request put straight into a ring that has room (ring.h). */
#define VIREO_RING_DIRECT_MAX	4U

/* Split ring, virtio 1.2, 2.7.5, 2.7.6 and 2.7.8. */
struct vireo_split_desc {
	__le64 addr;
	__le32 len;
	__le16 flags;
	__le16 next;
};

struct vireo_split_avail {
	__le16 flags;
	__le16 idx;
	__le16 ring[];		/* then used_event (VIRTIO_F_EVENT_IDX) */
};

struct vireo_split_used_elem {
	__le32 id;
	__le32 len;
};

struct vireo_split_used {
	__le16 flags;
	__le16 idx;
	struct vireo_split_used_elem ring[];	/* then avail_event */
};

/* Packed ring, virtio 1.2, 2.8.13 and 2.8.14. */
struct vireo_packed_desc {
	__le64 addr;
	__le32 len;
	__le16 id;
	__le16 flags;
};

struct vireo_packed_event {
	__le16 off_wrap;	/* offset in bits 0-14, wrap counter in bit 15 */
	__le16 flags;		/* VRING_PACKED_EVENT_FLAG_* */
};

#define VIREO_PACKED_F_AVAIL	BIT(VRING_PACKED_DESC_F_AVAIL)
#define VIREO_PACKED_F_USED	BIT(VRING_PACKED_DESC_F_USED)
#define VIREO_PACKED_WRAP	BIT(VRING_PACKED_EVENT_F_WRAP_CTR)

/*
 * One per descriptor of the driver's pool: the ring descriptor with the same
 * index (split), or an entry of the buffer id pool (packed, where ring slots
 * are reused in ring order while buffers complete out of order). Free
 * entries and the entries of one chain are linked through @next.
 */
struct vireo_desc_extra {
	dma_addr_t addr;	/* as given to the device; for unmapping */
	u32 len;
	u16 flags;		/* VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT, */
	u16 next;		/* VIREO_EXTRA_PREMAPPED */
};

/* The driver mapped this buffer (a premapped add): not ours to unmap. */
#define VIREO_EXTRA_PREMAPPED	0x8000

/* One per buffer in flight, indexed by its head (split) or id (packed). */
struct vireo_buf {
	void *token;		/* NULL: not in flight */
	void *indir;		/* indirect table, or NULL */
	u32 in_len;		/* device-writable bytes */
	u16 ndescs;		/* ring descriptors taken (1 when indirect) */
	u16 nindir;		/* entries in @indir */
	u16 last;		/* the last entry of @extra the buffer took */
};

/* One physically contiguous piece of ring memory. */
struct vireo_ring_area {
	void *va;
	dma_addr_t addr;	/* what the device is told */
	size_t size;
};

struct vireo_ring_stats {
	/* Under the caller's queue lock. */
	u64 added;
	u64 used;
	u64 kicks_suppressed;
	u64 full;		/* adds refused: no room (-ENOSPC) */
	u64 longest_table;	/* entries of the longest indirect table built */
	/* Updated outside it. */
	atomic64_t kicks;
	atomic64_t interrupts;
	atomic64_t spurious;
	atomic64_t cb_suppressed;
	/* reset.c, under the caller's exclusion. */
	u64 resets;
	u64 recycled;
};

struct vireo_ring {
	struct vireo_vq vq;
	struct list_head node;		/* on vq.vdev->vqs, RCU */
	struct rcu_head rcu;

	bool is_packed;
	bool use_dma_api;		/* VIRTIO_F_ACCESS_PLATFORM */
	bool weak_barriers;		/* no VIRTIO_F_ORDER_PLATFORM */
	bool indirect;			/* VIRTIO_RING_F_INDIRECT_DESC */
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX */
	bool broken;			/* READ_ONCE/WRITE_ONCE */
	bool want_ctx;			/* VIREO_VQ_F_CTX: @ctx is allocated */
	bool resetting;			/* reset.c: interrupts ignored; READ_ONCE */
	unsigned long error_logged;	/* bit 0: the one log line was printed */

	unsigned int num;
	unsigned int max_chain;		/* buffers one request may have */
	unsigned int num_free;		/* descriptors (split) / ring slots (packed) */
	unsigned int inflight;		/* buffers */
	u16 free_head;			/* first free entry of @extra */
	u16 num_added;			/* since the last kick_prepare, saturating */
	/*
	 * Next used entry to read. Two names for one field, since the two
	 * layouts count differently and code should say which it means.
	 */
	union {
		u16 last_used_idx;	/* split: free-running used index */
		u16 last_used_pos;	/* packed: slot, used wrap counter in bit 15 */
	};
	unsigned int detach_pos;	/* where detach_unused looks next */

	struct vireo_desc_extra *extra;	/* [num] */
	struct vireo_buf *bufs;		/* [num] */
	/*
	 * [num], by the same index as @bufs, only for a queue created with
	 * VIREO_VQ_F_CTX: kept out of struct vireo_buf so that queues that
	 * never use a context do not carry it in every cache line of @bufs.
	 */
	void **ctx;

	union {
		struct {
			struct vireo_split_desc *desc;
			struct vireo_split_avail *avail;
			struct vireo_split_used *used;
			u16 avail_idx;		/* what avail->idx was set to */
			u16 avail_flags;	/* VRING_AVAIL_F_NO_INTERRUPT: callbacks off */
		} split;
		struct {
			struct vireo_packed_desc *desc;
			struct vireo_packed_event *driver;	/* we write */
			struct vireo_packed_event *device;	/* the device writes */
			u16 next_avail;		/* ring slot */
			bool avail_wrap;	/* driver ring wrap counter */
			u16 event_flags;	/* what driver->flags was set to */
		} packed;
	};

	struct vireo_ring_area area[3];	/* desc, driver, device; legacy: one */
	dma_addr_t desc_addr, driver_addr, device_addr;

	bool (*notify)(struct vireo_vq *vq);
	void *transport_priv;
	struct device *dma_dev;
	struct dentry *debugfs;
	struct vireo_ring_stats stats;
};

static inline struct vireo_ring *to_vireo_ring(struct vireo_vq *vq)
{
	return container_of(vq, struct vireo_ring, vq);
}

/*
 * The device is another CPU unless VIRTIO_F_ORDER_PLATFORM says it is real
 * hardware that needs the platform's DMA ordering (virtio 1.2, 6).
 */
static inline void vireo_ring_mb(const struct vireo_ring *vr)
{
	if (vr->weak_barriers) {
		/* Full barrier against another CPU; callers say what it orders. */
		virt_mb();
	} else {
		/* Full barrier against hardware; callers say what it orders. */
		mb();
	}
}

static inline void vireo_ring_rmb(const struct vireo_ring *vr)
{
	if (vr->weak_barriers) {
		/* Orders reads against another CPU; callers say which. */
		virt_rmb();
	} else {
		/* Orders reads of coherent DMA memory; callers say which. */
		dma_rmb();
	}
}

static inline void vireo_ring_wmb(const struct vireo_ring *vr)
{
	if (vr->weak_barriers) {
		/* Orders writes against another CPU; callers say which. */
		virt_wmb();
	} else {
		/* Orders writes to coherent DMA memory; callers say which. */
		dma_wmb();
	}
}

/*
 * True if moving an index from @old to @new passed @event: the test of
 * virtio 1.2, 2.7.7 and 2.7.10 for used_event/avail_event, in 16 bits.
 */
static inline bool vireo_need_event(u16 event, u16 new, u16 old)
{
	return (u16)(new - event - 1) < (u16)(new - old);
}

/* Counts what was made available since the last kick_prepare, saturating. */
static inline void vireo_ring_count_added(struct vireo_ring *vr, unsigned int n)
{
	vr->num_added = min_t(unsigned int, vr->num_added + n, U16_MAX);
}

/*
 * The buffers of one request: @nlists scatterlists, the first @out_lists
 * device-readable and the rest device-writable, at most @limit entries of
 * each.
 */
struct vireo_sgs {
	struct scatterlist **sgs;
	unsigned int nlists;
	unsigned int out_lists;
	unsigned int limit;
};

/* sg_next(), inline: it runs for every buffer of every request, twice. */
static inline struct scatterlist *vireo_sg_next(struct scatterlist *sg)
{
	if (sg_is_last(sg))
		return NULL;
	sg++;
	if (unlikely(sg_is_chain(sg)))
		sg = sg_chain_ptr(sg);
	return sg;
}

/* Where a walk over the entries of a struct vireo_sgs is. */
struct vireo_sg_pos {
	unsigned int list;	/* lists started */
	unsigned int left;	/* entries the current list may still have */
};

/*
 * The entry after @sg (NULL: the first) of @r, or NULL after the last.
 * Walk with: for (sg = vireo_sgs_next(r, &pos, NULL); sg;
 * sg = vireo_sgs_next(r, &pos, sg)), @pos zeroed first.
 */
static inline struct scatterlist *vireo_sgs_next(const struct vireo_sgs *r,
						 struct vireo_sg_pos *pos,
						 struct scatterlist *sg)
{
	if (sg && --pos->left) {
		sg = vireo_sg_next(sg);
		if (sg)
			return sg;
	}
	while (pos->list < r->nlists) {
		sg = r->sgs[pos->list++];
		pos->left = r->limit;
		if (sg && pos->left)
			return sg;
	}
	return NULL;
}

/* Is the entry vireo_sgs_next() just returned device-writable? */
static inline bool vireo_sgs_writable(const struct vireo_sgs *r,
				      const struct vireo_sg_pos *pos)
{
	return pos->list > r->out_lists;
}

/*
 * Should a request of @total buffers go behind an indirect table? A short
 * request goes straight into the ring while more than half of it stays
 * free: no table to allocate and free, and the device reads it through the
 * ring mapping it already has instead of looking up a new one. Past that,
 * tables keep the ring from running out of descriptors before it runs out
 * of buffers.
 */
static inline bool vireo_ring_want_table(const struct vireo_ring *vr,
					 unsigned int total)
{
	if (!vr->indirect || total < 2 || !vr->num_free)
		return false;
	return total > VIREO_RING_DIRECT_MAX ||
		vr->num_free < total + vr->num / 2;
}

/*
 * The most buffers a request may have and still go straight into the ring
 * now: vireo_ring_want_table()'s rule turned around, within the room
 * there is. Without indirect descriptors, the free descriptors; with
 * them, one buffer whenever a descriptor is free, up to
 * VIREO_RING_DIRECT_MAX while more than half the ring stays free.
 */
static inline unsigned int vireo_ring_direct_cap(const struct vireo_ring *vr)
{
	unsigned int half = vr->num / 2;

	if (!vr->indirect)
		return vr->num_free;
	if (vr->num_free >= half + 2)
		return min(VIREO_RING_DIRECT_MAX, vr->num_free - half);
	return min(1U, vr->num_free);
}

/* map.c */
dma_addr_t vireo_ring_map_dma(struct vireo_ring *vr, struct scatterlist *sg,
			      bool writable);
void vireo_ring_unmap(struct vireo_ring *vr, const struct vireo_desc_extra *ex);
void vireo_ring_unmap_pool(struct vireo_ring *vr, u16 first, unsigned int n);
void vireo_ring_detach(struct vireo_ring *vr, u16 id);

/*
 * The address the device is given for @sg. Only with the DMA API is there a
 * mapping to record (in @ex) and to undo later. @premapped (a constant at
 * every call): the driver mapped @sg itself (vireo_vq_dma_map_*), its
 * sg_dma_address() is the address, and the record says not to unmap it.
 */
static __always_inline int vireo_ring_map(struct vireo_ring *vr,
					  struct scatterlist *sg, bool writable,
					  struct vireo_desc_extra *ex,
					  dma_addr_t *addr, bool premapped)
{
	dma_addr_t a;

	if (premapped) {
		*addr = sg_dma_address(sg);
		if (vr->use_dma_api)
			ex->flags = VIREO_EXTRA_PREMAPPED;
		return 0;
	}
	if (likely(!vr->use_dma_api)) {
		/* virtio 1.2, 6.1: no ACCESS_PLATFORM, guest physical addresses. */
		*addr = sg_phys(sg);
		return 0;
	}
	a = vireo_ring_map_dma(vr, sg, writable);
	if (a == DMA_MAPPING_ERROR)
		return -ENOMEM;
	*addr = a;
	ex->addr = a;
	ex->len = sg->length;
	ex->flags = writable ? VRING_DESC_F_WRITE : 0;
	return 0;
}

/* api.c */
__printf(2, 3)
void vireo_ring_bad(struct vireo_ring *vr, const char *fmt, ...);

/* indirect.c */
void *vireo_ring_indir_build(struct vireo_ring *vr, const struct vireo_sgs *r,
			     unsigned int total, gfp_t gfp, u32 *in_len,
			     dma_addr_t *table_addr);
void *vireo_ring_indir_build_premapped(struct vireo_ring *vr,
				       const struct vireo_sgs *r,
				       unsigned int total, gfp_t gfp,
				       u32 *in_len, dma_addr_t *table_addr);
void vireo_ring_indir_free(struct vireo_ring *vr, void *table,
			   unsigned int total, unsigned int mapped);

/*
 * The indirect table for a request of @total buffers, built, if it should
 * have one (vireo_ring_want_table()). NULL: it goes straight into the ring
 * (no table wanted, or no memory for one); ERR_PTR: a mapping failed.
 */
static __always_inline void *vireo_ring_table(struct vireo_ring *vr,
					      const struct vireo_sgs *r,
					      unsigned int total, gfp_t gfp,
					      u32 *in_len,
					      dma_addr_t *table_addr,
					      bool premapped)
{
	if (!vireo_ring_want_table(vr, total))
		return NULL;
	if (premapped)
		return vireo_ring_indir_build_premapped(vr, r, total, gfp,
							in_len, table_addr);
	return vireo_ring_indir_build(vr, r, total, gfp, in_len, table_addr);
}

/*
 * A request is written at pool entry @id on, its chain ending at pool entry
 * @last (@id itself behind a table): takes its entries off the free list
 * and records the buffer. Returns the ring descriptors it took.
 */
static inline unsigned int vireo_ring_took(struct vireo_ring *vr, u16 id,
					   u16 last, void *data, void *table,
					   unsigned int total, u32 in_len)
{
	struct vireo_buf *b = &vr->bufs[id];
	unsigned int ndescs = table ? 1 : total;

	vr->free_head = vr->extra[last].next;
	vr->num_free -= ndescs;
	b->token = data;
	b->indir = table;
	b->nindir = table ? total : 0;
	b->in_len = in_len;
	b->ndescs = ndescs;
	b->last = last;
	return ndescs;
}

/*
 * vireo_ring_detach(), inlined where it runs for every completion
 * (vireo_split_get_buf()).
 */
static __always_inline void vireo_ring_detach_inline(struct vireo_ring *vr,
						     u16 id)
{
	struct vireo_buf *b = &vr->bufs[id];

	if (unlikely(vr->use_dma_api))
		vireo_ring_unmap_pool(vr, id, b->ndescs);
	if (b->indir) {
		vireo_ring_indir_free(vr, b->indir, b->nindir, b->nindir);
		b->indir = NULL;
		b->nindir = 0;
	}

	vr->extra[b->last].next = vr->free_head;
	vr->free_head = id;
	vr->num_free += b->ndescs;
	WRITE_ONCE(vr->inflight, vr->inflight - 1);
	b->token = NULL;
	b->ndescs = 0;
}

/*
 * What a layout's get_buf found: a buffer's token (NULL: none), the bytes
 * the device wrote and the buffer's id. Small enough to come back in two
 * registers, so the get path keeps no local in memory.
 */
struct vireo_used {
	void *token;
	u32 len;
	u16 id;
};

/* split.c */
void vireo_split_init(struct vireo_ring *vr);
int vireo_split_add(struct vireo_ring *vr, const struct vireo_sgs *r,
		    unsigned int total, void *data, gfp_t gfp);
int vireo_split_add_premapped(struct vireo_ring *vr, const struct vireo_sgs *r,
			      unsigned int total, void *data, gfp_t gfp);
int vireo_split_add_short(struct vireo_ring *vr, struct scatterlist **sgs,
			  unsigned int nlists, unsigned int out_lists,
			  unsigned int limit, void *data);
int vireo_split_add_short_premapped(struct vireo_ring *vr,
				    struct scatterlist **sgs,
				    unsigned int nlists, unsigned int out_lists,
				    unsigned int limit, void *data);
bool vireo_split_kick_prepare(struct vireo_ring *vr);
bool vireo_split_more_used(struct vireo_ring *vr);
struct vireo_used vireo_split_get_buf(struct vireo_ring *vr);
void vireo_split_disable_cb(struct vireo_ring *vr);
unsigned int vireo_split_enable_cb_prepare(struct vireo_ring *vr);
bool vireo_split_poll(struct vireo_ring *vr, unsigned int pos);
bool vireo_split_enable_cb_delayed(struct vireo_ring *vr);

/* packed.c */
void vireo_packed_init(struct vireo_ring *vr);
int vireo_packed_add(struct vireo_ring *vr, const struct vireo_sgs *r,
		     unsigned int total, void *data, gfp_t gfp);
int vireo_packed_add_premapped(struct vireo_ring *vr, const struct vireo_sgs *r,
			       unsigned int total, void *data, gfp_t gfp);
bool vireo_packed_kick_prepare(struct vireo_ring *vr);
bool vireo_packed_more_used(struct vireo_ring *vr);
struct vireo_used vireo_packed_get_buf(struct vireo_ring *vr);
void vireo_packed_disable_cb(struct vireo_ring *vr);
unsigned int vireo_packed_enable_cb_prepare(struct vireo_ring *vr);
bool vireo_packed_poll(struct vireo_ring *vr, unsigned int pos);
bool vireo_packed_enable_cb_delayed(struct vireo_ring *vr);

/* alloc.c */
int vireo_ring_realloc(struct vireo_ring *vr, unsigned int num);
void vireo_ring_reinit(struct vireo_ring *vr);

/* debugfs.c */
void vireo_ring_debugfs_add(struct vireo_ring *vr);
void vireo_ring_debugfs_del(struct vireo_ring *vr);

#endif /* _VIREO_RING_H */
