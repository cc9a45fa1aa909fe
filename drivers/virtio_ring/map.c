// SPDX-License-Identifier: GPL-2.0
/*
 * Mapping the buffers drivers add, and giving them back. Only our own
 * records (struct vireo_desc_extra, struct vireo_buf) say what was mapped:
 * nothing is unmapped on the strength of ring memory the device can write.
 * Without VIRTIO_F_ACCESS_PLATFORM there is nothing to map (virtio 1.2,
 * 6.1), which the inline vireo_ring_map() in ring.h settles before it gets
 * here.
 */
#include <linux/dma-mapping.h>

#include "ring.h"

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

void vireo_ring_unmap(struct vireo_ring *vr,
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
	WRITE_ONCE(vr->inflight, vr->inflight - 1);
	b->token = NULL;
	b->ndescs = 0;
}
