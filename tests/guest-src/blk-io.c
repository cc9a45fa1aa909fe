// SPDX-License-Identifier: GPL-2.0
/*
 * blk-io: small block device checks for the vireo_blk tests. Runs in guests
 * and, for `verify` of a raw disk image, on the host.
 *
 *   blk-io geo DEV                        HDIO_GETGEO: "CYLS HEADS SECTORS START"
 *   blk-io write DEV OFF LEN SEED [MODE]  write a pattern; MODE: direct
 *                                         (O_DIRECT), fsync (buffered, then
 *                                         fsync), buffered (default)
 *   blk-io verify FILE OFF LEN SEED       read back and compare the pattern
 *   blk-io zero FILE OFF LEN              check that the range reads as zeros
 *                                         (both read with O_DIRECT if they can)
 *
 * OFF and LEN are bytes (suffixes k, m: KiB, MiB). The pattern of a byte
 * depends only on SEED and its offset, so any sub-range verifies alone.
 * Output is one line: "<cmd> ok" or "<cmd> err=<ERRNO NAME>" or "<cmd>
 * mismatch at <offset>"; the exit status is 0 only for "ok".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/hdreg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static const char *errname(int e)
{
	switch (e) {
	case EIO: return "EIO";
	case ENOSPC: return "ENOSPC";
	case EROFS: return "EROFS";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENODEV: return "ENODEV";
	case ENXIO: return "ENXIO";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ENOLINK: return "ENOLINK";
	case EBADE: return "EBADE";
	default: return "other";
	}
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static unsigned char pattern(uint64_t seed, uint64_t off)
{
	return mix(seed ^ (off >> 3) * 0x100000001b3ULL) >> ((off & 7) * 8);
}

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	if (*end == 'k' || *end == 'K')
		v <<= 10;
	else if (*end == 'm' || *end == 'M')
		v <<= 20;
	return v;
}

static int fail(const char *cmd, int e)
{
	printf("%s err=%s\n", cmd, errname(e));
	return 1;
}

static unsigned char *buffer(void)
{
	void *p;

	if (posix_memalign(&p, 4096, CHUNK))
		exit(3);
	return p;
}

static int cmd_geo(const char *dev)
{
	struct hd_geometry g;
	int fd = open(dev, O_RDONLY);

	if (fd < 0 || ioctl(fd, HDIO_GETGEO, &g))
		return fail("geo", errno);
	printf("%u %u %u %lu\n", g.cylinders, g.heads, g.sectors, g.start);
	return 0;
}

static int cmd_write(const char *dev, uint64_t off, uint64_t len,
		     uint64_t seed, const char *mode)
{
	int direct = mode && !strcmp(mode, "direct");
	int sync = mode && !strcmp(mode, "fsync");
	unsigned char *buf = buffer();
	uint64_t done = 0, i, n;
	ssize_t r;
	int fd;

	fd = open(dev, O_WRONLY | (direct ? O_DIRECT : 0));
	if (fd < 0)
		return fail("write", errno);
	while (done < len) {
		n = len - done < CHUNK ? len - done : CHUNK;
		for (i = 0; i < n; i++)
			buf[i] = pattern(seed, off + done + i);
		r = pwrite(fd, buf, n, off + done);
		if (r < 0)
			return fail("write", errno);
		if ((uint64_t)r != n)
			return fail("write", ENOSPC);
		done += n;
	}
	if (sync && fsync(fd))
		return fail("write", errno);
	if (close(fd))
		return fail("write", errno);
	printf("write ok\n");
	return 0;
}

/* verify (zero = 0) or zero (zero = 1) */
static int cmd_check(const char *name, const char *file, uint64_t off,
		     uint64_t len, uint64_t seed, int zero)
{
	unsigned char *buf = buffer();
	uint64_t done = 0, i, n;
	unsigned char want;
	ssize_t r;
	int fd;

	/* Past the page cache when the file allows it: the device's bytes. */
	fd = open(file, O_RDONLY | O_DIRECT);
	if (fd < 0 && errno == EINVAL)
		fd = open(file, O_RDONLY);
	if (fd < 0)
		return fail(name, errno);
	while (done < len) {
		n = len - done < CHUNK ? len - done : CHUNK;
		r = pread(fd, buf, n, off + done);
		if (r < 0)
			return fail(name, errno);
		if ((uint64_t)r != n) {
			printf("%s short read at %llu\n", name,
			       (unsigned long long)(off + done + r));
			return 1;
		}
		for (i = 0; i < n; i++) {
			want = zero ? 0 : pattern(seed, off + done + i);
			if (buf[i] != want) {
				printf("%s mismatch at %llu\n", name,
				       (unsigned long long)(off + done + i));
				return 1;
			}
		}
		done += n;
	}
	printf("%s ok\n", name);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "geo"))
		return cmd_geo(argv[2]);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "write"))
		return cmd_write(argv[2], num(argv[3]), num(argv[4]),
				 num(argv[5]), argc == 7 ? argv[6] : NULL);
	if (argc == 6 && !strcmp(argv[1], "verify"))
		return cmd_check("verify", argv[2], num(argv[3]), num(argv[4]),
				 num(argv[5]), 0);
	if (argc == 5 && !strcmp(argv[1], "zero"))
		return cmd_check("zero", argv[2], num(argv[3]), num(argv[4]),
				 0, 1);
	fprintf(stderr, "usage: blk-io geo DEV | write DEV OFF LEN SEED [direct|fsync|buffered] |\n"
		"       verify FILE OFF LEN SEED | zero FILE OFF LEN\n");
	return 2;
}
