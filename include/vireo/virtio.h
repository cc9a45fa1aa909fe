/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vireo API.
 *
 * Device drivers (vireo_blk, vireo_rng, ...) see the first half of this file:
 * the vireo bus, config space access, feature tests and virtqueues.
 * Transports (vireo_transport) see the second half too: how to register a
 * device on the bus and how to create the rings behind its queues.
 *
 * Everything here is exported by vireo_ring.ko in the VIREO namespace; a
 * module using it says VIREO_IMPORT_NS().
 */
#ifndef _VIREO_VIRTIO_H
#define _VIREO_VIRTIO_H

#include <linux/device.h>
#include <linux/dma-direction.h>
#include <linux/interrupt.h>
#include <linux/mod_devicetable.h>
#include <linux/scatterlist.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_config.h>
#include <uapi/linux/virtio_ring.h>

#include <vireo/compat.h>

/*
 * Feature bits and device ids come from the kernel's uapi headers
 * (<linux/virtio_config.h>, <linux/virtio_ids.h>, <linux/virtio_blk.h>, ...):
 * they are the specification's numbers, not Linux code.
 */

/*
 * Transport/ring feature bits vireo_ring implements (virtio 1.2, chapter 6).
 * VIRTIO_F_ANY_LAYOUT only means something to legacy devices: vireo never
 * relies on a particular framing of descriptors, so it accepts it (6.3).
 * VIRTIO_F_RING_RESET is offered only where the transport has the
 * reset_vq and enable_vq ops (PCI modern). VIRTIO_F_NOTIFICATION_DATA:
 * the transports whose notify writes vireo_vq_notification_data() (PCI
 * modern, MMIO v2); the legacy interfaces carry no bit above 31.
 */
#define VIREO_RING_FEATURES \
	(BIT_ULL(VIRTIO_F_ANY_LAYOUT) | \
	 BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) | \
	 BIT_ULL(VIRTIO_RING_F_EVENT_IDX) | \
	 BIT_ULL(VIRTIO_F_VERSION_1) | \
	 BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) | \
	 BIT_ULL(VIRTIO_F_RING_PACKED) | \
	 BIT_ULL(VIRTIO_F_ORDER_PLATFORM) | \
	 BIT_ULL(VIRTIO_F_NOTIFICATION_DATA) | \
	 BIT_ULL(VIRTIO_F_RING_RESET))

/*
 * Feature bits: virtio 1.2, 2.2 puts no upper bound on them, and devices
 * use bits above 63 (virtio-net). vireo negotiates the first
 * VIREO_FEATURE_BITS: what PCI modern carries through four 32-bit select
 * words; MMIO v2 carries 64 (QEMU's keeps two words), legacy interfaces 32.
 */
#define VIREO_FEATURE_BITS	128
#define VIREO_FEATURE_WORDS	(VIREO_FEATURE_BITS / 64)

struct vireo_features {
	u64 w[VIREO_FEATURE_WORDS];	/* bit n is w[n / 64] bit n % 64 */
};

static inline bool vireo_features_test(const struct vireo_features *f,
				       unsigned int bit)
{
	return bit < VIREO_FEATURE_BITS && (f->w[bit / 64] & BIT_ULL(bit % 64));
}

static inline void vireo_features_set(struct vireo_features *f,
				      unsigned int bit)
{
	if (bit < VIREO_FEATURE_BITS)
		f->w[bit / 64] |= BIT_ULL(bit % 64);
}

static inline void vireo_features_clear(struct vireo_features *f,
					unsigned int bit)
{
	if (bit < VIREO_FEATURE_BITS)
		f->w[bit / 64] &= ~BIT_ULL(bit % 64);
}

struct vireo_device;
struct vireo_vq;

/* ---------------------------------------------------------------------- */
/* Virtqueues                                                              */
/* ---------------------------------------------------------------------- */

/*
 * The part of a virtqueue drivers may look at. The ring module embeds it in
 * its own private state.
 *
 * Locking: a driver serialises the calls below on one queue (its queue lock,
 * or NAPI), like Linux virtqueues; disable_cb may come from the callback.
 * vireo_vq_notify(), vireo_vq_more_used(), vireo_vq_is_broken() and the
 * transport's vireo_vq_interrupt() and vireo_break_vqs() need no lock.
 */
struct vireo_vq {
	struct vireo_device *vdev;
	unsigned int index;		/* queue number on the device */
	const char *name;
	void (*callback)(struct vireo_vq *vq);	/* used buffers; IRQ context */
	void *priv;			/* the driver's */
};

/*
 * Adding buffers. @data is the driver's token for the buffer; it comes back
 * from vireo_vq_get_buf() and vireo_vq_detach_unused(). It must not be NULL.
 * The first @out_sgs lists are device-readable, the next @in_sgs
 * device-writable. Returns 0, -ENOSPC when the ring has no room, -ENOMEM, or
 * -EIO when the queue is broken; -EINVAL for a request no ring can take (no
 * buffers, a NULL @data, more buffers than vireo_vq_size() or over 4 GiB).
 */
int vireo_vq_add_sgs(struct vireo_vq *vq, struct scatterlist *sgs[],
		     unsigned int out_sgs, unsigned int in_sgs,
		     void *data, gfp_t gfp);
int vireo_vq_add_outbuf(struct vireo_vq *vq, struct scatterlist *sg,
			unsigned int num, void *data, gfp_t gfp);
int vireo_vq_add_inbuf(struct vireo_vq *vq, struct scatterlist *sg,
		       unsigned int num, void *data, gfp_t gfp);

/*
 * Per-buffer context: @ctx travels beside the buffer and comes back from
 * vireo_vq_get_buf_ctx() / vireo_vq_detach_unused_ctx() (NULL for a buffer
 * added without one), e.g. the truesize and headroom of a receive buffer.
 * Only on a queue created with VIREO_VQ_F_CTX: elsewhere a non-NULL @ctx is
 * refused with -EINVAL (and one log line), and contexts read back NULL.
 */
int vireo_vq_add_sgs_ctx(struct vireo_vq *vq, struct scatterlist *sgs[],
			 unsigned int out_sgs, unsigned int in_sgs,
			 void *data, void *ctx, gfp_t gfp);
int vireo_vq_add_inbuf_ctx(struct vireo_vq *vq, struct scatterlist *sg,
			   unsigned int num, void *data, void *ctx, gfp_t gfp);

/*
 * Premapped adds: the driver mapped the buffers itself (vireo_vq_dma_map_*
 * below, e.g. from a page pool) and put the address in sg_dma_address() of
 * each entry; the ring uses it as is and never maps or unmaps the buffers
 * (an indirect table it builds is its own). Otherwise as the adds above,
 * with a per-buffer @ctx.
 */
int vireo_vq_add_sgs_premapped(struct vireo_vq *vq, struct scatterlist *sgs[],
			       unsigned int out_sgs, unsigned int in_sgs,
			       void *data, void *ctx, gfp_t gfp);
int vireo_vq_add_outbuf_premapped(struct vireo_vq *vq, struct scatterlist *sg,
				  unsigned int num, void *data, void *ctx,
				  gfp_t gfp);
int vireo_vq_add_inbuf_premapped(struct vireo_vq *vq, struct scatterlist *sg,
				 unsigned int num, void *data, void *ctx,
				 gfp_t gfp);

/*
 * DMA for premapped buffers. vireo_vq_dma_dev() is the device to map
 * against, or NULL when the ring gives the device guest physical addresses
 * without the DMA API (no VIRTIO_F_ACCESS_PLATFORM, virtio 1.2, 6.1). The
 * helpers work in both modes: without the DMA API map returns the physical
 * address, mapping_error is 0, need_sync false, and unmap and sync do
 * nothing. A driver can therefore always map through them.
 */
struct device *vireo_vq_dma_dev(struct vireo_vq *vq);
dma_addr_t vireo_vq_dma_map_page(struct vireo_vq *vq, struct page *page,
				 unsigned long offset, size_t size,
				 enum dma_data_direction dir);
dma_addr_t vireo_vq_dma_map_single(struct vireo_vq *vq, void *ptr, size_t size,
				   enum dma_data_direction dir);
void vireo_vq_dma_unmap_page(struct vireo_vq *vq, dma_addr_t addr, size_t size,
			     enum dma_data_direction dir);
void vireo_vq_dma_unmap_single(struct vireo_vq *vq, dma_addr_t addr,
			       size_t size, enum dma_data_direction dir);
int vireo_vq_dma_mapping_error(struct vireo_vq *vq, dma_addr_t addr);
bool vireo_vq_dma_need_sync(struct vireo_vq *vq, dma_addr_t addr);
void vireo_vq_dma_sync_for_cpu(struct vireo_vq *vq, dma_addr_t addr,
			       unsigned long offset, size_t size,
			       enum dma_data_direction dir);
void vireo_vq_dma_sync_for_device(struct vireo_vq *vq, dma_addr_t addr,
				  unsigned long offset, size_t size,
				  enum dma_data_direction dir);

/*
 * Kicking, in two halves so that a driver can prepare under its queue lock
 * and notify (a slow MMIO/PIO exit) outside it:
 *	spin_lock(); add...; need = vireo_vq_kick_prepare(vq); spin_unlock();
 *	if (need) vireo_vq_notify(vq);
 * vireo_vq_kick() does both. notify/kick return false if the queue is broken.
 */
bool vireo_vq_kick_prepare(struct vireo_vq *vq);
bool vireo_vq_notify(struct vireo_vq *vq);
bool vireo_vq_kick(struct vireo_vq *vq);

/*
 * Returns the token of the next used buffer and the number of bytes the
 * device wrote into it (validated against the buffer's writable size), or
 * NULL when none is pending or the queue is broken.
 */
void *vireo_vq_get_buf(struct vireo_vq *vq, unsigned int *len);
/* The same, and the buffer's context (see vireo_vq_add_sgs_ctx) in *@ctx. */
void *vireo_vq_get_buf_ctx(struct vireo_vq *vq, unsigned int *len, void **ctx);

/*
 * Callback control, with the meaning of Linux's virtqueue_enable_cb():
 * vireo_vq_disable_cb() asks the device not to interrupt (a hint: callbacks
 * may still come). vireo_vq_enable_cb() re-enables them and returns true if
 * nothing is pending (or the queue is broken: nothing will come), false if
 * used buffers arrived meanwhile: no interrupt is guaranteed for those, so
 * the caller must poll again (and may disable again). The NAPI pattern:
 *	vireo_vq_disable_cb(vq);
 *	... get_buf until NULL ...
 *	if (!vireo_vq_enable_cb(vq)) { disable again, poll again }
 * The _prepare/_poll pair splits that for callers that re-check later:
 * prepare re-enables and returns an opaque position, poll(pos) returns true
 * if buffers were used since (false on a broken queue). _delayed re-enables
 * but asks for the interrupt only after most outstanding buffers are used
 * (transmit-side batching); it returns as vireo_vq_enable_cb() does.
 */
void vireo_vq_disable_cb(struct vireo_vq *vq);
bool vireo_vq_enable_cb(struct vireo_vq *vq);
unsigned int vireo_vq_enable_cb_prepare(struct vireo_vq *vq);
bool vireo_vq_poll(struct vireo_vq *vq, unsigned int pos);
bool vireo_vq_enable_cb_delayed(struct vireo_vq *vq);
bool vireo_vq_more_used(struct vireo_vq *vq);

/*
 * After the device is reset (so it cannot use them any more): returns the
 * tokens of buffers still in the ring one by one, then NULL. Works on a
 * broken queue too; the queue is then only good for vireo_vq_del().
 */
void *vireo_vq_detach_unused(struct vireo_vq *vq);
void *vireo_vq_detach_unused_ctx(struct vireo_vq *vq, void **ctx);

/*
 * Interrupt affinity of a queue: the CPUs its interrupt is served on, or
 * NULL when it has no interrupt of its own (MSI-X shared, INTx, MMIO) or no
 * affinity was set or spread. vireo_vq_set_affinity() steers it (and sets
 * the irq's affinity hint, for irqbalance): 0, -EOPNOTSUPP where the queue
 * shares its interrupt, -EBUSY where the kernel manages it (the queues were
 * spread by vireo_find_vqs()' @desc), or an error from the irq core. NULL
 * @mask drops the hint. The first -EOPNOTSUPP or -EBUSY of a device is
 * logged (one info line), so a driver may simply try. Process context.
 */
const struct cpumask *vireo_vq_get_affinity(struct vireo_vq *vq);
int vireo_vq_set_affinity(struct vireo_vq *vq, const struct cpumask *mask);

/*
 * Resetting one queue (VIRTIO_F_RING_RESET, virtio 1.2, 2.6.1), e.g. for
 * ethtool -G or to rebind a queue to AF_XDP; vireo_vq_can_reset() says
 * whether it was negotiated (else both calls return -EOPNOTSUPP).
 *
 * vireo_vq_reset() makes the device stop using @vq, gives every buffer
 * still in it back through @recycle (its token and context, in no
 * particular order), empties the ring and enables the queue again: the
 * driver then adds buffers as after vireo_find_vqs(). vireo_vq_resize()
 * does the same with a ring of @num descriptors (a power of 2 for a split
 * ring, at most what the device offers: -EINVAL otherwise, with one log
 * line, and the old size kept). If the new ring cannot be allocated the
 * queue keeps its old ring (empty and enabled) and -ENOMEM is returned.
 * Any other error (the device never finished the reset, or refused the
 * queue again) leaves the queue broken, its buffers still recycled.
 *
 * Locking: process context, may sleep; no spinlock held. The caller keeps
 * every other call on @vq out until the reset returns (a mutex its
 * submitters take, NAPI disabled, or a flag they check under their queue
 * lock), and @recycle must not call into @vq. The queue's callback needs no
 * such care: from the start of the reset the ring ignores the queue's
 * interrupts and waits for a callback that is running to finish, and
 * callbacks resume only once the queue is enabled again. Other queues of
 * the device keep working throughout.
 */
typedef void (*vireo_recycle_t)(struct vireo_vq *vq, void *data, void *ctx);
bool vireo_vq_can_reset(struct vireo_vq *vq);
int vireo_vq_reset(struct vireo_vq *vq, vireo_recycle_t recycle);
int vireo_vq_resize(struct vireo_vq *vq, unsigned int num,
		    vireo_recycle_t recycle);

unsigned int vireo_vq_size(struct vireo_vq *vq);	/* descriptors in the ring */
unsigned int vireo_vq_num_free(struct vireo_vq *vq);	/* descriptors free now */
bool vireo_vq_is_broken(struct vireo_vq *vq);

/* ---------------------------------------------------------------------- */
/* Devices and drivers on the vireo bus                                    */
/* ---------------------------------------------------------------------- */

/* How a driver asks for its queues (see vireo_find_vqs()). */
struct vireo_vq_info {
	const char *name;
	void (*callback)(struct vireo_vq *vq);	/* NULL: no interrupts wanted */
	unsigned int size;	/* at most this many descriptors; 0: as offered */
	unsigned int flags;	/* VIREO_VQ_F_* */
};

/*
 * The queue keeps a per-buffer context (vireo_vq_add_*_ctx, premapped adds
 * with a context): an array of its own, allocated only for queues that ask,
 * so that the others pay nothing for it.
 */
#define VIREO_VQ_F_CTX		BIT(0)

/*
 * What a transport implements. Called with the device's driver bound (or
 * during probe/remove); never from IRQ context except config reads.
 */
struct vireo_transport_ops {
	const char *name;		/* "pci-modern", "pci-legacy", "mmio-v1", ... */
	u8 (*get_status)(struct vireo_device *vd);
	void (*set_status)(struct vireo_device *vd, u8 status);
	/*
	 * Writes 0 to status and waits (bounded) until the device reads back
	 * 0: returns 0, or -ETIMEDOUT / -ENODEV (device gone) when it never
	 * did. After an error the device MUST NOT be initialised again
	 * (virtio 1.2, 4.1.4.3.2).
	 */
	int (*reset)(struct vireo_device *vd);
	/*
	 * Every feature word the interface has (bits it lacks read as 0).
	 * set_features returns 0, or an error (one line logged) for features
	 * the interface cannot carry or the device must have (e.g. a
	 * modern-only interface without VIRTIO_F_VERSION_1).
	 */
	void (*get_features)(struct vireo_device *vd, struct vireo_features *f);
	int (*set_features)(struct vireo_device *vd,
			    const struct vireo_features *f);
	/*
	 * Bytes of device-specific config; the bus checks bounds (against
	 * config_len, which the transport must have mapped) and logs, once. The
	 * transport picks the access width from @len (virtio 1.2, 4.1.3.1 and
	 * 4.2.2.2): 1, 2, 4 or 8 naturally aligned bytes are taken to be one
	 * field of that size, anything else is accessed byte by byte. So an
	 * access covers one field, or a byte array, never several fields.
	 */
	void (*get_config)(struct vireo_device *vd, unsigned int offset,
			   void *buf, unsigned int len);
	void (*set_config)(struct vireo_device *vd, unsigned int offset,
			   const void *buf, unsigned int len);
	/* Config generation; NULL if the transport has none (legacy). */
	u32 (*config_generation)(struct vireo_device *vd);
	/*
	 * Creates @nvqs queues (info[i].name NULL: queue i is skipped, vqs[i]
	 * = NULL), sets up their interrupts and tells the device where the
	 * rings are. Unwinds completely on error.
	 */
	int (*find_vqs)(struct vireo_device *vd, unsigned int nvqs,
			struct vireo_vq *vqs[],
			const struct vireo_vq_info info[],
			struct irq_affinity *desc);
	/* Frees every queue; the device must have been reset. */
	void (*del_vqs)(struct vireo_device *vd);
	/* Waits until no queue or config callback is running. */
	void (*synchronize_cbs)(struct vireo_device *vd);
	/*
	 * CPUs whose interrupt serves queue @index, or NULL when the queue
	 * has no interrupt of its own (shared, INTx, MMIO) or it was never
	 * spread. NULL op: never.
	 */
	const struct cpumask *(*get_vq_affinity)(struct vireo_device *vd,
						 int index);
	/*
	 * Points queue @index's own interrupt at @mask (NULL: forget the
	 * hint). -EOPNOTSUPP without an interrupt of its own; NULL op: never.
	 */
	int (*set_vq_affinity)(struct vireo_device *vd, int index,
			       const struct cpumask *mask);
	/*
	 * VIRTIO_F_RING_RESET (virtio 1.2, 2.6.1), both or neither; process
	 * context, may sleep. reset_vq makes the device stop using @vq and
	 * waits (bounded) until it says it has: 0 and in *@max the largest
	 * size the device takes for it, or -ETIMEDOUT / -ENODEV. enable_vq
	 * tells the device the queue's size and ring addresses again (they
	 * may have changed: vireo_vq_resize()) and enables it.
	 */
	int (*reset_vq)(struct vireo_device *vd, struct vireo_vq *vq,
			unsigned int *max);
	int (*enable_vq)(struct vireo_device *vd, struct vireo_vq *vq);
};

struct vireo_device {
	struct device dev;
	int index;			/* vireoN */
	u32 id;				/* device type, VIRTIO_ID_* */
	u32 vendor;			/* subsystem vendor (PCI) or vendor id */
	struct vireo_features device_features;	/* what the device offers */
	struct vireo_features features;		/* what was negotiated */
	u64 transport_features;		/* ring/transport bits (all below 64) it allows */
	u32 config_len;			/* bytes of device config space */
	const struct vireo_transport_ops *ops;
	/* Config-change callbacks wait while disabled (probe, remove). */
	spinlock_t config_lock;
	bool config_enabled;
	bool config_change_pending;
	bool failed;			/* the device or the driver gave up */
	bool restoring;			/* inside vireo_device_restore() */
	u8 fault;			/* VIREO_FAULT_*: debugfs fail_restore */
	atomic_t config_faults;		/* reads left to fail: debugfs fail_config */
	/* debugfs config_patch: bytes every config read sees instead. */
	u32 patch_where;		/* offset << 8 | length (0: none) */
	u64 patch_value;		/* little endian, length bytes */
	unsigned long logged;		/* VIREO_LOGGED_*: lines said once */
	struct list_head vqs;		/* the ring module's */
	struct dentry *debugfs;		/* /sys/kernel/debug/vireo/vireoN */
	void *priv;			/* the driver's */
};

#define to_vireo_device(d) container_of(d, struct vireo_device, dev)

/* Bits of vireo_device.logged (vireo_ring's own). */
enum {
	VIREO_LOGGED_AFFINITY,		/* vireo_vq_set_affinity() refused */
};

/*
 * Faults the next resume of a device provokes, armed by writing their name
 * to /sys/kernel/debug/vireo/vireoN/fail_restore (docs/transport.md): the
 * reset times out, a negotiated feature is gone, FEATURES_OK is refused,
 * the driver cannot set up its queues. Each fires once.
 */
enum {
	VIREO_FAULT_NONE,
	VIREO_FAULT_RESET,
	VIREO_FAULT_FEATURES,
	VIREO_FAULT_FEATURES_OK,
	VIREO_FAULT_QUEUES,
};

struct vireo_device_id {
	u32 device;			/* VIRTIO_ID_*; 0 ends the table */
	u32 vendor;			/* VIREO_DEV_ANY_ID matches all */
};

#define VIREO_DEV_ANY_ID 0xffffffff

struct vireo_driver {
	struct device_driver driver;
	const struct vireo_device_id *id_table;
	/*
	 * Device-specific feature bits the driver implements, by number
	 * (0-23 and 50-127, virtio 1.2, 6); ring/transport bits are the bus's
	 * business, and registration refuses a table naming one of them, a
	 * reserved bit or one beyond VIREO_FEATURE_BITS.
	 */
	const unsigned int *feature_table;
	unsigned int feature_table_size;
	/*
	 * Optional: may clear bits in vd->features before they are written
	 * (e.g. on a bad config value); runs after the device's offer is read.
	 */
	int (*validate)(struct vireo_device *vd);
	int (*probe)(struct vireo_device *vd);
	/*
	 * Must reset the device (vireo_reset_device), reclaim every buffer and
	 * free its queues before returning.
	 */
	void (*remove)(struct vireo_device *vd);
	void (*config_changed)(struct vireo_device *vd);
	/*
	 * Suspend/resume: freeze quiesces, resets and frees queues; restore
	 * re-creates them; the bus redoes the handshake in between. A restore
	 * that fails must free what it set up again.
	 *
	 * restore_failed (required with restore): the resume did not complete
	 * (the reset timed out, features were lost or refused, or restore
	 * returned @err). The device is marked failed and has no queues; the
	 * driver must end what its users wait for with errors, fail new
	 * requests, and still be able to remove (which then resets a device
	 * without queues). Called once, from the PM resume path, after which
	 * nothing but remove is called.
	 */
	int (*freeze)(struct vireo_device *vd);
	int (*restore)(struct vireo_device *vd);
	void (*restore_failed)(struct vireo_device *vd, int err);
};

#define to_vireo_driver(d) container_of(d, struct vireo_driver, driver)

int __vireo_register_driver(struct vireo_driver *drv, struct module *owner);
#define vireo_register_driver(drv) __vireo_register_driver(drv, THIS_MODULE)
void vireo_unregister_driver(struct vireo_driver *drv);

#define module_vireo_driver(__drv) \
	module_driver(__drv, vireo_register_driver, vireo_unregister_driver)

/*
 * Module autoloading: the bus sends MODALIAS=vireo:dNNNNNNNNvNNNNNNNN.
 * modpost knows nothing of the vireo bus, so drivers state their aliases.
 */
#define VIREO_MODULE_ALIAS_DEVICE(id) \
	MODULE_ALIAS("vireo:d" __stringify(id) "v*")

static inline bool vireo_has_feature(const struct vireo_device *vd,
				     unsigned int bit)
{
	return vireo_features_test(&vd->features, bit);
}

/*
 * True once the device or a driver gave up on @vd (vireo_device_fail(), a
 * reset that never finished): nothing will come back from it.
 */
static inline bool vireo_device_is_failed(const struct vireo_device *vd)
{
	return READ_ONCE(vd->failed);
}

/* Sets DRIVER_OK; a driver calls it in probe before its first kick. */
void vireo_device_ready(struct vireo_device *vd);
/* Resets the device: it stops using every buffer and interrupts stop. */
void vireo_reset_device(struct vireo_device *vd);
/*
 * Marks the device failed (FAILED status where the transport still can) and
 * every queue broken, so that waiters see errors. For a device that reported
 * nonsense, or one that is going away under the driver.
 */
void vireo_device_fail(struct vireo_device *vd, const char *why);

/*
 * The one rule for a device that stops answering (vireo_ring's
 * abort_timeout parameter, seconds; 0: never): once a request has been
 * outstanding this long, the driver gives up on the device: it resets it,
 * fails what was outstanding and every new request, so that remove and
 * suspend finish.
 */
unsigned int vireo_abort_timeout(void);

int vireo_find_vqs(struct vireo_device *vd, unsigned int nvqs,
		   struct vireo_vq *vqs[], const struct vireo_vq_info info[],
		   struct irq_affinity *desc);
void vireo_del_vqs(struct vireo_device *vd);

/*
 * Device-specific config space, one field per call: the transport accesses
 * 1, 2 and 4 byte fields at their natural width and 8 byte fields as two
 * 4 byte halves (virtio 1.2, 4.1.3.1), anything else byte by byte. A read
 * is retried while the device's config generation moves under it (virtio
 * 1.2, 2.5.1; legacy devices, which have none: until two reads of a wide
 * field agree), at most 64 times.
 *
 * Every read returns 0, or an error with one log line and @buf zeroed:
 * -EINVAL for an access beyond the device's config space (the device is
 * not touched), -EIO for a config that never settled. Drivers treat the
 * error as they treat a field they cannot use: probe and restore fail
 * with it, a config-change handler keeps what it had.
 */
int __must_check vireo_config_read(struct vireo_device *vd,
				   unsigned int offset, void *buf,
				   unsigned int len);
int vireo_config_write(struct vireo_device *vd, unsigned int offset,
		       const void *buf, unsigned int len);
/*
 * Typed reads of little-endian fields, the same rules as
 * vireo_config_read() (0 or an error; *@val 0 on error), e.g.
 * err = vireo_cread64(vd, offsetof(struct virtio_blk_config, capacity), &cap);
 */
int __must_check vireo_cread8(struct vireo_device *vd, unsigned int offset,
			      u8 *val);
int __must_check vireo_cread16(struct vireo_device *vd, unsigned int offset,
			       u16 *val);
int __must_check vireo_cread32(struct vireo_device *vd, unsigned int offset,
			       u32 *val);
int __must_check vireo_cread64(struct vireo_device *vd, unsigned int offset,
			       u64 *val);
void vireo_cwrite8(struct vireo_device *vd, unsigned int offset, u8 val);
void vireo_cwrite32(struct vireo_device *vd, unsigned int offset, u32 val);

/* The device the ring memory and buffers are DMA-mapped for. */
static inline struct device *vireo_dma_dev(struct vireo_device *vd)
{
	return vd->dev.parent;
}

/* ---------------------------------------------------------------------- */
/* For transports only                                                     */
/* ---------------------------------------------------------------------- */

/*
 * Registers @vd (parent, id, vendor, ops, transport_features, config_len
 * filled in) on the bus: resets it, sets ACKNOWLEDGE and lets a driver bind.
 * On failure the caller still owns @vd and must put_device(&vd->dev) after
 * setting vd->dev.release; on success vireo_unregister_device() removes it.
 */
int vireo_register_device(struct vireo_device *vd);
void vireo_unregister_device(struct vireo_device *vd);

/* The transport calls these from its interrupt handlers. */
void vireo_config_changed(struct vireo_device *vd);
irqreturn_t vireo_vq_interrupt(struct vireo_vq *vq);

/* PM: transports call these from their dev_pm_ops. */
int vireo_device_freeze(struct vireo_device *vd);
int vireo_device_restore(struct vireo_device *vd);

/*
 * Creates a virtqueue of @num descriptors for queue @index. The layout is
 * packed if VIRTIO_F_RING_PACKED was negotiated, split otherwise. With
 * @legacy_align non-zero the split ring is one physically contiguous area
 * with the used ring aligned to @legacy_align (legacy PCI and MMIO v1, virtio
 * 1.x 2.7/4.2.4); otherwise the three areas are allocated apart. If memory is
 * short the ring is made smaller (halving, never below 1/4 of @num; for split
 * rings @num must be a power of two): the transport tells the device
 * vireo_vq_size(), or fails if the device's size is fixed (legacy PCI).
 * @legacy_align is a power of two no larger than PAGE_SIZE. @notify tells
 * the device to look at the queue; it returns false if the device is gone.
 * Returns the queue or an ERR_PTR() (-EINVAL for a bad size or alignment,
 * -ENOMEM), never NULL. Queue creation and deletion for one device are
 * serialised by the caller (probe, remove, freeze, restore).
 */
struct vireo_vq *vireo_vq_new(struct vireo_device *vd, unsigned int index,
			      unsigned int num, unsigned int legacy_align,
			      bool (*notify)(struct vireo_vq *vq),
			      const struct vireo_vq_info *info);
void vireo_vq_del(struct vireo_vq *vq);

/* Where the rings are, for the transport to tell the device. */
dma_addr_t vireo_vq_desc_addr(struct vireo_vq *vq);	/* descriptor area */
dma_addr_t vireo_vq_driver_addr(struct vireo_vq *vq);	/* avail / driver event */
dma_addr_t vireo_vq_device_addr(struct vireo_vq *vq);	/* used / device event */

/*
 * Transport-private per-queue pointer (notify address, vector ...). Kept
 * apart from vireo_vq.priv, which belongs to the driver.
 */
void vireo_vq_set_transport_priv(struct vireo_vq *vq, void *p);
void *vireo_vq_transport_priv(struct vireo_vq *vq);

/*
 * With VIRTIO_F_NOTIFICATION_DATA negotiated, what a notify writes instead
 * of the bare queue index (virtio 1.2, 2.9): the index in bits 0-15 and
 * where the driver will make its next buffer available in bits 16-31 (split:
 * the avail idx; packed: the next slot in 16-30, the wrap counter in 31).
 */
u32 vireo_vq_notification_data(struct vireo_vq *vq);

/* Marks every queue of @vd broken (device gone or failed). */
void vireo_break_vqs(struct vireo_device *vd);

#endif /* _VIREO_VIRTIO_H */
