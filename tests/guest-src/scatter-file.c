// SPDX-License-Identifier: GPL-2.0
/*
 * scatter-file: makes a file on a RAM file system (tmpfs, ramfs) whose pages
 * are physically apart, for buffers that give the block layer one segment
 * per 4 KiB page however often they are made.
 *
 *   scatter-file FILE MIB
 *
 * Each page of FILE is written right after a page of a spacer file, so
 * pages the allocator hands out one after the other alternate between the
 * two; the spacer is then removed. Prints "pages N adjacent M": of FILE's
 * N pages, how many directly follow the one before them physically (read
 * from /proc/self/pagemap; M is -1 where that cannot be read).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096
#define PFN_MASK ((1ULL << 55) - 1)
#define PRESENT (1ULL << 63)

static long adjacent(const char *path, size_t pages)
{
	uint64_t prev = 0, e;
	long n = 0;
	size_t i;
	volatile char *p;
	int fd, pm;

	fd = open(path, O_RDONLY);
	pm = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0 || pm < 0)
		return -1;
	p = mmap(NULL, pages * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	for (i = 0; i < pages; i++) {
		(void)p[i * PAGE];
		if (pread(pm, &e, sizeof(e), ((uintptr_t)p / PAGE + i) * 8) != 8 ||
		    !(e & PRESENT) || !(e & PFN_MASK))
			return -1;
		if (i && (e & PFN_MASK) == prev + 1)
			n++;
		prev = e & PFN_MASK;
	}
	munmap((void *)p, pages * PAGE);
	close(pm);
	close(fd);
	return n;
}

int main(int argc, char **argv)
{
	static char page[PAGE];
	char spacer[4200];
	size_t pages, i;
	int fd, sfd;

	if (argc != 3 || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: scatter-file FILE MIB\n");
		return 2;
	}
	pages = (size_t)atoi(argv[2]) * (1 << 20) / PAGE;
	snprintf(spacer, sizeof(spacer), "%s.spacer", argv[1]);
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	sfd = open(spacer, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || sfd < 0) {
		perror("scatter-file: open");
		return 1;
	}
	memset(page, 0x5a, sizeof(page));
	for (i = 0; i < pages; i++) {
		if (pwrite(sfd, page, PAGE, i * PAGE) != PAGE ||
		    pwrite(fd, page, PAGE, i * PAGE) != PAGE) {
			perror("scatter-file: write");
			return 1;
		}
	}
	close(sfd);
	unlink(spacer);
	close(fd);
	printf("pages %zu adjacent %ld\n", pages, adjacent(argv[1], pages));
	return 0;
}
