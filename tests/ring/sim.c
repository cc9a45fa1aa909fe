// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated device. Layouts are restated here from the specification
 * (virtio 1.2, 2.7.5-2.7.8 and 2.8.13-2.8.14) rather than taken from the
 * driver's header, so a layout mistake on one side shows.
 */
#include <vireo/virtio.h>

#include "sim.h"

struct s_desc {			/* split descriptor */
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct s_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct s_used {
	uint16_t flags;
	uint16_t idx;
	struct sim_split_used_elem ring[];
};

struct p_desc {			/* packed descriptor */
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

struct p_event {
	uint16_t off_wrap;
	uint16_t flags;
};

#define F_NEXT		1
#define F_WRITE		2
#define F_INDIRECT	4
#define F_AVAIL		(1 << 7)
#define F_USED		(1 << 15)

#define V16(x)		(*(volatile uint16_t *)&(x))
#define V32(x)		(*(volatile uint32_t *)&(x))

static bool need_event(uint16_t event, uint16_t new, uint16_t old)
{
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

static void *must_access(uint64_t addr, size_t len, bool dma, size_t align)
{
	void *p = shim_dev_access(addr, len, true, dma);

	if (!p || addr % align) {
		fprintf(stderr, "sim: ring area %#llx+%zu not usable (align %zu)\n",
			(unsigned long long)addr, len, align);
		abort();
	}
	return p;
}

void sim_init(struct sim_dev *d, struct vireo_vq *vq, uint64_t features)
{
	unsigned int n = vireo_vq_size(vq);

	memset(d, 0, sizeof(*d));
	d->num = n;
	d->packed = features & BIT_ULL(VIRTIO_F_RING_PACKED);
	d->event_idx = features & BIT_ULL(VIRTIO_RING_F_EVENT_IDX);
	d->indirect = features & BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC);
	d->dma = features & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);
	/* virtio 1.2, 2.7 and 2.8.10.1: sizes and alignments of the parts. */
	d->desc = must_access(vireo_vq_desc_addr(vq), 16 * n, d->dma, 16);
	if (d->packed) {
		d->driver = must_access(vireo_vq_driver_addr(vq), 4, d->dma, 4);
		d->device = must_access(vireo_vq_device_addr(vq), 4, d->dma, 4);
	} else {
		d->driver = must_access(vireo_vq_driver_addr(vq), 6 + 2 * n, d->dma, 2);
		d->device = must_access(vireo_vq_device_addr(vq), 6 + 8 * n, d->dma, 4);
	}
	d->avail_wrap = true;
	d->used_wrap = true;
	d->notif_wrap = true;
}

static int bad(struct sim_dev *d, const char *why)
{
	d->error = why;
	return -1;
}

/*
 * VIRTIO_F_NOTIFICATION_DATA (virtio 1.2, 2.9): the value of a kick must
 * name this queue and say exactly where the driver will put its next
 * buffer. Split: the avail idx in ring memory. Packed: the first slot not
 * made available in the current lap, found by walking from where the last
 * kick said (a slot the driver made available, used since or not, has
 * AVAIL equal to the lap's wrap counter).
 */
int sim_check_notify_data(struct sim_dev *d, uint32_t data, unsigned int index)
{
	uint16_t vqn = data & 0xffff, next = data >> 16;
	unsigned int n;

	if (vqn != index)
		return bad(d, "notification data names another queue");
	if (!d->packed) {
		struct s_avail *avail = d->driver;

		if (next != V16(avail->idx))
			return bad(d, "notification data is not the avail idx");
		return 0;
	}
	for (n = 0; n < d->num; n++) {
		struct p_desc *desc = d->desc;
		uint16_t flags = V16(desc[d->notif_pos].flags);

		if (!!(flags & F_AVAIL) != d->notif_wrap)
			break;
		if (++d->notif_pos == d->num) {
			d->notif_pos = 0;
			d->notif_wrap = !d->notif_wrap;
		}
	}
	if ((next & 0x7fff) != d->notif_pos ||
	    !!(next & 0x8000) != d->notif_wrap)
		return bad(d, "notification data is not the next slot and wrap");
	return 0;
}

static int add_seg(struct sim_dev *d, struct sim_elem *e, uint64_t addr,
		   uint32_t len, bool write)
{
	uint8_t *p;

	if (e->nseg == SIM_MAX_SEGS)
		return bad(d, "too many segments");
	/* virtio 1.2, 2.7.4.2: readable elements come first. */
	if (!write && e->in_len)
		return bad(d, "readable after writable");
	p = shim_dev_access(addr, len, write, d->dma);
	if (!p && len)
		return bad(d, "buffer address not handed to the device");
	e->seg[e->nseg].ptr = p;
	e->seg[e->nseg].len = len;
	e->seg[e->nseg].write = write;
	e->nseg++;
	if (write)
		e->in_len += len;
	else
		e->out_len += len;
	return 0;
}

/* ---- split -------------------------------------------------------------- */

static int split_indirect(struct sim_dev *d, struct sim_elem *e,
			  const struct s_desc *id)
{
	const struct s_desc *t;
	unsigned int n, i, count = 0;

	if (id->len % 16 || !id->len)
		return bad(d, "indirect table length");
	n = id->len / 16;
	t = shim_dev_access(id->addr, id->len, false, d->dma);
	if (!t)
		return bad(d, "indirect table address");
	e->indirect = true;
	for (i = 0;;) {
		if (i >= n || ++count > n)
			return bad(d, "indirect chain out of table or looping");
		if (t[i].flags & F_INDIRECT)
			return bad(d, "nested indirect");
		if (add_seg(d, e, t[i].addr, t[i].len, t[i].flags & F_WRITE))
			return -1;
		if (!(t[i].flags & F_NEXT))
			return 0;
		i = t[i].next;
	}
}

static int split_pop(struct sim_dev *d, struct sim_elem *e)
{
	struct s_avail *avail = d->driver;
	struct s_desc *desc = d->desc;
	uint16_t idx = V16(avail->idx), head, i;
	unsigned int count = 0;

	if (idx == d->last_avail)
		return 0;
	if ((uint16_t)(idx - d->last_avail) > d->num)
		return bad(d, "avail idx ran ahead");
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = V16(avail->ring[d->last_avail % d->num]);
	d->last_avail++;
	if (head >= d->num)
		return bad(d, "avail head out of range");
	e->id = head;
	e->ndescs = 0;
	for (i = head;;) {
		struct s_desc dd = desc[i];

		if (++count > d->num)
			return bad(d, "chain loops");
		e->ndescs++;
		if (dd.flags & F_INDIRECT) {
			/* virtio 1.2, 2.7.5.3.1 */
			if (!d->indirect || (dd.flags & F_NEXT))
				return bad(d, "INDIRECT not allowed here");
			return split_indirect(d, e, &dd) ? -1 : 1;
		}
		if (add_seg(d, e, dd.addr, dd.len, dd.flags & F_WRITE))
			return -1;
		if (!(dd.flags & F_NEXT))
			return 1;
		i = dd.next;
		if (i >= d->num)
			return bad(d, "next out of range");
	}
}

static void split_push(struct sim_dev *d, const struct sim_elem *e,
		       uint32_t len)
{
	struct s_used *used = d->device;

	sim_split_write_used(d, d->used_idx, e->id, len);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	d->used_idx++;
	V16(used->idx) = d->used_idx;
	d->pushed++;
}

/* ---- packed ------------------------------------------------------------- */

static bool is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & F_AVAIL) == wrap && !!(flags & F_USED) != wrap;
}

static int packed_pop(struct sim_dev *d, struct sim_elem *e)
{
	struct p_desc *desc = d->desc;
	uint16_t pos = d->avail_pos;
	bool wrap = d->avail_wrap;
	unsigned int n = 0;

	if (!is_avail(V16(desc[pos].flags), wrap))
		return 0;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	for (;;) {
		struct p_desc dd = desc[pos];

		if (!is_avail(dd.flags, wrap))
			return bad(d, "chain member not available");
		if (++n > d->num)
			return bad(d, "chain longer than the ring");
		if (dd.flags & F_INDIRECT) {
			const struct p_desc *t;
			unsigned int i;

			if (!d->indirect || (dd.flags & F_NEXT) || n > 1)
				return bad(d, "INDIRECT not allowed here");
			if (dd.len % 16 || !dd.len)
				return bad(d, "indirect table length");
			t = shim_dev_access(dd.addr, dd.len, false, d->dma);
			if (!t)
				return bad(d, "indirect table address");
			e->indirect = true;
			for (i = 0; i < dd.len / 16; i++) {
				/* virtio 1.2, 2.8.19: WRITE is the only flag. */
				if (t[i].flags & ~F_WRITE)
					return bad(d, "flags in indirect table");
				if (add_seg(d, e, t[i].addr, t[i].len,
					    t[i].flags & F_WRITE))
					return -1;
			}
		} else if (add_seg(d, e, dd.addr, dd.len, dd.flags & F_WRITE)) {
			return -1;
		}
		e->id = dd.id;	/* virtio 1.2, 2.8.6: the last one's counts */
		if (++pos == d->num) {
			pos = 0;
			wrap = !wrap;
		}
		if (!(dd.flags & F_NEXT))
			break;
	}
	e->ndescs = n;
	d->avail_pos = pos;
	d->avail_wrap = wrap;
	return 1;
}

static void packed_push(struct sim_dev *d, const struct sim_elem *e,
			uint32_t len)
{
	uint16_t flags = d->used_wrap ? (F_AVAIL | F_USED) : 0;

	if (len && !d->no_write_flag)
		flags |= F_WRITE;
	sim_packed_write_desc(d, d->used_pos, e->id, len, flags);
	d->used_pos += e->ndescs;
	if (d->used_pos >= d->num) {
		d->used_pos -= d->num;
		d->used_wrap = !d->used_wrap;
	}
	d->pushed += e->ndescs;
}

/* ---- common ------------------------------------------------------------- */

int sim_pop(struct sim_dev *d, struct sim_elem *e)
{
	memset(e, 0, sizeof(*e));
	d->error = NULL;
	return d->packed ? packed_pop(d, e) : split_pop(d, e);
}

void sim_push(struct sim_dev *d, const struct sim_elem *e, uint32_t len)
{
	if (d->packed)
		packed_push(d, e, len);
	else
		split_push(d, e, len);
}

bool sim_flush(struct sim_dev *d)
{
	bool need;

	if (!d->pushed)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (d->packed) {
		struct p_event *ev = d->driver;
		uint16_t flags = V16(ev->flags) & 3;

		if (flags == 2 && d->event_idx) {
			uint16_t ow = V16(ev->off_wrap);
			uint16_t off = ow & 0x7fff;

			if (!!(ow & 0x8000) != d->used_wrap)
				off -= d->num;
			need = need_event(off, d->used_pos,
					  d->used_pos - d->pushed);
		} else {
			need = flags != 1;
		}
	} else if (d->event_idx) {
		need = need_event(sim_split_used_event(d), d->used_idx,
				  d->flushed_used);
	} else {
		need = !(sim_split_avail_flags(d) & 1);
	}
	d->pushed = 0;
	d->flushed_used = d->used_idx;
	if (need)
		d->irqs++;
	return need;
}

uint32_t sim_fill(const struct sim_elem *e, uint8_t seed, uint32_t max)
{
	uint32_t done = 0, i;
	unsigned int s;

	for (s = 0; s < e->nseg && done < max; s++) {
		if (!e->seg[s].write)
			continue;
		for (i = 0; i < e->seg[s].len && done < max; i++, done++)
			e->seg[s].ptr[i] = (uint8_t)(seed + done);
	}
	return done;
}

void sim_split_set_no_notify(struct sim_dev *d, bool on)
{
	struct s_used *used = d->device;

	V16(used->flags) = on ? 1 : 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void sim_split_set_avail_event(struct sim_dev *d, uint16_t idx)
{
	struct s_used *used = d->device;

	V16(*(uint16_t *)&used->ring[d->num]) = idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void sim_packed_set_event(struct sim_dev *d, uint16_t flags, uint16_t off,
			  bool wrap)
{
	struct p_event *ev = d->device;

	V16(ev->off_wrap) = off | (wrap ? 0x8000 : 0);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	V16(ev->flags) = flags;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void sim_split_write_used(struct sim_dev *d, uint16_t at, uint32_t id,
			  uint32_t len)
{
	struct s_used *used = d->device;

	V32(used->ring[at % d->num].id) = id;
	V32(used->ring[at % d->num].len) = len;
}

void sim_split_set_used_idx(struct sim_dev *d, uint16_t idx)
{
	struct s_used *used = d->device;

	__atomic_thread_fence(__ATOMIC_RELEASE);
	V16(used->idx) = idx;
}

void sim_packed_write_desc(struct sim_dev *d, uint16_t slot, uint16_t id,
			   uint32_t len, uint16_t flags)
{
	struct p_desc *desc = d->desc;

	slot %= d->num;
	V16(desc[slot].id) = id;
	V32(desc[slot].len) = len;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	V16(desc[slot].flags) = flags;
}

uint16_t sim_packed_flags(struct sim_dev *d, uint16_t slot)
{
	struct p_desc *desc = d->desc;

	return V16(desc[slot % d->num].flags);
}

uint16_t sim_split_used_event(struct sim_dev *d)
{
	struct s_avail *avail = d->driver;

	return V16(avail->ring[d->num]);
}

uint16_t sim_split_avail_flags(struct sim_dev *d)
{
	struct s_avail *avail = d->driver;

	return V16(avail->flags);
}

uint16_t sim_packed_driver_flags(struct sim_dev *d)
{
	return V16(((struct p_event *)d->driver)->flags);
}

uint16_t sim_packed_driver_off_wrap(struct sim_dev *d)
{
	return V16(((struct p_event *)d->driver)->off_wrap);
}
