// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio file system device (virtio 1.2, 5.11): its tag, its queues and
 * its life on the vireo bus. Mounts find a device by its tag; a device
 * removed while mounted lives on (without queues) until the last mount
 * goes, and its file system returns errors meanwhile.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <uapi/linux/virtio_fs.h>

#include "fs.h"

static LIST_HEAD(vf_devices);
static DEFINE_MUTEX(vf_devices_lock);

static void vf_dev_release(struct kref *kref)
{
	struct vf_dev *dev = container_of(kref, struct vf_dev, kref);

	vf_dev_works_stop(dev);
	mutex_destroy(&dev->dev_lock);
	kfree(dev->queues);
	kfree(dev);
}

void vf_dev_put(struct vf_dev *dev)
{
	kref_put(&dev->kref, vf_dev_release);
}

struct vf_dev *vf_dev_get_by_tag(const char *tag)
{
	struct vf_dev *dev, *found = NULL;

	mutex_lock(&vf_devices_lock);
	list_for_each_entry(dev, &vf_devices, list) {
		if (!strcmp(dev->tag, tag)) {
			kref_get(&dev->kref);
			found = dev;
			break;
		}
	}
	mutex_unlock(&vf_devices_lock);
	return found;
}

static void vf_abort_work(struct work_struct *work)
{
	struct vf_dev *dev = container_of(work, struct vf_dev, abort_work);

	mutex_lock(&dev->dev_lock);
	if (!dev->dead && dev->vd && !dev->frozen) {
		if (test_bit(0, &dev->ring_broken)) {
			/* The ring's line said why: no second one. */
			vf_abort_all(dev, -EIO);
		} else {
			dev_err(&dev->vd->dev, "%s: a request went unanswered for %u s: resetting the device; its file system fails with ENOTCONN\n",
				dev->tag, READ_ONCE(dev->waited));
			vf_abort_all(dev, -ENOTCONN);
		}
	}
	mutex_unlock(&dev->dev_lock);
}

static int vf_setup_vqs(struct vf_dev *dev)
{
	struct vireo_vq_info *info;
	struct vireo_vq **vqs;
	unsigned int i, n = dev->nr_queues + 1;
	int err = -ENOMEM;

	info = kcalloc(n, sizeof(*info), GFP_KERNEL);
	vqs = kcalloc(n, sizeof(*vqs), GFP_KERNEL);
	if (!info || !vqs)
		goto out;
	/* virtio 1.2, 5.11.2: hiprio, (notification,) request queues */
	info[0].name = dev->hiprio.name;
	info[0].callback = vf_queue_done;
	for (i = 0; i < dev->nr_queues; i++) {
		info[i + 1].name = dev->queues[i].name;
		info[i + 1].callback = vf_queue_done;
	}
	err = vireo_find_vqs(dev->vd, n, vqs, info, NULL);
	if (err)
		goto out;
	dev->hiprio.vq = vqs[0];
	vqs[0]->priv = &dev->hiprio;
	for (i = 0; i < dev->nr_queues; i++) {
		dev->queues[i].vq = vqs[i + 1];
		vqs[i + 1]->priv = &dev->queues[i];
	}
out:
	kfree(info);
	kfree(vqs);
	return err;
}

/* Reset, take every buffer back (failing it with @err), free the queues. */
static void vf_teardown_vqs(struct vf_dev *dev, int err)
{
	unsigned int i;

	if (!dev->hiprio.vq)
		return;
	vireo_reset_device(dev->vd);
	vf_reclaim_queue(&dev->hiprio, err);
	for (i = 0; i < dev->nr_queues; i++)
		vf_reclaim_queue(&dev->queues[i], err);
	vireo_del_vqs(dev->vd);
	dev->hiprio.vq = NULL;
	for (i = 0; i < dev->nr_queues; i++)
		dev->queues[i].vq = NULL;
}

static void vf_queue_init(struct vf_dev *dev, struct vf_queue *q,
			  const char *name)
{
	q->dev = dev;
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->in_flight);
	init_waitqueue_head(&q->space);
	strscpy(q->name, name, sizeof(q->name));
}

static int vf_probe(struct vireo_device *vd)
{
	struct vf_dev *dev, *other;
	u32 nq;
	int err, i;

	if (vd->config_len < offsetofend(struct virtio_fs_config,
					 num_request_queues)) {
		dev_err(&vd->dev, "config space of %u bytes has no tag and queue count\n",
			vd->config_len);
		return -EINVAL;
	}
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	kref_init(&dev->kref);
	mutex_init(&dev->dev_lock);
	spin_lock_init(&dev->state_lock);
	init_waitqueue_head(&dev->state_wq);
	INIT_WORK(&dev->abort_work, vf_abort_work);
	spin_lock_init(&dev->forget_lock);
	INIT_LIST_HEAD(&dev->forgets);
	INIT_DELAYED_WORK(&dev->forget_work, vf_forget_work);
	INIT_LIST_HEAD(&dev->orphans);
	INIT_WORK(&dev->orphan_work, vf_orphan_work);
	INIT_DELAYED_WORK(&dev->async_watch, vf_async_watch);
	INIT_LIST_HEAD(&dev->list);
	dev->vd = vd;

	/* The tag is NUL-padded, not NUL-terminated when all 36 bytes are used. */
	err = vireo_config_read(vd, offsetof(struct virtio_fs_config, tag),
				dev->tag, VF_TAG_LEN);
	if (err)
		goto free;
	dev->tag[VF_TAG_LEN] = '\0';
	if (!dev->tag[0]) {
		dev_err(&vd->dev, "the device has an empty tag: it cannot be mounted\n");
		err = -EINVAL;
		goto free;
	}
	err = vireo_cread32(vd, offsetof(struct virtio_fs_config,
					 num_request_queues), &nq);
	if (err)
		goto free;
	/* virtio 1.2, 5.11.4: num_request_queues is at least 1 */
	if (!nq) {
		dev_err(&vd->dev, "%s: the device offers no request queue\n",
			dev->tag);
		err = -EINVAL;
		goto free;
	}
	dev->nr_queues = min_t(u32, nq, min_t(u32, VF_MAX_REQ_QUEUES,
					      num_possible_cpus()));
	dev->queues = kcalloc(dev->nr_queues, sizeof(*dev->queues), GFP_KERNEL);
	if (!dev->queues) {
		err = -ENOMEM;
		goto free;
	}
	vf_queue_init(dev, &dev->hiprio, "hiprio");
	for (i = 0; i < dev->nr_queues; i++) {
		char name[24];

		snprintf(name, sizeof(name), "requests.%d", i);
		vf_queue_init(dev, &dev->queues[i], name);
	}

	mutex_lock(&vf_devices_lock);
	list_for_each_entry(other, &vf_devices, list) {
		if (!strcmp(other->tag, dev->tag)) {
			mutex_unlock(&vf_devices_lock);
			dev_err(&vd->dev, "tag '%s' is taken by another device: not used\n",
				dev->tag);
			err = -EEXIST;
			goto free;
		}
	}
	err = vf_setup_vqs(dev);
	if (err) {
		mutex_unlock(&vf_devices_lock);
		goto free;
	}
	vd->priv = dev;
	vireo_device_ready(vd);
	list_add_tail(&dev->list, &vf_devices);
	mutex_unlock(&vf_devices_lock);
	dev_info(&vd->dev, "virtio-fs tag '%s', %u request queue%s (device offers %u)\n",
		 dev->tag, dev->nr_queues, dev->nr_queues == 1 ? "" : "s", nq);
	return 0;
free:
	vf_dev_put(dev);
	return err;
}

static void vf_remove(struct vireo_device *vd)
{
	struct vf_dev *dev = vd->priv;

	mutex_lock(&vf_devices_lock);
	list_del_init(&dev->list);
	mutex_unlock(&vf_devices_lock);

	mutex_lock(&dev->dev_lock);
	if (dev->mounted)
		dev_warn(&vd->dev, "%s: removed while mounted: its file system fails with EIO until unmounted\n",
			 dev->tag);
	spin_lock_irq(&dev->state_lock);
	vf_set_dead_locked(dev, -EIO);
	dev->frozen = false;
	spin_unlock_irq(&dev->state_lock);
	vf_teardown_vqs(dev, -EIO);
	mutex_unlock(&dev->dev_lock);
	wake_up_all(&dev->state_wq);
	/* Dead: the watch does not come again, nor schedule an abort. */
	cancel_delayed_work_sync(&dev->async_watch);
	cancel_work_sync(&dev->abort_work);

	mutex_lock(&dev->dev_lock);
	dev->vd = NULL;
	mutex_unlock(&dev->dev_lock);
	vd->priv = NULL;
	vf_dev_put(dev);
}

/*
 * Suspend with a mount: new requests wait, those in flight are let finish
 * (bounded by abort_timeout), then the queues go. The session survives:
 * the daemon kept its state across the vhost-user reconnect-free reset.
 */
static int vf_freeze(struct vireo_device *vd)
{
	struct vf_dev *dev = vd->priv;
	unsigned int limit = vireo_abort_timeout();
	unsigned int i;

	spin_lock_irq(&dev->state_lock);
	dev->frozen = true;
	spin_unlock_irq(&dev->state_lock);
	/*
	 * A submitter checks frozen under its queue's lock: once each lock was
	 * taken here, every request is either counted in in_flight or waits.
	 */
	spin_lock_irq(&dev->hiprio.lock);
	spin_unlock_irq(&dev->hiprio.lock);
	for (i = 0; i < dev->nr_queues; i++) {
		spin_lock_irq(&dev->queues[i].lock);
		spin_unlock_irq(&dev->queues[i].lock);
	}
	if (!wait_event_timeout(dev->state_wq, !atomic_read(&dev->in_flight),
				(limit ? limit : 60) * HZ))
		dev_warn(&vd->dev, "%s: %d requests still outstanding at suspend: failing them\n",
			 dev->tag, atomic_read(&dev->in_flight));
	mutex_lock(&dev->dev_lock);
	vf_teardown_vqs(dev, -EIO);
	mutex_unlock(&dev->dev_lock);
	return 0;
}

static int vf_restore(struct vireo_device *vd)
{
	struct vf_dev *dev = vd->priv;
	int err;

	mutex_lock(&dev->dev_lock);
	err = vf_setup_vqs(dev);
	if (!err)
		vireo_device_ready(vd);
	mutex_unlock(&dev->dev_lock);
	if (err)
		return err;
	spin_lock_irq(&dev->state_lock);
	dev->frozen = false;
	spin_unlock_irq(&dev->state_lock);
	wake_up_all(&dev->state_wq);
	/* Forgets queued while suspended go out now. */
	schedule_delayed_work(&dev->forget_work, 0);
	return 0;
}

static void vf_restore_failed(struct vireo_device *vd, int err)
{
	struct vf_dev *dev = vd->priv;

	dev_err(&vd->dev, "%s: resume failed (%d): its file system fails with EIO\n",
		dev->tag, err);
	spin_lock_irq(&dev->state_lock);
	vf_set_dead_locked(dev, -EIO);
	dev->frozen = false;
	spin_unlock_irq(&dev->state_lock);
	wake_up_all(&dev->state_wq);
}

/*
 * tag: what `mount -t vireofs TAG DIR` takes, for /sbin/mount.virtiofs to
 * tell a vireo device from an in-tree one. Only while vireo_fs drives the
 * device (the driver core adds it after probe and removes it before remove).
 */
static ssize_t tag_show(struct device *d, struct device_attribute *attr,
			char *buf)
{
	struct vf_dev *dev = to_vireo_device(d)->priv;

	return sysfs_emit(buf, "%s\n", dev->tag);
}
static DEVICE_ATTR_RO(tag);

static struct attribute *vf_attrs[] = {
	&dev_attr_tag.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vf);

static const struct vireo_device_id vf_ids[] = {
	{ VIRTIO_ID_FS, VIREO_DEV_ANY_ID },
	{ 0 },
};

static struct vireo_driver vireo_fs_driver = {
	.driver.name = "vireo_fs",
	.driver.dev_groups = vf_groups,
	.id_table = vf_ids,
	.probe = vf_probe,
	.remove = vf_remove,
	.freeze = vf_freeze,
	.restore = vf_restore,
	.restore_failed = vf_restore_failed,
};

int vf_register_driver(void)
{
	return vireo_register_driver(&vireo_fs_driver);
}

void vf_unregister_driver(void)
{
	vireo_unregister_driver(&vireo_fs_driver);
}
