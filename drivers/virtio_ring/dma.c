// SPDX-License-Identifier: GPL-2.0
/*
 * DMA for drivers that map their own buffers (receive pages, page pools)
 * and add them premapped. A ring without VIRTIO_F_ACCESS_PLATFORM gives
 * the device guest physical addresses and uses no DMA API (virtio 1.2,
 * 6.1); these helpers then return those addresses and do nothing else, so
 * a driver writes one code path for both modes.
 */
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/mm.h>

#include "ring.h"

struct device *vireo_vq_dma_dev(struct vireo_vq *vq)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	return vr->use_dma_api ? vr->dma_dev : NULL;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_dma_dev, VIREO_NS);

dma_addr_t vireo_vq_dma_map_page(struct vireo_vq *vq, struct page *page,
				 unsigned long offset, size_t size,
				 enum dma_data_direction dir)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	if (!vr->use_dma_api)
		return page_to_phys(page) + offset;
	return dma_map_page(vr->dma_dev, page, offset, size, dir);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_dma_map_page, VIREO_NS);

dma_addr_t vireo_vq_dma_map_single(struct vireo_vq *vq, void *ptr, size_t size,
				   enum dma_data_direction dir)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	if (!vr->use_dma_api)
		return virt_to_phys(ptr);
	return dma_map_single(vr->dma_dev, ptr, size, dir);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_dma_map_single, VIREO_NS);

void vireo_vq_dma_unmap_page(struct vireo_vq *vq, dma_addr_t addr, size_t size,
			     enum dma_data_direction dir)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	if (vr->use_dma_api)
		dma_unmap_page(vr->dma_dev, addr, size, dir);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_dma_unmap_page, VIREO_NS);

void vireo_vq_dma_unmap_single(struct vireo_vq *vq, dma_addr_t addr,
			       size_t size, enum dma_data_direction dir)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	if (vr->use_dma_api)
		dma_unmap_single(vr->dma_dev, addr, size, dir);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_dma_unmap_single, VIREO_NS);

int vireo_vq_dma_mapping_error(struct vireo_vq *vq, dma_addr_t addr)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	return vr->use_dma_api ? dma_mapping_error(vr->dma_dev, addr) : 0;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_dma_mapping_error, VIREO_NS);

bool vireo_vq_dma_need_sync(struct vireo_vq *vq, dma_addr_t addr)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	return vr->use_dma_api && dma_need_sync(vr->dma_dev, addr);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_dma_need_sync, VIREO_NS);

void vireo_vq_dma_sync_for_cpu(struct vireo_vq *vq, dma_addr_t addr,
			       unsigned long offset, size_t size,
			       enum dma_data_direction dir)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	if (vr->use_dma_api)
		dma_sync_single_range_for_cpu(vr->dma_dev, addr, offset, size,
					      dir);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_dma_sync_for_cpu, VIREO_NS);

void vireo_vq_dma_sync_for_device(struct vireo_vq *vq, dma_addr_t addr,
				  unsigned long offset, size_t size,
				  enum dma_data_direction dir)
{
	struct vireo_ring *vr = to_vireo_ring(vq);

	if (vr->use_dma_api)
		dma_sync_single_range_for_device(vr->dma_dev, addr, offset,
						 size, dir);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_dma_sync_for_device, VIREO_NS);
