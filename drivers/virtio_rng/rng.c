// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_rng: the virtio entropy device (virtio 1.2, 5.4) as an hwrng.
 *
 * The device fills driver-supplied buffers with random bytes. Several large
 * buffers stay posted at all times, so that while a reader drains one the
 * device is already filling the next: a reader waits for the device only
 * when it reads faster than the host produces.
 */
#include <linux/debugfs.h>
#include <linux/hw_random.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <vireo/virtio.h>

#define RNG_BUFS	4
#define RNG_BUF_SIZE	PAGE_SIZE

struct rng_buf {
	u8 *data;
	unsigned int len;	/* bytes the device wrote */
	unsigned int pos;	/* bytes already handed out */
	bool posted;		/* the device owns it */
};

struct vireo_rng {
	struct hwrng hwrng;
	struct vireo_device *vd;
	struct vireo_vq *vq;

	spinlock_t lock;	/* vq, bufs, flags; taken in the vq callback */
	wait_queue_head_t wq;	/* readers waiting for bytes */
	struct rng_buf bufs[RNG_BUFS];
	bool gone;		/* removed or broken: readers get errors */
	bool failed;		/* ... because the device failed: -EIO */
	/* Between freeze and restore (no queue), or in a queue reset. */
	bool suspended;
	bool registered;
	/* Serialises resets and queue teardown (freeze, remove, abort). */
	struct mutex dev_lock;
	struct work_struct abort_work;	/* the device stopped answering */
	unsigned int waited;		/* ... for this many seconds */
	struct dentry *debugfs;		/* reset_queue */
	unsigned int recycled;		/* by the last queue reset */

	int index;
	char name[24];
};

static DEFINE_IDA(rng_index_ida);

/* Posts @b; returns whether the device must be notified. Under vi->lock. */
static bool post_buf(struct vireo_rng *vi, struct rng_buf *b)
{
	struct scatterlist sg;
	int err;

	sg_init_one(&sg, b->data, RNG_BUF_SIZE);
	err = vireo_vq_add_inbuf(vi->vq, &sg, 1, b, GFP_ATOMIC);
	if (err == -ENOSPC) {
		/* A queue smaller than RNG_BUFS: this one waits its turn. */
		return false;
	}
	if (err) {
		dev_err_ratelimited(&vi->vd->dev,
				    "cannot post entropy buffer: %d\n", err);
		vi->gone = true;
		wake_up_all(&vi->wq);
		return false;
	}
	b->posted = true;
	b->len = 0;
	b->pos = 0;
	return vireo_vq_kick_prepare(vi->vq);
}

static void rng_done(struct vireo_vq *vq)
{
	struct vireo_rng *vi = vq->vdev->priv;
	struct rng_buf *b;
	unsigned long flags;
	unsigned int len;

	spin_lock_irqsave(&vi->lock, flags);
	while ((b = vireo_vq_get_buf(vq, &len))) {
		b->posted = false;
		b->len = len;
		b->pos = 0;
	}
	if (vireo_vq_is_broken(vq) && !vi->gone) {
		vi->gone = true;
		vi->failed = true;
	}
	spin_unlock_irqrestore(&vi->lock, flags);
	wake_up_all(&vi->wq);
}

/*
 * A filled buffer with bytes left, or NULL. A buffer the device returned
 * empty is posted again straight away. Under vi->lock.
 */
static struct rng_buf *filled_buf(struct vireo_rng *vi, bool *kick)
{
	struct rng_buf *b;
	int i;

	for (i = 0; i < RNG_BUFS; i++) {
		b = &vi->bufs[i];
		if (b->posted)
			continue;
		if (b->pos < b->len)
			return b;
		if (!vi->suspended && !vi->gone)
			*kick |= post_buf(vi, b);
	}
	return NULL;
}

/*
 * Notifies under vi->lock: freeze and remove take the queue away under the
 * same lock, so a reader can never notify a queue that is gone. (The cost,
 * one doorbell write with the lock held, is nothing next to the exit the
 * write causes.)
 */
static void notify_locked(struct vireo_rng *vi, bool kick)
{
	if (kick && !vi->suspended && !vi->gone)
		vireo_vq_notify(vi->vq);
}

static bool can_read(struct vireo_rng *vi)
{
	bool kick = false, ready;
	unsigned long flags;

	spin_lock_irqsave(&vi->lock, flags);
	ready = vi->gone || filled_buf(vi, &kick);
	notify_locked(vi, kick);
	spin_unlock_irqrestore(&vi->lock, flags);
	return ready;
}

/* Readers get errors from now on: -EIO if @failed, -ENODEV if removed. */
static void fail_readers(struct vireo_rng *vi, bool failed)
{
	spin_lock_irq(&vi->lock);
	if (!vi->gone)
		vi->failed = failed;
	vi->gone = true;
	spin_unlock_irq(&vi->lock);
	wake_up_all(&vi->wq);
}

/* The device holds buffers and returned none for a whole wait. */
static bool stalled(struct vireo_rng *vi)
{
	bool posted = false;
	int i;

	spin_lock_irq(&vi->lock);
	for (i = 0; i < RNG_BUFS; i++)
		posted |= vi->bufs[i].posted;
	posted &= !vi->suspended && !vi->gone;
	spin_unlock_irq(&vi->lock);
	return posted;
}

static int rng_read(struct hwrng *rng, void *data, size_t max, bool wait)
{
	struct vireo_rng *vi = container_of(rng, struct vireo_rng, hwrng);
	size_t copied = 0;
	struct rng_buf *b;
	unsigned int n, limit;
	long left, timeout;
	bool kick;
	int err;

	for (;;) {
		kick = false;
		spin_lock_irq(&vi->lock);
		while (copied < max && !vi->gone &&
		       (b = filled_buf(vi, &kick))) {
			n = min_t(size_t, max - copied, b->len - b->pos);
			memcpy(data + copied, b->data + b->pos, n);
			b->pos += n;
			copied += n;
			if (b->pos == b->len && !vi->suspended)
				kick |= post_buf(vi, b);
		}
		err = vi->gone ? (vi->failed ? -EIO : -ENODEV) : 0;
		notify_locked(vi, kick);
		spin_unlock_irq(&vi->lock);

		if (copied || !wait)
			return copied;
		if (err)
			return err;
		/*
		 * Nothing yet: sleep until the device returns a buffer, for at
		 * most vireo_ring's abort_timeout (0: for ever).
		 */
		limit = vireo_abort_timeout();
		timeout = limit ? limit * HZ : MAX_SCHEDULE_TIMEOUT;
		left = wait_event_interruptible_timeout(vi->wq, can_read(vi),
							timeout);
		if (left < 0)
			return left;
		if (!left && stalled(vi)) {
			WRITE_ONCE(vi->waited, limit);
			fail_readers(vi, true);
			schedule_work(&vi->abort_work);
		}
	}
}

static int rng_setup_vq(struct vireo_rng *vi)
{
	struct vireo_vq_info info = { .name = "input", .callback = rng_done };
	struct vireo_vq *vq;
	bool kick = false;
	int err, i;

	err = vireo_find_vqs(vi->vd, 1, &vq, &info, NULL);
	if (err)
		return err;
	vireo_device_ready(vi->vd);

	spin_lock_irq(&vi->lock);
	vi->vq = vq;
	vi->suspended = false;
	for (i = 0; i < RNG_BUFS; i++)
		if (vi->bufs[i].pos == vi->bufs[i].len)
			kick |= post_buf(vi, &vi->bufs[i]);
	notify_locked(vi, kick);
	spin_unlock_irq(&vi->lock);
	wake_up_all(&vi->wq);
	return 0;
}

/*
 * Stops the device and takes back every buffer, then frees the queue (if
 * there is one: a failed resume left none). @discard drops unread bytes too.
 * Under vi->dev_lock.
 */
static void rng_teardown_vq(struct vireo_rng *vi, bool discard)
{
	struct vireo_vq *vq;
	int i;

	vireo_reset_device(vi->vd);
	spin_lock_irq(&vi->lock);
	vq = vi->vq;
	vi->vq = NULL;
	for (i = 0; i < RNG_BUFS; i++) {
		vi->bufs[i].posted = false;
		if (discard) {
			memzero_explicit(vi->bufs[i].data, RNG_BUF_SIZE);
			vi->bufs[i].len = 0;
			vi->bufs[i].pos = 0;
		}
	}
	spin_unlock_irq(&vi->lock);
	if (!vq)
		return;
	while (vireo_vq_detach_unused(vq))
		;
	vireo_del_vqs(vi->vd);
}

/*
 * A reader waited abort_timeout for a device that holds buffers: reset it,
 * so that it stops writing into them; readers already get -EIO. Its queue
 * stays until remove (or freeze) frees it.
 */
static void rng_abort_work(struct work_struct *work)
{
	struct vireo_rng *vi = container_of(work, struct vireo_rng, abort_work);

	mutex_lock(&vi->dev_lock);
	if (vi->vq && !vi->suspended) {
		dev_err(&vi->vd->dev, "%s: the device returned nothing for %u s: resetting it; readers get errors\n",
			vi->name, READ_ONCE(vi->waited));
		vireo_reset_device(vi->vd);
	}
	mutex_unlock(&vi->dev_lock);
}

/* A buffer the queue reset took back: empty, ours again. */
static void rng_recycle(struct vireo_vq *vq, void *data, void *ctx)
{
	struct vireo_rng *vi = vq->vdev->priv;
	struct rng_buf *b = data;

	spin_lock_irq(&vi->lock);
	b->posted = false;
	b->len = 0;
	b->pos = 0;
	vi->recycled++;
	spin_unlock_irq(&vi->lock);
}

/*
 * Resets the queue (@num 0) or resizes it to @num, while readers may be
 * waiting: they post and notify nothing while it runs (vi->suspended, which
 * they check under vi->lock), so the ring's rule that nothing else touches
 * the queue holds; the buffers come back through rng_recycle() and are
 * posted again on the new ring.
 */
static int rng_reset_queue(struct vireo_rng *vi, unsigned int num)
{
	unsigned int lost = 0, size;
	bool kick = false;
	int err, i;

	mutex_lock(&vi->dev_lock);
	if (!vi->vq || vi->suspended || vi->gone) {
		err = -ENODEV;
		goto out;
	}
	if (!vireo_vq_can_reset(vi->vq)) {
		err = -EOPNOTSUPP;
		goto out;
	}
	spin_lock_irq(&vi->lock);
	vi->suspended = true;
	vi->recycled = 0;
	spin_unlock_irq(&vi->lock);

	err = num ? vireo_vq_resize(vi->vq, num, rng_recycle) :
		vireo_vq_reset(vi->vq, rng_recycle);
	size = vireo_vq_size(vi->vq);

	spin_lock_irq(&vi->lock);
	vi->suspended = false;
	/* Each buffer the device held came back: recycled, or used before. */
	for (i = 0; i < RNG_BUFS; i++)
		lost += vi->bufs[i].posted;
	if (vireo_vq_is_broken(vi->vq)) {
		vi->gone = true;
		vi->failed = true;
	} else {
		for (i = 0; i < RNG_BUFS; i++)
			if (!vi->bufs[i].posted &&
			    vi->bufs[i].pos == vi->bufs[i].len)
				kick |= post_buf(vi, &vi->bufs[i]);
		notify_locked(vi, kick);
	}
	spin_unlock_irq(&vi->lock);
	wake_up_all(&vi->wq);
	dev_info(&vi->vd->dev, "%s: queue reset (%d): %u buffers recycled, %u not given back, ring size %u\n",
		 vi->name, err, vi->recycled, lost, size);
	/* -ENOMEM and a refused size keep a working queue: still an error. */
out:
	mutex_unlock(&vi->dev_lock);
	return err;
}

/*
 * /sys/kernel/debug/vireo/vireoN/reset_queue: write 0 to reset the queue,
 * N to resize it to N descriptors (docs/virtqueues.md).
 */
static ssize_t rng_reset_queue_write(struct file *file, const char __user *ubuf,
				     size_t count, loff_t *ppos)
{
	struct vireo_rng *vi = file->private_data;
	unsigned int num;
	int err;

	err = kstrtouint_from_user(ubuf, count, 0, &num);
	if (err)
		return err;
	err = rng_reset_queue(vi, num);
	return err ? err : count;
}

static const struct file_operations rng_reset_queue_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = rng_reset_queue_write,
	.llseek = noop_llseek,
};

static void rng_free(struct vireo_rng *vi)
{
	int i;

	for (i = 0; i < RNG_BUFS; i++)
		kfree(vi->bufs[i].data);
	ida_free(&rng_index_ida, vi->index);
	kfree(vi);
}

static int rng_probe(struct vireo_device *vd)
{
	struct vireo_rng *vi;
	int err, i;

	vi = kzalloc(sizeof(*vi), GFP_KERNEL);
	if (!vi)
		return -ENOMEM;
	vi->vd = vd;
	spin_lock_init(&vi->lock);
	init_waitqueue_head(&vi->wq);
	mutex_init(&vi->dev_lock);
	INIT_WORK(&vi->abort_work, rng_abort_work);

	vi->index = ida_alloc(&rng_index_ida, GFP_KERNEL);
	if (vi->index < 0) {
		err = vi->index;
		kfree(vi);
		return err;
	}
	for (i = 0; i < RNG_BUFS; i++) {
		vi->bufs[i].data = kmalloc(RNG_BUF_SIZE, GFP_KERNEL);
		if (!vi->bufs[i].data) {
			err = -ENOMEM;
			goto free;
		}
	}
	snprintf(vi->name, sizeof(vi->name), "vireo_rng.%d", vi->index);
	vi->hwrng.name = vi->name;
	vi->hwrng.read = rng_read;
	vd->priv = vi;

	err = rng_setup_vq(vi);
	if (err)
		goto free;

	/* The hwrng core may read at once: the device is ready by now. */
	err = hwrng_register(&vi->hwrng);
	if (err) {
		dev_err(&vd->dev, "cannot register hwrng %s: %d\n",
			vi->name, err);
		goto teardown;
	}
	vi->registered = true;
	if (!IS_ERR_OR_NULL(vd->debugfs))
		vi->debugfs = debugfs_create_file("reset_queue", 0200,
						  vd->debugfs, vi,
						  &rng_reset_queue_fops);
	dev_info(&vd->dev, "hwrng %s\n", vi->name);
	return 0;

teardown:
	rng_teardown_vq(vi, true);
free:
	vd->priv = NULL;
	rng_free(vi);
	return err;
}

static void rng_remove(struct vireo_device *vd)
{
	struct vireo_rng *vi = vd->priv;

	/* Waits for a reset through it to finish. */
	debugfs_remove(vi->debugfs);
	/* Blocked readers return -ENODEV, so unregistering cannot wait on them. */
	fail_readers(vi, false);
	if (vi->registered)
		hwrng_unregister(&vi->hwrng);
	cancel_work_sync(&vi->abort_work);
	mutex_lock(&vi->dev_lock);
	rng_teardown_vq(vi, true);
	mutex_unlock(&vi->dev_lock);
	vd->priv = NULL;
	mutex_destroy(&vi->dev_lock);
	rng_free(vi);
}

/*
 * Bytes the device gave before a freeze are dropped: a hibernation image
 * resumed twice would hand the same "random" bytes out twice.
 */
static int rng_freeze(struct vireo_device *vd)
{
	struct vireo_rng *vi = vd->priv;

	spin_lock_irq(&vi->lock);
	vi->suspended = true;
	spin_unlock_irq(&vi->lock);
	mutex_lock(&vi->dev_lock);
	rng_teardown_vq(vi, true);
	mutex_unlock(&vi->dev_lock);
	return 0;
}

static int rng_restore(struct vireo_device *vd)
{
	struct vireo_rng *vi = vd->priv;
	int err;

	mutex_lock(&vi->dev_lock);
	err = rng_setup_vq(vi);
	mutex_unlock(&vi->dev_lock);
	return err;
}

/* No queue and none to come: readers get -EIO; remove frees no queue. */
static void rng_restore_failed(struct vireo_device *vd, int err)
{
	struct vireo_rng *vi = vd->priv;

	dev_err(&vd->dev, "%s: resume failed (%d): readers get errors\n",
		vi->name, err);
	fail_readers(vi, true);
}

static const struct vireo_device_id rng_ids[] = {
	{ VIRTIO_ID_RNG, VIREO_DEV_ANY_ID },
	{ 0 },
};

static struct vireo_driver vireo_rng_driver = {
	.driver.name = "vireo_rng",
	.id_table = rng_ids,
	.probe = rng_probe,
	.remove = rng_remove,
	.freeze = rng_freeze,
	.restore = rng_restore,
	.restore_failed = rng_restore_failed,
};
module_vireo_driver(vireo_rng_driver);

VIREO_MODULE_ALIAS_DEVICE(VIRTIO_ID_RNG);
VIREO_IMPORT_NS();
MODULE_DESCRIPTION("vireo virtio entropy device");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIREO_VERSION);
