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

/*
 * vireo_ring_map() with the DMA API (VIRTIO_F_ACCESS_PLATFORM): the address,
 * or DMA_MAPPING_ERROR. Returned, not written through a pointer, so that
 * the add paths keep the address in a register (a local whose address is
 * taken costs a stack slot, zeroing and a canary on every add).
 */
dma_addr_t vireo_ring_map_dma(struct vireo_ring *vr, struct scatterlist *sg,
			      bool writable)
{
	dma_addr_t addr;

	addr = dma_map_page(vr->dma_dev, sg_page(sg), sg->offset, sg->length,
			    writable ? DMA_FROM_DEVICE : DMA_TO_DEVICE);
	if (dma_mapping_error(vr->dma_dev, addr))
		return DMA_MAPPING_ERROR;
	return addr;
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
	vireo_ring_detach_inline(vr, id);
}
