/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between the kernels vireo supports, in one place.
 * Driver code includes this (through virtio.h) and never tests
 * LINUX_VERSION_CODE itself.
 */
#ifndef _VIREO_COMPAT_H
#define _VIREO_COMPAT_H

#include <linux/version.h>
#include <linux/module.h>

#ifdef __BIG_ENDIAN
/*
 * Ring and config fields are handled as little-endian, which is what virtio
 * 1.x specifies and what legacy devices use on x86 guests.
 */
#error "vireo supports little-endian guests only"
#endif

/*
 * Exported symbols live in the VIREO namespace. Since 6.13 the namespace
 * argument is a string literal.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define VIREO_NS		"VIREO"
#else
#define VIREO_NS		VIREO
#endif
#define VIREO_EXPORT(sym)	EXPORT_SYMBOL_NS_GPL(sym, VIREO_NS)
#define VIREO_IMPORT_NS()	MODULE_IMPORT_NS(VIREO_NS)

/* struct bus_type callbacks take a const driver since 6.11. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#define VIREO_BUS_MATCH_DRV_CONST const
#else
#define VIREO_BUS_MATCH_DRV_CONST
#endif

/* ... and a const device for uevent since 6.3. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define VIREO_BUS_UEVENT_DEV_CONST const
#else
#define VIREO_BUS_UEVENT_DEV_CONST
#endif

/* The driver core takes a const struct bus_type since 6.4. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define VIREO_BUS_CONST const
#else
#define VIREO_BUS_CONST
#endif

/* ---- vireo_transport ---------------------------------------------------- */

/* PCI_IRQ_LEGACY was renamed PCI_IRQ_INTX; the old name is gone in 6.10. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define VIREO_PCI_IRQ_INTX	PCI_IRQ_INTX
#else
#define VIREO_PCI_IRQ_INTX	PCI_IRQ_LEGACY
#endif

/*
 * platform_driver.remove returns void since 6.11; before that the void
 * callback is .remove_new (Debian's 6.1 has it). Use as
 * ".VIREO_PLATFORM_REMOVE = fn," with a void fn.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#define VIREO_PLATFORM_REMOVE	remove
#else
#define VIREO_PLATFORM_REMOVE	remove_new
#endif

/* ---- end vireo_transport ------------------------------------------------ */

#endif /* _VIREO_COMPAT_H */
