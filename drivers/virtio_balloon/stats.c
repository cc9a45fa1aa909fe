// SPDX-License-Identifier: GPL-2.0
/*
 * Memory statistics (VIRTIO_BALLOON_F_STATS_VQ, virtio 1.2, 5.5.6.3).
 *
 * The device holds one buffer of statistics and returns it when it wants
 * fresh ones (QEMU: on its guest-stats-polling-interval); the worker then
 * refills it from the kernel's own counters and hands it back. The counters
 * are those the in-tree driver reports, tags 0-15 where the kernel has them
 * (QEMU 7.2 knows tags 0-9 and ignores the rest).
 *
 * /sys/kernel/debug/vireo/vireoN/balloon shows the balloon's state and the
 * last buffer sent, tag by tag.
 */
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/vmstat.h>

#include "balloon.h"

static const char *const stat_names[VBALLOON_NR_STATS] = {
	"swap-in", "swap-out", "major-faults", "minor-faults",
	"free-memory", "total-memory", "available-memory", "disk-caches",
	"htlb-pgalloc", "htlb-pgfail", "oom-kills", "alloc-stalls",
	"async-scans", "direct-scans", "async-reclaims", "direct-reclaims",
};

static void put_stat(struct vballoon *vb, u16 tag, u64 val)
{
	struct vballoon_stat *s = &vb->stats[vb->nr_stats++];

	s->tag = cpu_to_le16(tag);
	s->val = cpu_to_le64(val);
}

static u64 pages_bytes(unsigned long pages)
{
	return (u64)pages << PAGE_SHIFT;
}

/* Fills vb->stats; the caller owns the buffer (the device does not). */
static void fill_stats(struct vballoon *vb)
{
	unsigned long *ev = vb->events;
	unsigned long stalls = 0;
	struct sysinfo si;
	unsigned int z;

	vb->nr_stats = 0;
	all_vm_events(ev);
	put_stat(vb, VIRTIO_BALLOON_S_SWAP_IN, pages_bytes(ev[PSWPIN]));
	put_stat(vb, VIRTIO_BALLOON_S_SWAP_OUT, pages_bytes(ev[PSWPOUT]));
	put_stat(vb, VIRTIO_BALLOON_S_MAJFLT, ev[PGMAJFAULT]);
	put_stat(vb, VIRTIO_BALLOON_S_MINFLT, ev[PGFAULT]);

	si_meminfo(&si);
	put_stat(vb, VIRTIO_BALLOON_S_MEMFREE, pages_bytes(si.freeram));
	put_stat(vb, VIRTIO_BALLOON_S_MEMTOT, pages_bytes(si.totalram));
	put_stat(vb, VIRTIO_BALLOON_S_AVAIL, pages_bytes(si_mem_available()));
	put_stat(vb, VIRTIO_BALLOON_S_CACHES,
		 pages_bytes(global_node_page_state(NR_FILE_PAGES)));
#ifdef CONFIG_HUGETLB_PAGE
	put_stat(vb, VIRTIO_BALLOON_S_HTLB_PGALLOC, ev[HTLB_BUDDY_PGALLOC]);
	put_stat(vb, VIRTIO_BALLOON_S_HTLB_PGFAIL, ev[HTLB_BUDDY_PGALLOC_FAIL]);
#endif
	put_stat(vb, VIRTIO_BALLOON_S_OOM_KILL, ev[OOM_KILL]);
	/* One counter per zone in /proc/vmstat (allocstall_*): their sum. */
	for (z = 0; z < MAX_NR_ZONES; z++)
		stalls += ev[ALLOCSTALL_NORMAL - ZONE_NORMAL + z];
	put_stat(vb, VIRTIO_BALLOON_S_ALLOC_STALL, stalls);
	put_stat(vb, VIRTIO_BALLOON_S_ASYNC_SCAN, pages_bytes(ev[PGSCAN_KSWAPD]));
	put_stat(vb, VIRTIO_BALLOON_S_DIRECT_SCAN, pages_bytes(ev[PGSCAN_DIRECT]));
	put_stat(vb, VIRTIO_BALLOON_S_ASYNC_RECLAIM,
		 pages_bytes(ev[PGSTEAL_KSWAPD]));
	put_stat(vb, VIRTIO_BALLOON_S_DIRECT_RECLAIM,
		 pages_bytes(ev[PGSTEAL_DIRECT]));
}

/* Fills and posts the buffer. Caller serialises the stats queue. */
static int post_stats(struct vballoon *vb)
{
	struct scatterlist sg;
	int err;

	/* virtio 1.2, 5.5.6.3.1: the buffer is a whole number of 10-byte entries. */
	BUILD_BUG_ON(sizeof(struct vballoon_stat) != 10);
	fill_stats(vb);
	spin_lock_irq(&vb->stats_lock);
	memcpy(vb->last, vb->stats, sizeof(vb->stats[0]) * vb->nr_stats);
	vb->last_n = vb->nr_stats;
	vb->stats_sent++;
	spin_unlock_irq(&vb->stats_lock);

	sg_init_one(&sg, vb->stats, sizeof(vb->stats[0]) * vb->nr_stats);
	err = vireo_vq_add_outbuf(vb->stats_vq, &sg, 1, vb, GFP_KERNEL);
	if (err)
		return err;
	vb->stats_posted = true;
	vireo_vq_kick(vb->stats_vq);
	return 0;
}

/* Probe and restore: the first buffer, for the device to answer with. */
int vballoon_stats_start(struct vballoon *vb)
{
	int err;

	if (!vb->stats_vq)
		return 0;
	vb->stats_posted = false;
	err = post_stats(vb);
	if (err)
		dev_err(&vb->vd->dev, "cannot post the statistics buffer: %d\n",
			err);
	return err;
}

/* The device returned the buffer: it asks for fresh statistics. */
void vballoon_stats_work(struct work_struct *work)
{
	struct vballoon *vb = container_of(work, struct vballoon, stats_work);
	unsigned int len;

	if (READ_ONCE(vb->dead) || !vb->stats_vq)
		return;
	if (!vireo_vq_get_buf(vb->stats_vq, &len))
		return;
	vb->stats_posted = false;
	if (post_stats(vb) && !vireo_vq_is_broken(vb->stats_vq))
		dev_err_ratelimited(&vb->vd->dev, "cannot post the statistics buffer\n");
}

static int vballoon_debugfs_show(struct seq_file *s, void *unused)
{
	struct vballoon *vb = s->private;
	struct vballoon_stat last[VBALLOON_NR_STATS];
	unsigned int n, i, tag;
	u32 target;
	u64 sent;

	if (vireo_cread32(vb->vd, offsetof(struct virtio_balloon_config,
					   num_pages), &target))
		seq_puts(s, "target: unreadable\n");
	else
		seq_printf(s, "target: %u\n", target);
	seq_printf(s, "actual: %u\n", READ_ONCE(vb->num_pages));
	seq_printf(s, "deflate_on_oom: %d\n", vb->deflate_on_oom);
	seq_printf(s, "oom_deflated: %lu\n", READ_ONCE(vb->oom_freed));
	seq_printf(s, "reporting: %d\n", vb->reporting_registered);
	seq_printf(s, "reported: %llu\n", READ_ONCE(vb->reported));
	seq_printf(s, "dead: %d\n", READ_ONCE(vb->dead));
	seq_printf(s, "free_page_hint: %d\n", !!vb->hint_vq);
	seq_printf(s, "hint_cmd_id: %u\n", READ_ONCE(vb->hint_last_id));
	seq_printf(s, "hint_rounds: %llu\n", READ_ONCE(vb->hint_rounds));
	seq_printf(s, "hinted: %llu\n", READ_ONCE(vb->hinted));
	seq_printf(s, "hint_held: %lu\n", READ_ONCE(vb->hint_held));

	spin_lock_irq(&vb->stats_lock);
	n = vb->last_n;
	memcpy(last, vb->last, sizeof(last[0]) * n);
	sent = vb->stats_sent;
	spin_unlock_irq(&vb->stats_lock);
	seq_printf(s, "stats_sent: %llu\n", sent);
	for (i = 0; i < n; i++) {
		tag = le16_to_cpu(last[i].tag);
		seq_printf(s, "stat %u %s %llu\n", tag,
			   tag < VBALLOON_NR_STATS ? stat_names[tag] : "?",
			   le64_to_cpu(last[i].val));
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vballoon_debugfs);

void vballoon_debugfs_init(struct vballoon *vb)
{
	if (IS_ERR_OR_NULL(vb->vd->debugfs))
		return;
	vb->debugfs = debugfs_create_file("balloon", 0444, vb->vd->debugfs, vb,
					  &vballoon_debugfs_fops);
}

void vballoon_debugfs_exit(struct vballoon *vb)
{
	debugfs_remove(vb->debugfs);
	vb->debugfs = NULL;
}
