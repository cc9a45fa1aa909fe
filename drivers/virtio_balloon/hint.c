// SPDX-License-Identifier: GPL-2.0
/*
 * Free page hinting (VIRTIO_BALLOON_F_FREE_PAGE_HINT, virtio 1.2, 5.5.6.5):
 * while the host migrates the guest it asks which pages are free, so that
 * it need not send them. QEMU 7.2 does this in precopy migration: after
 * each dirty bitmap sync it writes a new command id (>= 2) into
 * free_page_hint_cmd_id; before the next sync STOP (0); when migration ends
 * DONE (1).
 *
 * For a new command id the worker sends the id (device-readable), then
 * device-writable buffers of free memory it allocated (2 MiB blocks), as
 * many as the allocator gives without reclaim, until the id changes; then
 * the STOP id, which ends the round. The host clears what those buffers
 * cover from its list of pages to send. The driver keeps the pages until
 * the host says DONE (or the driver goes away), so that a second round does
 * not hint them again; a page the guest writes after its buffer came back
 * is dirtied as any other and sent, so the OOM notifier may give held pages
 * back at any time.
 */
#include <linux/gfp.h>
#include <linux/mm.h>

#include "balloon.h"

/* 2 MiB blocks: one page block on x86, small enough to be found free. */
#define VBALLOON_HINT_ORDER	(PAGE_SHIFT < 21 ? 21 - PAGE_SHIFT : 0)
#define VBALLOON_HINT_PFNS	((1U << VBALLOON_HINT_ORDER) * VBALLOON_PER_PAGE)
/* No reclaim and no reserves: only memory that is free right now. */
#define VBALLOON_HINT_GFP	(__GFP_NORETRY | __GFP_NOWARN | __GFP_NOMEMALLOC)

static bool hint_is_cmd(struct vballoon *vb, void *token)
{
	return token == &vb->hint_start || token == &vb->hint_stop;
}

static void hint_free_page(struct vballoon *vb, struct page *page)
{
	__free_pages(page, VBALLOON_HINT_ORDER);
	vb->hint_held -= VBALLOON_HINT_PFNS;
}

/*
 * Takes back what the device returned: command buffers are free again;
 * pages are held (or freed right away after the host said DONE). Under
 * hint_lock; only the hint worker and remove (after the reset) call it.
 */
static void hint_reclaim(struct vballoon *vb)
{
	unsigned int len;
	void *token;

	while ((token = vireo_vq_get_buf(vb->hint_vq, &len))) {
		if (token == &vb->hint_start)
			vb->hint_busy &= ~1U;
		else if (token == &vb->hint_stop)
			vb->hint_busy &= ~2U;
		else if (vb->hint_cmd == VIRTIO_BALLOON_CMD_ID_DONE)
			hint_free_page(vb, token);
		else
			list_add(&((struct page *)token)->lru, &vb->hint_pages);
	}
}

/* Gives every held page back to the guest; returns how many 4 KiB pages. */
unsigned long vballoon_hint_release(struct vballoon *vb)
{
	unsigned long before;
	struct page *page, *next;

	spin_lock(&vb->hint_lock);
	before = vb->hint_held;
	list_for_each_entry_safe(page, next, &vb->hint_pages, lru) {
		list_del(&page->lru);
		hint_free_page(vb, page);
	}
	before -= vb->hint_held;
	spin_unlock(&vb->hint_lock);
	return before;
}

static bool hint_space(struct vballoon *vb)
{
	bool ok;

	spin_lock(&vb->hint_lock);
	hint_reclaim(vb);
	ok = vireo_vq_num_free(vb->hint_vq) > 0 || vireo_vq_is_broken(vb->hint_vq);
	spin_unlock(&vb->hint_lock);
	return ok || READ_ONCE(vb->stop);
}

/*
 * Adds one buffer to the hint queue, waiting (at most abort_timeout) for
 * the device to return one when the queue is full. 0 or -EIO.
 */
static int hint_add(struct vballoon *vb, void *buf, unsigned int len,
		    bool out, void *token)
{
	unsigned int limit = vireo_abort_timeout(), waited = 0;
	struct scatterlist sg;
	int err;

	sg_init_one(&sg, buf, len);
	for (;;) {
		if (READ_ONCE(vb->dead) || READ_ONCE(vb->stop))
			return -EIO;
		spin_lock(&vb->hint_lock);
		if (out)
			err = vireo_vq_add_outbuf(vb->hint_vq, &sg, 1, token,
						  GFP_NOWAIT | __GFP_NOWARN);
		else
			err = vireo_vq_add_inbuf(vb->hint_vq, &sg, 1, token,
						 GFP_NOWAIT | __GFP_NOWARN);
		if (!err && !out)
			vb->hint_held += VBALLOON_HINT_PFNS;
		spin_unlock(&vb->hint_lock);
		if (!err)
			return 0;
		if (err != -ENOSPC || vireo_vq_is_broken(vb->hint_vq))
			return -EIO;
		vireo_vq_kick(vb->hint_vq);
		if (wait_event_timeout(vb->acked, hint_space(vb), HZ))
			continue;
		if (limit && ++waited >= limit) {
			vballoon_give_up(vb, "the device kept every free page hint buffer");
			return -EIO;
		}
	}
}

/* Sends @id (the host's command id, or STOP) in @slot. */
static int hint_send_id(struct vballoon *vb, __le32 *slot, unsigned int bit,
			u32 id)
{
	int err;

	/* The previous round's buffer must be back before it is reused. */
	spin_lock(&vb->hint_lock);
	hint_reclaim(vb);
	spin_unlock(&vb->hint_lock);
	if (vb->hint_busy & bit) {
		vireo_vq_kick(vb->hint_vq);
		if (!wait_event_timeout(vb->acked, hint_space(vb) &&
					(!(vb->hint_busy & bit) ||
					 READ_ONCE(vb->stop)),
					(vireo_abort_timeout() ?: 3600) * HZ)) {
			vballoon_give_up(vb, "the device kept a free page hint command");
			return -EIO;
		}
		if (READ_ONCE(vb->stop))
			return -EIO;
	}
	*slot = cpu_to_le32(id);
	err = hint_add(vb, slot, sizeof(*slot), true, slot);
	if (!err)
		vb->hint_busy |= bit;
	return err;
}

static u32 hint_read_id(struct vballoon *vb)
{
	u32 id;

	if (vireo_cread32(vb->vd, offsetof(struct virtio_balloon_config,
					   free_page_hint_cmd_id), &id))
		return VIRTIO_BALLOON_CMD_ID_STOP;
	return id;
}

/* One round for @id: the id, free blocks until the id changes, STOP. */
static void hint_round(struct vballoon *vb, u32 id)
{
	unsigned long n = 0;
	struct page *page;

	if (hint_send_id(vb, &vb->hint_start, 1, id))
		return;
	vireo_vq_kick(vb->hint_vq);
	while (!READ_ONCE(vb->stop) && !READ_ONCE(vb->dead)) {
		if (xchg(&vb->hint_changed, false) && hint_read_id(vb) != id)
			break;
		page = alloc_pages(VBALLOON_HINT_GFP, VBALLOON_HINT_ORDER);
		if (!page)
			break;
		if (hint_add(vb, page_address(page),
			     PAGE_SIZE << VBALLOON_HINT_ORDER, false, page)) {
			__free_pages(page, VBALLOON_HINT_ORDER);
			break;
		}
		n++;
		/* One notification per 64 MiB; the device reads while we add. */
		if (!(n % 32))
			vireo_vq_kick(vb->hint_vq);
	}
	WRITE_ONCE(vb->hinted, vb->hinted + n * VBALLOON_HINT_PFNS);
	WRITE_ONCE(vb->hint_rounds, vb->hint_rounds + 1);
	hint_send_id(vb, &vb->hint_stop, 2, VIRTIO_BALLOON_CMD_ID_STOP);
	vireo_vq_kick(vb->hint_vq);
}

void vballoon_hint_work(struct work_struct *work)
{
	struct vballoon *vb = container_of(work, struct vballoon, hint_work);
	u32 id;

	if (READ_ONCE(vb->dead) || !vb->hint_vq)
		return;
	spin_lock(&vb->hint_lock);
	hint_reclaim(vb);
	spin_unlock(&vb->hint_lock);
	WRITE_ONCE(vb->hint_changed, false);
	id = hint_read_id(vb);
	if (id == vb->hint_cmd)
		return;
	if (id == VIRTIO_BALLOON_CMD_ID_DONE) {
		/* Migration is over: the held pages go back. */
		vb->hint_cmd = id;
		vballoon_hint_release(vb);
		return;
	}
	if (id == VIRTIO_BALLOON_CMD_ID_STOP)
		return;
	vb->hint_cmd = id;
	WRITE_ONCE(vb->hint_last_id, id);
	hint_round(vb, id);
}

/* After the reset (remove, freeze): every page, in the queue or held. */
void vballoon_hint_drain(struct vballoon *vb)
{
	void *token;

	spin_lock(&vb->hint_lock);
	/* What the device used and we did not take yet, then the rest. */
	hint_reclaim(vb);
	while ((token = vireo_vq_detach_unused(vb->hint_vq)))
		if (!hint_is_cmd(vb, token))
			hint_free_page(vb, token);
	vb->hint_busy = 0;
	vb->hint_cmd = VIRTIO_BALLOON_CMD_ID_STOP;
	spin_unlock(&vb->hint_lock);
	vballoon_hint_release(vb);
}
