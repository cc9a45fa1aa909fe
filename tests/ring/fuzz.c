// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: the input is a program for a driver and a device, the device
 * honest or not. The first byte picks the layout and features; each later
 * op adds, kicks, reaps, toggles callbacks, or lets the device pop,
 * complete, or write whatever it likes into ring memory.
 *
 * Invariants (any breach is a crash for libFuzzer, a failure for the
 * replay in ring-test): get_buf returns only buffers in flight, each once,
 * with a length within the buffer; a broken queue fails every operation;
 * after the reset detach_unused returns exactly the buffers still in
 * flight; nothing stays mapped or allocated; no out-of-bounds access
 * (AddressSanitizer) and no undefined behaviour (UBSan).
 */
#include "tests.h"

#define FZ_LIVE		64
#define FZ_PEND		32
#define FZ_OPS		4096

struct fz {
	const u8 *p;
	size_t n;
	struct th *t;
	struct tbuf *live[FZ_LIVE];
	unsigned int nlive;
	struct sim_elem *pend;
	unsigned int npend;
	u8 seed;
	int fail;
};

static u8 fz8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static u16 fz16(struct fz *f)
{
	return fz8(f) | (u16)fz8(f) << 8;
}

static u32 fz32(struct fz *f)
{
	return fz16(f) | (u32)fz16(f) << 16;
}

static void fz_fail(struct fz *f, const char *what)
{
	if (!f->fail)
		fprintf(stderr, "# fuzz invariant broken: %s\n", what);
	f->fail = 1;
}

static bool elem_touches(const struct tbuf *b, const struct sim_elem *e)
{
	unsigned int s, i;

	for (s = 0; s < e->nseg; s++) {
		const u8 *p = e->seg[s].ptr;

		for (i = 0; i < b->nout; i++)
			if (p >= b->out[i] && p < b->out[i] + b->out_len[i])
				return true;
		for (i = 0; i < b->nin; i++)
			if (p >= b->in[i] && p < b->in[i] + b->in_len[i])
				return true;
	}
	return false;
}

/* The driver has @b back: the device forgets anything pointing into it. */
static void fz_release(struct fz *f, unsigned int idx)
{
	struct tbuf *b = f->live[idx];
	unsigned int k = 0;

	while (k < f->npend) {
		if (elem_touches(b, &f->pend[k]))
			f->pend[k] = f->pend[--f->npend];
		else
			k++;
	}
	f->live[idx] = f->live[--f->nlive];
	tbuf_free(b);
}

static int fz_find(struct fz *f, void *tok)
{
	unsigned int i;

	for (i = 0; i < f->nlive; i++)
		if (f->live[i] == tok)
			return (int)i;
	return -1;
}

static void fz_reap(struct fz *f)
{
	unsigned int i, len;
	void *tok;
	int k;

	for (i = 0; i <= vireo_vq_size(f->t->vq); i++) {
		len = 0;
		tok = vireo_vq_get_buf(f->t->vq, &len);
		if (!tok)
			return;
		if (vireo_vq_is_broken(f->t->vq))
			fz_fail(f, "get_buf returned a buffer on a broken queue");
		k = fz_find(f, tok);
		if (k < 0) {
			fz_fail(f, "get_buf returned a token not in flight");
			return;
		}
		if (len > f->live[k]->total_in)
			fz_fail(f, "get_buf length beyond the writable bytes");
		fz_release(f, k);
	}
	if (!vireo_vq_is_broken(f->t->vq))
		fz_fail(f, "get_buf returned more than the ring holds");
}

static void fz_callback(struct th *t)
{
	fz_reap(t->priv);
}

static void fz_add(struct fz *f)
{
	unsigned int nout = fz8(f) % (TB_MAX + 1), nin = fz8(f) % (TB_MAX + 1);
	u32 lens[2 * TB_MAX];
	struct tbuf *b;
	unsigned int i;
	bool broken = vireo_vq_is_broken(f->t->vq), nomem, longer;
	long budget;
	int err;

	if (!nout && !nin)
		nin = 1;
	for (i = 0; i < nout + nin; i++)
		lens[i] = 1 + fz8(f) % 64;
	if (f->nlive == FZ_LIVE)
		return;
	b = tbuf_new(nout, nin, lens, f->seed++);
	nomem = fz8(f) % 8 == 0;
	shim_kmalloc_fail = nomem;
	budget = fz8(f) % 16 == 0 ? fz8(f) % 4 : -1;
	shim_dma_map_budget = budget;
	err = tbuf_add(f->t, b, fz8(f), GFP_ATOMIC);
	shim_kmalloc_fail = false;
	shim_dma_map_budget = -1;
	if (!err) {
		if (broken)
			fz_fail(f, "add succeeded on a broken queue");
		f->live[f->nlive++] = b;
		return;
	}
	tbuf_free(b);
	/* Longer than the ring: only one indirect table can take it. */
	longer = nout + nin > vireo_vq_size(f->t->vq);
	if (broken ? err != -EIO :
	    !(err == -ENOSPC ||
	      (err == -ENOMEM && (budget >= 0 || (nomem && longer))) ||
	      (err == -EINVAL && longer && !f->t->vr->indirect)))
		fz_fail(f, "add failed unexpectedly");
}

static void fz_pop(struct fz *f)
{
	struct sim_elem e;
	unsigned int i, n = fz8(f) % 4 + 1;

	while (n-- && f->npend < FZ_PEND && sim_pop(&f->t->sim, &e) == 1) {
		for (i = 0; i < f->nlive; i++)
			if (tbuf_owns_elem(f->live[i], &e))
				break;
		if (i < f->nlive)	/* else stale: the device drops it */
			f->pend[f->npend++] = e;
	}
}

static void fz_complete(struct fz *f)
{
	unsigned int k;
	u32 len;

	if (!f->npend)
		return;
	k = fz8(f) % f->npend;
	len = f->pend[k].in_len ? fz16(f) % (f->pend[k].in_len + 1) : 0;
	t_dev_complete(f->t, &f->pend[k], len, 0x5a);
	f->pend[k] = f->pend[--f->npend];
	if (fz8(f) & 1)
		sim_flush(&f->t->sim);
}

/* Whatever the device likes, anywhere in ring memory. */
static void fz_scribble(struct fz *f)
{
	struct sim_dev *d = &f->t->sim;
	unsigned int which = fz8(f) % 4, n = d->num;
	size_t size;
	u8 *area;
	u32 off, v = fz32(f);

	if (d->packed) {
		area = which == 0 ? d->driver : which == 1 ? d->device : d->desc;
		size = which < 2 ? 4 : 16 * n;
	} else {
		area = which == 0 ? d->desc : which == 1 ? d->driver : d->device;
		size = which == 0 ? 16 * n : which == 1 ? 6 + 2 * n : 6 + 8 * n;
	}
	off = fz16(f) % size;
	if (fz8(f) & 1 && off + 4 <= size && !(off & 3))
		__atomic_store_n((u32 *)(area + off), v, __ATOMIC_RELAXED);
	else if (off + 2 <= size && !(off & 1))
		__atomic_store_n((u16 *)(area + off), (u16)v, __ATOMIC_RELAXED);
	else
		area[off] = (u8)v;
}

/* A used entry of the device's choosing where the driver will look. */
static void fz_forge(struct fz *f)
{
	struct sim_dev *d = &f->t->sim;
	u16 id = fz8(f) % (d->num + 2);
	u32 len = fz8(f) % 80;

	if (!d->packed) {
		sim_split_write_used(d, d->used_idx, id, len);
		d->used_idx += fz8(f) % 3;
		sim_split_set_used_idx(d, d->used_idx);
	} else {
		u16 both = BIT(VRING_PACKED_DESC_F_AVAIL) | BIT(VRING_PACKED_DESC_F_USED);
		u16 good = d->used_wrap ? both : 0;
		u16 flags;

		switch (fz8(f) % 4) {
		case 0:
			flags = good;			/* a proper used descriptor */
			break;
		case 1:
			flags = good ^ both;		/* the other wrap counter */
			break;
		case 2:
			flags = BIT(VRING_PACKED_DESC_F_AVAIL);
			break;
		default:
			flags = BIT(VRING_PACKED_DESC_F_USED);
			break;
		}
		if (fz8(f) & 1)
			flags |= VRING_DESC_F_WRITE;
		sim_packed_write_desc(d, d->used_pos, id, len, flags);
		d->used_pos += fz8(f) % 3;
		if (d->used_pos >= d->num) {
			d->used_pos -= d->num;
			d->used_wrap = !d->used_wrap;
		}
	}
}

static void fz_step(struct fz *f)
{
	struct vireo_vq *vq = f->t->vq;
	u8 op = fz8(f);

	switch (op % 16) {
	case 0:
	case 1:
		fz_add(f);
		break;
	case 2:
		if (!vireo_vq_kick(vq) && !vireo_vq_is_broken(vq))
			fz_fail(f, "kick failed on a working queue");
		break;
	case 3:
		fz_reap(f);
		break;
	case 4:
		vireo_vq_disable_cb(vq);
		break;
	case 5:
		if (!vireo_vq_enable_cb(vq) && vireo_vq_is_broken(vq))
			fz_fail(f, "enable_cb asks to poll a broken queue");
		break;
	case 6:
		if (!vireo_vq_enable_cb_delayed(vq) && vireo_vq_is_broken(vq))
			fz_fail(f, "enable_cb_delayed asks to poll a broken queue");
		break;
	case 7:
		vireo_vq_poll(vq, vireo_vq_enable_cb_prepare(vq));
		break;
	case 8:
	case 9:
		fz_pop(f);
		break;
	case 10:
	case 11:
		fz_complete(f);
		break;
	case 12:
		fz_scribble(f);
		break;
	case 13:
		fz_forge(f);
		break;
	case 14:
		vireo_vq_interrupt(vq);
		break;
	case 15:
		if (op == 0xff)
			vireo_break_vqs(&f->t->vd);
		else if (op == 0xef)
			f->t->notify_ok = !f->t->notify_ok;
		else
			vireo_vq_more_used(vq);
		break;
	}
	if (f->t->vr->inflight != f->nlive)
		fz_fail(f, "buffers in flight differ from the driver's count");
	if (vireo_vq_num_free(vq) > vireo_vq_size(vq))
		fz_fail(f, "num_free beyond the ring size");
}

int vireo_fuzz_one(const u8 *data, size_t size)
{
	static const unsigned int split_sizes[] = { 1, 2, 4, 16 };
	static const unsigned int packed_sizes[] = { 1, 3, 5, 16 };
	struct fz f = { .p = data, .n = size };
	u64 features = F_V1;
	unsigned int legacy = 0, num, ops = 0, i;
	u8 cfg = fz8(&f);
	struct tbuf *b;
	void *tok;
	int k;

	if (cfg & 1)
		features |= F_PACKED;
	if (cfg & 2)
		features |= F_EVENT;
	if (cfg & 4)
		features |= F_INDIRECT;
	if (cfg & 8)
		features |= F_DMA;
	if (cfg & 16)
		features |= F_ORDER;
	if ((cfg & 32) && !(cfg & 1) && !(cfg & 8)) {
		features &= ~F_V1;
		legacy = 4096;
	}
	num = (cfg & 1 ? packed_sizes : split_sizes)[cfg >> 6];

	shim_reset();
	shim_log_quiet = true;
	f.t = th_new(features, num, legacy);
	f.t->priv = &f;
	f.t->on_callback = fz_callback;
	f.pend = calloc(FZ_PEND, sizeof(*f.pend));
	if (!f.pend)
		abort();

	while (f.n && ops++ < FZ_OPS && !f.fail)
		fz_step(&f);

	/* A broken queue fails cleanly. */
	if (vireo_vq_is_broken(f.t->vq)) {
		u32 one = 8;

		b = tbuf_new(0, 1, &one, 0);
		if (tbuf_add(f.t, b, 0, GFP_KERNEL) != -EIO)
			fz_fail(&f, "add on a broken queue is not -EIO");
		if (vireo_vq_get_buf(f.t->vq, NULL) || vireo_vq_kick(f.t->vq))
			fz_fail(&f, "get_buf or kick works on a broken queue");
		tbuf_free(b);
		if (shim_log_count > 1)
			fz_fail(&f, "more than one log line");
	}

	/* The device is reset: every buffer in flight comes back once. */
	for (i = 0; i <= num && (tok = vireo_vq_detach_unused(f.t->vq)); i++) {
		k = fz_find(&f, tok);
		if (k < 0) {
			fz_fail(&f, "detach_unused returned a token not in flight");
			break;
		}
		fz_release(&f, k);
	}
	if (f.nlive)
		fz_fail(&f, "detach_unused missed a buffer in flight");
	if (vireo_vq_num_free(f.t->vq) != num)
		fz_fail(&f, "descriptors lost");
	if (shim_dma_live())
		fz_fail(&f, "DMA mappings left");

	th_del(f.t);
	while (f.nlive)
		tbuf_free(f.live[--f.nlive]);
	free(f.pend);
	return f.fail ? -1 : 0;
}

#ifdef VIREO_LIBFUZZER
int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	if (vireo_fuzz_one(data, size))
		abort();
	return 0;
}
#endif
