// SPDX-License-Identifier: GPL-2.0
/*
 * Creating and deleting virtqueues: the ring memory the device reads and
 * writes (its layout per virtio 1.2, 2.7 and 2.8, or the legacy one), and
 * the driver-private arrays beside it. Memory is what can fail here, so
 * this is where a ring is made smaller rather than not at all.
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

/* Frees what vireo_ring_alloc() allocated. */
static void vireo_ring_free_mem(struct vireo_ring *vr)
{
	vireo_ring_free_areas(vr);
	kvfree(vr->extra);
	kvfree(vr->bufs);
	kvfree(vr->ctx);
	vr->extra = NULL;
	vr->bufs = NULL;
	vr->ctx = NULL;
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
	if (vr->want_ctx)
		vr->ctx = kvcalloc(num, sizeof(*vr->ctx), GFP_KERNEL);
	if (!vr->extra || !vr->bufs || (vr->want_ctx && !vr->ctx)) {
		vireo_ring_free_mem(vr);
		return -ENOMEM;
	}
	for (i = 0; i < num; i++)
		vr->extra[i].next = i + 1;
	vr->num = num;
	vr->num_free = num;
	/* With indirect descriptors a request longer than the ring takes one table. */
	vr->max_chain = vr->indirect ? VIREO_RING_MAX : num;
	return 0;
}

/*
 * A queue reset with a new size (reset.c): the new ring is allocated while
 * the old one is still whole, so that a failure leaves the queue as it
 * was. Only for the modern layouts, which are the only ones that reset.
 */
int vireo_ring_realloc(struct vireo_ring *vr, unsigned int num)
{
	struct vireo_ring *tmp;
	int err;

	if (!vr->is_packed && !vr->area[1].va)
		return -EINVAL;		/* legacy layout */
	tmp = kzalloc(sizeof(*tmp), GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;
	tmp->is_packed = vr->is_packed;
	tmp->use_dma_api = vr->use_dma_api;
	tmp->dma_dev = vr->dma_dev;
	tmp->want_ctx = vr->want_ctx;
	tmp->indirect = vr->indirect;
	err = vireo_ring_alloc(tmp, num, 0);
	if (!err) {
		vireo_ring_free_mem(vr);
		memcpy(vr->area, tmp->area, sizeof(vr->area));
		if (vr->is_packed)
			vr->packed = tmp->packed;
		else
			vr->split = tmp->split;
		vr->desc_addr = tmp->desc_addr;
		vr->driver_addr = tmp->driver_addr;
		vr->device_addr = tmp->device_addr;
		vr->extra = tmp->extra;
		vr->bufs = tmp->bufs;
		vr->ctx = tmp->ctx;
		vr->num = tmp->num;
		vr->max_chain = tmp->max_chain;
		vr->num_free = tmp->num_free;
	}
	kfree(tmp);
	return err;
}

/*
 * Sets up an empty ring, as the device expects after a reset (virtio 1.2,
 * 2.6.1: the queue starts again from its initial state): the ring memory
 * zeroed, every descriptor free, both layouts' counters from the start.
 * The callback setting survives: a driver that had disabled callbacks
 * finds them disabled still.
 */
void vireo_ring_reinit(struct vireo_ring *vr)
{
	bool cb_off = vr->is_packed ?
		vr->packed.event_flags == VRING_PACKED_EVENT_FLAG_DISABLE :
		vr->split.avail_flags & VRING_AVAIL_F_NO_INTERRUPT;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vr->area); i++)
		if (vr->area[i].va)
			memset(vr->area[i].va, 0, vr->area[i].size);
	for (i = 0; i < vr->num; i++)
		vr->extra[i].next = i + 1;
	vr->free_head = 0;
	vr->num_free = vr->num;
	vr->num_added = 0;
	vr->detach_pos = 0;
	if (vr->is_packed)
		vireo_packed_init(vr);
	else
		vireo_split_init(vr);
	if (cb_off || !vr->vq.callback)
		vireo_vq_disable_cb(&vr->vq);
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
	vr->want_ctx = info->flags & VIREO_VQ_F_CTX;
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

	vireo_ring_free_mem(vr);
	/* vireo_break_vqs() may still be walking the list. */
	kfree_rcu(vr, rcu);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_del, VIREO_NS);

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
