// SPDX-License-Identifier: GPL-2.0
/*
 * hostile-fs: a vhost-user-fs back-end with a FUSE server of its own that
 * serves a tiny read-only tree from memory, correctly, and misbehaves on
 * purpose when a fault rule matches a request. QEMU attaches it with
 *
 *   -chardev socket,id=c0,path=SOCK -device vhost-user-fs-pci,chardev=c0,tag=T
 *
 * (guest RAM a shared memfd, as for virtiofsd). See docs/hostile.md.
 *
 * Queue 0 is the hiprio queue (FORGET: nothing to answer), the others are
 * request queues (virtio 1.2, 5.11.2). A request is one chain: the
 * fuse_in_header and the opcode's arguments device-readable, room for the
 * fuse_out_header and the reply device-writable (5.11.6). The server
 * knows INIT, LOOKUP, FORGET, BATCH_FORGET, GETATTR, OPEN, OPENDIR, READ,
 * READDIR, READDIRPLUS, RELEASE, RELEASEDIR, FLUSH, STATFS, DESTROY;
 * opcodes that change the tree get EROFS, the rest ENOSYS. The protocol
 * is the kernel's uapi <linux/fuse.h> of the host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/fuse.h>

#include "vhost-user.h"

/* --- the tree --- */

struct node {
	uint64_t id, parent;
	const char *name;
	uint32_t mode;
	const char *data;	/* regular files */
};

static const struct node nodes[] = {
	{ FUSE_ROOT_ID, FUSE_ROOT_ID, "", S_IFDIR | 0755, NULL },
	{ 2, FUSE_ROOT_ID, "file", S_IFREG | 0644, "hello from hostile-fs\n" },
	{ 3, FUSE_ROOT_ID, "dir", S_IFDIR | 0755, NULL },
	{ 4, 3, "inner", S_IFREG | 0600, "the inner file\n" },
};

static const struct node *node_of(uint64_t id)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(nodes); i++)
		if (nodes[i].id == id)
			return &nodes[i];
	return NULL;
}

static const struct node *child_of(uint64_t dir, const char *name)
{
	for (unsigned int i = 1; i < ARRAY_SIZE(nodes); i++)
		if (nodes[i].parent == dir && !strcmp(nodes[i].name, name))
			return &nodes[i];
	return NULL;
}

/* --- faults --- */

enum fault_kind {
	F_NONE, F_SHORT, F_HDR_LONG, F_LEN_SHORT, F_LEN_LONG, F_UNIQUE_STRAY,
	F_UNIQUE_OTHER, F_ERROR, F_DIRENT_LONG, F_DIRENT_ZERO, F_MODE,
	F_NODEID, F_MAJOR, F_MAX_WRITE, F_MAX_PAGES, F_STALL, F_LK_TYPE,
	F_LK_START, F_LK_PID, F_CACHE_KEPT, F_HOST_CHANGE,
};

static const char *const fault_names[] = {
	[F_SHORT] = "short", [F_HDR_LONG] = "hdr-long",
	[F_LEN_SHORT] = "len-short", [F_LEN_LONG] = "len-long",
	[F_UNIQUE_STRAY] = "unique-stray", [F_UNIQUE_OTHER] = "unique-other",
	[F_ERROR] = "error", [F_DIRENT_LONG] = "dirent-long",
	[F_DIRENT_ZERO] = "dirent-zero", [F_MODE] = "mode",
	[F_NODEID] = "nodeid", [F_MAJOR] = "major",
	[F_MAX_WRITE] = "max-write", [F_MAX_PAGES] = "max-pages",
	[F_STALL] = "stall", [F_LK_TYPE] = "lk-type",
	[F_LK_START] = "lk-start", [F_LK_PID] = "lk-pid",
	[F_CACHE_KEPT] = "cache-kept", [F_HOST_CHANGE] = "host-change",
};

static bool valued(enum fault_kind k)
{
	return k == F_ERROR || k == F_MODE || k == F_NODEID || k == F_MAJOR ||
	       k == F_MAX_WRITE || k == F_MAX_PAGES || k == F_LK_TYPE ||
	       k == F_LK_START || k == F_LK_PID;
}

static const struct { const char *name; uint32_t op; } ops[] = {
	{ "lookup", FUSE_LOOKUP }, { "forget", FUSE_FORGET },
	{ "getattr", FUSE_GETATTR }, { "open", FUSE_OPEN },
	{ "read", FUSE_READ }, { "statfs", FUSE_STATFS },
	{ "release", FUSE_RELEASE }, { "flush", FUSE_FLUSH },
	{ "init", FUSE_INIT }, { "opendir", FUSE_OPENDIR },
	{ "readdir", FUSE_READDIR }, { "releasedir", FUSE_RELEASEDIR },
	{ "destroy", FUSE_DESTROY }, { "readdirplus", FUSE_READDIRPLUS },
	{ "getxattr", FUSE_GETXATTR }, { "listxattr", FUSE_LISTXATTR },
	{ "batch_forget", FUSE_BATCH_FORGET }, { "getlk", FUSE_GETLK },
	{ "setlk", FUSE_SETLK }, { "setlkw", FUSE_SETLKW },
};

static const char *op_name(uint32_t op)
{
	static char buf[16];

	for (unsigned int i = 0; i < ARRAY_SIZE(ops); i++)
		if (ops[i].op == op)
			return ops[i].name;
	snprintf(buf, sizeof(buf), "opcode %u", op);
	return buf;
}

struct rule {
	enum fault_kind kind;
	long long value;
	int64_t op;		/* -1: any */
	int64_t node;		/* -1: any */
	struct vu_trigger when;
	char text[128];
};

#define OP_READDIRS	-2	/* op=readdirs: READDIR or READDIRPLUS */
#define MAX_RULES 32
static struct rule rules[MAX_RULES];
static int nrules;

static struct rule *match(const struct fuse_in_header *ih)
{
	for (int i = 0; i < nrules; i++) {
		struct rule *f = &rules[i];

		if (f->op == OP_READDIRS ? ih->opcode != FUSE_READDIR &&
					   ih->opcode != FUSE_READDIRPLUS :
		    f->op >= 0 && (uint32_t)f->op != ih->opcode)
			continue;
		if (f->node >= 0 && (uint64_t)f->node != ih->nodeid)
			continue;
		if (vu_trigger_fires(&f->when))
			return f;
	}
	return NULL;
}

/* --- replies --- */

#define MAX_REPLY	(1u << 20)
static uint8_t req_buf[8192];		/* in header + arguments */
static uint8_t rep[sizeof(struct fuse_out_header) + MAX_REPLY];
static struct rule *cur;		/* the fault of the request served */
static uint64_t requests;
/*
 * Not faults but a daemon that keeps the guest's cache: cache-kept (on
 * INIT) grants EXPLICIT_INVAL_DATA and opens with FOPEN_KEEP_CACHE from
 * then on; host-change (on any request) changes "file" as the host would,
 * same size, new bytes and mtime, and never says so.
 */
static bool keep_cache, host_changed;
static const char changed_data[] = "HELLO FROM HOSTILE-FS\n";

static bool fault_is(enum fault_kind k)
{
	return cur && cur->kind == k;
}

static void fill_attr(const struct node *n, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = n->id;
	a->size = n->data ? strlen(n->data) : 4096;
	a->blocks = (a->size + 511) / 512;
	a->atime = a->mtime = a->ctime = 1700000000;
	if (n->id == 2 && host_changed)
		a->mtime = a->ctime = 1700000100;
	a->mode = fault_is(F_MODE) ? (uint32_t)cur->value : n->mode;
	a->nlink = S_ISDIR(n->mode) ? 2 : 1;
	a->blksize = 4096;
}

/* Nothing is cached: every guest call reaches the server (and its rules). */
static void fill_entry(const struct node *n, struct fuse_entry_out *e)
{
	memset(e, 0, sizeof(*e));
	e->nodeid = n->id;
	fill_attr(n, &e->attr);
}

/* One dirent (READDIR) or direntplus at @p; its padded size, 0 if no room. */
static size_t put_dirent(uint8_t *p, size_t room, const struct node *n,
			 const char *name, uint64_t off, bool plus)
{
	size_t namelen = strlen(name), head = plus ? sizeof(struct fuse_entry_out) : 0;
	size_t size = head + FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + namelen);
	struct fuse_dirent *d = (struct fuse_dirent *)(p + head);

	if (size > room)
		return 0;
	memset(p, 0, size);
	if (plus)
		fill_entry(n, (struct fuse_entry_out *)p);
	d->ino = n->id;
	d->off = off;
	d->namelen = namelen;
	d->type = (n->mode & S_IFMT) >> 12;
	memcpy(d->name, name, namelen);
	return size;
}

static size_t do_readdir(uint64_t dir, uint64_t offset, uint32_t size,
			 bool plus, uint8_t *out)
{
	const struct node *self = node_of(dir), *kids[ARRAY_SIZE(nodes) + 2];
	const char *names[ARRAY_SIZE(nodes) + 2];
	unsigned int nk = 0;
	size_t len = 0;

	kids[nk] = self;
	names[nk++] = ".";
	kids[nk] = node_of(self->parent);
	names[nk++] = "..";
	for (unsigned int i = 1; i < ARRAY_SIZE(nodes); i++)
		if (nodes[i].parent == dir) {
			kids[nk] = &nodes[i];
			names[nk++] = nodes[i].name;
		}
	if (size > MAX_REPLY)
		size = MAX_REPLY;
	for (uint64_t i = offset; i < nk; i++) {
		size_t got = put_dirent(out + len, size - len, kids[i], names[i],
					i + 1, plus);

		if (!got)
			break;
		len += got;
	}
	if (len && (fault_is(F_DIRENT_LONG) || fault_is(F_DIRENT_ZERO))) {
		/* The first record: a name that runs past the reply, or none. */
		struct fuse_dirent *d = (struct fuse_dirent *)
			(out + (plus ? sizeof(struct fuse_entry_out) : 0));

		d->namelen = fault_is(F_DIRENT_ZERO) ? 0 : (uint32_t)len + 200;
	}
	return len;
}

/*
 * The reply to one request into rep (after the out header): its payload
 * length, *@err the FUSE error (0 or a negative errno).
 */
static size_t answer(const struct fuse_in_header *ih, const uint8_t *arg,
		     size_t arglen, int *err)
{
	const struct node *n = node_of(ih->nodeid);
	uint8_t *out = rep + sizeof(struct fuse_out_header);

	*err = 0;
	switch (ih->opcode) {
	case FUSE_INIT: {
		struct fuse_init_in in = { 0 };
		struct fuse_init_out o = { 0 };
		uint32_t ok = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
			      FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_DO_READDIRPLUS |
			      FUSE_POSIX_LOCKS;

		if (fault_is(F_CACHE_KEPT)) {
			ok |= FUSE_EXPLICIT_INVAL_DATA;
			keep_cache = true;
		}

		memcpy(&in, arg, arglen < sizeof(in) ? arglen : sizeof(in));
		o.major = fault_is(F_MAJOR) ? (uint32_t)cur->value : FUSE_KERNEL_VERSION;
		o.minor = in.minor < 36 ? in.minor : 36;
		o.max_readahead = in.max_readahead;
		o.flags = in.flags & ok;
		o.max_background = 16;
		o.congestion_threshold = 12;
		o.max_write = fault_is(F_MAX_WRITE) ? (uint32_t)cur->value : 128 * 1024;
		o.time_gran = 1;
		o.max_pages = fault_is(F_MAX_PAGES) ? (uint16_t)cur->value : 32;
		memcpy(out, &o, sizeof(o));
		return sizeof(o);
	}
	case FUSE_LOOKUP: {
		const struct node *c;
		struct fuse_entry_out e;
		char name[1100];

		if (!n || !S_ISDIR(n->mode)) {
			*err = -ENOTDIR;
			return 0;
		}
		snprintf(name, sizeof(name), "%.*s", (int)arglen, (const char *)arg);
		c = child_of(n->id, name);
		if (!c) {
			*err = -ENOENT;
			return 0;
		}
		fill_entry(c, &e);
		if (fault_is(F_NODEID))
			e.nodeid = cur->value;
		memcpy(out, &e, sizeof(e));
		return sizeof(e);
	}
	case FUSE_GETATTR: {
		struct fuse_attr_out a = { 0 };

		if (!n) {
			*err = -ENOENT;
			return 0;
		}
		fill_attr(n, &a.attr);
		memcpy(out, &a, sizeof(a));
		return sizeof(a);
	}
	case FUSE_OPEN:
	case FUSE_OPENDIR: {
		struct fuse_open_out o = { .fh = ih->nodeid };
		struct fuse_open_in in = { 0 };

		memcpy(&in, arg, arglen < sizeof(in) ? arglen : sizeof(in));
		if (!n) {
			*err = -ENOENT;
			return 0;
		}
		if ((in.flags & 3) != 0 || (in.flags & O_TRUNC)) {
			*err = -EROFS;
			return 0;
		}
		if (!S_ISDIR(n->mode) != (ih->opcode == FUSE_OPEN)) {
			*err = ih->opcode == FUSE_OPEN ? -EISDIR : -ENOTDIR;
			return 0;
		}
		if (keep_cache && ih->opcode == FUSE_OPEN)
			o.open_flags = FOPEN_KEEP_CACHE;
		memcpy(out, &o, sizeof(o));
		return sizeof(o);
	}
	case FUSE_READ: {
		struct fuse_read_in in = { 0 };
		const char *data;
		size_t len;

		memcpy(&in, arg, arglen < sizeof(in) ? arglen : sizeof(in));
		if (!n || !n->data) {
			*err = n ? -EISDIR : -ENOENT;
			return 0;
		}
		data = n->id == 2 && host_changed ? changed_data : n->data;
		len = strlen(data);
		if (in.offset >= len)
			return 0;
		len -= in.offset;
		if (len > in.size)
			len = in.size;
		if (len > MAX_REPLY)
			len = MAX_REPLY;
		memcpy(out, data + in.offset, len);
		return len;
	}
	case FUSE_READDIR:
	case FUSE_READDIRPLUS: {
		struct fuse_read_in in = { 0 };

		memcpy(&in, arg, arglen < sizeof(in) ? arglen : sizeof(in));
		if (!n || !S_ISDIR(n->mode)) {
			*err = -ENOTDIR;
			return 0;
		}
		return do_readdir(n->id, in.offset, in.size,
				  ih->opcode == FUSE_READDIRPLUS, out);
	}
	case FUSE_STATFS: {
		struct fuse_statfs_out s = { 0 };

		s.st.blocks = 1024;
		s.st.files = ARRAY_SIZE(nodes);
		s.st.bsize = s.st.frsize = 4096;
		s.st.namelen = 255;
		memcpy(out, &s, sizeof(s));
		return sizeof(s);
	}
	case FUSE_GETLK: {
		/* Someone holds bytes 0-99 for writing (pid 0: not the guest's). */
		struct fuse_lk_out l = { .lk = { .start = 0, .end = 99,
						 .type = F_WRLCK } };

		if (fault_is(F_LK_TYPE))
			l.lk.type = (uint32_t)cur->value;
		if (fault_is(F_LK_START))
			l.lk.start = (uint64_t)cur->value;
		if (fault_is(F_LK_PID))
			l.lk.pid = (uint32_t)cur->value;
		memcpy(out, &l, sizeof(l));
		return sizeof(l);
	}
	case FUSE_SETLK:
	case FUSE_SETLKW:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
	case FUSE_DESTROY:
		return 0;
	case FUSE_SETATTR: case FUSE_SYMLINK: case FUSE_MKNOD: case FUSE_MKDIR:
	case FUSE_UNLINK: case FUSE_RMDIR: case FUSE_RENAME: case FUSE_LINK:
	case FUSE_WRITE: case FUSE_SETXATTR: case FUSE_REMOVEXATTR:
	case FUSE_CREATE: case FUSE_RENAME2: case FUSE_FALLOCATE:
	case FUSE_COPY_FILE_RANGE: case FUSE_TMPFILE:
		*err = -EROFS;
		return 0;
	default:
		*err = -ENOSYS;
		return 0;
	}
}

/* A request held by unique-other: answered after the next one. */
static struct {
	bool active;
	unsigned int qi, ndescs;
	uint16_t head;
	uint32_t len;
	uint64_t unique;
} held;

/* Writes @len bytes of rep into the writable part; false if no room. */
static bool put_reply(const struct seg *s, unsigned int n, uint64_t cap,
		      size_t len)
{
	struct iovec iov[MAX_SEGS];
	size_t done = 0;
	int k;

	if (len > cap)
		return false;
	k = make_iov(s, n, true, 0, len, iov);
	for (int i = 0; i < k; i++) {
		memcpy(iov[i].iov_base, rep + done, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	return true;
}

/*
 * One FUSE request: its reply written, *@len what to report as used
 * length. Returns 1 to return the buffer now, 0 to hold it (stall,
 * unique-other), -1 if the driver broke a rule (queue broken).
 */
static int serve(struct queue *q, unsigned int qi, const struct seg *s,
		 unsigned int n, uint16_t head, uint32_t *len)
{
	struct fuse_out_header oh = { 0 };
	struct fuse_in_header ih;
	uint64_t in_len = 0, cap = 0;
	size_t plen, arglen;
	int err;

	for (unsigned int i = 0; i < n; i++) {
		if (s[i].write)
			cap += s[i].len;
		else
			in_len += s[i].len;
	}
	if (in_len < sizeof(ih)) {
		queue_bad(q, qi, "request of %" PRIu64 " readable bytes: no room for a fuse_in_header",
			  in_len);
		return -1;
	}
	copy_out(s, n, 0, &ih, sizeof(ih));
	if (ih.len != in_len) {
		queue_bad(q, qi, "fuse_in_header len %u, the request has %" PRIu64 " readable bytes",
			  ih.len, in_len);
		return -1;
	}
	arglen = in_len - sizeof(ih);
	if (arglen > sizeof(req_buf))
		arglen = sizeof(req_buf);	/* WRITE data: not looked at */
	copy_out(s, n, sizeof(ih), req_buf, arglen);
	requests++;
	if (ih.opcode == FUSE_FORGET || ih.opcode == FUSE_BATCH_FORGET) {
		if (cap)
			queue_bad(q, qi, "FORGET with %" PRIu64 " writable bytes", cap);
		*len = 0;
		return cap ? -1 : 1;
	}
	if (cap < sizeof(oh)) {
		queue_bad(q, qi, "%s with %" PRIu64 " writable bytes: no room for a fuse_out_header",
			  op_name(ih.opcode), cap);
		return -1;
	}
	cur = match(&ih);
	if (cur)
		say("fault '%s' on queue %u: %s of node %" PRIu64 " (unique %" PRIu64 ", head %u)",
		    cur->text, qi, op_name(ih.opcode), (uint64_t)ih.nodeid,
		    (uint64_t)ih.unique, head);
	if (fault_is(F_HOST_CHANGE))
		host_changed = true;
	plen = answer(&ih, req_buf, arglen, &err);
	if (fault_is(F_STALL)) {
		say("queue %u: no longer answering (holding head %u)", qi, head);
		q->stalled = true;
		cur = NULL;
		return 0;
	}
	if (fault_is(F_SHORT))
		plen = plen > 8 ? plen - 8 : 0;
	if (fault_is(F_ERROR)) {
		err = (int)cur->value;
		plen = 0;
	}
	oh.len = sizeof(oh) + plen;
	oh.error = err;
	oh.unique = ih.unique;
	if (fault_is(F_HDR_LONG))
		oh.len = cap + 64;
	if (fault_is(F_UNIQUE_STRAY))
		oh.unique = ih.unique + (1ull << 32);
	if (held.active && !fault_is(F_UNIQUE_OTHER)) {
		say("answering unique %" PRIu64 " with the unique %" PRIu64 " of the request held",
		    (uint64_t)ih.unique, held.unique);
		oh.unique = held.unique;
	}
	memcpy(rep, &oh, sizeof(oh));
	if (!put_reply(s, n, cap, sizeof(oh) + plen)) {
		queue_bad(q, qi, "%s: a reply of %zu bytes does not fit its %" PRIu64 " writable bytes",
			  op_name(ih.opcode), sizeof(oh) + plen, cap);
		cur = NULL;
		return -1;
	}
	*len = sizeof(oh) + plen;
	if (fault_is(F_LEN_SHORT))
		*len = 8;
	if (fault_is(F_LEN_LONG))
		*len = cap + 512;
	if (fault_is(F_UNIQUE_OTHER) && !held.active) {
		held.active = true;
		held.qi = qi;
		held.head = head;
		held.len = *len;
		held.unique = ih.unique;
		cur = NULL;
		return 0;
	}
	cur = NULL;
	return 1;
}

static void process(unsigned int qi)
{
	static struct seg segs[MAX_SEGS];
	struct queue *q = &queues[qi];
	bool any = false;

	if (!q->started || !q->enabled || q->broken || q->stalled || !q->desc)
		return;
	for (;;) {
		unsigned int n, ndescs = 1;
		uint16_t head;
		uint32_t len = 0;
		bool was_held = held.active;
		int got;

		got = q->packed ? walk_packed(q, qi, segs, &n, &head, &ndescs) :
				  next_split(q, qi, segs, &n, &head);
		if (got <= 0)
			break;
		got = serve(q, qi, segs, n, head, &len);
		if (got < 0 || q->stalled)
			break;
		if (!got) {
			if (held.active && !was_held)
				held.ndescs = ndescs;
			continue;
		}
		used_put(q, head, len, ndescs, false);
		any = true;
		if (was_held && qi != 0) {
			/* The one that got its unique; now the held one itself. */
			struct queue *hq = &queues[held.qi];

			held.active = false;
			used_put(hq, held.head, held.len, held.ndescs, false);
			if (hq != q) {
				used_publish(hq);
				notify(hq);
			}
		}
	}
	if (any) {
		used_publish(q);
		notify(q);
	}
}

/* --- command line --- */

static void parse_rule(const char *text)
{
	struct rule *f;
	char buf[256], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", text);
	tok = strtok_r(buf, " \t", &save);
	if (!tok || *tok == '#')
		return;
	if (nrules == MAX_RULES)
		die("more than %d rules", MAX_RULES);
	f = &rules[nrules++];
	*f = (struct rule){ .op = -1, .node = -1, .when.count = 1 };
	snprintf(f->text, sizeof(f->text), "%s", text);
	for (; tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');
		const char *v = eq ? eq + 1 : "";
		char *end = NULL;

		if (eq)
			*eq = 0;
		if (!strcmp(tok, "op")) {
			for (unsigned int i = 0; i < ARRAY_SIZE(ops); i++)
				if (!strcmp(v, ops[i].name))
					f->op = ops[i].op;
			if (!strcmp(v, "readdirs"))
				f->op = OP_READDIRS;
			if (f->op == -1)
				die("unknown opcode in '%s'", text);
			continue;
		}
		if (!strcmp(tok, "node"))
			f->node = strtoll(v, &end, 0);
		else if (!vu_trigger_word(&f->when, tok, v, &end)) {
			for (unsigned int k = 1; k < ARRAY_SIZE(fault_names); k++)
				if (!strcmp(tok, fault_names[k]))
					f->kind = k;
			if (f->kind == F_NONE || valued(f->kind) != !!eq)
				die("bad rule word '%s' in '%s'", tok, text);
			if (eq) {
				f->value = strtoll(v, &end, 0);
				if (*end)
					die("bad value in '%s'", text);
			}
			continue;
		}
		if (!eq || *end)
			die("bad value for %s in '%s'", tok, text);
	}
	if (f->kind == F_NONE)
		die("rule '%s' names no fault", text);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: hostile-fs --socket PATH [--tag T] [--queues N] [--fault RULE]...\n"
		"                  [--script FILE] [--timeout SECS]\n"
		"rules (docs/hostile.md): FAULT [op=OPCODE|readdirs] [node=N] [after=N] [count=K];\n"
		"  FAULT is short, hdr-long, len-short, len-long, unique-stray,\n"
		"  unique-other, error=E, dirent-long, dirent-zero, mode=M, nodeid=N,\n"
		"  major=V, max-write=V, max-pages=V, stall, lk-type=T, lk-start=S,\n"
		"  lk-pid=P, cache-kept, host-change\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct vu_backend b = {
		.process = process,
		.features = 1ull << VIRTIO_RING_F_INDIRECT_DESC |
			    1ull << VIRTIO_RING_F_EVENT_IDX |
			    1ull << VHOST_USER_F_PROTOCOL_FEATURES |
			    1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_RING_PACKED,
		.protocol_features = 1ull << VU_PROTO_MQ | 1ull << VU_PROTO_REPLY_ACK,
	};
	const char *sock_path = NULL, *tag = "hostile";
	unsigned long req_queues = 1;
	long timeout = 900;

	vu_prog = "hostile-fs";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(a, "--socket"))
			sock_path = v;
		else if (!strcmp(a, "--tag"))
			tag = v;
		else if (!strcmp(a, "--queues"))
			req_queues = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--fault"))
			parse_rule(v);
		else if (!strcmp(a, "--script"))
			vu_read_script(v, parse_rule);
		else if (!strcmp(a, "--timeout"))
			timeout = strtol(v, NULL, 0);
		else
			usage();
		i++;
	}
	if (!sock_path || !req_queues || req_queues >= MAX_QUEUES || timeout <= 0)
		usage();
	nqueues = 1 + req_queues;
	snprintf(vu_name, sizeof(vu_name), "hostile-fs[%s]", tag);
	vu_listen(sock_path);
	say("listening on %s: %u request queue(s), %d rule(s)", sock_path,
	    nqueues - 1, nrules);
	vu_run(&b, timeout);
	say("served %" PRIu64 " requests", requests);
	return 0;
}
