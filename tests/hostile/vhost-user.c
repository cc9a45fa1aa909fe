// SPDX-License-Identifier: GPL-2.0
/*
 * The vhost-user back-end common to the hostile devices (vhost-user.h):
 * QEMU's messages, the memory table, the rings, one poll loop.
 *
 * One thread: the vhost-user socket, one kick eventfd per queue, a time
 * bound. Everything the guest wrote (rings, descriptors) is read once into
 * local copies and checked; a driver that breaks the virtio rules gets one
 * "driver error" line and its queue is no longer served. The loop ends when
 * QEMU goes away (unless a disconnect rule waits for QEMU to come back) and
 * after the time bound in any case.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhost-user.h"

const char *vu_prog = "hostile";
char vu_name[96] = "hostile";
static const char *sock_path;
static int listen_fd = -1, conn_fd = -1;
int slave_fd = -1;
unsigned int nqueues = 1;
uint64_t acked, proto_acked;
static struct region regions[VU_MAX_REGIONS];
static unsigned int nregions;
struct queue queues[MAX_QUEUES];
static time_t deadline, reconnect_deadline;
bool want_reconnect;

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

void say(const char *fmt, ...)
{
	va_list ap;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "%s %ld.%03ld: ", vu_name, (long)ts.tv_sec,
		ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", vu_prog);
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
void *gpa_ptr(uint64_t gpa, uint64_t len)
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

uint16_t rd16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

bool has(uint64_t features, int bit)
{
	return features & (1ull << bit);
}

void queue_bad(struct queue *q, unsigned int qi, const char *fmt, ...)
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
void used_put(struct queue *q, uint32_t id, uint32_t len,
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

void used_publish(struct queue *q)
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
void notify(struct queue *q)
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
int walk_packed(struct queue *q, unsigned int qi, struct seg *segs,
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
void copy_out(const struct seg *s, unsigned int n, uint64_t off,
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
int make_iov(const struct seg *s, unsigned int n, bool write,
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
uint16_t stale_id(struct queue *q, uint16_t head)
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
int next_split(struct queue *q, unsigned int qi, struct seg *segs,
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

void hang_up(const char *why)
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
static const struct vu_backend *backend;

static bool handle(struct vu_msg *m, int *fds, int nfds)
{
	bool ok = true, replied = false;
	struct queue *q;
	uint32_t idx;

	switch (m->h.request) {
	case VU_GET_FEATURES:
		m->p.u64 = backend->features;
		reply(m, 8);
		replied = true;
		break;
	case VU_SET_FEATURES:
		acked = m->p.u64;
		if (acked & ~backend->features)
			say("front-end error: features 0x%" PRIx64 " not offered",
			    acked & ~backend->features);
		break;
	case VU_GET_PROTOCOL_FEATURES:
		m->p.u64 = backend->protocol_features;
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
			backend->process(idx);
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
			backend->process(m->p.state.index);
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
	case VU_GET_CONFIG:
		if (backend->get_config &&
		    backend->get_config(m->p.config.offset, m->p.config.size,
					m->p.config.data))
			reply(m, 12 + m->p.config.size);
		else
			reply(m, 12);	/* a zero-length payload is an error */
		replied = true;
		break;
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

static void on_signal(int sig)
{
	(void)sig;
	if (sock_path)
		unlink(sock_path);
	_exit(1);
}

void vu_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path too long");
	sock_path = path;
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
}

void vu_run(const struct vu_backend *b, long timeout)
{
	backend = b;
	deadline = time(NULL) + timeout;
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
		int wait = backend->timer ? backend->timer() : -1;

		if (poll(p, np, wait >= 0 && wait < 1000 ? wait : 1000) < 0) {
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
			backend->process(qmap[k - 1]);
		}
		if (conn_fd >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			receive();
	}
	unlink(sock_path);
}

/* --- fault rules --- */

bool vu_trigger_fires(struct vu_trigger *t)
{
	if (t->count && t->fired >= t->count)
		return false;
	if (t->seen++ < t->after)
		return false;
	t->fired++;
	return true;
}

bool vu_trigger_word(struct vu_trigger *t, const char *tok, const char *v,
		     char **end)
{
	if (!strcmp(tok, "after"))
		t->after = strtoul(v, end, 0);
	else if (!strcmp(tok, "count"))
		t->count = strtoul(v, end, 0);
	else
		return false;
	return true;
}

void vu_read_script(const char *path, void (*rule)(const char *line))
{
	char line[256];
	FILE *fp = fopen(path, "r");

	if (!fp)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\r\n")] = 0;
		rule(line);
	}
	fclose(fp);
}
