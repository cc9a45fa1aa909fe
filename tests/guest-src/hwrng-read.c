// SPDX-License-Identifier: GPL-2.0
/*
 * hwrng-read: read from /dev/hwrng the way a user would and say what
 * happened, for guest-side tests.
 *
 *   hwrng-read [-N] [-f FILE] [-o OUT] BYTES
 *
 * -N opens non-blocking and stops at the first EAGAIN. Prints one line:
 *   bytes=N err=NAME cpu_ms=N wall_ms=N
 * where err is the errno name that ended the read (or "none"), cpu_ms the
 * CPU time the reader used and wall_ms the time it took. -o writes the bytes
 * to OUT. Exits 0 when it could run at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case 0: return "none";
	case EAGAIN: return "EAGAIN";
	case ENODEV: return "ENODEV";
	case EIO: return "EIO";
	case EINTR: return "EINTR";
	case ENXIO: return "ENXIO";
	default: return strerror(e);
	}
}

static long ms(struct timeval tv)
{
	return tv.tv_sec * 1000L + tv.tv_usec / 1000;
}

int main(int argc, char **argv)
{
	const char *path = "/dev/hwrng", *out = NULL;
	struct timespec t0, t1;
	struct rusage ru;
	size_t want, got = 0;
	int nonblock = 0, fd, ofd = -1, err = 0, c;
	char buf[4096];
	ssize_t n;

	while ((c = getopt(argc, argv, "Nf:o:")) != -1) {
		switch (c) {
		case 'N': nonblock = 1; break;
		case 'f': path = optarg; break;
		case 'o': out = optarg; break;
		default: goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	want = strtoul(argv[optind], NULL, 0);

	fd = open(path, O_RDONLY | (nonblock ? O_NONBLOCK : 0));
	if (fd < 0) {
		printf("bytes=0 err=%s cpu_ms=0 wall_ms=0\n", errname(errno));
		return 0;
	}
	if (out) {
		ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (ofd < 0) {
			perror(out);
			return 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (got < want) {
		size_t len = want - got < sizeof(buf) ? want - got : sizeof(buf);

		n = read(fd, buf, len);
		if (n < 0) {
			err = errno;
			break;
		}
		if (n == 0) {
			err = ENODATA;
			break;
		}
		if (ofd >= 0 && write(ofd, buf, n) != n) {
			perror(out);
			return 2;
		}
		got += n;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	printf("bytes=%zu err=%s cpu_ms=%ld wall_ms=%ld\n", got, errname(err),
	       ms(ru.ru_utime) + ms(ru.ru_stime),
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 +
		      (t1.tv_nsec - t0.tv_nsec) / 1000000));
	return 0;
usage:
	fprintf(stderr, "usage: hwrng-read [-N] [-f FILE] [-o OUT] BYTES\n");
	return 2;
}
