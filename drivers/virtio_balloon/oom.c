// SPDX-License-Identifier: GPL-2.0
/*
 * VIRTIO_BALLOON_F_DEFLATE_ON_OOM (virtio 1.2, 5.5.6.1): the host lets the
 * guest take pages back rather than kill a process. The kernel calls the
 * OOM notifiers before it picks a victim; each call gives back one batch
 * (1 MiB), and if that is enough for the allocation no process dies. The
 * worker inflates again later only as far as allocations succeed.
 */
#include <linux/oom.h>

#include "balloon.h"

/* Before other OOM notifiers that free less cheaply (the in-tree value). */
#define VBALLOON_OOM_PRIORITY	80

static int vballoon_oom_notify(struct notifier_block *nb, unsigned long unused,
			       void *parm)
{
	struct vballoon *vb = container_of(nb, struct vballoon, oom_nb);
	unsigned long *freed = parm, held;
	unsigned int n;

	/* Pages held for free page hinting go first: the host lent nothing. */
	held = vballoon_hint_release(vb);
	if (held) {
		*freed += held / VBALLOON_PER_PAGE;
		dev_info_ratelimited(&vb->vd->dev, "out of memory: gave %lu KiB held for free page hints back\n",
				     held * 4);
		return NOTIFY_OK;
	}
	if (!vb->deflate_on_oom)
		return NOTIFY_OK;
	n = vballoon_deflate(vb, VBALLOON_OOM_PAGES);
	if (!n)
		return NOTIFY_OK;
	vballoon_write_actual(vb);
	WRITE_ONCE(vb->oom_freed, vb->oom_freed + n);
	*freed += n / VBALLOON_PER_PAGE;
	dev_info_ratelimited(&vb->vd->dev, "out of memory: gave %u KiB back to the guest\n",
			     n * 4);
	return NOTIFY_OK;
}

int vballoon_oom_register(struct vballoon *vb)
{
	int err;

	if (!vb->deflate_on_oom &&
	    !vireo_has_feature(vb->vd, VIRTIO_BALLOON_F_FREE_PAGE_HINT))
		return 0;
	vb->oom_nb.notifier_call = vballoon_oom_notify;
	vb->oom_nb.priority = VBALLOON_OOM_PRIORITY;
	err = register_oom_notifier(&vb->oom_nb);
	if (err) {
		dev_err(&vb->vd->dev, "cannot register the OOM notifier: %d\n", err);
		return err;
	}
	vb->oom_registered = true;
	return 0;
}

void vballoon_oom_unregister(struct vballoon *vb)
{
	if (vb->oom_registered)
		unregister_oom_notifier(&vb->oom_nb);
	vb->oom_registered = false;
}
