// SPDX-License-Identifier: GPL-2.0
/*
 * fs-splice: copy a file with sendfile(2) or with splice(2) through a pipe,
 * for the virtio-fs tests (splice_read / splice_write of the mount).
 *
 *   fs-splice sendfile SRC DST     sendfile(DST, SRC) until EOF
 *   fs-splice pipe SRC DST         splice SRC -> pipe -> DST until EOF
 *
 * DST is made (or truncated). Prints "copied=N"; exits 1 with
 * "fs-splice: CALL: error" on stderr when a call fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

static int die(const char *call)
{
	fprintf(stderr, "fs-splice: %s: %s\n", call, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	long long total = 0;
	int in, out, p[2];
	ssize_t n, m;

	if (argc != 4 || (strcmp(argv[1], "sendfile") && strcmp(argv[1], "pipe"))) {
		fprintf(stderr, "usage: fs-splice sendfile|pipe SRC DST\n");
		return 2;
	}
	in = open(argv[2], O_RDONLY);
	if (in < 0)
		return die("open SRC");
	out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		return die("open DST");
	if (!strcmp(argv[1], "sendfile")) {
		while ((n = sendfile(out, in, NULL, 1 << 20)) > 0)
			total += n;
		if (n < 0)
			return die("sendfile");
	} else {
		if (pipe(p))
			return die("pipe");
		while ((n = splice(in, NULL, p[1], NULL, 65536, SPLICE_F_MOVE)) > 0) {
			while (n > 0) {
				m = splice(p[0], NULL, out, NULL, n, SPLICE_F_MOVE);
				if (m <= 0)
					return die("splice to DST");
				n -= m;
				total += m;
			}
		}
		if (n < 0)
			return die("splice from SRC");
	}
	if (close(out))
		return die("close DST");
	printf("copied=%lld\n", total);
	return 0;
}
