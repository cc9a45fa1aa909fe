/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vhost-user back-end side shared by the hostile devices (hostile-blk,
 * hostile-fs): the protocol with QEMU, the guest's memory table, the split
 * and packed rings (every chain the driver makes available checked), the
 * used ring and notifications, one poll loop. A device supplies what its
 * type needs through struct vu_backend. See docs/hostile.md.
 */
#ifndef HOSTILE_VHOST_USER_H
#define HOSTILE_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* --- virtio and vhost-user constants (virtio 1.2; QEMU docs/interop) --- */

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
struct seg {
	uint8_t *p;
	uint32_t len;
	bool write;
};

/* --- shared state (one device per process) --- */

extern const char *vu_prog;		/* die()'s prefix */
extern char vu_name[96];		/* say()'s prefix */
extern struct queue queues[MAX_QUEUES];
extern unsigned int nqueues;		/* what GET_QUEUE_NUM reports */
extern uint64_t acked, proto_acked;	/* features QEMU set */
extern int slave_fd;			/* the back-end channel, or -1 */
extern bool want_reconnect;		/* keep listening after a hang-up */

/* What a device type adds to the common back-end. */
struct vu_backend {
	uint64_t features;		/* GET_FEATURES */
	uint64_t protocol_features;	/* GET_PROTOCOL_FEATURES */
	/* Serve what queue @qi has available (a kick, or the queue started). */
	void (*process)(unsigned int qi);
	/*
	 * GET_CONFIG of @size bytes at @off into @data; false: answer with
	 * an empty payload (an error). NULL: every GET_CONFIG is an error.
	 */
	bool (*get_config)(uint32_t off, uint32_t size, uint8_t *data);
	/* Before each poll: milliseconds to wait at most, or -1 (1000). */
	int (*timer)(void);
};

uint64_t now_ms(void);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

void *gpa_ptr(uint64_t gpa, uint64_t len);
uint16_t rd16(const void *p);
bool has(uint64_t features, int bit);
void queue_bad(struct queue *q, unsigned int qi, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The next buffer a queue has available: 1 with its segments and head
 * (packed: buffer id and the descriptors it took), 0 if none, -1 (queue
 * marked broken, one "driver error" line) if the driver broke a rule.
 */
int next_split(struct queue *q, unsigned int qi, struct seg *segs,
	       unsigned int *n, uint16_t *head);
int walk_packed(struct queue *q, unsigned int qi, struct seg *segs,
		unsigned int *nsegs, uint16_t *id, unsigned int *ndescs);
/* An id the driver never made available and does not wait for. */
uint16_t stale_id(struct queue *q, uint16_t head);

void used_put(struct queue *q, uint32_t id, uint32_t len,
	      unsigned int ndescs, bool nonsense);
void used_publish(struct queue *q);
void notify(struct queue *q);

/* Copies @len bytes at byte @off of the readable part. */
void copy_out(const struct seg *s, unsigned int n, uint64_t off,
	      void *dst, size_t len);
/* iovecs over [off, off+len) of the readable or writable part. */
int make_iov(const struct seg *s, unsigned int n, bool write,
	     uint64_t off, uint64_t len, struct iovec *iov);

/*
 * When a fault rule fires: it lets @after matching requests pass, then
 * fires on the next @count of them (0: on every one from then on).
 * Script and --fault words "after=N" and "count=K" set it.
 */
struct vu_trigger {
	unsigned long after, count, seen, fired;
};

/* A request matched the rule's filters: does the fault fire on it? */
bool vu_trigger_fires(struct vu_trigger *t);
/*
 * Word @tok (value @v) of a rule, if it is after= or count=: true when it
 * was one of them, with *@end where the number's parse stopped.
 */
bool vu_trigger_word(struct vu_trigger *t, const char *tok, const char *v,
		     char **end);
/* Gives @rule each line of a script file (blank and '#' lines too). */
void vu_read_script(const char *path, void (*rule)(const char *line));

/* Closes the connection (and keeps listening if want_reconnect). */
void hang_up(const char *why);

/* Binds and listens on @path (removed again on exit and on SIGTERM). */
void vu_listen(const char *path);
/* Serves QEMU until it goes away or @timeout seconds passed. */
void vu_run(const struct vu_backend *b, long timeout);

#endif
