// SPDX-License-Identifier: GPL-2.0
/*
 * Queues and interrupts of a virtio PCI device, for both interfaces.
 *
 * find_vqs tries three interrupt set-ups, best first:
 *  - MSI-X, one vector for config changes and one per queue that has a
 *    callback, the queue vectors spread over the CPUs;
 *  - MSI-X, two vectors: config changes, and all queues together;
 *  - INTx: one line, possibly shared with other devices; the ISR says
 *    whether the device raised it, and why (virtio 1.2, 4.1.5.5).
 * A set-up is abandoned for the next when the PCI core cannot give the
 * vectors, when the device reads back VIRTIO_MSI_NO_VECTOR for a mapping
 * (virtio 1.2, 4.1.5.1.2.2: the driver MUST verify each mapping), or when an
 * interrupt cannot be requested. Queues are enabled only once everything
 * else worked, so a set-up given up leaves no queue running on the device.
 */
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "transport.h"

const char *vireo_pci_irq_mode_name(enum vireo_pci_irq_mode mode)
{
	switch (mode) {
	case VIREO_PCI_MODE_MSIX_PER_VQ:
		return "msix-per-vq";
	case VIREO_PCI_MODE_MSIX_SHARED:
		return "msix-shared";
	case VIREO_PCI_MODE_INTX:
		return "intx";
	default:
		return "none";
	}
}

bool vireo_pci_notify(struct vireo_vq *vq)
{
	struct vireo_pci_queue *q = vireo_vq_transport_priv(vq);

	/*
	 * virtio 1.2, 4.1.5.2: the 16-bit queue index, or with
	 * VIRTIO_F_NOTIFICATION_DATA (modern only: legacy has no bit 38) the
	 * 32-bit notification data.
	 */
	if (vireo_has_feature(vq->vdev, VIRTIO_F_NOTIFICATION_DATA))
		iowrite32(vireo_vq_notification_data(vq), q->notify);
	else
		iowrite16(vq->index, q->notify);
	return true;
}

static irqreturn_t vireo_pci_config_irq(int irq, void *data)
{
	struct vireo_pci *vp = data;

	vireo_config_changed(&vp->vd);
	return IRQ_HANDLED;
}

static irqreturn_t vireo_pci_vq_irq(int irq, void *data)
{
	return vireo_vq_interrupt(data);
}

static irqreturn_t vireo_pci_all_vqs(struct vireo_pci *vp)
{
	irqreturn_t ret = IRQ_NONE;
	unsigned int i;

	for (i = 0; i < vp->nvqs; i++) {
		struct vireo_vq *vq = vp->queues[i].vq;

		if (vq && vq->callback)
			ret |= vireo_vq_interrupt(vq);
	}
	return ret;
}

static irqreturn_t vireo_pci_shared_irq(int irq, void *data)
{
	return vireo_pci_all_vqs(data);
}

static irqreturn_t vireo_pci_intx_irq(int irq, void *data)
{
	struct vireo_pci *vp = data;
	u8 isr;

	/*
	 * Reading the ISR clears it and deasserts the line (virtio 1.2,
	 * 4.1.4.5). Bits other than these two are reserved: ignored.
	 */
	isr = ioread8(vp->isr) & (VIREO_PCI_ISR_QUEUE | VIREO_PCI_ISR_CONFIG);
	if (!isr)
		return IRQ_NONE;
	if (isr & VIREO_PCI_ISR_CONFIG)
		vireo_config_changed(&vp->vd);
	if (isr & VIREO_PCI_ISR_QUEUE)
		vireo_pci_all_vqs(vp);
	return IRQ_HANDLED;
}

/* Frees whatever find_vqs got as far as creating. */
static void vireo_pci_teardown(struct vireo_pci *vp)
{
	struct pci_dev *pdev = vp->pdev;
	bool msix = pdev->msix_enabled;
	unsigned int i;

	WRITE_ONCE(vp->irq_mode, VIREO_PCI_MODE_NONE);
	for (i = 0; vp->irqs && i < vp->nvecs; i++) {
		struct vireo_pci_irq *irq = &vp->irqs[i];

		/* free_irq() insists the hint is gone first. */
		if (irq->hint)
			irq_update_affinity_hint(pci_irq_vector(pdev, i), NULL);
		kfree(irq->hint);
		irq->hint = NULL;
		if (irq->requested)
			free_irq(pci_irq_vector(pdev, i), irq->data);
	}

	for (i = 0; i < vp->nvqs; i++) {
		struct vireo_pci_queue *q = &vp->queues[i];

		if (!q->vq)
			continue;
		if (msix && q->vector != VIRTIO_MSI_NO_VECTOR)
			vp->iface->clear_queue_vector(vp, i);
		vireo_vq_del(q->vq);
	}
	if (msix && vp->config_vector_set)
		vp->iface->config_vector(vp, VIRTIO_MSI_NO_VECTOR);
	vp->config_vector_set = false;

	kfree(vp->queues);
	vp->queues = NULL;
	vp->nvqs = 0;
	kfree(vp->irqs);
	vp->irqs = NULL;
	if (vp->nvecs)
		pci_free_irq_vectors(pdev);
	vp->nvecs = 0;
}

static int vireo_pci_alloc_vectors(struct vireo_pci *vp,
				   enum vireo_pci_irq_mode mode,
				   unsigned int ncb, struct irq_affinity *desc)
{
	struct pci_dev *pdev = vp->pdev;
	struct irq_affinity affd = {};
	unsigned int nvecs;
	int ret;

	switch (mode) {
	case VIREO_PCI_MODE_MSIX_PER_VQ:
		nvecs = 1 + ncb;
		/*
		 * Spread (managed) vectors only for a driver that asked for it
		 * (@desc; blk-mq maps its queues by the spread). Others get
		 * plain vectors they may steer themselves (vireo_vq_set_affinity:
		 * a managed vector refuses that), and as many as they have
		 * queues whatever the number of CPUs. The config vector is
		 * never spread: it serves no CPU's queue.
		 */
		if (ncb && desc) {
			affd = *desc;
			affd.pre_vectors++;
			ret = pci_alloc_irq_vectors_affinity(pdev, nvecs, nvecs,
							     PCI_IRQ_MSIX |
							     PCI_IRQ_AFFINITY,
							     &affd);
		} else {
			ret = pci_alloc_irq_vectors(pdev, nvecs, nvecs,
						    PCI_IRQ_MSIX);
		}
		break;
	case VIREO_PCI_MODE_MSIX_SHARED:
		nvecs = ncb ? 2 : 1;
		ret = pci_alloc_irq_vectors(pdev, nvecs, nvecs, PCI_IRQ_MSIX);
		break;
	default:
		nvecs = 1;
		ret = pci_alloc_irq_vectors(pdev, 1, 1, VIREO_PCI_IRQ_INTX);
		break;
	}
	if (ret < 0)
		return ret;
	vp->nvecs = ret;

	vp->irqs = kcalloc(vp->nvecs, sizeof(*vp->irqs), GFP_KERNEL);
	if (!vp->irqs)
		return -ENOMEM;
	return 0;
}

static int vireo_pci_request(struct vireo_pci *vp, unsigned int vec,
			     irq_handler_t handler, unsigned long flags,
			     void *data, const char *suffix)
{
	struct vireo_pci_irq *irq = &vp->irqs[vec];
	int err;

	if (suffix)
		snprintf(irq->name, sizeof(irq->name), "%s-%s",
			 dev_name(&vp->vd.dev), suffix);
	else
		snprintf(irq->name, sizeof(irq->name), "%s",
			 dev_name(&vp->vd.dev));
	err = request_irq(pci_irq_vector(vp->pdev, vec), handler, flags,
			  irq->name, data);
	if (err)
		return err;
	irq->data = data;
	irq->requested = true;
	return 0;
}

static int vireo_pci_request_irqs(struct vireo_pci *vp,
				  enum vireo_pci_irq_mode mode)
{
	unsigned int i;
	int err;

	if (mode == VIREO_PCI_MODE_INTX)
		return vireo_pci_request(vp, 0, vireo_pci_intx_irq, IRQF_SHARED,
					 vp, NULL);

	err = vireo_pci_request(vp, 0, vireo_pci_config_irq, 0, vp, "config");
	if (err)
		return err;

	if (mode == VIREO_PCI_MODE_MSIX_SHARED) {
		if (vp->nvecs < 2)
			return 0;
		return vireo_pci_request(vp, 1, vireo_pci_shared_irq, 0, vp,
					 "virtqueues");
	}

	for (i = 0; i < vp->nvqs; i++) {
		struct vireo_pci_queue *q = &vp->queues[i];

		if (!q->vq || q->vector == VIRTIO_MSI_NO_VECTOR)
			continue;
		err = vireo_pci_request(vp, q->vector, vireo_pci_vq_irq, 0,
					q->vq, q->vq->name);
		if (err)
			return err;
	}
	return 0;
}

static void vireo_pci_log_mode(struct vireo_pci *vp,
			       enum vireo_pci_irq_mode mode, unsigned int nq,
			       unsigned int ncb)
{
	struct device *dev = &vp->vd.dev;
	const char *what = vp->vd.ops->name;
	const char *bdf = pci_name(vp->pdev);

	switch (mode) {
	case VIREO_PCI_MODE_MSIX_PER_VQ:
		dev_info(dev, "%s %s, MSI-X %u vectors (config + %u queues)\n",
			 what, bdf, vp->nvecs, ncb);
		break;
	case VIREO_PCI_MODE_MSIX_SHARED:
		dev_info(dev, "%s %s, MSI-X %u vectors (config + 1 shared by %u queues)\n",
			 what, bdf, vp->nvecs, ncb);
		break;
	default:
		dev_info(dev, "%s %s, INTx irq %d (%u queues)\n",
			 what, bdf, pci_irq_vector(vp->pdev, 0), nq);
		break;
	}
}

/*
 * One attempt at setting up every queue with interrupt mode @mode. On
 * failure everything is undone, and *@fallback says whether a lesser mode
 * might work.
 */
static int vireo_pci_try(struct vireo_pci *vp, enum vireo_pci_irq_mode mode,
			 unsigned int nvqs, const struct vireo_vq_info info[],
			 struct irq_affinity *desc, bool *fallback)
{
	unsigned int i, nq = 0, ncb = 0, next = 1;
	int err;

	for (i = 0; i < nvqs; i++) {
		if (!info[i].name)
			continue;
		nq++;
		if (info[i].callback)
			ncb++;
	}

	*fallback = false;
	vp->queues = kcalloc(nvqs, sizeof(*vp->queues), GFP_KERNEL);
	if (!vp->queues)
		return -ENOMEM;
	vp->nvqs = nvqs;

	err = vireo_pci_alloc_vectors(vp, mode, ncb, desc);
	if (err) {
		*fallback = err != -ENOMEM;
		goto fail;
	}

	if (mode != VIREO_PCI_MODE_INTX) {
		vp->config_vector_set = true;
		if (vp->iface->config_vector(vp, 0) != 0) {
			dev_info(&vp->vd.dev, "device refused MSI-X vector 0 for config changes\n");
			*fallback = true;
			err = -EBUSY;
			goto fail;
		}
	}

	for (i = 0; i < nvqs; i++) {
		u16 vector = VIRTIO_MSI_NO_VECTOR;

		if (!info[i].name)
			continue;
		if (info[i].callback && mode == VIREO_PCI_MODE_MSIX_PER_VQ)
			vector = next++;
		else if (info[i].callback && mode == VIREO_PCI_MODE_MSIX_SHARED)
			vector = 1;
		err = vp->iface->setup_queue(vp, i, &info[i], vector,
					     &vp->queues[i]);
		if (err == -EBUSY) {
			dev_info(&vp->vd.dev, "device refused MSI-X vector %u for queue %u\n",
				 vector, i);
			*fallback = true;
		}
		if (err)
			goto fail;
	}

	err = vireo_pci_request_irqs(vp, mode);
	if (err) {
		*fallback = true;
		goto fail;
	}

	for (i = 0; i < nvqs; i++)
		if (vp->queues[i].vq)
			vp->iface->activate_queue(vp, i, &vp->queues[i]);

	WRITE_ONCE(vp->irq_mode, mode);
	vireo_pci_log_mode(vp, mode, nq, ncb);
	return 0;

fail:
	vireo_pci_teardown(vp);
	return err;
}

int vireo_pci_find_vqs(struct vireo_device *vd, unsigned int nvqs,
		       struct vireo_vq *vqs[],
		       const struct vireo_vq_info info[],
		       struct irq_affinity *desc)
{
	static const enum vireo_pci_irq_mode modes[] = {
		VIREO_PCI_MODE_MSIX_PER_VQ,
		VIREO_PCI_MODE_MSIX_SHARED,
		VIREO_PCI_MODE_INTX,
	};
	struct vireo_pci *vp = to_vireo_pci(vd);
	bool fallback = false;
	unsigned int i;
	int err = -ENODEV;

	if (vp->queues) {
		dev_err(&vd->dev, "find_vqs called twice\n");
		return -EBUSY;
	}

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		if (modes[i] != VIREO_PCI_MODE_INTX && !vp->pdev->msix_cap)
			continue;
		err = vireo_pci_try(vp, modes[i], nvqs, info, desc, &fallback);
		if (!err || !fallback)
			break;
	}
	if (err) {
		dev_err(&vd->dev, "cannot set up %u queues: %d\n", nvqs, err);
		return err;
	}

	for (i = 0; i < nvqs; i++)
		vqs[i] = vp->queues[i].vq;
	return 0;
}

void vireo_pci_del_vqs(struct vireo_device *vd)
{
	vireo_pci_teardown(to_vireo_pci(vd));
}

void vireo_pci_synchronize_cbs(struct vireo_device *vd)
{
	struct vireo_pci *vp = to_vireo_pci(vd);
	unsigned int i;

	for (i = 0; vp->irqs && i < vp->nvecs; i++)
		if (vp->irqs[i].requested)
			synchronize_irq(pci_irq_vector(vp->pdev, i));
}

/* Queue @index's own MSI-X vector, or NULL if it shares one (or has none). */
static struct vireo_pci_queue *vireo_pci_own_vector(struct vireo_pci *vp,
						    int index)
{
	struct vireo_pci_queue *q;

	if (READ_ONCE(vp->irq_mode) != VIREO_PCI_MODE_MSIX_PER_VQ ||
	    index < 0 || index >= vp->nvqs)
		return NULL;
	q = &vp->queues[index];
	if (!q->vq || q->vector == VIRTIO_MSI_NO_VECTOR)
		return NULL;
	return q;
}

const struct cpumask *vireo_pci_get_vq_affinity(struct vireo_device *vd,
						int index)
{
	struct vireo_pci *vp = to_vireo_pci(vd);
	struct vireo_pci_queue *q = vireo_pci_own_vector(vp, index);

	if (!q)
		return NULL;
	if (vp->irqs[q->vector].hint)
		return vp->irqs[q->vector].hint;
	/* Spread by the PCI core (PCI_IRQ_AFFINITY), or NULL. */
	return pci_irq_get_affinity(vp->pdev, q->vector);
}

int vireo_pci_set_vq_affinity(struct vireo_device *vd, int index,
			      const struct cpumask *mask)
{
	struct vireo_pci *vp = to_vireo_pci(vd);
	struct vireo_pci_queue *q = vireo_pci_own_vector(vp, index);
	struct vireo_pci_irq *irq;
	unsigned int nr;
	int err;

	if (!q)
		return -EOPNOTSUPP;
	nr = pci_irq_vector(vp->pdev, q->vector);
	/* A managed (spread) vector's affinity is the kernel's, not ours. */
	if (irqd_affinity_is_managed(irq_get_irq_data(nr)))
		return -EBUSY;
	irq = &vp->irqs[q->vector];
	if (!mask) {
		if (irq->hint)
			irq_update_affinity_hint(nr, NULL);
		kfree(irq->hint);
		irq->hint = NULL;
		return 0;
	}
	if (!irq->hint) {
		irq->hint = kzalloc(cpumask_size(), GFP_KERNEL);
		if (!irq->hint)
			return -ENOMEM;
	}
	cpumask_copy(irq->hint, mask);
	err = irq_set_affinity_and_hint(nr, irq->hint);
	if (err) {
		irq_update_affinity_hint(nr, NULL);
		kfree(irq->hint);
		irq->hint = NULL;
	}
	return err;
}
