// SPDX-License-Identifier: GPL-2.0
/*
 * Indirect descriptor tables (virtio 1.2, 2.7.5.3 and 2.8.19): a long
 * request takes one ring descriptor and a table of its own, so the ring
 * does not run out of descriptors before it runs out of buffers. Building
 * a table is on the hot path of every large request; it is kept apart from
 * the ring layouts because split and packed tables differ only in the
 * entry format.
 */
#include <linux/err.h>
#include <linux/io.h>
#include <linux/slab.h>

#include "ring.h"

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
	if (total > vr->stats.longest_table)
		vr->stats.longest_table = total;
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
