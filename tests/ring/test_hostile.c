// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile device: used ids out of range or not in flight, duplicate
 * completions, lengths larger than the buffer, used idx jumping, packed
 * descriptors with the wrong wrap counter or flags. Each must break the
 * queue with one log line, and every later operation must fail cleanly
 * while detach_unused still gives every buffer back.
 */
#include "tests.h"

struct ht {
	struct th *t;
	struct tbuf *b[4];
	struct sim_elem e[4];
	bool out[4];		/* still in flight */
};

/* Three buffers: 2 descriptors, 1, and 3 (a chain without INDIRECT). */
static void ht_init(struct ht *h, u64 features)
{
	static const unsigned int shape[3][2] = { { 1, 1 }, { 0, 1 }, { 1, 2 } };
	unsigned int i;

	memset(h, 0, sizeof(*h));
	h->t = th_new(features, 8, 0);
	for (i = 0; i < 3; i++) {
		h->b[i] = t_simple_buf(shape[i][0], shape[i][1], (u8)i);
		CHECK_EQ(tbuf_add(h->t, h->b[i], i, GFP_KERNEL), 0);
		h->out[i] = true;
	}
	h->b[3] = t_simple_buf(1, 1, 3);
	CHECK(vireo_vq_kick(h->t->vq));
	for (i = 0; i < 3; i++)
		CHECK(t_dev_pop(h->t, &h->e[i], h->b[i]));
	shim_log_quiet = true;
}

/* Everything after the device misbehaved, and the clean-up. */
static void ht_check_broken(struct ht *h, const char *what)
{
	struct th *t = h->t;
	unsigned int notifies = t->notifies, callbacks = t->callbacks;
	unsigned int i, got = 0, want = 0;
	void *tok;

	CHECK(vireo_vq_is_broken(t->vq));
	CHECK_EQ(shim_log_count, 1);
	if (!strstr(shim_log_last, what) ||
	    !strstr(shim_log_last, "queue 0 (requests): ")) {
		printf("#   log: %s", shim_log_last);
		CHECK(!"the log line says what went wrong");
	}

	CHECK(vireo_vq_get_buf(t->vq, NULL) == NULL);
	CHECK_EQ(tbuf_add(t, h->b[3], 0, GFP_KERNEL), -EIO);
	CHECK(!vireo_vq_kick_prepare(t->vq));
	CHECK(!vireo_vq_kick(t->vq));
	CHECK(!vireo_vq_notify(t->vq));
	CHECK_EQ(t->notifies, notifies);
	CHECK(vireo_vq_enable_cb(t->vq));
	CHECK(vireo_vq_enable_cb_delayed(t->vq));
	CHECK(!vireo_vq_poll(t->vq, vireo_vq_enable_cb_prepare(t->vq)));
	CHECK(!vireo_vq_more_used(t->vq));
	vireo_vq_disable_cb(t->vq);
	CHECK_EQ(vireo_vq_interrupt(t->vq), IRQ_HANDLED);
	CHECK_EQ(t->callbacks, callbacks);
	CHECK_EQ(shim_log_count, 1);		/* still the one line */

	/* Reset, then reclaim: every buffer still out comes back once. */
	for (i = 0; i < 3; i++)
		want += h->out[i];
	while ((tok = vireo_vq_detach_unused(t->vq))) {
		for (i = 0; i < 3; i++)
			if (tok == h->b[i] && h->out[i])
				break;
		CHECK(i < 3);
		if (i == 3)
			break;
		h->out[i] = false;
		got++;
	}
	CHECK_EQ(got, want);
	CHECK_EQ(vireo_vq_num_free(t->vq), 8);
	CHECK_EQ(shim_dma_live(), 0);
	th_del(t);
	for (i = 0; i < 4; i++)
		tbuf_free(h->b[i]);
}

/* ---- split -------------------------------------------------------------- */

static void split_used(struct ht *h, u32 id, u32 len)
{
	struct sim_dev *d = &h->t->sim;

	sim_split_write_used(d, d->used_idx, id, len);
	d->used_idx++;
	sim_split_set_used_idx(d, d->used_idx);
}

static void t_split_id_range(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	split_used(&h, 8, 0);
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "used id 8 is not a buffer in flight");
}

static void t_split_id_huge(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	split_used(&h, 0xffffffff, 0);
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "used id 4294967295 is not");
}

static void t_split_id_free(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	split_used(&h, 7, 0);			/* a free descriptor */
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "used id 7 is not a buffer in flight");
}

static void t_split_id_nonhead(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	split_used(&h, h.e[2].id + 1, 0);	/* inside the 3-chain */
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "is not a buffer in flight");
}

static void t_split_dup(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	t_dev_complete(h.t, &h.e[1], 4, 1);
	CHECK(t_get(h.t, h.b[1], 4));
	h.out[1] = false;
	split_used(&h, h.e[1].id, 4);		/* the same one again */
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "is not a buffer in flight");
}

static void t_split_len(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	split_used(&h, h.e[0].id, h.b[0]->total_in + 1);
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "exceeds its 24 writable bytes");
}

static void t_split_jump_size(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	sim_split_set_used_idx(&h.t->sim, 9);	/* more than the ring */
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "used idx jumped from 0 to 9 with 3 buffers");
}

static void t_split_jump_inflight(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	sim_split_set_used_idx(&h.t->sim, 4);	/* 3 in flight */
	CHECK(vireo_vq_interrupt(h.t->vq) == IRQ_HANDLED);
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "used idx jumped from 0 to 4");
}

static void t_split_backwards(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	t_dev_complete(h.t, &h.e[0], 1, 1);
	CHECK(t_get(h.t, h.b[0], 1));
	h.out[0] = false;
	sim_split_set_used_idx(&h.t->sim, 0);	/* back to where it was */
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "used idx jumped from 1 to 0");
}

/* The bad entry reached through the interrupt: the callback's get_buf. */
static void ht_reap(struct th *t)
{
	while (vireo_vq_get_buf(t->vq, NULL))
		;
}

static void t_split_via_irq(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	h.t->on_callback = ht_reap;
	split_used(&h, 5, 0);
	CHECK_EQ(vireo_vq_interrupt(h.t->vq), IRQ_HANDLED);
	CHECK_EQ(h.t->callbacks, 1);
	ht_check_broken(&h, "used id 5");
}

/* ---- packed ------------------------------------------------------------- */

#define PF_AVAIL	BIT(VRING_PACKED_DESC_F_AVAIL)
#define PF_USED		BIT(VRING_PACKED_DESC_F_USED)

static void t_packed_id_range(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	sim_packed_write_desc(&h.t->sim, 0, 8, 0, PF_AVAIL | PF_USED);
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "used id 8 is not a buffer in flight");
}

static void t_packed_id_notid(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	/* The second descriptor record of buffer 0's chain is no buffer id. */
	sim_packed_write_desc(&h.t->sim, 0, 1, 0, PF_AVAIL | PF_USED);
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "used id 1 is not a buffer in flight");
}

static void t_packed_dup(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	t_dev_complete(h.t, &h.e[1], 4, 1);	/* slot 0 */
	CHECK(t_get(h.t, h.b[1], 4));
	h.out[1] = false;
	sim_packed_write_desc(&h.t->sim, 1, h.e[1].id, 4,
			      PF_AVAIL | PF_USED | VRING_DESC_F_WRITE);
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "is not a buffer in flight");
}

static void t_packed_len(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	sim_packed_write_desc(&h.t->sim, 0, h.e[0].id, 25,
			      PF_AVAIL | PF_USED | VRING_DESC_F_WRITE);
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "used len 25 for id 0 exceeds its 24 writable bytes");
}

/* Without WRITE the length is reserved (virtio 1.2, 2.8.4): read as 0. */
static void t_packed_len_reserved(const void *arg)
{
	struct ht h;
	unsigned int len = 1;
	struct tbuf *b;

	ht_init(&h, *(const u64 *)arg);
	sim_packed_write_desc(&h.t->sim, 0, h.e[0].id, 0xffffffff,
			      PF_AVAIL | PF_USED);
	b = vireo_vq_get_buf(h.t->vq, &len);
	CHECK(b == h.b[0]);
	CHECK_EQ(len, 0);
	/* QEMU's way: no WRITE flag, a length that fits is the length. */
	sim_packed_write_desc(&h.t->sim, 2, h.e[1].id, 7, PF_AVAIL | PF_USED);
	b = vireo_vq_get_buf(h.t->vq, &len);
	CHECK(b == h.b[1]);
	CHECK_EQ(len, 7);
	CHECK(!vireo_vq_is_broken(h.t->vq));
	CHECK_EQ(shim_log_count, 0);
	while (vireo_vq_detach_unused(h.t->vq))
		;
	th_del(h.t);
	for (len = 0; len < 4; len++)
		tbuf_free(h.b[len]);
}

static void t_packed_wrap(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	/* AVAIL == USED, but with wrap counter 0 on the first lap. */
	sim_packed_write_desc(&h.t->sim, 0, h.e[0].id, 0, 0);
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "descriptor 0 has flags 0: not used for wrap counter 1");
}

static void t_packed_flags_bogus(const void *arg)
{
	struct ht h;

	ht_init(&h, *(const u64 *)arg);
	sim_packed_write_desc(&h.t->sim, 0, h.e[0].id, 0, PF_USED);
	CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
	ht_check_broken(&h, "not used for wrap counter 1");
}

/*
 * Flags that are neither available nor used, seen as a driver sees them:
 * the interrupt must call back (not take them for "not used yet", which
 * leaves the request to the stall detector), and the poll after a
 * callback enabled again must say "look", so the get_buf that follows
 * finds the fault at once. With nothing in flight, the same flags are
 * what the last lap left: no callback.
 */
static void t_packed_flags_irq(const void *arg)
{
	static const u16 bad[] = { PF_USED, 0 };
	unsigned int i, callbacks;
	struct ht h;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ht_init(&h, *(const u64 *)arg);
		shim_log_count = 0;
		callbacks = h.t->callbacks;
		sim_packed_write_desc(&h.t->sim, 0, h.e[0].id, 0, bad[i]);
		CHECK(vireo_vq_more_used(h.t->vq));
		CHECK(!vireo_vq_enable_cb(h.t->vq));
		CHECK_EQ(vireo_vq_interrupt(h.t->vq), IRQ_HANDLED);
		CHECK_EQ(h.t->callbacks, callbacks + 1);
		CHECK_EQ(shim_log_count, 0);
		CHECK(vireo_vq_get_buf(h.t->vq, NULL) == NULL);
		ht_check_broken(&h, "not used for wrap counter 1");
	}
}

static void t_packed_stale_flags_idle(const void *arg)
{
	struct th *t = th_new(*(const u64 *)arg, 4, 0);
	unsigned int callbacks = t->callbacks;

	shim_log_quiet = true;
	/* Slot 0, wrap counter 1: AVAIL != wrap, nothing in flight. */
	sim_packed_write_desc(&t->sim, 0, 0, 0, PF_USED);
	CHECK(!vireo_vq_more_used(t->vq));
	CHECK(vireo_vq_enable_cb(t->vq));
	CHECK_EQ(vireo_vq_interrupt(t->vq), IRQ_NONE);
	CHECK_EQ(t->callbacks, callbacks);
	CHECK(vireo_vq_get_buf(t->vq, NULL) == NULL);
	CHECK(!vireo_vq_is_broken(t->vq));
	CHECK_EQ(shim_log_count, 0);
	th_del(t);
}

static void t_packed_nothing_inflight(const void *arg)
{
	struct th *t = th_new(*(const u64 *)arg, 8, 0);

	shim_log_quiet = true;
	sim_packed_write_desc(&t->sim, 0, 0, 0, PF_AVAIL | PF_USED);
	CHECK(vireo_vq_more_used(t->vq));
	CHECK(vireo_vq_get_buf(t->vq, NULL) == NULL);
	CHECK(vireo_vq_is_broken(t->vq));
	CHECK_EQ(shim_log_count, 1);
	CHECK(strstr(shim_log_last, "descriptor 0 marked used with no buffer in flight"));
	th_del(t);
}

/* A wrap counter gone wrong after the first lap. */
static void t_packed_wrap_lap2(const void *arg)
{
	struct th *t = th_new(*(const u64 *)arg, 4, 0);
	struct tbuf *b = t_simple_buf(0, 1, 1);
	struct sim_elem e;
	unsigned int i;

	for (i = 0; i < 5; i++) {		/* slots 0..3, then 0 again */
		CHECK_EQ(tbuf_add(t, b, 0, GFP_KERNEL), 0);
		CHECK(t_dev_pop(t, &e, b));
		if (i < 4) {
			t_dev_complete(t, &e, 1, 0);
			CHECK(t_get(t, b, 1));
		}
	}
	shim_log_quiet = true;
	/* Marked used with the first lap's counter (1); we are on 0. */
	sim_packed_write_desc(&t->sim, 0, e.id, 1, PF_AVAIL | PF_USED);
	/* Not "still available": something for get_buf to look at. */
	CHECK(vireo_vq_more_used(t->vq));
	CHECK(vireo_vq_get_buf(t->vq, NULL) == NULL);
	CHECK(vireo_vq_is_broken(t->vq));
	CHECK(strstr(shim_log_last, "descriptor 0 has flags 0x8080: not used for wrap counter 0"));
	CHECK(vireo_vq_detach_unused(t->vq) == b);
	th_del(t);
	tbuf_free(b);
}

void t_hostile(void)
{
	static const u64 split[] = { F_V1, F_V1 | F_EVENT | F_DMA };
	static const u64 packed[] = { F_V1 | F_PACKED,
				      F_V1 | F_PACKED | F_EVENT | F_DMA };
	static const struct {
		const char *name;
		void (*fn)(const void *arg);
	} st[] = {
		{ "used id out of range", t_split_id_range },
		{ "used id 0xffffffff", t_split_id_huge },
		{ "used id of a free descriptor", t_split_id_free },
		{ "used id inside a chain", t_split_id_nonhead },
		{ "duplicate completion", t_split_dup },
		{ "used len too large", t_split_len },
		{ "used idx jumps by more than the ring size", t_split_jump_size },
		{ "used idx jumps past the buffers in flight", t_split_jump_inflight },
		{ "used idx moves backwards", t_split_backwards },
		{ "bad used entry seen from the interrupt", t_split_via_irq },
	}, pt[] = {
		{ "used id out of range", t_packed_id_range },
		{ "used id not a buffer id", t_packed_id_notid },
		{ "duplicate completion", t_packed_dup },
		{ "used len too large", t_packed_len },
		{ "wrong wrap counter", t_packed_wrap },
		{ "bogus flags (USED without AVAIL)", t_packed_flags_bogus },
		{ "bogus flags seen by the interrupt and poll", t_packed_flags_irq },
		{ "last lap's flags with nothing in flight", t_packed_stale_flags_idle },
		{ "used descriptor with nothing in flight", t_packed_nothing_inflight },
		{ "wrong wrap counter on the second lap", t_packed_wrap_lap2 },
	};
	char name[160];
	unsigned int i, j;

	for (j = 0; j < ARRAY_SIZE(split); j++)
		for (i = 0; i < ARRAY_SIZE(st); i++) {
			snprintf(name, sizeof(name), "hostile split%s: %s",
				 j ? " event_idx dma" : "", st[i].name);
			t_run(name, st[i].fn, &split[j]);
		}
	for (j = 0; j < ARRAY_SIZE(packed); j++) {
		for (i = 0; i < ARRAY_SIZE(pt); i++) {
			snprintf(name, sizeof(name), "hostile packed%s: %s",
				 j ? " event_idx dma" : "", pt[i].name);
			t_run(name, pt[i].fn, &packed[j]);
		}
		snprintf(name, sizeof(name),
			 "packed%s: reserved used length reads as 0, not broken",
			 j ? " event_idx dma" : "");
		t_run(name, t_packed_len_reserved, &packed[j]);
	}
}
