// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_balloon: the virtio memory balloon (virtio 1.2, 5.5).
 *
 * The host sets a target (num_pages, in 4 KiB pages); the driver inflates
 * (takes guest pages and gives them to the host) or deflates towards it and
 * writes back what it holds (actual). Optional: memory statistics, deflate
 * on OOM, free page reporting and page poisoning (docs/balloon.md).
 *
 * This file: probe and remove, suspend and resume, config changes, the
 * module.
 */
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "balloon.h"

static void vballoon_ack(struct vireo_vq *vq)
{
	struct vballoon *vb = vq->vdev->priv;

	wake_up_all(&vb->acked);
}

static void vballoon_stats_request(struct vireo_vq *vq)
{
	struct vballoon *vb = vq->vdev->priv;
	unsigned long flags;

	spin_lock_irqsave(&vb->stop_lock, flags);
	if (!vb->stop)
		queue_work(system_freezable_wq, &vb->stats_work);
	spin_unlock_irqrestore(&vb->stop_lock, flags);
}

/* A hint buffer came back, or the host wrote a new command id. */
static void vballoon_queue_hint_work(struct vballoon *vb)
{
	unsigned long flags;

	spin_lock_irqsave(&vb->stop_lock, flags);
	if (!vb->stop && vb->hint_vq)
		queue_work(system_freezable_wq, &vb->hint_work);
	spin_unlock_irqrestore(&vb->stop_lock, flags);
}

static void vballoon_hint_done(struct vireo_vq *vq)
{
	struct vballoon *vb = vq->vdev->priv;

	wake_up_all(&vb->acked);
	vballoon_queue_hint_work(vb);
}

/* IRQ context, under the bus's config lock: the workers do the rest. */
static void vballoon_config_changed(struct vireo_device *vd)
{
	struct vballoon *vb = vd->priv;

	vballoon_queue_size_work(vb, 0);
	WRITE_ONCE(vb->hint_changed, true);
	vballoon_queue_hint_work(vb);
}

/*
 * Queues are numbered in order of the features that add them (virtio 1.2,
 * 5.5.2): inflateq, deflateq, then statsq, free_page_vq and reporting_vq
 * where negotiated, with no gaps.
 */
static int vballoon_find_vqs(struct vballoon *vb)
{
	struct vireo_vq_info info[5] = {
		{ .name = "inflate", .callback = vballoon_ack },
		{ .name = "deflate", .callback = vballoon_ack },
	};
	struct vireo_vq *vqs[5] = {};
	unsigned int n = 2, stats = 0, hint = 0, report = 0;
	int err;

	if (vireo_has_feature(vb->vd, VIRTIO_BALLOON_F_STATS_VQ)) {
		stats = n++;
		info[stats].name = "stats";
		info[stats].callback = vballoon_stats_request;
	}
	if (vireo_has_feature(vb->vd, VIRTIO_BALLOON_F_FREE_PAGE_HINT)) {
		hint = n++;
		info[hint].name = "free_page";
		info[hint].callback = vballoon_hint_done;
	}
	if (vireo_has_feature(vb->vd, VIRTIO_BALLOON_F_REPORTING)) {
		report = n++;
		info[report].name = "reporting";
		info[report].callback = vballoon_ack;
	}
	err = vireo_find_vqs(vb->vd, n, vqs, info, NULL);
	if (err)
		return err;
	mutex_lock(&vb->lock);
	vb->inflate_vq = vqs[0];
	vb->deflate_vq = vqs[1];
	vb->stats_vq = stats ? vqs[stats] : NULL;
	vb->hint_vq = hint ? vqs[hint] : NULL;
	vb->report_vq = report ? vqs[report] : NULL;
	mutex_unlock(&vb->lock);
	return 0;
}

/* Resets the device, takes back what it holds and frees the queues. */
static void vballoon_del_vqs(struct vballoon *vb)
{
	struct vireo_vq *vqs[4];
	unsigned int i;

	vireo_reset_device(vb->vd);
	/* Hinted pages, in the queue or held: the device has none now. */
	if (vb->hint_vq)
		vballoon_hint_drain(vb);
	mutex_lock(&vb->lock);
	vqs[0] = vb->inflate_vq;
	vqs[1] = vb->deflate_vq;
	vqs[2] = vb->stats_vq;
	vqs[3] = vb->report_vq;
	vb->inflate_vq = NULL;
	vb->deflate_vq = NULL;
	vb->stats_vq = NULL;
	vb->hint_vq = NULL;
	vb->report_vq = NULL;
	mutex_unlock(&vb->lock);
	if (!vqs[0])
		return;
	for (i = 0; i < ARRAY_SIZE(vqs); i++)
		while (vqs[i] && vireo_vq_detach_unused(vqs[i]))
			;
	vireo_del_vqs(vb->vd);
}

/*
 * VIRTIO_BALLOON_F_PAGE_POISON (virtio 1.2, 5.5.6.6): free pages hold a
 * pattern the kernel checks; the device is told it, so that it keeps it
 * in pages it gives back (QEMU then does not drop reported pages).
 */
static void vballoon_write_poison(struct vballoon *vb)
{
	u32 val = 0;

	if (!vireo_has_feature(vb->vd, VIRTIO_BALLOON_F_PAGE_POISON))
		return;
	/* init_on_free zeroes freed pages: 0 is the pattern then. */
	if (!want_init_on_free())
		memset(&val, PAGE_POISON, sizeof(val));
	vireo_config_write(vb->vd, offsetof(struct virtio_balloon_config,
					    poison_val), &val, sizeof(val));
}

/* Queues, DRIVER_OK, the stats buffer, reporting: probe and restore. */
static int vballoon_start(struct vballoon *vb)
{
	unsigned long flags;
	int err;

	err = vballoon_find_vqs(vb);
	if (err)
		return err;
	vballoon_write_poison(vb);
	vireo_device_ready(vb->vd);
	err = vballoon_stats_start(vb);
	if (err)
		goto del_vqs;
	/* Without it the balloon still works; it said why. */
	vballoon_reporting_register(vb);

	spin_lock_irqsave(&vb->stop_lock, flags);
	vb->stop = false;
	spin_unlock_irqrestore(&vb->stop_lock, flags);
	vballoon_write_actual(vb);
	vballoon_queue_size_work(vb, 0);
	return 0;

del_vqs:
	vballoon_del_vqs(vb);
	return err;
}

/* No more work: config changes and stats requests are ignored from now. */
static void vballoon_stop(struct vballoon *vb)
{
	spin_lock_irq(&vb->stop_lock);
	vb->stop = true;
	spin_unlock_irq(&vb->stop_lock);
	cancel_delayed_work_sync(&vb->size_work);
	cancel_work_sync(&vb->stats_work);
	cancel_work_sync(&vb->hint_work);
}

/*
 * The balloon's pages go back to the guest, the host hears of it (unless
 * the device is gone), then the device is reset and its queues freed.
 */
static void vballoon_empty_and_stop_device(struct vballoon *vb)
{
	vballoon_reporting_unregister(vb);
	vballoon_release_all(vb);
	if (!READ_ONCE(vb->dead))
		vballoon_write_actual(vb);
	vballoon_del_vqs(vb);
}

static int vballoon_validate(struct vireo_device *vd)
{
	/*
	 * The host can keep the poison pattern only if told it; a guest that
	 * checks free pages (page_poison=1) cannot let the host drop reported
	 * ones otherwise. Without poisoning the bit means nothing.
	 */
	if (!want_init_on_free() && !page_poisoning_enabled_static())
		vireo_features_clear(&vd->features, VIRTIO_BALLOON_F_PAGE_POISON);
	else if (!vireo_has_feature(vd, VIRTIO_BALLOON_F_PAGE_POISON))
		vireo_features_clear(&vd->features, VIRTIO_BALLOON_F_REPORTING);
	/*
	 * PFNs and reported pages are guest-physical whatever the platform's
	 * DMA translation; and no indirect tables, so that a report or a
	 * deflate under memory pressure allocates nothing.
	 */
	vireo_features_clear(&vd->features, VIRTIO_RING_F_INDIRECT_DESC);
	vireo_features_clear(&vd->features, VIRTIO_F_ACCESS_PLATFORM);
	return 0;
}

static int vballoon_probe(struct vireo_device *vd)
{
	struct vballoon *vb;
	int err;

	vb = kzalloc(sizeof(*vb), GFP_KERNEL);
	if (!vb)
		return -ENOMEM;
	vb->vd = vd;
	vb->deflate_on_oom = vireo_has_feature(vd, VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	mutex_init(&vb->lock);
	spin_lock_init(&vb->stop_lock);
	spin_lock_init(&vb->stats_lock);
	init_waitqueue_head(&vb->acked);
	INIT_DELAYED_WORK(&vb->size_work, vballoon_size_work);
	INIT_WORK(&vb->stats_work, vballoon_stats_work);
	INIT_WORK(&vb->hint_work, vballoon_hint_work);
	spin_lock_init(&vb->hint_lock);
	INIT_LIST_HEAD(&vb->hint_pages);
	balloon_devinfo_init(&vb->bdi);
#ifdef CONFIG_BALLOON_COMPACTION
	vb->bdi.migratepage = vballoon_migratepage;
#endif
	/* Nothing is queued before vballoon_start() clears it. */
	vb->stop = true;
	vd->priv = vb;

	err = vballoon_oom_register(vb);
	if (err)
		goto free;
	err = vballoon_start(vb);
	if (err)
		goto oom;
	vballoon_debugfs_init(vb);
	dev_info(&vd->dev, "balloon:%s%s%s%s%s%s\n",
		 vb->stats_vq ? " stats" : "",
		 vb->hint_vq ? " free-page-hint" : "",
		 vb->deflate_on_oom ? " deflate-on-oom" : "",
		 vb->reporting_registered ? " free-page-reporting" : "",
		 vireo_has_feature(vd, VIRTIO_BALLOON_F_PAGE_POISON) ? " page-poison" : "",
		 vireo_has_feature(vd, VIRTIO_BALLOON_F_MUST_TELL_HOST) ? " must-tell-host" : "");
	return 0;

oom:
	vballoon_oom_unregister(vb);
free:
	vd->priv = NULL;
	mutex_destroy(&vb->lock);
	kfree(vb);
	return err;
}

static void vballoon_remove(struct vireo_device *vd)
{
	struct vballoon *vb = vd->priv;

	vballoon_stop(vb);
	vballoon_debugfs_exit(vb);
	vballoon_oom_unregister(vb);
	vballoon_empty_and_stop_device(vb);
	vd->priv = NULL;
	mutex_destroy(&vb->lock);
	kfree(vb);
}

/*
 * The guest's memory image must hold every page it has: the balloon is
 * emptied before a suspend (the host is told) and filled again after it.
 */
static int vballoon_freeze(struct vireo_device *vd)
{
	struct vballoon *vb = vd->priv;

	vballoon_stop(vb);
	vballoon_empty_and_stop_device(vb);
	return 0;
}

static int vballoon_restore(struct vireo_device *vd)
{
	struct vballoon *vb = vd->priv;

	return vballoon_start(vb);
}

/* No queues and none to come; the balloon is empty (freeze emptied it). */
static void vballoon_restore_failed(struct vireo_device *vd, int err)
{
	struct vballoon *vb = vd->priv;

	WRITE_ONCE(vb->dead, true);
	dev_err(&vd->dev, "resume failed (%d): the balloon stays empty\n", err);
}

static const struct vireo_device_id vballoon_ids[] = {
	{ VIRTIO_ID_BALLOON, VIREO_DEV_ANY_ID },
	{ 0 },
};

static const unsigned int vballoon_features[] = {
	VIRTIO_BALLOON_F_MUST_TELL_HOST,
	VIRTIO_BALLOON_F_STATS_VQ,
	VIRTIO_BALLOON_F_DEFLATE_ON_OOM,
	VIRTIO_BALLOON_F_FREE_PAGE_HINT,
	VIRTIO_BALLOON_F_PAGE_POISON,
	VIRTIO_BALLOON_F_REPORTING,
};

static struct vireo_driver vireo_balloon_driver = {
	.driver.name = "vireo_balloon",
	.id_table = vballoon_ids,
	.feature_table = vballoon_features,
	.feature_table_size = ARRAY_SIZE(vballoon_features),
	.validate = vballoon_validate,
	.probe = vballoon_probe,
	.remove = vballoon_remove,
	.config_changed = vballoon_config_changed,
	.freeze = vballoon_freeze,
	.restore = vballoon_restore,
	.restore_failed = vballoon_restore_failed,
};
module_vireo_driver(vireo_balloon_driver);

VIREO_MODULE_ALIAS_DEVICE(VIRTIO_ID_BALLOON);
VIREO_IMPORT_NS();
MODULE_DESCRIPTION("vireo virtio memory balloon");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIREO_VERSION);
