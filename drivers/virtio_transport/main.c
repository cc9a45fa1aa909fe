// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_transport: puts virtio devices found on PCI and MMIO onto the vireo
 * bus. Loading it binds every virtio device no other driver holds (of the
 * types= it takes); the in-tree virtio stack can keep the rest
 * (scripts/vireo-bind moves devices between the two).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/platform_device.h>

#include "transport.h"

static int __init vireo_transport_init(void)
{
	int err;

	/* A bad parameter fails the load before anything is registered. */
	err = vireo_types_parse();
	if (err)
		return err;
	err = vireo_mmio_devices_parse();
	if (err)
		return err;

	vireo_mmio_init_ops();
	err = pci_register_driver(&vireo_pci_driver);
	if (err)
		goto destroy;
	err = platform_driver_register(&vireo_mmio_driver);
	if (err)
		goto unregister_pci;
	err = vireo_mmio_devices_create();
	if (err)
		goto unregister_mmio;
	return 0;

unregister_mmio:
	platform_driver_unregister(&vireo_mmio_driver);
unregister_pci:
	pci_unregister_driver(&vireo_pci_driver);
destroy:
	vireo_mmio_devices_destroy();
	return err;
}

static void __exit vireo_transport_exit(void)
{
	vireo_mmio_devices_destroy();
	platform_driver_unregister(&vireo_mmio_driver);
	pci_unregister_driver(&vireo_pci_driver);
}

module_init(vireo_transport_init);
module_exit(vireo_transport_exit);

MODULE_DESCRIPTION("vireo virtio transports: PCI (modern, legacy) and MMIO (v1, v2)");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIREO_VERSION);
VIREO_IMPORT_NS();
