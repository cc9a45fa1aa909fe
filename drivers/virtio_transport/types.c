// SPDX-License-Identifier: GPL-2.0
/*
 * The types= parameter: which virtio device types vireo_transport takes.
 * Devices of the other types are declined at probe (-ENODEV), so the
 * in-tree virtio-pci or virtio-mmio, loaded after vireo_transport, can
 * drive them: a guest keeps, say, its NIC on the in-tree stack while vireo
 * drives its disks (docs/install.md).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/string.h>

#include "transport.h"

static char *types = "all";
module_param(types, charp, 0444);
MODULE_PARM_DESC(types,
		 "Virtio device types to take: \"all\" (default) or a comma list of names (blk, net, rng, balloon, console, scsi, 9p, fs, ...) or device ids");

/* virtio 1.2, 5: device ids by the names vireo uses for them. */
static const struct {
	const char *name;
	u32 id;
} vireo_type_names[] = {
	{ "net", 1 }, { "blk", 2 }, { "console", 3 }, { "rng", 4 },
	{ "balloon", 5 }, { "scsi", 8 }, { "9p", 9 }, { "gpu", 16 },
	{ "input", 18 }, { "vsock", 19 }, { "crypto", 20 }, { "iommu", 23 },
	{ "mem", 24 }, { "sound", 25 }, { "fs", 26 },
};

static bool vireo_types_all = true;
static DECLARE_BITMAP(vireo_types_taken, VIREO_MAX_DEVICE_TYPE + 1);

static int vireo_type_parse(const char *s, u32 *id)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vireo_type_names); i++) {
		if (!strcmp(s, vireo_type_names[i].name)) {
			*id = vireo_type_names[i].id;
			return 0;
		}
	}
	if (kstrtou32(s, 0, id) || !*id || *id > VIREO_MAX_DEVICE_TYPE)
		return -EINVAL;
	return 0;
}

int vireo_types_parse(void)
{
	char *buf, *p, *tok;
	int err = 0;
	u32 id;

	if (!types || !strcmp(types, "all"))
		return 0;
	buf = kstrdup(types, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	p = buf;
	while ((tok = strsep(&p, ",")) != NULL) {
		tok = strim(tok);
		if (!*tok)
			continue;
		if (vireo_type_parse(tok, &id)) {
			pr_err("types: '%s' is neither a device type name nor an id from 1 to %u\n",
			       tok, VIREO_MAX_DEVICE_TYPE);
			err = -EINVAL;
			break;
		}
		set_bit(id, vireo_types_taken);
		vireo_types_all = false;
	}
	kfree(buf);
	if (!err && vireo_types_all) {
		pr_err("types: '%s' names no device type\n", types);
		err = -EINVAL;
	}
	return err;
}

bool vireo_types_takes(struct device *dev, u32 id)
{
	if (vireo_types_all ||
	    (id <= VIREO_MAX_DEVICE_TYPE && test_bit(id, vireo_types_taken)))
		return true;
	dev_info(dev, "virtio device type %u is not in types=%s; left to other drivers\n",
		 id, types);
	return false;
}
