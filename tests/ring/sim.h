/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A simulated virtio device: reads a vireo queue's rings the way a device
 * does (virtio 1.2, 2.7 split and 2.8 packed), written from the
 * specification independently of the driver side. Every address it is
 * given goes through shim_dev_access(), so it never touches memory the
 * driver did not hand it, even when the rings were scribbled on.
 */
#ifndef _VIREO_SIM_H
#define _VIREO_SIM_H

#include <stdbool.h>
#include <stdint.h>

struct vireo_vq;

#define SIM_MAX_SEGS	64

struct sim_seg {
	uint8_t *ptr;
	uint32_t len;
	bool write;
};

struct sim_elem {
	uint16_t id;		/* split: head index; packed: buffer id */
	uint16_t ndescs;	/* packed: ring descriptors the buffer took */
	bool indirect;
	unsigned int nseg;
	struct sim_seg seg[SIM_MAX_SEGS];
	uint32_t in_len;	/* device-writable bytes */
	uint32_t out_len;
};

struct sim_dev {
	bool packed, event_idx, indirect, dma;
	unsigned int num;
	void *desc, *driver, *device;

	/* split */
	uint16_t last_avail;
	uint16_t used_idx;
	/* packed: next slot to read, next slot to write, wrap counters */
	uint16_t avail_pos, used_pos;
	bool avail_wrap, used_wrap;

	/* Used buffer notification state since the last sim_flush(). */
	uint16_t flushed_used;		/* split used idx at the last flush */
	unsigned int pushed;		/* buffers (split) / descriptors (packed) */
	unsigned int irqs;		/* notifications sent */

	/* Packed: where the last notification data said the driver was. */
	uint16_t notif_pos;
	bool notif_wrap;
	/* Packed: leave VIRTQ_DESC_F_WRITE out of used descriptors (QEMU). */
	bool no_write_flag;
	/* Why the last sim_pop() failed, if it did. */
	const char *error;
};

void sim_init(struct sim_dev *d, struct vireo_vq *vq, uint64_t features);

/* 1: a buffer was taken, 0: none available, -1: the driver's ring is bad. */
int sim_pop(struct sim_dev *d, struct sim_elem *e);
/* Checks a kick's VIRTIO_F_NOTIFICATION_DATA value; 0 or -1 (d->error). */
int sim_check_notify_data(struct sim_dev *d, uint32_t data, unsigned int index);
/* Marks @e used with @len bytes written (no notification decision). */
void sim_push(struct sim_dev *d, const struct sim_elem *e, uint32_t len);
/* Whether the device must notify for what was pushed since the last flush. */
bool sim_flush(struct sim_dev *d);

/* Fills the writable segments with a pattern; returns bytes written up to @max. */
uint32_t sim_fill(const struct sim_elem *e, uint8_t seed, uint32_t max);

/* Available buffer notification suppression, the device's side. */
void sim_split_set_no_notify(struct sim_dev *d, bool on);
void sim_split_set_avail_event(struct sim_dev *d, uint16_t idx);
void sim_packed_set_event(struct sim_dev *d, uint16_t flags, uint16_t off,
			  bool wrap);

/* Raw ring access for hostile tests. */
struct sim_split_used_elem {
	uint32_t id;
	uint32_t len;
};
void sim_split_write_used(struct sim_dev *d, uint16_t at, uint32_t id,
			  uint32_t len);
void sim_split_set_used_idx(struct sim_dev *d, uint16_t idx);
void sim_packed_write_desc(struct sim_dev *d, uint16_t slot, uint16_t id,
			   uint32_t len, uint16_t flags);
uint16_t sim_packed_flags(struct sim_dev *d, uint16_t slot);

/* The driver's event fields as the device reads them. */
uint16_t sim_split_used_event(struct sim_dev *d);
uint16_t sim_split_avail_flags(struct sim_dev *d);
uint16_t sim_packed_driver_flags(struct sim_dev *d);
uint16_t sim_packed_driver_off_wrap(struct sim_dev *d);

#endif /* _VIREO_SIM_H */
