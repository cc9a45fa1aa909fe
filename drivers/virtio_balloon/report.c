// SPDX-License-Identifier: GPL-2.0
/*
 * Free page reporting (VIRTIO_BALLOON_F_REPORTING, virtio 1.2, 5.5.6.7):
 * the kernel's page reporting core hands over runs of free pages (a page
 * block, 2 MiB on x86, at least) and the host may drop their backing. The
 * pages stay the guest's: it may allocate them again at once, and the host
 * then gives it zeroed memory, which is why reporting is only done when the
 * guest does not rely on free pages' contents (validate in main.c: page
 * poisoning without VIRTIO_BALLOON_F_PAGE_POISON turns it off).
 */
#include "balloon.h"

static int vballoon_report(struct page_reporting_dev_info *prdev,
			   struct scatterlist *sg, unsigned int nents)
{
	struct vballoon *vb = container_of(prdev, struct vballoon, prdev);
	struct scatterlist *s;
	unsigned int i;
	u64 bytes = 0;
	int err;

	/* Device-writable: the host may change what the pages hold. */
	err = vballoon_tell_host(vb, vb->report_vq, sg, nents, false);
	if (err)
		return err;
	for_each_sg(sg, s, nents, i)
		bytes += s->length;
	WRITE_ONCE(vb->reported, vb->reported + (bytes >> VBALLOON_PFN_SHIFT));
	return 0;
}

int vballoon_reporting_register(struct vballoon *vb)
{
	int err;

	if (!vb->report_vq)
		return 0;
	/* The core sends up to PAGE_REPORTING_CAPACITY runs in one request. */
	if (vireo_vq_size(vb->report_vq) < PAGE_REPORTING_CAPACITY) {
		dev_err(&vb->vd->dev, "reporting queue of %u descriptors, %u needed: no free page reporting\n",
			vireo_vq_size(vb->report_vq), PAGE_REPORTING_CAPACITY);
		return -ENOSPC;
	}
	vb->prdev.report = vballoon_report;
	err = page_reporting_register(&vb->prdev);
	if (err) {
		/* One reporting device per guest: e.g. the in-tree balloon. */
		dev_err(&vb->vd->dev, "cannot register for free page reporting (%d)%s\n",
			err, err == -EBUSY ? ": another driver reports free pages" : "");
		return err;
	}
	vb->reporting_registered = true;
	return 0;
}

/* Waits for a report in progress. */
void vballoon_reporting_unregister(struct vballoon *vb)
{
	if (vb->reporting_registered)
		page_reporting_unregister(&vb->prdev);
	vb->reporting_registered = false;
}
