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
 * One thread, one poll loop: the vhost-user socket, one kick eventfd per
 * queue, a time bound. Requests are served synchronously with preadv and
 * pwritev. Everything the guest wrote (rings, descriptors, requests) is
 * read once into local copies and checked; a driver that breaks the
 * virtio rules gets one "driver error" line and its queue is no longer
 * served. The program exits when QEMU goes away (unless a disconnect rule
 * waits for QEMU to come back) and after --timeout seconds in any case.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* --- virtio and vhost-user constants (virtio 1.2; QEMU docs/interop) --- */

#define VIRTIO_BLK_F_SIZE_MAX		1
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_TOPOLOGY		10
#define VIRTIO_BLK_F_MQ			12
#define VIRTIO_RING_F_INDIRECT_DESC	28
#define VIRTIO_RING_F_EVENT_IDX		29
#define VHOST_USER_F_PROTOCOL_FEATURES	30
#define VIRTIO_F_VERSION_1		32
#define VIRTIO_F_RING_PACKED		34

#define VIRTQ_DESC_F_NEXT		1
#define VIRTQ_DESC_F_WRITE		2
#define VIRTQ_DESC_F_INDIRECT		4
#define VRING_AVAIL_F_NO_INTERRUPT	1
#define VIRTQ_DESC_F_AVAIL		(1u << 7)	/* packed */
#define VIRTQ_DESC_F_USED		(1u << 15)
#define VRING_PACKED_EVENT_DISABLE	1
#define VRING_PACKED_EVENT_DESC		2

#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_S_OK			0
#define VIRTIO_BLK_S_IOERR		1
#define VIRTIO_BLK_S_UNSUPP		2
#define VIRTIO_BLK_ID_BYTES		20

enum {
	VU_GET_FEATURES = 1, VU_SET_FEATURES = 2, VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4, VU_SET_MEM_TABLE = 5, VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7, VU_SET_VRING_NUM = 8, VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10, VU_GET_VRING_BASE = 11, VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13, VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15, VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17, VU_SET_VRING_ENABLE = 18,
	VU_SET_SLAVE_REQ_FD = 21, VU_GET_CONFIG = 24, VU_SET_CONFIG = 25,
};
#define VU_SLAVE_CONFIG_CHANGE_MSG	2

#define VU_PROTO_MQ			0
#define VU_PROTO_REPLY_ACK		3
#define VU_PROTO_SLAVE_REQ		5
#define VU_PROTO_CONFIG			9

#define VU_VERSION			1
#define VU_FLAG_REPLY			(1u << 2)
#define VU_FLAG_NEED_REPLY		(1u << 3)
#define VU_VRING_NOFD			(1u << 8)
#define VU_MAX_FDS			8
#define VU_MAX_REGIONS			8
#define VU_CONFIG_MAX			256

#define MAX_QUEUES			8
#define MAX_QUEUE_SIZE			32768
#define MAX_SEGS			1024
#define ARRAY_SIZE(a)			(sizeof(a) / sizeof((a)[0]))

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vu_region {
	uint64_t gpa, size, uva, mmap_offset;
};

struct vu_msg {
	struct vu_hdr h;
	union {
		uint64_t u64;
		struct { uint32_t index, num; } state;
		struct {
			uint32_t index, flags;
			uint64_t desc, used, avail, log;
		} addr;
		struct {
			uint32_t nregions, padding;
			struct vu_region r[VU_MAX_REGIONS];
		} mem;
		struct {
			uint32_t offset, size, flags;
			uint8_t data[VU_CONFIG_MAX];
		} config;
		uint8_t raw[4096];
	} p;
} __attribute__((packed));

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct vring_packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id, flags;
};

/* --- state --- */

struct region {
	uint64_t gpa, size, uva;
	uint8_t *base;		/* where gpa maps */
	void *map;
	size_t map_len;
};

struct queue {
	unsigned int num;
	int kick, call;
	bool started, enabled, broken, stalled;
	uint64_t desc_uva, avail_uva, used_uva;
	struct vring_desc *desc;
	/* Shared with the guest: indices are read and written atomically. */
	uint16_t *avail;	/* flags, idx, ring[num], used_event */
	uint8_t *used;		/* flags, idx, ring[num] {id, len}, avail_event */
	uint16_t last_avail, used_idx, signalled_used;
	bool signalled_valid;
	/*
	 * Packed (virtio 1.2, 2.8): desc is the descriptor ring, avail the
	 * driver's event structure {off_wrap, flags}, used the device's.
	 * Positions with their wrap counters; used_since: descriptors used
	 * since the last notification decision.
	 */
	bool packed;
	uint16_t avail_pos, used_pos, used_since;
	bool avail_wrap, used_wrap;
	uint64_t requests;
};

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
	unsigned long after, count, seen, fired, every;
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

static const char *sock_path, *disk_path, *serial = "hostile";
static int disk_fd = -1, listen_fd = -1, conn_fd = -1, slave_fd = -1;
static unsigned int nqueues = 1;
static uint64_t disk_sectors;
static uint64_t offered, acked, proto_acked;
static struct region regions[VU_MAX_REGIONS];
static unsigned int nregions;
static struct queue queues[MAX_QUEUES];
static time_t deadline, reconnect_deadline;
static bool want_reconnect;
static unsigned long storm_left, storm_every;
static bool storm_flip, storm_pending;
static uint64_t storm_next;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...)
{
	va_list ap;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "hostile-blk[%s] %ld.%03ld: ", serial, (long)ts.tv_sec,
		ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hostile-blk: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* --- guest memory --- */

static void unmap_all(void)
{
	for (unsigned int i = 0; i < nregions; i++)
		munmap(regions[i].map, regions[i].map_len);
	nregions = 0;
}

/* Guest physical [gpa, gpa+len) inside one region, or NULL. */
static void *gpa_ptr(uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < nregions; i++) {
		struct region *r = &regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r->base + (gpa - r->gpa);
	}
	return NULL;
}

/* QEMU's own virtual address (ring addresses) inside one region, or NULL. */
static void *uva_ptr(uint64_t uva, uint64_t len)
{
	for (unsigned int i = 0; i < nregions; i++) {
		struct region *r = &regions[i];

		if (uva >= r->uva && uva - r->uva < r->size &&
		    len <= r->size - (uva - r->uva))
			return r->base + (uva - r->uva);
	}
	return NULL;
}

/* --- the used ring --- */

static uint16_t rd16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static bool has(uint64_t features, int bit)
{
	return features & (1ull << bit);
}

static void queue_bad(struct queue *q, unsigned int qi, const char *fmt, ...)
{
	va_list ap;
	char buf[256];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!q->broken)
		say("queue %u: driver error: %s; queue no longer served", qi, buf);
	q->broken = true;
}

static bool need_event(uint16_t event, uint16_t new, uint16_t old)
{
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

/*
 * Returns buffer @id with @len bytes written. Split: an entry, visible at
 * used_publish(). Packed (virtio 1.2, 2.8.7): the descriptor at the used
 * position, made used by its flags, and the position moves past the
 * buffer's @ndescs; with @nonsense the flags say neither available nor
 * used for the current wrap counter (AVAIL != USED).
 */
static void used_put(struct queue *q, uint32_t id, uint32_t len,
		     unsigned int ndescs, bool nonsense)
{
	if (q->packed) {
		struct vring_packed_desc *d =
			(struct vring_packed_desc *)q->desc + q->used_pos;
		uint16_t flags = q->used_wrap ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0;

		if (nonsense)
			flags = q->used_wrap ? VIRTQ_DESC_F_USED : VIRTQ_DESC_F_AVAIL;
		if (len)
			flags |= VIRTQ_DESC_F_WRITE;
		d->id = (uint16_t)id;
		d->len = len;
		__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
		q->used_pos += ndescs;
		q->used_since += ndescs;
		if (q->used_pos >= q->num) {
			q->used_pos -= q->num;
			q->used_wrap = !q->used_wrap;
		}
		return;
	}
	uint8_t *e = q->used + 4 + 8 * (q->used_idx % q->num);

	memcpy(e, &id, 4);
	memcpy(e + 4, &len, 4);
	q->used_idx++;
}

static void used_publish(struct queue *q)
{
	if (!q->packed)
		__atomic_store_n((uint16_t *)(q->used + 2), q->used_idx,
				 __ATOMIC_RELEASE);
}

/* virtio 1.2, 2.8.10: the driver's event structure decides. */
static bool packed_need_notify(struct queue *q)
{
	uint16_t flags = rd16(q->avail + 1) & 3, off, since = q->used_since;

	q->used_since = 0;
	if (!q->signalled_valid)
		return true;
	if (flags == VRING_PACKED_EVENT_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_DESC || !has(acked, VIRTIO_RING_F_EVENT_IDX))
		return true;
	off = rd16(q->avail);
	/* An offset from the other lap lies a ring back. */
	if (!!(off & 0x8000) != q->used_wrap)
		off = (off & 0x7fff) - q->num;
	else
		off &= 0x7fff;
	return need_event(off, q->used_pos, q->used_pos - since);
}

/* virtio 1.2, 2.7.10: interrupt the driver unless it asked us not to. */
static void notify(struct queue *q)
{
	uint16_t old = q->signalled_used, new = q->used_idx;
	bool need;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->packed) {
		need = packed_need_notify(q);
	} else if (has(acked, VIRTIO_RING_F_EVENT_IDX)) {
		uint16_t ev = rd16(q->avail + 2 + q->num);

		need = !q->signalled_valid || need_event(ev, new, old);
	} else {
		need = !(rd16(q->avail) & VRING_AVAIL_F_NO_INTERRUPT);
	}
	q->signalled_used = new;
	q->signalled_valid = true;
	if (need && q->call >= 0) {
		uint64_t one = 1;

		if (write(q->call, &one, sizeof(one)) < 0 && errno != EAGAIN)
			say("call eventfd: %s", strerror(errno));
	}
}

/* --- requests --- */

struct seg {
	uint8_t *p;
	uint32_t len;
	bool write;
};

static int add_seg(struct queue *q, unsigned int qi, struct seg *segs,
		   unsigned int *n, uint64_t addr, uint32_t len, bool write,
		   bool *seen_write)
{
	if (write) {
		*seen_write = true;
	} else if (*seen_write) {
		queue_bad(q, qi, "readable descriptor after a writable one");
		return -1;
	}
	if (*n >= MAX_SEGS) {
		queue_bad(q, qi, "chain of more than %u buffers", MAX_SEGS);
		return -1;
	}
	if (!len)
		return 0;
	segs[*n].p = gpa_ptr(addr, len);
	if (!segs[*n].p) {
		queue_bad(q, qi, "buffer 0x%" PRIx64 "+%u outside guest memory",
			  addr, len);
		return -1;
	}
	segs[*n].len = len;
	segs[*n].write = write;
	(*n)++;
	return 0;
}

/* An indirect table, checked (2.7.5.3.1, 2.8.19); NULL: queue broken. */
static const void *indirect_table(struct queue *q, unsigned int qi,
				  uint64_t addr, uint32_t len)
{
	const void *t;

	if (!len || len % 16 || len / 16 > MAX_QUEUE_SIZE) {
		queue_bad(q, qi, "indirect table of %u bytes", len);
		return NULL;
	}
	t = gpa_ptr(addr, len);
	if (!t)
		queue_bad(q, qi, "indirect table 0x%" PRIx64 "+%u outside guest memory",
			  addr, len);
	return t;
}

/* The chain at @head, into @segs; false (queue marked broken) if invalid. */
static int walk_chain(struct queue *q, unsigned int qi, uint16_t head,
		      struct seg *segs, unsigned int *nsegs)
{
	const struct vring_desc *table = q->desc;
	unsigned int tsize = q->num, idx = head, n = 0, steps = 0;
	bool indirect = false, seen_write = false;

	for (;;) {
		struct vring_desc d;

		if (idx >= tsize) {
			queue_bad(q, qi, "descriptor %u beyond a table of %u", idx, tsize);
			return -1;
		}
		memcpy(&d, (const void *)&table[idx], sizeof(d));
		if (++steps > tsize || steps > MAX_QUEUE_SIZE) {
			queue_bad(q, qi, "chain from head %u loops or exceeds its table", head);
			return -1;
		}
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!has(acked, VIRTIO_RING_F_INDIRECT_DESC) || indirect) {
				queue_bad(q, qi, "%s indirect descriptor at %u",
					  indirect ? "nested" : "unnegotiated", idx);
				return -1;
			}
			if (d.flags & VIRTQ_DESC_F_NEXT) {
				queue_bad(q, qi, "descriptor %u has both INDIRECT and NEXT", idx);
				return -1;
			}
			table = indirect_table(q, qi, d.addr, d.len);
			if (!table)
				return -1;
			indirect = true;
			tsize = d.len / 16;
			idx = 0;
			steps = 0;
			continue;
		}
		if (add_seg(q, qi, segs, &n, d.addr, d.len,
			    d.flags & VIRTQ_DESC_F_WRITE, &seen_write))
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		idx = d.next;
	}
	*nsegs = n;
	return 0;
}

static bool packed_avail(uint16_t flags, bool wrap)
{
	return !!(flags & VIRTQ_DESC_F_AVAIL) == wrap &&
	       !!(flags & VIRTQ_DESC_F_USED) != wrap;
}

/*
 * The packed ring's next buffer (virtio 1.2, 2.8.6, 2.8.17-2.8.19): 1 with
 * its segments, its id and the descriptors it took; 0 if none is
 * available; -1 (queue marked broken) if the driver broke a rule.
 */
static int walk_packed(struct queue *q, unsigned int qi, struct seg *segs,
		       unsigned int *nsegs, uint16_t *id, unsigned int *ndescs)
{
	struct vring_packed_desc *ring = (struct vring_packed_desc *)q->desc;
	uint16_t pos = q->avail_pos;
	bool wrap = q->avail_wrap, seen_write = false;
	unsigned int n = 0, count = 0;

	if (!packed_avail(rd16(&ring[pos].flags), wrap))
		return 0;
	for (;;) {
		struct vring_packed_desc d;

		memcpy(&d, &ring[pos], sizeof(d));
		d.flags = rd16(&ring[pos].flags);
		if (!packed_avail(d.flags, wrap)) {
			queue_bad(q, qi, "descriptor %u of a chain from %u is not available",
				  pos, q->avail_pos);
			return -1;
		}
		if (++count > q->num) {
			queue_bad(q, qi, "chain from %u longer than the ring", q->avail_pos);
			return -1;
		}
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			const struct vring_packed_desc *t;

			if (!has(acked, VIRTIO_RING_F_INDIRECT_DESC) ||
			    (d.flags & VIRTQ_DESC_F_NEXT) || count > 1) {
				queue_bad(q, qi, "indirect descriptor at %u not allowed (2.8.19)", pos);
				return -1;
			}
			t = indirect_table(q, qi, d.addr, d.len);
			if (!t)
				return -1;
			for (unsigned int i = 0; i < d.len / 16; i++) {
				struct vring_packed_desc e;

				memcpy(&e, &t[i], sizeof(e));
				if (e.flags & ~VIRTQ_DESC_F_WRITE) {
					queue_bad(q, qi, "flags 0x%x in an indirect table", e.flags);
					return -1;
				}
				if (add_seg(q, qi, segs, &n, e.addr, e.len,
					    e.flags & VIRTQ_DESC_F_WRITE, &seen_write))
					return -1;
			}
		} else if (add_seg(q, qi, segs, &n, d.addr, d.len,
				   d.flags & VIRTQ_DESC_F_WRITE, &seen_write)) {
			return -1;
		}
		/* The buffer id is the last descriptor's (2.8.6). */
		*id = d.id;
		if (++pos == q->num) {
			pos = 0;
			wrap = !wrap;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
	}
	q->avail_pos = pos;
	q->avail_wrap = wrap;
	*nsegs = n;
	*ndescs = count;
	return 1;
}

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
static void copy_out(const struct seg *s, unsigned int n, uint64_t off,
		     void *dst, size_t len)
{
	for (unsigned int i = 0; i < n && len; i++) {
		if (s[i].write)
			break;
		if (off >= s[i].len) {
			off -= s[i].len;
			continue;
		}
		size_t c = s[i].len - off < len ? s[i].len - off : len;

		memcpy(dst, s[i].p + off, c);
		dst = (uint8_t *)dst + c;
		len -= c;
		off = 0;
	}
}

/*
 * iovecs over [off, off+len) of the readable (@write false) or writable
 * part; returns how many.
 */
static int make_iov(const struct seg *s, unsigned int n, bool write,
		    uint64_t off, uint64_t len, struct iovec *iov)
{
	int k = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		if (s[i].write != write)
			continue;
		if (off >= s[i].len) {
			off -= s[i].len;
			continue;
		}
		uint64_t c = s[i].len - off < len ? s[i].len - off : len;

		iov[k].iov_base = s[i].p + off;
		iov[k].iov_len = c;
		k++;
		len -= c;
		off = 0;
	}
	return k;
}

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
		if (f->count && f->fired >= f->count)
			continue;
		if (f->seen++ < f->after)
			continue;
		f->fired++;
		return f;
	}
	return NULL;
}

/* Is @id made available and not yet taken (packed: scans ahead)? */
static bool pending_id(struct queue *q, uint16_t id)
{
	if (q->packed) {
		struct vring_packed_desc *ring = (struct vring_packed_desc *)q->desc;
		uint16_t pos = q->avail_pos;
		bool wrap = q->avail_wrap;

		for (unsigned int c = 0; c < q->num; c++) {
			if (!packed_avail(rd16(&ring[pos].flags), wrap))
				return false;
			if (ring[pos].id == id)
				return true;
			if (++pos == q->num) {
				pos = 0;
				wrap = !wrap;
			}
		}
		return false;
	}
	for (uint16_t a = q->last_avail, end = rd16(q->avail + 1); a != end; a++)
		if (rd16(q->avail + 2 + a % q->num) == id)
			return true;
	return false;
}

/* An id the driver never made available and does not wait for. */
static uint16_t stale_id(struct queue *q, uint16_t head)
{
	for (unsigned int c = 1; c < q->num; c++) {
		uint16_t cand = (head + c) % q->num;

		if (!pending_id(q, cand))
			return cand;
	}
	return head;
}

/*
 * The split ring's next buffer: 1 with its segments and head, 0 if none
 * is available (with EVENT_IDX, a kick asked for first), -1 if the driver
 * broke a rule.
 */
static int next_split(struct queue *q, unsigned int qi, struct seg *segs,
		      unsigned int *n, uint16_t *head)
{
	for (;;) {
		uint16_t avail_idx = rd16(q->avail + 1);

		if (avail_idx == q->last_avail) {
			if (!has(acked, VIRTIO_RING_F_EVENT_IDX))
				return 0;
			/* Ask for a kick at the next buffer, then look again. */
			__atomic_store_n((uint16_t *)(q->used + 4 + 8 * q->num),
					 q->last_avail, __ATOMIC_RELEASE);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (rd16(q->avail + 1) == q->last_avail)
				return 0;
			continue;
		}
		if ((uint16_t)(avail_idx - q->last_avail) > q->num) {
			queue_bad(q, qi, "avail idx %u is %u ahead of %u, beyond the ring size %u",
				  avail_idx, (uint16_t)(avail_idx - q->last_avail),
				  q->last_avail, q->num);
			return -1;
		}
		*head = rd16(q->avail + 2 + q->last_avail % q->num);
		q->last_avail++;
		return walk_chain(q, qi, *head, segs, n) ? -1 : 1;
	}
}

static void hang_up(const char *why);
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

/* --- the vhost-user connection --- */

/* Maps @q's rings (sizes by layout); false if they lie outside the table. */
static bool queue_map(struct queue *q)
{
	q->packed = has(acked, VIRTIO_F_RING_PACKED);
	q->desc = uva_ptr(q->desc_uva, 16ull * q->num);
	/* Packed: the two event structures, 4 bytes each (2.8.10). */
	q->avail = uva_ptr(q->avail_uva, q->packed ? 4 : 6 + 2ull * q->num);
	q->used = uva_ptr(q->used_uva, q->packed ? 4 : 6 + 8ull * q->num);
	if (q->desc && q->avail && q->used)
		return true;
	q->desc = NULL;
	return false;
}

static void queue_reset(struct queue *q)
{
	if (q->kick >= 0)
		close(q->kick);
	if (q->call >= 0)
		close(q->call);
	memset(q, 0, sizeof(*q));
	q->kick = q->call = -1;
	/*
	 * Enabled unless SET_VRING_ENABLE says otherwise: QEMU 7.2 does not
	 * send it to every kind of vhost-user device.
	 */
	q->enabled = true;
}

static void hang_up(const char *why)
{
	say("closing the connection: %s", why);
	if (conn_fd >= 0)
		close(conn_fd);
	conn_fd = -1;
	if (slave_fd >= 0)
		close(slave_fd);
	slave_fd = -1;
	for (unsigned int i = 0; i < MAX_QUEUES; i++)
		queue_reset(&queues[i]);
	unmap_all();
	acked = proto_acked = 0;
	if (want_reconnect)
		reconnect_deadline = time(NULL) + 30;
}

static void reply(struct vu_msg *m, size_t size)
{
	m->h.flags = VU_VERSION | VU_FLAG_REPLY;
	m->h.size = size;
	if (conn_fd >= 0 && send(conn_fd, m, sizeof(m->h) + size, MSG_NOSIGNAL) < 0)
		say("reply: %s", strerror(errno));
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static bool map_table(struct vu_msg *m, int *fds, int nfds)
{
	unsigned int n = m->p.mem.nregions;

	unmap_all();
	if (n > VU_MAX_REGIONS || (int)n != nfds ||
	    m->h.size < 8 + n * sizeof(struct vu_region)) {
		say("front-end error: memory table of %u regions with %d fds", n, nfds);
		return false;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct vu_region r = m->p.mem.r[i], *v = &r;
		size_t len = v->size + v->mmap_offset;
		void *p;

		if (!v->size || len < v->size) {
			say("front-end error: region %u of %" PRIu64 " bytes", i, v->size);
			return false;
		}
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		if (p == MAP_FAILED) {
			say("mmap region %u (%zu bytes): %s", i, len, strerror(errno));
			return false;
		}
		regions[nregions++] = (struct region){
			.gpa = v->gpa, .size = v->size, .uva = v->uva,
			.base = (uint8_t *)p + v->mmap_offset, .map = p, .map_len = len,
		};
	}
	/* Rings set up before a new table now point elsewhere. */
	for (unsigned int i = 0; i < MAX_QUEUES; i++) {
		struct queue *q = &queues[i];

		if (q->desc_uva)
			queue_map(q);
	}
	return true;
}

static struct queue *msg_queue(struct vu_msg *m, uint32_t index)
{
	if (index >= nqueues || index >= MAX_QUEUES) {
		say("front-end error: request %u for queue %u of %u", m->h.request,
		    index, nqueues);
		return NULL;
	}
	return &queues[index];
}

/* One message; false: close the connection. */
static bool handle(struct vu_msg *m, int *fds, int nfds)
{
	bool ok = true, replied = false;
	struct queue *q;
	uint32_t idx;

	switch (m->h.request) {
	case VU_GET_FEATURES:
		m->p.u64 = offered;
		reply(m, 8);
		replied = true;
		break;
	case VU_SET_FEATURES:
		acked = m->p.u64;
		if (acked & ~offered)
			say("front-end error: features 0x%" PRIx64 " not offered",
			    acked & ~offered);
		break;
	case VU_GET_PROTOCOL_FEATURES:
		m->p.u64 = 1ull << VU_PROTO_MQ | 1ull << VU_PROTO_REPLY_ACK |
			   1ull << VU_PROTO_SLAVE_REQ | 1ull << VU_PROTO_CONFIG;
		reply(m, 8);
		replied = true;
		break;
	case VU_SET_PROTOCOL_FEATURES:
		proto_acked = m->p.u64;
		break;
	case VU_GET_QUEUE_NUM:
		m->p.u64 = nqueues;
		reply(m, 8);
		replied = true;
		break;
	case VU_SET_OWNER:
	case VU_RESET_OWNER:
	case VU_SET_CONFIG:	/* writeback is not writable: no CONFIG_WCE */
		break;
	case VU_SET_MEM_TABLE:
		ok = map_table(m, fds, nfds);
		break;
	case VU_SET_VRING_NUM:
		q = msg_queue(m, m->p.state.index);
		if (!q || !m->p.state.num || m->p.state.num > MAX_QUEUE_SIZE ||
		    (m->p.state.num & (m->p.state.num - 1))) {
			ok = false;
			break;
		}
		q->num = m->p.state.num;
		break;
	case VU_SET_VRING_ADDR:
		q = msg_queue(m, m->p.addr.index);
		if (!q || !q->num) {
			ok = false;
			break;
		}
		q->desc_uva = m->p.addr.desc;
		q->avail_uva = m->p.addr.avail;
		q->used_uva = m->p.addr.used;
		if (!queue_map(q)) {
			say("front-end error: queue %u rings outside the memory table",
			    m->p.addr.index);
			ok = false;
			break;
		}
		if (!q->packed)
			q->used_idx = rd16(q->used + 2);
		q->signalled_valid = false;
		break;
	case VU_SET_VRING_BASE:
		q = msg_queue(m, m->p.state.index);
		if (!q) {
			ok = false;
			break;
		}
		/*
		 * Packed: the next available and the next used position, each
		 * with its wrap counter in bit 15, in the low and high halves.
		 */
		q->last_avail = m->p.state.num;
		q->avail_pos = m->p.state.num & 0x7fff;
		q->avail_wrap = m->p.state.num >> 15 & 1;
		q->used_pos = m->p.state.num >> 16 & 0x7fff;
		q->used_wrap = m->p.state.num >> 31;
		break;
	case VU_GET_VRING_BASE:
		q = msg_queue(m, m->p.state.index);
		if (!q) {
			ok = false;
			break;
		}
		q->started = false;
		q->stalled = false;
		q->broken = false;
		if (q->packed)
			m->p.state.num = (uint32_t)q->avail_pos | (uint32_t)q->avail_wrap << 15 |
					 (uint32_t)q->used_pos << 16 | (uint32_t)q->used_wrap << 31;
		else
			m->p.state.num = q->last_avail;
		reply(m, 8);
		replied = true;
		if (q->kick >= 0)
			close(q->kick);
		q->kick = -1;
		break;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR: {
		int fd = -1;

		idx = m->p.u64 & 0xff;
		if (!(m->p.u64 & VU_VRING_NOFD)) {
			if (nfds != 1) {
				ok = false;
				break;
			}
			fd = fds[0];
			fds[0] = -1;
		}
		q = msg_queue(m, idx);
		if (!q) {
			if (fd >= 0)
				close(fd);
			ok = false;
			break;
		}
		if (m->h.request == VU_SET_VRING_ERR) {
			if (fd >= 0)
				close(fd);
		} else if (m->h.request == VU_SET_VRING_CALL) {
			if (q->call >= 0)
				close(q->call);
			q->call = fd;
		} else {
			if (q->kick >= 0)
				close(q->kick);
			q->kick = fd;
			q->started = true;
			process(idx);
		}
		break;
	}
	case VU_SET_VRING_ENABLE:
		q = msg_queue(m, m->p.state.index);
		if (!q) {
			ok = false;
			break;
		}
		q->enabled = m->p.state.num;
		if (q->enabled)
			process(m->p.state.index);
		break;
	case VU_SET_SLAVE_REQ_FD:
		if (nfds != 1) {
			ok = false;
			break;
		}
		if (slave_fd >= 0)
			close(slave_fd);
		slave_fd = fds[0];
		fds[0] = -1;
		break;
	case VU_GET_CONFIG: {
		uint32_t off = m->p.config.offset, size = m->p.config.size;

		build_config();
		if (off > VU_CONFIG_MAX || size > VU_CONFIG_MAX - off) {
			reply(m, 12);	/* a zero-length payload is an error */
		} else {
			memcpy(m->p.config.data, config + off, size);
			reply(m, 12 + size);
		}
		replied = true;
		/* The next change once QEMU has read this one (paced: later). */
		if (storm_left) {
			storm_pending = true;
			storm_next = now_ms() + storm_every;
		}
		break;
	}
	default:
		say("front-end request %u not supported", m->h.request);
		ok = m->h.flags & VU_FLAG_NEED_REPLY;
		break;
	}
	if (ok && (m->h.flags & VU_FLAG_NEED_REPLY) && !replied &&
	    has(proto_acked, VU_PROTO_REPLY_ACK)) {
		m->p.u64 = 0;
		reply(m, 8);
	}
	close_fds(fds, nfds);
	return ok;
}

/* Reads one message; false on EOF or a malformed one. */
static bool receive(void)
{
	static struct vu_msg m;
	union {
		char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { &m, sizeof(m.h) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	int fds[VU_MAX_FDS], nfds = 0;
	ssize_t got;

	got = recvmsg(conn_fd, &mh, MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (int i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (nfds < VU_MAX_FDS)
					fds[nfds++] = fd;
				else
					close(fd);
			}
		}
	if (got == 0) {
		close_fds(fds, nfds);
		hang_up("QEMU closed it");
		return false;
	}
	if (got != sizeof(m.h) || (m.h.flags & 3) != VU_VERSION ||
	    m.h.size > sizeof(m.p)) {
		close_fds(fds, nfds);
		hang_up(got < 0 ? strerror(errno) : "malformed message header");
		return false;
	}
	memset(&m.p, 0, sizeof(m.p));
	if (m.h.size) {
		size_t off = 0;

		while (off < m.h.size) {
			got = recv(conn_fd, m.p.raw + off, m.h.size - off, 0);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				close_fds(fds, nfds);
				hang_up("short message");
				return false;
			}
			off += got;
		}
	}
	if (!handle(&m, fds, nfds)) {
		hang_up("bad request from the front-end");
		return false;
	}
	return true;
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
	*f = (struct rule){ .queue = -1, .type = -1, .sector = -1, .count = 1 };
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
		else if (!strcmp(tok, "after"))
			f->after = strtoul(v, &end, 0);
		else if (!strcmp(tok, "count"))
			f->count = strtoul(v, &end, 0);
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
		} else {
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

static void parse_script(const char *path)
{
	char line[256];
	FILE *fp = fopen(path, "r");

	if (!fp)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\r\n")] = 0;
		parse_rule(line);
	}
	fclose(fp);
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

static void on_signal(int sig)
{
	(void)sig;
	if (sock_path)
		unlink(sock_path);
	_exit(1);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long timeout = 900;
	struct stat st;

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
			parse_script(v);
		else if (!strcmp(a, "--timeout"))
			timeout = strtol(v, NULL, 0);
		else
			usage();
		i++;
	}
	if (!sock_path || !disk_path || !nqueues || nqueues > MAX_QUEUES || timeout <= 0)
		usage();
	if (strlen(sock_path) >= sizeof(sa.sun_path))
		die("socket path too long");
	disk_fd = open(disk_path, O_RDWR | O_CLOEXEC);
	if (disk_fd < 0 || fstat(disk_fd, &st))
		die("%s: %s", disk_path, strerror(errno));
	disk_sectors = st.st_size / 512;

	offered = 1ull << VIRTIO_BLK_F_SIZE_MAX | 1ull << VIRTIO_BLK_F_SEG_MAX |
		  1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH |
		  1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_RING_F_EVENT_IDX |
		  1ull << VHOST_USER_F_PROTOCOL_FEATURES | 1ull << VIRTIO_F_VERSION_1 |
		  1ull << VIRTIO_F_RING_PACKED;
	if (nqueues > 1)
		offered |= 1ull << VIRTIO_BLK_F_MQ;
	for (unsigned int i = 0; i < MAX_QUEUES; i++)
		queue_reset(&queues[i]);

	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	unlink(sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listen_fd, 1))
		die("%s: %s", sock_path, strerror(errno));
	deadline = time(NULL) + timeout;
	say("listening on %s: %s, %" PRIu64 " sectors, %u queue(s), %d rule(s)",
	    sock_path, disk_path, disk_sectors, nqueues, nrules);

	for (bool served = false;;) {
		struct pollfd p[1 + MAX_QUEUES];
		unsigned int np = 0, qmap[MAX_QUEUES];
		time_t now = time(NULL);

		if (now >= deadline) {
			say("time bound of %ld s reached; exiting", timeout);
			break;
		}
		if (conn_fd < 0 && served && !want_reconnect) {
			say("QEMU went away; exiting");
			break;
		}
		if (conn_fd < 0 && want_reconnect && now >= reconnect_deadline) {
			say("QEMU did not come back within 30 s; exiting");
			break;
		}
		if (conn_fd < 0) {
			p[np++] = (struct pollfd){ listen_fd, POLLIN, 0 };
		} else {
			p[np++] = (struct pollfd){ conn_fd, POLLIN, 0 };
			for (unsigned int i = 0; i < nqueues; i++)
				if (queues[i].kick >= 0) {
					qmap[np - 1] = i;
					p[np++] = (struct pollfd){ queues[i].kick, POLLIN, 0 };
				}
		}
		int wait = 1000;

		if (storm_pending) {
			uint64_t t = now_ms();

			if (t >= storm_next)
				storm_step();
			else if (storm_next - t < (uint64_t)wait)
				wait = storm_next - t;
		}
		if (poll(p, np, storm_pending ? wait : 1000) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (conn_fd < 0) {
			if (p[0].revents & POLLIN) {
				conn_fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
				if (conn_fd >= 0) {
					/* A message half sent must not hold us past the bound. */
					struct timeval tv = { .tv_sec = 5 };
					int fd = conn_fd;

					setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
					setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
					say("QEMU connected");
					served = true;
					want_reconnect = false;
				}
			}
			continue;
		}
		for (unsigned int k = 1; k < np && conn_fd >= 0; k++) {
			uint64_t v;

			if (!(p[k].revents & POLLIN))
				continue;
			if (read(p[k].fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				say("kick eventfd: %s", strerror(errno));
			process(qmap[k - 1]);
		}
		if (conn_fd >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			receive();
	}
	unlink(sock_path);
	return 0;
}
