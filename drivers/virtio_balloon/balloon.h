/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vireo_balloon internals, shared by the files of the driver:
 *   main.c     probe, remove, suspend/resume, config changes, the module
 *   inflate.c  inflating and deflating towards the host's target (the
 *              worker), telling the host, migration of ballooned pages
 *   stats.c    the statistics queue and its debugfs view
 *   oom.c      deflate-on-oom: the OOM notifier
 *   report.c   free page reporting
 *   hint.c     free page hinting (during migration)
 */
#ifndef _VIREO_BALLOON_H
#define _VIREO_BALLOON_H

#include <linux/balloon_compaction.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/page_reporting.h>
#include <linux/spinlock.h>
#include <linux/virtio_balloon.h>
#include <linux/vm_event_item.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <vireo/virtio.h>

/*
 * The device counts in 4 KiB pages whatever the guest's page size (virtio
 * 1.2, 5.5.6); one guest page is VBALLOON_PER_PAGE of them.
 */
#define VBALLOON_PFN_SHIFT	VIRTIO_BALLOON_PFN_SHIFT
#define VBALLOON_PER_PAGE	((unsigned int)(PAGE_SIZE >> VBALLOON_PFN_SHIFT))
/*
 * PFNs per inflate or deflate request: 1024 (4 MiB, a 4 KiB array). Every
 * request costs a notification, an interrupt, a wake-up and a config write
 * of `actual`; the in-tree driver's 256 make inflating slower
 * (docs/BENCHMARKS.md).
 */
#define VBALLOON_BATCH		1024
/* 4 KiB pages given back per OOM notification (1 MiB). */
#define VBALLOON_OOM_PAGES	256

/* Statistics tags 0-15 (virtio 1.2, 5.5.6.3; 10-15 from virtio 1.3). */
#define VBALLOON_NR_STATS	16

/*
 * One statistic (virtio 1.2, 5.5.6.3): little-endian in every interface
 * vireo drives (legacy ones are guest-endian, and vireo guests are
 * little-endian), hence not the uapi's __virtio types.
 */
struct vballoon_stat {
	__le16 tag;
	__le64 val;
} __packed;

struct vballoon {
	struct vireo_device *vd;
	struct vireo_vq *inflate_vq;
	struct vireo_vq *deflate_vq;
	struct vireo_vq *stats_vq;		/* NULL without STATS_VQ */
	struct vireo_vq *report_vq;		/* NULL without REPORTING */
	bool deflate_on_oom;			/* VIRTIO_BALLOON_F_DEFLATE_ON_OOM */

	/*
	 * @lock serialises everything that changes the balloon or talks on
	 * the inflate and deflate queues: the worker, the OOM notifier,
	 * migration, remove and freeze.
	 */
	struct mutex lock;
	struct balloon_dev_info bdi;		/* the ballooned pages */
	unsigned int num_pages;			/* 4 KiB pages in the balloon */
	__le32 pfns[VBALLOON_BATCH];
	wait_queue_head_t acked;		/* the device returned a buffer */
	/*
	 * The device stopped answering (abort_timeout), failed, or went
	 * away: nothing more is sent, every page is given back on remove.
	 */
	bool dead;
	bool target_logged;			/* "above guest memory" said */
	bool oom_logged;			/* "cannot inflate" said */

	/* @stop_lock guards @stop: set, no work is queued any more. */
	spinlock_t stop_lock;
	bool stop;
	struct delayed_work size_work;		/* towards the target */
	unsigned int backoff_ms;		/* after a failed allocation */

	/* Statistics: the buffer the device holds and its copy for debugfs. */
	struct work_struct stats_work;
	struct vballoon_stat stats[VBALLOON_NR_STATS];
	unsigned int nr_stats;
	unsigned long events[NR_VM_EVENT_ITEMS];	/* scratch for the worker */
	spinlock_t stats_lock;			/* @last, @last_n, @stats_sent */
	struct vballoon_stat last[VBALLOON_NR_STATS];
	unsigned int last_n;
	u64 stats_sent;
	bool stats_posted;			/* the device holds @stats */

	struct notifier_block oom_nb;
	bool oom_registered;
	unsigned long oom_freed;		/* 4 KiB pages given back on OOM */

	/*
	 * Free page hinting: @hint_work answers the host's command ids; the
	 * pages it hinted wait on @hint_pages for DONE. @hint_lock guards
	 * the hint queue's buffers, @hint_pages, @hint_held, @hint_busy.
	 */
	struct vireo_vq *hint_vq;		/* NULL without FREE_PAGE_HINT */
	struct work_struct hint_work;
	spinlock_t hint_lock;			/* see above */
	struct list_head hint_pages;
	unsigned long hint_held;		/* 4 KiB pages held for hints */
	unsigned int hint_busy;			/* 1: start id, 2: stop id queued */
	u32 hint_cmd;				/* the id last acted on */
	u32 hint_last_id;			/* the last round's id (debugfs) */
	bool hint_changed;			/* the config changed meanwhile */
	__le32 hint_start, hint_stop;		/* the ids the device reads */
	u64 hinted;				/* 4 KiB pages hinted so far */
	u64 hint_rounds;

	struct page_reporting_dev_info prdev;
	bool reporting_registered;
	u64 reported;				/* 4 KiB pages reported */

	struct dentry *debugfs;
};

/* inflate.c */
void vballoon_size_work(struct work_struct *work);
void vballoon_queue_size_work(struct vballoon *vb, unsigned long delay);
unsigned int vballoon_deflate(struct vballoon *vb, unsigned int num);
void vballoon_release_all(struct vballoon *vb);
void vballoon_write_actual(struct vballoon *vb);
void vballoon_give_up(struct vballoon *vb, const char *why);
int vballoon_tell_host(struct vballoon *vb, struct vireo_vq *vq,
		       struct scatterlist *sg, unsigned int nents, bool out);
int vballoon_migratepage(struct balloon_dev_info *bdi, struct page *newpage,
			 struct page *page, enum migrate_mode mode);

/* stats.c */
void vballoon_stats_work(struct work_struct *work);
int vballoon_stats_start(struct vballoon *vb);
void vballoon_debugfs_init(struct vballoon *vb);
void vballoon_debugfs_exit(struct vballoon *vb);

/* oom.c */
int vballoon_oom_register(struct vballoon *vb);
void vballoon_oom_unregister(struct vballoon *vb);

/* hint.c */
void vballoon_hint_work(struct work_struct *work);
unsigned long vballoon_hint_release(struct vballoon *vb);
void vballoon_hint_drain(struct vballoon *vb);

/* report.c */
int vballoon_reporting_register(struct vballoon *vb);
void vballoon_reporting_unregister(struct vballoon *vb);

#endif /* _VIREO_BALLOON_H */
