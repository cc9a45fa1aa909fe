// SPDX-License-Identifier: GPL-2.0
/*
 * memhog MIB [HOLD_S]: map MIB MiB of anonymous memory, write every page,
 * print "memhog: touched MIB MiB", keep it HOLD_S seconds (default 0),
 * unmap it and exit 0. Killed on the way (the OOM killer) it prints less.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long mib, hold = 0, page = sysconf(_SC_PAGESIZE);
	size_t len, off;
	char *p;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: memhog MIB [HOLD_S]\n");
		return 2;
	}
	mib = atol(argv[1]);
	if (argc == 3)
		hold = atol(argv[2]);
	if (mib <= 0) {
		fprintf(stderr, "memhog: bad size\n");
		return 2;
	}
	len = (size_t)mib << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED) {
		perror("memhog: mmap");
		return 1;
	}
	for (off = 0; off < len; off += page)
		p[off] = (char)(off >> 12) | 1;
	printf("memhog: touched %ld MiB\n", mib);
	fflush(stdout);
	if (hold > 0)
		sleep(hold);
	munmap(p, len);
	return 0;
}
