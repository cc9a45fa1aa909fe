// SPDX-License-Identifier: GPL-2.0
/*
 * The vireo bus: devices found by a transport meet the drivers that know
 * their type. The bus owns the device status handshake and feature
 * negotiation (virtio 1.2, 3.1 "Device Initialization"), so no driver or
 * transport does them twice.
 */
#include <linux/cc_platform.h>
#include <linux/cpumask.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <vireo/virtio.h>

#include "ring.h"

static DEFINE_IDA(vireo_index_ida);

static unsigned int abort_timeout = 120;
module_param(abort_timeout, uint, 0644);
MODULE_PARM_DESC(abort_timeout,
		 "Seconds a device may leave a request unanswered before its driver resets it and fails its I/O (default 120; 0: wait for ever)");

unsigned int vireo_abort_timeout(void)
{
	return READ_ONCE(abort_timeout);
}
EXPORT_SYMBOL_NS_GPL(vireo_abort_timeout, VIREO_NS);
static struct dentry *vireo_debugfs_root;

static struct vireo_driver *bound_driver(struct vireo_device *vd)
{
	return vd->dev.driver ? to_vireo_driver(vd->dev.driver) : NULL;
}

static void add_status(struct vireo_device *vd, u8 bit)
{
	vd->ops->set_status(vd, vd->ops->get_status(vd) | bit);
}

/* ------------------------------------------------------------------ */
/* sysfs: /sys/bus/vireo/devices/vireoN/                               */
/* ------------------------------------------------------------------ */

static ssize_t device_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "0x%04x\n", to_vireo_device(d)->id);
}
static DEVICE_ATTR_RO(device);

static ssize_t vendor_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "0x%04x\n", to_vireo_device(d)->vendor);
}
static DEVICE_ATTR_RO(vendor);

static ssize_t status_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	struct vireo_device *vd = to_vireo_device(d);

	return sysfs_emit(buf, "0x%02x\n", vd->ops->get_status(vd));
}
static DEVICE_ATTR_RO(status);

/*
 * One character per feature bit, bit 0 first, as the in-tree bus prints
 * its 64; the next 64 follow only when one of them is set.
 */
static ssize_t emit_bits(char *buf, const struct vireo_features *f)
{
	char s[VIREO_FEATURE_BITS + 1];
	unsigned int i, n = f->w[1] ? 128 : 64;

	for (i = 0; i < n; i++)
		s[i] = vireo_features_test(f, i) ? '1' : '0';
	s[n] = '\0';
	return sysfs_emit(buf, "%s\n", s);
}

static ssize_t features_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	return emit_bits(buf, &to_vireo_device(d)->features);
}
static DEVICE_ATTR_RO(features);

static ssize_t device_features_show(struct device *d,
				    struct device_attribute *attr, char *buf)
{
	return emit_bits(buf, &to_vireo_device(d)->device_features);
}
static DEVICE_ATTR_RO(device_features);

static ssize_t transport_show(struct device *d, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%s\n", to_vireo_device(d)->ops->name);
}
static DEVICE_ATTR_RO(transport);

static ssize_t modalias_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	struct vireo_device *vd = to_vireo_device(d);

	return sysfs_emit(buf, "vireo:d%uv%08X\n", vd->id, vd->vendor);
}
static DEVICE_ATTR_RO(modalias);

static struct attribute *vireo_dev_attrs[] = {
	&dev_attr_device.attr,
	&dev_attr_vendor.attr,
	&dev_attr_status.attr,
	&dev_attr_features.attr,
	&dev_attr_device_features.attr,
	&dev_attr_transport.attr,
	&dev_attr_modalias.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vireo_dev);

/* ------------------------------------------------------------------ */
/* Matching and binding                                                */
/* ------------------------------------------------------------------ */

static bool id_matches(const struct vireo_device_id *id,
		       const struct vireo_device *vd)
{
	return id->device == vd->id &&
	       (id->vendor == VIREO_DEV_ANY_ID || id->vendor == vd->vendor);
}

static int vireo_bus_match(struct device *dev,
			   VIREO_BUS_MATCH_DRV_CONST struct device_driver *drv)
{
	const struct vireo_device_id *id = to_vireo_driver(drv)->id_table;
	struct vireo_device *vd = to_vireo_device(dev);

	for (; id && id->device; id++)
		if (id_matches(id, vd))
			return 1;
	return 0;
}

static int vireo_bus_uevent(VIREO_BUS_UEVENT_DEV_CONST struct device *dev,
			    struct kobj_uevent_env *env)
{
	const struct vireo_device *vd = to_vireo_device(dev);

	return add_uevent_var(env, "MODALIAS=vireo:d%uv%08X", vd->id,
			      vd->vendor);
}

/*
 * Resets the device and waits for its callbacks to finish. A device whose
 * status never reads back 0 must not be initialised again (virtio 1.2,
 * 4.1.4.3.2 and 2.4.1): it is marked failed and the error returned.
 */
static int reset_device(struct vireo_device *vd)
{
	int err = vd->ops->reset(vd);

	/* No queue or config callback may still be running on return. */
	if (vd->ops->synchronize_cbs)
		vd->ops->synchronize_cbs(vd);
	if (err) {
		/* Said once: remove resets a failed device again. */
		if (!vd->failed)
			dev_err(&vd->dev, "device did not reset (%d): giving up on it\n",
				err);
		vd->failed = true;
		vireo_break_vqs(vd);
	}
	return err;
}

static void enable_config(struct vireo_device *vd)
{
	struct vireo_driver *drv = bound_driver(vd);
	unsigned long flags;

	spin_lock_irqsave(&vd->config_lock, flags);
	vd->config_enabled = true;
	if (vd->config_change_pending && drv && drv->config_changed)
		drv->config_changed(vd);
	vd->config_change_pending = false;
	spin_unlock_irqrestore(&vd->config_lock, flags);
}

static void disable_config(struct vireo_device *vd)
{
	unsigned long flags;

	spin_lock_irqsave(&vd->config_lock, flags);
	vd->config_enabled = false;
	spin_unlock_irqrestore(&vd->config_lock, flags);
}

/*
 * Writes vd->features and, for a virtio 1.x device, has the device accept
 * them (virtio 1.2, 3.1.1 steps 5-6: the driver MUST re-read the status and
 * give up if FEATURES_OK did not stick).
 */
static int finalize_features(struct vireo_device *vd)
{
	bool refuse = vd->fault == VIREO_FAULT_FEATURES_OK;
	int err;

	err = vd->ops->set_features(vd, &vd->features);
	if (err)
		return err;
	if (!vireo_has_feature(vd, VIRTIO_F_VERSION_1))
		return 0;
	add_status(vd, VIRTIO_CONFIG_S_FEATURES_OK);
	if (refuse ||
	    !(vd->ops->get_status(vd) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		dev_err(&vd->dev, "device refused features 0x%016llx%016llx%s\n",
			vd->features.w[1], vd->features.w[0],
			refuse ? " (injected)" : "");
		return -ENODEV;
	}
	return 0;
}

/*
 * The end of the handshake, shared by probe and restore: the device takes
 * the features, the driver (@start, may be NULL) sets itself up, DRIVER_OK
 * if the driver did not set it already, then config changes flow.
 */
static int start_driver(struct vireo_device *vd,
			int (*start)(struct vireo_device *vd))
{
	int err;

	err = finalize_features(vd);
	if (!err && start)
		err = start(vd);
	if (err) {
		add_status(vd, VIRTIO_CONFIG_S_FAILED);
		return err;
	}
	if (!(vd->ops->get_status(vd) & VIRTIO_CONFIG_S_DRIVER_OK))
		vireo_device_ready(vd);
	enable_config(vd);
	return 0;
}

/*
 * virtio 1.2, 6: bits 24-41 belong to the queue and negotiation mechanisms
 * (the bus's business), 42-49 and 128 up are reserved: no driver may ask
 * for them.
 */
static bool device_feature_bit(unsigned int bit)
{
	return bit < 24 || (bit >= 50 && bit < VIREO_FEATURE_BITS);
}

/* What the driver asks for and the device offers, with the ring's bits. */
static void offerable_features(struct vireo_device *vd,
			       const struct vireo_driver *drv,
			       struct vireo_features *f)
{
	unsigned int i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < drv->feature_table_size; i++)
		vireo_features_set(f, drv->feature_table[i]);
	f->w[0] |= VIREO_RING_FEATURES & vd->transport_features;
	/* Only a transport that can reset one queue offers to. */
	if (!vd->ops->reset_vq || !vd->ops->enable_vq)
		vireo_features_clear(f, VIRTIO_F_RING_RESET);
	/*
	 * Both are virtio 1.x facilities; a legacy interface (which has no
	 * VERSION_1) has neither the registers nor the notify format.
	 */
	if (!vireo_features_test(&vd->device_features, VIRTIO_F_VERSION_1)) {
		vireo_features_clear(f, VIRTIO_F_RING_RESET);
		vireo_features_clear(f, VIRTIO_F_NOTIFICATION_DATA);
	}
	for (i = 0; i < VIREO_FEATURE_WORDS; i++)
		f->w[i] &= vd->device_features.w[i];
}

/*
 * A guest whose memory the host cannot read (SEV, TDX: the kernel's
 * CC_ATTR_GUEST_MEM_ENCRYPT) must bounce every buffer through memory it
 * shared: only the DMA API does that, so the device must take platform
 * DMA (VIRTIO_F_ACCESS_PLATFORM, a virtio 1.x bit), as the in-tree core
 * requires too.
 */
static bool usable_with_restricted_memory(const struct vireo_features *f)
{
	return vireo_features_test(f, VIRTIO_F_VERSION_1) &&
	       vireo_features_test(f, VIRTIO_F_ACCESS_PLATFORM);
}

static int vireo_bus_probe(struct device *dev)
{
	struct vireo_device *vd = to_vireo_device(dev);
	struct vireo_driver *drv = to_vireo_driver(dev->driver);
	struct vireo_features before;
	unsigned int i;
	int err;

	/* Start from a clean device even if an earlier probe failed. */
	vd->failed = false;
	err = reset_device(vd);
	if (err)
		return err;
	add_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	add_status(vd, VIRTIO_CONFIG_S_DRIVER);

	memset(&vd->device_features, 0, sizeof(vd->device_features));
	vd->ops->get_features(vd, &vd->device_features);
	offerable_features(vd, drv, &vd->features);
	/*
	 * virtio 1.2, 6: packed rings and platform access are virtio 1.x only;
	 * a legacy device gets neither even if it says so.
	 */
	if (!vireo_has_feature(vd, VIRTIO_F_VERSION_1)) {
		vireo_features_clear(&vd->features, VIRTIO_F_RING_PACKED);
		vireo_features_clear(&vd->features, VIRTIO_F_ACCESS_PLATFORM);
		vireo_features_clear(&vd->features, VIRTIO_F_ORDER_PLATFORM);
	} else {
		/* ... and ANY_LAYOUT is a legacy bit (virtio 1.2, 6.3). */
		vireo_features_clear(&vd->features, VIRTIO_F_ANY_LAYOUT);
	}

	if (cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT) &&
	    !usable_with_restricted_memory(&vd->features)) {
		dev_err(&vd->dev, "guest memory is encrypted and the device lacks VIRTIO_F_VERSION_1 or VIRTIO_F_ACCESS_PLATFORM: not driving it\n");
		err = -ENODEV;
		goto fail;
	}

	if (drv->validate) {
		before = vd->features;
		err = drv->validate(vd);
		if (err)
			goto fail;
		/* validate may only take bits away. */
		for (i = 0; i < VIREO_FEATURE_WORDS; i++)
			vd->features.w[i] &= before.w[i];
	}

	return start_driver(vd, drv->probe);

fail:
	add_status(vd, VIRTIO_CONFIG_S_FAILED);
	return err;
}

static void vireo_bus_remove(struct device *dev)
{
	struct vireo_device *vd = to_vireo_device(dev);
	struct vireo_driver *drv = to_vireo_driver(dev->driver);

	disable_config(vd);
	drv->remove(vd);

	/* The driver must have reset the device; make sure it is quiet. */
	if (!vd->failed && vd->ops->get_status(vd)) {
		dev_err(&vd->dev, "%s left the device running; resetting\n",
			drv->driver.name);
		vireo_reset_device(vd);
	}
	/* Ready for the next driver to bind. */
	add_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE);
}

static VIREO_BUS_CONST struct bus_type vireo_bus = {
	.name = "vireo",
	.match = vireo_bus_match,
	.uevent = vireo_bus_uevent,
	.probe = vireo_bus_probe,
	.remove = vireo_bus_remove,
	.dev_groups = vireo_dev_groups,
};

int __vireo_register_driver(struct vireo_driver *drv, struct module *owner)
{
	unsigned int i;

	if (!drv->probe || !drv->remove) {
		pr_err("vireo: driver %s lacks probe or remove\n", drv->driver.name);
		return -EINVAL;
	}
	for (i = 0; i < drv->feature_table_size; i++) {
		if (!device_feature_bit(drv->feature_table[i])) {
			pr_err("vireo: driver %s asks for feature bit %u, which is not a device-type bit\n",
			       drv->driver.name, drv->feature_table[i]);
			return -EINVAL;
		}
	}
	if (drv->restore && !drv->restore_failed) {
		pr_err("vireo: driver %s has restore but no restore_failed\n",
		       drv->driver.name);
		return -EINVAL;
	}
	drv->driver.bus = &vireo_bus;
	drv->driver.owner = owner;
	return driver_register(&drv->driver);
}
EXPORT_SYMBOL_NS_GPL(__vireo_register_driver, VIREO_NS);

void vireo_unregister_driver(struct vireo_driver *drv)
{
	driver_unregister(&drv->driver);
}
EXPORT_SYMBOL_NS_GPL(vireo_unregister_driver, VIREO_NS);

/* ------------------------------------------------------------------ */
/* Device state                                                        */
/* ------------------------------------------------------------------ */

void vireo_device_ready(struct vireo_device *vd)
{
	add_status(vd, VIRTIO_CONFIG_S_DRIVER_OK);
}
EXPORT_SYMBOL_NS_GPL(vireo_device_ready, VIREO_NS);

void vireo_reset_device(struct vireo_device *vd)
{
	reset_device(vd);
}
EXPORT_SYMBOL_NS_GPL(vireo_reset_device, VIREO_NS);

void vireo_device_fail(struct vireo_device *vd, const char *why)
{
	if (!vd->failed)
		dev_err(&vd->dev, "device failed: %s\n", why);
	vd->failed = true;
	vireo_break_vqs(vd);
	add_status(vd, VIRTIO_CONFIG_S_FAILED);
}
EXPORT_SYMBOL_NS_GPL(vireo_device_fail, VIREO_NS);

int vireo_find_vqs(struct vireo_device *vd, unsigned int nvqs,
		   struct vireo_vq *vqs[], const struct vireo_vq_info info[],
		   struct irq_affinity *desc)
{
	if (vd->fault == VIREO_FAULT_QUEUES && vd->restoring) {
		dev_err(&vd->dev, "cannot set up queues (%d, injected)\n",
			-ENOMEM);
		return -ENOMEM;
	}
	return vd->ops->find_vqs(vd, nvqs, vqs, info, desc);
}
EXPORT_SYMBOL_NS_GPL(vireo_find_vqs, VIREO_NS);

void vireo_del_vqs(struct vireo_device *vd)
{
	vd->ops->del_vqs(vd);
}
EXPORT_SYMBOL_NS_GPL(vireo_del_vqs, VIREO_NS);

void vireo_config_changed(struct vireo_device *vd)
{
	struct vireo_driver *drv;
	unsigned long flags;

	spin_lock_irqsave(&vd->config_lock, flags);
	drv = bound_driver(vd);
	if (!vd->config_enabled)
		vd->config_change_pending = true;
	else if (drv && drv->config_changed)
		drv->config_changed(vd);
	spin_unlock_irqrestore(&vd->config_lock, flags);
}
EXPORT_SYMBOL_NS_GPL(vireo_config_changed, VIREO_NS);

/* ------------------------------------------------------------------ */
/* Config space                                                        */
/* ------------------------------------------------------------------ */

/*
 * A device whose config generation moves on every one of this many reads
 * is broken, not slow: the read fails instead of spinning for ever.
 */
#define CONFIG_READ_TRIES 64

/*
 * The one bounds check of config space: transports map at least
 * config_len bytes and do not check again.
 */
static bool config_in_range(struct vireo_device *vd, unsigned int offset,
			    unsigned int len)
{
	if (offset <= vd->config_len && len <= vd->config_len - offset)
		return true;
	dev_err_ratelimited(&vd->dev,
			    "config access %u+%u beyond the %u bytes the device has\n",
			    offset, len, vd->config_len);
	return false;
}

/* One read of the field; true if it is consistent. */
static bool config_read_once(struct vireo_device *vd, unsigned int offset,
			     void *buf, unsigned int len)
{
	u8 check[8];
	u32 gen;

	if (vd->ops->config_generation) {
		/*
		 * virtio 1.2, 2.5.1: a read spanning several accesses is only
		 * consistent if the generation did not move.
		 */
		gen = vd->ops->config_generation(vd);
		vd->ops->get_config(vd, offset, buf, len);
		return gen == vd->ops->config_generation(vd);
	}
	/*
	 * Legacy devices have no generation: a field wider than one access
	 * is read until two reads agree.
	 */
	vd->ops->get_config(vd, offset, buf, len);
	if (len <= 4 || len > sizeof(check))
		return true;
	vd->ops->get_config(vd, offset, check, len);
	return !memcmp(buf, check, len);
}

static int config_read(struct vireo_device *vd, unsigned int offset,
		       void *buf, unsigned int len)
{
	/* debugfs fail_config: every try of this read is taken to have torn. */
	bool injected = atomic_add_unless(&vd->config_faults, -1, 0);
	int tries;

	for (tries = 0; tries < CONFIG_READ_TRIES; tries++)
		if (config_read_once(vd, offset, buf, len) && !injected)
			return 0;
	dev_err_ratelimited(&vd->dev,
			    "config read %u+%u never settled: the generation changed on all %d tries%s\n",
			    offset, len, CONFIG_READ_TRIES,
			    injected ? " (injected)" : "");
	return -EIO;
}

/* debugfs config_patch: the bytes of the patch that fall inside this read. */
static void config_patch(struct vireo_device *vd, unsigned int offset,
			 u8 *buf, unsigned int len)
{
	u32 where = READ_ONCE(vd->patch_where);
	unsigned int poff = where >> 8, plen = where & 0xff, i;
	u64 v = READ_ONCE(vd->patch_value);

	for (i = 0; i < plen; i++)
		if (poff + i >= offset && poff + i < offset + len)
			buf[poff + i - offset] = v >> (8 * i);
}

int vireo_config_read(struct vireo_device *vd, unsigned int offset,
		      void *buf, unsigned int len)
{
	int err = -EINVAL;

	if (config_in_range(vd, offset, len))
		err = config_read(vd, offset, buf, len);
	if (!err && unlikely(READ_ONCE(vd->patch_where)))
		config_patch(vd, offset, buf, len);
	/* Nothing half read reaches a caller that ignores the error. */
	if (err)
		memset(buf, 0, len);
	return err;
}
EXPORT_SYMBOL_NS_GPL(vireo_config_read, VIREO_NS);

int vireo_config_write(struct vireo_device *vd, unsigned int offset,
		       const void *buf, unsigned int len)
{
	if (!config_in_range(vd, offset, len))
		return -EINVAL;
	vd->ops->set_config(vd, offset, buf, len);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(vireo_config_write, VIREO_NS);

int vireo_cread8(struct vireo_device *vd, unsigned int offset, u8 *val)
{
	return vireo_config_read(vd, offset, val, sizeof(*val));
}
EXPORT_SYMBOL_NS_GPL(vireo_cread8, VIREO_NS);

int vireo_cread16(struct vireo_device *vd, unsigned int offset, u16 *val)
{
	__le16 v;
	int err = vireo_config_read(vd, offset, &v, sizeof(v));

	*val = le16_to_cpu(v);
	return err;
}
EXPORT_SYMBOL_NS_GPL(vireo_cread16, VIREO_NS);

int vireo_cread32(struct vireo_device *vd, unsigned int offset, u32 *val)
{
	__le32 v;
	int err = vireo_config_read(vd, offset, &v, sizeof(v));

	*val = le32_to_cpu(v);
	return err;
}
EXPORT_SYMBOL_NS_GPL(vireo_cread32, VIREO_NS);

int vireo_cread64(struct vireo_device *vd, unsigned int offset, u64 *val)
{
	__le64 v;
	int err = vireo_config_read(vd, offset, &v, sizeof(v));

	*val = le64_to_cpu(v);
	return err;
}
EXPORT_SYMBOL_NS_GPL(vireo_cread64, VIREO_NS);

void vireo_cwrite8(struct vireo_device *vd, unsigned int offset, u8 val)
{
	vireo_config_write(vd, offset, &val, sizeof(val));
}
EXPORT_SYMBOL_NS_GPL(vireo_cwrite8, VIREO_NS);

void vireo_cwrite32(struct vireo_device *vd, unsigned int offset, u32 val)
{
	__le32 v = cpu_to_le32(val);

	vireo_config_write(vd, offset, &v, sizeof(v));
}
EXPORT_SYMBOL_NS_GPL(vireo_cwrite32, VIREO_NS);

/* ------------------------------------------------------------------ */
/* Fault injection: /sys/kernel/debug/vireo/vireoN/fail_restore        */
/* ------------------------------------------------------------------ */

static const char *const fault_names[] = {
	[VIREO_FAULT_NONE] = "none",
	[VIREO_FAULT_RESET] = "reset",
	[VIREO_FAULT_FEATURES] = "features",
	[VIREO_FAULT_FEATURES_OK] = "features_ok",
	[VIREO_FAULT_QUEUES] = "queues",
};

static ssize_t fail_restore_read(struct file *f, char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	struct vireo_device *vd = f->private_data;
	char buf[16];
	int n;

	n = scnprintf(buf, sizeof(buf), "%s\n", fault_names[READ_ONCE(vd->fault)]);
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t fail_restore_write(struct file *f, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct vireo_device *vd = f->private_data;
	char buf[16];
	int i;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	i = sysfs_match_string(fault_names, buf);
	if (i < 0)
		return i;
	WRITE_ONCE(vd->fault, i);
	return count;
}

static const struct file_operations fail_restore_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = fail_restore_read,
	.write = fail_restore_write,
	.llseek = default_llseek,
};

/*
 * fail_config: how many config reads (from now on) fail as if the device's
 * config generation moved on every try; reads back what is left.
 */
static int fail_config_get(void *data, u64 *val)
{
	struct vireo_device *vd = data;

	*val = atomic_read(&vd->config_faults);
	return 0;
}

static int fail_config_set(void *data, u64 val)
{
	struct vireo_device *vd = data;

	if (val > INT_MAX)
		return -EINVAL;
	atomic_set(&vd->config_faults, val);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(fail_config_fops, fail_config_get, fail_config_set,
			 "%llu\n");

/*
 * config_patch: "OFFSET LENGTH VALUE" makes every later config read see
 * VALUE (LENGTH bytes, 1-8, little endian) at OFFSET instead of what the
 * device has, so a driver's checks of values no device here offers can
 * be shown (rebind the driver to make it read them); "none" ends it.
 */
static ssize_t config_patch_read(struct file *f, char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	struct vireo_device *vd = f->private_data;
	u32 where = READ_ONCE(vd->patch_where);
	char buf[48];
	int n;

	if (!where)
		n = scnprintf(buf, sizeof(buf), "none\n");
	else
		n = scnprintf(buf, sizeof(buf), "%u %u 0x%llx\n", where >> 8,
			      where & 0xff, READ_ONCE(vd->patch_value));
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t config_patch_write(struct file *f, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct vireo_device *vd = f->private_data;
	unsigned int off, len;
	char buf[48];
	long long val;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	if (sysfs_streq(buf, "none")) {
		WRITE_ONCE(vd->patch_where, 0);
		return count;
	}
	if (sscanf(buf, "%u %u %lli", &off, &len, &val) != 3 || !len ||
	    len > sizeof(val) || off + len > vd->config_len)
		return -EINVAL;
	WRITE_ONCE(vd->patch_where, 0);
	WRITE_ONCE(vd->patch_value, val);
	WRITE_ONCE(vd->patch_where, off << 8 | len);
	return count;
}

static const struct file_operations config_patch_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = config_patch_read,
	.write = config_patch_write,
	.llseek = default_llseek,
};

/*
 * set_affinity: "INDEX CPULIST" (or "INDEX none") steers queue INDEX of
 * the device the way a driver does with vireo_vq_set_affinity(), and the
 * write returns its error: what a test can show of the paths no bound
 * driver takes (blk's managed vectors, MMIO, a shared vector). Under the
 * device lock, which probe, remove and so the creation and deletion of
 * queues hold.
 */
static ssize_t set_affinity_write(struct file *f, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct vireo_device *vd = f->private_data;
	struct vireo_ring *vr, *found = NULL;
	unsigned int index;
	cpumask_var_t mask;
	char *buf, *cpus;
	int err, off;

	if (count > PAGE_SIZE)
		return -EINVAL;
	buf = memdup_user_nul(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	if (sscanf(buf, "%u%n", &index, &off) != 1 || !isspace(buf[off])) {
		err = -EINVAL;
		goto free_buf;
	}
	cpus = strim(buf + off);
	if (!zalloc_cpumask_var(&mask, GFP_KERNEL)) {
		err = -ENOMEM;
		goto free_buf;
	}
	if (strcmp(cpus, "none")) {
		err = cpulist_parse(cpus, mask);
		if (err)
			goto free_mask;
	}

	device_lock(&vd->dev);
	list_for_each_entry(vr, &vd->vqs, node)
		if (vr->vq.index == index)
			found = vr;
	if (found)
		err = vireo_vq_set_affinity(&found->vq,
					    strcmp(cpus, "none") ? mask : NULL);
	else
		err = -ENOENT;
	device_unlock(&vd->dev);
	if (!err)
		err = count;
free_mask:
	free_cpumask_var(mask);
free_buf:
	kfree(buf);
	return err;
}

static const struct file_operations set_affinity_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = set_affinity_write,
	.llseek = default_llseek,
};

/* ------------------------------------------------------------------ */
/* Registration by transports                                          */
/* ------------------------------------------------------------------ */

int vireo_register_device(struct vireo_device *vd)
{
	int err;

	device_initialize(&vd->dev);
	vd->dev.bus = &vireo_bus;
	spin_lock_init(&vd->config_lock);
	INIT_LIST_HEAD(&vd->vqs);
	vd->config_enabled = false;
	vd->config_change_pending = false;
	vd->fault = VIREO_FAULT_NONE;
	atomic_set(&vd->config_faults, 0);
	vd->patch_where = 0;
	vd->logged = 0;

	err = ida_alloc(&vireo_index_ida, GFP_KERNEL);
	if (err < 0)
		return err;
	vd->index = err;
	err = dev_set_name(&vd->dev, "vireo%u", vd->index);
	if (err)
		goto free_index;

	/* virtio 1.2, 3.1.1 steps 1-2: reset, then say we saw it. */
	err = reset_device(vd);
	if (err)
		goto free_index;
	add_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE);

	vd->debugfs = debugfs_create_dir(dev_name(&vd->dev), vireo_debugfs_root);
	debugfs_create_file("fail_restore", 0600, vd->debugfs, vd,
			    &fail_restore_fops);
	debugfs_create_file_unsafe("fail_config", 0600, vd->debugfs, vd,
				   &fail_config_fops);
	debugfs_create_file("config_patch", 0600, vd->debugfs, vd,
			    &config_patch_fops);
	debugfs_create_file("set_affinity", 0200, vd->debugfs, vd,
			    &set_affinity_fops);

	err = device_add(&vd->dev);
	if (err)
		goto remove_debugfs;
	return 0;

remove_debugfs:
	debugfs_remove_recursive(vd->debugfs);
	vd->debugfs = NULL;
	add_status(vd, VIRTIO_CONFIG_S_FAILED);
free_index:
	ida_free(&vireo_index_ida, vd->index);
	return err;
}
EXPORT_SYMBOL_NS_GPL(vireo_register_device, VIREO_NS);

void vireo_unregister_device(struct vireo_device *vd)
{
	int index = vd->index;

	device_del(&vd->dev);
	debugfs_remove_recursive(vd->debugfs);
	vd->debugfs = NULL;
	put_device(&vd->dev);
	ida_free(&vireo_index_ida, index);
}
EXPORT_SYMBOL_NS_GPL(vireo_unregister_device, VIREO_NS);

/* ------------------------------------------------------------------ */
/* Suspend and resume                                                  */
/* ------------------------------------------------------------------ */

int vireo_device_freeze(struct vireo_device *vd)
{
	struct vireo_driver *drv = bound_driver(vd);
	int err;

	disable_config(vd);
	if (!drv || !drv->freeze)
		return 0;
	err = drv->freeze(vd);
	if (err)
		enable_config(vd);
	return err;
}
EXPORT_SYMBOL_NS_GPL(vireo_device_freeze, VIREO_NS);

/* The handshake of a resume, up to and including the driver's restore. */
static int restore_device(struct vireo_device *vd, struct vireo_driver *drv)
{
	struct vireo_features lost = {};
	unsigned int i;
	u64 any = 0;
	int err;

	/* The device may have lost all state: initialise it again. */
	err = reset_device(vd);
	if (!err && vd->fault == VIREO_FAULT_RESET) {
		dev_err(&vd->dev, "device did not reset (%d, injected): giving up on it\n",
			-ETIMEDOUT);
		vd->failed = true;
		err = -ETIMEDOUT;
	}
	if (err)
		return err;
	add_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	if (!drv)
		return 0;
	add_status(vd, VIRTIO_CONFIG_S_DRIVER);

	/*
	 * Same features as before: the driver's state depends on them. A
	 * device that no longer offers one of them cannot be given it
	 * (virtio 1.2, 2.2.1), so the driver cannot come back.
	 */
	memset(&vd->device_features, 0, sizeof(vd->device_features));
	vd->ops->get_features(vd, &vd->device_features);
	for (i = 0; i < VIREO_FEATURE_WORDS; i++) {
		lost.w[i] = vd->features.w[i] & ~vd->device_features.w[i];
		any |= lost.w[i];
	}
	if (!any && vd->fault == VIREO_FAULT_FEATURES) {
		/* The highest negotiated bit. */
		for (i = VIREO_FEATURE_WORDS; i-- > 0 && !any;)
			if (vd->features.w[i]) {
				lost.w[i] = BIT_ULL(__fls(vd->features.w[i]));
				any = lost.w[i];
			}
	}
	if (any) {
		dev_err(&vd->dev, "device lost features 0x%016llx%016llx over suspend%s\n",
			lost.w[1], lost.w[0],
			vd->fault == VIREO_FAULT_FEATURES ? " (injected)" : "");
		add_status(vd, VIRTIO_CONFIG_S_FAILED);
		return -ENODEV;
	}
	/* start_driver() sets FAILED if this fails. */
	return start_driver(vd, drv->restore);
}

int vireo_device_restore(struct vireo_device *vd)
{
	struct vireo_driver *drv = bound_driver(vd);
	int err;

	vd->restoring = true;
	err = restore_device(vd, drv);
	vd->restoring = false;
	/* An injected fault fires once. */
	vd->fault = VIREO_FAULT_NONE;
	atomic_set(&vd->config_faults, 0);
	if (!err || !drv)
		return err;
	/*
	 * The driver froze its users and freed its queues; if it is not told,
	 * they wait for a restore that never comes. The device is done for
	 * until a driver binds again (probe starts from a reset).
	 */
	vd->failed = true;
	if (drv->restore_failed)
		drv->restore_failed(vd, err);
	return err;
}
EXPORT_SYMBOL_NS_GPL(vireo_device_restore, VIREO_NS);

/* ------------------------------------------------------------------ */

static int __init vireo_bus_init(void)
{
	int err;

	err = bus_register(&vireo_bus);
	if (err)
		return err;
	vireo_debugfs_root = debugfs_create_dir("vireo", NULL);
	return 0;
}

static void __exit vireo_bus_exit(void)
{
	debugfs_remove_recursive(vireo_debugfs_root);
	bus_unregister(&vireo_bus);
}

module_init(vireo_bus_init);
module_exit(vireo_bus_exit);

MODULE_DESCRIPTION("vireo virtio bus and virtqueues");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIREO_VERSION);
