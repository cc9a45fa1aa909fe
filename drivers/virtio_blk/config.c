// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_blk: the device's config space (virtio 1.2, 5.2.4) turned into queue
 * limits, capacity, geometry and the cache mode, and the sysfs attributes
 * that show them (serial, cache_type).
 *
 * Every field is the device's word: a value the block layer cannot take, or
 * that contradicts another one, is ignored or clamped with one log line, and
 * a value the driver cannot honour at all refuses the device.
 */
#include <linux/ctype.h>
#include <linux/dma-mapping.h>
#include <linux/hdreg.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "blk.h"

#define CFG(field)	offsetof(struct virtio_blk_config, field)

/* A physical block larger than this is not believed. */
#define VBLK_MAX_PHYS_BLOCK	SZ_2M

static void vblk_ignore(struct vblk *vblk, const char *field, u64 val,
			const char *why)
{
	dev_warn(&vblk->vd->dev, "ignoring %s %llu from the device: %s\n",
		 field, val, why);
}

/* Segments per request and their size: what the device and the ring take. */
static int vblk_segment_limits(struct vblk *vblk, struct queue_limits *lim)
{
	struct vireo_device *vd = vblk->vd;
	unsigned int ring = UINT_MAX, segs = 1, i;
	u64 seg_size = UINT_MAX;
	u32 v;
	int err;

	for (i = 0; i < vblk->nr_queues; i++)
		ring = min(ring, vireo_vq_size(vblk->queues[i].vq));
	/*
	 * A request is a header, its data and a status byte. With indirect
	 * descriptors it takes one ring descriptor and a table as long as it
	 * needs, so seg_max alone bounds it, as in the in-tree driver;
	 * without, no chain may be longer than the queue (virtio 1.2,
	 * 2.7.5.3.1 and 2.8.17).
	 */
	if (vblk_has(vblk, VIRTIO_RING_F_INDIRECT_DESC))
		ring = UINT_MAX;
	if (ring < 3) {
		dev_err(&vd->dev, "queues of %u descriptors cannot carry a request\n",
			ring);
		return -EINVAL;
	}

	if (vblk_has(vblk, VIRTIO_BLK_F_SEG_MAX)) {
		err = vireo_cread32(vd, CFG(seg_max), &v);
		if (err)
			return err;
		if (v)
			segs = v;
		else
			vblk_ignore(vblk, "seg_max", v, "using 1");
	}
	segs = min3(segs, ring - 2, (unsigned int)VBLK_MAX_SEGS);
	vblk->sg_elems = segs;
	lim->max_segments = segs;

	if (vblk_has(vblk, VIRTIO_F_ACCESS_PLATFORM))
		seg_size = min_t(u64, seg_size,
				 dma_max_mapping_size(vireo_dma_dev(vd)));
	if (vblk_has(vblk, VIRTIO_BLK_F_SIZE_MAX)) {
		err = vireo_cread32(vd, CFG(size_max), &v);
		if (err)
			return err;
		/* The block layer cannot split below a page. */
		if (v < PAGE_SIZE) {
			dev_err(&vd->dev, "size_max %u is below the page size; cannot honour it\n",
				v);
			return -EINVAL;
		}
		seg_size = min_t(u64, seg_size, v);
	}
	if (seg_size < PAGE_SIZE)
		seg_size = PAGE_SIZE;
	lim->max_segment_size = seg_size;
	/* virtio 1.2, 2.7.5.2: a chain carries less than 4 GiB. */
	lim->max_hw_sectors = min_t(u64, (u64)segs * seg_size,
				    UINT_MAX - PAGE_SIZE) >> SECTOR_SHIFT;
	return 0;
}

/* Block sizes and the I/O hints of BLK_SIZE and TOPOLOGY. */
static int vblk_block_limits(struct vblk *vblk, struct queue_limits *lim)
{
	struct vireo_device *vd = vblk->vd;
	unsigned int lbs = SECTOR_SIZE, pbs;
	u8 exp, align;
	u16 min_io;
	u32 v, opt_io;
	int err;

	if (vblk_has(vblk, VIRTIO_BLK_F_BLK_SIZE)) {
		err = vireo_cread32(vd, CFG(blk_size), &v);
		if (err)
			return err;
		if (v < SECTOR_SIZE || v > PAGE_SIZE || !is_power_of_2(v))
			vblk_ignore(vblk, "blk_size", v,
				    "not a power of two from 512 to the page size");
		else
			lbs = v;
	}
	lim->logical_block_size = lbs;
	pbs = lbs;

	if (vblk_has(vblk, VIRTIO_BLK_F_TOPOLOGY)) {
		err = vireo_cread8(vd, CFG(physical_block_exp), &exp) ?:
		      vireo_cread8(vd, CFG(alignment_offset), &align) ?:
		      vireo_cread16(vd, CFG(min_io_size), &min_io) ?:
		      vireo_cread32(vd, CFG(opt_io_size), &opt_io);
		if (err)
			return err;
		if (exp > ilog2(VBLK_MAX_PHYS_BLOCK / lbs))
			vblk_ignore(vblk, "physical_block_exp", exp,
				    "physical blocks would exceed 2 MiB");
		else
			pbs = lbs << exp;
		/* In logical blocks, inside one physical block. */
		if ((u64)align * lbs >= pbs)
			vblk_ignore(vblk, "alignment_offset", align,
				    "not inside a physical block");
		else
			lim->alignment_offset = align * lbs;
		lim->io_min = min_io * lbs;
		if ((u64)opt_io * lbs > UINT_MAX)
			vblk_ignore(vblk, "opt_io_size", opt_io, "too large");
		else
			lim->io_opt = opt_io * lbs;
	}
	lim->physical_block_size = pbs;
	return 0;
}

static int vblk_discard_limits(struct vblk *vblk, struct queue_limits *lim)
{
	struct vireo_device *vd = vblk->vd;
	unsigned int gran;
	u32 max, segs, align;
	u8 unmap;
	int err;

	if (vblk_has(vblk, VIRTIO_BLK_F_DISCARD)) {
		err = vireo_cread32(vd, CFG(max_discard_sectors), &max) ?:
		      vireo_cread32(vd, CFG(max_discard_seg), &segs) ?:
		      vireo_cread32(vd, CFG(discard_sector_alignment), &align);
		if (err)
			return err;
		/*
		 * virtio 1.2, 5.2.6.1: at most max_discard_seg segments. Some
		 * devices offer discard with 0 there; the in-tree driver then
		 * takes its own maximum, and so does vireo_blk.
		 */
		if (!segs) {
			vblk_ignore(vblk, "max_discard_seg", segs,
				    "using " __stringify(VBLK_MAX_RANGES));
			segs = VBLK_MAX_RANGES;
		}
		lim->max_hw_discard_sectors = max ?: UINT_MAX;
		lim->max_discard_segments = min_t(u32, segs,
						  VBLK_MAX_RANGES);
		vblk->max_discard_seg = lim->max_discard_segments;
		gran = lim->logical_block_size;
		if (align && (u64)align << SECTOR_SHIFT <= UINT_MAX &&
		    !(((u64)align << SECTOR_SHIFT) % gran))
			gran = align << SECTOR_SHIFT;
		else if (align)
			vblk_ignore(vblk, "discard_sector_alignment", align,
				    "not a multiple of the block size");
		lim->discard_granularity = max(gran, lim->physical_block_size);
	}

	if (vblk_has(vblk, VIRTIO_BLK_F_WRITE_ZEROES)) {
		err = vireo_cread32(vd, CFG(max_write_zeroes_sectors), &max) ?:
		      vireo_cread32(vd, CFG(max_write_zeroes_seg), &segs) ?:
		      vireo_cread8(vd, CFG(write_zeroes_may_unmap), &unmap);
		if (err)
			return err;
		/* One segment per request is all vireo_blk sends. */
		if (!segs) {
			vblk_ignore(vblk, "max_write_zeroes_seg", segs,
				    "no write zeroes can be sent");
		} else {
			lim->max_write_zeroes_sectors = max ?: UINT_MAX;
			vblk->wz_may_unmap = unmap;
		}
	}
	return 0;
}

/* The cache mode the device starts in. */
static int vblk_read_writeback(struct vblk *vblk, bool *writeback)
{
	u8 wce;
	int err;

	/* Without a flush command a volatile cache cannot be made stable. */
	*writeback = false;
	if (!vblk_has(vblk, VIRTIO_BLK_F_FLUSH))
		return 0;
	/*
	 * virtio 1.2, 5.2.5.1: writeback MUST NOT be read before FEATURES_OK;
	 * the bus set it before probe. FLUSH without CONFIG_WCE: the driver
	 * SHOULD assume a writeback cache.
	 */
	*writeback = true;
	if (vblk_has(vblk, VIRTIO_BLK_F_CONFIG_WCE)) {
		err = vireo_cread8(vblk->vd, CFG(wce), &wce);
		if (err)
			return err;
		*writeback = wce;
	}
	return 0;
}

/* Any field the device cannot give us (a config that never settles) fails it. */
int vblk_read_limits(struct vblk *vblk, struct queue_limits *lim)
{
	return vblk_segment_limits(vblk, lim) ?:
	       vblk_block_limits(vblk, lim) ?:
	       vblk_discard_limits(vblk, lim) ?:
	       vblk_read_writeback(vblk, &vblk->writeback);
}

int vblk_read_capacity(struct vblk *vblk, sector_t *capacity)
{
	u64 cap;
	int err;

	err = vireo_cread64(vblk->vd, CFG(capacity), &cap);
	if (err)
		return err;
	/* Its size in bytes must fit a loff_t. */
	if (cap > (u64)LLONG_MAX >> SECTOR_SHIFT) {
		vblk_ignore(vblk, "capacity", cap, "clamped to 2^63 bytes");
		cap = (u64)LLONG_MAX >> SECTOR_SHIFT;
	}
	*capacity = cap;
	return 0;
}

/* virtio 1.2, 5.2.6.1: on a config change, the capacity SHOULD be re-read. */
void vblk_config_work(struct work_struct *work)
{
	struct vblk *vblk = container_of(work, struct vblk, config_work);
	sector_t cap;

	mutex_lock(&vblk->lock);
	if (vblk->vd && !vblk->suspended && !READ_ONCE(vblk->dead) &&
	    !vblk_read_capacity(vblk, &cap))
		set_capacity_and_notify(vblk->disk, cap);	/* uevent RESIZE=1 */
	mutex_unlock(&vblk->lock);
}

int vblk_getgeo(struct block_device *bdev, struct hd_geometry *geo)
{
	struct vblk *vblk = bdev->bd_disk->private_data;
	u16 cylinders;
	u8 heads, sectors;
	int err = 0;

	mutex_lock(&vblk->lock);
	if (!vblk->vd) {
		err = -ENXIO;
		goto out;
	}
	if (vblk_has(vblk, VIRTIO_BLK_F_GEOMETRY)) {
		/* Field by field, each at its width (virtio 1.2, 4.1.3.1). */
		err = vireo_cread16(vblk->vd, CFG(geometry.cylinders), &cylinders) ?:
		      vireo_cread8(vblk->vd, CFG(geometry.heads), &heads) ?:
		      vireo_cread8(vblk->vd, CFG(geometry.sectors), &sectors);
		if (err)
			goto out;
		if (heads && sectors) {
			geo->cylinders = cylinders;
			geo->heads = heads;
			geo->sectors = sectors;
			goto out;
		}
	}
	/* No (usable) geometry from the device: the customary made-up one. */
	geo->heads = 1 << 6;
	geo->sectors = 1 << 5;
	geo->cylinders = get_capacity(bdev->bd_disk) >> 11;
out:
	mutex_unlock(&vblk->lock);
	return err;
}

/*
 * Tells the device the cache mode we want and sets vblk->writeback to the
 * one it has. When that cannot be read back, writeback is assumed: the
 * block layer keeps sending flushes, which is safe either way.
 */
static int vblk_write_wce(struct vblk *vblk, bool writeback)
{
	u8 now;
	int err;

	vireo_cwrite8(vblk->vd, CFG(wce), writeback);
	err = vireo_cread8(vblk->vd, CFG(wce), &now);
	if (err) {
		vblk->writeback = true;
		return err;
	}
	if (!!now != writeback)
		dev_warn(&vblk->vd->dev, "%s: device kept its cache in write %s mode\n",
			 vblk->disk->disk_name, now ? "back" : "through");
	vblk->writeback = now;
	return 0;
}

/*
 * After a reset (resume) the device is back in its own cache mode. A mode
 * that cannot be read back leaves writeback assumed (and flushes sent).
 */
void vblk_apply_writeback(struct vblk *vblk)
{
	if (vblk->writeback_set)
		vblk_write_wce(vblk, vblk->writeback);
}

/* ------------------------------------------------------------------ */
/* /sys/block/vdX/serial and cache_type, as the in-tree driver has     */
/* ------------------------------------------------------------------ */

static ssize_t serial_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vblk *vblk = dev_to_disk(dev)->private_data;
	unsigned int i;
	char *id;
	int err;

	id = kzalloc(VIRTIO_BLK_ID_BYTES, GFP_KERNEL);
	if (!id)
		return -ENOMEM;
	err = vblk_get_id(vblk, id);
	if (!err) {
		/*
		 * NUL-padded ASCII, unterminated when 20 bytes long (virtio 1.2,
		 * 5.2.6). Like the in-tree driver: no newline.
		 */
		for (i = 0; i < VIRTIO_BLK_ID_BYTES && id[i]; i++)
			if (!isascii(id[i]) || !isprint(id[i]))
				id[i] = '?';
		err = sysfs_emit(buf, "%.*s", i, id);
	} else if (err == -EIO || err == -EOPNOTSUPP) {
		/* No ID from this device: an empty serial. */
		err = 0;
	}
	kfree(id);
	return err;
}
static DEVICE_ATTR_RO(serial);

static const char *const vblk_cache_types[] = {
	"write through",
	"write back",
};

static ssize_t cache_type_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct vblk *vblk = dev_to_disk(dev)->private_data;

	return sysfs_emit(buf, "%s\n", vblk_cache_types[vblk->writeback]);
}

static DEFINE_MUTEX(vblk_cache_lock);

static ssize_t cache_type_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t count)
{
	struct gendisk *disk = dev_to_disk(dev);
	struct vblk *vblk = disk->private_data;
	bool want, now;
	int i, err = 0;

	/* The mode (0444) says so too, but root may write anyway. */
	if (!vblk_has(vblk, VIRTIO_BLK_F_CONFIG_WCE) ||
	    !vblk_has(vblk, VIRTIO_BLK_F_FLUSH))
		return -EPERM;
	i = sysfs_match_string(vblk_cache_types, buf);
	if (i < 0)
		return i;
	want = i;

	/*
	 * Block layer first when a cache appears, device first when it goes:
	 * the block layer must never believe writes stable that are not.
	 * Not under vblk->lock: updating the queue waits for I/O, which the
	 * abort path may need vblk->lock to fail.
	 */
	mutex_lock(&vblk_cache_lock);
	if (want)
		err = vireo_blk_set_write_cache(disk, true);
	if (err)
		goto out;

	mutex_lock(&vblk->lock);
	if (!vblk->vd || vblk->suspended) {
		mutex_unlock(&vblk->lock);
		err = -ENXIO;
		goto out;
	}
	err = vblk_write_wce(vblk, want);
	now = vblk->writeback;
	vblk->writeback_set = true;
	mutex_unlock(&vblk->lock);
	if (err)
		goto out;

	if (!now) {
		/*
		 * virtio 1.2, 5.2.6.1: after writing 0 to writeback the driver
		 * MUST NOT assume volatile writes were committed: flush them
		 * while the block layer still sends flushes.
		 */
		err = blkdev_issue_flush(disk->part0);
		if (!err)
			err = vireo_blk_set_write_cache(disk, false);
	}
out:
	mutex_unlock(&vblk_cache_lock);
	return err ?: count;
}
static DEVICE_ATTR_RW(cache_type);

static struct attribute *vblk_attrs[] = {
	&dev_attr_serial.attr,
	&dev_attr_cache_type.attr,
	NULL,
};

static umode_t vblk_attr_mode(struct kobject *kobj, struct attribute *a,
			      int n)
{
	struct vblk *vblk = dev_to_disk(kobj_to_dev(kobj))->private_data;

	/* Switchable only if the device lets us and we can flush. */
	if (a == &dev_attr_cache_type.attr &&
	    !(vblk_has(vblk, VIRTIO_BLK_F_CONFIG_WCE) &&
	      vblk_has(vblk, VIRTIO_BLK_F_FLUSH)))
		return 0444;
	return a->mode;
}

static const struct attribute_group vblk_attr_group = {
	.attrs = vblk_attrs,
	.is_visible = vblk_attr_mode,
};

const struct attribute_group *vblk_attr_groups[] = {
	&vblk_attr_group,
	NULL,
};
