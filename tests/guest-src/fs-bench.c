// SPDX-License-Identifier: GPL-2.0
/*
 * fs-bench: the timed workloads of scripts/bench-fs, one per invocation,
 * on a directory of a mounted file system. Prints "VALUE UNIT"; exits 1
 * with "fs-bench: CALL: error" on stderr when a call fails. The page cache
 * is dropped (/proc/sys/vm/drop_caches) before every read workload, so
 * reads go to the file system's daemon.
 *
 *   fs-bench seqwrite DIR MIB      write DIR/seq (MIB MiB, 1 MiB writes),
 *                                  fsync, close: MiB/s
 *   fs-bench seqread DIR           read DIR/seq in 1 MiB reads: MiB/s
 *   fs-bench randread DIR N        N 4 KiB preads at random 4 KiB offsets
 *                                  of DIR/seq: reads/s
 *   fs-bench files DIR N           create (with 100 bytes), stat, unlink
 *                                  N files in DIR/files: files/s
 *   fs-bench mkdir DIR N           make DIR/big with N empty files
 *                                  (not timed)
 *   fs-bench readdir DIR R         list DIR/big completely R times, with a
 *                                  cache drop before each: entries/s
 *   fs-bench lsl DIR R             the same, with an lstat of each entry as
 *                                  it is read (as ls -l does): entries/s
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];
static char path[4096];

static int die(const char *call)
{
	fprintf(stderr, "fs-bench: %s: %s\n", call, strerror(errno));
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	sync();
	if (fd >= 0) {
		if (write(fd, "3\n", 2) != 2)
			perror("drop_caches");
		close(fd);
	}
}

static int seqwrite(const char *dir, long mib)
{
	double t;
	long i;
	int fd;

	snprintf(path, sizeof(path), "%s/seq", dir);
	memset(buf, 0x5a, sizeof(buf));
	t = now();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return die("open");
	for (i = 0; i < mib; i++)
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			return die("write");
	if (fsync(fd) || close(fd))
		return die("fsync/close");
	printf("%.1f MiB/s\n", mib / (now() - t));
	return 0;
}

static int seqread(const char *dir)
{
	long long total = 0;
	ssize_t n;
	double t;
	int fd;

	snprintf(path, sizeof(path), "%s/seq", dir);
	drop_caches();
	t = now();
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return die("open");
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	if (n < 0)
		return die("read");
	close(fd);
	printf("%.1f MiB/s\n", total / 1048576.0 / (now() - t));
	return 0;
}

static int randread(const char *dir, long n)
{
	unsigned long long x = 88172645463325252ULL;
	struct stat st;
	long i, blocks;
	double t;
	int fd;

	snprintf(path, sizeof(path), "%s/seq", dir);
	drop_caches();
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		return die("open");
	blocks = st.st_size / 4096;
	if (blocks < 1)
		return die("empty file");
	t = now();
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (pread(fd, buf, 4096, (x % blocks) * 4096) != 4096)
			return die("pread");
	}
	printf("%.0f reads/s\n", n / (now() - t));
	close(fd);
	return 0;
}

static int files(const char *dir, long n)
{
	struct stat st;
	double t;
	long i;
	int fd;

	snprintf(path, sizeof(path), "%s/files", dir);
	if (mkdir(path, 0755) && errno != EEXIST)
		return die("mkdir");
	memset(buf, 'f', 100);
	t = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/files/f%ld", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, buf, 100) != 100 || close(fd))
			return die("create");
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/files/f%ld", dir, i);
		if (stat(path, &st) || st.st_size != 100)
			return die("stat");
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/files/f%ld", dir, i);
		if (unlink(path))
			return die("unlink");
	}
	printf("%.0f files/s\n", n / (now() - t));
	return 0;
}

static int mkbig(const char *dir, long n)
{
	long i;
	int fd;

	snprintf(path, sizeof(path), "%s/big", dir);
	if (mkdir(path, 0755))
		return die("mkdir");
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/big/entry-with-a-longer-name-%ld", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || close(fd))
			return die("create");
	}
	return 0;
}

static int readdir_big(const char *dir, long rounds, int lstat_each)
{
	double t, spent = 0;
	long r, entries = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(path, sizeof(path), "%s/big", dir);
	for (r = 0; r < rounds; r++) {
		drop_caches();
		t = now();
		d = opendir(path);
		if (!d)
			return die("opendir");
		errno = 0;
		while ((de = readdir(d))) {
			if (lstat_each &&
			    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
				return die("lstat");
			entries++;
		}
		if (errno)
			return die("readdir");
		closedir(d);
		spent += now() - t;
	}
	printf("%.0f entries/s\n", entries / spent);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 3 ? atol(argv[3]) : 0;

	if (argc < 3)
		goto usage;
	if (!strcmp(argv[1], "seqwrite") && n > 0)
		return seqwrite(argv[2], n);
	if (!strcmp(argv[1], "seqread"))
		return seqread(argv[2]);
	if (!strcmp(argv[1], "randread") && n > 0)
		return randread(argv[2], n);
	if (!strcmp(argv[1], "files") && n > 0)
		return files(argv[2], n);
	if (!strcmp(argv[1], "mkdir") && n > 0)
		return mkbig(argv[2], n);
	if (!strcmp(argv[1], "readdir") && n > 0)
		return readdir_big(argv[2], n, 0);
	if (!strcmp(argv[1], "lsl") && n > 0)
		return readdir_big(argv[2], n, 1);
usage:
	fprintf(stderr, "usage: see the head of tests/guest-src/fs-bench.c\n");
	return 2;
}
