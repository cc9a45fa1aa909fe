/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What drivers/virtio_balloon uses of the kernel beyond the ring's shim
 * (kshim.h), for building the driver's files unchanged as a userspace
 * program against a simulated balloon device (balloon/test.c).
 * Force-included after kshim.h; the headers under balloon/shim/linux/ are
 * empty stand-ins.
 *
 * Memory is an array of simulated pages (bshim_pages); a page's frame
 * number is its index plus BSHIM_PFN_BASE. Each page has an owner (free,
 * the balloon driver, in the balloon) that the test checks the driver's
 * ordering against. Time is virtual: sleeping and waiting advance
 * bshim_now (milliseconds) instead of taking time. Work items run when
 * the test calls bshim_run_work().
 */
#ifndef _VIREO_BSHIM_H
#define _VIREO_BSHIM_H

#include <linux/virtio_balloon.h>

#define CONFIG_BALLOON_COMPACTION	1
#define CONFIG_HUGETLB_PAGE		1

#define VIREO_VERSION		"test"
#define THIS_MODULE		((struct module *)0)
#define MODULE_DESCRIPTION(x)
#define MODULE_LICENSE(x)
#define MODULE_VERSION(x)
/* The driver's registration: the test reaches the driver through this. */
struct vireo_driver;
extern struct vireo_driver *bshim_driver;
#define module_driver(drv, reg, unreg) \
	struct vireo_driver *bshim_driver = &(drv)

/* Stats tags of virtio 1.3 (include/vireo/compat.h has them for 6.1). */
#ifndef VIRTIO_BALLOON_S_OOM_KILL
#define VIRTIO_BALLOON_S_OOM_KILL	10
#define VIRTIO_BALLOON_S_ALLOC_STALL	11
#define VIRTIO_BALLOON_S_ASYNC_SCAN	12
#define VIRTIO_BALLOON_S_DIRECT_SCAN	13
#define VIRTIO_BALLOON_S_ASYNC_RECLAIM	14
#define VIRTIO_BALLOON_S_DIRECT_RECLAIM	15
#endif

#define __packed		__attribute__((packed))
#define GFP_NOWAIT		0x10u

#define xchg(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define round_up(x, y)		((((x) - 1) | ((__typeof__(x))(y) - 1)) + 1)
#define clamp(v, lo, hi)	min(max((v), (lo)), (hi))
#define min3(a, b, c)		min(min((a), (b)), (c))

#define dev_info_ratelimited(d, ...)	shim_dev_printk("info", (d), __VA_ARGS__)
#define dev_err_ratelimited(d, ...)	shim_dev_printk("err", (d), __VA_ARGS__)
#define seq_puts(s, str)		seq_printf((s), "%s", (str))

/* ---- time ---- */
#define HZ			1000
extern unsigned long bshim_now;		/* virtual ms */
/* Called whenever virtual time passes (the device may answer late). */
extern void (*bshim_tick)(void);
static inline unsigned long msecs_to_jiffies(unsigned int ms)
{
	return ms;
}
void msleep(unsigned int ms);

/*
 * wait_event_timeout: the condition, then virtual time in steps of 100 ms
 * (bshim_tick after each) up to @t; the time left (at least 1) or 0.
 */
#define wait_event_timeout(wq, cond, t) ({				\
	long __left = (long)(t), __ret = 0;				\
	(void)(wq);							\
	for (;;) {							\
		if (cond) {						\
			__ret = __left ? __left : 1;			\
			break;						\
		}							\
		if (__left <= 0)					\
			break;						\
		bshim_now += 100;					\
		__left -= 100;						\
		if (bshim_tick)						\
			bshim_tick();					\
	}								\
	__ret;								\
})

/* ---- locks (one thread: they check nesting only) ---- */
struct mutex {
	int held;
};
void bshim_lock_bug(const char *what);
#define mutex_init(m)		((m)->held = 0)
#define mutex_destroy(m)	do { if ((m)->held) bshim_lock_bug("destroy held mutex"); } while (0)
#define mutex_lock(m)		do { if ((m)->held++) bshim_lock_bug("mutex taken twice"); } while (0)
#define mutex_unlock(m)		do { if (--(m)->held) bshim_lock_bug("mutex not held"); } while (0)
#define mutex_trylock(m)	((m)->held ? 0 : ((m)->held = 1))
#define spin_lock_init(l)	((void)(l))
#define spin_lock(l)		((void)(l))
#define spin_unlock(l)		((void)(l))
#define spin_lock_irq(l)	((void)(l))
#define spin_unlock_irq(l)	((void)(l))
#define spin_lock_irqsave(l, f)	((void)(l), (f) = 0)
#define spin_unlock_irqrestore(l, f) ((void)(l), (void)(f))

typedef struct {
	int unused;
} wait_queue_head_t;
#define init_waitqueue_head(w)	((void)(w))
#define wake_up_all(w)		((void)(w))

/* ---- work ---- */
struct work_struct {
	void (*func)(struct work_struct *w);
	bool pending;
};
struct delayed_work {
	struct work_struct work;
	unsigned long when;		/* virtual ms */
};
struct workqueue_struct {
	int unused;
};
extern struct workqueue_struct *system_freezable_wq;
#define INIT_WORK(w, f)		((w)->func = (f), (w)->pending = false)
#define INIT_DELAYED_WORK(d, f)	(INIT_WORK(&(d)->work, (f)), (d)->when = 0)
#define to_delayed_work(w)	container_of(w, struct delayed_work, work)
bool queue_work(struct workqueue_struct *wq, struct work_struct *w);
bool mod_delayed_work(struct workqueue_struct *wq, struct delayed_work *d,
		      unsigned long delay);
bool cancel_work_sync(struct work_struct *w);
bool cancel_delayed_work_sync(struct delayed_work *d);

/* ---- pages ---- */
enum bshim_owner {
	BP_FREE,		/* the allocator's: the guest may use it */
	BP_DRIVER,		/* allocated by balloon_page_alloc */
	BP_BALLOON,		/* enqueued or inserted in a balloon_dev_info */
	BP_ISOLATED,		/* taken by compaction */
};
struct page {
	struct list_head lru;
	enum bshim_owner owner;
	int refs;
	int zone;
};
#define BSHIM_NR_PAGES		8192	/* 32 MiB */
#define BSHIM_PFN_BASE		0x40000UL
extern struct page bshim_pages[BSHIM_NR_PAGES];
extern unsigned int bshim_alloc_budget;	/* allocations left before failing */
extern long bshim_managed;		/* adjust_managed_page_count's sum */
void bshim_page_bug(struct page *p, const char *what);
static inline unsigned long page_to_pfn(const struct page *p)
{
	return (unsigned long)(p - bshim_pages) + BSHIM_PFN_BASE;
}
static inline int page_zone(const struct page *p)
{
	return p->zone;
}
void put_page(struct page *p);
static inline void get_page(struct page *p)
{
	p->refs++;
}
static inline void adjust_managed_page_count(struct page *p, long n)
{
	bshim_managed += n;
}
unsigned long totalram_pages(void);

enum migrate_mode { MIGRATE_ASYNC, MIGRATE_SYNC_LIGHT, MIGRATE_SYNC };
#define MIGRATEPAGE_SUCCESS	0
struct balloon_dev_info {
	unsigned long isolated_pages;
	spinlock_t pages_lock;
	struct list_head pages;
	int (*migratepage)(struct balloon_dev_info *b, struct page *newpage,
			   struct page *page, enum migrate_mode mode);
};
static inline void balloon_devinfo_init(struct balloon_dev_info *b)
{
	b->isolated_pages = 0;
	INIT_LIST_HEAD(&b->pages);
	b->migratepage = NULL;
}
struct page *balloon_page_alloc(void);
void balloon_page_enqueue(struct balloon_dev_info *b, struct page *p);
struct page *balloon_page_dequeue(struct balloon_dev_info *b);
void balloon_page_insert(struct balloon_dev_info *b, struct page *p);
void balloon_page_finalize(struct page *p);
static inline void balloon_page_push(struct list_head *l, struct page *p)
{
	list_add_tail(&p->lru, l);
}

#define LIST_HEAD(name)		struct list_head name = LIST_HEAD_INIT(name)
static inline void list_add(struct list_head *n, struct list_head *h)
{
	n->next = h->next;
	n->prev = h;
	h->next->prev = n;
	h->next = n;
}
#define list_for_each_entry_safe(pos, n, head, member)			\
	for (pos = list_entry((head)->next, __typeof__(*pos), member),	\
	     n = list_entry(pos->member.next, __typeof__(*pos), member);	\
	     &pos->member != (head);					\
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

/* ---- memory state and counters ---- */
#define PAGE_POISON		0xaa
extern bool bshim_init_on_free, bshim_page_poisoning;
static inline bool want_init_on_free(void)
{
	return bshim_init_on_free;
}
static inline bool page_poisoning_enabled_static(void)
{
	return bshim_page_poisoning;
}

enum zone_type { ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE, MAX_NR_ZONES };
enum vm_event_item {
	PGFAULT, PGMAJFAULT, PSWPIN, PSWPOUT,
	ALLOCSTALL_DMA, ALLOCSTALL_DMA32, ALLOCSTALL_NORMAL, ALLOCSTALL_MOVABLE,
	PGSCAN_KSWAPD, PGSCAN_DIRECT, PGSTEAL_KSWAPD, PGSTEAL_DIRECT,
	OOM_KILL, HTLB_BUDDY_PGALLOC, HTLB_BUDDY_PGALLOC_FAIL, BALLOON_MIGRATE,
	NR_VM_EVENT_ITEMS
};
extern unsigned long bshim_events[NR_VM_EVENT_ITEMS];
static inline void all_vm_events(unsigned long *ev)
{
	memcpy(ev, bshim_events, sizeof(bshim_events));
}
#define __count_vm_event(e)	(bshim_events[e]++)
struct sysinfo {
	unsigned long totalram, freeram;
};
extern struct sysinfo bshim_si;
extern unsigned long bshim_available, bshim_file_pages;
static inline void si_meminfo(struct sysinfo *si)
{
	*si = bshim_si;
}
unsigned int bshim_free_pages(void);
/* What a test set, or else the free pages (the kernel's count, roughly). */
static inline unsigned long si_mem_available(void)
{
	return bshim_available ? bshim_available : bshim_free_pages();
}
enum node_stat_item { NR_FILE_PAGES };
static inline unsigned long global_node_page_state(enum node_stat_item i)
{
	return bshim_file_pages;
}

/*
 * ---- free page hinting: the simulated device never offers it, so the
 * driver never allocates a hint block here (a call is a test failure) ----
 */
#define __GFP_NORETRY		0x20u
#define __GFP_NOMEMALLOC	0x40u
struct page *alloc_pages(unsigned int gfp, unsigned int order);
void __free_pages(struct page *p, unsigned int order);
void *page_address(struct page *p);

/* ---- OOM notifier, page reporting ---- */
struct notifier_block {
	int (*notifier_call)(struct notifier_block *nb, unsigned long action,
			     void *data);
	int priority;
};
#define NOTIFY_OK		1
extern struct notifier_block *bshim_oom_nb;
int register_oom_notifier(struct notifier_block *nb);
int unregister_oom_notifier(struct notifier_block *nb);

#define PAGE_REPORTING_CAPACITY	32
struct page_reporting_dev_info {
	int (*report)(struct page_reporting_dev_info *p, struct scatterlist *sg,
		      unsigned int nents);
};
extern struct page_reporting_dev_info *bshim_prdev;
int page_reporting_register(struct page_reporting_dev_info *p);
void page_reporting_unregister(struct page_reporting_dev_info *p);
#define for_each_sg(sglist, sg, nr, i) \
	for ((i) = 0, (sg) = (sglist); (i) < (nr); (i)++, (sg) = sg_next(sg))

/* ---- test-side hooks (bshim.c) ---- */
extern unsigned int bshim_page_bugs, bshim_lock_bugs;
extern bool (*bshim_may_free)(struct page *p);
extern bool (*bshim_may_enqueue)(struct page *p);
void bshim_pages_reset(void);
unsigned int bshim_free_pages(void);
struct page *bshim_alloc_free(void);	/* as compaction's target page */
bool bshim_run_one(void);
unsigned int bshim_npending(void);
void bshim_work_reset(void);

#endif /* _VIREO_BSHIM_H */
