// SPDX-License-Identifier: GPL-2.0
#include "harness.h"

/* ---- queues ------------------------------------------------------------- */

static struct dentry th_debugfs_dir = { .name = "vireo0" };

unsigned int th_vq_flags;

static bool th_notify(struct vireo_vq *vq)
{
	struct th *t = th_of(vq);

	t->notifies++;
	if (t->on_notify)
		t->on_notify(t);
	/* What a transport writes with VIRTIO_F_NOTIFICATION_DATA. */
	if (vireo_has_feature(&t->vd, VIRTIO_F_NOTIFICATION_DATA)) {
		t->notify_data_checked++;
		if (sim_check_notify_data(&t->sim,
					  vireo_vq_notification_data(vq),
					  vq->index)) {
			printf("#   kick %u: %s (data %#x)\n", t->notifies,
			       t->sim.error, vireo_vq_notification_data(vq));
			t->notify_data_bad++;
		}
	}
	return t->notify_ok;
}

static void th_callback(struct vireo_vq *vq)
{
	struct th *t = th_of(vq);

	t->callbacks++;
	if (t->on_callback)
		t->on_callback(t);
}

/* The transport's half of a queue reset: the simulated device starts over. */
static int th_reset_vq(struct vireo_device *vd, struct vireo_vq *vq,
		       unsigned int *max)
{
	struct th *t = th_of(vq);

	t->resets++;
	if (t->reset_err)
		return t->reset_err;
	*max = t->max_size;
	return 0;
}

static int th_enable_vq(struct vireo_device *vd, struct vireo_vq *vq)
{
	struct th *t = th_of(vq);

	t->enables++;
	if (t->enable_err)
		return t->enable_err;
	sim_init(&t->sim, vq, t->vd.features.w[0]);
	return 0;
}

static void th_synchronize_cbs(struct vireo_device *vd)
{
	container_of(vd, struct th, vd)->syncs++;
}

static const struct vireo_transport_ops th_ops = {
	.name = "sim",
	.synchronize_cbs = th_synchronize_cbs,
	.reset_vq = th_reset_vq,
	.enable_vq = th_enable_vq,
};

struct th *th_try_new(u64 features, unsigned int num, unsigned int legacy_align,
		      bool callback, long *err)
{
	struct th *t = calloc(1, sizeof(*t));
	struct vireo_vq_info info = {
		.name = "requests",
		.callback = callback ? th_callback : NULL,
		.flags = th_vq_flags,
	};

	if (!t)
		abort();
	t->parent.name = "sim-parent";
	t->vd.dev.parent = &t->parent;
	t->vd.dev.name = "vireo0";
	t->vd.features.w[0] = features;
	t->vd.debugfs = &th_debugfs_dir;
	t->vd.ops = &th_ops;
	t->max_size = VIREO_RING_MAX;
	INIT_LIST_HEAD(&t->vd.vqs);
	t->notify_ok = true;
	t->vq = vireo_vq_new(&t->vd, 0, num, legacy_align, th_notify, &info);
	if (IS_ERR_OR_NULL(t->vq)) {
		*err = t->vq ? PTR_ERR(t->vq) : 0;
		free(t);
		return NULL;
	}
	t->vr = to_vireo_ring(t->vq);
	sim_init(&t->sim, t->vq, features);
	return t;
}

struct th *th_new(u64 features, unsigned int num, unsigned int legacy_align)
{
	long err = 0;
	struct th *t = th_try_new(features, num, legacy_align, true, &err);

	if (!t) {
		fprintf(stderr, "vireo_vq_new failed: %ld\n", err);
		abort();
	}
	return t;
}

void th_del(struct th *t)
{
	vireo_vq_del(t->vq);
	if (!list_empty(&t->vd.vqs)) {
		fprintf(stderr, "queue still on the device's list\n");
		abort();
	}
	free(t);
}

/* ---- buffers ------------------------------------------------------------ */

static u8 *seg_alloc(u32 len)
{
	u8 *p = calloc(1, len ? len : 1);

	if (!p)
		abort();
	shim_mem_register(p, len);
	return p;
}

struct tbuf *tbuf_new(unsigned int nout, unsigned int nin, const u32 *lens,
		      u8 seed)
{
	struct tbuf *b = calloc(1, sizeof(*b));
	unsigned int i, k = 0;
	u32 j, pos = 0;

	if (!b || nout > TB_MAX || nin > TB_MAX)
		abort();
	b->nout = nout;
	b->nin = nin;
	b->seed = seed;
	for (i = 0; i < nout; i++, k++) {
		b->out_len[i] = lens[k];
		b->out[i] = seg_alloc(lens[k]);
		for (j = 0; j < lens[k]; j++)
			b->out[i][j] = (u8)(seed * 7 + pos++);
		b->total_out += lens[k];
	}
	for (i = 0; i < nin; i++, k++) {
		b->in_len[i] = lens[k];
		b->in[i] = seg_alloc(lens[k]);
		b->total_in += lens[k];
	}
	return b;
}

void tbuf_free(struct tbuf *b)
{
	unsigned int i;

	if (!b)
		return;
	for (i = 0; i < b->nout; i++) {
		shim_mem_unregister(b->out[i]);
		free(b->out[i]);
	}
	for (i = 0; i < b->nin; i++) {
		shim_mem_unregister(b->in[i]);
		free(b->in[i]);
	}
	free(b);
}

int tbuf_add(struct th *t, struct tbuf *b, unsigned int style, gfp_t gfp)
{
	struct scatterlist *sgs[2 * TB_MAX];
	unsigned int i, n = b->nout + b->nin;

	switch (style % 3) {
	case 0:	/* one list per segment */
		for (i = 0; i < n; i++) {
			if (i < b->nout)
				sg_init_one(&b->sg[i], b->out[i], b->out_len[i]);
			else
				sg_init_one(&b->sg[i], b->in[i - b->nout],
					    b->in_len[i - b->nout]);
			sgs[i] = &b->sg[i];
		}
		return vireo_vq_add_sgs(t->vq, sgs, b->nout, b->nin, b, gfp);
	case 2:	/* the single-direction helpers, with a count */
		if (!b->nin || !b->nout) {
			struct scatterlist *sg = b->sg;

			sg_init_table(sg, n);
			for (i = 0; i < n; i++)
				sg_set_buf(&sg[i], b->nin ? b->in[i] : b->out[i],
					   b->nin ? b->in_len[i] : b->out_len[i]);
			if (b->nin)
				return vireo_vq_add_inbuf(t->vq, sg, n, b, gfp);
			return vireo_vq_add_outbuf(t->vq, sg, n, b, gfp);
		}
		/* fall through */
	default: { /* one list per direction */
		unsigned int lists = 0;

		if (b->nout) {
			sg_init_table(b->sg, b->nout);
			for (i = 0; i < b->nout; i++)
				sg_set_buf(&b->sg[i], b->out[i], b->out_len[i]);
			sgs[lists++] = b->sg;
		}
		if (b->nin) {
			struct scatterlist *in = b->sg + b->nout;

			sg_init_table(in, b->nin);
			for (i = 0; i < b->nin; i++)
				sg_set_buf(&in[i], b->in[i], b->in_len[i]);
			sgs[lists++] = in;
		}
		return vireo_vq_add_sgs(t->vq, sgs, b->nout ? 1 : 0,
					b->nin ? 1 : 0, b, gfp);
	}
	}
}

bool tbuf_owns_elem(const struct tbuf *b, const struct sim_elem *e)
{
	if (!e->nseg)
		return false;
	if (b->nout)
		return e->seg[0].ptr == b->out[0];
	return b->nin && e->seg[0].ptr == b->in[0];
}

bool tbuf_matches_elem(const struct tbuf *b, const struct sim_elem *e)
{
	unsigned int s, i;

	if (e->nseg != b->nout + b->nin || e->out_len != b->total_out ||
	    e->in_len != b->total_in)
		return false;
	for (s = 0; s < e->nseg; s++) {
		bool w = s >= b->nout;
		const u8 *want = w ? b->in[s - b->nout] : b->out[s];
		u32 len = w ? b->in_len[s - b->nout] : b->out_len[s];

		if (e->seg[s].write != w || e->seg[s].len != len ||
		    e->seg[s].ptr != want)
			return false;
		if (!w)
			for (i = 0; i < len; i++)
				if (e->seg[s].ptr[i] != want[i])
					return false;
	}
	return true;
}

bool tbuf_check_in(const struct tbuf *b, u32 len, u8 seed)
{
	u32 done = 0, i;
	unsigned int s;

	for (s = 0; s < b->nin && done < len; s++)
		for (i = 0; i < b->in_len[s] && done < len; i++, done++)
			if (b->in[s][i] != (u8)(seed + done))
				return false;
	return done == len;
}

/* ---- TAP ---------------------------------------------------------------- */

bool t_failed;
unsigned int t_checks;
static unsigned int t_num, t_pass, t_fail, t_skipped;

void t_run(const char *name, void (*fn)(const void *arg), const void *arg)
{
	unsigned int logs;

	t_failed = false;
	shim_reset();
	shim_log_quiet = false;
	fn(arg);
	logs = shim_dma_live();
	if (logs) {
		printf("#   %u DMA mappings left behind\n", logs);
		t_failed = true;
	}
	if (shim_debugfs_live()) {
		printf("#   %u debugfs files left behind\n", shim_debugfs_live());
		t_failed = true;
	}
	t_num++;
	if (t_failed) {
		t_fail++;
		printf("not ok %u - %s\n", t_num, name);
	} else {
		t_pass++;
		printf("ok %u - %s\n", t_num, name);
	}
	fflush(stdout);
}

void t_skip(const char *name, const char *why)
{
	t_num++;
	t_skipped++;
	printf("ok %u - %s # SKIP %s\n", t_num, name, why);
}

int t_summary(void)
{
	printf("1..%u\n", t_num);
	printf("%u passed, %u failed, %u skipped\n", t_pass, t_fail, t_skipped);
	return t_fail ? 1 : 0;
}

/* ---- PRNG (xorshift64*) ------------------------------------------------- */

static u64 t_state = 0x9e3779b97f4a7c15ULL;

void t_srand(u64 seed)
{
	t_state = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

u32 t_rand(void)
{
	t_state ^= t_state >> 12;
	t_state ^= t_state << 25;
	t_state ^= t_state >> 27;
	return (u32)((t_state * 0x2545f4914f6cdd1dULL) >> 32);
}
