// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace side of bshim.h: simulated pages, virtual time, work items,
 * the OOM notifier and page reporting registration.
 */
#include "../harness.h"

struct workqueue_struct bshim_wq;
struct workqueue_struct *system_freezable_wq = &bshim_wq;
unsigned long bshim_now;
void (*bshim_tick)(void);

struct page bshim_pages[BSHIM_NR_PAGES];
unsigned int bshim_alloc_budget = UINT_MAX;
long bshim_managed;
bool bshim_init_on_free, bshim_page_poisoning;
unsigned long bshim_events[NR_VM_EVENT_ITEMS];
struct sysinfo bshim_si;
unsigned long bshim_available, bshim_file_pages;
struct notifier_block *bshim_oom_nb;
struct page_reporting_dev_info *bshim_prdev;
unsigned int bshim_page_bugs, bshim_lock_bugs;
/* Set by the test: may page @p go back to the allocator (join the balloon) now? */
bool (*bshim_may_free)(struct page *p);
bool (*bshim_may_enqueue)(struct page *p);

void bshim_lock_bug(const char *what)
{
	bshim_lock_bugs++;
	printf("#   lock: %s\n", what);
}

void bshim_page_bug(struct page *p, const char *what)
{
	bshim_page_bugs++;
	if (bshim_page_bugs <= 5)
		printf("#   page pfn %#lx: %s\n", page_to_pfn(p), what);
}

void bshim_pages_reset(void)
{
	unsigned int i;

	for (i = 0; i < BSHIM_NR_PAGES; i++) {
		bshim_pages[i].owner = BP_FREE;
		bshim_pages[i].refs = 0;
		/* Two zones, so that a migration may cross them. */
		bshim_pages[i].zone = i < BSHIM_NR_PAGES / 2 ? ZONE_DMA32 : ZONE_NORMAL;
	}
	bshim_alloc_budget = UINT_MAX;
	bshim_managed = 0;
	bshim_page_bugs = 0;
	bshim_lock_bugs = 0;
	bshim_now = 0;
	bshim_tick = NULL;
	bshim_init_on_free = false;
	bshim_page_poisoning = false;
	bshim_oom_nb = NULL;
	bshim_prdev = NULL;
}

unsigned int bshim_free_pages(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < BSHIM_NR_PAGES; i++)
		n += bshim_pages[i].owner == BP_FREE;
	return n;
}

void msleep(unsigned int ms)
{
	unsigned int t;

	for (t = 0; t < ms; t += 100) {
		bshim_now += min(100u, ms - t);
		if (bshim_tick)
			bshim_tick();
	}
}

unsigned long totalram_pages(void)
{
	return (unsigned long)((long)BSHIM_NR_PAGES + bshim_managed);
}

/* Any free page, from a rotating position (memory gets mixed up). */
struct page *bshim_alloc_free(void)
{
	static unsigned int next;
	unsigned int i;
	struct page *p;

	for (i = 0; i < BSHIM_NR_PAGES; i++) {
		p = &bshim_pages[(next + i * 7) % BSHIM_NR_PAGES];
		if (p->owner == BP_FREE) {
			next += i * 7 + 1;
			p->owner = BP_DRIVER;
			p->refs = 1;
			return p;
		}
	}
	return NULL;
}

struct page *balloon_page_alloc(void)
{
	if (!bshim_alloc_budget)
		return NULL;
	if (bshim_alloc_budget != UINT_MAX)
		bshim_alloc_budget--;
	return bshim_alloc_free();
}

void put_page(struct page *p)
{
	if (p->refs <= 0) {
		bshim_page_bug(p, "put_page without a reference");
		return;
	}
	if (--p->refs)
		return;
	if (p->owner == BP_BALLOON || p->owner == BP_ISOLATED)
		bshim_page_bug(p, "freed while in the balloon's list");
	if (bshim_may_free && !bshim_may_free(p))
		bshim_page_bug(p, "given back to the guest while the device holds it");
	p->owner = BP_FREE;
}

void balloon_page_enqueue(struct balloon_dev_info *b, struct page *p)
{
	if (p->owner != BP_DRIVER)
		bshim_page_bug(p, "enqueued but not the driver's");
	if (bshim_may_enqueue && !bshim_may_enqueue(p))
		bshim_page_bug(p, "joined the balloon before the device acknowledged it");
	p->owner = BP_BALLOON;
	list_add_tail(&p->lru, &b->pages);
}

void balloon_page_insert(struct balloon_dev_info *b, struct page *p)
{
	if (p->owner != BP_DRIVER)
		bshim_page_bug(p, "inserted but not the driver's");
	p->owner = BP_BALLOON;
	list_add_tail(&p->lru, &b->pages);
}

struct page *balloon_page_dequeue(struct balloon_dev_info *b)
{
	struct page *p;

	if (list_empty(&b->pages))
		return NULL;
	p = list_entry(b->pages.next, struct page, lru);
	list_del(&p->lru);
	p->owner = BP_DRIVER;
	return p;
}

void balloon_page_finalize(struct page *p)
{
	if (p->owner != BP_ISOLATED)
		bshim_page_bug(p, "finalized but not isolated");
	p->owner = BP_DRIVER;
}

/* ---- work items ---- */

#define BSHIM_MAX_WORK	8
static struct {
	struct work_struct *w;
	unsigned long when;
} pending[BSHIM_MAX_WORK];
static unsigned int npending;

static void work_add(struct work_struct *w, unsigned long when)
{
	unsigned int i;

	for (i = 0; i < npending; i++)
		if (pending[i].w == w) {
			pending[i].when = when;
			return;
		}
	if (npending == BSHIM_MAX_WORK)
		abort();
	pending[npending].w = w;
	pending[npending].when = when;
	npending++;
}

static bool work_del(struct work_struct *w)
{
	unsigned int i;

	for (i = 0; i < npending; i++)
		if (pending[i].w == w) {
			pending[i] = pending[--npending];
			w->pending = false;
			return true;
		}
	return false;
}

bool queue_work(struct workqueue_struct *wq, struct work_struct *w)
{
	if (w->pending)
		return false;
	w->pending = true;
	work_add(w, bshim_now);
	return true;
}

bool mod_delayed_work(struct workqueue_struct *wq, struct delayed_work *d,
		      unsigned long delay)
{
	bool was = d->work.pending;

	d->work.pending = true;
	d->when = bshim_now + delay;
	work_add(&d->work, d->when);
	return was;
}

bool cancel_work_sync(struct work_struct *w)
{
	return work_del(w);
}

bool cancel_delayed_work_sync(struct delayed_work *d)
{
	return work_del(&d->work);
}

/* Runs the earliest pending item (virtual time jumps to it); false: none. */
bool bshim_run_one(void)
{
	struct work_struct *w;
	unsigned int i, first = 0;

	if (!npending)
		return false;
	for (i = 1; i < npending; i++)
		if (pending[i].when < pending[first].when)
			first = i;
	w = pending[first].w;
	if (pending[first].when > bshim_now)
		bshim_now = pending[first].when;
	work_del(w);
	w->func(w);
	return true;
}

unsigned int bshim_npending(void)
{
	return npending;
}

void bshim_work_reset(void)
{
	npending = 0;
}

/* ---- OOM notifier and page reporting ---- */

int register_oom_notifier(struct notifier_block *nb)
{
	bshim_oom_nb = nb;
	return 0;
}

int unregister_oom_notifier(struct notifier_block *nb)
{
	if (bshim_oom_nb != nb)
		printf("#   unregister_oom_notifier of a notifier not registered\n");
	bshim_oom_nb = NULL;
	return 0;
}

int page_reporting_register(struct page_reporting_dev_info *p)
{
	if (bshim_prdev)
		return -EBUSY;
	bshim_prdev = p;
	return 0;
}

void page_reporting_unregister(struct page_reporting_dev_info *p)
{
	if (bshim_prdev != p)
		printf("#   page_reporting_unregister of a device not registered\n");
	bshim_prdev = NULL;
}

/* Free page hinting is not offered by the simulated device (bshim.h). */
struct page *alloc_pages(unsigned int gfp, unsigned int order)
{
	bshim_page_bugs++;
	printf("#   alloc_pages(order %u) without FREE_PAGE_HINT\n", order);
	return NULL;
}

void __free_pages(struct page *p, unsigned int order)
{
	bshim_page_bug(p, "__free_pages without FREE_PAGE_HINT");
}

void *page_address(struct page *p)
{
	bshim_page_bug(p, "page_address without FREE_PAGE_HINT");
	return NULL;
}
