// SPDX-License-Identifier: GPL-2.0
/*
 * mmio_devices=size@base:irq[,size@base:irq...]: virtio-mmio devices that
 * no firmware table describes (e.g. QEMU's microvm with acpi=off, which
 * lists them on the kernel command line for virtio_mmio.device=). Sizes and
 * bases take K, M and G suffixes; numbers may be decimal or 0x-hex:
 *
 *	modprobe vireo_transport mmio_devices=512@0xfeb00e00:12,4K@0xd0000000:5
 *
 * The whole string is checked before anything is created; a malformed
 * entry fails the module load with -EINVAL and a line saying which and why.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/virtio_mmio.h>

#include "transport.h"

static char *mmio_devices;
module_param(mmio_devices, charp, 0444);
MODULE_PARM_DESC(mmio_devices,
		 "virtio-mmio devices to create: size@base:irq[,...], e.g. 512@0xfeb00e00:12 (sizes take K/M/G)");

struct vireo_mmio_spec {
	u64 base;
	u64 size;
	unsigned int irq;
};

static struct vireo_mmio_spec *specs;
static unsigned int nspecs;
static struct platform_device **pdevs;

/* Parses one "size@base:irq"; returns why not, or NULL. */
static const char *vireo_mmio_parse_one(char *tok, struct vireo_mmio_spec *s)
{
	char *p = tok, *end;

	s->size = memparse(p, &end);
	if (end == p || *end != '@')
		return "expected size@base:irq";
	p = end + 1;
	s->base = memparse(p, &end);
	if (end == p || *end != ':')
		return "expected size@base:irq";
	if (kstrtouint(end + 1, 0, &s->irq))
		return "irq is not a number";

	if (!s->irq)
		return "irq 0 is not a device interrupt";
	if (s->size < VIRTIO_MMIO_CONFIG)
		return "size is below the 0x100-byte register header";
	if (!IS_ALIGNED(s->base, 4))
		return "base is not 4-byte aligned";
	if (s->base + s->size - 1 < s->base)
		return "base + size is beyond the address space";
	return NULL;
}

static bool vireo_mmio_overlap(const struct vireo_mmio_spec *a,
			       const struct vireo_mmio_spec *b)
{
	return a->base < b->base + b->size && b->base < a->base + a->size;
}

int vireo_mmio_devices_parse(void)
{
	char *copy, *rest, *tok;
	const char *why;
	unsigned int n, i;

	if (!mmio_devices || !*mmio_devices)
		return 0;

	copy = kstrdup(mmio_devices, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	n = 1;
	for (rest = copy; *rest; rest++)
		n += *rest == ',';
	specs = kcalloc(n, sizeof(*specs), GFP_KERNEL);
	if (!specs) {
		kfree(copy);
		return -ENOMEM;
	}

	rest = copy;
	for (nspecs = 0; (tok = strsep(&rest, ",")); nspecs++) {
		tok = strim(tok);
		why = vireo_mmio_parse_one(tok, &specs[nspecs]);
		for (i = 0; !why && i < nspecs; i++)
			if (vireo_mmio_overlap(&specs[i], &specs[nspecs]))
				why = "overlaps an earlier entry";
		if (why) {
			pr_err("mmio_devices: entry %u \"%s\": %s\n",
			       nspecs + 1, tok, why);
			kfree(copy);
			kfree(specs);
			specs = NULL;
			nspecs = 0;
			return -EINVAL;
		}
	}
	kfree(copy);
	return 0;
}

void vireo_mmio_devices_destroy(void)
{
	unsigned int i;

	for (i = 0; pdevs && i < nspecs; i++)
		if (pdevs[i])
			platform_device_unregister(pdevs[i]);
	kfree(pdevs);
	pdevs = NULL;
	kfree(specs);
	specs = NULL;
	nspecs = 0;
}

int vireo_mmio_devices_create(void)
{
	struct platform_device *pdev;
	unsigned int i;

	if (!nspecs)
		return 0;
	pdevs = kcalloc(nspecs, sizeof(*pdevs), GFP_KERNEL);
	if (!pdevs) {
		vireo_mmio_devices_destroy();
		return -ENOMEM;
	}

	for (i = 0; i < nspecs; i++) {
		struct resource res[] = {
			DEFINE_RES_MEM(specs[i].base, specs[i].size),
			DEFINE_RES_IRQ(specs[i].irq),
		};

		pdev = platform_device_register_simple(VIREO_MMIO_DRIVER_NAME,
						       PLATFORM_DEVID_AUTO,
						       res, ARRAY_SIZE(res));
		if (IS_ERR(pdev)) {
			pr_err("mmio_devices: cannot create device %u: %ld\n",
			       i + 1, PTR_ERR(pdev));
			vireo_mmio_devices_destroy();
			return PTR_ERR(pdev);
		}
		pdevs[i] = pdev;
	}
	return 0;
}
