// SPDX-License-Identifier: GPL-2.0
/*
 * hostile-blk: a vhost-user-blk back-end that serves a raw disk image
 * correctly and misbehaves on purpose when a fault rule matches a request.
 * QEMU attaches it with
 *
 *   -chardev socket,id=c0,path=SOCK -device vhost-user-blk-pci,chardev=c0
 *
 * (guest RAM must be a shared memfd: -object memory-backend-memfd,...,share=on
 * -machine memory-backend=ID). See docs/hostile.md for the rules.
 *
 * The vhost-user protocol, the memory table, the rings and the poll loop
 * are vhost-user.c's (shared with hostile-fs). Requests are served
 * synchronously with preadv and pwritev. The program exits when QEMU goes
 * away (unless a disconnect rule waits for QEMU to come back) and after
 * --timeout seconds in any case.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhost-user.h"

#define VIRTIO_BLK_F_SIZE_MAX		1
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_TOPOLOGY		10
#define VIRTIO_BLK_F_MQ			12
#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_S_OK			0
#define VIRTIO_BLK_S_IOERR		1
#define VIRTIO_BLK_S_UNSUPP		2
#define VIRTIO_BLK_ID_BYTES		20
enum fault_kind {
	F_NONE, F_BAD_ID, F_STALE_ID, F_DUP_ID, F_LEN_LONG, F_LEN_SHORT,
	F_BAD_FLAGS,
	F_STATUS, F_STALL, F_DISCONNECT, F_STORM,
};

static const char *const fault_names[] = {
	[F_BAD_ID] = "bad-id", [F_STALE_ID] = "stale-id", [F_DUP_ID] = "dup-id",
	[F_LEN_LONG] = "len-long", [F_LEN_SHORT] = "len-short",
	[F_BAD_FLAGS] = "bad-flags", [F_STATUS] = "status", [F_STALL] = "stall",
	[F_DISCONNECT] = "disconnect", [F_STORM] = "storm",
};

struct rule {
	enum fault_kind kind;
	long value;
	int queue;		/* -1: any */
	int type;		/* -1: any */
	int64_t sector;		/* -1: any */
	struct vu_trigger when;
	unsigned long every;
	bool reconnect;
	char text[128];
};

#define MAX_RULES 32
static struct rule rules[MAX_RULES];
static int nrules;

/* Config overrides: field offset/size in struct virtio_blk_config. */
struct cfg_override {
	const char *name;
	unsigned int off, size;
	bool set;
	uint64_t value;
};
static struct cfg_override cfgs[] = {
	{ "capacity", 0, 8, false, 0 }, { "size_max", 8, 4, false, 0 },
	{ "seg_max", 12, 4, false, 0 },
	{ "blk_size", 20, 4, false, 0 }, { "physical_block_exp", 24, 1, false, 0 },
	{ "alignment_offset", 25, 1, false, 0 }, { "min_io_size", 26, 2, false, 0 },
	{ "opt_io_size", 28, 4, false, 0 }, { "num_queues", 34, 2, false, 0 },
};

static const char *disk_path, *serial = "hostile";
static int disk_fd = -1;
static uint64_t disk_sectors;
static unsigned long storm_left, storm_every;
static bool storm_flip, storm_pending;
static uint64_t storm_next;
struct req {
	uint32_t type;
	uint64_t sector;
	uint64_t out_len, in_len;	/* device-readable, device-writable bytes */
	uint8_t status;
	uint32_t written;		/* bytes written into the writable buffers */
};

static const char *type_name(uint32_t t)
{
	switch (t) {
	case VIRTIO_BLK_T_IN: return "in";
	case VIRTIO_BLK_T_OUT: return "out";
	case VIRTIO_BLK_T_FLUSH: return "flush";
	case VIRTIO_BLK_T_GET_ID: return "getid";
	default: return "other";
	}
}

static int type_from(const char *s)
{
	static const char *const n[] = { "in", "out", "flush", "getid" };
	static const int v[] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT,
				 VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID };

	for (unsigned int i = 0; i < 4; i++)
		if (!strcmp(s, n[i]))
			return v[i];
	return -2;
}

/* Copies @len bytes at byte @off of the readable part. */
static uint8_t do_rw(bool in, const struct seg *s, unsigned int n,
		     struct req *r, uint64_t data_off, uint64_t len)
{
	struct iovec iov[MAX_SEGS];
	uint64_t pos;
	int k;

	if (len % 512 || r->sector > disk_sectors || len / 512 > disk_sectors - r->sector)
		return VIRTIO_BLK_S_IOERR;
	k = make_iov(s, n, in, data_off, len, iov);
	pos = r->sector * 512;
	while (len) {
		ssize_t got = in ? preadv(disk_fd, iov, k, (off_t)pos) :
				   pwritev(disk_fd, iov, k, (off_t)pos);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return VIRTIO_BLK_S_IOERR;
		pos += got;
		len -= got;
		/* Advance the iovecs past what was done. */
		while (k && got >= (ssize_t)iov[0].iov_len) {
			got -= iov[0].iov_len;
			memmove(iov, iov + 1, --k * sizeof(iov[0]));
		}
		if (k && got) {
			iov[0].iov_base = (uint8_t *)iov[0].iov_base + got;
			iov[0].iov_len -= got;
		}
	}
	return VIRTIO_BLK_S_OK;
}

/* Serve one request; false if the queue broke. */
static bool serve(struct queue *q, unsigned int qi, const struct seg *s,
		  unsigned int n, struct req *r)
{
	uint8_t hdr[16];
	uint32_t t;

	r->out_len = r->in_len = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (s[i].write)
			r->in_len += s[i].len;
		else
			r->out_len += s[i].len;
	}
	/* virtio 1.2, 5.2.6: a 16-byte header, data, a status byte. */
	if (r->out_len < 16 || r->in_len < 1) {
		queue_bad(q, qi, "request of %" PRIu64 " readable and %" PRIu64
			  " writable bytes: no room for header and status",
			  r->out_len, r->in_len);
		return false;
	}
	copy_out(s, n, 0, hdr, 16);
	memcpy(&t, hdr, 4);
	r->type = t;
	memcpy(&r->sector, hdr + 8, 8);
	r->written = 1;
	switch (t) {
	case VIRTIO_BLK_T_IN:
		if (r->out_len != 16) {
			queue_bad(q, qi, "read request with %" PRIu64 " readable bytes",
				  r->out_len);
			return false;
		}
		r->status = do_rw(true, s, n, r, 0, r->in_len - 1);
		if (r->status == VIRTIO_BLK_S_OK)
			r->written = r->in_len;
		break;
	case VIRTIO_BLK_T_OUT:
		if (r->in_len != 1) {
			queue_bad(q, qi, "write request with %" PRIu64 " writable bytes",
				  r->in_len);
			return false;
		}
		r->status = do_rw(false, s, n, r, 16, r->out_len - 16);
		break;
	case VIRTIO_BLK_T_FLUSH:
		r->status = fdatasync(disk_fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		char id[VIRTIO_BLK_ID_BYTES] = { 0 };
		struct iovec iov[MAX_SEGS];
		uint64_t want = r->in_len - 1 < VIRTIO_BLK_ID_BYTES ?
				r->in_len - 1 : VIRTIO_BLK_ID_BYTES;
		uint64_t done = 0;
		int k;

		memcpy(id, serial, strnlen(serial, sizeof(id)));
		k = make_iov(s, n, true, 0, want, iov);
		for (int i = 0; i < k; i++) {
			memcpy(iov[i].iov_base, id + done, iov[i].iov_len);
			done += iov[i].iov_len;
		}
		r->status = VIRTIO_BLK_S_OK;
		r->written = done + 1;
		break;
	}
	default:
		r->status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	return true;
}

static void write_status(const struct seg *s, unsigned int n, uint8_t v)
{
	for (unsigned int i = n; i-- > 0;)
		if (s[i].write) {
			s[i].p[s[i].len - 1] = v;
			return;
		}
}

static struct rule *match(unsigned int qi, const struct req *r)
{
	for (int i = 0; i < nrules; i++) {
		struct rule *f = &rules[i];

		if (f->queue >= 0 && (unsigned int)f->queue != qi)
			continue;
		if (f->type >= 0 && (uint32_t)f->type != r->type)
			continue;
		if (f->sector >= 0) {
			uint64_t data = r->type == VIRTIO_BLK_T_IN ? r->in_len - 1 :
					r->out_len - 16;
			uint64_t end = r->sector + (data + 511) / 512;

			if (r->type != VIRTIO_BLK_T_IN && r->type != VIRTIO_BLK_T_OUT)
				continue;
			if ((uint64_t)f->sector < r->sector ||
			    (uint64_t)f->sector >= (end > r->sector ? end : r->sector + 1))
				continue;
		}
		if (vu_trigger_fires(&f->when))
			return f;
	}
	return NULL;
}

/* Is @id made available and not yet taken (packed: scans ahead)? */
static void storm_step(void);

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
		struct req r;
		struct rule *f;
		uint32_t id, len;
		int got;

		got = q->packed ? walk_packed(q, qi, segs, &n, &head, &ndescs) :
				  next_split(q, qi, segs, &n, &head);
		if (got <= 0 || !serve(q, qi, segs, n, &r))
			break;
		q->requests++;
		id = head;
		len = r.written;
		f = match(qi, &r);
		if (f)
			say("fault '%s' on queue %u: %s of head %u at sector %" PRIu64,
			    f->text, qi, type_name(r.type), head, r.sector);
		switch (f ? f->kind : F_NONE) {
		case F_BAD_ID:
			id = q->num + 7;
			break;
		case F_STALE_ID:
			id = stale_id(q, head);
			break;
		case F_LEN_LONG:
			len = r.in_len + 512;
			break;
		case F_BAD_FLAGS:
			if (!q->packed)
				say("bad-flags is a packed ring fault; served as asked");
			break;
		case F_LEN_SHORT:
			/* The data, not the status byte, and no status written. */
			len = r.in_len - 1;
			write_status(segs, n, 0xee);
			r.status = 0xee;
			break;
		case F_STATUS:
			r.status = (uint8_t)f->value;
			break;
		case F_STALL:
			say("queue %u: no longer answering (holding head %u)", qi, head);
			q->stalled = true;
			break;
		case F_DISCONNECT:
			/* The request stays unanswered: QEMU hands it to the next back-end. */
			want_reconnect = f->reconnect;
			if (any) {
				used_publish(q);
				notify(q);
			}
			hang_up("disconnect rule");
			return;
		case F_STORM:
			storm_left = f->value;
			storm_every = f->every;
			break;
		default:
			break;
		}
		if (q->stalled)
			break;
		if (!f || f->kind != F_LEN_SHORT)
			write_status(segs, n, r.status);
		used_put(q, id, len, ndescs, f && f->kind == F_BAD_FLAGS && q->packed);
		if (f && f->kind == F_DUP_ID)
			used_put(q, id, len, 1, false);
		any = true;
		if (f && f->kind == F_STORM)
			storm_step();
	}
	if (any) {
		used_publish(q);
		notify(q);
	}
}

/* --- config --- */

static uint8_t config[VU_CONFIG_MAX];

static void put(unsigned int off, unsigned int size, uint64_t v)
{
	memcpy(config + off, &v, size);	/* little-endian host */
}

static void build_config(void)
{
	memset(config, 0, sizeof(config));
	put(0, 8, disk_sectors);
	put(8, 4, 1u << 20);			/* size_max */
	put(12, 4, 126);			/* seg_max */
	put(20, 4, 512);			/* blk_size */
	put(34, 2, nqueues);
	config[32] = 1;				/* writeback */
	for (unsigned int i = 0; i < ARRAY_SIZE(cfgs); i++)
		if (cfgs[i].set)
			put(cfgs[i].off, cfgs[i].size, cfgs[i].value);
	if (storm_left) {
		/* Back and forth between the size and twice the size. */
		uint64_t c;

		memcpy(&c, config, 8);
		put(0, 8, storm_flip ? c * 2 : c);
	}
}

static void storm_step(void)
{
	struct vu_hdr h = { VU_SLAVE_CONFIG_CHANGE_MSG, VU_VERSION, 0 };

	storm_pending = false;
	if (!storm_left || slave_fd < 0)
		return;
	storm_left--;
	storm_flip = !storm_flip;
	if (!storm_left) {
		storm_flip = false;
		say("config storm over: capacity back to %" PRIu64, disk_sectors);
	}
	if (send(slave_fd, &h, sizeof(h), MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(h))
		say("config change message: %s", strerror(errno));
}

/* --- command line and main loop --- */

static void parse_rule(const char *text)
{
	struct rule *f;
	char buf[256], *tok, *save;

	if (nrules == MAX_RULES)
		die("more than %d rules", MAX_RULES);
	snprintf(buf, sizeof(buf), "%s", text);
	tok = strtok_r(buf, " \t", &save);
	if (!tok || *tok == '#')
		return;
	if (!strncmp(tok, "config", 6) && !tok[6]) {
		char *name = strtok_r(NULL, " \t", &save), *val = strtok_r(NULL, " \t", &save);

		for (unsigned int i = 0; name && val && i < ARRAY_SIZE(cfgs); i++)
			if (!strcmp(cfgs[i].name, name)) {
				cfgs[i].set = true;
				cfgs[i].value = strtoull(val, NULL, 0);
				return;
			}
		die("bad config rule '%s'", text);
	}
	f = &rules[nrules++];
	*f = (struct rule){ .queue = -1, .type = -1, .sector = -1, .when.count = 1 };
	snprintf(f->text, sizeof(f->text), "%s", text);
	for (; tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');
		const char *v = eq ? eq + 1 : "";
		char *end;

		if (eq)
			*eq = 0;
		if (!strcmp(tok, "queue"))
			f->queue = strtol(v, &end, 0);
		else if (!strcmp(tok, "sector"))
			f->sector = strtoll(v, &end, 0);
		else if (!strcmp(tok, "every"))
			f->every = strtoul(v, &end, 0);
		else if (!strcmp(tok, "type")) {
			f->type = type_from(v);
			if (f->type < -1)
				die("bad type in '%s'", text);
			continue;
		} else if (!strcmp(tok, "reconnect") && !eq) {
			f->reconnect = true;
			continue;
		} else if (!vu_trigger_word(&f->when, tok, v, &end)) {
			bool valued;

			for (unsigned int k = 1; k < ARRAY_SIZE(fault_names); k++)
				if (!strcmp(tok, fault_names[k]))
					f->kind = k;
			valued = f->kind == F_STATUS || f->kind == F_STORM;
			if (f->kind == F_NONE || valued != !!eq)
				die("bad rule word '%s' in '%s'", tok, text);
			f->value = eq ? strtol(v, &end, 0) : 0;
			if (eq && *end)
				die("bad value in '%s'", text);
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
		"usage: hostile-blk --socket PATH --disk FILE [--queues N] [--serial S]\n"
		"                   [--fault RULE]... [--script FILE] [--timeout SECS]\n"
		"rules (docs/hostile.md): FAULT [queue=Q] [type=in|out|flush|getid]\n"
		"  [sector=S] [after=N] [count=K]; FAULT is bad-id, stale-id, dup-id,\n"
		"  len-long, len-short, bad-flags (packed), status=V, stall,\n"
		"  disconnect [reconnect],\n"
		"  storm=N [every=MS];\n"
		"  or: config FIELD VALUE\n");
	exit(2);
}


static bool blk_get_config(uint32_t off, uint32_t size, uint8_t *data)
{
	bool ok = off <= VU_CONFIG_MAX && size <= VU_CONFIG_MAX - off;

	build_config();
	if (ok)
		memcpy(data, config + off, size);
	/* The next change once QEMU has read this one (paced: later). */
	if (storm_left) {
		storm_pending = true;
		storm_next = now_ms() + storm_every;
	}
	return ok;
}

/* A paced config storm: the next change when its time comes. */
static int blk_timer(void)
{
	uint64_t t;

	if (!storm_pending)
		return -1;
	t = now_ms();
	if (t >= storm_next) {
		storm_step();
		return -1;
	}
	return storm_next - t < 1000 ? (int)(storm_next - t) : -1;
}

int main(int argc, char **argv)
{
	struct vu_backend b = {
		.process = process,
		.get_config = blk_get_config,
		.timer = blk_timer,
		.protocol_features = 1ull << VU_PROTO_MQ | 1ull << VU_PROTO_REPLY_ACK |
				     1ull << VU_PROTO_SLAVE_REQ | 1ull << VU_PROTO_CONFIG,
	};
	const char *sock_path = NULL;
	long timeout = 900;
	struct stat st;

	vu_prog = "hostile-blk";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(a, "--socket"))
			sock_path = v;
		else if (!strcmp(a, "--disk"))
			disk_path = v;
		else if (!strcmp(a, "--queues"))
			nqueues = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--serial"))
			serial = v;
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
	if (!sock_path || !disk_path || !nqueues || nqueues > MAX_QUEUES || timeout <= 0)
		usage();
	snprintf(vu_name, sizeof(vu_name), "hostile-blk[%s]", serial);
	disk_fd = open(disk_path, O_RDWR | O_CLOEXEC);
	if (disk_fd < 0 || fstat(disk_fd, &st))
		die("%s: %s", disk_path, strerror(errno));
	disk_sectors = st.st_size / 512;

	b.features = 1ull << VIRTIO_BLK_F_SIZE_MAX | 1ull << VIRTIO_BLK_F_SEG_MAX |
		     1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH |
		     1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_RING_F_EVENT_IDX |
		     1ull << VHOST_USER_F_PROTOCOL_FEATURES | 1ull << VIRTIO_F_VERSION_1 |
		     1ull << VIRTIO_F_RING_PACKED;
	if (nqueues > 1)
		b.features |= 1ull << VIRTIO_BLK_F_MQ;

	vu_listen(sock_path);
	say("listening on %s: %s, %" PRIu64 " sectors, %u queue(s), %d rule(s)",
	    sock_path, disk_path, disk_sectors, nqueues, nrules);
	vu_run(&b, timeout);
	return 0;
}
