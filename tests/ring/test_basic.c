// SPDX-License-Identifier: GPL-2.0
/*
 * Functional tests: creation, layouts, add/kick/get_buf with an honest
 * device many times around the ring, out-of-order completion, indirect
 * tables and their fallback, DMA mapping, detach_unused, debugfs.
 */
#include "tests.h"

const struct cfg t_cfgs[] = {
	{ "split", F_V1, 0, 8 },
	{ "split event_idx", F_V1 | F_EVENT, 0, 8 },
	{ "split indirect", F_V1 | F_INDIRECT, 0, 8 },
	{ "split event_idx indirect", F_V1 | F_EVENT | F_INDIRECT, 0, 16 },
	{ "split dma", F_V1 | F_DMA, 0, 8 },
	{ "split dma event_idx indirect order", F_V1 | F_DMA | F_EVENT | F_INDIRECT | F_ORDER, 0, 4 },
	{ "split size 1", F_V1 | F_EVENT, 0, 1 },
	{ "split size 256 indirect", F_V1 | F_INDIRECT | F_EVENT, 0, 256 },
	{ "split-legacy", 0, 4096, 8 },
	{ "split-legacy event_idx indirect", F_EVENT | F_INDIRECT, 4096, 32 },
	{ "packed", F_V1 | F_PACKED, 0, 8 },
	{ "packed size 7", F_V1 | F_PACKED, 0, 7 },
	{ "packed event_idx", F_V1 | F_PACKED | F_EVENT, 0, 8 },
	{ "packed indirect", F_V1 | F_PACKED | F_INDIRECT, 0, 5 },
	{ "packed event_idx indirect", F_V1 | F_PACKED | F_EVENT | F_INDIRECT, 0, 16 },
	{ "packed dma", F_V1 | F_PACKED | F_DMA, 0, 8 },
	{ "packed dma event_idx indirect order", F_V1 | F_PACKED | F_DMA | F_EVENT | F_INDIRECT | F_ORDER, 0, 6 },
	{ "packed size 1", F_V1 | F_PACKED | F_EVENT, 0, 1 },
	{ "packed size 300 indirect", F_V1 | F_PACKED | F_INDIRECT | F_EVENT, 0, 300 },
};
const unsigned int t_ncfgs = ARRAY_SIZE(t_cfgs);

/* ---- helpers shared with the other test files ---------------------------- */

struct tbuf *t_random_buf(unsigned int max_segs, u8 seed)
{
	unsigned int nout, nin, i;
	u32 lens[2 * TB_MAX];

	do {
		nout = t_rand() % (TB_MAX + 1);
		nin = t_rand() % (TB_MAX + 1);
	} while (!(nout + nin) || nout + nin > max_segs);
	for (i = 0; i < nout + nin; i++)
		lens[i] = 1 + t_rand() % 96;
	return tbuf_new(nout, nin, lens, seed);
}

struct tbuf *t_simple_buf(unsigned int nout, unsigned int nin, u8 seed)
{
	u32 lens[2 * TB_MAX] = { 16, 24, 8, 40, 12, 32, 20, 4 };

	return tbuf_new(nout, nin, lens, seed);
}

/* The device takes one buffer and checks it is @b. */
bool t_dev_pop(struct th *t, struct sim_elem *e, const struct tbuf *b)
{
	int r = sim_pop(&t->sim, e);

	if (r != 1) {
		printf("#   sim_pop: %d (%s)\n", r, t->sim.error ? t->sim.error : "-");
		return false;
	}
	return !b || tbuf_matches_elem(b, e);
}

/* The device writes @len bytes (pattern @seed) and marks @e used. */
void t_dev_complete(struct th *t, const struct sim_elem *e, u32 len, u8 seed)
{
	sim_fill(e, seed, len);
	sim_push(&t->sim, e, len);
}

/* Expects @b back with @len. */
bool t_get(struct th *t, struct tbuf *b, u32 len)
{
	unsigned int l = ~0U;
	void *tok = vireo_vq_get_buf(t->vq, &l);

	if (tok != b || l != len) {
		printf("#   get_buf: %p len %u, expected %p len %u\n", tok, l,
		       (void *)b, len);
		return false;
	}
	return true;
}

/* ---- creation and layout -------------------------------------------------- */

static void t_create(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = th_new(c->features, c->num, c->legacy_align);
	struct vireo_ring *vr = t->vr;
	u64 d = vireo_vq_desc_addr(t->vq);

	CHECK_EQ(vireo_vq_size(t->vq), c->num);
	CHECK_EQ(vireo_vq_num_free(t->vq), c->num);
	CHECK(!vireo_vq_is_broken(t->vq));
	CHECK(!vireo_vq_more_used(t->vq));
	CHECK(vireo_vq_get_buf(t->vq, NULL) == NULL);
	CHECK_EQ(vr->is_packed, !!(c->features & F_PACKED));
	CHECK_EQ(vr->event_idx, !!(c->features & F_EVENT));
	CHECK_EQ(vr->indirect, !!(c->features & F_INDIRECT));
	CHECK_EQ(vr->use_dma_api, !!(c->features & F_DMA));
	CHECK_EQ(vr->weak_barriers, !(c->features & F_ORDER));
	/* Addresses the device gets are DMA handles exactly in DMA mode. */
	CHECK_EQ(d >= SHIM_DMA_OFFSET, !!(c->features & F_DMA));
	if (c->legacy_align) {
		/* virtio 1.2, 2.7.2: one area, used ring at the next Queue Align. */
		u64 n = c->num;

		CHECK_EQ(vireo_vq_driver_addr(t->vq) - d, 16 * n);
		CHECK_EQ(vireo_vq_device_addr(t->vq) - d,
			 ALIGN(16 * n + 2 * (3 + n), (u64)c->legacy_align));
		CHECK_EQ(d % c->legacy_align, 0);
	}
	/* The split avail ring starts with flags 0, as does the used ring. */
	if (!vr->is_packed) {
		CHECK_EQ(sim_split_avail_flags(&t->sim), 0);
		CHECK_EQ(vr->split.used->flags, 0);
	} else if (vr->event_idx) {
		/* Like used_event = 0: notify for the first used buffer. */
		CHECK_EQ(sim_packed_driver_flags(&t->sim), VRING_PACKED_EVENT_FLAG_DESC);
		CHECK_EQ(sim_packed_driver_off_wrap(&t->sim), 0x8000);
	} else {
		CHECK_EQ(sim_packed_driver_flags(&t->sim), VRING_PACKED_EVENT_FLAG_ENABLE);
	}
	th_del(t);
}

static void t_invalid(const void *arg)
{
	long err = 0;

	(void)arg;
	CHECK(!th_try_new(F_V1, 0, 0, true, &err));
	CHECK_EQ(err, -EINVAL);
	CHECK(!th_try_new(F_V1, 12, 0, true, &err));	/* split: power of 2 */
	CHECK_EQ(err, -EINVAL);
	CHECK(!th_try_new(F_V1, 65536, 0, true, &err));
	CHECK_EQ(err, -EINVAL);
	CHECK(!th_try_new(F_V1 | F_PACKED, 32769, 0, true, &err));
	CHECK_EQ(err, -EINVAL);
	CHECK(!th_try_new(F_V1 | F_PACKED, 8, 4096, true, &err)); /* legacy packed */
	CHECK_EQ(err, -EINVAL);
	CHECK(!th_try_new(0, 8, 3000, true, &err));	/* align not a power of 2 */
	CHECK_EQ(err, -EINVAL);
	CHECK(!th_try_new(0, 8, 2 * PAGE_SIZE, true, &err));
	CHECK_EQ(err, -EINVAL);
}

static void t_big_sizes(const void *arg)
{
	struct th *t;

	(void)arg;
	t = th_new(F_V1 | F_EVENT, 32768, 0);
	CHECK_EQ(vireo_vq_size(t->vq), 32768);
	th_del(t);
	t = th_new(F_V1 | F_PACKED, 32768, 0);
	CHECK_EQ(vireo_vq_size(t->vq), 32768);
	th_del(t);
	t = th_new(0, 32768, 4096);
	CHECK_EQ(vireo_vq_size(t->vq), 32768);
	th_del(t);
}

/* Ring memory short: halve, down to a quarter of the request. */
static void t_shrink(const void *arg)
{
	long err = 0;
	struct th *t;

	(void)arg;
	shim_area_limit = 16 * 256;		/* a 256-entry descriptor table */
	t = th_new(F_V1, 1024, 0);
	CHECK_EQ(vireo_vq_size(t->vq), 256);
	th_del(t);
	t = th_new(F_V1 | F_PACKED | F_DMA, 1000, 0);
	CHECK_EQ(vireo_vq_size(t->vq), 250);
	th_del(t);
	CHECK(!th_try_new(F_V1, 2048, 0, true, &err));	/* 512 < 2048 / 4 */
	CHECK_EQ(err, -ENOMEM);
	shim_area_limit = 0;
}

/* ---- add, kick, get_buf with an honest device ----------------------------- */

/* The layout the ring chooses for @total buffers on an empty ring of @c. */
static bool t_expect_indirect(const struct cfg *c, unsigned int total)
{
	if (!(c->features & F_INDIRECT) || total < 2)
		return false;
	return total > VIREO_RING_DIRECT_MAX || c->num < total + c->num / 2;
}

static void t_roundtrip(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = th_new(c->features, c->num, c->legacy_align);
	/*
	 * Five buffers where the ring holds them: more than
	 * VIREO_RING_DIRECT_MAX, so rings with INDIRECT_DESC use a table.
	 */
	struct tbuf *b = t_simple_buf(c->num >= 5 ? 4 : c->num >= 3 ? 2 : 0, 1, 3);
	struct sim_elem e;
	unsigned int i;

	for (i = 0; i < 3 * c->num + 2; i++) {
		CHECK_EQ(tbuf_add(t, b, i, GFP_KERNEL), 0);
		CHECK(vireo_vq_kick(t->vq));
		CHECK(t_dev_pop(t, &e, b));
		CHECK_EQ(e.indirect, t_expect_indirect(c, b->nout + b->nin));
		CHECK(!vireo_vq_more_used(t->vq));
		t_dev_complete(t, &e, 5, (u8)i);
		CHECK(vireo_vq_more_used(t->vq));
		CHECK_EQ(vireo_vq_interrupt(t->vq), IRQ_HANDLED);
		CHECK(t_get(t, b, 5));
		CHECK(tbuf_check_in(b, 5, (u8)i));
		CHECK_EQ(vireo_vq_num_free(t->vq), c->num);
		CHECK(vireo_vq_get_buf(t->vq, NULL) == NULL);
	}
	CHECK_EQ(vireo_vq_interrupt(t->vq), IRQ_NONE);
	CHECK_EQ(t->callbacks, 3 * c->num + 2);
	CHECK_EQ(t->vr->stats.added, 3 * c->num + 2);
	CHECK_EQ(t->vr->stats.used, 3 * c->num + 2);
	CHECK_EQ(atomic64_read(&t->vr->stats.spurious), 1);
	CHECK_EQ(shim_log_count, 0);
	th_del(t);
	tbuf_free(b);
}

/*
 * Many times around the ring: random requests, the device taking them in
 * batches and completing them in random order, the driver reaping at
 * random moments; every token comes back once with its length and data.
 */
#define STRESS_MAX	512
static void t_stress(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = th_new(c->features, c->num, c->legacy_align);
	struct tbuf *live[STRESS_MAX];
	struct sim_elem *pend = calloc(STRESS_MAX, sizeof(*pend));
	struct tbuf *pend_b[STRESS_MAX];
	unsigned int nlive = 0, npend = 0, i, j, ops = 60 * c->num + 400;
	unsigned int added = 0, reaped = 0, max_segs;
	u8 seed = 1;

	t_srand(c->num * 1000003ULL + c->features);
	max_segs = c->num < 2 * TB_MAX ? c->num : 2 * TB_MAX;
	if (c->features & F_PACKED)
		t->sim.no_write_flag = c->num & 1;	/* QEMU's used descriptors */
	for (i = 0; i < ops && !t_failed; i++) {
		unsigned int r = t_rand() % 10;

		if (r < 4 && nlive < STRESS_MAX) {
			struct tbuf *b = t_random_buf(max_segs, seed++);
			unsigned int free_before = vireo_vq_num_free(t->vq);
			int err = tbuf_add(t, b, t_rand(), GFP_KERNEL);

			if (!err) {
				live[nlive++] = b;
				added++;
				CHECK(vireo_vq_num_free(t->vq) < free_before);
			} else {
				CHECK_EQ(err, -ENOSPC);
				CHECK(free_before < b->nout + b->nin ||
				      (free_before == 0));
				tbuf_free(b);
			}
		} else if (r == 4) {
			CHECK(vireo_vq_kick(t->vq));
		} else if (r < 7) {
			struct sim_elem e;

			while (npend < STRESS_MAX && sim_pop(&t->sim, &e) == 1) {
				for (j = 0; j < nlive; j++)
					if (tbuf_owns_elem(live[j], &e))
						break;
				CHECK(j < nlive);
				if (j == nlive)
					break;
				CHECK(tbuf_matches_elem(live[j], &e));
				CHECK(!live[j]->completed);
				pend[npend] = e;
				pend_b[npend++] = live[j];
			}
			CHECK(t->sim.error == NULL);
		} else if (r < 9 && npend) {
			unsigned int k = t_rand() % npend;
			struct tbuf *b = pend_b[k];
			u32 len = b->total_in ? t_rand() % (b->total_in + 1) : 0;

			t_dev_complete(t, &pend[k], len, b->seed);
			b->done_len = len;
			b->completed = true;
			pend[k] = pend[--npend];
			pend_b[k] = pend_b[npend];
			if (t_rand() % 2)
				sim_flush(&t->sim);
		} else {
			unsigned int len;
			struct tbuf *b;

			while ((b = vireo_vq_get_buf(t->vq, &len))) {
				for (j = 0; j < nlive; j++)
					if (live[j] == b)
						break;
				CHECK(j < nlive);
				if (j == nlive)
					break;
				CHECK(b->completed);
				CHECK_EQ(len, b->done_len);
				CHECK(tbuf_check_in(b, len, b->seed));
				live[j] = live[--nlive];
				tbuf_free(b);
				reaped++;
			}
		}
	}
	/* Finish: the device completes everything, the driver reaps it all. */
	for (i = 0; i < 4 * STRESS_MAX && nlive && !t_failed; i++) {
		struct sim_elem e;
		unsigned int len;
		struct tbuf *b;

		vireo_vq_kick(t->vq);
		while (sim_pop(&t->sim, &e) == 1) {
			for (j = 0; j < nlive; j++)
				if (tbuf_owns_elem(live[j], &e))
					break;
			CHECK(j < nlive);
			if (j == nlive)
				break;
			live[j]->done_len = live[j]->total_in;
			live[j]->completed = true;
			t_dev_complete(t, &e, live[j]->total_in, live[j]->seed);
		}
		while (npend) {
			npend--;
			pend_b[npend]->completed = true;
			pend_b[npend]->done_len = 0;
			t_dev_complete(t, &pend[npend], 0, 0);
		}
		while ((b = vireo_vq_get_buf(t->vq, &len))) {
			for (j = 0; j < nlive; j++)
				if (live[j] == b)
					break;
			CHECK(j < nlive);
			if (j == nlive)
				break;
			CHECK_EQ(len, b->done_len);
			live[j] = live[--nlive];
			tbuf_free(b);
			reaped++;
		}
	}
	CHECK_EQ(nlive, 0);
	CHECK_EQ(reaped, added);
	CHECK(added > 2 * c->num);
	CHECK_EQ(vireo_vq_num_free(t->vq), c->num);
	CHECK(!vireo_vq_is_broken(t->vq));
	CHECK_EQ(shim_log_count, 0);
	CHECK_EQ(shim_dma_live(), 0);
	if (t->vr->is_packed)	/* the counters went round more than once */
		CHECK((t->vr->stats.added > 2 * c->num));
	for (i = 0; i < nlive; i++)
		tbuf_free(live[i]);
	th_del(t);
	free(pend);
}

/* Without indirect descriptors a full ring says -ENOSPC; with them it holds more. */
static void t_nospc(const void *arg)
{
	struct tbuf *b[9];
	struct th *t;
	unsigned int i;

	(void)arg;
	t = th_new(F_V1, 8, 0);
	for (i = 0; i < 4; i++) {
		b[i] = t_simple_buf(1, 1, (u8)i);
		CHECK_EQ(tbuf_add(t, b[i], i, GFP_KERNEL), 0);
	}
	CHECK_EQ(vireo_vq_num_free(t->vq), 0);
	b[4] = t_simple_buf(1, 0, 9);
	CHECK_EQ(tbuf_add(t, b[4], 0, GFP_KERNEL), -ENOSPC);
	CHECK_EQ(t->vr->stats.full, 1);
	CHECK_EQ(t->vr->stats.added, 4);
	while (vireo_vq_detach_unused(t->vq))
		;
	th_del(t);
	for (i = 0; i < 5; i++)
		tbuf_free(b[i]);

	/* Five buffers: past VIREO_RING_DIRECT_MAX, always behind a table. */
	t = th_new(F_V1 | F_PACKED | F_INDIRECT | F_DMA, 8, 0);
	for (i = 0; i < 8; i++) {
		b[i] = t_simple_buf(3, 2, (u8)i);
		CHECK_EQ(tbuf_add(t, b[i], i, GFP_KERNEL), 0);
	}
	CHECK_EQ(vireo_vq_num_free(t->vq), 0);
	b[8] = t_simple_buf(2, 1, 9);
	CHECK_EQ(tbuf_add(t, b[8], 0, GFP_KERNEL), -ENOSPC);
	for (i = 0; i < 8; i++) {
		struct sim_elem e;

		CHECK(t_dev_pop(t, &e, b[i]));
		CHECK(e.indirect);
		t_dev_complete(t, &e, 0, 0);
	}
	for (i = 0; i < 8; i++)
		CHECK(t_get(t, b[i], 0));
	th_del(t);
	for (i = 0; i < 9; i++)
		tbuf_free(b[i]);
}

/*
 * Short requests go straight into the ring while more than half of it stays
 * free, then behind tables; long ones always behind a table.
 */
static void t_direct_short(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = th_new(c->features | F_INDIRECT, 16, 0);
	static const struct {
		unsigned int nout, nin, free_after;
		bool indirect;
	} step[] = {
		{ 2, 1, 13, false },	/* 16 free >= 3 + 8 */
		{ 1, 1, 11, false },	/* 13 >= 2 + 8 */
		{ 2, 2, 10, true },	/* 11 < 4 + 8 */
		{ 1, 0, 9, false },	/* one buffer: never a table */
		{ 3, 2, 8, true },	/* five buffers: always a table */
	};
	struct tbuf *b[ARRAY_SIZE(step)];
	struct sim_elem e;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(step); i++) {
		b[i] = t_simple_buf(step[i].nout, step[i].nin, (u8)i);
		CHECK_EQ(tbuf_add(t, b[i], i, GFP_KERNEL), 0);
		CHECK_EQ(vireo_vq_num_free(t->vq), step[i].free_after);
	}
	CHECK(vireo_vq_kick(t->vq));
	for (i = 0; i < ARRAY_SIZE(step); i++) {
		CHECK(t_dev_pop(t, &e, b[i]));
		CHECK_EQ(e.indirect, step[i].indirect);
		t_dev_complete(t, &e, step[i].nin ? 1 : 0, 2);
	}
	for (i = 0; i < ARRAY_SIZE(step); i++)
		CHECK(t_get(t, b[i], step[i].nin ? 1 : 0));
	CHECK_EQ(vireo_vq_num_free(t->vq), 16);
	CHECK_EQ(shim_dma_live(), 0);
	th_del(t);
	for (i = 0; i < ARRAY_SIZE(step); i++)
		tbuf_free(b[i]);
}

static void t_einval(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = th_new(c->features, 4, 0);
	struct tbuf *b = t_simple_buf(3, 2, 1);
	struct scatterlist sg, *sgs[1] = { &sg };
	struct sim_elem e;

	if (c->features & F_INDIRECT) {
		/*
		 * Longer than the ring, but one table takes it (as the in-tree
		 * driver allows); without memory for the table it is -ENOMEM,
		 * never -ENOSPC, which would wait for room that never comes.
		 */
		shim_kmalloc_fail = true;
		CHECK_EQ(tbuf_add(t, b, 0, GFP_KERNEL), -ENOMEM);
		shim_kmalloc_fail = false;
		CHECK_EQ(vireo_vq_num_free(t->vq), 4);
		CHECK_EQ(tbuf_add(t, b, 0, GFP_KERNEL), 0);
		CHECK_EQ(vireo_vq_num_free(t->vq), 3);
		vireo_vq_kick(t->vq);
		CHECK(t_dev_pop(t, &e, b));
		CHECK(e.indirect);
		CHECK_EQ(e.nseg, 5);
		t_dev_complete(t, &e, 7, 9);
		sim_flush(&t->sim);
		CHECK(t_get(t, b, 7));
		CHECK(tbuf_check_in(b, 7, 9));
		CHECK_EQ(t->vr->stats.longest_table, 5);
	} else {
		CHECK_EQ(tbuf_add(t, b, 0, GFP_KERNEL), -EINVAL);	/* 5 > 4 */
	}
	sg_init_one(&sg, b->out[0], 4);
	CHECK_EQ(vireo_vq_add_sgs(t->vq, sgs, 1, 0, NULL, GFP_KERNEL), -EINVAL);
	CHECK_EQ(vireo_vq_add_sgs(t->vq, sgs, 0, 0, b, GFP_KERNEL), -EINVAL);
	CHECK_EQ(vireo_vq_add_outbuf(t->vq, &sg, 0, b, GFP_KERNEL), -EINVAL);
	if (!(c->features & F_DMA)) {
		/*
		 * Two buffers, 2^32 bytes in all (virtio 1.2, 2.7.5.2): on a
		 * split ring the pass that writes them finds it, undoes them
		 * and lets the general path refuse it. (Without the DMA API:
		 * the shim maps only memory that exists.)
		 */
		struct scatterlist big[2], *bsgs[2] = { &big[0], &big[1] };

		sg_init_one(&big[0], b->out[0], 4);
		sg_init_one(&big[1], b->out[1], 4);
		big[0].length = 0x80000000u;
		big[1].length = 0x80000000u;
		CHECK_EQ(vireo_vq_add_sgs(t->vq, bsgs, 1, 1, b, GFP_KERNEL),
			 -EINVAL);
		CHECK_EQ(shim_dma_live(), 0);
	}
	CHECK_EQ(vireo_vq_num_free(t->vq), 4);
	CHECK_EQ(shim_dma_live(), 0);
	th_del(t);
	tbuf_free(b);
}

/*
 * Scatterlists as the block layer builds them: arrays chained with
 * sg_chain(). And add_outbuf/add_inbuf take only the first @num entries of
 * a longer list. The device must see exactly those buffers, in order.
 */
static void t_chained_sg(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = th_new(c->features, 16, 0);
	struct scatterlist a[3], b[2], hdr, *sgs[2] = { &hdr, a };
	struct sim_elem e;
	u8 *data[5];
	unsigned int i;

	/* Test buffers the device may read and write (harness.c). */
	for (i = 0; i < 5; i++) {
		data[i] = calloc(1, 32);
		shim_mem_register(data[i], 32);
	}
	/* hdr (readable), then a[0], a[1], b[0], b[1] (writable). */
	sg_init_one(&hdr, data[0], 8);
	sg_init_table(a, 3);
	sg_set_buf(&a[0], data[1], 16);
	sg_set_buf(&a[1], data[2], 24);
	sg_init_table(b, 2);
	sg_set_buf(&b[0], data[3], 4);
	sg_set_buf(&b[1], data[4], 12);
	sg_chain(a, 3, b);

	CHECK_EQ(vireo_vq_add_sgs(t->vq, sgs, 1, 1, data, GFP_KERNEL), 0);
	CHECK(vireo_vq_kick(t->vq));
	CHECK(t_dev_pop(t, &e, NULL));
	CHECK_EQ(e.nseg, 5);
	CHECK(e.seg[0].ptr == data[0] && e.seg[0].len == 8 && !e.seg[0].write);
	CHECK(e.seg[1].ptr == data[1] && e.seg[1].len == 16 && e.seg[1].write);
	CHECK(e.seg[2].ptr == data[2] && e.seg[2].len == 24 && e.seg[2].write);
	CHECK(e.seg[3].ptr == data[3] && e.seg[3].len == 4 && e.seg[3].write);
	CHECK(e.seg[4].ptr == data[4] && e.seg[4].len == 12 && e.seg[4].write);
	CHECK_EQ(e.in_len, 56);
	sim_push(&t->sim, &e, 56);
	CHECK(vireo_vq_get_buf(t->vq, &i) == data && i == 56);

	/* Two of the four entries of the chained list. */
	CHECK_EQ(vireo_vq_add_inbuf(t->vq, a, 2, data[1], GFP_KERNEL), 0);
	CHECK(vireo_vq_kick(t->vq));
	CHECK_EQ(sim_pop(&t->sim, &e), 1);
	CHECK_EQ(e.nseg, 2);
	CHECK(e.seg[0].ptr == data[1] && e.seg[1].ptr == data[2]);
	CHECK_EQ(e.in_len, 40);
	sim_push(&t->sim, &e, 0);
	CHECK(vireo_vq_get_buf(t->vq, &i) == data[1] && i == 0);

	/* Across the link: three entries. */
	CHECK_EQ(vireo_vq_add_outbuf(t->vq, a, 3, data[2], GFP_KERNEL), 0);
	CHECK(vireo_vq_kick(t->vq));
	CHECK_EQ(sim_pop(&t->sim, &e), 1);
	CHECK_EQ(e.nseg, 3);
	CHECK(e.seg[2].ptr == data[3] && !e.seg[2].write);
	CHECK_EQ(e.out_len, 44);
	sim_push(&t->sim, &e, 0);
	CHECK(vireo_vq_get_buf(t->vq, &i) == data[2]);

	CHECK_EQ(vireo_vq_num_free(t->vq), 16);
	CHECK_EQ(shim_dma_live(), 0);
	th_del(t);
	for (i = 0; i < 5; i++) {
		shim_mem_unregister(data[i]);
		free(data[i]);
	}
}

/* No memory for an indirect table: the same request goes in as a chain. */
static void t_indirect_fallback(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = th_new(c->features | F_INDIRECT, 8, 0);
	struct tbuf *b = t_simple_buf(3, 2, 4);
	struct sim_elem e;

	shim_kmalloc_fail = true;
	CHECK_EQ(tbuf_add(t, b, 1, GFP_ATOMIC), 0);
	shim_kmalloc_fail = false;
	CHECK_EQ(vireo_vq_num_free(t->vq), 3);
	CHECK(t_dev_pop(t, &e, b));
	CHECK(!e.indirect);
	t_dev_complete(t, &e, 3, 7);
	CHECK(t_get(t, b, 3));
	CHECK_EQ(vireo_vq_num_free(t->vq), 8);

	CHECK_EQ(tbuf_add(t, b, 0, GFP_KERNEL), 0);	/* and now indirect */
	CHECK_EQ(vireo_vq_num_free(t->vq), 7);
	CHECK(t_dev_pop(t, &e, b));
	CHECK(e.indirect);
	t_dev_complete(t, &e, 8, 9);
	CHECK(t_get(t, b, 8));
	CHECK(tbuf_check_in(b, 8, 9));
	th_del(t);
	tbuf_free(b);
}

/* A mapping failure part-way leaves nothing mapped and the ring as it was. */
static void t_dma_unwind(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = th_new(c->features, 8, 0);
	struct tbuf *b = t_simple_buf(3, 2, 5);
	struct sim_elem e;
	long budget;

	for (budget = 0; budget < 6; budget++) {
		shim_dma_map_budget = budget;
		CHECK_EQ(tbuf_add(t, b, 0, GFP_KERNEL), -ENOMEM);
		CHECK_EQ(shim_dma_live(), 0);
		CHECK_EQ(vireo_vq_num_free(t->vq), 8);
		CHECK_EQ(sim_pop(&t->sim, &e), 0);
		if (!(c->features & F_INDIRECT) && budget == 4)
			break;		/* five maps are enough for a chain */
	}
	shim_dma_map_budget = -1;
	CHECK_EQ(tbuf_add(t, b, 0, GFP_KERNEL), 0);
	CHECK(vireo_vq_kick(t->vq));
	CHECK(t_dev_pop(t, &e, b));
	t_dev_complete(t, &e, 1, 1);
	CHECK(t_get(t, b, 1));
	CHECK_EQ(shim_dma_live(), 0);
	th_del(t);
	tbuf_free(b);
}

/* After a reset every buffer comes back once, unmapped. */
static void t_detach(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = th_new(c->features, c->num, c->legacy_align);
	struct tbuf *b[STRESS_MAX];
	unsigned int n = 0, i, got = 0;
	struct sim_elem e;
	void *tok;

	t_srand(77);
	while (n < STRESS_MAX) {
		b[n] = t_random_buf(c->num < 3 ? c->num : 3, (u8)n);
		if (tbuf_add(t, b[n], n, GFP_KERNEL)) {
			tbuf_free(b[n]);
			break;
		}
		n++;
	}
	CHECK(n >= 1);
	vireo_vq_kick(t->vq);
	if (n > 1 && t_dev_pop(t, &e, b[0])) {	/* one completed, not reaped */
		t_dev_complete(t, &e, 0, 0);
	}
	while ((tok = vireo_vq_detach_unused(t->vq))) {
		for (i = 0; i < n; i++)
			if (b[i] == tok)
				break;
		CHECK(i < n);
		if (i == n)
			break;
		b[i] = NULL;
		tbuf_free(tok);
		got++;
	}
	CHECK_EQ(got, n);
	CHECK_EQ(vireo_vq_num_free(t->vq), c->num);
	CHECK_EQ(shim_dma_live(), 0);
	CHECK(vireo_vq_detach_unused(t->vq) == NULL);
	th_del(t);
}

/* vireo_vq_del with buffers still in flight unmaps and frees what it must. */
static void t_del_inflight(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = th_new(c->features, 8, 0);
	struct tbuf *b[2] = { t_simple_buf(2, 2, 1), t_simple_buf(1, 0, 2) };

	CHECK_EQ(tbuf_add(t, b[0], 0, GFP_KERNEL), 0);
	CHECK_EQ(tbuf_add(t, b[1], 0, GFP_KERNEL), 0);
	th_del(t);
	CHECK_EQ(shim_dma_live(), 0);
	tbuf_free(b[0]);
	tbuf_free(b[1]);
}

static void t_debugfs(const void *arg)
{
	struct th *t = th_new(F_V1 | F_EVENT | F_INDIRECT | F_DMA, 8, 0);
	struct tbuf *b = t_simple_buf(1, 1, 1);
	struct sim_elem e;
	char buf[1024];

	(void)arg;
	CHECK(t->vr->debugfs != NULL);
	CHECK(!strcmp(t->vr->debugfs->name, "vq0-requests"));
	CHECK_EQ(tbuf_add(t, b, 0, GFP_KERNEL), 0);
	CHECK(vireo_vq_kick(t->vq));
	CHECK(t_dev_pop(t, &e, b));
	t_dev_complete(t, &e, 2, 0);
	vireo_vq_interrupt(t->vq);
	CHECK(t_get(t, b, 2));
	vireo_vq_interrupt(t->vq);		/* nothing new: spurious */
	vireo_vq_disable_cb(t->vq);
	CHECK_EQ(shim_debugfs_read(t->vr->debugfs, buf, sizeof(buf)), 0);
	CHECK(strstr(buf, "size: 8\n"));
	CHECK(strstr(buf, "layout: split\n"));
	CHECK(strstr(buf, "features: indirect event_idx access_platform\n"));
	CHECK(strstr(buf, "num_free: 8\n"));
	CHECK(strstr(buf, "added: 1\n"));
	CHECK(strstr(buf, "used: 1\n"));
	CHECK(strstr(buf, "kicks: 1\n"));
	CHECK(strstr(buf, "kicks_suppressed: 0\n"));
	CHECK(strstr(buf, "full: 0\n"));
	CHECK(strstr(buf, "interrupts: 2\n"));
	CHECK(strstr(buf, "interrupts_spurious: 1\n"));
	CHECK(strstr(buf, "callbacks_suppressed: 1\n"));
	CHECK(strstr(buf, "broken: 0\n"));
	if (t_failed)
		printf("# %s", buf);
	th_del(t);
	tbuf_free(b);

	t = th_new(F_V1 | F_PACKED, 7, 0);
	CHECK_EQ(shim_debugfs_read(t->vr->debugfs, buf, sizeof(buf)), 0);
	CHECK(strstr(buf, "layout: packed\n"));
	CHECK(strstr(buf, "features:\n"));
	th_del(t);
	t = th_new(0, 8, 4096);
	CHECK_EQ(shim_debugfs_read(t->vr->debugfs, buf, sizeof(buf)), 0);
	CHECK(strstr(buf, "layout: split-legacy\n"));
	th_del(t);
}


/*
 * Premapped adds with a context: the driver maps through the vireo_vq_dma_*
 * helpers, the device sees exactly those addresses, the ring maps and
 * unmaps nothing of the buffers, and each buffer's context comes back with
 * it; a plain add beside them returns a NULL context.
 */
static void t_premapped_ctx(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t, *noctx = th_new(c->features, c->num, c->legacy_align);
	struct tbuf *b = t_simple_buf(1, 1, 3), *plain = t_simple_buf(1, 0, 4);
	bool dma = c->features & F_DMA;
	struct scatterlist so, si, sp, *sgs[2] = { &so, &si };
	unsigned int i, live, len;
	dma_addr_t ao, ai;
	struct sim_elem e;
	void *ctx;

	/* Without VIREO_VQ_F_CTX the queue has no context array ... */
	CHECK(noctx->vr->ctx == NULL);
	sg_init_one(&sp, plain->out[0], plain->out_len[0]);
	shim_log_quiet = true;
	CHECK_EQ(vireo_vq_add_sgs_ctx(noctx->vq, (struct scatterlist *[]){ &sp },
				      1, 0, plain, (void *)1, GFP_KERNEL), -EINVAL);
	shim_log_quiet = false;
	CHECK_EQ(shim_log_count, 1);
	shim_log_count = 0;
	CHECK_EQ(vireo_vq_num_free(noctx->vq), c->num);
	/* ... but takes a NULL one, and gives NULL back. */
	CHECK_EQ(vireo_vq_add_sgs_ctx(noctx->vq, (struct scatterlist *[]){ &sp },
				      1, 0, plain, NULL, GFP_KERNEL), 0);
	ctx = (void *)1;
	CHECK(vireo_vq_detach_unused_ctx(noctx->vq, &ctx) == plain);
	CHECK(ctx == NULL);
	th_del(noctx);

	th_vq_flags = VIREO_VQ_F_CTX;
	t = th_new(c->features, c->num, c->legacy_align);
	th_vq_flags = 0;
	CHECK(t->vr->ctx != NULL);
	CHECK(!!vireo_vq_dma_dev(t->vq) == dma);
	ao = vireo_vq_dma_map_single(t->vq, b->out[0], b->out_len[0], DMA_TO_DEVICE);
	ai = vireo_vq_dma_map_single(t->vq, b->in[0], b->in_len[0], DMA_FROM_DEVICE);
	CHECK(!vireo_vq_dma_mapping_error(t->vq, ao));
	CHECK(!vireo_vq_dma_mapping_error(t->vq, ai));
	CHECK(!vireo_vq_dma_need_sync(t->vq, ao));
	live = shim_dma_live();
	CHECK_EQ(live, dma ? 2 : 0);
	for (i = 0; i < 2 * c->num + 1; i++) {
		sg_init_one(&so, NULL, b->out_len[0]);
		sg_init_one(&si, NULL, b->in_len[0]);
		so.dma_address = ao;
		si.dma_address = ai;
		CHECK_EQ(vireo_vq_add_sgs_premapped(t->vq, sgs, 1, 1, b,
						    (void *)(uintptr_t)(i + 1),
						    GFP_KERNEL), 0);
		CHECK(vireo_vq_kick(t->vq));
		CHECK_EQ(sim_pop(&t->sim, &e), 1);
		CHECK_EQ(e.nseg, 2);
		CHECK(e.seg[0].ptr == b->out[0] && !e.seg[0].write);
		CHECK(e.seg[1].ptr == b->in[0] && e.seg[1].write);
		CHECK_EQ(shim_dma_live(), live);	/* the ring mapped none */
		sim_push(&t->sim, &e, 3);
		sim_flush(&t->sim);
		ctx = NULL;
		CHECK(vireo_vq_get_buf_ctx(t->vq, &len, &ctx) == b);
		CHECK_EQ(len, 3);
		CHECK_EQ((uintptr_t)ctx, i + 1);
		CHECK_EQ(shim_dma_live(), live);	/* and unmapped none */

		if (c->num < 2)
			continue;
		/* A plain add on the same ids: its context reads NULL. */
		sg_init_one(&sp, plain->out[0], plain->out_len[0]);
		CHECK_EQ(vireo_vq_add_outbuf(t->vq, &sp, 1, plain, GFP_KERNEL), 0);
		CHECK(vireo_vq_kick(t->vq));
		CHECK_EQ(sim_pop(&t->sim, &e), 1);
		sim_push(&t->sim, &e, 0);
		sim_flush(&t->sim);
		ctx = (void *)1;
		CHECK(vireo_vq_get_buf_ctx(t->vq, NULL, &ctx) == plain);
		CHECK(ctx == NULL);
	}
	/* detach_unused_ctx returns the context too. */
	sg_init_one(&so, NULL, b->out_len[0]);
	so.dma_address = ao;
	CHECK_EQ(vireo_vq_add_outbuf_premapped(t->vq, &so, 1, b, (void *)7,
					       GFP_KERNEL), 0);
	ctx = NULL;
	CHECK(vireo_vq_detach_unused_ctx(t->vq, &ctx) == b);
	CHECK(ctx == (void *)7);
	CHECK_EQ(shim_dma_live(), live);
	vireo_vq_dma_unmap_single(t->vq, ao, b->out_len[0], DMA_TO_DEVICE);
	vireo_vq_dma_unmap_single(t->vq, ai, b->in_len[0], DMA_FROM_DEVICE);
	CHECK_EQ(shim_dma_live(), 0);
	CHECK_EQ(shim_log_count, 0);
	th_del(t);
	tbuf_free(b);
	tbuf_free(plain);
}

void t_basic(void)
{
	char name[128];
	unsigned int i;

	for (i = 0; i < t_ncfgs; i++) {
		snprintf(name, sizeof(name), "create %s", t_cfgs[i].name);
		t_run(name, t_create, &t_cfgs[i]);
	}
	t_run("create: invalid sizes and alignments", t_invalid, NULL);
	t_run("create: 32768 entries", t_big_sizes, NULL);
	t_run("create: ring shrinks when memory is short", t_shrink, NULL);
	for (i = 0; i < t_ncfgs; i++) {
		snprintf(name, sizeof(name), "round trip %s", t_cfgs[i].name);
		t_run(name, t_roundtrip, &t_cfgs[i]);
	}
	for (i = 0; i < t_ncfgs; i++) {
		snprintf(name, sizeof(name), "stress, wrap-around, out of order %s",
			 t_cfgs[i].name);
		t_run(name, t_stress, &t_cfgs[i]);
	}
	t_run("full ring: -ENOSPC; indirect holds more", t_nospc, NULL);
	for (i = 0; i < t_ncfgs; i++) {
		if (t_cfgs[i].legacy_align || t_cfgs[i].num < 4)
			continue;
		snprintf(name, sizeof(name), "-EINVAL requests %s", t_cfgs[i].name);
		t_run(name, t_einval, &t_cfgs[i]);
		snprintf(name, sizeof(name), "indirect falls back to a chain %s",
			 t_cfgs[i].name);
		t_run(name, t_indirect_fallback, &t_cfgs[i]);
		snprintf(name, sizeof(name), "short requests direct while the ring has room %s",
			 t_cfgs[i].name);
		t_run(name, t_direct_short, &t_cfgs[i]);
		snprintf(name, sizeof(name), "chained scatterlists, num limits %s",
			 t_cfgs[i].name);
		t_run(name, t_chained_sg, &t_cfgs[i]);
		snprintf(name, sizeof(name), "detach_unused %s", t_cfgs[i].name);
		t_run(name, t_detach, &t_cfgs[i]);
		snprintf(name, sizeof(name), "del with buffers in flight %s",
			 t_cfgs[i].name);
		t_run(name, t_del_inflight, &t_cfgs[i]);
		snprintf(name, sizeof(name), "premapped adds with a context %s",
			 t_cfgs[i].name);
		t_run(name, t_premapped_ctx, &t_cfgs[i]);
		if (t_cfgs[i].features & F_DMA) {
			snprintf(name, sizeof(name), "DMA map failure unwinds %s",
				 t_cfgs[i].name);
			t_run(name, t_dma_unwind, &t_cfgs[i]);
		}
	}
	t_run("debugfs statistics", t_debugfs, NULL);
}
