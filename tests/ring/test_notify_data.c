// SPDX-License-Identifier: GPL-2.0
/*
 * VIRTIO_F_NOTIFICATION_DATA (virtio 1.2, 2.9): every kick carries the
 * queue index and where the driver will put its next buffer, and the
 * simulated device checks it against the ring (harness.c's notify): split
 * against the avail idx, packed against the first slot not made available
 * in this lap and the wrap counter. QEMU 7.2 cannot offer the feature, so
 * this is where it is shown.
 */
#include "tests.h"

#define ND_LIVE	64

static void t_notification_data(const void *arg)
{
	const struct cfg *c = arg;
	struct th *t = th_new(c->features | F_NDATA, c->num, 0);
	struct tbuf *live[ND_LIVE];
	struct sim_elem e[ND_LIVE];
	unsigned int nlive = 0, npop, round, i, k, batch;
	u32 data;

	t_srand(c->num * 7919 + c->features);
	for (round = 0; round < 8 * c->num + 16; round++) {
		/* A batch of adds, then a kick that always reaches the device. */
		batch = 1 + t_rand() % 3;
		for (i = 0; i < batch && nlive < ND_LIVE; i++) {
			struct tbuf *b = t_random_buf(c->features & F_INDIRECT ? 4 : 1,
						      (u8)round);

			if (tbuf_add(t, b, t_rand(), GFP_KERNEL)) {
				tbuf_free(b);
				break;
			}
			live[nlive++] = b;
		}
		CHECK(vireo_vq_notify(t->vq));
		/* The device takes what is there, and uses it in any order. */
		npop = 0;
		while (npop < ND_LIVE && sim_pop(&t->sim, &e[npop]) == 1)
			npop++;
		while (npop) {
			k = t_rand() % npop;
			t_dev_complete(t, &e[k], 0, 0);
			e[k] = e[--npop];
		}
		sim_flush(&t->sim);
		while (vireo_vq_get_buf(t->vq, NULL))
			;
		for (i = 0; i < nlive; i++)
			tbuf_free(live[i]);
		nlive = 0;
	}
	CHECK(t->notify_data_checked >= 8 * c->num + 16);
	CHECK_EQ(t->notify_data_bad, 0);
	/* The check itself can fail: one slot off, and another queue. */
	data = vireo_vq_notification_data(t->vq);
	CHECK(sim_check_notify_data(&t->sim, data + (1 << 16), 0) != 0);
	CHECK(sim_check_notify_data(&t->sim, data + 1, 0) != 0);
	CHECK_EQ(sim_check_notify_data(&t->sim, data, 0), 0);
	th_del(t);
}

void t_notify_data(void)
{
	char name[128];
	unsigned int i;

	for (i = 0; i < t_ncfgs; i++) {
		if (t_cfgs[i].legacy_align)
			continue;	/* a legacy interface has no bit 38 */
		snprintf(name, sizeof(name), "notification data checked on every kick %s",
			 t_cfgs[i].name);
		t_run(name, t_notification_data, &t_cfgs[i]);
	}
}
