// SPDX-License-Identifier: GPL-2.0
/*
 * balloon-test: drivers/virtio_balloon compiled unchanged in userspace,
 * bound to a simulated balloon device on vireo's real rings (the ring
 * files and sim.c of tests/ring), as TAP.
 *
 * The device keeps its own record of every page frame: held (an inflate
 * it acknowledged), in flight (a request it has not returned yet), or
 * not its. It and the page shim check the driver against virtio 1.2,
 * 5.5.6.1 (what VIRTIO_BALLOON_F_MUST_TELL_HOST makes binding; QEMU 7.2
 * never offers the bit, so this is where it is shown):
 *   - no page goes back to the guest's allocator while the device holds
 *     it or has a request for it in flight (a deflate is acknowledged
 *     first), unless the device was reset since;
 *   - a page joins the balloon (where compaction may take it) only after
 *     its inflate was acknowledged; a deflate names only held pages;
 *   - `actual` equals the pages the device holds after every batch;
 *   - a migrated page: the new one is inflated before the old is
 *     deflated, and the old is freed only after that.
 * And the statistics buffer byte by byte (tags 0-15, 10-byte entries,
 * little-endian, which QEMU 7.2 partly ignores), page poisoning, deflate
 * on OOM, free page reporting, and a device that never returns a buffer
 * (abort_timeout in virtual time).
 */
#include "../harness.h"
#include "../../../drivers/virtio_balloon/balloon.h"

#define NQ		4
#define QSIZE		64
#define ABORT_S		30

enum { H_NONE, H_FLIGHT, H_HELD };

struct bdev {
	struct device parent;
	struct vireo_device vd;
	struct dentry dbg;
	struct virtio_balloon_config cfg;
	u8 status;
	struct vireo_vq *vq[NQ];
	struct sim_dev sim[NQ];
	unsigned int nvq;
	int qinflate, qdeflate, qstats, qreport;
	u8 host[BSHIM_NR_PAGES];
	unsigned int held;
	unsigned int bugs;
	unsigned int resets, kicks_after_reset;
	/* The device keeps requests on these queues (never returns them). */
	bool hold[NQ];
	/* ... or returns them this late (virtual ms); 0: at once. */
	unsigned long late_ms;
	struct sim_elem late[NQ];
	bool late_pending[NQ];
	unsigned long late_at[NQ];
	bool migrating;
	unsigned int inflates, deflates, reports;
	/* Statistics: the buffer the device holds, decoded. */
	struct sim_elem stats_elem;
	bool stats_held;
	unsigned int stats_n, stats_bufs;
	u16 stats_tag[32];
	u64 stats_val[32];
	u32 report_bytes;
};

static struct bdev *B;

static void bug(const char *fmt, ...) __printf(1, 2);
static void bug(const char *fmt, ...)
{
	va_list ap;

	B->bugs++;
	if (B->bugs > 5)
		return;
	printf("#   device: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static bool may_free(struct page *p)
{
	return B->host[p - bshim_pages] == H_NONE;
}

static bool may_enqueue(struct page *p)
{
	return B->host[p - bshim_pages] == H_HELD;
}

/* ---- the bus, as the driver sees it -------------------------------------- */

unsigned int vireo_abort_timeout(void)
{
	return ABORT_S;
}

void vireo_device_ready(struct vireo_device *vd)
{
	B->status |= VIRTIO_CONFIG_S_DRIVER_OK;
}

void vireo_reset_device(struct vireo_device *vd)
{
	unsigned int i;

	B->resets++;
	B->status = 0;
	for (i = 0; i < BSHIM_NR_PAGES; i++)
		B->host[i] = H_NONE;
	B->held = 0;
	for (i = 0; i < NQ; i++)
		B->late_pending[i] = false;
	B->stats_held = false;
}

int vireo_config_write(struct vireo_device *vd, unsigned int offset,
		       const void *buf, unsigned int len)
{
	if (offset + len > sizeof(B->cfg))
		abort();
	if (offset == offsetof(struct virtio_balloon_config, poison_val) &&
	    (B->status & VIRTIO_CONFIG_S_DRIVER_OK))
		bug("poison_val written after DRIVER_OK");
	memcpy((u8 *)&B->cfg + offset, buf, len);
	return 0;
}

int vireo_cread32(struct vireo_device *vd, unsigned int offset, u32 *val)
{
	memcpy(val, (u8 *)&B->cfg + offset, sizeof(*val));
	return 0;
}

void vireo_cwrite32(struct vireo_device *vd, unsigned int offset, u32 val)
{
	vireo_config_write(vd, offset, &val, sizeof(val));
}

static struct page *pfn_page(u32 pfn)
{
	if (pfn < BSHIM_PFN_BASE || pfn >= BSHIM_PFN_BASE + BSHIM_NR_PAGES) {
		bug("pfn %#x is no page of the guest", pfn);
		return NULL;
	}
	return &bshim_pages[pfn - BSHIM_PFN_BASE];
}

static const u32 *elem_pfns(const struct sim_elem *e, unsigned int *n)
{
	if (e->nseg != 1 || e->seg[0].write || e->seg[0].len % 4) {
		bug("a PFN request of %u segments, %u bytes", e->nseg,
		    e->nseg ? e->seg[0].len : 0);
		*n = 0;
		return NULL;
	}
	*n = e->seg[0].len / 4;
	return (const u32 *)e->seg[0].ptr;
}

/* The device looks at an inflate or deflate request (it is in flight). */
static void see_pfns(int q, const struct sim_elem *e)
{
	unsigned int n, i, idx;
	const u32 *pfns = elem_pfns(e, &n);
	struct page *p;

	for (i = 0; i < n; i++) {
		p = pfn_page(le32_to_cpu(pfns[i]));
		if (!p)
			continue;
		idx = p - bshim_pages;
		if (p->owner == BP_FREE)
			bug("%s of pfn %#x, a free page of the guest",
			    q == B->qinflate ? "inflate" : "deflate", pfns[i]);
		if (q == B->qinflate) {
			if (B->host[idx] != H_NONE)
				bug("inflate of pfn %#x, already the device's", pfns[i]);
			B->host[idx] = H_FLIGHT;
		} else if (B->host[idx] != H_HELD) {
			bug("deflate of pfn %#x, which the device does not hold", pfns[i]);
		}
	}
}

/* The device acknowledges it. */
static void ack_pfns(int q, const struct sim_elem *e)
{
	unsigned int n, i, idx;
	const u32 *pfns = elem_pfns(e, &n);
	struct page *p;

	for (i = 0; i < n; i++) {
		p = pfn_page(le32_to_cpu(pfns[i]));
		if (!p)
			continue;
		idx = p - bshim_pages;
		if (q == B->qinflate) {
			B->host[idx] = H_HELD;
			B->held++;
		} else if (B->host[idx] == H_HELD) {
			B->host[idx] = H_NONE;
			B->held--;
		}
	}
	if (q == B->qinflate)
		B->inflates++;
	else
		B->deflates++;
	/* A migration never leaves the device with less than `actual`. */
	if (B->migrating && B->held < le32_to_cpu(B->cfg.actual))
		bug("mid-migration the device holds %u pages, actual is %u",
		    B->held, le32_to_cpu(B->cfg.actual));
}

static void stats_decode(const struct sim_elem *e)
{
	const u8 *b = e->seg[0].ptr;
	unsigned int i;

	if (e->nseg != 1 || e->seg[0].write || e->seg[0].len % 10 ||
	    e->seg[0].len / 10 > ARRAY_SIZE(B->stats_tag)) {
		bug("statistics buffer of %u segments, %u bytes", e->nseg,
		    e->nseg ? e->seg[0].len : 0);
		return;
	}
	/* virtio 1.2, 5.5.6.3: le16 tag, le64 value, no padding. */
	B->stats_n = e->seg[0].len / 10;
	for (i = 0; i < B->stats_n; i++) {
		B->stats_tag[i] = (u16)(b[10 * i] | b[10 * i + 1] << 8);
		memcpy(&B->stats_val[i], b + 10 * i + 2, 8);
	}
	B->stats_bufs++;
}

static void complete(int q, const struct sim_elem *e)
{
	u32 len = 0;
	unsigned int i;

	if (q == B->qinflate || q == B->qdeflate) {
		ack_pfns(q, e);
	} else if (q == B->qreport) {
		for (i = 0; i < e->nseg; i++) {
			if (!e->seg[i].write)
				bug("a report with a device-readable part");
			B->report_bytes += e->seg[i].len;
		}
		B->reports++;
	}
	sim_push(&B->sim[q], e, len);
	sim_flush(&B->sim[q]);
	vireo_vq_interrupt(B->vq[q]);
}

/* Late answers fall due as virtual time passes. */
static void tick(void)
{
	int q;

	for (q = 0; q < NQ; q++)
		if (B->late_pending[q] && bshim_now >= B->late_at[q]) {
			B->late_pending[q] = false;
			complete(q, &B->late[q]);
		}
}

static bool notify(struct vireo_vq *vq)
{
	int q = vq->index;
	struct sim_elem e;
	int r;

	if (!(B->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		B->kicks_after_reset++;
		return true;
	}
	while ((r = sim_pop(&B->sim[q], &e)) == 1) {
		if (q == B->qinflate || q == B->qdeflate)
			see_pfns(q, &e);
		if (q == B->qstats) {
			/* Held until the device wants fresh statistics. */
			stats_decode(&e);
			B->stats_elem = e;
			B->stats_held = true;
			continue;
		}
		if (B->hold[q])
			continue;
		if (B->late_ms) {
			B->late[q] = e;
			B->late_pending[q] = true;
			B->late_at[q] = bshim_now + B->late_ms;
			continue;
		}
		complete(q, &e);
	}
	if (r < 0)
		bug("queue %d: %s", q, B->sim[q].error);
	return true;
}

int vireo_find_vqs(struct vireo_device *vd, unsigned int nvqs,
		   struct vireo_vq *vqs[], const struct vireo_vq_info info[],
		   struct irq_affinity *desc)
{
	unsigned int i;

	if (nvqs > NQ)
		abort();
	B->qinflate = 0;
	B->qdeflate = 1;
	B->qstats = B->qreport = -1;
	for (i = 0; i < nvqs; i++) {
		vqs[i] = vireo_vq_new(vd, i, QSIZE, 0, notify, &info[i]);
		if (IS_ERR(vqs[i]))
			abort();
		B->vq[i] = vqs[i];
		sim_init(&B->sim[i], vqs[i], vd->features.w[0]);
		if (!strcmp(info[i].name, "stats"))
			B->qstats = i;
		if (!strcmp(info[i].name, "reporting"))
			B->qreport = i;
	}
	B->nvq = nvqs;
	return 0;
}

void vireo_del_vqs(struct vireo_device *vd)
{
	unsigned int i;

	for (i = 0; i < B->nvq; i++)
		vireo_vq_del(B->vq[i]);
	B->nvq = 0;
}

/* ---- the test's side ------------------------------------------------------ */

static const struct vireo_transport_ops ops = { .name = "sim" };

static struct vballoon *vb_of(void)
{
	return B->vd.priv;
}

/* What the driver takes of @offer, as the bus negotiates it. */
static struct bdev *bdev_new(u64 offer)
{
	const struct vireo_driver *drv = bshim_driver;
	unsigned int i;
	u64 f = BIT_ULL(VIRTIO_F_VERSION_1) | (offer & BIT_ULL(VIRTIO_F_RING_PACKED));

	B = calloc(1, sizeof(*B));
	bshim_pages_reset();
	bshim_work_reset();
	bshim_may_free = may_free;
	bshim_may_enqueue = may_enqueue;
	bshim_tick = tick;
	B->parent.name = "sim-parent";
	B->vd.dev.parent = &B->parent;
	B->vd.dev.name = "vireo0";
	strcpy(B->dbg.name, "vireo0");
	B->vd.debugfs = &B->dbg;
	B->vd.ops = &ops;
	INIT_LIST_HEAD(&B->vd.vqs);
	for (i = 0; i < drv->feature_table_size; i++)
		if (offer & BIT_ULL(drv->feature_table[i]))
			f |= BIT_ULL(drv->feature_table[i]);
	B->vd.features.w[0] = f;
	return B;
}

/* validate and probe; the probe's own line is not counted. */
static int bdev_probe(void)
{
	int err = bshim_driver->validate(&B->vd);

	if (!err)
		err = bshim_driver->probe(&B->vd);
	if (!err && strstr(shim_log_last, "balloon:"))
		shim_log_count--;
	return err;
}

static void bdev_free(void)
{
	CHECK_EQ(B->nvq, 0);
	CHECK(list_empty(&B->vd.vqs));
	CHECK_EQ(bshim_page_bugs, 0);
	CHECK_EQ(bshim_lock_bugs, 0);
	CHECK_EQ(B->bugs, 0);
	CHECK_EQ(B->kicks_after_reset, 0);
	free(B);
	B = NULL;
	bshim_may_free = NULL;
	bshim_may_enqueue = NULL;
	bshim_tick = NULL;
}

/* The host sets a target; config interrupt. */
static void target(u32 pages)
{
	B->cfg.num_pages = cpu_to_le32(pages);
	bshim_driver->config_changed(&B->vd);
}

/*
 * Runs work until none is left (at most @max items); after each item
 * `actual` must be what the device holds. Returns the items run.
 */
static unsigned int settle(unsigned int max)
{
	unsigned int n = 0;

	while (n < max && bshim_run_one()) {
		n++;
		if (!READ_ONCE(vb_of()->dead) && B->held != le32_to_cpu(B->cfg.actual))
			bug("after a batch the device holds %u pages, actual is %u",
			    B->held, le32_to_cpu(B->cfg.actual));
	}
	return n;
}

static unsigned int pages_in(enum bshim_owner o)
{
	unsigned int i, n = 0;

	for (i = 0; i < BSHIM_NR_PAGES; i++)
		n += bshim_pages[i].owner == o;
	return n;
}

static u64 offer_of(const void *arg)
{
	return *(const u64 *)arg;
}

/* ---- tests ---------------------------------------------------------------- */

/* Towards the target and back, with targets changing under the worker. */
static void t_follow(const void *arg)
{
	bdev_new(offer_of(arg));
	CHECK_EQ(bdev_probe(), 0);
	settle(100);
	CHECK_EQ(B->cfg.actual, 0);

	target(1000);
	settle(100);
	CHECK_EQ(B->held, 1000);
	CHECK_EQ(B->cfg.actual, 1000);
	CHECK_EQ(pages_in(BP_BALLOON), 1000);
	CHECK_EQ(bshim_managed, -1000);
	/* Batches of VBALLOON_BATCH PFNs. */
	CHECK_EQ(B->inflates, (1000 + VBALLOON_BATCH - 1) / VBALLOON_BATCH);

	target(300);
	settle(100);
	CHECK_EQ(B->held, 300);
	CHECK_EQ(B->cfg.actual, 300);
	CHECK_EQ(bshim_managed, -300);

	/* Faster than the worker: it ends at the last target. */
	target(2000);
	CHECK_EQ(settle(2), 2);
	target(50);
	CHECK_EQ(settle(1), 1);
	target(1200);
	settle(100);
	CHECK_EQ(B->held, 1200);
	target(0);
	settle(100);
	CHECK_EQ(B->held, 0);
	CHECK_EQ(B->cfg.actual, 0);
	CHECK_EQ(bshim_free_pages(), BSHIM_NR_PAGES);
	CHECK_EQ(bshim_managed, 0);
	CHECK_EQ(shim_log_count, 0);

	bshim_driver->remove(&B->vd);
	bdev_free();
}

/*
 * The device answers each inflate and deflate 2 s late: the pages stay the
 * driver's until then (the page shim fails a page freed while the device
 * holds it or has it in flight).
 */
static void t_must_tell_host(const void *arg)
{
	bdev_new(offer_of(arg));
	CHECK(vireo_has_feature(&B->vd, VIRTIO_BALLOON_F_MUST_TELL_HOST));
	CHECK_EQ(bdev_probe(), 0);
	B->late_ms = 2000;
	target(600);
	settle(100);
	CHECK_EQ(B->held, 600);
	target(100);
	settle(100);
	CHECK_EQ(B->held, 100);
	/* One 2 s wait per request: 600 in, 500 out, VBALLOON_BATCH each. */
	CHECK_EQ(B->deflates, (500 + VBALLOON_BATCH - 1) / VBALLOON_BATCH);
	CHECK(bshim_now >= ((600 + VBALLOON_BATCH - 1) / VBALLOON_BATCH +
			    (500 + VBALLOON_BATCH - 1) / VBALLOON_BATCH) * 2000);
	/* Remove deflates too, and waits for the acknowledgement. */
	bshim_driver->remove(&B->vd);
	CHECK_EQ(B->cfg.actual, 0);
	CHECK_EQ(bshim_free_pages(), BSHIM_NR_PAGES);
	CHECK_EQ(shim_log_count, 0);
	bdev_free();
}

/*
 * After a target above memory: two lines (the target, "cannot inflate"),
 * then target 0 gives every page back and remove leaves none behind.
 */
static void short_of_memory_then_back(void)
{
	CHECK_EQ(shim_log_count, 2);
	CHECK(strstr(shim_log_last, "cannot inflate to") != NULL);
	bshim_alloc_budget = UINT_MAX;
	target(0);
	settle(100);
	CHECK_EQ(B->held, 0);
	bshim_driver->remove(&B->vd);
	CHECK_EQ(bshim_free_pages(), BSHIM_NR_PAGES);
	bdev_free();
}

/* A target above the guest's memory: as far as memory allows, two lines. */
static void t_short_of_memory(const void *arg)
{
	unsigned int n;

	bdev_new(offer_of(arg));
	CHECK_EQ(bdev_probe(), 0);
	shim_log_quiet = true;
	bshim_alloc_budget = 700;
	target(BSHIM_NR_PAGES * 2);
	/* Retries back off: bounded work in a bounded (virtual) time. */
	n = settle(40);
	CHECK_EQ(n, 40);
	CHECK_EQ(B->held, 700);
	short_of_memory_then_back();
}

/*
 * A target above the guest's memory, every allocation granted: the
 * balloon stops where 1/64 of the guest's memory is left available, says
 * so once, and gives everything back when the target falls.
 */
static void t_floor(const void *arg)
{
	bdev_new(offer_of(arg));
	CHECK_EQ(bdev_probe(), 0);
	shim_log_quiet = true;
	target(BSHIM_NR_PAGES * 2);
	settle(40);
	CHECK(bshim_free_pages() >= BSHIM_NR_PAGES / 64);
	CHECK(bshim_free_pages() <= BSHIM_NR_PAGES / 64 + 1);
	CHECK_EQ(B->held, BSHIM_NR_PAGES - bshim_free_pages());
	short_of_memory_then_back();
}

/* Remove and freeze with the balloon inflated: every page back. */
static void t_remove_freeze(const void *arg)
{
	bdev_new(offer_of(arg));
	CHECK_EQ(bdev_probe(), 0);
	target(900);
	settle(100);
	CHECK_EQ(B->held, 900);
	CHECK_EQ(bshim_driver->freeze(&B->vd), 0);
	CHECK_EQ(B->held, 0);
	CHECK_EQ(B->cfg.actual, 0);
	CHECK_EQ(B->nvq, 0);
	CHECK_EQ(bshim_free_pages(), BSHIM_NR_PAGES);
	CHECK_EQ(bshim_npending(), 0);
	/* Restore: the bus's handshake, then the driver fills it again. */
	B->status = 0;
	CHECK_EQ(bshim_driver->restore(&B->vd), 0);
	settle(100);
	CHECK_EQ(B->held, 900);
	bshim_driver->remove(&B->vd);
	CHECK_EQ(B->held, 0);
	CHECK_EQ(B->cfg.actual, 0);
	CHECK_EQ(bshim_free_pages(), BSHIM_NR_PAGES);
	CHECK_EQ(bshim_managed, 0);
	CHECK_EQ(shim_log_count, 0);
	bdev_free();
}

/*
 * A device that never returns a buffer (arg: the queue it keeps, 0
 * inflate, 1 deflate): after abort_timeout the driver logs one line,
 * resets the device and gives every page back; target changes, freeze and
 * remove then finish at once and say nothing more.
 */
static void t_never_returns(const void *arg)
{
	int q = *(const int *)arg;
	unsigned long t0;

	bdev_new(BIT_ULL(VIRTIO_BALLOON_F_MUST_TELL_HOST) |
		 BIT_ULL(VIRTIO_BALLOON_F_STATS_VQ));
	CHECK_EQ(bdev_probe(), 0);
	shim_log_quiet = true;
	if (q == 1) {
		target(500);
		settle(100);
		CHECK_EQ(B->held, 500);
	}
	B->hold[q] = true;
	t0 = bshim_now;
	target(q == 1 ? 0 : 500);
	settle(100);
	CHECK(vb_of()->dead);
	CHECK_EQ(shim_log_count, 1);
	CHECK(strstr(shim_log_last, q ? "kept a request on its deflate queue for 30 s"
				      : "kept a request on its inflate queue for 30 s") != NULL);
	CHECK(bshim_now - t0 >= ABORT_S * 1000);
	CHECK(bshim_now - t0 <= (ABORT_S + 2) * 1000);
	CHECK_EQ(B->resets, 1);
	/* The reset device holds nothing: the pages went back meanwhile. */
	CHECK_EQ(pages_in(BP_BALLOON) + vb_of()->num_pages,
		 q == 1 ? 2 * vb_of()->num_pages : 0);

	t0 = bshim_now;
	target(800);
	CHECK(settle(100) <= 1);
	CHECK_EQ(bshim_driver->freeze(&B->vd), 0);
	CHECK_EQ(bshim_now, t0);
	CHECK_EQ(bshim_free_pages(), BSHIM_NR_PAGES);
	bshim_driver->remove(&B->vd);
	CHECK_EQ(bshim_now, t0);
	CHECK_EQ(shim_log_count, 1);
	bdev_free();
}

/* Remove while the device keeps a deflate: bounded by abort_timeout once. */
static void t_remove_stuck(const void *arg)
{
	bdev_new(BIT_ULL(VIRTIO_BALLOON_F_MUST_TELL_HOST));
	CHECK_EQ(bdev_probe(), 0);
	shim_log_quiet = true;
	target(1000);
	settle(100);
	B->hold[1] = true;
	bshim_driver->remove(&B->vd);
	CHECK_EQ(shim_log_count, 1);
	CHECK(bshim_now <= (ABORT_S + 2) * 1000);
	CHECK_EQ(bshim_free_pages(), BSHIM_NR_PAGES);
	CHECK_EQ(bshim_managed, 0);
	bdev_free();
}

/* Statistics, byte by byte from the device's side. */
static void t_stats(const void *arg)
{
	static const unsigned int ev_of[] = { PSWPIN, PSWPOUT, PGMAJFAULT, PGFAULT };
	char buf[4096], line[64];
	unsigned int i;
	u64 want[16];

	bdev_new(BIT_ULL(VIRTIO_BALLOON_F_STATS_VQ));
	for (i = 0; i < NR_VM_EVENT_ITEMS; i++)
		bshim_events[i] = 1000 + 17 * i;
	/* Large enough to need all 64 bits. */
	bshim_events[PGFAULT] = 0x123456789abcdefULL;
	bshim_si.totalram = 0x40000;
	bshim_si.freeram = 0x1234;
	bshim_available = 0x2345;
	bshim_file_pages = 0x3456;
	CHECK_EQ(bdev_probe(), 0);
	CHECK(B->stats_held);
	CHECK_EQ(B->stats_bufs, 1);
	CHECK_EQ(B->stats_n, 16);

	for (i = 0; i < 4; i++)
		want[i] = bshim_events[ev_of[i]] * (i < 2 ? 4096 : 1);
	want[4] = 0x1234ULL * 4096;
	want[5] = 0x40000ULL * 4096;
	want[6] = 0x2345ULL * 4096;
	want[7] = 0x3456ULL * 4096;
	want[8] = bshim_events[HTLB_BUDDY_PGALLOC];
	want[9] = bshim_events[HTLB_BUDDY_PGALLOC_FAIL];
	want[10] = bshim_events[OOM_KILL];
	want[11] = bshim_events[ALLOCSTALL_DMA] + bshim_events[ALLOCSTALL_DMA32] +
		   bshim_events[ALLOCSTALL_NORMAL] + bshim_events[ALLOCSTALL_MOVABLE];
	want[12] = bshim_events[PGSCAN_KSWAPD] * 4096;
	want[13] = bshim_events[PGSCAN_DIRECT] * 4096;
	want[14] = bshim_events[PGSTEAL_KSWAPD] * 4096;
	want[15] = bshim_events[PGSTEAL_DIRECT] * 4096;
	for (i = 0; i < 16 && i < B->stats_n; i++) {
		CHECK_EQ(B->stats_tag[i], i);
		CHECK_EQ(B->stats_val[i], want[i]);
	}

	/* The host asks for fresh ones: returns the buffer; a new one comes. */
	bshim_events[OOM_KILL] = 7;
	bshim_events[PGSTEAL_DIRECT] = 9;
	B->stats_held = false;
	complete(B->qstats, &B->stats_elem);
	settle(10);
	CHECK(B->stats_held);
	CHECK_EQ(B->stats_bufs, 2);
	CHECK_EQ(B->stats_tag[10], VIRTIO_BALLOON_S_OOM_KILL);
	CHECK_EQ(B->stats_val[10], 7);
	CHECK_EQ(B->stats_tag[15], VIRTIO_BALLOON_S_DIRECT_RECLAIM);
	CHECK_EQ(B->stats_val[15], 9 * 4096);

	/* debugfs shows the buffer the device holds. */
	CHECK_EQ(shim_debugfs_read(vb_of()->debugfs, buf, sizeof(buf)), 0);
	CHECK(strstr(buf, "stats_sent: 2\n") != NULL);
	CHECK(strstr(buf, "stat 10 oom-kills 7\n") != NULL);
	snprintf(line, sizeof(line), "stat 15 direct-reclaims %u\n", 9 * 4096);
	CHECK(strstr(buf, line) != NULL);
	CHECK_EQ(shim_log_count, 0);
	bshim_driver->remove(&B->vd);
	bdev_free();
}

/* Compaction migrates a ballooned page. */
static void t_migrate(const void *arg)
{
	struct vballoon *vb;
	struct page *old, *new;
	unsigned int i, moved = 0, before;
	int r;

	bdev_new(offer_of(arg));
	CHECK_EQ(bdev_probe(), 0);
	vb = vb_of();
	target(300);
	settle(100);
	before = B->inflates;
	bshim_events[BALLOON_MIGRATE] = 0;
	for (i = 0; i < 20; i++) {
		/* What compaction does: isolate, a free target page, migrate. */
		old = list_entry(vb->bdi.pages.next, struct page, lru);
		CHECK_EQ(B->host[old - bshim_pages], H_HELD);
		list_del(&old->lru);
		old->owner = BP_ISOLATED;
		vb->bdi.isolated_pages++;
		new = bshim_alloc_free();
		if (i == 0) {
			/* Busy balloon: refused, compaction puts the page back. */
			mutex_lock(&vb->lock);
			r = vb->bdi.migratepage(&vb->bdi, new, old, MIGRATE_SYNC);
			mutex_unlock(&vb->lock);
			CHECK_EQ(r, -EAGAIN);
		}
		B->migrating = true;
		r = vb->bdi.migratepage(&vb->bdi, new, old, MIGRATE_SYNC);
		B->migrating = false;
		CHECK_EQ(r, MIGRATEPAGE_SUCCESS);
		/* The migration core drops its reference to the new page. */
		put_page(new);
		moved += old->owner == BP_FREE && new->owner == BP_BALLOON;
	}
	CHECK_EQ(moved, 20);
	CHECK_EQ(vb->bdi.isolated_pages, 0);
	CHECK_EQ(B->held, 300);
	CHECK_EQ(B->cfg.actual, 300);
	CHECK_EQ(B->inflates - before, 20);
	CHECK_EQ(bshim_events[BALLOON_MIGRATE], 20);
	CHECK_EQ(bshim_managed, -300);
	bshim_driver->remove(&B->vd);
	CHECK_EQ(bshim_free_pages(), BSHIM_NR_PAGES);
	CHECK_EQ(bshim_managed, 0);
	bdev_free();
}

/* Deflate on OOM: 1 MiB back per notification, MemTotal never moved. */
static void t_oom(const void *arg)
{
	unsigned long freed = 0;

	bdev_new(BIT_ULL(VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	CHECK_EQ(bdev_probe(), 0);
	target(1000);
	settle(100);
	CHECK_EQ(bshim_managed, 0);
	CHECK(bshim_oom_nb != NULL);
	shim_log_quiet = true;
	bshim_oom_nb->notifier_call(bshim_oom_nb, 0, &freed);
	CHECK_EQ(freed, 256);
	CHECK_EQ(B->held, 744);
	CHECK_EQ(B->cfg.actual, 744);
	CHECK_EQ(vb_of()->oom_freed, 256);
	CHECK_EQ(shim_log_count, 1);
	bshim_driver->remove(&B->vd);
	CHECK(bshim_oom_nb == NULL);
	CHECK_EQ(bshim_free_pages(), BSHIM_NR_PAGES);
	bdev_free();
}

/*
 * Page poisoning: offered and poisoning on, poison_val is the pattern
 * before DRIVER_OK (0 with init_on_free); poisoning on but the bit not
 * offered: no reporting; poisoning off: the bit is not taken.
 */
static void t_poison(const void *arg)
{
	const u64 both = BIT_ULL(VIRTIO_BALLOON_F_PAGE_POISON) |
			 BIT_ULL(VIRTIO_BALLOON_F_REPORTING);

	bdev_new(both);
	bshim_page_poisoning = true;
	CHECK_EQ(bdev_probe(), 0);
	CHECK(vireo_has_feature(&B->vd, VIRTIO_BALLOON_F_PAGE_POISON));
	CHECK(vireo_has_feature(&B->vd, VIRTIO_BALLOON_F_REPORTING));
	CHECK_EQ(B->cfg.poison_val, 0xaaaaaaaa);
	CHECK(bshim_prdev != NULL);
	bshim_driver->remove(&B->vd);
	bdev_free();

	bdev_new(both);
	bshim_init_on_free = true;
	B->cfg.poison_val = 0x55;
	CHECK_EQ(bdev_probe(), 0);
	CHECK(vireo_has_feature(&B->vd, VIRTIO_BALLOON_F_PAGE_POISON));
	CHECK_EQ(B->cfg.poison_val, 0);
	bshim_driver->remove(&B->vd);
	bdev_free();

	bdev_new(BIT_ULL(VIRTIO_BALLOON_F_REPORTING));
	bshim_page_poisoning = true;
	CHECK_EQ(bdev_probe(), 0);
	CHECK(!vireo_has_feature(&B->vd, VIRTIO_BALLOON_F_REPORTING));
	CHECK(bshim_prdev == NULL);
	bshim_driver->remove(&B->vd);
	bdev_free();

	bdev_new(both);
	CHECK_EQ(bdev_probe(), 0);
	CHECK(!vireo_has_feature(&B->vd, VIRTIO_BALLOON_F_PAGE_POISON));
	CHECK(vireo_has_feature(&B->vd, VIRTIO_BALLOON_F_REPORTING));
	CHECK_EQ(B->cfg.poison_val, 0);
	bshim_driver->remove(&B->vd);
	bdev_free();
}

/* Free page reporting: one device-writable request; a stuck one ends. */
static void t_report(const void *arg)
{
	static u8 mem[3][2 << 20] __attribute__((aligned(4096)));
	struct scatterlist sg[3];
	unsigned int i;

	bdev_new(BIT_ULL(VIRTIO_BALLOON_F_REPORTING));
	CHECK_EQ(bdev_probe(), 0);
	CHECK(bshim_prdev != NULL);
	sg_init_table(sg, 3);
	for (i = 0; i < 3; i++) {
		shim_mem_register(mem[i], sizeof(mem[i]));
		sg_set_buf(&sg[i], mem[i], sizeof(mem[i]));
	}
	CHECK_EQ(bshim_prdev->report(bshim_prdev, sg, 3), 0);
	CHECK_EQ(B->reports, 1);
	CHECK_EQ(B->report_bytes, 3 * (2 << 20));
	CHECK_EQ(vb_of()->reported, 3 * 512);

	shim_log_quiet = true;
	B->hold[B->qreport] = true;
	CHECK_EQ(bshim_prdev->report(bshim_prdev, sg, 3), -EIO);
	CHECK(bshim_now <= (ABORT_S + 1) * 1000);
	CHECK_EQ(shim_log_count, 1);
	CHECK_EQ(bshim_prdev->report(bshim_prdev, sg, 3), -EIO);
	CHECK_EQ(shim_log_count, 1);
	bshim_driver->remove(&B->vd);
	for (i = 0; i < 3; i++)
		shim_mem_unregister(mem[i]);
	bdev_free();
}

int main(void)
{
	static const u64 split = BIT_ULL(VIRTIO_BALLOON_F_MUST_TELL_HOST);
	static const u64 packed = BIT_ULL(VIRTIO_BALLOON_F_MUST_TELL_HOST) |
				  BIT_ULL(VIRTIO_F_RING_PACKED);
	static const u64 plain;
	static const int inflateq, deflateq = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	t_run("balloon: follows the target (split, MUST_TELL_HOST)", t_follow, &split);
	t_run("balloon: follows the target (packed, MUST_TELL_HOST)", t_follow, &packed);
	t_run("balloon: follows the target (without MUST_TELL_HOST)", t_follow, &plain);
	t_run("balloon: MUST_TELL_HOST: pages stay the driver's until acked (split)", t_must_tell_host, &split);
	t_run("balloon: MUST_TELL_HOST: pages stay the driver's until acked (packed)", t_must_tell_host, &packed);
	t_run("balloon: a target above memory: inflates what it can, two lines", t_short_of_memory, &split);
	t_run("balloon: a target above memory, every allocation granted: stops at the floor", t_floor, &split);
	t_run("balloon: freeze, restore and remove give every page back", t_remove_freeze, &split);
	t_run("balloon: a device that never returns an inflate", t_never_returns, &inflateq);
	t_run("balloon: a device that never returns a deflate", t_never_returns, &deflateq);
	t_run("balloon: remove while the device keeps a deflate", t_remove_stuck, NULL);
	t_run("balloon: statistics tags 0-15 byte by byte", t_stats, NULL);
	t_run("balloon: migration: new page inflated, then the old deflated (split)", t_migrate, &split);
	t_run("balloon: migration (packed)", t_migrate, &packed);
	t_run("balloon: deflate on OOM", t_oom, NULL);
	t_run("balloon: page poisoning", t_poison, NULL);
	t_run("balloon: free page reporting, and a report the device keeps", t_report, NULL);
	return t_summary();
}
