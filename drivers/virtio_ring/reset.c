// SPDX-License-Identifier: GPL-2.0
/*
 * Resetting one virtqueue while the others keep working (VIRTIO_F_RING_RESET,
 * virtio 1.2, 2.6.1), optionally with a new ring size: what ethtool -G and
 * AF_XDP need from the ring. The device is told through the transport's
 * reset_vq/enable_vq; the ring itself only has to give every buffer back
 * and start again from an empty ring, as if it had just been created.
 */
#include <linux/log2.h>

#include "ring.h"

bool vireo_vq_can_reset(struct vireo_vq *vq)
{
	struct vireo_device *vd = vq->vdev;

	return vireo_has_feature(vd, VIRTIO_F_RING_RESET) &&
		vd->ops->reset_vq && vd->ops->enable_vq;
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_can_reset, VIREO_NS);

/* Every buffer still in the ring goes back to the driver; returns how many. */
static unsigned int vireo_ring_recycle(struct vireo_ring *vr,
				       vireo_recycle_t recycle)
{
	unsigned int i, n = 0;
	void *token, *ctx;

	for (i = 0; i < vr->num; i++) {
		token = vr->bufs[i].token;
		if (!token)
			continue;
		ctx = vr->ctx ? vr->ctx[i] : NULL;
		vireo_ring_detach(vr, i);
		recycle(&vr->vq, token, ctx);
		n++;
	}
	vr->stats.recycled += n;
	return n;
}

/* A size the ring layout allows and the device takes (at most @max). */
static bool vireo_ring_size_ok(struct vireo_ring *vr, unsigned int num,
			       unsigned int max)
{
	if (!num || num > VIREO_RING_MAX || num > max)
		return false;
	/* virtio 1.2, 2.7: a split queue's size is a power of 2. */
	return vr->is_packed || is_power_of_2(num);
}

static int vireo_ring_reset(struct vireo_vq *vq, unsigned int num,
			    vireo_recycle_t recycle)
{
	struct vireo_ring *vr = to_vireo_ring(vq);
	struct vireo_device *vd = vq->vdev;
	unsigned int max = 0, old = vr->num, n;
	int err, ret = 0;

	if (!vireo_vq_can_reset(vq))
		return -EOPNOTSUPP;
	if (!recycle)
		return -EINVAL;
	if (READ_ONCE(vr->broken))
		return -EIO;
	if (!num)
		num = old;
	if (!vireo_ring_size_ok(vr, num, VIREO_RING_MAX)) {
		dev_err(&vd->dev, "queue %u (%s): cannot resize to %u (%s ring)\n",
			vq->index, vq->name, num,
			vr->is_packed ? "packed" : "split");
		return -EINVAL;
	}

	/*
	 * From here on an interrupt (a shared line, a late MSI) must not run
	 * the callback on a ring that is being rebuilt; one already running
	 * finishes before anything is touched.
	 */
	WRITE_ONCE(vr->resetting, true);
	err = vd->ops->reset_vq(vd, vq, &max);
	if (vd->ops->synchronize_cbs)
		vd->ops->synchronize_cbs(vd);
	if (err) {
		/* The device may still use the buffers: none can be given back. */
		WRITE_ONCE(vr->resetting, false);
		vireo_ring_bad(vr, "queue reset failed (%d)", err);
		return err;
	}

	n = vireo_ring_recycle(vr, recycle);
	if (num != old) {
		if (!vireo_ring_size_ok(vr, num, max)) {
			dev_err(&vd->dev, "queue %u (%s): cannot resize to %u (%s ring, the device takes at most %u); keeping %u\n",
				vq->index, vq->name, num,
				vr->is_packed ? "packed" : "split", max, old);
			ret = -EINVAL;
		} else {
			ret = vireo_ring_realloc(vr, num);
			if (ret)
				dev_err(&vd->dev, "queue %u (%s): no memory for a ring of %u (%d); keeping %u\n",
					vq->index, vq->name, num, ret, old);
		}
	}
	vireo_ring_reinit(vr);
	vr->stats.resets++;

	err = vd->ops->enable_vq(vd, vq);
	if (err) {
		WRITE_ONCE(vr->resetting, false);
		vireo_ring_bad(vr, "the device did not take the queue back (%d)",
			       err);
		return err;
	}
	dev_info(&vd->dev, "queue %u (%s): reset, %u buffer%s recycled, size %u -> %u\n",
		 vq->index, vq->name, n, n == 1 ? "" : "s", old, vr->num);
	/* The ring is whole again before interrupts may reach it. */
	smp_wmb();
	WRITE_ONCE(vr->resetting, false);
	return ret;
}

int vireo_vq_reset(struct vireo_vq *vq, vireo_recycle_t recycle)
{
	return vireo_ring_reset(vq, 0, recycle);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_reset, VIREO_NS);

int vireo_vq_resize(struct vireo_vq *vq, unsigned int num,
		    vireo_recycle_t recycle)
{
	if (!num)
		return -EINVAL;
	return vireo_ring_reset(vq, num, recycle);
}
EXPORT_SYMBOL_NS_GPL(vireo_vq_resize, VIREO_NS);
