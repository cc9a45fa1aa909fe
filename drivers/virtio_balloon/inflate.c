// SPDX-License-Identifier: GPL-2.0
/*
 * Inflating and deflating towards the host's target (virtio 1.2, 5.5.6.1).
 *
 * The config interrupt only queues the worker; the worker, on the system's
 * freezable workqueue, allocates pages, tells the host their PFNs one batch
 * at a time and writes back how many it holds (`actual`). Ballooned pages
 * are movable: compaction may migrate them (vballoon_migratepage), so a
 * ballooned guest still finds huge pages.
 *
 * Accounting follows the in-tree driver: without DEFLATE_ON_OOM a ballooned
 * page leaves the guest's managed memory (MemTotal falls); with it the page
 * stays counted, as used, since the guest may take it back at any time.
 */
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/vmstat.h>

#include "balloon.h"

/* Retries after a failed allocation: 200 ms, doubling up to 5 s. */
#define VBALLOON_BACKOFF_MIN_MS	200
#define VBALLOON_BACKOFF_MAX_MS	5000

/* The 4 KiB frame numbers of @page, into @pfns[0 .. VBALLOON_PER_PAGE). */
static void page_pfns(__le32 *pfns, struct page *page)
{
	u64 first = (u64)page_to_pfn(page) << (PAGE_SHIFT - VBALLOON_PFN_SHIFT);
	unsigned int i;

	for (i = 0; i < VBALLOON_PER_PAGE; i++)
		pfns[i] = cpu_to_le32((u32)(first + i));
}

/*
 * The device is out of the picture: say so once, reset it (it then holds
 * none of our pages) and let the worker give the balloon back to the guest.
 */
void vballoon_give_up(struct vballoon *vb, const char *why)
{
	if (xchg(&vb->dead, true))
		return;
	dev_err(&vb->vd->dev, "%s: resetting it; the balloon gives its pages back to the guest\n",
		why);
	vireo_reset_device(vb->vd);
	vballoon_queue_size_work(vb, 0);
}

static bool buffer_back(struct vireo_vq *vq, bool *got)
{
	unsigned int len;

	if (vireo_vq_get_buf(vq, &len)) {
		*got = true;
		return true;
	}
	return vireo_vq_is_broken(vq);
}

/*
 * Hands @sg to the device on @vq and waits until it returns it, for at
 * most vireo_ring's abort_timeout: a device that keeps a request longer
 * is reset and the balloon works without it from then on. The caller
 * serialises the queue (vb->lock for inflate and deflate, the reporting
 * core's single work for the reporting queue). Returns 0 or -EIO.
 */
int vballoon_tell_host(struct vballoon *vb, struct vireo_vq *vq,
		       struct scatterlist *sg, unsigned int nents, bool out)
{
	unsigned int limit = vireo_abort_timeout(), waited;
	bool got = false;
	char why[80];
	long left;
	int err;

	if (!vq || READ_ONCE(vb->dead) || vireo_device_is_failed(vb->vd))
		return -EIO;
	/* No allocation: one buffer, no indirect table (validate). */
	if (out)
		err = vireo_vq_add_outbuf(vq, sg, nents, vb,
					  GFP_NOWAIT | __GFP_NOWARN);
	else
		err = vireo_vq_add_inbuf(vq, sg, nents, vb,
					 GFP_NOWAIT | __GFP_NOWARN);
	if (err) {
		if (!vireo_vq_is_broken(vq)) {
			snprintf(why, sizeof(why),
				 "cannot queue a request on %s (%d)",
				 vq->name, err);
			vballoon_give_up(vb, why);
		}
		WRITE_ONCE(vb->dead, true);
		return -EIO;
	}
	vireo_vq_kick(vq);
	/*
	 * A transport that finds the device gone marks the queue broken
	 * without an interrupt: look again every second.
	 */
	waited = 0;
	do {
		left = wait_event_timeout(vb->acked, buffer_back(vq, &got), HZ);
		if (left)
			break;
		waited++;
	} while (!limit || waited < limit);
	if (got)
		return 0;
	if (!left) {
		snprintf(why, sizeof(why),
			 "the device kept a request on its %s queue for %u s", vq->name,
			 limit);
		vballoon_give_up(vb, why);
	}
	WRITE_ONCE(vb->dead, true);
	return -EIO;
}

/* The host's target in 4 KiB pages, whole guest pages. */
static unsigned int vballoon_target(struct vballoon *vb)
{
	u64 have = (u64)totalram_pages() * VBALLOON_PER_PAGE;
	u32 target;

	/* A config that never settles (logged by the read): stay where we are. */
	if (vireo_cread32(vb->vd, offsetof(struct virtio_balloon_config,
					   num_pages), &target))
		return READ_ONCE(vb->num_pages);

	if (!vb->deflate_on_oom)
		have += READ_ONCE(vb->num_pages);
	if (target > have) {
		if (!vb->target_logged)
			dev_info(&vb->vd->dev, "target of %u KiB is more than the guest's %llu KiB: inflating as far as memory allows\n",
				 target * 4, have * 4);
		vb->target_logged = true;
	} else {
		vb->target_logged = false;
	}
	return round_up(target, VBALLOON_PER_PAGE);
}

void vballoon_write_actual(struct vballoon *vb)
{
	vireo_cwrite32(vb->vd, offsetof(struct virtio_balloon_config, actual),
		       READ_ONCE(vb->num_pages));
}

/*
 * How many 4 KiB pages the balloon may still take: what the guest has
 * available (MemAvailable: free memory above the watermarks, plus what
 * reclaim can free) less a floor of 1/64 of its memory. The allocations
 * below reclaim and dig down to the min watermark; a host target above
 * what the guest can give would otherwise leave the guest's own
 * allocations nothing but the OOM killer (seen: init and sh killed on a
 * 1 GiB guest asked to shrink to 32 MiB). The in-tree driver has no floor.
 */
static unsigned int vballoon_room(struct vballoon *vb)
{
	/* The guest's memory as it booted: ballooned pages left MemTotal. */
	long mem = totalram_pages() +
		   (vb->deflate_on_oom ? 0 : vb->num_pages / VBALLOON_PER_PAGE);
	long room = si_mem_available() - mem / 64;

	return room > 0 ? (unsigned int)min_t(long, room, VBALLOON_BATCH) *
			  VBALLOON_PER_PAGE : 0;
}

/*
 * Takes up to @num 4 KiB pages (one batch) from the guest and gives them
 * to the host. Returns how many; *@short_of_memory when the guest has no
 * more to give (the floor above, or an allocation failed).
 */
static unsigned int vballoon_inflate(struct vballoon *vb, unsigned int num,
				     bool *short_of_memory)
{
	struct scatterlist sg;
	struct page *page, *next;
	unsigned int n = 0, room;
	LIST_HEAD(pages);
	int err;

	num = min_t(unsigned int, num, VBALLOON_BATCH);
	room = vballoon_room(vb);
	if (room < num) {
		*short_of_memory = true;
		num = room;
	}
	while (n + VBALLOON_PER_PAGE <= num) {
		page = balloon_page_alloc();
		if (!page) {
			*short_of_memory = true;
			break;
		}
		balloon_page_push(&pages, page);
		n += VBALLOON_PER_PAGE;
	}
	if (!n)
		return 0;

	mutex_lock(&vb->lock);
	n = 0;
	list_for_each_entry(page, &pages, lru) {
		page_pfns(vb->pfns + n, page);
		n += VBALLOON_PER_PAGE;
	}
	sg_init_one(&sg, vb->pfns, n * sizeof(vb->pfns[0]));
	err = vballoon_tell_host(vb, vb->inflate_vq, &sg, 1, true);
	/*
	 * The host acknowledged: only now do the pages join the balloon (and
	 * become visible to compaction). Nobody but us holds them meanwhile.
	 */
	list_for_each_entry_safe(page, next, &pages, lru) {
		list_del(&page->lru);
		if (err) {
			put_page(page);
			continue;
		}
		balloon_page_enqueue(&vb->bdi, page);
		if (!vb->deflate_on_oom)
			adjust_managed_page_count(page, -1);
		vb->num_pages += VBALLOON_PER_PAGE;
	}
	mutex_unlock(&vb->lock);
	return err ? 0 : n;
}

/*
 * Gives up to @num 4 KiB pages (one batch) back to the guest; returns how
 * many. The host hears of them before the guest may touch them again
 * (VIRTIO_BALLOON_F_MUST_TELL_HOST, virtio 1.2, 5.5.6.1; kept always). A
 * device that is gone or was given up on holds nothing any more: the pages
 * go back without a word to it.
 */
unsigned int vballoon_deflate(struct vballoon *vb, unsigned int num)
{
	struct scatterlist sg;
	struct page *page, *next;
	unsigned int n = 0;
	LIST_HEAD(pages);

	mutex_lock(&vb->lock);
	num = min3(num, (unsigned int)VBALLOON_BATCH, vb->num_pages);
	while (n + VBALLOON_PER_PAGE <= num) {
		/* NULL while compaction has the remaining pages isolated. */
		page = balloon_page_dequeue(&vb->bdi);
		if (!page)
			break;
		page_pfns(vb->pfns + n, page);
		list_add(&page->lru, &pages);
		n += VBALLOON_PER_PAGE;
	}
	if (n) {
		sg_init_one(&sg, vb->pfns, n * sizeof(vb->pfns[0]));
		vballoon_tell_host(vb, vb->deflate_vq, &sg, 1, true);
		list_for_each_entry_safe(page, next, &pages, lru) {
			list_del(&page->lru);
			if (!vb->deflate_on_oom)
				adjust_managed_page_count(page, 1);
			put_page(page);
		}
		vb->num_pages -= n;
	}
	mutex_unlock(&vb->lock);
	return n;
}

/*
 * Empties the balloon (remove, freeze). Pages compaction holds isolated
 * come back within moments (our migratepage refuses while we hold the
 * lock, so the core puts them back); wait for them, bounded.
 */
void vballoon_release_all(struct vballoon *vb)
{
	unsigned int tries = 0;

	while (READ_ONCE(vb->num_pages)) {
		if (vballoon_deflate(vb, VBALLOON_BATCH)) {
			tries = 0;
			continue;
		}
		if (++tries > 500) {
			dev_err(&vb->vd->dev, "%u KiB of the balloon stay isolated by compaction; leaving them\n",
				READ_ONCE(vb->num_pages) * 4);
			break;
		}
		msleep(20);
	}
}

void vballoon_queue_size_work(struct vballoon *vb, unsigned long delay)
{
	unsigned long flags;

	spin_lock_irqsave(&vb->stop_lock, flags);
	if (!vb->stop)
		mod_delayed_work(system_freezable_wq, &vb->size_work, delay);
	spin_unlock_irqrestore(&vb->stop_lock, flags);
}

void vballoon_size_work(struct work_struct *work)
{
	struct vballoon *vb = container_of(to_delayed_work(work),
					   struct vballoon, size_work);
	bool short_of_memory = false;
	unsigned int target, have, done;

	/* Given up on: the pages are the guest's again, without a word. */
	if (READ_ONCE(vb->dead)) {
		vballoon_release_all(vb);
		vballoon_hint_release(vb);
		return;
	}
	target = vballoon_target(vb);
	have = READ_ONCE(vb->num_pages);
	if (target == have) {
		vb->backoff_ms = 0;
		vb->oom_logged = false;
		return;
	}
	if (target > have)
		done = vballoon_inflate(vb, target - have, &short_of_memory);
	else
		done = vballoon_deflate(vb, have - target);
	if (done)
		vballoon_write_actual(vb);
	if (READ_ONCE(vb->dead)) {
		vballoon_queue_size_work(vb, 0);
		return;
	}

	if (!short_of_memory) {
		vb->backoff_ms = 0;
		vballoon_queue_size_work(vb, 0);
		return;
	}
	/* Memory is short: try again later, less often the longer it lasts. */
	if (!vb->oom_logged)
		dev_info(&vb->vd->dev, "cannot inflate to %u KiB: no free memory at %u KiB; retrying\n",
			 target * 4, READ_ONCE(vb->num_pages) * 4);
	vb->oom_logged = true;
	vb->backoff_ms = clamp(vb->backoff_ms * 2, VBALLOON_BACKOFF_MIN_MS,
			       VBALLOON_BACKOFF_MAX_MS);
	vballoon_queue_size_work(vb, msecs_to_jiffies(done ? 0 : vb->backoff_ms));
}

#ifdef CONFIG_BALLOON_COMPACTION
/*
 * Compaction moves a ballooned page: @newpage joins the balloon and the
 * host hears of it before @page leaves (and is told of too), so the host
 * never holds fewer pages than `actual` says. Called with both pages
 * locked; refuses (-EAGAIN, compaction retries) while the balloon is busy,
 * which also keeps an inflate's own allocation from waiting on itself.
 */
int vballoon_migratepage(struct balloon_dev_info *bdi, struct page *newpage,
			 struct page *page, enum migrate_mode mode)
{
	struct vballoon *vb = container_of(bdi, struct vballoon, bdi);
	struct scatterlist sg;
	unsigned long flags;

	if (!mutex_trylock(&vb->lock))
		return -EAGAIN;

	get_page(newpage);
	/* Managed pages are counted per zone. */
	if (!vb->deflate_on_oom && page_zone(page) != page_zone(newpage)) {
		adjust_managed_page_count(page, 1);
		adjust_managed_page_count(newpage, -1);
	}
	spin_lock_irqsave(&bdi->pages_lock, flags);
	balloon_page_insert(bdi, newpage);
	bdi->isolated_pages--;
	__count_vm_event(BALLOON_MIGRATE);
	spin_unlock_irqrestore(&bdi->pages_lock, flags);

	sg_init_one(&sg, vb->pfns, VBALLOON_PER_PAGE * sizeof(vb->pfns[0]));
	page_pfns(vb->pfns, newpage);
	vballoon_tell_host(vb, vb->inflate_vq, &sg, 1, true);
	page_pfns(vb->pfns, page);
	vballoon_tell_host(vb, vb->deflate_vq, &sg, 1, true);
	mutex_unlock(&vb->lock);

	balloon_page_finalize(page);
	put_page(page);
	return MIGRATEPAGE_SUCCESS;
}
#endif
