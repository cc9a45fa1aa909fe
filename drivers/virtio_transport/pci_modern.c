// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio 1.x PCI interface (virtio 1.2, 4.1.4): vendor-specific
 * capabilities name a BAR, an offset and a length for each register
 * structure. All of that comes from the device and is checked against the
 * BAR before anything is mapped; a device whose capabilities do not fit is
 * refused with a line saying which one and why.
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/log2.h>
#include <linux/pci.h>

#include "transport.h"

/* The part of struct virtio_pci_common_cfg this driver uses. */
#define VIREO_PCI_COMMON_LEN	(VIRTIO_PCI_COMMON_Q_USEDHI + 4)

/*
 * virtio 1.2, 4.1.4: current devices use no more than 4 KiB of a
 * structure and the driver MAY map no more than that.
 */
#define VIREO_PCI_MAX_DEVICE_CFG	SZ_4K

struct vireo_pci_cap {
	bool seen;		/* one exists, maybe in an unusable BAR */
	bool found;		/* the first usable one is below */
	u8 bar;
	u32 offset;
	u32 length;
	u32 mult;		/* notify_off_multiplier (notify only) */
};

static const char *const vireo_pci_cap_names[] = {
	[VIRTIO_PCI_CAP_COMMON_CFG] = "common config",
	[VIRTIO_PCI_CAP_NOTIFY_CFG] = "notify",
	[VIRTIO_PCI_CAP_ISR_CFG] = "ISR",
	[VIRTIO_PCI_CAP_DEVICE_CFG] = "device config",
};

static bool vireo_pci_bar_usable(struct pci_dev *pdev, unsigned int bar)
{
	unsigned long flags = pci_resource_flags(pdev, bar);

	return pci_resource_len(pdev, bar) &&
	       (flags & (IORESOURCE_MEM | IORESOURCE_IO)) &&
	       !(flags & IORESOURCE_UNSET);
}

/* Collects the first usable capability of each type we use. */
static int vireo_pci_find_caps(struct pci_dev *pdev,
			       struct vireo_pci_cap caps[])
{
	u8 pos, type, bar, len;

	for (pos = pci_find_capability(pdev, PCI_CAP_ID_VNDR); pos;
	     pos = pci_find_next_capability(pdev, pos, PCI_CAP_ID_VNDR)) {
		struct vireo_pci_cap *cap;
		u8 need;

		pci_read_config_byte(pdev, pos + VIRTIO_PCI_CAP_CFG_TYPE, &type);
		pci_read_config_byte(pdev, pos + VIRTIO_PCI_CAP_BAR, &bar);
		pci_read_config_byte(pdev, pos + VIRTIO_PCI_CAP_LEN, &len);

		/*
		 * virtio 1.2, 4.1.4.1: the driver MUST ignore capabilities
		 * with a reserved cfg_type or bar, and SHOULD use the first
		 * of each type. Types we do not use are skipped as well.
		 */
		if (type < VIRTIO_PCI_CAP_COMMON_CFG ||
		    type > VIRTIO_PCI_CAP_DEVICE_CFG)
			continue;
		if (bar >= PCI_STD_NUM_BARS)
			continue;
		cap = &caps[type];
		if (cap->found)
			continue;
		cap->seen = true;
		/*
		 * A structure in a BAR the platform left unassigned (say, an
		 * I/O BAR when I/O space ran out) is one we cannot support:
		 * a later capability of the type may do (4.1.4, cfg_type).
		 */
		if (!vireo_pci_bar_usable(pdev, bar)) {
			dev_dbg(&pdev->dev, "%s capability at 0x%02x: BAR %u is not usable; skipped\n",
				vireo_pci_cap_names[type], pos, bar);
			continue;
		}

		need = type == VIRTIO_PCI_CAP_NOTIFY_CFG ?
			sizeof(struct virtio_pci_notify_cap) :
			sizeof(struct virtio_pci_cap);
		if (len < need || pos + need > PCI_CFG_SPACE_SIZE) {
			dev_err(&pdev->dev, "%s capability at 0x%02x: cap_len %u, need %u; refusing the device\n",
				vireo_pci_cap_names[type], pos, len, need);
			return -EINVAL;
		}

		cap->found = true;
		cap->bar = bar;
		pci_read_config_dword(pdev, pos + VIRTIO_PCI_CAP_OFFSET,
				      &cap->offset);
		pci_read_config_dword(pdev, pos + VIRTIO_PCI_CAP_LENGTH,
				      &cap->length);
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			pci_read_config_dword(pdev,
					      pos + VIRTIO_PCI_NOTIFY_CAP_MULT,
					      &cap->mult);
	}
	return 0;
}

/* Is the structure @cap describes inside its BAR, aligned and big enough? */
static int vireo_pci_check_cap(struct pci_dev *pdev, unsigned int type,
			       const struct vireo_pci_cap *cap, u32 min_len,
			       u32 align)
{
	const char *what = vireo_pci_cap_names[type];
	resource_size_t bar_len = pci_resource_len(pdev, cap->bar);

	if (cap->length < min_len) {
		dev_err(&pdev->dev, "%s capability: length %u, need at least %u; refusing the device\n",
			what, cap->length, min_len);
		return -EINVAL;
	}
	if (!IS_ALIGNED(cap->offset, align)) {
		dev_err(&pdev->dev, "%s capability: offset 0x%x is not %u-byte aligned; refusing the device\n",
			what, cap->offset, align);
		return -EINVAL;
	}
	if ((u64)cap->offset + cap->length > bar_len) {
		dev_err(&pdev->dev, "%s capability: 0x%x+0x%x is beyond BAR %u (0x%llx bytes); refusing the device\n",
			what, cap->offset, cap->length, cap->bar,
			(unsigned long long)bar_len);
		return -EINVAL;
	}
	return 0;
}

static int vireo_pci_check_caps(struct pci_dev *pdev,
				struct vireo_pci_cap caps[])
{
	struct vireo_pci_cap *notify = &caps[VIRTIO_PCI_CAP_NOTIFY_CFG];
	struct vireo_pci_cap *dev_cfg = &caps[VIRTIO_PCI_CAP_DEVICE_CFG];
	int err;

	if (!notify->found || !caps[VIRTIO_PCI_CAP_ISR_CFG].found) {
		dev_err(&pdev->dev, "virtio capabilities incomplete: no usable %s capability; refusing the device\n",
			notify->found ? "ISR" : "notify");
		return -EINVAL;
	}

	/*
	 * Alignments and minimum lengths: virtio 1.2, 4.1.4.3.1 (common
	 * config, offset 4-aligned), 4.1.4.4.1 (notify: offset 2-aligned,
	 * at least 2 bytes), 4.1.4.5 (ISR: one byte), 4.1.4.6.1 (device
	 * config, offset 4-aligned).
	 */
	err = vireo_pci_check_cap(pdev, VIRTIO_PCI_CAP_COMMON_CFG,
				  &caps[VIRTIO_PCI_CAP_COMMON_CFG],
				  VIREO_PCI_COMMON_LEN, 4);
	if (!err)
		err = vireo_pci_check_cap(pdev, VIRTIO_PCI_CAP_NOTIFY_CFG,
					  notify, 2, 2);
	if (!err)
		err = vireo_pci_check_cap(pdev, VIRTIO_PCI_CAP_ISR_CFG,
					  &caps[VIRTIO_PCI_CAP_ISR_CFG], 1, 1);
	if (!err && dev_cfg->found && dev_cfg->length)
		err = vireo_pci_check_cap(pdev, VIRTIO_PCI_CAP_DEVICE_CFG,
					  dev_cfg, 0, 4);
	if (err)
		return err;

	/*
	 * virtio 1.2, 4.1.4.4.1: the multiplier is an even power of 2 or 0.
	 * An odd one would put 16-bit notify writes at odd addresses.
	 */
	if (notify->mult & 1) {
		dev_err(&pdev->dev, "notify_off_multiplier %u is odd; refusing the device\n",
			notify->mult);
		return -EINVAL;
	}
	return 0;
}

static void vireo_pci_modern_unmap(struct vireo_pci *vp)
{
	struct pci_dev *pdev = vp->pdev;

	if (vp->device)
		pci_iounmap(pdev, vp->device);
	if (vp->notify_base)
		pci_iounmap(pdev, vp->notify_base);
	if (vp->isr)
		pci_iounmap(pdev, vp->isr);
	if (vp->common)
		pci_iounmap(pdev, vp->common);
	vp->device = NULL;
	vp->notify_base = NULL;
	vp->isr = NULL;
	vp->common = NULL;
}

static void vireo_pci_modern_remove(struct vireo_pci *vp)
{
	vireo_pci_modern_unmap(vp);
	pci_release_selected_regions(vp->pdev, vp->bars);
	vp->bars = 0;
}

static void __iomem *vireo_pci_map_cap(struct pci_dev *pdev,
				       const struct vireo_pci_cap *cap,
				       u32 len)
{
	return pci_iomap_range(pdev, cap->bar, cap->offset, len);
}

static void vireo_pci_write64(u64 val, void __iomem *lo)
{
	/* virtio 1.2, 4.1.3: a 64-bit field is two 32-bit ones, low first. */
	iowrite32(lower_32_bits(val), lo);
	iowrite32(upper_32_bits(val), lo + 4);
}

/* ---------------------------------------------------------------------- */
/* Transport ops                                                           */
/* ---------------------------------------------------------------------- */

static u8 vireo_pci_modern_get_status(struct vireo_device *vd)
{
	return ioread8(to_vireo_pci(vd)->common + VIRTIO_PCI_COMMON_STATUS);
}

static void vireo_pci_modern_set_status(struct vireo_device *vd, u8 status)
{
	iowrite8(status, to_vireo_pci(vd)->common + VIRTIO_PCI_COMMON_STATUS);
}

static int vireo_pci_modern_reset(struct vireo_device *vd)
{
	vireo_pci_modern_set_status(vd, 0);
	return vireo_wait_for_reset(vd, vireo_pci_present);
}

static u64 vireo_pci_read_features(void __iomem *common)
{
	u32 lo, hi;

	iowrite32(0, common + VIRTIO_PCI_COMMON_DFSELECT);
	lo = ioread32(common + VIRTIO_PCI_COMMON_DF);
	iowrite32(1, common + VIRTIO_PCI_COMMON_DFSELECT);
	hi = ioread32(common + VIRTIO_PCI_COMMON_DF);
	return ((u64)hi << 32) | lo;
}

static void vireo_pci_modern_get_features(struct vireo_device *vd,
					  struct vireo_features *f)
{
	void __iomem *common = to_vireo_pci(vd)->common;
	unsigned int i;
	u32 word;

	/* virtio 1.2, 4.1.4.3: 32 bits per device_feature_select value. */
	for (i = 0; i < 2 * VIREO_FEATURE_WORDS; i++) {
		iowrite32(i, common + VIRTIO_PCI_COMMON_DFSELECT);
		word = ioread32(common + VIRTIO_PCI_COMMON_DF);
		if (i % 2)
			f->w[i / 2] |= (u64)word << 32;
		else
			f->w[i / 2] = word;
	}
}

static int vireo_pci_modern_set_features(struct vireo_device *vd,
					 const struct vireo_features *f)
{
	void __iomem *common = to_vireo_pci(vd)->common;
	unsigned int i;
	u64 w;

	/* virtio 1.2, 4.1.2.4: the modern interface is virtio 1.x only. */
	if (!vireo_features_test(f, VIRTIO_F_VERSION_1)) {
		dev_err(&vd->dev, "modern PCI interface without VIRTIO_F_VERSION_1: not driving it\n");
		return -ENODEV;
	}
	for (i = 0; i < 2 * VIREO_FEATURE_WORDS; i++) {
		w = f->w[i / 2];
		iowrite32(i, common + VIRTIO_PCI_COMMON_GFSELECT);
		iowrite32(i % 2 ? upper_32_bits(w) : lower_32_bits(w),
			  common + VIRTIO_PCI_COMMON_GF);
	}
	return 0;
}

/* config_len is the mapped structure's length: the bus checked. */
static void vireo_pci_modern_get_config(struct vireo_device *vd,
					unsigned int offset, void *buf,
					unsigned int len)
{
	vireo_io_read_config(to_vireo_pci(vd)->device, offset, buf, len);
}

static void vireo_pci_modern_set_config(struct vireo_device *vd,
					unsigned int offset, const void *buf,
					unsigned int len)
{
	vireo_io_write_config(to_vireo_pci(vd)->device, offset, buf, len);
}

static u32 vireo_pci_modern_config_generation(struct vireo_device *vd)
{
	return ioread8(to_vireo_pci(vd)->common +
		       VIRTIO_PCI_COMMON_CFGGENERATION);
}

/* ---------------------------------------------------------------------- */
/* Queues (virtio 1.2, 4.1.5.1.3)                                          */
/* ---------------------------------------------------------------------- */

/*
 * The selected queue's size and ring addresses, at setup and again when a
 * reset queue is enabled (virtio 1.2, 4.1.4.3.2).
 */
static void vireo_pci_program_queue(void __iomem *common, struct vireo_vq *vq)
{
	iowrite16(vireo_vq_size(vq), common + VIRTIO_PCI_COMMON_Q_SIZE);
	vireo_pci_write64(vireo_vq_desc_addr(vq),
			  common + VIRTIO_PCI_COMMON_Q_DESCLO);
	vireo_pci_write64(vireo_vq_driver_addr(vq),
			  common + VIRTIO_PCI_COMMON_Q_AVAILLO);
	vireo_pci_write64(vireo_vq_device_addr(vq),
			  common + VIRTIO_PCI_COMMON_Q_USEDLO);
}

static int vireo_pci_modern_setup_queue(struct vireo_pci *vp,
					unsigned int index,
					const struct vireo_vq_info *info,
					u16 vector, struct vireo_pci_queue *q)
{
	struct vireo_device *vd = &vp->vd;
	void __iomem *common = vp->common;
	bool packed = vireo_has_feature(vd, VIRTIO_F_RING_PACKED);
	struct vireo_vq *vq;
	u16 nqueues, max, off;
	u64 where;

	q->vector = VIRTIO_MSI_NO_VECTOR;
	nqueues = ioread16(common + VIRTIO_PCI_COMMON_NUMQ);
	if (index >= nqueues) {
		dev_err(&vd->dev, "queue %u (%s): the device has %u queues\n",
			index, info->name, nqueues);
		return -ENOENT;
	}
	iowrite16(index, common + VIRTIO_PCI_COMMON_Q_SELECT);
	max = ioread16(common + VIRTIO_PCI_COMMON_Q_SIZE);
	if (!max) {
		dev_err(&vd->dev, "queue %u (%s) is not available\n",
			index, info->name);
		return -ENOENT;
	}
	if (ioread16(common + VIRTIO_PCI_COMMON_Q_ENABLE)) {
		dev_err(&vd->dev, "queue %u is enabled before set-up\n", index);
		return -EIO;
	}
	/*
	 * virtio 1.2, 4.1.4.3.1: without packed rings the device MUST offer
	 * 0 or a power of 2; anything else is a broken device.
	 */
	if (!packed && !is_power_of_2(max)) {
		dev_err(&vd->dev, "queue %u: size %u is not a power of 2; refusing the device\n",
			index, max);
		return -EINVAL;
	}

	vq = vireo_vq_new(vd, index, vireo_queue_num(max, info->size, !packed),
			  0, vireo_pci_notify, info);
	if (IS_ERR_OR_NULL(vq))
		return vq ? PTR_ERR(vq) : -ENOMEM;
	q->vq = vq;
	vireo_vq_set_transport_priv(vq, q);

	/*
	 * virtio 1.2, 4.1.4.3.2: a split ring's size written back is a power
	 * of 2 (vireo_vq_new only halves one).
	 */
	vireo_pci_program_queue(common, vq);

	/* virtio 1.2, 4.1.4.4: the queue's notify address, inside the cap. */
	off = ioread16(common + VIRTIO_PCI_COMMON_Q_NOFF);
	where = (u64)off * vp->notify_mult;
	if (where + (vireo_has_feature(vd, VIRTIO_F_NOTIFICATION_DATA) ? 4 : 2) >
	    vp->notify_len) {
		dev_err(&vd->dev, "queue %u: notify offset %u * %u is beyond the %u-byte notify region; refusing the device\n",
			index, off, vp->notify_mult, vp->notify_len);
		return -EINVAL;
	}
	q->notify = vp->notify_base + where;

	if (vp->pdev->msix_enabled) {
		q->vector = vector;
		iowrite16(vector, common + VIRTIO_PCI_COMMON_Q_MSIX);
		if (ioread16(common + VIRTIO_PCI_COMMON_Q_MSIX) != vector)
			return -EBUSY;
	}
	return 0;
}

static void vireo_pci_modern_activate_queue(struct vireo_pci *vp,
					    unsigned int index,
					    struct vireo_pci_queue *q)
{
	/*
	 * virtio 1.2, 4.1.4.3.2: the other queue fields are set before
	 * queue_enable, and 0 is never written to it.
	 */
	iowrite16(index, vp->common + VIRTIO_PCI_COMMON_Q_SELECT);
	iowrite16(1, vp->common + VIRTIO_PCI_COMMON_Q_ENABLE);
}

/*
 * VIRTIO_F_RING_RESET, virtio 1.2, 4.1.4.3.2: after 1 is written to
 * queue_reset, the reset is complete only once it reads back 0; the queue
 * is disabled (queue_enable 0) and its fields are back at their defaults,
 * so queue_size shows the largest size the device takes.
 */
#define VIREO_PCI_QUEUE_RESET_MS	1000

static int vireo_pci_modern_reset_vq(struct vireo_device *vd,
				     struct vireo_vq *vq, unsigned int *max)
{
	struct vireo_pci *vp = to_vireo_pci(vd);
	void __iomem *common = vp->common;
	unsigned int ms;

	iowrite16(vq->index, common + VIRTIO_PCI_COMMON_Q_SELECT);
	iowrite16(1, common + VIRTIO_PCI_COMMON_Q_RESET);
	for (ms = 0; ; ms++) {
		if (!ioread16(common + VIRTIO_PCI_COMMON_Q_RESET) &&
		    !ioread16(common + VIRTIO_PCI_COMMON_Q_ENABLE))
			break;
		if (!vireo_pci_present(vd))
			return -ENODEV;
		if (ms == VIREO_PCI_QUEUE_RESET_MS) {
			dev_err(&vd->dev, "queue %u: the device did not finish its reset in %u ms\n",
				vq->index, VIREO_PCI_QUEUE_RESET_MS);
			return -ETIMEDOUT;
		}
		usleep_range(1000, 2000);
	}
	*max = ioread16(common + VIRTIO_PCI_COMMON_Q_SIZE);
	return 0;
}

/* The set-up of vireo_pci_modern_setup_queue() again, with the ring as it is now. */
static int vireo_pci_modern_enable_vq(struct vireo_device *vd,
				      struct vireo_vq *vq)
{
	struct vireo_pci *vp = to_vireo_pci(vd);
	struct vireo_pci_queue *q = vireo_vq_transport_priv(vq);
	void __iomem *common = vp->common;

	iowrite16(vq->index, common + VIRTIO_PCI_COMMON_Q_SELECT);
	vireo_pci_program_queue(common, vq);
	if (vp->pdev->msix_enabled) {
		iowrite16(q->vector, common + VIRTIO_PCI_COMMON_Q_MSIX);
		if (ioread16(common + VIRTIO_PCI_COMMON_Q_MSIX) != q->vector) {
			dev_err(&vd->dev, "queue %u: the device refused vector %u after the reset\n",
				vq->index, q->vector);
			return -EIO;
		}
	}
	vireo_pci_modern_activate_queue(vp, vq->index, q);
	return 0;
}

static u16 vireo_pci_modern_config_vector(struct vireo_pci *vp, u16 vector)
{
	iowrite16(vector, vp->common + VIRTIO_PCI_COMMON_MSIX);
	return ioread16(vp->common + VIRTIO_PCI_COMMON_MSIX);
}

static void vireo_pci_modern_clear_queue_vector(struct vireo_pci *vp,
						unsigned int index)
{
	iowrite16(index, vp->common + VIRTIO_PCI_COMMON_Q_SELECT);
	iowrite16(VIRTIO_MSI_NO_VECTOR, vp->common + VIRTIO_PCI_COMMON_Q_MSIX);
}

static const struct vireo_transport_ops vireo_pci_modern_ops = {
	.name = "pci-modern",
	.get_status = vireo_pci_modern_get_status,
	.set_status = vireo_pci_modern_set_status,
	.reset = vireo_pci_modern_reset,
	.get_features = vireo_pci_modern_get_features,
	.set_features = vireo_pci_modern_set_features,
	.get_config = vireo_pci_modern_get_config,
	.set_config = vireo_pci_modern_set_config,
	.config_generation = vireo_pci_modern_config_generation,
	.find_vqs = vireo_pci_find_vqs,
	.del_vqs = vireo_pci_del_vqs,
	.synchronize_cbs = vireo_pci_synchronize_cbs,
	.get_vq_affinity = vireo_pci_get_vq_affinity,
	.set_vq_affinity = vireo_pci_set_vq_affinity,
	.reset_vq = vireo_pci_modern_reset_vq,
	.enable_vq = vireo_pci_modern_enable_vq,
};

const struct vireo_pci_iface vireo_pci_modern_iface = {
	.ops = &vireo_pci_modern_ops,
	.setup_queue = vireo_pci_modern_setup_queue,
	.activate_queue = vireo_pci_modern_activate_queue,
	.config_vector = vireo_pci_modern_config_vector,
	.clear_queue_vector = vireo_pci_modern_clear_queue_vector,
	.remove = vireo_pci_modern_remove,
};

/* ---------------------------------------------------------------------- */
/* Probe                                                                   */
/* ---------------------------------------------------------------------- */

static int vireo_pci_modern_map(struct vireo_pci *vp,
				struct vireo_pci_cap caps[])
{
	struct pci_dev *pdev = vp->pdev;
	struct vireo_pci_cap *notify = &caps[VIRTIO_PCI_CAP_NOTIFY_CFG];
	struct vireo_pci_cap *dev_cfg = &caps[VIRTIO_PCI_CAP_DEVICE_CFG];

	vp->common = vireo_pci_map_cap(pdev, &caps[VIRTIO_PCI_CAP_COMMON_CFG],
				       VIREO_PCI_COMMON_LEN);
	vp->isr = vireo_pci_map_cap(pdev, &caps[VIRTIO_PCI_CAP_ISR_CFG], 1);
	vp->notify_base = vireo_pci_map_cap(pdev, notify, notify->length);
	vp->notify_len = notify->length;
	vp->notify_mult = notify->mult;
	if (!vp->common || !vp->isr || !vp->notify_base)
		goto fail;

	if (dev_cfg->found && dev_cfg->length) {
		vp->device_len = min_t(u32, dev_cfg->length,
				       VIREO_PCI_MAX_DEVICE_CFG);
		vp->device = vireo_pci_map_cap(pdev, dev_cfg, vp->device_len);
		if (!vp->device)
			goto fail;
	}
	return 0;

fail:
	dev_err(&pdev->dev, "cannot map the virtio structures\n");
	vireo_pci_modern_unmap(vp);
	return -ENOMEM;
}

int vireo_pci_modern_probe(struct vireo_pci *vp)
{
	struct vireo_pci_cap caps[VIRTIO_PCI_CAP_DEVICE_CFG + 1] = {};
	struct pci_dev *pdev = vp->pdev;
	struct vireo_device *vd = &vp->vd;
	unsigned int i;
	int err;

	err = vireo_pci_find_caps(pdev, caps);
	if (err)
		return err;
	if (!caps[VIRTIO_PCI_CAP_COMMON_CFG].found) {
		if (caps[VIRTIO_PCI_CAP_COMMON_CFG].seen)
			dev_info(&pdev->dev, "common config capability in an unassigned BAR: no modern interface\n");
		return -ENODEV;		/* legacy-only, the caller decides */
	}
	err = vireo_pci_check_caps(pdev, caps);
	if (err)
		return err;

	/*
	 * virtio 1.2, 4.1.2: modern device ids are 0x1040 + the virtio id; a
	 * transitional device carries the virtio id in its subsystem id.
	 */
	if (pdev->device < VIREO_PCI_FIRST_MODERN)
		vd->id = pdev->subsystem_device;
	else
		vd->id = pdev->device - VIREO_PCI_FIRST_MODERN;
	if (!vd->id) {
		dev_err(&pdev->dev, "virtio device id 0 is reserved; refusing the device\n");
		return -ENODEV;
	}
	vd->vendor = pdev->subsystem_vendor;

	err = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (err)
		err = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(32));
	if (err)
		dev_warn(&pdev->dev, "no usable DMA mask; keeping the default\n");

	for (i = VIRTIO_PCI_CAP_COMMON_CFG; i <= VIRTIO_PCI_CAP_DEVICE_CFG; i++)
		if (caps[i].found && caps[i].length)
			vp->bars |= BIT(caps[i].bar);
	err = pci_request_selected_regions(pdev, vp->bars, "vireo_transport");
	if (err) {
		dev_err(&pdev->dev, "BARs 0x%x are in use\n", vp->bars);
		vp->bars = 0;
		return err;
	}

	err = vireo_pci_modern_map(vp, caps);
	if (err)
		goto release;

	/*
	 * virtio 1.2, 6.2: a device MUST offer VIRTIO_F_VERSION_1; through
	 * this interface, one that does not cannot be driven correctly.
	 */
	if (!(vireo_pci_read_features(vp->common) &
	      BIT_ULL(VIRTIO_F_VERSION_1))) {
		dev_err(&pdev->dev, "modern interface without VIRTIO_F_VERSION_1; refusing the device\n");
		err = -EINVAL;
		goto unmap;
	}

	vp->iface = &vireo_pci_modern_iface;
	vd->transport_features = VIREO_RING_FEATURES;
	vd->config_len = vp->device_len;
	return 0;

unmap:
	vireo_pci_modern_unmap(vp);
release:
	pci_release_selected_regions(pdev, vp->bars);
	vp->bars = 0;
	return err;
}
