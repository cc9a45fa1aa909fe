// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy (virtio 0.9.5) PCI interface of transitional devices: one I/O
 * BAR 0 holding the registers, followed by the device-specific config,
 * which moves 4 bytes further once MSI-X is enabled (virtio 1.2, 4.1.4.9,
 * "Legacy Interfaces: A Note on PCI Device Layout"). QEMU offers it with
 * disable-modern=on, or alongside the modern one by default.
 *
 * What the legacy interface cannot do shapes this file: 32 feature bits
 * only (so never VIRTIO_F_VERSION_1), no config generation, queue sizes the
 * device dictates, and split rings in one block addressed by a 32-bit page
 * number.
 */
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/log2.h>
#include <linux/pci.h>

#include "transport.h"

/* Where the device-specific config starts right now. */
static unsigned int vireo_pci_legacy_hdr(struct vireo_pci *vp)
{
	return VIRTIO_PCI_CONFIG_OFF(vp->pdev->msix_enabled);
}

static u8 vireo_pci_legacy_get_status(struct vireo_device *vd)
{
	return ioread8(to_vireo_pci(vd)->ioaddr + VIRTIO_PCI_STATUS);
}

static void vireo_pci_legacy_set_status(struct vireo_device *vd, u8 status)
{
	iowrite8(status, to_vireo_pci(vd)->ioaddr + VIRTIO_PCI_STATUS);
}

static int vireo_pci_legacy_reset(struct vireo_device *vd)
{
	vireo_pci_legacy_set_status(vd, 0);
	return vireo_wait_for_reset(vd, vireo_pci_present);
}

static void vireo_pci_legacy_get_features(struct vireo_device *vd,
					  struct vireo_features *f)
{
	memset(f, 0, sizeof(*f));
	f->w[0] = ioread32(to_vireo_pci(vd)->ioaddr + VIRTIO_PCI_HOST_FEATURES);
}

static int vireo_pci_legacy_set_features(struct vireo_device *vd,
					 const struct vireo_features *f)
{
	/*
	 * Only bits 0-31 exist here (virtio 1.2, 4.1.4.9); the bus never
	 * asks for more, since the device cannot offer more.
	 */
	if (upper_32_bits(f->w[0]) || f->w[1]) {
		dev_err(&vd->dev, "legacy interface cannot carry feature bits above 31\n");
		return -EINVAL;
	}
	iowrite32(lower_32_bits(f->w[0]),
		  to_vireo_pci(vd)->ioaddr + VIRTIO_PCI_GUEST_FEATURES);
	return 0;
}

/*
 * The bus checked the access against config_len, which probe sized for the
 * longer header (MSI-X on): it lies inside BAR 0 whichever header is in
 * use now.
 */
static void vireo_pci_legacy_get_config(struct vireo_device *vd,
					unsigned int offset, void *buf,
					unsigned int len)
{
	struct vireo_pci *vp = to_vireo_pci(vd);

	vireo_io_read_config(vp->ioaddr + vireo_pci_legacy_hdr(vp), offset,
			     buf, len);
}

static void vireo_pci_legacy_set_config(struct vireo_device *vd,
					unsigned int offset, const void *buf,
					unsigned int len)
{
	struct vireo_pci *vp = to_vireo_pci(vd);

	vireo_io_write_config(vp->ioaddr + vireo_pci_legacy_hdr(vp), offset,
			      buf, len);
}

static int vireo_pci_legacy_setup_queue(struct vireo_pci *vp,
					unsigned int index,
					const struct vireo_vq_info *info,
					u16 vector, struct vireo_pci_queue *q)
{
	struct vireo_device *vd = &vp->vd;
	void __iomem *io = vp->ioaddr;
	struct vireo_vq *vq;
	dma_addr_t addr;
	u16 num;

	q->vector = VIRTIO_MSI_NO_VECTOR;
	iowrite16(index, io + VIRTIO_PCI_QUEUE_SEL);
	num = ioread16(io + VIRTIO_PCI_QUEUE_NUM);
	if (!num) {
		dev_err(&vd->dev, "queue %u (%s) is not available\n",
			index, info->name);
		return -ENOENT;
	}
	if (ioread32(io + VIRTIO_PCI_QUEUE_PFN)) {
		dev_err(&vd->dev, "queue %u is active before set-up\n", index);
		return -EIO;
	}
	if (!is_power_of_2(num)) {
		dev_err(&vd->dev, "queue %u: size %u is not a power of 2; refusing the device\n",
			index, num);
		return -EINVAL;
	}

	/*
	 * virtio 1.2, 4.1.5.1.3.1: the legacy interface has no way to choose
	 * the size, so the ring has exactly the device's @num entries (the
	 * driver's info->size cannot be honoured), laid out in one block
	 * with the used ring 4096-aligned.
	 */
	vq = vireo_vq_new(vd, index, num, VIRTIO_PCI_VRING_ALIGN,
			  vireo_pci_notify, info);
	if (IS_ERR_OR_NULL(vq))
		return vq ? PTR_ERR(vq) : -ENOMEM;
	q->vq = vq;
	vireo_vq_set_transport_priv(vq, q);
	if (vireo_vq_size(vq) != num) {
		dev_err(&vd->dev, "queue %u: the device needs %u entries, only %u could be allocated\n",
			index, num, vireo_vq_size(vq));
		return -ENOMEM;
	}

	/* The device takes the ring's page number in 32 bits. */
	addr = vireo_vq_desc_addr(vq);
	if (!IS_ALIGNED(addr, BIT(VIRTIO_PCI_QUEUE_ADDR_SHIFT)) ||
	    (u64)addr >> VIRTIO_PCI_QUEUE_ADDR_SHIFT > U32_MAX) {
		dev_err(&vd->dev, "queue %u: ring at %pad is out of the legacy interface's reach\n",
			index, &addr);
		return -ENOMEM;
	}
	q->pfn = (u64)addr >> VIRTIO_PCI_QUEUE_ADDR_SHIFT;
	q->notify = io + VIRTIO_PCI_QUEUE_NOTIFY;

	/* The vector registers exist only while MSI-X is enabled. */
	if (vp->pdev->msix_enabled) {
		q->vector = vector;
		iowrite16(vector, io + VIRTIO_MSI_QUEUE_VECTOR);
		if (ioread16(io + VIRTIO_MSI_QUEUE_VECTOR) != vector)
			return -EBUSY;
	}
	return 0;
}

static void vireo_pci_legacy_activate_queue(struct vireo_pci *vp,
					    unsigned int index,
					    struct vireo_pci_queue *q)
{
	/* Writing the page number is what starts a legacy queue. */
	iowrite16(index, vp->ioaddr + VIRTIO_PCI_QUEUE_SEL);
	iowrite32(q->pfn, vp->ioaddr + VIRTIO_PCI_QUEUE_PFN);
}

static u16 vireo_pci_legacy_config_vector(struct vireo_pci *vp, u16 vector)
{
	iowrite16(vector, vp->ioaddr + VIRTIO_MSI_CONFIG_VECTOR);
	return ioread16(vp->ioaddr + VIRTIO_MSI_CONFIG_VECTOR);
}

static void vireo_pci_legacy_clear_queue_vector(struct vireo_pci *vp,
						unsigned int index)
{
	iowrite16(index, vp->ioaddr + VIRTIO_PCI_QUEUE_SEL);
	iowrite16(VIRTIO_MSI_NO_VECTOR, vp->ioaddr + VIRTIO_MSI_QUEUE_VECTOR);
}

static void vireo_pci_legacy_remove(struct vireo_pci *vp)
{
	pci_iounmap(vp->pdev, vp->ioaddr);
	vp->ioaddr = NULL;
	vp->isr = NULL;
	pci_release_region(vp->pdev, 0);
}

static const struct vireo_transport_ops vireo_pci_legacy_ops = {
	.name = "pci-legacy",
	.get_status = vireo_pci_legacy_get_status,
	.set_status = vireo_pci_legacy_set_status,
	.reset = vireo_pci_legacy_reset,
	.get_features = vireo_pci_legacy_get_features,
	.set_features = vireo_pci_legacy_set_features,
	.get_config = vireo_pci_legacy_get_config,
	.set_config = vireo_pci_legacy_set_config,
	.find_vqs = vireo_pci_find_vqs,
	.del_vqs = vireo_pci_del_vqs,
	.synchronize_cbs = vireo_pci_synchronize_cbs,
	.get_vq_affinity = vireo_pci_get_vq_affinity,
	.set_vq_affinity = vireo_pci_set_vq_affinity,
};

const struct vireo_pci_iface vireo_pci_legacy_iface = {
	.ops = &vireo_pci_legacy_ops,
	.setup_queue = vireo_pci_legacy_setup_queue,
	.activate_queue = vireo_pci_legacy_activate_queue,
	.config_vector = vireo_pci_legacy_config_vector,
	.clear_queue_vector = vireo_pci_legacy_clear_queue_vector,
	.remove = vireo_pci_legacy_remove,
};

int vireo_pci_legacy_probe(struct vireo_pci *vp)
{
	struct pci_dev *pdev = vp->pdev;
	struct vireo_device *vd = &vp->vd;
	resource_size_t len = pci_resource_len(pdev, 0);
	unsigned int hdr;
	int err;

	if (!(pci_resource_flags(pdev, 0) & IORESOURCE_IO) ||
	    len < VIRTIO_PCI_CONFIG_OFF(false)) {
		dev_err(&pdev->dev, "legacy interface: BAR 0 is not an I/O BAR of at least %u bytes; refusing the device\n",
			VIRTIO_PCI_CONFIG_OFF(false));
		return -ENODEV;
	}

	/* virtio 1.2, 4.1.2.3: the subsystem device id is the virtio id. */
	vd->id = pdev->subsystem_device;
	if (!vd->id) {
		dev_err(&pdev->dev, "legacy interface: subsystem device id 0 is no virtio device; refusing the device\n");
		return -ENODEV;
	}
	vd->vendor = pdev->subsystem_vendor;

	/* Buffers anywhere; rings where a 32-bit page number reaches. */
	err = dma_set_mask(&pdev->dev, DMA_BIT_MASK(64));
	if (err)
		err = dma_set_mask(&pdev->dev, DMA_BIT_MASK(32));
	if (!err)
		err = dma_set_coherent_mask(&pdev->dev,
					    DMA_BIT_MASK(32 + VIRTIO_PCI_QUEUE_ADDR_SHIFT));
	if (err)
		dev_warn(&pdev->dev, "no usable DMA mask; keeping the default\n");

	err = pci_request_region(pdev, 0, "vireo_transport");
	if (err) {
		dev_err(&pdev->dev, "BAR 0 is in use\n");
		return err;
	}
	vp->ioaddr = pci_iomap(pdev, 0, 0);
	if (!vp->ioaddr) {
		dev_err(&pdev->dev, "cannot map BAR 0\n");
		pci_release_region(pdev, 0);
		return -ENOMEM;
	}
	vp->io_len = min_t(resource_size_t, len, U32_MAX);
	vp->isr = vp->ioaddr + VIRTIO_PCI_ISR;

	/*
	 * The config length the bus checks against has to hold with MSI-X
	 * on or off, so it assumes the longer header whenever the device
	 * could enable MSI-X. (BAR 0 is rounded up to a power of 2, so some
	 * of it may be padding: legacy devices do not say how much config
	 * they have.)
	 */
	hdr = VIRTIO_PCI_CONFIG_OFF(pdev->msix_cap != 0);
	vd->config_len = vp->io_len > hdr ? vp->io_len - hdr : 0;
	vd->transport_features = VIREO_LEGACY_FEATURES;
	vp->iface = &vireo_pci_legacy_iface;
	return 0;
}
