// SPDX-License-Identifier: GPL-2.0
/*
 * Notification suppression, both ways: when the driver kicks (the device's
 * flags / avail_event / event structure) and when the device interrupts
 * (the driver's flags / used_event / event structure), for both layouts,
 * with and without VIRTIO_F_EVENT_IDX.
 */
#include "tests.h"

#define NB	16

struct nt {
	struct th *t;
	struct tbuf *b[NB];
	struct sim_elem e[NB];
	unsigned int n;		/* buffers made */
};

static void nt_init(struct nt *x, u64 features, unsigned int num,
		    unsigned int legacy_align)
{
	unsigned int i;

	memset(x, 0, sizeof(*x));
	x->t = th_new(features, num, legacy_align);
	for (i = 0; i < NB; i++)
		x->b[i] = t_simple_buf(0, 1, (u8)i);	/* one descriptor */
}

static void nt_fini(struct nt *x)
{
	unsigned int i;

	while (vireo_vq_detach_unused(x->t->vq))
		;
	th_del(x->t);
	for (i = 0; i < NB; i++)
		tbuf_free(x->b[i]);
}

/* Adds buffer @i. */
static void nt_add(struct nt *x, unsigned int i)
{
	CHECK_EQ(tbuf_add(x->t, x->b[i], 1, GFP_KERNEL), 0);
}

static void nt_pop(struct nt *x, unsigned int i)
{
	CHECK(t_dev_pop(x->t, &x->e[i], x->b[i]));
}

static bool nt_done(struct nt *x, unsigned int i)
{
	t_dev_complete(x->t, &x->e[i], 1, (u8)i);
	return sim_flush(&x->t->sim);
}

static void nt_get(struct nt *x, unsigned int i)
{
	CHECK(t_get(x->t, x->b[i], 1));
}

/* ---- split, flags ------------------------------------------------------- */

static void t_split_flags(const void *arg)
{
	const struct cfg *c = arg;
	struct nt x;
	struct th *t;

	nt_init(&x, c->features, 8, c->legacy_align);
	t = x.t;
	/* virtio 1.2, 2.7.10: NO_NOTIFY in used->flags: no kick. */
	sim_split_set_no_notify(&t->sim, true);
	nt_add(&x, 0);
	CHECK(!vireo_vq_kick_prepare(t->vq));
	CHECK_EQ(t->vr->stats.kicks_suppressed, 1);
	CHECK(vireo_vq_kick(t->vq));		/* nothing to do is not an error */
	CHECK_EQ(t->notifies, 0);
	sim_split_set_no_notify(&t->sim, false);
	nt_add(&x, 1);
	CHECK(vireo_vq_kick_prepare(t->vq));
	CHECK(vireo_vq_notify(t->vq));
	CHECK_EQ(t->notifies, 1);
	CHECK_EQ(atomic64_read(&t->vr->stats.kicks), 1);

	/* virtio 1.2, 2.7.7: NO_INTERRUPT in avail->flags: no interrupt. */
	nt_pop(&x, 0);
	nt_pop(&x, 1);
	vireo_vq_disable_cb(t->vq);
	CHECK_EQ(sim_split_avail_flags(&t->sim), VRING_AVAIL_F_NO_INTERRUPT);
	CHECK(!nt_done(&x, 0));
	CHECK(!vireo_vq_enable_cb(t->vq));	/* buffer 0 is waiting */
	CHECK_EQ(sim_split_avail_flags(&t->sim), 0);
	nt_get(&x, 0);
	CHECK(vireo_vq_enable_cb(t->vq));
	CHECK(nt_done(&x, 1));
	nt_get(&x, 1);
	vireo_vq_disable_cb(t->vq);
	vireo_vq_disable_cb(t->vq);		/* already off: not counted */
	CHECK_EQ(atomic64_read(&t->vr->stats.cb_suppressed), 2);
	/* Without EVENT_IDX, delayed is plain enable. */
	CHECK(vireo_vq_enable_cb_delayed(t->vq));
	CHECK_EQ(sim_split_avail_flags(&t->sim), 0);
	nt_fini(&x);
}

/* ---- split, event_idx --------------------------------------------------- */

static void t_split_event(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t;
	struct nt x;
	unsigned int i;

	nt_init(&x, c->features | F_EVENT, 8, c->legacy_align);
	t = x.t;
	/* avail_event = 1: kick once entry 1 is written (virtio 1.2, 2.7.10). */
	sim_split_set_avail_event(&t->sim, 1);
	nt_add(&x, 0);
	CHECK(!vireo_vq_kick_prepare(t->vq));
	nt_add(&x, 1);
	CHECK(vireo_vq_kick_prepare(t->vq));
	sim_split_set_avail_event(&t->sim, 3);
	for (i = 2; i < 5; i++)
		nt_add(&x, i);
	CHECK(vireo_vq_kick_prepare(t->vq));	/* the batch 2..4 passed 3 */
	sim_split_set_avail_event(&t->sim, 10);
	nt_add(&x, 5);
	CHECK(!vireo_vq_kick_prepare(t->vq));
	/* The flags bit is not ours to set with EVENT_IDX (virtio 1.2, 2.7.7.1). */
	sim_split_set_no_notify(&t->sim, true);
	nt_add(&x, 6);
	sim_split_set_avail_event(&t->sim, 6);
	CHECK(vireo_vq_kick_prepare(t->vq));
	sim_split_set_no_notify(&t->sim, false);

	vireo_vq_disable_cb(t->vq);
	CHECK_EQ(sim_split_avail_flags(&t->sim), 0);
	for (i = 0; i < 7; i++)
		nt_pop(&x, i);
	/* used_event = last_used: interrupt for the next one, only. */
	CHECK(vireo_vq_enable_cb(t->vq));
	CHECK_EQ(sim_split_used_event(&t->sim), 0);
	CHECK(nt_done(&x, 0));
	CHECK(!nt_done(&x, 1));
	nt_get(&x, 0);
	nt_get(&x, 1);
	CHECK_EQ(sim_split_used_event(&t->sim), 2);	/* moved on by get_buf */
	CHECK(nt_done(&x, 2));
	nt_get(&x, 2);
	vireo_vq_disable_cb(t->vq);
	CHECK(!nt_done(&x, 3));
	nt_get(&x, 3);
	CHECK(!nt_done(&x, 4));
	nt_get(&x, 4);

	/* Delayed: 5, 6 out, add 7, 8: 4 in flight, interrupt at the 4th * 3/4. */
	nt_add(&x, 7);
	nt_add(&x, 8);
	nt_pop(&x, 7);
	nt_pop(&x, 8);
	CHECK(vireo_vq_enable_cb_delayed(t->vq));
	CHECK_EQ(sim_split_used_event(&t->sim), 5 + 3);
	CHECK(!nt_done(&x, 5));
	CHECK(!nt_done(&x, 6));
	CHECK(!nt_done(&x, 7));
	CHECK(nt_done(&x, 8));
	vireo_vq_disable_cb(t->vq);
	for (i = 5; i < 9; i++)
		nt_get(&x, i);

	/* Delayed when the device is already past the point: poll again. */
	for (i = 9; i < 13; i++) {
		nt_add(&x, i);
		nt_pop(&x, i);
		nt_done(&x, i);
	}
	CHECK(!vireo_vq_enable_cb_delayed(t->vq));
	vireo_vq_disable_cb(t->vq);
	for (i = 9; i < 13; i++)
		nt_get(&x, i);

	/* prepare/poll */
	{
		unsigned int pos = vireo_vq_enable_cb_prepare(t->vq);

		CHECK(!vireo_vq_poll(t->vq, pos));
		nt_add(&x, 13);
		nt_pop(&x, 13);
		CHECK(nt_done(&x, 13));
		CHECK(vireo_vq_poll(t->vq, pos));
		nt_get(&x, 13);
	}
	nt_fini(&x);
}

/* ---- packed ------------------------------------------------------------- */

#define EV_ENABLE	VRING_PACKED_EVENT_FLAG_ENABLE
#define EV_DISABLE	VRING_PACKED_EVENT_FLAG_DISABLE
#define EV_DESC		VRING_PACKED_EVENT_FLAG_DESC

static void t_packed_flags(const void *arg)
{
	struct nt x;
	struct th *t;

	(void)arg;
	nt_init(&x, F_V1 | F_PACKED, 8, 0);
	t = x.t;
	sim_packed_set_event(&t->sim, EV_DISABLE, 0, 0);
	nt_add(&x, 0);
	CHECK(!vireo_vq_kick_prepare(t->vq));
	sim_packed_set_event(&t->sim, EV_ENABLE, 0, 0);
	nt_add(&x, 1);
	CHECK(vireo_vq_kick_prepare(t->vq));
	/* DESC is only meaningful with EVENT_IDX: taken as enable. */
	sim_packed_set_event(&t->sim, EV_DESC, 7, 0);
	nt_add(&x, 2);
	CHECK(vireo_vq_kick_prepare(t->vq));
	sim_packed_set_event(&t->sim, 3, 7, 0);	/* reserved value */
	nt_add(&x, 3);
	CHECK(vireo_vq_kick_prepare(t->vq));

	nt_pop(&x, 0);
	nt_pop(&x, 1);
	nt_pop(&x, 2);
	nt_pop(&x, 3);
	vireo_vq_disable_cb(t->vq);
	CHECK_EQ(sim_packed_driver_flags(&t->sim), EV_DISABLE);
	CHECK(!nt_done(&x, 0));
	CHECK(!vireo_vq_enable_cb(t->vq));
	CHECK_EQ(sim_packed_driver_flags(&t->sim), EV_ENABLE);
	nt_get(&x, 0);
	CHECK(vireo_vq_enable_cb(t->vq));
	CHECK(nt_done(&x, 1));
	CHECK(nt_done(&x, 2));			/* ENABLE: every time */
	nt_get(&x, 1);
	nt_get(&x, 2);
	CHECK(vireo_vq_enable_cb_delayed(t->vq));
	CHECK_EQ(sim_packed_driver_flags(&t->sim), EV_ENABLE);
	CHECK(nt_done(&x, 3));
	nt_get(&x, 3);
	nt_fini(&x);
}

static void t_packed_event(const void *arg)
{
	struct nt x;
	struct th *t;
	unsigned int i, pos;

	(void)arg;
	nt_init(&x, F_V1 | F_PACKED | F_EVENT, 8, 0);
	t = x.t;
	/* Device: tell me when slot 1 (wrap 1) is made available. */
	sim_packed_set_event(&t->sim, EV_DESC, 1, true);
	nt_add(&x, 0);				/* slot 0 */
	CHECK(!vireo_vq_kick_prepare(t->vq));
	nt_add(&x, 1);				/* slot 1 */
	CHECK(vireo_vq_kick_prepare(t->vq));
	sim_packed_set_event(&t->sim, EV_DESC, 3, true);
	nt_add(&x, 2);				/* slots 2 */
	nt_add(&x, 3);				/* slot 3 */
	CHECK(vireo_vq_kick_prepare(t->vq));
	sim_packed_set_event(&t->sim, EV_DESC, 6, true);
	nt_add(&x, 4);				/* slot 4 */
	CHECK(!vireo_vq_kick_prepare(t->vq));

	/* Reap all to make room, then cross the end of the ring. */
	for (i = 0; i < 5; i++) {
		nt_pop(&x, i);
		nt_done(&x, i);
		nt_get(&x, i);
	}
	sim_packed_set_event(&t->sim, EV_DESC, 1, false);	/* next lap */
	for (i = 5; i < 8; i++) {		/* slots 5, 6, 7 */
		nt_add(&x, i);
		CHECK(!vireo_vq_kick_prepare(t->vq));
	}
	nt_add(&x, 8);				/* slot 0, wrap 0 */
	CHECK(!vireo_vq_kick_prepare(t->vq));
	nt_add(&x, 9);				/* slot 1, wrap 0 */
	CHECK(vireo_vq_kick_prepare(t->vq));
	/* An event from the last lap, long passed: no kick. */
	sim_packed_set_event(&t->sim, EV_DESC, 5, true);
	nt_add(&x, 10);				/* slot 2 */
	CHECK(!vireo_vq_kick_prepare(t->vq));
	/* ... but one just behind us within a batch that wrapped is hit. */
	for (i = 5; i < 11; i++) {
		nt_pop(&x, i);
		nt_done(&x, i);
		nt_get(&x, i);
	}
	sim_packed_set_event(&t->sim, EV_DESC, 7, false);
	for (i = 11; i < 16; i++)		/* slots 3..7, wrap 0 */
		nt_add(&x, i);
	CHECK(vireo_vq_kick_prepare(t->vq));

	/* Used side: DESC at last_used, moved on by get_buf. */
	for (i = 11; i < 16; i++)
		nt_pop(&x, i);
	vireo_vq_disable_cb(t->vq);
	CHECK_EQ(sim_packed_driver_flags(&t->sim), EV_DISABLE);
	CHECK(!nt_done(&x, 11));
	CHECK(!vireo_vq_enable_cb(t->vq));
	CHECK_EQ(sim_packed_driver_flags(&t->sim), EV_DESC);
	CHECK_EQ(sim_packed_driver_off_wrap(&t->sim), 3);	/* slot 3, wrap 0 */
	nt_get(&x, 11);
	CHECK_EQ(sim_packed_driver_off_wrap(&t->sim), 4);
	CHECK(nt_done(&x, 12));
	CHECK(!nt_done(&x, 13));
	nt_get(&x, 12);
	nt_get(&x, 13);
	CHECK_EQ(sim_packed_driver_off_wrap(&t->sim), 6);
	CHECK(nt_done(&x, 14));
	nt_get(&x, 14);
	CHECK(nt_done(&x, 15));
	nt_get(&x, 15);
	/* last_used crossed the end: wrap bit 15 flips back to 1. */
	CHECK_EQ(sim_packed_driver_off_wrap(&t->sim), 0x8000);

	/* Delayed: four single-slot buffers, interrupt at the third after. */
	for (i = 0; i < 4; i++) {
		nt_add(&x, i);
		nt_pop(&x, i);
	}
	vireo_vq_disable_cb(t->vq);
	CHECK(vireo_vq_enable_cb_delayed(t->vq));
	CHECK_EQ(sim_packed_driver_off_wrap(&t->sim), 0x8000 | 3);
	CHECK(!nt_done(&x, 0));
	CHECK(!nt_done(&x, 1));
	CHECK(!nt_done(&x, 2));
	CHECK(nt_done(&x, 3));
	vireo_vq_disable_cb(t->vq);
	for (i = 0; i < 4; i++)
		nt_get(&x, i);

	/* prepare/poll */
	pos = vireo_vq_enable_cb_prepare(t->vq);
	CHECK(!vireo_vq_poll(t->vq, pos));
	nt_add(&x, 4);
	nt_pop(&x, 4);
	CHECK(nt_done(&x, 4));
	CHECK(vireo_vq_poll(t->vq, pos));
	nt_get(&x, 4);
	nt_fini(&x);
}

/*
 * More buffers made available without a kick than the 16-bit arithmetic
 * can follow: notify whatever the device's suppression says.
 */
static void t_lost_count(const void *arg)
{
	const struct cfg *c = arg;
	unsigned int i, n = c->features & F_PACKED ? 4 : 65536;
	struct nt x;

	nt_init(&x, c->features, 4, 0);
	if (c->features & F_PACKED)
		sim_packed_set_event(&x.t->sim, EV_DISABLE, 0, 0);
	else
		sim_split_set_no_notify(&x.t->sim, true);
	for (i = 0; i < n; i++) {
		nt_add(&x, 0);
		nt_pop(&x, 0);
		nt_done(&x, 0);
		nt_get(&x, 0);
		if (t_failed)
			break;
	}
	CHECK(vireo_vq_kick_prepare(x.t->vq));
	nt_add(&x, 0);
	CHECK(!vireo_vq_kick_prepare(x.t->vq));
	nt_fini(&x);
}

/* The interrupt handler: IRQ_NONE without work, the callback with it. */
static void t_interrupt(const void *arg)
{
	const struct cfg *c = arg;
	long err = 0;
	struct nt x;
	struct th *t;

	nt_init(&x, c->features, 8, c->legacy_align);
	t = x.t;
	CHECK_EQ(vireo_vq_interrupt(t->vq), IRQ_NONE);
	nt_add(&x, 0);
	nt_pop(&x, 0);
	CHECK_EQ(vireo_vq_interrupt(t->vq), IRQ_NONE);
	nt_done(&x, 0);
	CHECK_EQ(vireo_vq_interrupt(t->vq), IRQ_HANDLED);
	CHECK_EQ(t->callbacks, 1);
	nt_get(&x, 0);
	CHECK_EQ(atomic64_read(&t->vr->stats.interrupts), 3);
	CHECK_EQ(atomic64_read(&t->vr->stats.spurious), 2);
	nt_fini(&x);

	/* A queue without a callback asks for no interrupts at all. */
	t = th_try_new(c->features, 8, c->legacy_align, false, &err);
	CHECK(t != NULL);
	if (!t)
		return;
	if (t->vr->is_packed)
		CHECK_EQ(sim_packed_driver_flags(&t->sim), EV_DISABLE);
	else if (t->vr->event_idx)
		CHECK_EQ(sim_split_used_event(&t->sim), 0x8000);
	else
		CHECK_EQ(sim_split_avail_flags(&t->sim), VRING_AVAIL_F_NO_INTERRUPT);
	th_del(t);
}

/* The transport says the device is gone: the queue is broken. */
static void t_notify_fails(const void *arg)
{
	const struct cfg *c = arg;
	struct nt x;

	nt_init(&x, c->features, 8, c->legacy_align);
	x.t->notify_ok = false;
	nt_add(&x, 0);
	CHECK(!vireo_vq_kick(x.t->vq));
	CHECK(vireo_vq_is_broken(x.t->vq));
	CHECK_EQ(tbuf_add(x.t, x.b[1], 0, GFP_KERNEL), -EIO);
	CHECK(!vireo_vq_notify(x.t->vq));
	CHECK_EQ(x.t->notifies, 1);
	nt_fini(&x);
}

/* vireo_break_vqs: every queue of the device, silently. */
static void t_break_vqs(const void *arg)
{
	struct vireo_vq_info info = { .name = "second" };
	struct th *t = th_new(F_V1 | F_PACKED, 8, 0);
	struct vireo_vq *vq2;

	(void)arg;
	vq2 = vireo_vq_new(&t->vd, 1, 16, 0, t->vr->notify, &info);
	CHECK(!IS_ERR(vq2));
	if (IS_ERR(vq2))
		return;
	vireo_break_vqs(&t->vd);
	CHECK(vireo_vq_is_broken(t->vq));
	CHECK(vireo_vq_is_broken(vq2));
	CHECK_EQ(shim_log_count, 0);
	CHECK_EQ(vireo_vq_interrupt(vq2), IRQ_HANDLED);
	vireo_vq_del(vq2);
	th_del(t);
}

void t_notify(void)
{
	static const struct cfg split[] = {
		{ "split", F_V1, 0, 8 },
		{ "split-legacy", 0, 4096, 8 },
		{ "split dma", F_V1 | F_DMA | F_ORDER, 0, 8 },
	};
	static const struct cfg any[] = {
		{ "split", F_V1, 0, 8 },
		{ "split event_idx", F_V1 | F_EVENT, 0, 8 },
		{ "packed", F_V1 | F_PACKED, 0, 8 },
		{ "packed event_idx", F_V1 | F_PACKED | F_EVENT, 0, 8 },
	};
	char name[128];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(split); i++) {
		snprintf(name, sizeof(name), "suppression: flags %s", split[i].name);
		t_run(name, t_split_flags, &split[i]);
		snprintf(name, sizeof(name), "suppression: event_idx %s", split[i].name);
		t_run(name, t_split_event, &split[i]);
	}
	t_run("suppression: packed flags", t_packed_flags, NULL);
	t_run("suppression: packed event_idx, wrap counters", t_packed_event, NULL);
	for (i = 0; i < ARRAY_SIZE(any); i++) {
		snprintf(name, sizeof(name), "interrupt handler %s", any[i].name);
		t_run(name, t_interrupt, &any[i]);
		snprintf(name, sizeof(name), "notify failing breaks the queue %s",
			 any[i].name);
		t_run(name, t_notify_fails, &any[i]);
	}
	t_run("suppression: kick after 65536 unkicked buffers (split)",
	      t_lost_count, &any[0]);
	t_run("suppression: kick after a whole lap unkicked (packed)",
	      t_lost_count, &any[2]);
	t_run("vireo_break_vqs breaks every queue, silently", t_break_vqs, NULL);
}
