// SPDX-License-Identifier: GPL-2.0
/*
 * The ring with a driver thread and a device thread running at once, for
 * the store-load barriers of the notification protocol (virtio 1.2, 2.7.10,
 * 2.7.14, 2.8.21): each side stores "I am going to sleep / I published
 * something" and then loads the other side's word. Without a full barrier
 * between the two the CPU may let the load pass the store (x86 does: the
 * store waits in its store buffer), both sides miss each other and a
 * notification is lost: the device sleeps with a buffer available, or the
 * driver sleeps with a buffer used.
 *
 * The losing side is always found asleep: every sleep and wake goes
 * through one mutex, so "the device is asleep, no kick is on its way, and
 * the driver has made a buffer available that the device never took" is
 * an exact statement, and it is a lost kick (likewise for interrupts).
 * The spinning side checks it, so a lost notification fails the test the
 * moment it happens, never by a timeout. Each case runs for a bounded
 * number of buffers and at most CC_SECONDS.
 *
 * Two set-ups, for both layouts, with and without VIRTIO_F_EVENT_IDX:
 * - kick: the device sleeps between buffers (notifications on, a re-check,
 *   then sleep); the driver adds one buffer at a time and spins for its
 *   completion with callbacks off. Catches kick_prepare's barrier.
 * - irq: the device spins on the available ring with notifications off;
 *   the driver sleeps for interrupts, re-arming callbacks with enable_cb
 *   (NAPI) or enable_cb_delayed with one buffer in flight, or leaving them
 *   on with several (a block driver's pattern, where get_buf re-arms the
 *   event index). Catches poll's, enable_cb_delayed's and get_buf's.
 *
 * The threads run on two CPUs where there are two, and each side waits a
 * random few hundred nanoseconds at its turn, so that the windows meet.
 * Whether the CPU reorders in the time given is chance: a pass shows
 * nothing was lost in that time, a failure is always a lost notification.
 *
 * `make -C tests/ring mutate` builds the ring with each full barrier of
 * split.c and packed.c deleted in turn and expects this test to fail.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "tests.h"

/* Seconds a case runs at most; RING_CONC_SECONDS overrides (mutate). */
#define CC_SECONDS	0.5
static double cc_seconds = CC_SECONDS;
#define CC_BUFS		400000
#define CC_DEPTH	4	/* in flight with callbacks left on */
#define CC_NUM		16

enum cc_mode { CC_KICK, CC_NAPI, CC_DELAYED, CC_CB_ON };

struct cc_case {
	const char *name;
	u64 features;
	enum cc_mode mode;
};

struct cc {
	const struct cc_case *c;
	struct th *t;
	struct tbuf *b[CC_DEPTH];

	pthread_mutex_t mutex;
	pthread_cond_t wake;
	/* Under mutex. */
	bool kick_pending, irq_pending;
	bool dev_asleep, drv_asleep;
	bool stop;
	const char *lost;		/* what was lost, first seen */
	/* Written by one side, read by the other. */
	unsigned long added;		/* by the driver */
	unsigned long taken;		/* by the device: popped and pushed */
	unsigned long consumed;		/* by the driver, at its last sleep */
	const char *error;		/* the device found the ring bad */

	struct timespec start;
	unsigned int dev_sleeps, drv_sleeps;
};

/*
 * The counters one side keeps for the other: acquire and release, which
 * on x86 are plain moves. A sequentially consistent store would be a full
 * barrier between the driver's add and its kick, and hide the one under
 * test.
 */
static unsigned long ld(const unsigned long *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void st(unsigned long *p, unsigned long v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/*
 * Sleeping and waking go through one mutex. A sleeper spins a while on its
 * wake-up word before it blocks: while both threads have a CPU, the
 * windows the barriers close come round as fast as buffers move, and on a
 * busy machine the threads still hand over through the kernel.
 */
static void cc_lock(struct cc *x)
{
	pthread_mutex_lock(&x->mutex);
}

static void cc_unlock(struct cc *x)
{
	pthread_mutex_unlock(&x->mutex);
}

#define CC_SPINS	2000

/* Sleeps until *@pending (then clears it) or stop; counts the sleep. */
static void cc_sleep(struct cc *x, bool *asleep, bool *pending,
		     unsigned int *sleeps)
{
	unsigned int spins;

	cc_lock(x);
	if (!*pending && !x->stop) {
		__atomic_store_n(asleep, true, __ATOMIC_SEQ_CST);
		(*sleeps)++;
		cc_unlock(x);
		for (spins = 0; spins < CC_SPINS; spins++) {
			if (__atomic_load_n(pending, __ATOMIC_SEQ_CST) ||
			    __atomic_load_n(&x->stop, __ATOMIC_SEQ_CST))
				break;
			__builtin_ia32_pause();
		}
		cc_lock(x);
		while (!*pending && !x->stop)
			pthread_cond_wait(&x->wake, &x->mutex);
		__atomic_store_n(asleep, false, __ATOMIC_SEQ_CST);
	}
	*pending = false;
	cc_unlock(x);
}

static void cc_wake(struct cc *x, bool *pending)
{
	cc_lock(x);
	__atomic_store_n(pending, true, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&x->wake);
	cc_unlock(x);
}

/* The spinning side's wait for the other thread: now and then a yield. */
static void cc_relax(unsigned int *spins)
{
	if (++*spins % CC_SPINS)
		__builtin_ia32_pause();
	else
		sched_yield();
}

static bool cc_stopped(struct cc *x)
{
	return __atomic_load_n(&x->stop, __ATOMIC_SEQ_CST);
}

static void cc_stop(struct cc *x, const char *lost)
{
	cc_lock(x);
	if (lost && !x->lost)
		x->lost = lost;
	__atomic_store_n(&x->stop, true, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&x->wake);
	cc_unlock(x);
}

static bool cc_time_up(struct cc *x)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - x->start.tv_sec) +
	       (now.tv_nsec - x->start.tv_nsec) / 1e9 > cc_seconds;
}

/*
 * Up to a few hundred nanoseconds of nothing, differently each time: the
 * two sides reach their windows at different moments after a hand-over,
 * and the jitter makes them meet there now and then.
 */
static void cc_jitter(u32 *seed)
{
	unsigned int i, n;

	*seed ^= *seed << 13;
	*seed ^= *seed >> 17;
	*seed ^= *seed << 5;
	n = *seed % 1024;
	for (i = 0; i < n; i++)
		__asm__ __volatile__("" ::: "memory");
}

/* ---- the device --------------------------------------------------------- */

/* Available buffer notifications on (and the device's word published). */
static void cc_dev_notify_on(struct cc *x, bool on)
{
	struct sim_dev *d = &x->t->sim;

	if (d->packed) {
		if (!on)
			sim_packed_set_event(d, 1, 0, false);	/* DISABLE */
		else if (d->event_idx)
			sim_packed_set_event(d, 2, d->avail_pos, d->avail_wrap);
		else
			sim_packed_set_event(d, 0, 0, false);	/* ENABLE */
	} else if (d->event_idx) {
		/* Off: the old event index stays behind, which is off enough. */
		if (on)
			sim_split_set_avail_event(d, d->last_avail);
	} else {
		sim_split_set_no_notify(d, !on);
	}
}

/*
 * Is a buffer available? Read straight after the device's barrier, with
 * nothing in between that would let the driver's store land first.
 */
static bool cc_dev_pending(struct sim_dev *d)
{
	if (d->packed) {
		u16 f = __atomic_load_n((u16 *)((u8 *)d->desc + 16 * d->avail_pos + 14),
					__ATOMIC_RELAXED);

		return !!(f & BIT(7)) == d->avail_wrap &&
		       !!(f & BIT(15)) != d->avail_wrap;
	}
	return __atomic_load_n((u16 *)d->driver + 1, __ATOMIC_RELAXED) !=
	       d->last_avail;
}

/* One buffer, if there is one: 1 taken, 0 none, -1 the ring is bad. */
static int cc_dev_serve(struct cc *x, u32 *seed)
{
	struct sim_dev *d = &x->t->sim;
	struct sim_elem e;
	int r = sim_pop(d, &e);

	if (r < 0) {
		x->error = d->error;
		cc_stop(x, NULL);
	}
	if (r <= 0)
		return r;
	cc_jitter(seed);
	sim_push(d, &e, 0);
	st(&x->taken, x->taken + 1);
	/* sim_flush orders the used ring before the driver's event word. */
	if (sim_flush(d) && x->c->mode != CC_KICK)
		cc_wake(x, &x->irq_pending);
	return 1;
}

/* kick: serve, then notifications on, re-check, and sleep for a kick. */
static void cc_dev_sleeper(struct cc *x)
{
	u32 seed = 0x1234567;
	int r;

	while (!cc_stopped(x)) {
		r = cc_dev_serve(x, &seed);
		if (r)
			continue;
		cc_jitter(&seed);
		cc_dev_notify_on(x, true);
		if (cc_dev_pending(&x->t->sim)) {
			cc_dev_notify_on(x, false);
			continue;
		}
		cc_sleep(x, &x->dev_asleep, &x->kick_pending, &x->dev_sleeps);
		cc_dev_notify_on(x, false);
	}
}

/*
 * irq: serve with notifications off; when idle, see whether the driver
 * sleeps on a buffer that is used without an interrupt on its way.
 */
static void cc_dev_spinner(struct cc *x)
{
	u32 seed = 0x7654321;
	unsigned int spins = 0;
	bool lost;

	cc_dev_notify_on(x, false);
	while (!cc_stopped(x)) {
		if (cc_dev_serve(x, &seed))
			continue;
		if (!__atomic_load_n(&x->drv_asleep, __ATOMIC_SEQ_CST)) {
			cc_relax(&spins);
			continue;
		}
		cc_lock(x);
		lost = x->drv_asleep && !x->irq_pending &&
		       ld(&x->taken) > ld(&x->consumed);
		cc_unlock(x);
		if (lost)
			cc_stop(x, "an interrupt: the driver sleeps on a used buffer");
	}
}

/*
 * Each thread on a CPU of its own where there are two: on one CPU the
 * threads only take turns and no store ever waits in a buffer for the
 * other to miss it.
 */
static int cc_pin(unsigned int nth)
{
	cpu_set_t allowed, one;
	unsigned int cpu, seen = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) ||
	    CPU_COUNT(&allowed) < 2)
		return -1;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed) || seen++ != nth)
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		return pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
	}
	return -1;
}

static void *cc_device(void *arg)
{
	struct cc *x = arg;

	cc_pin(1);
	if (x->c->mode == CC_KICK)
		cc_dev_sleeper(x);
	else
		cc_dev_spinner(x);
	return NULL;
}

/* ---- the driver --------------------------------------------------------- */

static void cc_on_kick(struct th *t)
{
	struct cc *x = t->priv;

	cc_wake(x, &x->kick_pending);
}

static bool cc_add(struct cc *x, unsigned int slot)
{
	if (tbuf_add(x->t, x->b[slot], 1, GFP_ATOMIC)) {
		cc_stop(x, NULL);
		x->error = "add failed";
		return false;
	}
	st(&x->added, x->added + 1);
	vireo_vq_kick(x->t->vq);
	return true;
}

/* kick: one buffer at a time, its completion spun for. */
static void cc_drv_spinner(struct cc *x)
{
	struct vireo_vq *vq = x->t->vq;
	unsigned int len, spins = 0;
	u32 seed = 0x5eed;
	bool lost;

	vireo_vq_disable_cb(vq);
	while (!cc_stopped(x) && x->added < CC_BUFS) {
		cc_jitter(&seed);
		if (!cc_add(x, 0))
			return;
		while (!vireo_vq_get_buf(vq, &len)) {
			if (cc_stopped(x))
				return;
			if (!__atomic_load_n(&x->dev_asleep, __ATOMIC_SEQ_CST)) {
				cc_relax(&spins);
				continue;
			}
			cc_lock(x);
			lost = x->dev_asleep && !x->kick_pending &&
			       ld(&x->taken) < x->added;
			cc_unlock(x);
			if (lost) {
				cc_stop(x, "a kick: the device sleeps on an available buffer");
				return;
			}
		}
		if (!(x->added % 256) && cc_time_up(x))
			break;
	}
}

/* irq: up to CC_DEPTH in flight, interrupts slept for. */
static void cc_drv_sleeper(struct cc *x)
{
	struct vireo_vq *vq = x->t->vq;
	unsigned int inflight = 0, len, next = 0;
	/*
	 * One buffer at a time when re-arming: a lost interrupt for it is
	 * never made up by a later one. With callbacks left on, several, so
	 * that get_buf re-arms while the device completes the next.
	 */
	unsigned int depth = x->c->mode == CC_CB_ON ? CC_DEPTH : 1;
	unsigned long consumed = 0;
	bool more;
	u32 seed = 0xabcdef;

	if (x->c->mode != CC_CB_ON)
		vireo_vq_disable_cb(vq);
	while (!cc_stopped(x)) {
		while (inflight < depth && x->added < CC_BUFS) {
			if (!cc_add(x, next))
				return;
			next = (next + 1) % CC_DEPTH;
			inflight++;
		}
		while (vireo_vq_get_buf(vq, &len)) {
			inflight--;
			consumed++;
		}
		if (!inflight) {
			if (x->added >= CC_BUFS || cc_time_up(x))
				break;
			continue;
		}
		cc_jitter(&seed);
		if (x->c->mode == CC_NAPI)
			more = !vireo_vq_enable_cb(vq);
		else if (x->c->mode == CC_DELAYED)
			more = !vireo_vq_enable_cb_delayed(vq);
		else
			more = false;
		if (more) {
			vireo_vq_disable_cb(vq);
			continue;
		}

		st(&x->consumed, consumed);
		cc_sleep(x, &x->drv_asleep, &x->irq_pending, &x->drv_sleeps);
		vireo_vq_interrupt(vq);
		if (x->c->mode != CC_CB_ON)
			vireo_vq_disable_cb(vq);
		if (!(consumed % 256) && cc_time_up(x))
			break;
	}
}

static void cc_run(const void *arg)
{
	const struct cc_case *c = arg;
	struct cc *x = calloc(1, sizeof(*x));
	cpu_set_t saved;
	pthread_t dev;
	unsigned int i;

	if (!x)
		abort();
	x->c = c;
	x->t = th_new(c->features, CC_NUM, 0);
	x->t->priv = x;
	x->t->on_notify = cc_on_kick;
	for (i = 0; i < CC_DEPTH; i++)
		x->b[i] = t_simple_buf(0, 1, (u8)i);
	pthread_mutex_init(&x->mutex, NULL);
	pthread_cond_init(&x->wake, NULL);
	clock_gettime(CLOCK_MONOTONIC, &x->start);

	if (sched_getaffinity(0, sizeof(saved), &saved))
		abort();
	if (pthread_create(&dev, NULL, cc_device, x))
		abort();
	cc_pin(0);
	if (c->mode == CC_KICK)
		cc_drv_spinner(x);
	else
		cc_drv_sleeper(x);
	cc_stop(x, NULL);
	pthread_join(dev, NULL);
	sched_setaffinity(0, sizeof(saved), &saved);

	printf("#   %lu buffers, device slept %u times, driver %u\n",
	       x->added, x->dev_sleeps, x->drv_sleeps);
	if (x->lost)
		printf("#   lost %s after %lu buffers\n", x->lost, x->added);
	if (x->error)
		printf("#   %s\n", x->error);
	CHECK(!x->lost);
	CHECK(!x->error);
	CHECK(!vireo_vq_is_broken(x->t->vq));
	/* Both sides really went through the sleep path. */
	CHECK(c->mode == CC_KICK ? x->dev_sleeps > 0 : x->drv_sleeps > 0);

	while (vireo_vq_detach_unused(x->t->vq))
		;
	th_del(x->t);
	for (i = 0; i < CC_DEPTH; i++)
		tbuf_free(x->b[i]);
	pthread_mutex_destroy(&x->mutex);
	pthread_cond_destroy(&x->wake);
	free(x);
}

static const struct cc_case cc_cases[] = {
	{ "split kick", F_V1, CC_KICK },
	{ "split kick, event idx", F_V1 | F_EVENT, CC_KICK },
	{ "split enable_cb", F_V1, CC_NAPI },
	{ "split enable_cb, event idx", F_V1 | F_EVENT, CC_NAPI },
	{ "split enable_cb_delayed", F_V1, CC_DELAYED },
	{ "split enable_cb_delayed, event idx", F_V1 | F_EVENT, CC_DELAYED },
	{ "split callbacks on, event idx", F_V1 | F_EVENT, CC_CB_ON },
	{ "packed kick", F_V1 | F_PACKED, CC_KICK },
	{ "packed kick, event idx", F_V1 | F_PACKED | F_EVENT, CC_KICK },
	{ "packed enable_cb", F_V1 | F_PACKED, CC_NAPI },
	{ "packed enable_cb, event idx", F_V1 | F_PACKED | F_EVENT, CC_NAPI },
	{ "packed enable_cb_delayed", F_V1 | F_PACKED, CC_DELAYED },
	{ "packed enable_cb_delayed, event idx", F_V1 | F_PACKED | F_EVENT, CC_DELAYED },
	{ "packed callbacks on, event idx", F_V1 | F_PACKED | F_EVENT, CC_CB_ON },
};

void t_concurrent(void)
{
	const char *env = getenv("RING_CONC_SECONDS");
	char name[128];
	unsigned int i;

	if (env && atof(env) > 0 && atof(env) <= 60)
		cc_seconds = atof(env);
	for (i = 0; i < ARRAY_SIZE(cc_cases); i++) {
		snprintf(name, sizeof(name), "concurrent: %s", cc_cases[i].name);
		t_run(name, cc_run, &cc_cases[i]);
	}
}
