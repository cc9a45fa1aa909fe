// SPDX-License-Identifier: GPL-2.0
/*
 * fs-ops: the file system calls busybox has no command for, one per
 * invocation, for the virtio-fs tests. Prints what it found; exits 0 on
 * success, 1 with "fs-ops: OP: error" on stderr otherwise.
 *
 *   fs-ops rename2 OLD NEW exchange|noreplace
 *   fs-ops seek FILE data|hole OFFSET        prints the offset found
 *   fs-ops mmapwrite FILE OFFSET STRING      MAP_SHARED store + msync
 *   fs-ops mmapread FILE OFFSET LEN          prints the bytes
 *   fs-ops append FILE STRING                O_APPEND write
 *   fs-ops unlinkopen FILE STRING            write, unlink, read back, nlink
 *   fs-ops setxattr FILE NAME VALUE
 *   fs-ops getxattr FILE NAME                prints the value
 *   fs-ops listxattr FILE                    prints the names, one a line
 *   fs-ops removexattr FILE NAME
 *   fs-ops dwrite FILE OFFSET KIB BYTE       O_DIRECT write of KIB x BYTE
 *   fs-ops dread FILE OFFSET KIB             O_DIRECT read; prints a sum
 *   fs-ops writeloop FILE SECS               rewrite 64 KiB at a time for
 *                                            up to SECS s; prints the error
 *   fs-ops lockhold FILE SECS                F_SETLK a write lock on the
 *                                            whole file, print "locked",
 *                                            hold it SECS s
 *   fs-ops locktry FILE                      F_GETLK (prints the holder's
 *                                            pid) then F_SETLK (err=...)
 *   fs-ops flockhold FILE SECS               flock(LOCK_EX), print "locked",
 *                                            hold it SECS s
 *   fs-ops flocktry FILE                     flock(LOCK_EX | LOCK_NB)
 *   fs-ops copyrange SRC OFF DST OFF LEN     one copy_file_range(2) into
 *                                            DST (made if missing); prints
 *                                            "copied=N"
 *   fs-ops sigopen FILE                      SIGUSR1 caught (no SA_RESTART),
 *                                            prints "opening", then
 *                                            open(O_WRONLY): "open=ok" or
 *                                            "err=...", and "signals=N"
 *   fs-ops usertrunc UID FILE SIZE           truncate(2) as UID (and gid)
 *   fs-ops userwrite UID FILE STRING         write(2) at 0 as UID (and gid)
 *   fs-ops usertruncopen UID FILE            open(O_WRONLY | O_TRUNC) as UID
 *   fs-ops truncrace FILE ROUNDS             truncations racing stores
 *                                            through a shared mapping and
 *                                            a writeback loop: after each
 *                                            round the daemon's size (statx
 *                                            FORCE_SYNC; not with a
 *                                            writeback cache) is the cut's;
 *                                            prints "rounds=N"
 *   fs-ops readdir DIR                       the names, one a line; a
 *                                            readdir(3) error is an error
 *                                            (busybox ls exits 0 on one)
 *   fs-ops getdents DIR BYTES                the names, one a line, read
 *                                            with getdents64(2) into a
 *                                            buffer of BYTES
 *   fs-ops read FILE                         prints the first 4 KiB
 *   fs-ops setacl FILE access|default ACL    setxattr(system.posix_acl_*)
 *                                            in the POSIX ACL xattr format;
 *                                            ACL as u::rw,u:1000:r,g::r,
 *                                            m::r,o::- (in this order: the
 *                                            kernel's)
 *   fs-ops getacl FILE access|default        prints the ACL in that form
 *                                            (u::rw-,...), "none" if there
 *                                            is none (ENODATA)
 *   fs-ops create FILE MODE UMASK            open(O_CREAT | O_EXCL) with
 *                                            MODE (octal) under UMASK;
 *                                            prints "mode=0NNN" (fstat)
 *   fs-ops mkdir DIR MODE UMASK              the same with mkdir(2)
 *   fs-ops lockop FILE ACTION,...            on one O_RDWR descriptor,
 *                                            SIGUSR1 caught (no
 *                                            SA_RESTART), "ready", then
 *                                            each ACTION in turn, printing
 *                                            ACTION=ok|EAGAIN|EINTR|errno:
 *                                            setlk, setlkw (a write lock
 *                                            on the whole file), unlock,
 *                                            getlk (prints getlk=U or
 *                                            getlk=R|W:START-END), flocknb
 *                                            (LOCK_EX | LOCK_NB), flock
 *                                            (LOCK_EX), funlock (LOCK_UN),
 *                                            close, sleep:SECS, wait:PATH
 *                                            (until PATH exists, 120 s at
 *                                            most); exits 1 if an
 *                                            ACTION failed
 *   fs-ops wbwrite FILE HOW OFF N SIZE CHAR  on one descriptor (O_RDWR |
 *                                            O_CREAT unless HOW says),
 *                                            N writes of SIZE x CHAR from
 *                                            OFF on; HOW a comma list of
 *                                            wronly, append, hold:PATH
 *                                            (after the writes, until PATH
 *                                            exists, 300 s at most), sleep
 *                                            (2 s before fstat), trunc:SIZE
 *                                            (ftruncate), fsync,
 *                                            wait:PATH (before close, 300 s
 *                                            at most), or none; prints
 *                                            size=N after the writes (and
 *                                            trunc), mtime=SEC.NSEC after
 *                                            fsync
 *   fs-ops as UID OP ARGS...                 OP as UID (and gid UID)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *op;

static int die(const char *what)
{
	fprintf(stderr, "fs-ops: %s: %s: %s\n", op, what, strerror(errno));
	printf("err=%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	return 1;
}

static int do_rename2(char **a)
{
	unsigned int flags = strcmp(a[2], "exchange") ? RENAME_NOREPLACE :
				RENAME_EXCHANGE;

	if (renameat2(AT_FDCWD, a[0], AT_FDCWD, a[1], flags))
		return die("renameat2");
	return 0;
}

static int do_seek(char **a)
{
	int fd = open(a[0], O_RDONLY);
	off_t off;

	if (fd < 0)
		return die("open");
	off = lseek(fd, atoll(a[2]), strcmp(a[1], "data") ? SEEK_HOLE : SEEK_DATA);
	if (off < 0)
		return die("lseek");
	printf("%lld\n", (long long)off);
	return 0;
}

static int do_mmap(char **a, int write)
{
	off_t off = atoll(a[1]);
	size_t len = write ? strlen(a[2]) : (size_t)atoll(a[2]);
	off_t base = off & ~(off_t)4095;
	size_t maplen = len + (off - base);
	int fd = open(a[0], write ? O_RDWR : O_RDONLY);
	char *p;

	if (fd < 0)
		return die("open");
	p = mmap(NULL, maplen, write ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_SHARED, fd, base);
	if (p == MAP_FAILED)
		return die("mmap");
	if (write) {
		memcpy(p + (off - base), a[2], len);
		if (msync(p, maplen, MS_SYNC))
			return die("msync");
	} else {
		fwrite(p + (off - base), 1, len, stdout);
		putchar('\n');
	}
	munmap(p, maplen);
	close(fd);
	return 0;
}

static int do_append(char **a)
{
	int fd = open(a[0], O_WRONLY | O_APPEND);

	if (fd < 0)
		return die("open");
	if (write(fd, a[1], strlen(a[1])) != (ssize_t)strlen(a[1]))
		return die("write");
	return close(fd) ? die("close") : 0;
}

static int do_unlinkopen(char **a)
{
	size_t len = strlen(a[1]);
	char buf[256] = { 0 };
	struct stat st;
	int fd = open(a[0], O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return die("open");
	if (write(fd, a[1], len) != (ssize_t)len)
		return die("write");
	if (unlink(a[0]))
		return die("unlink");
	if (pread(fd, buf, sizeof(buf) - 1, 0) != (ssize_t)len)
		return die("pread");
	if (fstat(fd, &st))
		return die("fstat");
	printf("read=%s nlink=%lu\n", buf, (unsigned long)st.st_nlink);
	return close(fd) ? die("close") : 0;
}

static int do_xattr(char **a, int kind)
{
	char buf[4096];
	ssize_t n, i;

	switch (kind) {
	case 0:
		if (setxattr(a[0], a[1], a[2], strlen(a[2]), 0))
			return die("setxattr");
		return 0;
	case 1:
		n = getxattr(a[0], a[1], buf, sizeof(buf));
		if (n < 0)
			return die("getxattr");
		printf("%.*s\n", (int)n, buf);
		return 0;
	case 2:
		n = listxattr(a[0], buf, sizeof(buf));
		if (n < 0)
			return die("listxattr");
		for (i = 0; i < n; i += strlen(buf + i) + 1)
			printf("%s\n", buf + i);
		return 0;
	default:
		if (removexattr(a[0], a[1]))
			return die("removexattr");
		return 0;
	}
}

static int do_direct(char **a, int write)
{
	size_t len = atoll(a[2]) * 1024;
	unsigned long sum = 0;
	unsigned char *p;
	size_t i;
	int fd;

	fd = open(a[0], (write ? O_WRONLY | O_CREAT : O_RDONLY) | O_DIRECT, 0644);
	if (fd < 0)
		return die("open");
	if (posix_memalign((void **)&p, 4096, len))
		return die("posix_memalign");
	if (write) {
		memset(p, atoi(a[3]), len);
		if (pwrite(fd, p, len, atoll(a[1])) != (ssize_t)len)
			return die("pwrite");
	} else {
		if (pread(fd, p, len, atoll(a[1])) != (ssize_t)len)
			return die("pread");
		for (i = 0; i < len; i++)
			sum += p[i];
		printf("sum=%lu\n", sum);
	}
	return close(fd) ? die("close") : 0;
}

/* Keeps I/O in flight until it fails (the daemon died) or SECS pass. */
static int do_writeloop(char **a)
{
	time_t end = time(NULL) + atoi(a[1]);
	static char buf[65536];
	long rounds = 0;
	int fd;

	fd = open(a[0], O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return die("open");
	memset(buf, 'w', sizeof(buf));
	while (time(NULL) < end) {
		if (pwrite(fd, buf, sizeof(buf), (rounds % 64) * sizeof(buf)) < 0)
			return die("pwrite");
		if (fsync(fd))
			return die("fsync");
		if (pread(fd, buf, sizeof(buf), 0) < 0)
			return die("pread");
		rounds++;
	}
	printf("rounds=%ld no error\n", rounds);
	return 0;
}

static int do_lockhold(char **a)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(a[0], O_RDWR);

	if (fd < 0)
		return die("open");
	if (fcntl(fd, F_SETLK, &fl))
		return die("F_SETLK");
	printf("locked\n");
	fflush(stdout);
	sleep(atoi(a[1]));
	return 0;
}

static int do_locktry(char **a)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(a[0], O_RDWR);

	if (fd < 0)
		return die("open");
	if (fcntl(fd, F_GETLK, &fl))
		return die("F_GETLK");
	printf("holder=%d ", fl.l_type == F_UNLCK ? 0 : (int)fl.l_pid);
	fl.l_type = F_WRLCK;
	if (fcntl(fd, F_SETLK, &fl))
		return die("F_SETLK");
	printf("got-lock\n");
	return 0;
}

static int do_flock(char **a, int hold)
{
	int fd = open(a[0], O_RDONLY);

	if (fd < 0)
		return die("open");
	if (flock(fd, LOCK_EX | (hold ? 0 : LOCK_NB)))
		return die("flock");
	printf("locked\n");
	fflush(stdout);
	if (hold)
		sleep(atoi(a[1]));
	return 0;
}

static int do_copyrange(char **a)
{
	loff_t off_in = atoll(a[1]), off_out = atoll(a[3]);
	int in = open(a[0], O_RDONLY);
	int out = open(a[2], O_WRONLY | O_CREAT, 0644);
	ssize_t n;

	if (in < 0 || out < 0)
		return die("open");
	n = copy_file_range(in, &off_in, out, &off_out, atoll(a[4]), 0);
	if (n < 0)
		return die("copy_file_range");
	printf("copied=%zd\n", n);
	return close(out) ? die("close") : 0;
}

static volatile sig_atomic_t signals;

static void on_signal(int sig)
{
	(void)sig;
	signals++;
}

static int do_sigopen(char **a)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int fd;

	if (sigaction(SIGUSR1, &sa, NULL))
		return die("sigaction");
	printf("opening\n");
	fflush(stdout);
	fd = open(a[0], O_WRONLY);
	if (fd < 0) {
		int e = errno;

		printf("signals=%d\n", (int)signals);
		errno = e;
		return die("open");
	}
	printf("open=ok\nsignals=%d\n", (int)signals);
	close(fd);
	return 0;
}

static const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case 0: return "ok";
	case EAGAIN: return "EAGAIN";
	case EINTR: return "EINTR";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EBADF: return "EBADF";
	case EIO: return "EIO";
	case ENOTCONN: return "ENOTCONN";
	case ENOLCK: return "ENOLCK";
	}
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

static int lock_action(int fd, const char *act)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int e = 0, i;

	if (!strcmp(act, "setlk") || !strcmp(act, "setlkw") ||
	    !strcmp(act, "unlock")) {
		if (!strcmp(act, "unlock"))
			fl.l_type = F_UNLCK;
		if (fcntl(fd, strcmp(act, "setlkw") ? F_SETLK : F_SETLKW, &fl))
			e = errno;
	} else if (!strcmp(act, "getlk")) {
		if (fcntl(fd, F_GETLK, &fl))
			e = errno;
		else if (fl.l_type == F_UNLCK)
			return printf("getlk=U\n") < 0;
		else
			return printf("getlk=%c:%lld-%lld\n",
				      fl.l_type == F_WRLCK ? 'W' : 'R',
				      (long long)fl.l_start,
				      fl.l_len ? (long long)(fl.l_start + fl.l_len - 1) : -1LL) < 0;
	} else if (!strcmp(act, "flocknb") || !strcmp(act, "flock") ||
		   !strcmp(act, "funlock")) {
		int how = !strcmp(act, "funlock") ? LOCK_UN : LOCK_EX;

		if (!strcmp(act, "flocknb"))
			how |= LOCK_NB;
		if (flock(fd, how))
			e = errno;
	} else if (!strcmp(act, "close")) {
		if (close(fd))
			e = errno;
	} else if (!strncmp(act, "sleep:", 6)) {
		sleep(atoi(act + 6));
	} else if (!strncmp(act, "wait:", 5)) {
		for (i = 0; i < 1200 && access(act + 5, F_OK); i++)
			usleep(100000);
		if (i == 1200)
			e = ETIMEDOUT;
	} else {
		e = EINVAL;
	}
	printf("%s=%s\n", act, errname(e));
	return e != 0;
}

static int do_lockop(char **a)
{
	struct sigaction sa = { .sa_handler = on_signal };
	char *acts = a[1], *act;
	int fd = open(a[0], O_RDWR), failed = 0;

	/* A read-only mount: F_GETLK needs no write access. */
	if (fd < 0 && (errno == EROFS || errno == EACCES))
		fd = open(a[0], O_RDONLY);
	if (fd < 0)
		return die("open");
	if (sigaction(SIGUSR1, &sa, NULL))
		return die("sigaction");
	printf("ready\n");
	fflush(stdout);
	while ((act = strsep(&acts, ","))) {
		failed |= lock_action(fd, act);
		fflush(stdout);
	}
	return failed;
}

static int as_user(const char *uid)
{
	int id = atoi(uid);

	if (setgid(id) || setuid(id))
		return die("setuid");
	return 0;
}

static int do_userop(char **a, int write_op)
{
	int fd;

	if (as_user(a[0]))
		return 1;
	if (!write_op) {
		if (truncate(a[1], atoll(a[2])))
			return die("truncate");
		return 0;
	}
	fd = open(a[1], write_op == 2 ? O_WRONLY | O_TRUNC : O_WRONLY);
	if (fd >= 0 && write_op == 2)
		return close(fd);
	if (fd < 0)
		return die("open");
	if (write(fd, a[2], strlen(a[2])) != (ssize_t)strlen(a[2]))
		return die("write");
	close(fd);
	return 0;
}

static int do_readdir(char **a)
{
	struct dirent *de;
	DIR *d = opendir(a[0]);

	if (!d)
		return die("opendir");
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		printf("%s\n", de->d_name);
	}
	if (errno)
		return die("readdir");
	closedir(d);
	return 0;
}

static int do_getdents(char **a)
{
	static char dbuf[65536];
	size_t size = strtoul(a[1], NULL, 0);
	int fd = open(a[0], O_RDONLY | O_DIRECTORY);
	long n, pos;

	if (fd < 0)
		return die("open");
	if (!size || size > sizeof(dbuf)) {
		errno = EINVAL;
		return die("size");
	}
	for (;;) {
		n = syscall(SYS_getdents64, fd, dbuf, size);
		if (n < 0)
			return die("getdents64");
		if (!n)
			break;
		for (pos = 0; pos < n;) {
			struct dirent64 *de = (void *)(dbuf + pos);

			printf("%s\n", de->d_name);
			pos += de->d_reclen;
		}
	}
	close(fd);
	return 0;
}

static int do_read(char **a)
{
	char buf[4096];
	ssize_t n;
	int fd = open(a[0], O_RDONLY);

	if (fd < 0)
		return die("open");
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return die("read");
	printf("%.*s", (int)n, buf);
	return close(fd) ? die("close") : 0;
}

static const char *acl_name(const char *type)
{
	if (!strcmp(type, "access"))
		return "system.posix_acl_access";
	if (!strcmp(type, "default"))
		return "system.posix_acl_default";
	return NULL;
}

static const struct { char c; unsigned int tag; } acl_tags[] = {
	{ 'u', ACL_USER_OBJ }, { 'g', ACL_GROUP_OBJ }, { 'm', ACL_MASK },
	{ 'o', ACL_OTHER },
};

/* An ACL in the xattr format, as long as an xattr may be (XATTR_SIZE_MAX). */
struct acl_xattr {
	struct posix_acl_xattr_header h;
	struct posix_acl_xattr_entry e[(65536 - sizeof(struct posix_acl_xattr_header)) /
				       sizeof(struct posix_acl_xattr_entry)];
};

/* "u::rw,u:1000:r,g::r,m::r,o::-" into the xattr format. */
static int do_setacl(char **a)
{
	static struct acl_xattr x;
	const char *name = acl_name(a[1]);
	char *list = strdup(a[2]), *ent, *save = NULL;
	unsigned int n = 0, i, perm;
	char *qual, *perms;
	int tag;

	if (!name || !list) {
		errno = EINVAL;
		return die("acl type");
	}
	x.h.a_version = htole32(POSIX_ACL_XATTR_VERSION);
	for (ent = strtok_r(list, ",", &save); ent;
	     ent = strtok_r(NULL, ",", &save)) {
		qual = strchr(ent, ':');
		perms = qual ? strchr(qual + 1, ':') : NULL;
		if (!perms || n == ARRAY_SIZE(x.e)) {
			errno = EINVAL;
			return die("acl entry");
		}
		*qual++ = '\0';
		*perms++ = '\0';
		tag = -1;
		for (i = 0; i < ARRAY_SIZE(acl_tags); i++)
			if (ent[0] == acl_tags[i].c && !ent[1])
				tag = acl_tags[i].tag;
		if (tag < 0) {
			errno = EINVAL;
			return die("acl tag");
		}
		if (*qual && tag == ACL_USER_OBJ)
			tag = ACL_USER;
		else if (*qual && tag == ACL_GROUP_OBJ)
			tag = ACL_GROUP;
		perm = (strchr(perms, 'r') ? ACL_READ : 0) |
		       (strchr(perms, 'w') ? ACL_WRITE : 0) |
		       (strchr(perms, 'x') ? ACL_EXECUTE : 0);
		x.e[n].e_tag = htole16(tag);
		x.e[n].e_perm = htole16(perm);
		x.e[n].e_id = htole32(*qual ? (unsigned int)atoi(qual) :
				      (unsigned int)ACL_UNDEFINED_ID);
		n++;
	}
	if (setxattr(a[0], name, &x, sizeof(x.h) + n * sizeof(x.e[0]), 0))
		return die("setxattr");
	return 0;
}

static int do_getacl(char **a)
{
	static struct acl_xattr x;
	const char *name = acl_name(a[1]);
	unsigned int i, j, tag, perm;
	ssize_t n;
	char c;

	if (!name) {
		errno = EINVAL;
		return die("acl type");
	}
	n = getxattr(a[0], name, &x, sizeof(x));
	if (n < 0 && errno == ENODATA) {
		printf("none\n");
		return 0;
	}
	if (n < 0)
		return die("getxattr");
	if (n < (ssize_t)sizeof(x.h) ||
	    le32toh(x.h.a_version) != POSIX_ACL_XATTR_VERSION ||
	    (n - sizeof(x.h)) % sizeof(x.e[0])) {
		errno = EBADMSG;
		return die("acl format");
	}
	for (i = 0; i < (n - sizeof(x.h)) / sizeof(x.e[0]); i++) {
		tag = le16toh(x.e[i].e_tag);
		perm = le16toh(x.e[i].e_perm);
		c = '?';
		for (j = 0; j < ARRAY_SIZE(acl_tags); j++)
			if (acl_tags[j].tag == tag)
				c = acl_tags[j].c;
		if (tag == ACL_USER)
			c = 'u';
		if (tag == ACL_GROUP)
			c = 'g';
		printf("%s%c:", i ? "," : "", c);
		if (tag == ACL_USER || tag == ACL_GROUP)
			printf("%u", le32toh(x.e[i].e_id));
		printf(":%c%c%c", perm & ACL_READ ? 'r' : '-',
		       perm & ACL_WRITE ? 'w' : '-',
		       perm & ACL_EXECUTE ? 'x' : '-');
	}
	printf("\n");
	return 0;
}

static int do_wbwrite(char **a)
{
	const char *how = a[1];
	long n = atol(a[3]), size = atol(a[4]), i;
	off_t off = atoll(a[2]);
	int flags = O_RDWR | O_CREAT, fd;
	const char *w, *t;
	struct stat st;
	char *buf;
	char path[256];

	if (strstr(how, "wronly"))
		flags = O_WRONLY | O_CREAT;
	if (strstr(how, "append"))
		flags |= O_APPEND;
	buf = malloc(size ? size : 1);
	if (!buf)
		return die("malloc");
	memset(buf, a[5][0], size);
	fd = open(a[0], flags, 0644);
	if (fd < 0)
		return die("open");
	if (!(flags & O_APPEND) && lseek(fd, off, SEEK_SET) != off)
		return die("lseek");
	for (i = 0; i < n; i++)
		if (write(fd, buf, size) != size)
			return die("write");
	w = strstr(how, "hold:");
	if (w) {
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(w + 5, ","), w + 5);
		for (i = 0; i < 3000 && access(path, F_OK); i++)
			usleep(100000);
	}
	t = strstr(how, "trunc:");
	if (t && ftruncate(fd, atoll(t + 6)))
		return die("ftruncate");
	if (strstr(how, "sleep"))
		sleep(2);
	if (fstat(fd, &st))
		return die("fstat");
	printf("size=%lld\n", (long long)st.st_size);
	if (strstr(how, "fsync")) {
		if (fsync(fd))
			return die("fsync");
		if (fstat(fd, &st))
			return die("fstat");
		printf("mtime=%lld.%09ld\n", (long long)st.st_mtim.tv_sec,
		       st.st_mtim.tv_nsec);
	}
	fflush(stdout);
	w = strstr(how, "wait:");
	if (w) {
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(w + 5, ","), w + 5);
		for (i = 0; i < 3000 && access(path, F_OK); i++)
			usleep(100000);
	}
	if (close(fd))
		return die("close");
	free(buf);
	return 0;
}

static int do_create(char **a, int dir)
{
	struct stat st;
	int fd;

	umask(strtoul(a[2], NULL, 8));
	if (dir) {
		if (mkdir(a[0], strtoul(a[1], NULL, 8)))
			return die("mkdir");
		if (stat(a[0], &st))
			return die("stat");
	} else {
		fd = open(a[0], O_CREAT | O_EXCL | O_WRONLY,
			  strtoul(a[1], NULL, 8));
		if (fd < 0)
			return die("open");
		if (fstat(fd, &st))
			return die("fstat");
		close(fd);
	}
	printf("mode=%04o\n", (unsigned int)(st.st_mode & 07777));
	return 0;
}

/*
 * truncrace: a child stores one byte at a time into the upper three
 * quarters of a 1 MiB file through a shared mapping (a SIGBUS past EOF
 * jumps back), another starts writeback of the whole file in a loop
 * (sync_file_range: no lock of the file system's). Each round the file
 * grows back to 1 MiB and is cut to 256 KiB by ftruncate, or to 0 by an
 * open(O_TRUNC) every fourth round, while both run; then they pause, the
 * file is fsynced and the daemon's size must be the cut's. A page dirtied
 * after the cut's write-back and written back after the daemon cut the
 * file would extend it again.
 */
#define TR_SIZE (1 << 20)

struct tr_shared {
	volatile int stop, pause;
	volatile int paused[2];
	volatile long stores, sigbus;
};

static sigjmp_buf tr_jmp;

static void tr_sigbus(int sig)
{
	(void)sig;
	siglongjmp(tr_jmp, 1);
}

/*
 * Child @k's turn to work: not while the parent pauses the children (then
 * the child says so in paused[k] and sleeps a millisecond).
 */
static int tr_turn(struct tr_shared *sh, int k)
{
	if (sh->pause) {
		sh->paused[k] = 1;
		usleep(1000);
		return 0;
	}
	sh->paused[k] = 0;
	return 1;
}

static void tr_storer(struct tr_shared *sh, int fd)
{
	volatile unsigned int x = 12345;
	char *p = mmap(NULL, TR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		_exit(2);
	signal(SIGBUS, tr_sigbus);
	if (sigsetjmp(tr_jmp, 1))
		sh->sigbus++;
	while (!sh->stop) {
		if (!tr_turn(sh, 0))
			continue;
		x = x * 1103515245 + 12345;
		p[TR_SIZE / 4 + (x >> 8) % (TR_SIZE * 3 / 4)] = 1;
		sh->stores++;
	}
	_exit(0);
}

static void tr_syncer(struct tr_shared *sh, int fd)
{
	while (!sh->stop) {
		if (!tr_turn(sh, 1))
			continue;
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	_exit(0);
}

static int do_truncrace(char **a)
{
	long rounds = atol(a[1]), r, i;
	struct tr_shared *sh;
	struct statx stx;
	pid_t kids[2];
	off_t cut;
	int fd, bad = 0, k;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fd = open(a[0], O_RDWR | O_CREAT, 0644);
	if (sh == MAP_FAILED || fd < 0 || ftruncate(fd, TR_SIZE))
		return die("set-up");
	for (k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] < 0)
			return die("fork");
		if (!kids[k]) {
			if (k)
				tr_syncer(sh, fd);
			tr_storer(sh, fd);
		}
	}
	for (r = 0; r < rounds && !bad; r++) {
		if (ftruncate(fd, TR_SIZE))
			return die("ftruncate up");
		/* A pause is acknowledged anew each round. */
		sh->paused[0] = sh->paused[1] = 0;
		sh->pause = 0;
		usleep(2000);
		if (r % 4 == 3) {
			int t = open(a[0], O_RDWR | O_TRUNC);

			if (t < 0)
				return die("open O_TRUNC");
			close(t);
			cut = 0;
		} else {
			if (ftruncate(fd, TR_SIZE / 4))
				return die("ftruncate down");
			cut = TR_SIZE / 4;
		}
		sh->pause = 1;
		for (i = 0; i < 5000 && !(sh->paused[0] && sh->paused[1]); i++)
			usleep(1000);
		if (fsync(fd))
			return die("fsync");
		if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC,
			  STATX_SIZE, &stx))
			return die("statx");
		if ((off_t)stx.stx_size != cut) {
			fprintf(stderr, "fs-ops: truncrace: round %ld: the daemon's size is %llu after a cut to %lld\n",
				r, (unsigned long long)stx.stx_size, (long long)cut);
			bad = 1;
		}
	}
	sh->stop = 1;
	for (k = 0; k < 2; k++)
		waitpid(kids[k], NULL, 0);
	fprintf(stderr, "fs-ops: truncrace: %ld rounds, %ld stores, %ld SIGBUS\n",
		r, sh->stores, sh->sigbus);
	if (bad)
		return 1;
	printf("rounds=%ld\n", r);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int args; } ops[] = {
		{ "rename2", 3 }, { "seek", 3 }, { "mmapwrite", 3 },
		{ "mmapread", 3 }, { "append", 2 }, { "unlinkopen", 2 },
		{ "setxattr", 3 }, { "getxattr", 2 }, { "listxattr", 1 },
		{ "removexattr", 2 }, { "dwrite", 4 }, { "dread", 3 },
		{ "writeloop", 2 }, { "lockhold", 2 }, { "locktry", 1 },
		{ "flockhold", 2 }, { "flocktry", 1 }, { "copyrange", 5 },
		{ "sigopen", 1 }, { "usertrunc", 3 }, { "userwrite", 3 },
		{ "usertruncopen", 2 }, { "readdir", 1 }, { "read", 1 },
		{ "setacl", 3 }, { "getacl", 2 }, { "create", 3 },
		{ "mkdir", 3 }, { "lockop", 2 }, { "getdents", 2 },
		{ "wbwrite", 6 }, { "truncrace", 2 },
	};
	char **a = argv + 2;
	unsigned int i;

	op = argc > 1 ? argv[1] : "";
	/* as UID OP ARGS...: the rest as that user. */
	if (!strcmp(op, "as") && argc > 3) {
		if (as_user(argv[2]))
			return 1;
		argv += 2;
		argc -= 2;
		a = argv + 2;
		op = argv[1];
	}
	for (i = 0; i < ARRAY_SIZE(ops); i++)
		if (!strcmp(op, ops[i].name))
			break;
	if (i == ARRAY_SIZE(ops) || argc - 2 != ops[i].args) {
		fprintf(stderr, "usage: see the head of tests/guest-src/fs-ops.c\n");
		return 2;
	}
	switch (i) {
	case 0: return do_rename2(a);
	case 1: return do_seek(a);
	case 2: return do_mmap(a, 1);
	case 3: return do_mmap(a, 0);
	case 4: return do_append(a);
	case 5: return do_unlinkopen(a);
	case 6: case 7: case 8: case 9: return do_xattr(a, i - 6);
	case 10: return do_direct(a, 1);
	case 11: return do_direct(a, 0);
	case 12: return do_writeloop(a);
	case 13: return do_lockhold(a);
	case 14: return do_locktry(a);
	case 15: return do_flock(a, 1);
	case 16: return do_flock(a, 0);
	case 17: return do_copyrange(a);
	case 18: return do_sigopen(a);
	case 19: return do_userop(a, 0);
	case 20: return do_userop(a, 1);
	case 21: return do_userop(a, 2);
	case 22: return do_readdir(a);
	case 23: return do_read(a);
	case 24: return do_setacl(a);
	case 25: return do_getacl(a);
	case 26: return do_create(a, 0);
	case 27: return do_create(a, 1);
	case 28: return do_lockop(a);
	case 29: return do_getdents(a);
	case 30: return do_wbwrite(a);
	default: return do_truncrace(a);
	}
}
