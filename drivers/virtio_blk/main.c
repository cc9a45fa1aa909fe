// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_blk: the virtio block device (virtio 1.2, 5.2) as a blk-mq disk.
 *
 * Disks are named as the in-tree driver names them, vda ... vdz, vdaa ...,
 * with 15 partitions each; a name another driver already uses in this guest
 * is skipped. Each request virtqueue is a blk-mq hardware queue; the last
 * poll_queues of them get no interrupt and serve polled I/O (io_uring
 * IORING_SETUP_IOPOLL).
 *
 * This file: probe and remove, suspend and resume, naming, the module.
 */
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "blk.h"

#define VBLK_PART_BITS	4	/* 16 minors: the disk and 15 partitions */
#define VBLK_MAX_INDEX	((1 << (MINORBITS - VBLK_PART_BITS)) - 1)

static unsigned int num_request_queues;
module_param(num_request_queues, uint, 0444);
MODULE_PARM_DESC(num_request_queues,
		 "Request queues per disk, at most one per CPU and what the device offers (default 0: as many as that)");

static unsigned int poll_queues;
module_param(poll_queues, uint, 0444);
MODULE_PARM_DESC(poll_queues,
		 "Of those, queues without interrupts for polled I/O (default 0; at least one queue keeps interrupts)");

static unsigned int queue_depth;
module_param(queue_depth, uint, 0444);
MODULE_PARM_DESC(queue_depth,
		 "Requests in flight per queue (default 0: the virtqueue size)");

static int vblk_major;
static DEFINE_IDA(vblk_index_ida);

/* vda ... vdz, vdaa ... vdzz, vdaaa ...: bijective base 26. */
static void vblk_format_name(char *buf, int index)
{
	char rev[8];
	int n = 0, i;

	do {
		rev[n++] = 'a' + index % 26;
		index = index / 26 - 1;
	} while (index >= 0 && n < (int)sizeof(rev));
	buf[0] = 'v';
	buf[1] = 'd';
	for (i = 0; i < n; i++)
		buf[2 + i] = rev[n - 1 - i];
	buf[2 + n] = '\0';
}

/*
 * The lowest free index whose name no other block device has: the in-tree
 * virtio_blk names its disks vdX from a counter of its own (DESIGN.md,
 * Names). Only when both drivers probe at the same instant can they still
 * collide; the second then fails to add its disk.
 */
static int vblk_alloc_index(struct vblk *vblk, char *name)
{
	struct device *other;
	int index, start = 0;

	for (;;) {
		index = ida_alloc_range(&vblk_index_ida, start, VBLK_MAX_INDEX,
					GFP_KERNEL);
		if (index < 0)
			return index;
		vblk_format_name(name, index);
		other = class_find_device_by_name(disk_to_dev(vblk->disk)->class,
						  name);
		if (!other)
			return index;
		put_device(other);
		ida_free(&vblk_index_ida, index);
		dev_info(&vblk->vd->dev, "%s is taken by another driver; trying the next name\n",
			 name);
		start = index + 1;
	}
}

/* Creates the request virtqueues; vblk->nr_queues and nr_poll are set. */
static int vblk_find_vqs(struct vblk *vblk)
{
	unsigned int n = vblk->nr_queues, nirq = n - vblk->nr_poll, i;
	struct irq_affinity desc = {};
	struct vireo_vq_info *info;
	struct vireo_vq **vqs;
	int err = -ENOMEM;

	info = kcalloc(n, sizeof(*info), GFP_KERNEL);
	vqs = kcalloc(n, sizeof(*vqs), GFP_KERNEL);
	if (!info || !vqs)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(vblk->queues[i].name, sizeof(vblk->queues[i].name),
			 i < nirq ? "req.%u" : "req_poll.%u", i);
		info[i].name = vblk->queues[i].name;
		info[i].callback = i < nirq ? vblk_vq_done : NULL;
	}
	err = vireo_find_vqs(vblk->vd, n, vqs, info, &desc);
	if (err)
		goto out;
	for (i = 0; i < n; i++) {
		spin_lock_irq(&vblk->queues[i].lock);
		vblk->queues[i].vq = vqs[i];
		spin_unlock_irq(&vblk->queues[i].lock);
	}
out:
	kfree(vqs);
	kfree(info);
	return err;
}

/* Resets the device, reclaims every request and frees the queues. */
static void vblk_del_vqs(struct vblk *vblk)
{
	unsigned int i;

	vblk_reset_reclaim(vblk);
	for (i = 0; i < vblk->nr_queues; i++) {
		spin_lock_irq(&vblk->queues[i].lock);
		vblk->queues[i].vq = NULL;
		spin_unlock_irq(&vblk->queues[i].lock);
	}
	vireo_del_vqs(vblk->vd);
}

static int vblk_init_queues(struct vblk *vblk)
{
	unsigned int n = 1, i;
	u16 nq;
	int err;

	if (vblk_has(vblk, VIRTIO_BLK_F_MQ)) {
		err = vireo_cread16(vblk->vd,
				    offsetof(struct virtio_blk_config, num_queues),
				    &nq);
		if (err)
			return err;
		n = nq;
		if (!n) {
			dev_warn(&vblk->vd->dev, "ignoring num_queues 0 from the device: using one queue\n");
			n = 1;
		}
	}
	n = min(n, nr_cpu_ids);
	if (num_request_queues)
		n = min(n, num_request_queues);
	vblk->nr_poll = min(poll_queues, n - 1);
	if (poll_queues > vblk->nr_poll)
		dev_info(&vblk->vd->dev, "%u of %u queues polled: one keeps interrupts\n",
			 vblk->nr_poll, n);
	vblk->nr_queues = n;
	vblk->io_queues[HCTX_TYPE_DEFAULT] = n - vblk->nr_poll;
	vblk->io_queues[HCTX_TYPE_READ] = 0;
	vblk->io_queues[HCTX_TYPE_POLL] = vblk->nr_poll;

	vblk->queues = kcalloc(n, sizeof(*vblk->queues), GFP_KERNEL);
	if (!vblk->queues)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		spin_lock_init(&vblk->queues[i].lock);
	return vblk_find_vqs(vblk);
}

/* Each CPU submits to the queue whose interrupt it serves. */
static void vblk_map_queues(struct blk_mq_tag_set *set)
{
	struct vblk *vblk = set->driver_data;
	const struct cpumask *mask;
	struct blk_mq_queue_map *map;
	struct vireo_vq *vq;
	unsigned int i, qoff = 0, n, cpu;

	for (i = 0; i < set->nr_maps; i++) {
		map = &set->map[i];
		map->nr_queues = vblk->io_queues[i];
		map->queue_offset = qoff;
		qoff += map->nr_queues;
		/* A type without queues falls back to the default ones. */
		if (!map->nr_queues)
			continue;
		/* Polled queues have no interrupt to follow. */
		if (i == HCTX_TYPE_POLL) {
			blk_mq_map_queues(map);
			continue;
		}
		/* Each CPU submits to the queue whose interrupt it serves. */
		for (n = 0; n < map->nr_queues; n++) {
			vq = vblk->queues[map->queue_offset + n].vq;
			mask = vq ? vireo_vq_get_affinity(vq) : NULL;
			if (!mask)
				break;
			for_each_cpu(cpu, mask)
				map->mq_map[cpu] = map->queue_offset + n;
		}
		if (n < map->nr_queues)
			blk_mq_map_queues(map);
	}
}

static const struct blk_mq_ops vblk_mq_ops = {
	.queue_rq	= vblk_queue_rq,
	.queue_rqs	= vblk_queue_rqs,
	.commit_rqs	= vblk_commit_rqs,
	.init_request	= vblk_init_request,
	.complete	= vblk_complete_rq,
	.map_queues	= vblk_map_queues,
	.poll		= vblk_poll,
	.timeout	= vblk_timeout,
};

static int vblk_init_tag_set(struct vblk *vblk)
{
	struct blk_mq_tag_set *set = &vblk->tag_set;
	unsigned int depth = UINT_MAX, i;

	for (i = 0; i < vblk->nr_queues; i++)
		depth = min(depth, vireo_vq_size(vblk->queues[i].vq));
	vblk->ring_size = depth;
	/*
	 * Without indirect descriptors a request may take sg_elems + 2 slots;
	 * when the ring is full, blk-mq waits for a completion to retry.
	 */
	if (queue_depth)
		depth = queue_depth;
	depth = clamp_t(unsigned int, depth, 1, BLK_MQ_MAX_DEPTH);

	set->ops = &vblk_mq_ops;
	set->nr_hw_queues = vblk->nr_queues;
	set->nr_maps = vblk->nr_poll ? HCTX_MAX_TYPES : 1;
	set->queue_depth = depth;
	set->numa_node = NUMA_NO_NODE;
	set->flags = BLK_MQ_F_SHOULD_MERGE;
	set->cmd_size = sizeof(struct vblk_req) +
			sizeof(struct scatterlist) * VBLK_INLINE_SG;
	set->driver_data = vblk;
	set->timeout = (vblk_stall_timeout ?: 30) * HZ;
	return blk_mq_alloc_tag_set(set);
}

static void vblk_free_disk(struct gendisk *disk)
{
	struct vblk *vblk = disk->private_data;

	ida_free(&vblk_index_ida, vblk->index);
	mutex_destroy(&vblk->lock);
	kfree(vblk->queues);
	kfree(vblk);
}

static const struct block_device_operations vblk_fops = {
	.owner = THIS_MODULE,
	.getgeo = vblk_getgeo,
	.free_disk = vblk_free_disk,
};

static void vblk_config_changed(struct vireo_device *vd)
{
	struct vblk *vblk = vd->priv;

	/* Called under a spinlock: the capacity is read in process context. */
	schedule_work(&vblk->config_work);
}

static int vblk_probe(struct vireo_device *vd)
{
	struct queue_limits lim = {};
	char name[DISK_NAME_LEN];
	unsigned int flags = VIREO_BLK_ROTATIONAL;
	struct gendisk *disk;
	struct vblk *vblk;
	sector_t capacity;
	int err;

	vblk = kzalloc(sizeof(*vblk), GFP_KERNEL);
	if (!vblk)
		return -ENOMEM;
	vblk->vd = vd;
	mutex_init(&vblk->lock);
	INIT_WORK(&vblk->config_work, vblk_config_work);
	INIT_WORK(&vblk->abort_work, vblk_abort_work);
	vd->priv = vblk;
	/*
	 * Legacy devices may put other values in the used length (virtio
	 * 1.2, 5.2.6.3): decided once here, not looked up per completion.
	 */
	vblk->check_len = vblk_has(vblk, VIRTIO_F_VERSION_1);

	err = vblk_init_queues(vblk);
	if (err)
		goto free;
	err = vblk_read_limits(vblk, &lim);
	if (err)
		goto del_vqs;
	err = vblk_read_capacity(vblk, &capacity);
	if (err)
		goto del_vqs;
	err = vblk_init_tag_set(vblk);
	if (err)
		goto del_vqs;

	/*
	 * Rotational like the in-tree driver's disks: the device says nothing
	 * either way. A volatile cache means the block layer sends flushes.
	 */
	if (vblk->writeback)
		flags |= VIREO_BLK_WRITE_CACHE;
	disk = vireo_blk_mq_alloc_disk(&vblk->tag_set, &lim, flags, vblk);
	if (IS_ERR(disk)) {
		err = PTR_ERR(disk);
		goto free_tags;
	}
	vblk->disk = disk;

	vblk->index = vblk_alloc_index(vblk, name);
	if (vblk->index < 0) {
		err = vblk->index;
		dev_err(&vd->dev, "no free vdX name: %d\n", err);
		goto put_disk;
	}
	strscpy(disk->disk_name, name, DISK_NAME_LEN);
	disk->major = vblk_major;
	disk->first_minor = vblk->index << VBLK_PART_BITS;
	disk->minors = 1 << VBLK_PART_BITS;
	disk->fops = &vblk_fops;
	disk->private_data = vblk;
	set_capacity(disk, capacity);
	/* virtio 1.2, 5.2.5: writes to a RO device fail; show it read-only. */
	if (vblk_has(vblk, VIRTIO_BLK_F_RO))
		set_disk_ro(disk, true);

	/* The partition scan in device_add_disk is the first request. */
	vireo_device_ready(vd);

	err = device_add_disk(&vd->dev, disk, vblk_attr_groups);
	if (err)
		goto free_index;

	dev_info(&vd->dev, "%s: %llu sectors of 512 bytes, %u-byte blocks, %u queue%s (%u polled), write %s%s\n",
		 disk->disk_name, (unsigned long long)capacity,
		 lim.logical_block_size, vblk->nr_queues,
		 vblk->nr_queues == 1 ? "" : "s", vblk->nr_poll,
		 vblk->writeback ? "back" : "through",
		 vblk_has(vblk, VIRTIO_BLK_F_RO) ? ", read-only" : "");
	return 0;

free_index:
	ida_free(&vblk_index_ida, vblk->index);
put_disk:
	put_disk(disk);
free_tags:
	blk_mq_free_tag_set(&vblk->tag_set);
del_vqs:
	mutex_lock(&vblk->lock);
	vblk_del_vqs(vblk);
	mutex_unlock(&vblk->lock);
free:
	cancel_work_sync(&vblk->abort_work);
	vd->priv = NULL;
	kfree(vblk->queues);
	mutex_destroy(&vblk->lock);
	kfree(vblk);
	return err;
}

static void vblk_remove(struct vireo_device *vd)
{
	struct vblk *vblk = vd->priv;

	/* The bus stopped config callbacks; finish the one that may run. */
	cancel_work_sync(&vblk->config_work);

	/*
	 * A device that failed, or that its transport found gone, returns
	 * nothing more: take its requests back now, or del_gendisk would wait
	 * for them for ever. A live device finishes them in del_gendisk.
	 */
	mutex_lock(&vblk->lock);
	if (vblk_broken(vblk))
		vblk_abort_all(vblk, NULL);
	mutex_unlock(&vblk->lock);

	/* Writes back what is dirty, fails new I/O, waits for the rest. */
	del_gendisk(vblk->disk);

	mutex_lock(&vblk->lock);
	vblk_del_vqs(vblk);
	vblk->vd = NULL;
	mutex_unlock(&vblk->lock);
	/* After the reset no callback can queue it again. */
	cancel_work_sync(&vblk->abort_work);
	vd->priv = NULL;

	blk_mq_free_tag_set(&vblk->tag_set);
	/* vblk lives on in vblk_free_disk() while the disk is held open. */
	put_disk(vblk->disk);
}

static int vblk_freeze(struct vireo_device *vd)
{
	struct vblk *vblk = vd->priv;
	struct request_queue *q = vblk->disk->queue;

	/*
	 * Let what is in flight finish; hold new requests until restore. The
	 * quiesce waits for every dispatch still running, so none can touch a
	 * queue freed below.
	 */
	blk_mq_freeze_queue(q);
	blk_mq_quiesce_queue(q);
	blk_mq_unfreeze_queue(q);
	flush_work(&vblk->config_work);

	mutex_lock(&vblk->lock);
	vblk->suspended = true;
	vblk_del_vqs(vblk);
	mutex_unlock(&vblk->lock);
	return 0;
}

/*
 * After the reset of a resume the device may offer less than probe sized
 * the disk for: fewer queues, shorter rings (the tag depth and the longest
 * chain were chosen from them) or fewer segments per request. Requests made
 * to the old limits would then be refused or overrun the device.
 */
static int vblk_check_resumed(struct vblk *vblk, bool queues_made)
{
	struct vireo_device *vd = vblk->vd;
	unsigned int ring = UINT_MAX, i;
	u16 nq;
	u32 v;
	int err;

	if (!queues_made) {
		if (!vblk_has(vblk, VIRTIO_BLK_F_MQ))
			return 0;
		err = vireo_cread16(vd, offsetof(struct virtio_blk_config,
						 num_queues), &nq);
		if (err)
			return err;
		if (nq >= vblk->nr_queues)
			return 0;
		dev_err(&vd->dev, "%s: the device offers %u request queues after resume, %u before\n",
			vblk->disk->disk_name, nq, vblk->nr_queues);
		return -EINVAL;
	}

	for (i = 0; i < vblk->nr_queues; i++)
		ring = min(ring, vireo_vq_size(vblk->queues[i].vq));
	if (ring < vblk->ring_size) {
		dev_err(&vd->dev, "%s: queues of %u descriptors after resume, %u before\n",
			vblk->disk->disk_name, ring, vblk->ring_size);
		return -EINVAL;
	}
	if (vblk_has(vblk, VIRTIO_BLK_F_SEG_MAX)) {
		err = vireo_cread32(vd, offsetof(struct virtio_blk_config,
						 seg_max), &v);
		if (err)
			return err;
		if (v && v < vblk->sg_elems) {
			dev_err(&vd->dev, "%s: seg_max %u after resume, %u segments used before\n",
				vblk->disk->disk_name, v, vblk->sg_elems);
			return -EINVAL;
		}
	}
	return 0;
}

static int vblk_restore(struct vireo_device *vd)
{
	struct vblk *vblk = vd->priv;
	int err;

	mutex_lock(&vblk->lock);
	err = vblk_check_resumed(vblk, false);
	if (!err)
		err = vblk_find_vqs(vblk);
	if (!err) {
		err = vblk_check_resumed(vblk, true);
		if (err)
			vblk_del_vqs(vblk);
	}
	if (!err) {
		/* The reset put the device back in its own cache mode. */
		vblk_apply_writeback(vblk);
		vireo_device_ready(vd);
		vblk->suspended = false;
	}
	mutex_unlock(&vblk->lock);

	/* On failure the bus calls vblk_restore_failed(). */
	if (!err)
		blk_mq_unquiesce_queue(vblk->disk->queue);
	return err;
}

/*
 * The resume failed: the device has no queues and will not get them back.
 * What waits in the quiesced queue, and everything after, fails with an I/O
 * error instead of waiting for a restore that never comes; remove finds the
 * disk dead and needs nothing from the device.
 */
static void vblk_restore_failed(struct vireo_device *vd, int err)
{
	struct vblk *vblk = vd->priv;

	mutex_lock(&vblk->lock);
	WRITE_ONCE(vblk->dead, true);
	vblk->suspended = false;
	mutex_unlock(&vblk->lock);
	dev_err(&vd->dev, "%s: resume failed (%d): failing its I/O\n",
		vblk->disk->disk_name, err);
	blk_mq_unquiesce_queue(vblk->disk->queue);
	blk_mq_start_stopped_hw_queues(vblk->disk->queue, true);
}

static const struct vireo_device_id vblk_ids[] = {
	{ VIRTIO_ID_BLOCK, VIREO_DEV_ANY_ID },
	{ 0 },
};

static const unsigned int vblk_features[] = {
	VIRTIO_BLK_F_SIZE_MAX,
	VIRTIO_BLK_F_SEG_MAX,
	VIRTIO_BLK_F_GEOMETRY,
	VIRTIO_BLK_F_RO,
	VIRTIO_BLK_F_BLK_SIZE,
	VIRTIO_BLK_F_FLUSH,
	VIRTIO_BLK_F_TOPOLOGY,
	VIRTIO_BLK_F_CONFIG_WCE,
	VIRTIO_BLK_F_MQ,
	VIRTIO_BLK_F_DISCARD,
	VIRTIO_BLK_F_WRITE_ZEROES,
};

static struct vireo_driver vireo_blk_driver = {
	.driver.name = "vireo_blk",
	.id_table = vblk_ids,
	.feature_table = vblk_features,
	.feature_table_size = ARRAY_SIZE(vblk_features),
	.probe = vblk_probe,
	.remove = vblk_remove,
	.config_changed = vblk_config_changed,
	.freeze = vblk_freeze,
	.restore = vblk_restore,
	.restore_failed = vblk_restore_failed,
};

static int __init vblk_init(void)
{
	int err;

	vblk_major = register_blkdev(0, "vireo_blk");
	if (vblk_major < 0)
		return vblk_major;
	err = vireo_register_driver(&vireo_blk_driver);
	if (err)
		unregister_blkdev(vblk_major, "vireo_blk");
	return err;
}

static void __exit vblk_exit(void)
{
	vireo_unregister_driver(&vireo_blk_driver);
	unregister_blkdev(vblk_major, "vireo_blk");
}

module_init(vblk_init);
module_exit(vblk_exit);

VIREO_MODULE_ALIAS_DEVICE(VIRTIO_ID_BLOCK);
VIREO_IMPORT_NS();
MODULE_DESCRIPTION("vireo virtio block device");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIREO_VERSION);
