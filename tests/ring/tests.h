/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VIREO_TESTS_H
#define _VIREO_TESTS_H

#include "harness.h"

struct cfg {
	const char *name;
	u64 features;
	unsigned int legacy_align;
	unsigned int num;
};

extern const struct cfg t_cfgs[];
extern const unsigned int t_ncfgs;

struct tbuf *t_random_buf(unsigned int max_segs, u8 seed);
struct tbuf *t_simple_buf(unsigned int nout, unsigned int nin, u8 seed);
bool t_dev_pop(struct th *t, struct sim_elem *e, const struct tbuf *b);
void t_dev_complete(struct th *t, const struct sim_elem *e, u32 len, u8 seed);
bool t_get(struct th *t, struct tbuf *b, u32 len);

void t_basic(void);
void t_notify(void);
void t_hostile(void);
void t_concurrent(void);
void t_reset(void);
void t_notify_data(void);

/* fuzz.c: one input; 0 when every invariant held. */
int vireo_fuzz_one(const u8 *data, size_t size);

#endif /* _VIREO_TESTS_H */
