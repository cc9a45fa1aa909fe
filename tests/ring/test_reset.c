// SPDX-License-Identifier: GPL-2.0
/*
 * Queue reset and resize (VIRTIO_F_RING_RESET, virtio 1.2, 2.6.1) with
 * buffers outstanding in every state a device leaves them: not yet seen,
 * taken but not used, used but not yet collected. Each must come back
 * through the recycle callback exactly once, with its context, and the
 * queue must work from an empty ring afterwards at its (new) size.
 */
#include "tests.h"

#define RS_MAX	64

struct recycled {
	void *tok[RS_MAX];
	void *ctx[RS_MAX];
	unsigned int n;
	bool overflow;
};

static struct recycled *rs_cur;

static void rs_recycle(struct vireo_vq *vq, void *data, void *ctx)
{
	if (rs_cur->n == RS_MAX) {
		rs_cur->overflow = true;
		return;
	}
	rs_cur->tok[rs_cur->n] = data;
	rs_cur->ctx[rs_cur->n++] = ctx;
}

/* Was @tok recycled exactly once, with @ctx? */
static bool rs_once(const struct recycled *r, void *tok, void *ctx)
{
	unsigned int i, seen = 0;

	for (i = 0; i < r->n; i++)
		if (r->tok[i] == tok)
			seen += r->ctx[i] == ctx ? 1 : 100;
	return seen == 1;
}

/*
 * Puts @n one-segment buffers (at most the ring size) into the queue with
 * contexts i + 1; the device takes @taken of them and uses @used of those
 * without the driver collecting them.
 */
static void rs_fill(struct th *t, struct tbuf **b, unsigned int n,
		    unsigned int taken, unsigned int used)
{
	struct scatterlist *sg;
	struct sim_elem e;
	unsigned int i;

	for (i = 0; i < n; i++) {
		b[i] = t_simple_buf(0, 1, (u8)(i + 1));
		sg = &b[i]->sg[0];
		sg_init_one(sg, b[i]->in[0], b[i]->in_len[0]);
		CHECK_EQ(vireo_vq_add_inbuf_ctx(t->vq, sg, 1, b[i],
						(void *)(uintptr_t)(i + 1),
						GFP_KERNEL), 0);
	}
	vireo_vq_kick(t->vq);
	for (i = 0; i < taken; i++) {
		if (!t_dev_pop(t, &e, b[i])) {
			CHECK(!"device took the buffer");
			return;
		}
		if (i < used)
			t_dev_complete(t, &e, 1, 0x40);
	}
	sim_flush(&t->sim);
}

/* Round trips through the whole ring, more than once around. */
static void rs_round_trips(struct th *t, unsigned int laps)
{
	unsigned int num = vireo_vq_size(t->vq), i;
	struct tbuf *b;
	struct sim_elem e;

	for (i = 0; i < laps * num + 1; i++) {
		b = t_simple_buf(0, 1, (u8)i);
		CHECK_EQ(tbuf_add(t, b, 0, GFP_KERNEL), 0);
		vireo_vq_kick(t->vq);
		CHECK(t_dev_pop(t, &e, b));
		t_dev_complete(t, &e, 3, (u8)i);
		sim_flush(&t->sim);
		CHECK(t_get(t, b, 3));
		tbuf_free(b);
	}
	/* The whole ring is usable, and no more. */
	CHECK_EQ(vireo_vq_num_free(t->vq), num);
}

static void rs_free(struct tbuf **b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		tbuf_free(b[i]);
}

static struct th *rs_new(const struct cfg *c)
{
	struct th *t;

	th_vq_flags = VIREO_VQ_F_CTX;
	t = th_new(c->features | F_RESET, c->num, 0);
	th_vq_flags = 0;
	return t;
}

/* Reset, same size, with buffers outstanding in every state. */
static void t_reset_same(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = rs_new(c);
	unsigned int n = c->num, taken = n / 2 + (n > 1), used = n / 4 + (n > 1);
	struct tbuf *b[RS_MAX];
	struct recycled r = {};
	unsigned int i;

	if (taken > n)
		taken = n;
	if (used > taken)
		used = taken;
	CHECK(vireo_vq_can_reset(t->vq));
	rs_fill(t, b, n, taken, used);
	CHECK_EQ(vireo_vq_num_free(t->vq), 0);

	rs_cur = &r;
	CHECK_EQ(vireo_vq_reset(t->vq, rs_recycle), 0);
	CHECK_EQ(r.n, n);
	CHECK(!r.overflow);
	for (i = 0; i < n; i++)
		CHECK(rs_once(&r, b[i], (void *)(uintptr_t)(i + 1)));
	CHECK_EQ(t->resets, 1);
	CHECK_EQ(t->enables, 1);
	CHECK(t->syncs >= 1);
	CHECK_EQ(t->vr->inflight, 0);
	CHECK_EQ(t->vr->stats.recycled, n);
	CHECK_EQ(t->vr->stats.resets, 1);
	CHECK_EQ(vireo_vq_size(t->vq), n);
	CHECK_EQ(vireo_vq_num_free(t->vq), n);
	CHECK_EQ(shim_dma_live(), 0);
	CHECK(!vireo_vq_is_broken(t->vq));
	/* What the device had used but the driver never collected is gone. */
	CHECK(vireo_vq_get_buf(t->vq, NULL) == NULL);
	CHECK(!vireo_vq_more_used(t->vq));
	rs_round_trips(t, 2);
	/* A second reset with nothing outstanding recycles nothing. */
	r.n = 0;
	CHECK_EQ(vireo_vq_reset(t->vq, rs_recycle), 0);
	CHECK_EQ(r.n, 0);
	rs_round_trips(t, 1);
	rs_free(b, n);
	th_del(t);
}

/* Resize, up and down, with buffers outstanding. */
static void t_resize(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = rs_new(c);
	unsigned int sizes[3], i, k, n = c->num;
	struct tbuf *b[RS_MAX];
	struct recycled r = {};

	if (c->features & F_PACKED) {
		sizes[0] = n + 3;
		sizes[1] = 2;
		sizes[2] = 33;
	} else {
		sizes[0] = n * 2;
		sizes[1] = 2;
		sizes[2] = 32;
	}
	t->max_size = RS_MAX;
	rs_cur = &r;
	for (k = 0; k < ARRAY_SIZE(sizes); k++) {
		n = vireo_vq_size(t->vq);
		rs_fill(t, b, n, n / 2, n / 4);
		r.n = 0;
		CHECK_EQ(vireo_vq_resize(t->vq, sizes[k], rs_recycle), 0);
		CHECK_EQ(r.n, n);
		for (i = 0; i < n; i++)
			CHECK(rs_once(&r, b[i], (void *)(uintptr_t)(i + 1)));
		CHECK_EQ(vireo_vq_size(t->vq), sizes[k]);
		CHECK_EQ(t->sim.num, sizes[k]);
		CHECK_EQ(vireo_vq_num_free(t->vq), sizes[k]);
		CHECK_EQ(shim_dma_live(), 0);
		rs_round_trips(t, 2);
		rs_free(b, n);
	}
	th_del(t);
}

/* Sizes the ring or the device cannot take, and no memory: the old ring stays. */
static void t_resize_refused(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = rs_new(c);
	unsigned int n = c->num;
	struct tbuf *b[RS_MAX];
	struct recycled r = {};

	rs_cur = &r;
	t->max_size = 16;
	shim_log_quiet = true;
	/* Beyond what the device takes. */
	rs_fill(t, b, n, n / 2, 0);
	CHECK_EQ(vireo_vq_resize(t->vq, 32, rs_recycle), -EINVAL);
	CHECK_EQ(r.n, n);
	/* The refusal, and the reset that happened all the same. */
	CHECK_EQ(shim_log_count, 2);
	CHECK(strstr(shim_log_last, "size 8 -> 8") || n != 8);
	CHECK_EQ(vireo_vq_size(t->vq), n);
	CHECK(!vireo_vq_is_broken(t->vq));
	rs_round_trips(t, 1);
	rs_free(b, n);
	/* Not a power of 2, for a split ring; zero for either. */
	if (!(c->features & F_PACKED)) {
		r.n = 0;
		t->resets = 0;
		/* Known before the reset: the queue is left alone. */
		CHECK_EQ(vireo_vq_resize(t->vq, 3, rs_recycle), -EINVAL);
		CHECK_EQ(t->resets, 0);
		CHECK_EQ(r.n, 0);
		CHECK_EQ(vireo_vq_size(t->vq), n);
		rs_round_trips(t, 1);
	}
	CHECK_EQ(vireo_vq_resize(t->vq, 0, rs_recycle), -EINVAL);
	/* No memory for the new ring. */
	rs_fill(t, b, n, n, n / 2);
	r.n = 0;
	shim_area_limit = n * 16;
	CHECK_EQ(vireo_vq_resize(t->vq, 16, rs_recycle), -ENOMEM);
	shim_area_limit = 0;
	CHECK_EQ(r.n, n);
	CHECK_EQ(vireo_vq_size(t->vq), n);
	CHECK_EQ(vireo_vq_num_free(t->vq), n);
	CHECK(!vireo_vq_is_broken(t->vq));
	CHECK_EQ(shim_dma_live(), 0);
	rs_round_trips(t, 2);
	rs_free(b, n);
	th_del(t);
}

/* A device that never finishes the reset, or will not take the queue back. */
static void t_reset_fails(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = rs_new(c), *u = rs_new(c);
	unsigned int n = c->num;
	struct tbuf *b[RS_MAX], *bu[RS_MAX];
	struct recycled r = {};

	rs_cur = &r;
	shim_log_quiet = true;
	rs_fill(t, b, n, n / 2, 0);
	t->reset_err = -ETIMEDOUT;
	/* The device may still write into them: nothing is given back. */
	CHECK_EQ(vireo_vq_reset(t->vq, rs_recycle), -ETIMEDOUT);
	CHECK_EQ(r.n, 0);
	CHECK(vireo_vq_is_broken(t->vq));
	CHECK_EQ(vireo_vq_reset(t->vq, rs_recycle), -EIO);
	CHECK_EQ(t->resets, 1);
	/* del takes them back (and unmaps them) all the same. */
	th_del(t);
	rs_free(b, n);

	rs_fill(u, bu, n, n / 2, 0);
	u->enable_err = -EIO;
	CHECK_EQ(vireo_vq_reset(u->vq, rs_recycle), -EIO);
	CHECK_EQ(r.n, n);
	CHECK(vireo_vq_is_broken(u->vq));
	CHECK_EQ(shim_dma_live(), 0);
	th_del(u);
	rs_free(bu, n);
}

/* Without the feature negotiated the calls refuse. */
static void t_reset_unsupported(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = th_new(c->features, c->num, c->legacy_align);
	struct recycled r = {};

	rs_cur = &r;
	CHECK(!vireo_vq_can_reset(t->vq));
	CHECK_EQ(vireo_vq_reset(t->vq, rs_recycle), -EOPNOTSUPP);
	CHECK_EQ(vireo_vq_resize(t->vq, 2, rs_recycle), -EOPNOTSUPP);
	CHECK_EQ(t->resets, 0);
	rs_round_trips(t, 1);
	th_del(t);
}

void t_reset(void)
{
	char name[128];
	unsigned int i;

	for (i = 0; i < t_ncfgs; i++) {
		const struct cfg *c = &t_cfgs[i];

		if (c->legacy_align) {
			/* Legacy interfaces have no queue reset. */
			snprintf(name, sizeof(name), "no queue reset without the feature %s",
				 c->name);
			t_run(name, t_reset_unsupported, c);
			continue;
		}
		if (c->num > RS_MAX / 2)
			continue;
		snprintf(name, sizeof(name), "queue reset with buffers outstanding %s",
			 c->name);
		t_run(name, t_reset_same, c);
		snprintf(name, sizeof(name), "queue resize up and down %s", c->name);
		t_run(name, t_resize, c);
		if (c->num >= 2 && c->num <= 8) {
			snprintf(name, sizeof(name), "queue resize refused, old ring kept %s",
				 c->name);
			t_run(name, t_resize_refused, c);
		}
		snprintf(name, sizeof(name), "queue reset that fails %s", c->name);
		t_run(name, t_reset_fails, c);
	}
}
