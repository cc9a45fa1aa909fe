// SPDX-License-Identifier: GPL-2.0
/*
 * vireo virtqueues: creation, memory and DMA, the exported API and what the
 * split (split.c) and packed (packed.c) layouts share.
 */
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/rculist.h>
#include <linux/slab.h>

#include "ring.h"

/* ---------------------------------------------------------------------- */
/* Device errors                                                           */
/* ---------------------------------------------------------------------- */

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

/* ---------------------------------------------------------------------- */
/* Buffers and DMA                                                         */
/* ---------------------------------------------------------------------- */

/* vireo_ring_map() with the DMA API (VIRTIO_F_ACCESS_PLATFORM). */
int vireo_ring_map_dma(struct vireo_ring *vr, struct scatterlist *sg,
		       bool writable, dma_addr_t *addr)
{
	*addr = dma_map_page(vr->dma_dev, sg_page(sg), sg->offset, sg->length,
			     writable ? DMA_FROM_DEVICE : DMA_TO_DEVICE);
	if (dma_mapping_error(vr->dma_dev, *addr))
		return -ENOMEM;
	return 0;
}

static void vireo_ring_unmap(struct vireo_ring *vr,
			     const struct vireo_desc_extra *ex)
{
	if (!vr->use_dma_api || (ex->flags & VIREO_EXTRA_PREMAPPED))
		return;
	if (ex->flags & VRING_DESC_F_INDIRECT)
		dma_unmap_single(vr->dma_dev, ex->addr, ex->len, DMA_TO_DEVICE);
	else
		dma_unmap_page(vr->dma_dev, ex->addr, ex->len,
			       ex->flags & VRING_DESC_F_WRITE ?
			       DMA_FROM_DEVICE : DMA_TO_DEVICE);
}

/*
 * Undoes the mappings recorded in @n pool entries from @first on, following
 * our own links: a chain whose adding failed half way.
 */
void vireo_ring_unmap_pool(struct vireo_ring *vr, u16 first, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++, first = vr->extra[first].next)
		vireo_ring_unmap(vr, &vr->extra[first]);
}

/*
 * An indirect table is one allocation: @n ring-format descriptors, the
 * only part the device sees and only ever reads. With the DMA API, our own
 * records of what was mapped follow them, so that unmapping trusts nothing
 * in memory the device was given; without it there is nothing to unmap and
 * the table is all there is (half the memory, one pass to build).
 */
static size_t vireo_ring_indir_entry_size(const struct vireo_ring *vr)
{
	BUILD_BUG_ON(sizeof(struct vireo_split_desc) !=
		     sizeof(struct vireo_packed_desc));
	return sizeof(struct vireo_split_desc) +
		(vr->use_dma_api ? sizeof(struct vireo_desc_extra) : 0);
}

static struct vireo_desc_extra *indir_extra(void *table, unsigned int n)
{
	return table + n * sizeof(struct vireo_split_desc);
}

/*
 * Writes the entries of a table for @r (@total of them) in @packed's
 * layout, mapping each buffer as it goes (@dma: through the DMA API, as
 * vireo_ring_map(); else its guest physical address); inlined once per
 * layout and @dma, so the loop tests neither. It walks the lists as
 * vireo_sgs_next() does, but list by list: whether a buffer is writable
 * is then known once per list, and the lists are read once into locals
 * (the kernel builds without strict aliasing: the stores into the table
 * would otherwise make the compiler read them again for every entry).
 * Returns how many buffers were mapped: @total, or fewer if a mapping
 * failed.
 */
static __always_inline unsigned int
vireo_ring_indir_fill(struct vireo_ring *vr, const struct vireo_sgs *r,
		      void *table, unsigned int total, bool packed, bool dma,
		      bool premapped, u32 *in_len)
{
	struct scatterlist **sgs = r->sgs;
	const unsigned int nlists = r->nlists, out_lists = r->out_lists;
	const unsigned int limit = r->limit;
	struct vireo_split_desc *sd = table;
	struct vireo_packed_desc *pd = table;
	unsigned int l, left, n = 0;
	u32 writable = 0;

	for (l = 0; l < nlists; l++) {
		const bool w = l >= out_lists;
		const u16 flags = w ? VRING_DESC_F_WRITE : 0;
		struct scatterlist *sg;

		for (sg = sgs[l], left = limit; sg && left;
		     sg = --left ? vireo_sg_next(sg) : NULL, n++) {
			u32 len = sg->length;
			dma_addr_t addr;

			if (premapped)
				vireo_ring_map(vr, sg, w,
					       &indir_extra(table, total)[n],
					       &addr, true);
			else if (!dma)
				addr = sg_phys(sg);	/* virtio 1.2, 6.1 */
			else if (vireo_ring_map(vr, sg, w,
						&indir_extra(table, total)[n],
						&addr, false))
				goto out;
			if (w)
				writable += len;
			if (packed) {
				/* virtio 1.2, 2.8.19: WRITE is the only flag in a table. */
				pd[n].addr = cpu_to_le64(addr);
				pd[n].len = cpu_to_le32(len);
				pd[n].id = 0;
				pd[n].flags = cpu_to_le16(flags);
			} else {
				/* Each links to the next; the last is fixed below. */
				sd[n].addr = cpu_to_le64(addr);
				sd[n].len = cpu_to_le32(len);
				sd[n].flags = cpu_to_le16(flags | VRING_DESC_F_NEXT);
				sd[n].next = cpu_to_le16(n + 1);
			}
		}
	}
	if (!packed && n) {
		sd[n - 1].flags &= cpu_to_le16(~VRING_DESC_F_NEXT);
		sd[n - 1].next = 0;
	}
out:
	*in_len = writable;
	return n;
}

/*
 * Allocates a table for @total buffers, maps them and writes its entries in
 * the ring's layout, in one pass, and maps the table (*@table_addr). NULL:
 * no memory for a table (the caller makes a chain instead); ERR_PTR: a
 * buffer or the table could not be mapped.
 */
static __always_inline void *
__vireo_ring_indir_build(struct vireo_ring *vr, const struct vireo_sgs *r,
			 unsigned int total, gfp_t gfp, u32 *in_len,
			 dma_addr_t *table_addr, bool premapped)
{
	unsigned int mapped;
	void *table;

	table = kmalloc_array(total, vireo_ring_indir_entry_size(vr),
			      gfp | __GFP_NOWARN);
	if (!table)
		return NULL;

	if (premapped)
		mapped = vr->is_packed ?
			vireo_ring_indir_fill(vr, r, table, total, true, false,
					      true, in_len) :
			vireo_ring_indir_fill(vr, r, table, total, false, false,
					      true, in_len);
	else if (vr->is_packed && vr->use_dma_api)
		mapped = vireo_ring_indir_fill(vr, r, table, total, true, true,
					       false, in_len);
	else if (vr->is_packed)
		mapped = vireo_ring_indir_fill(vr, r, table, total, true, false,
					       false, in_len);
	else if (vr->use_dma_api)
		mapped = vireo_ring_indir_fill(vr, r, table, total, false, true,
					       false, in_len);
	else
		mapped = vireo_ring_indir_fill(vr, r, table, total, false, false,
					       false, in_len);
	if (mapped != total)
		goto unmap;

	if (!vr->use_dma_api) {
		/* virtio 1.2, 6.1, as in vireo_ring_map(). */
		*table_addr = virt_to_phys(table);
	} else {
		*table_addr = dma_map_single(vr->dma_dev, table,
					     total * sizeof(struct vireo_split_desc),
					     DMA_TO_DEVICE);
		if (dma_mapping_error(vr->dma_dev, *table_addr))
			goto unmap;
	}
	return table;

unmap:
	vireo_ring_indir_free(vr, table, total, mapped);
	return ERR_PTR(-ENOMEM);
}

void *vireo_ring_indir_build(struct vireo_ring *vr, const struct vireo_sgs *r,
			     unsigned int total, gfp_t gfp, u32 *in_len,
			     dma_addr_t *table_addr)
{
	return __vireo_ring_indir_build(vr, r, total, gfp, in_len, table_addr,
					false);
}

/* The buffers' own addresses go into the table; only the table is ours. */
void *vireo_ring_indir_build_premapped(struct vireo_ring *vr,
				       const struct vireo_sgs *r,
				       unsigned int total, gfp_t gfp,
				       u32 *in_len, dma_addr_t *table_addr)
{
	return __vireo_ring_indir_build(vr, r, total, gfp, in_len, table_addr,
					true);
}

/* Unmaps the first @mapped buffers recorded in @table (of @total) and frees it. */
void vireo_ring_indir_free(struct vireo_ring *vr, void *table,
			   unsigned int total, unsigned int mapped)
{
	struct vireo_desc_extra *ex;
	unsigned int i;

	if (!table)
		return;
	if (vr->use_dma_api) {
		ex = indir_extra(table, total);
		for (i = 0; i < mapped; i++)
			vireo_ring_unmap(vr, &ex[i]);
	}
	kfree(table);
}

/*
 * Takes buffer @id out of flight: unmaps it and gives its pool entries back
 * (for a packed ring, its slots may be reused only now: virtio 1.2,
 * 2.8.16). Only our own records are used: the chain's length and last
 * entry, and with the DMA API the links between.
 */
void vireo_ring_detach(struct vireo_ring *vr, u16 id)
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
	vr->inflight--;
	b->token = NULL;
	/* Only add_*_ctx sets it: a plain add must find it NULL. */
	b->ctx = NULL;
	b->ndescs = 0;
}

/* ---------------------------------------------------------------------- */
/* The API                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Inlined into each exported add: @premapped and @with_ctx are constants
 * there, so the plain adds (the hot path) carry neither.
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
	const struct vireo_sgs r = {
		.sgs = sgs,
		.nlists = out_sgs + in_sgs,
		.out_lists = out_sgs,
		.limit = limit,
	};
	struct vireo_sg_pos pos = {};
	struct scatterlist *sg;
	unsigned int total = 0;
	/* Both layouts give the buffer the first free pool entry as its id. */
	u16 id = vr->free_head;
	u64 bytes = 0;
	int err;

	if (unlikely(READ_ONCE(vr->broken)))
		return -EIO;
	if (!data)
		return -EINVAL;

	/*
	 * virtio 1.2, 2.7.5.3.1 and 2.8.17: no chain longer than the queue
	 * size; 2.7.5.2: no more than 2^32 bytes. Counting stops there, which
	 * also bounds a scatterlist that loops.
	 */
	for (sg = vireo_sgs_next(&r, &pos, NULL); sg;
	     sg = vireo_sgs_next(&r, &pos, sg)) {
		bytes += sg->length;
		if (unlikely(++total > vr->num))
			return -EINVAL;
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
	if (likely(!err)) {
		if (with_ctx)
			vr->bufs[id].ctx = ctx;
		vr->inflight++;
		vr->stats.added++;
	} else if (err == -ENOSPC) {
		vr->stats.full++;
	}
	return err;
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

void *vireo_vq_get_buf_ctx(struct vireo_vq *vq, unsigned int *len, void **ctx)
{
	struct vireo_ring *vr = to_vireo_ring(vq);
	unsigned int l = 0;
	void *token, *c;

	if (unlikely(READ_ONCE(vr->broken)))
		return NULL;
	if (vr->is_packed)
		token = vireo_packed_get_buf(vr, &l, &c);
	else
		token = vireo_split_get_buf(vr, &l, &c);
	if (token) {
		vr->stats.used++;
		if (len)
			*len = l;
		if (ctx)
			*ctx = c;
	}
	return token;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_get_buf_ctx, VIREO_NS);

void *vireo_vq_get_buf(struct vireo_vq *vq, unsigned int *len)
{
	return vireo_vq_get_buf_ctx(vq, len, NULL);
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
				*ctx = b->ctx;
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

	if (!vd->ops->set_vq_affinity)
		return -EOPNOTSUPP;
	return vd->ops->set_vq_affinity(vd, vq->index, mask);
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

dma_addr_t vireo_vq_desc_addr(struct vireo_vq *vq)
{
	return to_vireo_ring(vq)->desc_addr;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_desc_addr, VIREO_NS);

dma_addr_t vireo_vq_driver_addr(struct vireo_vq *vq)
{
	return to_vireo_ring(vq)->driver_addr;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_driver_addr, VIREO_NS);

dma_addr_t vireo_vq_device_addr(struct vireo_vq *vq)
{
	return to_vireo_ring(vq)->device_addr;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_device_addr, VIREO_NS);

void vireo_vq_set_transport_priv(struct vireo_vq *vq, void *p)
{
	to_vireo_ring(vq)->transport_priv = p;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_set_transport_priv, VIREO_NS);

void *vireo_vq_transport_priv(struct vireo_vq *vq)
{
	return to_vireo_ring(vq)->transport_priv;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_transport_priv, VIREO_NS);

/* ---------------------------------------------------------------------- */
/* Ring memory                                                             */
/* ---------------------------------------------------------------------- */

/*
 * Zeroed, physically contiguous and page aligned, which covers every
 * alignment of virtio 1.2, 2.7 and 2.8 and the legacy Queue Align.
 */
static int vireo_area_alloc(struct vireo_ring *vr, struct vireo_ring_area *a,
			    size_t size)
{
	a->size = size;
	if (vr->use_dma_api) {
		a->va = dma_alloc_coherent(vr->dma_dev, size, &a->addr,
					   GFP_KERNEL | __GFP_NOWARN);
	} else {
		/* virtio 1.2, 6.1: no ACCESS_PLATFORM, guest physical addresses. */
		a->va = alloc_pages_exact(size, GFP_KERNEL | __GFP_ZERO |
					  __GFP_NOWARN);
		if (a->va)
			a->addr = virt_to_phys(a->va);
	}
	return a->va ? 0 : -ENOMEM;
}

static void vireo_area_free(struct vireo_ring *vr, struct vireo_ring_area *a)
{
	if (!a->va)
		return;
	if (vr->use_dma_api)
		dma_free_coherent(vr->dma_dev, a->size, a->va, a->addr);
	else
		free_pages_exact(a->va, a->size);
	a->va = NULL;
}

static void vireo_ring_free_areas(struct vireo_ring *vr)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vr->area); i++)
		vireo_area_free(vr, &vr->area[i]);
}

/*
 * Split: virtio 1.2, 2.7: descriptor table (align 16), available ring with
 * used_event (align 2), used ring with avail_event (align 4). Legacy
 * (2.7.2): all in one area, the used ring at the next @legacy_align.
 */
static int vireo_split_alloc(struct vireo_ring *vr, unsigned int num,
			     unsigned int legacy_align)
{
	size_t desc = num * sizeof(struct vireo_split_desc);
	size_t avail = sizeof(struct vireo_split_avail) + (num + 1) * sizeof(__le16);
	size_t used = sizeof(struct vireo_split_used) +
		num * sizeof(struct vireo_split_used_elem) + sizeof(__le16);
	void *base;
	int err;

	if (legacy_align) {
		size_t used_off = ALIGN(desc + avail, legacy_align);

		err = vireo_area_alloc(vr, &vr->area[0],
				       used_off + ALIGN(used, legacy_align));
		if (err)
			return err;
		base = vr->area[0].va;
		vr->split.desc = base;
		vr->split.avail = base + desc;
		vr->split.used = base + used_off;
		vr->desc_addr = vr->area[0].addr;
		vr->driver_addr = vr->area[0].addr + desc;
		vr->device_addr = vr->area[0].addr + used_off;
		return 0;
	}

	err = vireo_area_alloc(vr, &vr->area[0], desc);
	if (!err)
		err = vireo_area_alloc(vr, &vr->area[1], avail);
	if (!err)
		err = vireo_area_alloc(vr, &vr->area[2], used);
	if (err) {
		vireo_ring_free_areas(vr);
		return err;
	}
	vr->split.desc = vr->area[0].va;
	vr->split.avail = vr->area[1].va;
	vr->split.used = vr->area[2].va;
	vr->desc_addr = vr->area[0].addr;
	vr->driver_addr = vr->area[1].addr;
	vr->device_addr = vr->area[2].addr;
	return 0;
}

/*
 * Packed: virtio 1.2, 2.8.10.1: descriptor ring (align 16) and the two
 * 4-byte event suppression structures (align 4), which share one area.
 */
static int vireo_packed_alloc(struct vireo_ring *vr, unsigned int num)
{
	int err;

	err = vireo_area_alloc(vr, &vr->area[0],
			       num * sizeof(struct vireo_packed_desc));
	if (!err)
		err = vireo_area_alloc(vr, &vr->area[1],
				       2 * sizeof(struct vireo_packed_event));
	if (err) {
		vireo_ring_free_areas(vr);
		return err;
	}
	vr->packed.desc = vr->area[0].va;
	vr->packed.driver = vr->area[1].va;
	vr->packed.device = vr->packed.driver + 1;
	vr->desc_addr = vr->area[0].addr;
	vr->driver_addr = vr->area[1].addr;
	vr->device_addr = vr->area[1].addr + sizeof(struct vireo_packed_event);
	return 0;
}

static int vireo_ring_alloc(struct vireo_ring *vr, unsigned int num,
			    unsigned int legacy_align)
{
	unsigned int i;
	int err;

	err = vr->is_packed ? vireo_packed_alloc(vr, num) :
		vireo_split_alloc(vr, num, legacy_align);
	if (err)
		return err;

	vr->extra = kvcalloc(num, sizeof(*vr->extra), GFP_KERNEL);
	vr->bufs = kvcalloc(num, sizeof(*vr->bufs), GFP_KERNEL);
	if (!vr->extra || !vr->bufs) {
		kvfree(vr->extra);
		kvfree(vr->bufs);
		vr->extra = NULL;
		vr->bufs = NULL;
		vireo_ring_free_areas(vr);
		return -ENOMEM;
	}
	for (i = 0; i < num; i++)
		vr->extra[i].next = i + 1;
	vr->num = num;
	vr->num_free = num;
	return 0;
}

struct vireo_vq *vireo_vq_new(struct vireo_device *vd, unsigned int index,
			      unsigned int num, unsigned int legacy_align,
			      bool (*notify)(struct vireo_vq *vq),
			      const struct vireo_vq_info *info)
{
	bool packed = vireo_has_feature(vd, VIRTIO_F_RING_PACKED);
	struct vireo_ring *vr;
	unsigned int n, min;
	int err;

	if (!notify || !info || !num || num > VIREO_RING_MAX)
		return ERR_PTR(-EINVAL);
	/* virtio 1.2, 2.7: a split queue's size is a power of 2. */
	if (!packed && !is_power_of_2(num))
		return ERR_PTR(-EINVAL);
	/* Legacy layouts are split only, aligned within our page-aligned area. */
	if (legacy_align && (packed || !is_power_of_2(legacy_align) ||
			     legacy_align > PAGE_SIZE))
		return ERR_PTR(-EINVAL);

	vr = kzalloc(sizeof(*vr), GFP_KERNEL);
	if (!vr)
		return ERR_PTR(-ENOMEM);
	vr->vq.vdev = vd;
	vr->vq.index = index;
	vr->vq.name = info->name ? info->name : "";
	vr->vq.callback = info->callback;
	vr->notify = notify;
	vr->is_packed = packed;
	vr->use_dma_api = vireo_has_feature(vd, VIRTIO_F_ACCESS_PLATFORM);
	vr->weak_barriers = !vireo_has_feature(vd, VIRTIO_F_ORDER_PLATFORM);
	vr->indirect = vireo_has_feature(vd, VIRTIO_RING_F_INDIRECT_DESC);
	vr->event_idx = vireo_has_feature(vd, VIRTIO_RING_F_EVENT_IDX);
	vr->dma_dev = vireo_dma_dev(vd);
	atomic64_set(&vr->stats.kicks, 0);
	atomic64_set(&vr->stats.interrupts, 0);
	atomic64_set(&vr->stats.spurious, 0);
	atomic64_set(&vr->stats.cb_suppressed, 0);
	if (vr->use_dma_api && !vr->dma_dev) {
		err = -EINVAL;
		goto free;
	}

	/* Short of memory, try a smaller ring, down to a quarter of @num. */
	min = max(num / 4, 1U);
	for (n = num; ; n /= 2) {
		err = vireo_ring_alloc(vr, n, legacy_align);
		if (!err)
			break;
		if (err != -ENOMEM || n / 2 < min)
			goto free;
	}

	if (packed)
		vireo_packed_init(vr);
	else
		vireo_split_init(vr);
	/* A queue without a callback never wants used buffer notifications. */
	if (!vr->vq.callback)
		vireo_vq_disable_cb(&vr->vq);
	atomic64_set(&vr->stats.cb_suppressed, 0);

	list_add_tail_rcu(&vr->node, &vd->vqs);
	vireo_ring_debugfs_add(vr);
	return &vr->vq;

free:
	kfree(vr);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_new, VIREO_NS);

void vireo_vq_del(struct vireo_vq *vq)
{
	struct vireo_ring *vr = to_vireo_ring(vq);
	unsigned int i;

	vireo_ring_debugfs_del(vr);
	list_del_rcu(&vr->node);

	/* Buffers the driver did not reclaim: unmap them at least. */
	for (i = 0; i < vr->num; i++)
		if (vr->bufs[i].token)
			vireo_ring_detach(vr, i);

	vireo_ring_free_areas(vr);
	kvfree(vr->extra);
	kvfree(vr->bufs);
	/* vireo_break_vqs() may still be walking the list. */
	kfree_rcu(vr, rcu);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_del, VIREO_NS);
