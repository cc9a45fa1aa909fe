// SPDX-License-Identifier: GPL-2.0
/*
 * virtio over MMIO (virtio 1.2, 4.2): a window of 32-bit registers and the
 * device-specific config from offset 0x100, one interrupt line. Version 2
 * is virtio 1.x; version 1 is the legacy layout (4.2.4), with the ring in
 * one block addressed by page number.
 *
 * Devices come from ACPI (_HID LNRO0005: QEMU's microvm with acpi=on), the
 * device tree ("virtio,mmio"), or the mmio_devices= parameter
 * (mmio_param.c).
 */
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/mod_devicetable.h>
#include <linux/platform_device.h>
#include <linux/pm.h>
#include <linux/slab.h>
#include <linux/virtio_mmio.h>

#include "transport.h"

#define VIREO_MMIO_MAGIC	0x74726976	/* "virt", little-endian */

/*
 * virtio 1.2, 4.2.2.2: control registers are accessed 32 bits wide and
 * aligned, always.
 */
static u32 vireo_mmio_read(struct vireo_mmio *vm, unsigned int reg)
{
	return readl(vm->base + reg);
}

static void vireo_mmio_write(struct vireo_mmio *vm, unsigned int reg, u32 val)
{
	writel(val, vm->base + reg);
}

static u8 vireo_mmio_get_status(struct vireo_device *vd)
{
	return vireo_mmio_read(to_vireo_mmio(vd), VIRTIO_MMIO_STATUS) & 0xff;
}

static void vireo_mmio_set_status(struct vireo_device *vd, u8 status)
{
	vireo_mmio_write(to_vireo_mmio(vd), VIRTIO_MMIO_STATUS, status);
}

static int vireo_mmio_reset(struct vireo_device *vd)
{
	vireo_mmio_set_status(vd, 0);
	return vireo_wait_for_reset(vd, NULL);
}

/*
 * virtio 1.2, 4.2.2.2 and 4.2.4: 32 bits per select; legacy has one word.
 * Version 2 is read and written as two words (64 bits): QEMU 7.2's
 * virtio-mmio keeps two DriverFeatures words and stores a write under a
 * higher select past them, into its queue state (seen here: the packed
 * queues of a virtio-mmio rng never answered and the guest's memory was
 * overwritten); a read under a higher select repeats the low words.
 */
static unsigned int vireo_mmio_feature_selects(struct vireo_mmio *vm)
{
	return vm->version == 1 ? 1 : 2;
}

static void vireo_mmio_get_features(struct vireo_device *vd,
				    struct vireo_features *f)
{
	struct vireo_mmio *vm = to_vireo_mmio(vd);
	unsigned int i;
	u32 word;

	memset(f, 0, sizeof(*f));
	/* Select before reading. */
	for (i = 0; i < vireo_mmio_feature_selects(vm); i++) {
		vireo_mmio_write(vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, i);
		word = vireo_mmio_read(vm, VIRTIO_MMIO_DEVICE_FEATURES);
		f->w[i / 2] |= (u64)word << (i % 2 ? 32 : 0);
	}
}

static int vireo_mmio_set_features(struct vireo_device *vd,
				   const struct vireo_features *f)
{
	struct vireo_mmio *vm = to_vireo_mmio(vd);
	unsigned int i;
	u64 w;

	/* virtio 1.2, 4.2.2: version 2 is the virtio 1.x interface. */
	if (vm->version != 1 && !vireo_features_test(f, VIRTIO_F_VERSION_1)) {
		dev_err(&vd->dev, "virtio-mmio version 2 without VIRTIO_F_VERSION_1: not driving it\n");
		return -ENODEV;
	}
	if (vm->version == 1 && (upper_32_bits(f->w[0]) || f->w[1])) {
		dev_err(&vd->dev, "legacy interface cannot carry feature bits above 31\n");
		return -EINVAL;
	}
	if (f->w[1]) {
		dev_err(&vd->dev, "virtio-mmio cannot carry feature bits above 63\n");
		return -EINVAL;
	}
	for (i = 0; i < vireo_mmio_feature_selects(vm); i++) {
		w = f->w[i / 2];
		vireo_mmio_write(vm, VIRTIO_MMIO_DRIVER_FEATURES_SEL, i);
		vireo_mmio_write(vm, VIRTIO_MMIO_DRIVER_FEATURES,
				 i % 2 ? upper_32_bits(w) : lower_32_bits(w));
	}
	return 0;
}

/* Within config_len, the mapped window past the header: the bus checked. */
static void vireo_mmio_get_config(struct vireo_device *vd, unsigned int offset,
				  void *buf, unsigned int len)
{
	vireo_io_read_config(to_vireo_mmio(vd)->base + VIRTIO_MMIO_CONFIG,
			     offset, buf, len);
}

static void vireo_mmio_set_config(struct vireo_device *vd, unsigned int offset,
				  const void *buf, unsigned int len)
{
	vireo_io_write_config(to_vireo_mmio(vd)->base + VIRTIO_MMIO_CONFIG,
			      offset, buf, len);
}

static u32 vireo_mmio_config_generation(struct vireo_device *vd)
{
	return vireo_mmio_read(to_vireo_mmio(vd),
			       VIRTIO_MMIO_CONFIG_GENERATION);
}

/* ---------------------------------------------------------------------- */
/* Queues and the interrupt                                                */
/* ---------------------------------------------------------------------- */

static bool vireo_mmio_notify(struct vireo_vq *vq)
{
	struct vireo_mmio *vm = to_vireo_mmio(vq->vdev);

	/*
	 * virtio 1.2, 4.2.3.3: the queue index, written as the 32-bit register
	 * it is, or with VIRTIO_F_NOTIFICATION_DATA (version 2 only: version 1
	 * carries no bit 38) the notification data.
	 */
	if (vireo_has_feature(vq->vdev, VIRTIO_F_NOTIFICATION_DATA))
		vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_NOTIFY,
				 vireo_vq_notification_data(vq));
	else
		vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_NOTIFY, vq->index);
	return true;
}

static irqreturn_t vireo_mmio_irq(int irq, void *data)
{
	struct vireo_mmio *vm = data;
	unsigned int i;
	u32 status;

	/* virtio 1.2, 4.2.2.2: undefined bits are ignored, never acked. */
	status = vireo_mmio_read(vm, VIRTIO_MMIO_INTERRUPT_STATUS) &
		 (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	if (!status)
		return IRQ_NONE;

	/*
	 * virtio 1.2, 4.2.3.4.1: the handled events MUST be acked. Acking
	 * before handling means an event raised while we handle this one
	 * interrupts again instead of being acked unseen.
	 */
	vireo_mmio_write(vm, VIRTIO_MMIO_INTERRUPT_ACK, status);

	if (status & VIRTIO_MMIO_INT_CONFIG)
		vireo_config_changed(&vm->vd);
	if (status & VIRTIO_MMIO_INT_VRING) {
		for (i = 0; i < vm->nvqs; i++)
			if (vm->vqs[i] && vm->vqs[i]->callback)
				vireo_vq_interrupt(vm->vqs[i]);
	}
	return IRQ_HANDLED;
}

static int vireo_mmio_setup_queue(struct vireo_mmio *vm, unsigned int index,
				  const struct vireo_vq_info *info)
{
	struct vireo_device *vd = &vm->vd;
	bool legacy = vm->version == 1;
	bool packed = vireo_has_feature(vd, VIRTIO_F_RING_PACKED);
	struct vireo_vq *vq;
	dma_addr_t addr;
	u32 max;

	vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_SEL, index);
	/* virtio 1.2, 4.2.3.2 (and 4.2.4): the queue must not be in use. */
	if (vireo_mmio_read(vm, legacy ? VIRTIO_MMIO_QUEUE_PFN :
					 VIRTIO_MMIO_QUEUE_READY)) {
		dev_err(&vd->dev, "queue %u is in use before set-up\n", index);
		return -EIO;
	}
	max = vireo_mmio_read(vm, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (!max) {
		dev_err(&vd->dev, "queue %u (%s) is not available\n",
			index, info->name);
		return -ENOENT;
	}

	/*
	 * virtio 1.2, 4.2.2.2: QueueNum is at most QueueNumMax. Unlike PCI,
	 * QueueNumMax is only a limit, so rounding it down to a power of 2
	 * for a split ring is ours to do.
	 */
	vq = vireo_vq_new(vd, index, vireo_queue_num(max, info->size, !packed),
			  legacy ? PAGE_SIZE : 0, vireo_mmio_notify, info);
	if (IS_ERR_OR_NULL(vq))
		return vq ? PTR_ERR(vq) : -ENOMEM;
	vm->vqs[index] = vq;

	vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_NUM, vireo_vq_size(vq));
	if (legacy) {
		addr = vireo_vq_desc_addr(vq);
		if (!PAGE_ALIGNED(addr) || (u64)addr >> PAGE_SHIFT > U32_MAX) {
			dev_err(&vd->dev, "queue %u: ring at %pad is out of the legacy interface's reach\n",
				index, &addr);
			return -ENOMEM;
		}
		vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_ALIGN, PAGE_SIZE);
		return 0;
	}

	addr = vireo_vq_desc_addr(vq);
	vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_DESC_LOW, lower_32_bits(addr));
	vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_DESC_HIGH, upper_32_bits(addr));
	addr = vireo_vq_driver_addr(vq);
	vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_AVAIL_LOW, lower_32_bits(addr));
	vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, upper_32_bits(addr));
	addr = vireo_vq_device_addr(vq);
	vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_USED_LOW, lower_32_bits(addr));
	vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_USED_HIGH, upper_32_bits(addr));
	return 0;
}

static void vireo_mmio_activate_queue(struct vireo_mmio *vm,
				      unsigned int index)
{
	vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_SEL, index);
	if (vm->version == 1)
		vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_PFN,
				 (u64)vireo_vq_desc_addr(vm->vqs[index]) >>
				 PAGE_SHIFT);
	else
		vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Stops a queue the device still has running (none after a reset). */
static void vireo_mmio_deactivate_queue(struct vireo_mmio *vm,
					unsigned int index)
{
	vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_SEL, index);
	if (vm->version == 1) {
		if (vireo_mmio_read(vm, VIRTIO_MMIO_QUEUE_PFN))
			vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_PFN, 0);
		return;
	}
	if (vireo_mmio_read(vm, VIRTIO_MMIO_QUEUE_READY)) {
		/* virtio 1.2, 4.2.2.2: write 0, then read it back. */
		vireo_mmio_write(vm, VIRTIO_MMIO_QUEUE_READY, 0);
		vireo_mmio_read(vm, VIRTIO_MMIO_QUEUE_READY);
	}
}

static void vireo_mmio_del_vqs(struct vireo_device *vd)
{
	struct vireo_mmio *vm = to_vireo_mmio(vd);
	unsigned int i;

	if (vm->irq_requested)
		free_irq(vm->irq, vm);
	vm->irq_requested = false;

	for (i = 0; i < vm->nvqs; i++) {
		if (!vm->vqs[i])
			continue;
		vireo_mmio_deactivate_queue(vm, i);
		vireo_vq_del(vm->vqs[i]);
	}
	kfree(vm->vqs);
	vm->vqs = NULL;
	vm->nvqs = 0;
}

static int vireo_mmio_find_vqs(struct vireo_device *vd, unsigned int nvqs,
			       struct vireo_vq *vqs[],
			       const struct vireo_vq_info info[],
			       struct irq_affinity *desc)
{
	struct vireo_mmio *vm = to_vireo_mmio(vd);
	unsigned int i, nq = 0;
	int err;

	if (vm->vqs) {
		dev_err(&vd->dev, "find_vqs called twice\n");
		return -EBUSY;
	}
	vm->vqs = kcalloc(nvqs, sizeof(*vm->vqs), GFP_KERNEL);
	if (!vm->vqs)
		return -ENOMEM;
	vm->nvqs = nvqs;

	/* virtio 1.2, 4.2.4: the legacy device counts in guest pages. */
	if (vm->version == 1)
		vireo_mmio_write(vm, VIRTIO_MMIO_GUEST_PAGE_SIZE, PAGE_SIZE);

	for (i = 0; i < nvqs; i++) {
		if (!info[i].name)
			continue;
		err = vireo_mmio_setup_queue(vm, i, &info[i]);
		if (err)
			goto fail;
		nq++;
	}

	err = request_irq(vm->irq, vireo_mmio_irq, IRQF_SHARED,
			  dev_name(&vd->dev), vm);
	if (err) {
		dev_err(&vd->dev, "cannot request irq %d: %d\n", vm->irq, err);
		goto fail;
	}
	vm->irq_requested = true;

	/* Only now, so that a failure above leaves no queue running. */
	for (i = 0; i < nvqs; i++)
		if (vm->vqs[i])
			vireo_mmio_activate_queue(vm, i);

	for (i = 0; i < nvqs; i++)
		vqs[i] = vm->vqs[i];
	dev_info(&vd->dev, "%s %s, irq %d (%u queues)\n", vd->ops->name,
		 dev_name(&vm->pdev->dev), vm->irq, nq);
	return 0;

fail:
	vireo_mmio_del_vqs(vd);
	return err;
}

static void vireo_mmio_synchronize_cbs(struct vireo_device *vd)
{
	struct vireo_mmio *vm = to_vireo_mmio(vd);

	if (vm->irq_requested)
		synchronize_irq(vm->irq);
}

/* No get/set_vq_affinity: one interrupt line serves every queue. */
static const struct vireo_transport_ops vireo_mmio_ops = {
	.name = "mmio-v2",
	.get_status = vireo_mmio_get_status,
	.set_status = vireo_mmio_set_status,
	.reset = vireo_mmio_reset,
	.get_features = vireo_mmio_get_features,
	.set_features = vireo_mmio_set_features,
	.get_config = vireo_mmio_get_config,
	.set_config = vireo_mmio_set_config,
	.config_generation = vireo_mmio_config_generation,
	.find_vqs = vireo_mmio_find_vqs,
	.del_vqs = vireo_mmio_del_vqs,
	.synchronize_cbs = vireo_mmio_synchronize_cbs,
};

/*
 * Version 1 differs from the table above only in its name and in having
 * no config generation register (virtio 1.2, 4.2.4), so that the bus reads
 * a wide field until two reads agree. Made from it at load (every op the
 * version 2 table gains, version 1 gains too), read-only after.
 */
static struct vireo_transport_ops vireo_mmio_legacy_ops __ro_after_init;

void __init vireo_mmio_init_ops(void)
{
	vireo_mmio_legacy_ops = vireo_mmio_ops;
	vireo_mmio_legacy_ops.name = "mmio-v1";
	vireo_mmio_legacy_ops.config_generation = NULL;
}

/* ---------------------------------------------------------------------- */
/* Platform driver                                                         */
/* ---------------------------------------------------------------------- */

static void vireo_mmio_release(struct device *dev)
{
	kfree(to_vireo_mmio(to_vireo_device(dev)));
}

static void vireo_mmio_unmap(struct vireo_mmio *vm)
{
	iounmap(vm->base);
	release_mem_region(vm->region->start, resource_size(vm->region));
}

/*
 * virtio 1.2, 4.2.3.1.1: magic and version first; then the device id, and
 * with id 0 ("no device here", as on most of microvm's slots) stop without
 * touching anything else and without a word. 4.2.2.2 asks a virtio 1.x
 * driver to ignore version 1; a transitional one like us drives it.
 */
static int vireo_mmio_identify(struct vireo_mmio *vm)
{
	struct device *dev = &vm->pdev->dev;
	u32 magic, version, id;

	magic = vireo_mmio_read(vm, VIRTIO_MMIO_MAGIC_VALUE);
	if (magic != VIREO_MMIO_MAGIC) {
		dev_err(dev, "magic value 0x%08x is not \"virt\"; not a virtio-mmio device\n",
			magic);
		return -ENODEV;
	}
	version = vireo_mmio_read(vm, VIRTIO_MMIO_VERSION);
	if (version != 1 && version != 2) {
		dev_err(dev, "virtio-mmio version %u is not supported (1 and 2 are)\n",
			version);
		return -ENODEV;
	}
	id = vireo_mmio_read(vm, VIRTIO_MMIO_DEVICE_ID);
	if (!id)
		return -ENODEV;

	vm->version = version;
	vm->vd.id = id;
	vm->vd.vendor = vireo_mmio_read(vm, VIRTIO_MMIO_VENDOR_ID);
	return 0;
}

static void vireo_mmio_dma_masks(struct vireo_mmio *vm)
{
	struct device *dev = &vm->pdev->dev;
	int err;

	if (vm->version == 2) {
		err = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	} else {
		/* The ring's page number is a 32-bit register. */
		err = dma_set_mask(dev, DMA_BIT_MASK(64));
		if (!err)
			err = dma_set_coherent_mask(dev,
						    DMA_BIT_MASK(32 + PAGE_SHIFT));
	}
	if (err)
		dev_warn(dev, "no usable DMA mask; keeping the default\n");
}

static int vireo_mmio_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct vireo_mmio *vm;
	struct resource *res;
	int irq, err;

	res = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	if (!res) {
		dev_err(dev, "no register window\n");
		return -EINVAL;
	}
	if (resource_size(res) < VIRTIO_MMIO_CONFIG) {
		dev_err(dev, "register window %pR is smaller than the 0x%x-byte header\n",
			res, VIRTIO_MMIO_CONFIG);
		return -EINVAL;
	}
	irq = platform_get_irq(pdev, 0);
	if (irq < 0)
		return irq;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	if (!vm)
		return -ENOMEM;
	vm->pdev = pdev;
	vm->irq = irq;
	vm->size = resource_size(res);

	vm->region = request_mem_region(res->start, vm->size, dev_name(dev));
	if (!vm->region) {
		dev_err(dev, "registers %pR are in use\n", res);
		err = -EBUSY;
		goto free;
	}
	vm->base = ioremap(res->start, vm->size);
	if (!vm->base) {
		dev_err(dev, "cannot map %pR\n", res);
		release_mem_region(res->start, vm->size);
		err = -ENOMEM;
		goto free;
	}

	err = vireo_mmio_identify(vm);
	if (err)
		goto unmap;
	if (!vireo_types_takes(dev, vm->vd.id)) {
		err = -ENODEV;
		goto unmap;
	}
	vireo_mmio_dma_masks(vm);

	vm->vd.ops = vm->version == 1 ? &vireo_mmio_legacy_ops : &vireo_mmio_ops;
	vm->vd.transport_features = vm->version == 1 ?
		VIREO_LEGACY_FEATURES : VIREO_RING_FEATURES;
	vm->vd.config_len = min_t(resource_size_t,
				  vm->size - VIRTIO_MMIO_CONFIG, U32_MAX);
	vm->vd.dev.parent = dev;
	vm->vd.dev.release = vireo_mmio_release;
	platform_set_drvdata(pdev, vm);

	err = vireo_register_device(&vm->vd);
	if (err) {
		dev_err(dev, "cannot register on the vireo bus: %d\n", err);
		vireo_mmio_unmap(vm);
		platform_set_drvdata(pdev, NULL);
		/* Frees vm through vireo_mmio_release(). */
		put_device(&vm->vd.dev);
		return err;
	}
	dev_info(dev, "%s, virtio device %u, as %s\n", vm->vd.ops->name,
		 vm->vd.id, dev_name(&vm->vd.dev));
	return 0;

unmap:
	vireo_mmio_unmap(vm);
free:
	kfree(vm);
	return err;
}

static void vireo_mmio_remove(struct platform_device *pdev)
{
	struct vireo_mmio *vm = platform_get_drvdata(pdev);
	struct vireo_device *vd = &vm->vd;

	/* Keeps vm alive past vireo_unregister_device()'s put. */
	get_device(&vd->dev);
	vireo_unregister_device(vd);
	if (vm->vqs) {
		dev_err(&pdev->dev, "driver left its queues behind; freeing them\n");
		vd->ops->reset(vd);
		vireo_mmio_del_vqs(vd);
	}
	vireo_mmio_unmap(vm);
	platform_set_drvdata(pdev, NULL);
	put_device(&vd->dev);
}

static int vireo_mmio_freeze(struct device *dev)
{
	struct vireo_mmio *vm = dev_get_drvdata(dev);

	return vireo_device_freeze(&vm->vd);
}

static int vireo_mmio_restore(struct device *dev)
{
	struct vireo_mmio *vm = dev_get_drvdata(dev);

	return vireo_device_restore(&vm->vd);
}

static const struct dev_pm_ops vireo_mmio_pm_ops = {
	SYSTEM_SLEEP_PM_OPS(vireo_mmio_freeze, vireo_mmio_restore)
};

/* Aliases as for PCI: udev loads vireo_transport once vireo is chosen. */
static const struct of_device_id vireo_mmio_of_match[] = {
	{ .compatible = "virtio,mmio" },
	{ }
};
MODULE_DEVICE_TABLE(of, vireo_mmio_of_match);

static const struct acpi_device_id vireo_mmio_acpi_match[] = {
	{ "LNRO0005" },
	{ }
};
MODULE_DEVICE_TABLE(acpi, vireo_mmio_acpi_match);

struct platform_driver vireo_mmio_driver = {
	.probe = vireo_mmio_probe,
	.VIREO_PLATFORM_REMOVE = vireo_mmio_remove,
	.driver = {
		.name = VIREO_MMIO_DRIVER_NAME,
		.of_match_table = vireo_mmio_of_match,
		.acpi_match_table = vireo_mmio_acpi_match,
		.pm = pm_sleep_ptr(&vireo_mmio_pm_ops),
	},
};
