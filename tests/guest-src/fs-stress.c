// SPDX-License-Identifier: GPL-2.0
/*
 * fs-stress: random file operations on one file, each checked against an
 * in-memory model of the file's bytes (in the manner of fsx). For the
 * virtio-fs tests; the same binary runs on the host to print the model.
 *
 *   fs-stress FILE SEED OPS [nommap]   run OPS operations on FILE (made
 *                                      empty first); exit 0 when every
 *                                      read matched the model
 *   fs-stress --model OUT SEED OPS [nommap]
 *                                      write the model's final bytes to
 *                                      OUT without touching a file system
 *
 * The operation sequence depends only on SEED, OPS and the model (never on
 * what the file system returned), so --model on the host reproduces the
 * bytes the file must hold at the end. Operations: pwrite (often past EOF,
 * leaving a hole), ftruncate up and down, a MAP_SHARED store (sometimes
 * msync'ed, sometimes left for writeback), pread of a random range and of
 * the whole file, fstat size, fsync, fdatasync, a punched hole
 * (FALLOC_FL_PUNCH_HOLE | KEEP_SIZE), close and reopen, and a page cache
 * drop (/proc/sys/vm/drop_caches, when writable). "nommap" leaves out the
 * mmap stores (the daemon opened files FOPEN_DIRECT_IO: no shared writable
 * mmap there).
 *
 * On a mismatch it prints the seed, the operation's number and kind, the
 * first differing offset and the last operations, and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SIZE	(512 * 1024)	/* the model never grows past this */
#define MAX_LEN		(96 * 1024)	/* longest single write or read */
#define HISTORY		16

enum { OP_WRITE, OP_TRUNC, OP_MMAP, OP_READ, OP_READALL, OP_STAT, OP_FSYNC,
	OP_FDATASYNC, OP_PUNCH, OP_REOPEN, OP_DROP, NR_OPS };

static const char *const op_name[NR_OPS] = {
	"pwrite", "ftruncate", "mmap-store", "pread", "pread-all", "fstat",
	"fsync", "fdatasync", "punch-hole", "reopen", "drop-caches",
};

/* Weights: writes, truncates and reads dominate. */
static const unsigned int op_weight[NR_OPS] = {
	30, 8, 12, 20, 4, 4, 3, 2, 4, 3, 2,
};

static unsigned char *model;
static size_t model_size;
static unsigned char *buf;
static uint64_t rng;
static int use_mmap = 1;
static const char *path;
static unsigned long long seed;
static long opno;
static int fd = -1;
static long counts[NR_OPS];

struct hist {
	long no;
	int op;
	size_t off, len;
};

static struct hist history[HISTORY];

static uint64_t next(void)
{
	/* xorshift64*: small, deterministic across machines */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static size_t below(size_t n)
{
	return n ? next() % n : 0;
}

/* An offset or length: often page-aligned or near a page edge. */
static size_t pick(size_t n)
{
	size_t v = below(n);

	if (!n)
		return 0;
	switch (below(4)) {
	case 0:
		v &= ~(size_t)4095;
		break;
	case 1:
		v = (v & ~(size_t)4095) + 4096 - 1 - below(3);
		break;
	}
	return v < n ? v : n - 1;
}

static void note(int op, size_t off, size_t len)
{
	struct hist *h = &history[opno % HISTORY];

	h->no = opno;
	h->op = op;
	h->off = off;
	h->len = len;
	counts[op]++;
}

static void report(const char *what)
{
	long i;

	printf("fs-stress: FAIL seed=%llu op=%ld (%s): %s\n", seed, opno,
	       op_name[history[opno % HISTORY].op], what);
	printf("fs-stress: model size %zu; last operations:\n", model_size);
	for (i = opno - HISTORY + 1; i <= opno; i++) {
		struct hist *h;

		if (i < 0)
			continue;
		h = &history[i % HISTORY];
		printf("fs-stress:   #%ld %s off=%zu len=%zu\n", h->no,
		       op_name[h->op], h->off, h->len);
	}
	fflush(stdout);
	exit(1);
}

static void sys_fail(const char *call)
{
	char what[160];

	snprintf(what, sizeof(what), "%s: %s", call, strerror(errno));
	report(what);
}

static void compare(const unsigned char *got, size_t off, size_t len,
		    size_t want_len)
{
	char what[160];
	size_t i;

	if (len != want_len) {
		snprintf(what, sizeof(what),
			 "read %zu bytes at %zu, the model has %zu", len, off,
			 want_len);
		report(what);
	}
	for (i = 0; i < len; i++) {
		if (got[i] != model[off + i]) {
			snprintf(what, sizeof(what),
				 "byte at %zu is 0x%02x, the model has 0x%02x",
				 off + i, got[i], model[off + i]);
			report(what);
		}
	}
}

static void open_file(int trunc)
{
	fd = open(path, O_RDWR | O_CREAT | (trunc ? O_TRUNC : 0), 0644);
	if (fd < 0)
		sys_fail("open");
}

static void set_size(size_t size)
{
	if (size > model_size)
		memset(model + model_size, 0, size - model_size);
	model_size = size;
}

/* The whole file, in MAX_LEN reads, against the model. */
static void read_all(void)
{
	char what[96];
	size_t at = 0;
	ssize_t n;

	while ((n = pread(fd, buf, MAX_LEN, at)) > 0) {
		compare(buf, at, n, at >= model_size ? 0 :
			(at + n > model_size ? model_size - at : (size_t)n));
		at += n;
	}
	if (n < 0)
		sys_fail("pread");
	if (at != model_size) {
		snprintf(what, sizeof(what), "the file ends at %zu, the model at %zu",
			 at, model_size);
		report(what);
	}
}

/* The model's side of each operation; @real: do it on the file too. */
static void step(int real)
{
	unsigned int w = 0, total = 0, i;
	size_t off, len, got;
	int op;

	for (i = 0; i < NR_OPS; i++)
		total += op_weight[i];
	w = below(total);
	for (op = 0; op < NR_OPS; op++) {
		if (w < op_weight[op])
			break;
		w -= op_weight[op];
	}
	if (op == OP_MMAP && (!use_mmap || !model_size))
		op = OP_WRITE;

	switch (op) {
	case OP_WRITE:
		/* Up to a quarter past EOF: a hole below the new bytes. */
		off = pick(model_size + model_size / 4 + 8192);
		len = 1 + pick(MAX_LEN);
		if (off + len > MAX_SIZE)
			len = off < MAX_SIZE ? MAX_SIZE - off : 0;
		if (!len)
			off = 0, len = 1 + below(4096);
		note(op, off, len);
		for (i = 0; i < len; i++)
			buf[i] = next() >> 56;
		if (off > model_size)
			set_size(off);
		memcpy(model + off, buf, len);
		if (off + len > model_size)
			model_size = off + len;
		if (real && pwrite(fd, buf, len, off) != (ssize_t)len)
			sys_fail("pwrite");
		break;
	case OP_TRUNC:
		len = pick(below(2) ? MAX_SIZE : model_size + 1);
		note(op, 0, len);
		set_size(len);
		if (real && ftruncate(fd, len))
			sys_fail("ftruncate");
		break;
	case OP_MMAP: {
		unsigned char *map;
		size_t start, mlen;
		int sync = below(2);

		off = pick(model_size);
		len = 1 + pick(model_size - off < 32768 ? model_size - off : 32768);
		note(op, off, len);
		for (i = 0; i < len; i++)
			buf[i] = next() >> 56;
		memcpy(model + off, buf, len);
		if (!real)
			break;
		start = off & ~(size_t)4095;
		mlen = off + len - start;
		map = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			   start);
		if (map == MAP_FAILED)
			sys_fail("mmap");
		memcpy(map + (off - start), buf, len);
		if (sync && msync(map, mlen, MS_SYNC))
			sys_fail("msync");
		if (munmap(map, mlen))
			sys_fail("munmap");
		break;
	}
	case OP_READ:
		off = pick(model_size + 8192);
		len = 1 + pick(MAX_LEN);
		note(op, off, len);
		if (!real)
			break;
		got = pread(fd, buf, len, off);
		if ((ssize_t)got < 0)
			sys_fail("pread");
		compare(buf, off, got,
			off >= model_size ? 0 :
			(off + len > model_size ? model_size - off : len));
		break;
	case OP_READALL:
		note(op, 0, model_size);
		if (real)
			read_all();
		break;
	case OP_STAT: {
		struct stat st;
		char what[96];

		note(op, 0, model_size);
		if (!real)
			break;
		if (fstat(fd, &st))
			sys_fail("fstat");
		if ((size_t)st.st_size != model_size) {
			snprintf(what, sizeof(what), "st_size %lld, the model has %zu",
				 (long long)st.st_size, model_size);
			report(what);
		}
		break;
	}
	case OP_FSYNC:
	case OP_FDATASYNC:
		note(op, 0, 0);
		if (real && (op == OP_FSYNC ? fsync(fd) : fdatasync(fd)))
			sys_fail(op == OP_FSYNC ? "fsync" : "fdatasync");
		break;
	case OP_PUNCH:
		off = pick(model_size + 1);
		len = 1 + pick(65536);
		note(op, off, len);
		if (off < model_size)
			memset(model + off, 0,
			       off + len > model_size ? model_size - off : len);
		if (real && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      off, len))
			sys_fail("fallocate");
		break;
	case OP_REOPEN:
		note(op, 0, 0);
		if (real) {
			if (close(fd))
				sys_fail("close");
			open_file(0);
		}
		break;
	case OP_DROP:
		note(op, 0, 0);
		if (real) {
			int d = open("/proc/sys/vm/drop_caches", O_WRONLY);

			if (d >= 0) {
				if (write(d, "3\n", 2) != 2)
					sys_fail("drop_caches");
				close(d);
			}
		}
		break;
	}
}

int main(int argc, char **argv)
{
	const char *model_out = NULL;
	long ops, i;
	int real = 1;

	if (argc > 1 && !strcmp(argv[1], "--model")) {
		model_out = argv[2];
		real = 0;
		argv++;
		argc--;
	}
	if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "nommap"))) {
		fprintf(stderr, "usage: see the head of tests/guest-src/fs-stress.c\n");
		return 2;
	}
	path = argv[1];
	seed = strtoull(argv[2], NULL, 0);
	ops = atol(argv[3]);
	use_mmap = argc < 5;
	rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	model = calloc(1, MAX_SIZE + 8192 + MAX_LEN);
	buf = malloc(MAX_LEN + 4096);
	if (!model || !buf)
		return 2;
	if (real)
		open_file(1);
	for (i = 0; i < ops; i++) {
		opno = i;
		step(real);
	}
	if (real) {
		/* The last word: what a reader sees after the file is closed. */
		opno = ops;
		note(OP_REOPEN, 0, 0);
		if (close(fd))
			sys_fail("close");
		open_file(0);
		opno = ops + 1;
		note(OP_READALL, 0, model_size);
		read_all();
		if (close(fd))
			sys_fail("close");
		printf("fs-stress: ok seed=%llu ops=%ld size=%zu", seed, ops, model_size);
		for (i = 0; i < NR_OPS; i++)
			printf(" %s=%ld", op_name[i], counts[i]);
		printf("\n");
		return 0;
	} else {
		FILE *f = fopen(model_out, "w");

		if (!f || fwrite(model, 1, model_size, f) != model_size || fclose(f)) {
			perror(model_out);
			return 2;
		}
	}
	return 0;
}
