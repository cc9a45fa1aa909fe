// SPDX-License-Identifier: GPL-2.0
/*
 * Per-queue statistics: /sys/kernel/debug/vireo/vireoN/vq<index>-<name>.
 */
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/seq_file.h>

#include "ring.h"

static int vireo_ring_stats_show(struct seq_file *s, void *unused)
{
	struct vireo_ring *vr = s->private;
	const struct vireo_ring_stats *st = &vr->stats;

	seq_printf(s, "size: %u\n", vr->num);
	seq_printf(s, "layout: %s\n", vr->is_packed ? "packed" :
		   vr->area[1].va ? "split" : "split-legacy");
	seq_printf(s, "features:%s%s%s%s\n",
		   vr->indirect ? " indirect" : "",
		   vr->event_idx ? " event_idx" : "",
		   vr->use_dma_api ? " access_platform" : "",
		   vr->weak_barriers ? "" : " order_platform");
	seq_printf(s, "num_free: %u\n", READ_ONCE(vr->num_free));
	seq_printf(s, "added: %llu\n", READ_ONCE(st->added));
	seq_printf(s, "used: %llu\n", READ_ONCE(st->used));
	seq_printf(s, "kicks: %lld\n", atomic64_read(&st->kicks));
	seq_printf(s, "kicks_suppressed: %llu\n", READ_ONCE(st->kicks_suppressed));
	seq_printf(s, "full: %llu\n", READ_ONCE(st->full));
	seq_printf(s, "longest_table: %llu\n", READ_ONCE(st->longest_table));
	seq_printf(s, "interrupts: %lld\n", atomic64_read(&st->interrupts));
	seq_printf(s, "interrupts_spurious: %lld\n", atomic64_read(&st->spurious));
	seq_printf(s, "callbacks_suppressed: %lld\n",
		   atomic64_read(&st->cb_suppressed));
	seq_printf(s, "inflight: %u\n", READ_ONCE(vr->inflight));
	seq_printf(s, "resets: %llu\n", READ_ONCE(st->resets));
	seq_printf(s, "recycled: %llu\n", READ_ONCE(st->recycled));
	seq_printf(s, "broken: %d\n", READ_ONCE(vr->broken));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vireo_ring_stats);

void vireo_ring_debugfs_add(struct vireo_ring *vr)
{
	struct dentry *dir = vr->vq.vdev->debugfs;
	char name[32];
	char *p;

	if (IS_ERR_OR_NULL(dir))
		return;
	snprintf(name, sizeof(name), "vq%u-%s", vr->vq.index, vr->vq.name);
	for (p = name; *p; p++)
		if (*p == '/')
			*p = '_';
	vr->debugfs = debugfs_create_file(name, 0444, dir, vr,
					  &vireo_ring_stats_fops);
}

/* Waits for readers; the bus removes the directory only after the queues. */
void vireo_ring_debugfs_del(struct vireo_ring *vr)
{
	debugfs_remove(vr->debugfs);
	vr->debugfs = NULL;
}
