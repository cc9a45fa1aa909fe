// SPDX-License-Identifier: GPL-2.0
/*
 * The vireo PCI driver: finds virtio PCI functions, chooses the modern or
 * the legacy interface, registers a vireo device for each, and takes it
 * away again on removal. Suspend and resume go through the vireo bus.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pm.h>
#include <linux/slab.h>

#include "transport.h"

static bool force_legacy;
module_param(force_legacy, bool, 0444);
MODULE_PARM_DESC(force_legacy,
		 "Drive transitional PCI devices through their legacy interface");

bool vireo_pci_present(struct vireo_device *vd)
{
	return pci_device_is_present(to_vireo_pci(vd)->pdev);
}

static void vireo_pci_release(struct device *dev)
{
	kfree(to_vireo_pci(to_vireo_device(dev)));
}

/* /sys/bus/pci/devices/<bdf>/vireo_irq_mode, for people and tests. */
static ssize_t vireo_irq_mode_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct vireo_pci *vp = pci_get_drvdata(to_pci_dev(dev));

	return sysfs_emit(buf, "%s\n",
			  vireo_pci_irq_mode_name(READ_ONCE(vp->irq_mode)));
}
static DEVICE_ATTR_RO(vireo_irq_mode);

static struct attribute *vireo_pci_attrs[] = {
	&dev_attr_vireo_irq_mode.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vireo_pci);

/*
 * Chooses the interface. virtio 1.2, 4.1.5.1.1.1: a transitional driver
 * MUST look for the virtio capabilities and, when there are none, use the
 * device through the legacy interface; a non-transitional device without
 * them is not driven.
 */
static int vireo_pci_probe_iface(struct vireo_pci *vp)
{
	struct pci_dev *pdev = vp->pdev;
	bool transitional = pdev->device < VIREO_PCI_FIRST_MODERN;
	int err;

	if (force_legacy) {
		if (transitional)
			return vireo_pci_legacy_probe(vp);
		dev_info(&pdev->dev, "force_legacy: a modern-only device has no legacy interface; using the modern one\n");
	}

	err = vireo_pci_modern_probe(vp);
	if (err != -ENODEV)
		return err;
	if (transitional)
		return vireo_pci_legacy_probe(vp);
	dev_err(&pdev->dev, "no virtio capabilities on a non-transitional device; not driving it\n");
	return -ENODEV;
}

static int vireo_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vireo_pci *vp;
	int err;

	/* virtio 1.2, 4.1.2.2: vendor 0x1af4, device 0x1000 to 0x107f. */
	if (pdev->vendor != VIREO_PCI_VENDOR ||
	    pdev->device < VIREO_PCI_FIRST_TRANSITIONAL ||
	    pdev->device > VIREO_PCI_LAST_MODERN)
		return -ENODEV;
	/* virtio 1.2, 4.1.2.1: the device id, or a transitional subsystem id. */
	if (!vireo_types_takes(&pdev->dev, pdev->device >= VIREO_PCI_FIRST_MODERN ?
			       pdev->device - VIREO_PCI_FIRST_MODERN :
			       pdev->subsystem_device))
		return -ENODEV;

	vp = kzalloc(sizeof(*vp), GFP_KERNEL);
	if (!vp)
		return -ENOMEM;
	vp->pdev = pdev;

	err = pci_enable_device(pdev);
	if (err)
		goto free;
	err = vireo_pci_probe_iface(vp);
	if (err)
		goto disable;
	pci_set_master(pdev);

	vp->vd.dev.parent = &pdev->dev;
	vp->vd.dev.release = vireo_pci_release;
	vp->vd.ops = vp->iface->ops;
	pci_set_drvdata(pdev, vp);

	err = vireo_register_device(&vp->vd);
	if (err) {
		dev_err(&pdev->dev, "cannot register on the vireo bus: %d\n",
			err);
		vp->iface->remove(vp);
		pci_clear_master(pdev);
		pci_disable_device(pdev);
		pci_set_drvdata(pdev, NULL);
		/* Frees vp through vireo_pci_release(). */
		put_device(&vp->vd.dev);
		return err;
	}
	dev_info(&pdev->dev, "%s, virtio device %u, as %s\n",
		 vp->vd.ops->name, vp->vd.id, dev_name(&vp->vd.dev));
	return 0;

disable:
	pci_disable_device(pdev);
free:
	kfree(vp);
	return err;
}

static void vireo_pci_remove(struct pci_dev *pdev)
{
	struct vireo_pci *vp = pci_get_drvdata(pdev);
	struct vireo_device *vd = &vp->vd;

	/* Keeps vp alive past vireo_unregister_device()'s put. */
	get_device(&vd->dev);

	/*
	 * A device that left without warning completes nothing: break its
	 * queues so that whoever waits on them fails instead of hanging.
	 */
	if (!pci_device_is_present(pdev))
		vireo_break_vqs(vd);

	vireo_unregister_device(vd);

	if (vp->queues) {
		dev_err(&pdev->dev, "driver left its queues behind; freeing them\n");
		vd->ops->reset(vd);
		vireo_pci_del_vqs(vd);
	}
	vp->iface->remove(vp);
	pci_clear_master(pdev);
	pci_disable_device(pdev);
	pci_set_drvdata(pdev, NULL);
	put_device(&vd->dev);
}

static int vireo_pci_freeze(struct device *dev)
{
	struct vireo_pci *vp = dev_get_drvdata(dev);

	return vireo_device_freeze(&vp->vd);
}

static int vireo_pci_restore(struct device *dev)
{
	struct vireo_pci *vp = dev_get_drvdata(dev);

	return vireo_device_restore(&vp->vd);
}

/* Suspend and hibernation alike: the bus re-initialises the device. */
static const struct dev_pm_ops vireo_pci_pm_ops = {
	SYSTEM_SLEEP_PM_OPS(vireo_pci_freeze, vireo_pci_restore)
};

/*
 * Every device of the vendor; probe keeps to 0x1000-0x107f, which an id
 * table cannot express. The aliases let udev load vireo_transport for a
 * virtio device; installed, vireo is blacklisted for them until the user
 * chooses it (packaging/modprobe.d, docs/install.md), so it never races
 * the in-tree virtio-pci unasked.
 */
static const struct pci_device_id vireo_pci_ids[] = {
	{ PCI_DEVICE(VIREO_PCI_VENDOR, PCI_ANY_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, vireo_pci_ids);

struct pci_driver vireo_pci_driver = {
	.name = "vireo_transport",
	.id_table = vireo_pci_ids,
	.probe = vireo_pci_probe,
	.remove = vireo_pci_remove,
	.dev_groups = vireo_pci_groups,
	.driver.pm = pm_sleep_ptr(&vireo_pci_pm_ops),
};
