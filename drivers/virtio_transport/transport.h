/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vireo_transport internals: virtio over PCI (modern and legacy interface)
 * and over MMIO (version 1 and 2). Nothing here is seen outside the module.
 */
#ifndef _VIREO_TRANSPORT_H
#define _VIREO_TRANSPORT_H

#include <linux/interrupt.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/types.h>
#include <linux/virtio_pci.h>

#include <vireo/virtio.h>

/*
 * Ring/transport features a legacy interface (PCI legacy, MMIO version 1)
 * can carry: none of the virtio 1.x ones, and ANY_LAYOUT, which a
 * transitional driver MUST accept from a legacy device (virtio 1.2, 6.3).
 */
#define VIREO_LEGACY_FEATURES						\
	((VIREO_RING_FEATURES & ~(BIT_ULL(VIRTIO_F_VERSION_1) |	\
				  BIT_ULL(VIRTIO_F_RING_PACKED) |	\
				  BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) |	\
				  BIT_ULL(VIRTIO_F_ORDER_PLATFORM))) |	\
	 BIT_ULL(VIRTIO_F_ANY_LAYOUT))

/* virtio 1.2, 2.7: no queue has more than 32768 entries. */
#define VIREO_MAX_QUEUE_SIZE	32768

/* ---------------------------------------------------------------------- */
/* PCI                                                                     */
/* ---------------------------------------------------------------------- */

#define VIREO_PCI_VENDOR		0x1af4
#define VIREO_PCI_FIRST_TRANSITIONAL	0x1000
#define VIREO_PCI_FIRST_MODERN		0x1040
#define VIREO_PCI_LAST_MODERN		0x107f

/* ISR bits (virtio 1.2, 4.1.4.5); uapi only names the config one. */
#define VIREO_PCI_ISR_QUEUE		0x1
#define VIREO_PCI_ISR_CONFIG		0x2

/* How a PCI device interrupts us; chosen in find_vqs, shown in sysfs. */
enum vireo_pci_irq_mode {
	VIREO_PCI_MODE_NONE,		/* no queues set up */
	VIREO_PCI_MODE_MSIX_PER_VQ,	/* config vector + one per queue */
	VIREO_PCI_MODE_MSIX_SHARED,	/* config vector + one for all queues */
	VIREO_PCI_MODE_INTX,		/* one shared line, ISR says why */
};

/* One virtqueue of a PCI device. */
struct vireo_pci_queue {
	struct vireo_vq *vq;
	void __iomem *notify;	/* where the queue index is written */
	u32 pfn;		/* legacy: ring address >> 12 */
	u16 vector;		/* MSI-X table entry or VIRTIO_MSI_NO_VECTOR */
};

/* One requested interrupt. */
struct vireo_pci_irq {
	char name[32];
	void *data;		/* dev_id given to request_irq() */
	bool requested;
	/* set_vq_affinity's mask: the irq core keeps a pointer to it. */
	struct cpumask *hint;
};

struct vireo_pci;

/* What differs between the modern and the legacy interface. */
struct vireo_pci_iface {
	const struct vireo_transport_ops *ops;
	/*
	 * Creates queue @index and tells the device everything but "go":
	 * size, ring addresses and, with MSI-X on, @vector. Returns -EBUSY
	 * only when the device refused the vector (try fewer vectors).
	 */
	int (*setup_queue)(struct vireo_pci *vp, unsigned int index,
			   const struct vireo_vq_info *info, u16 vector,
			   struct vireo_pci_queue *q);
	/* Lets the device use a queue set up above. */
	void (*activate_queue)(struct vireo_pci *vp, unsigned int index,
			       struct vireo_pci_queue *q);
	/* Maps config changes to @vector; returns what the device reads back. */
	u16 (*config_vector)(struct vireo_pci *vp, u16 vector);
	/* Unmaps @q's vector (MSI-X on, device not reset). */
	void (*clear_queue_vector)(struct vireo_pci *vp, unsigned int index);
	/* Releases what probe mapped and requested. */
	void (*remove)(struct vireo_pci *vp);
};

struct vireo_pci {
	struct vireo_device vd;
	struct pci_dev *pdev;
	const struct vireo_pci_iface *iface;

	/* Modern interface: the virtio structures, each mapped on its own. */
	void __iomem *common;
	void __iomem *notify_base;
	u32 notify_len;
	u32 notify_mult;
	void __iomem *device;	/* device-specific config, may be NULL */
	u32 device_len;
	int bars;		/* BARs requested, as a mask */

	/* Legacy interface: the I/O BAR 0. */
	void __iomem *ioaddr;
	u32 io_len;

	void __iomem *isr;	/* both interfaces */

	/* Queues and interrupts: set up by find_vqs, freed by del_vqs. */
	enum vireo_pci_irq_mode irq_mode;
	unsigned int nvqs;
	struct vireo_pci_queue *queues;
	unsigned int nvecs;	/* vectors allocated from the PCI core */
	struct vireo_pci_irq *irqs;
	bool config_vector_set;
};

static inline struct vireo_pci *to_vireo_pci(struct vireo_device *vd)
{
	return container_of(vd, struct vireo_pci, vd);
}

extern const struct vireo_pci_iface vireo_pci_modern_iface;
extern const struct vireo_pci_iface vireo_pci_legacy_iface;

/* pci_modern.c: -ENODEV when the device has no virtio capabilities. */
int vireo_pci_modern_probe(struct vireo_pci *vp);
/* pci_legacy.c */
int vireo_pci_legacy_probe(struct vireo_pci *vp);

/* pci_irq.c: the find_vqs/del_vqs/... ops both interfaces share. */
int vireo_pci_find_vqs(struct vireo_device *vd, unsigned int nvqs,
		       struct vireo_vq *vqs[],
		       const struct vireo_vq_info info[],
		       struct irq_affinity *desc);
void vireo_pci_del_vqs(struct vireo_device *vd);
void vireo_pci_synchronize_cbs(struct vireo_device *vd);
const struct cpumask *vireo_pci_get_vq_affinity(struct vireo_device *vd,
						int index);
int vireo_pci_set_vq_affinity(struct vireo_device *vd, int index,
			      const struct cpumask *mask);
bool vireo_pci_notify(struct vireo_vq *vq);
const char *vireo_pci_irq_mode_name(enum vireo_pci_irq_mode mode);

/* pci.c */
extern struct pci_driver vireo_pci_driver;
bool vireo_pci_present(struct vireo_device *vd);

/* ---------------------------------------------------------------------- */
/* MMIO                                                                    */
/* ---------------------------------------------------------------------- */

#define VIREO_MMIO_DRIVER_NAME	"vireo_mmio"

struct vireo_mmio {
	struct vireo_device vd;
	struct platform_device *pdev;
	void __iomem *base;
	struct resource *region;	/* what we requested */
	resource_size_t size;
	unsigned int version;		/* 1 (legacy) or 2 */
	int irq;

	/* Set up by find_vqs, freed by del_vqs. */
	unsigned int nvqs;
	struct vireo_vq **vqs;
	bool irq_requested;
};

static inline struct vireo_mmio *to_vireo_mmio(struct vireo_device *vd)
{
	return container_of(vd, struct vireo_mmio, vd);
}

extern struct platform_driver vireo_mmio_driver;
void vireo_mmio_init_ops(void);

/* types.c: the types= module parameter. */
#define VIREO_MAX_DEVICE_TYPE	63
int vireo_types_parse(void);
bool vireo_types_takes(struct device *dev, u32 id);

/* mmio_param.c: the mmio_devices= module parameter. */
int vireo_mmio_devices_parse(void);
int vireo_mmio_devices_create(void);
void vireo_mmio_devices_destroy(void);

/* ---------------------------------------------------------------------- */
/* Shared                                                                  */
/* ---------------------------------------------------------------------- */

/* common.c */
void vireo_io_read_config(void __iomem *base, unsigned int offset,
			  void *buf, unsigned int len);
void vireo_io_write_config(void __iomem *base, unsigned int offset,
			   const void *buf, unsigned int len);
int vireo_wait_for_reset(struct vireo_device *vd,
			 bool (*present)(struct vireo_device *vd));
unsigned int vireo_queue_num(unsigned int max, unsigned int want,
			     bool pow2);

#endif /* _VIREO_TRANSPORT_H */
