/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test harness for the vireo ring in userspace: a fake vireo_device with one
 * queue and a simulated device behind it, test buffers, and TAP output.
 */
#ifndef _VIREO_HARNESS_H
#define _VIREO_HARNESS_H

#include <vireo/virtio.h>

#include "../../drivers/virtio_ring/ring.h"
#include "sim.h"

#define F(bit)		BIT_ULL(bit)
#define F_V1		F(VIRTIO_F_VERSION_1)
#define F_PACKED	F(VIRTIO_F_RING_PACKED)
#define F_EVENT		F(VIRTIO_RING_F_EVENT_IDX)
#define F_INDIRECT	F(VIRTIO_RING_F_INDIRECT_DESC)
#define F_DMA		F(VIRTIO_F_ACCESS_PLATFORM)
#define F_ORDER		F(VIRTIO_F_ORDER_PLATFORM)
#define F_RESET		F(VIRTIO_F_RING_RESET)
#define F_NDATA		F(VIRTIO_F_NOTIFICATION_DATA)

/* A queue under test. */
struct th {
	struct device parent;		/* the "DMA device" */
	struct vireo_device vd;
	struct vireo_vq *vq;
	struct vireo_ring *vr;		/* the ring's private state, for checks */
	struct sim_dev sim;
	bool notify_ok;			/* what the transport's notify returns */
	unsigned int notifies;
	unsigned int callbacks;
	void (*on_callback)(struct th *t);
	void (*on_notify)(struct th *t);	/* after counting a kick */
	void *priv;
	/* The transport's queue reset (VIRTIO_F_RING_RESET). */
	unsigned int max_size;		/* what reset_vq says the device takes */
	int reset_err, enable_err;	/* what reset_vq / enable_vq return */
	unsigned int resets, enables, syncs;
	/* VIRTIO_F_NOTIFICATION_DATA: kicks checked, and wrong. */
	unsigned int notify_data_checked, notify_data_bad;
};

/* vireo_vq_info.flags of the queues created next (VIREO_VQ_F_*). */
extern unsigned int th_vq_flags;

/* Creates a queue; NULL and *err set when vireo_vq_new fails. */
struct th *th_try_new(u64 features, unsigned int num, unsigned int legacy_align,
		      bool callback, long *err);
struct th *th_new(u64 features, unsigned int num, unsigned int legacy_align);
void th_del(struct th *t);
static inline struct th *th_of(struct vireo_vq *vq)
{
	return container_of(vq->vdev, struct th, vd);
}

/* A request: up to 4 readable and 4 writable segments. */
#define TB_MAX	4
struct tbuf {
	unsigned int nout, nin;
	u8 *out[TB_MAX], *in[TB_MAX];
	u32 out_len[TB_MAX], in_len[TB_MAX];
	u32 total_out, total_in;
	u8 seed;
	struct scatterlist sg[2 * TB_MAX];
	u32 done_len;			/* what the device said it wrote */
	bool completed;			/* by the honest device */
};

struct tbuf *tbuf_new(unsigned int nout, unsigned int nin, const u32 *lens,
		      u8 seed);
void tbuf_free(struct tbuf *b);
/* Adds @b in one of several API styles (@style picks one). */
int tbuf_add(struct th *t, struct tbuf *b, unsigned int style, gfp_t gfp);
/* Checks the device saw @b's readable bytes in order; true if so. */
bool tbuf_matches_elem(const struct tbuf *b, const struct sim_elem *e);
/* Checks @len bytes of @b's writable parts hold the device's pattern. */
bool tbuf_check_in(const struct tbuf *b, u32 len, u8 seed);
/* Does @e point into @b? */
bool tbuf_owns_elem(const struct tbuf *b, const struct sim_elem *e);

/* TAP. */
extern bool t_failed;
extern unsigned int t_checks;
#define CHECK(c) do {							\
	t_checks++;							\
	if (!(c)) {							\
		t_failed = true;					\
		printf("#   %s:%d: CHECK(%s) failed\n", __FILE__,	\
		       __LINE__, #c);					\
	}								\
} while (0)
#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	t_checks++;							\
	if (_a != _b) {							\
		t_failed = true;					\
		printf("#   %s:%d: %s == %lld, expected %s == %lld\n",	\
		       __FILE__, __LINE__, #a, _a, #b, _b);		\
	}								\
} while (0)

void t_run(const char *name, void (*fn)(const void *arg), const void *arg);
void t_skip(const char *name, const char *why);
int t_summary(void);

/* Deterministic PRNG for the tests. */
u32 t_rand(void);
void t_srand(u64 seed);

#endif /* _VIREO_HARNESS_H */
