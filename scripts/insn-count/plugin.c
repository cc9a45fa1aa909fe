// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the guest instructions executed per
 * translated block, keyed by the block's guest address, for
 * scripts/bench-insns: how many instructions a driver's I/O path costs,
 * exactly, where timings on this machine are noise.
 *
 * The guest marks the edges of a measurement by executing a marker
 * instruction (tests/guest-src/insn-mark.c): an 8-byte NOP whose
 * displacement is MARK_MAGIC. Each time a marker runs, the counts since
 * boot go to OUT.N (N = 0, 1, ...) as "address instructions" lines; what
 * ran between two marks is the difference of their files. (The counters
 * are never reset: the other vCPU's inline adds are plain read-modify-write
 * and could write a count from before a reset back over it.)
 *
 * usage: qemu-system-x86_64 -plugin insn-count.so,out=PREFIX ...
 *
 * QEMU 7.2 ships no plugin header in Debian; the few calls of its plugin
 * API (version 1) used here are declared below.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU plugin API, version 1 (QEMU 4.2 to 8.x) ---------------------- */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
} qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_tb_trans_cb_t)(qemu_plugin_id_t id,
					  struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(unsigned int vcpu, void *udata);

size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   qemu_plugin_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
					      enum qemu_plugin_op op,
					      void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
					    qemu_plugin_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags,
					    void *udata);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;
EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			       int argc, char **argv);
/* ------------------------------------------------------------------------ */

/* nopl 0x4d524b56(%rax,%rax,1): "VKRM" as the displacement. */
#define MARK_MAGIC	0x4d524b56u
static const unsigned char mark_insn[8] = {
	0x0f, 0x1f, 0x84, 0x00,
	MARK_MAGIC & 0xff, (MARK_MAGIC >> 8) & 0xff,
	(MARK_MAGIC >> 16) & 0xff, MARK_MAGIC >> 24,
};

/* One counter per guest block address; never freed, never moved. */
struct counter {
	uint64_t vaddr;
	uint64_t insns;		/* added to inline by the block's code */
	bool taken;
};

#define TABLE_BITS	21
#define TABLE_SIZE	(1u << TABLE_BITS)
static struct counter *table;
static unsigned int used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char out_prefix[4096];
static unsigned int snapshots;

/* Under @lock. NULL when the table is full (then the block is not counted). */
static struct counter *counter_for(uint64_t vaddr)
{
	uint64_t h = (vaddr * 0x9e3779b97f4a7c15ull) >> (64 - TABLE_BITS);
	unsigned int i;

	for (i = 0; i < TABLE_SIZE; i++, h = (h + 1) & (TABLE_SIZE - 1)) {
		struct counter *c = &table[h];

		if (c->taken && c->vaddr == vaddr)
			return c;
		if (!c->taken) {
			if (used >= TABLE_SIZE / 2)
				return NULL;
			c->vaddr = vaddr;
			c->taken = true;
			used++;
			return c;
		}
	}
	return NULL;
}

/* A marker ran: write the counts so far. */
static void on_mark(unsigned int vcpu, void *udata)
{
	char path[4200];
	unsigned int i;
	FILE *f;

	(void)vcpu;
	(void)udata;
	pthread_mutex_lock(&lock);
	snprintf(path, sizeof(path), "%s.%u", out_prefix, snapshots++);
	f = fopen(path, "w");
	for (i = 0; i < TABLE_SIZE; i++) {
		struct counter *c = &table[i];

		if (!c->insns)
			continue;
		if (f)
			fprintf(f, "%" PRIx64 " %" PRIu64 "\n", c->vaddr,
				c->insns);
	}
	if (f)
		fclose(f);
	pthread_mutex_unlock(&lock);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb), i;
	struct counter *c;

	(void)id;
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		if (qemu_plugin_insn_size(insn) == sizeof(mark_insn) &&
		    !memcmp(qemu_plugin_insn_data(insn), mark_insn,
			    sizeof(mark_insn)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark,
							       QEMU_PLUGIN_CB_NO_REGS,
							       NULL);
	}
	pthread_mutex_lock(&lock);
	c = counter_for(qemu_plugin_tb_vaddr(tb));
	pthread_mutex_unlock(&lock);
	if (c)
		qemu_plugin_register_vcpu_tb_exec_inline(tb,
							 QEMU_PLUGIN_INLINE_ADD_U64,
							 &c->insns, n);
}

int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			int argc, char **argv)
{
	unsigned int i;

	(void)info;
	for (i = 0; i < (unsigned int)argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			snprintf(out_prefix, sizeof(out_prefix), "%s",
				 argv[i] + 4);
	if (!out_prefix[0]) {
		fprintf(stderr, "insn-count: out=PREFIX is required\n");
		return -1;
	}
	table = calloc(TABLE_SIZE, sizeof(*table));
	if (!table)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	return 0;
}
