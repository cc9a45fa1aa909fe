/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The handful of kernel APIs the vireo ring files use, for building them
 * unchanged as a userspace program. Force-included (-include) before
 * anything else; every shim header under linux/ and asm/ includes it.
 *
 * DMA addresses are CPU addresses plus SHIM_DMA_OFFSET, so a test notices
 * when the ring hands the device a CPU address in DMA mode; physical
 * addresses (virt_to_phys, sg_phys) are the CPU addresses themselves.
 * Every allocation and mapping is tracked so the simulated device can check
 * each address it is given, and the tests can check nothing leaks.
 */
#ifndef _VIREO_KSHIM_H
#define _VIREO_KSHIM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>

#include <linux/types.h>

/* Keep the kernel compat header (and whatever it pulls in) out. */
#define _VIREO_COMPAT_H
/* As include/vireo/compat.h: older uapi headers lack the name. */
#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA	38
#endif
#define VIREO_NS		VIREO
#define VIREO_EXPORT(sym)	extern int vireo_shim_exported
#define VIREO_IMPORT_NS()	extern int vireo_shim_exported
#define EXPORT_SYMBOL_NS_GPL(sym, ns)	extern int vireo_shim_exported
#define MODULE_ALIAS(x)
struct module;

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef long long s64;
typedef u64 dma_addr_t;
typedef u64 phys_addr_t;
typedef unsigned int gfp_t;

#define __force
#define __iomem
#define __rcu
#define __init
#define __exit
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#define __always_unused		__attribute__((unused))
#define __maybe_unused		__attribute__((unused))
#define noinline		__attribute__((noinline))
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)

#define READ_ONCE(x)		(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))

#define BIT(n)			(1UL << (n))
#define BIT_ULL(n)		(1ULL << (n))
#define U16_MAX			((u16)~0U)
#define U32_MAX			((u32)~0U)
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define ALIGN(x, a)		(((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define sizeof_field(t, f)	sizeof(((t *)0)->f)
#define min(a, b)		((a) < (b) ? (a) : (b))
#define max(a, b)		((a) > (b) ? (a) : (b))
#define min_t(t, a, b)		((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b)		((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#define BUILD_BUG_ON(c)		_Static_assert(!(c), #c)
#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)

#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)

static inline bool is_power_of_2(unsigned long n)
{
	return n && !(n & (n - 1));
}

/* Little-endian hosts only, as vireo itself. */
#define cpu_to_le16(x)		((__le16)(u16)(x))
#define cpu_to_le32(x)		((__le32)(u32)(x))
#define cpu_to_le64(x)		((__le64)(u64)(x))
#define le16_to_cpu(x)		((u16)(x))
#define le32_to_cpu(x)		((u32)(x))
#define le64_to_cpu(x)		((u64)(x))

/* Barriers: the simulated device may run on another thread. */
#define mb()			__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define virt_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define virt_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define virt_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
#define dma_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define dma_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)

/* Errors as pointers. */
#define MAX_ERRNO		4095
#define IS_ERR_VALUE(x)		((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)
static inline void *ERR_PTR(long error) { return (void *)error; }
static inline long PTR_ERR(const void *ptr) { return (long)ptr; }
static inline bool IS_ERR(const void *ptr) { return IS_ERR_VALUE(ptr); }
static inline bool IS_ERR_OR_NULL(const void *ptr) { return !ptr || IS_ERR_VALUE(ptr); }

#define __must_check		__attribute__((warn_unused_result))

/* Atomics. */
typedef struct { int counter; } atomic_t;
typedef struct { long long counter; } atomic64_t;
static inline void atomic64_set(atomic64_t *v, long long i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_SEQ_CST);
}
static inline long long atomic64_read(const atomic64_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_SEQ_CST);
}
static inline void atomic64_inc(atomic64_t *v)
{
	__atomic_fetch_add(&v->counter, 1, __ATOMIC_SEQ_CST);
}
static inline bool test_and_set_bit(long nr, unsigned long *addr)
{
	unsigned long m = 1UL << nr;

	return __atomic_fetch_or(addr, m, __ATOMIC_SEQ_CST) & m;
}

/* Lists (RCU flavours are the plain ones: one thread changes the list). */
struct list_head {
	struct list_head *next, *prev;
};
#define LIST_HEAD_INIT(name) { &(name), &(name) }
static inline void INIT_LIST_HEAD(struct list_head *l)
{
	l->next = l;
	l->prev = l;
}
static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}
static inline void list_del(struct list_head *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->next = e->prev = NULL;
}
static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_for_each_entry(pos, head, member)				\
	for (pos = list_entry((head)->next, __typeof__(*pos), member);	\
	     &pos->member != (head);					\
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))
#define list_add_tail_rcu	list_add_tail
#define list_del_rcu		list_del
#define list_for_each_entry_rcu	list_for_each_entry

struct rcu_head {
	void *unused;
};
#define rcu_read_lock()		do { } while (0)
#define rcu_read_unlock()	do { } while (0)
#define kfree_rcu(ptr, field)	kfree(ptr)

typedef struct { int unused; } spinlock_t;

/* Memory. */
#define GFP_KERNEL		0x1u
#define GFP_ATOMIC		0x2u
#define __GFP_NOWARN		0x4u
#define __GFP_ZERO		0x8u

void *shim_kmalloc(size_t size, gfp_t gfp, bool zero, bool may_fail);
void shim_kfree(const void *p);
#define kmalloc(s, g)		shim_kmalloc((s), (g), false, true)
#define kzalloc(s, g)		shim_kmalloc((s), (g), true, false)
#define kcalloc(n, s, g)	shim_kmalloc((size_t)(n) * (s), (g), true, false)
#define kmalloc_array(n, s, g)	shim_kmalloc((size_t)(n) * (s), (g), false, true)
#define kvcalloc(n, s, g)	shim_kmalloc((size_t)(n) * (s), (g), true, false)
#define kfree(p)		shim_kfree(p)
#define kvfree(p)		shim_kfree(p)

void *alloc_pages_exact(size_t size, gfp_t gfp);
void free_pages_exact(void *va, size_t size);

static inline phys_addr_t virt_to_phys(const void *p)
{
	return (phys_addr_t)(uintptr_t)p;
}

/* Devices and logging. */
struct device {
	struct device *parent;
	const char *name;
};
struct device_driver {
	const char *name;
};
static inline const char *dev_name(const struct device *d)
{
	return d->name ? d->name : "(shim)";
}

struct va_format {
	const char *fmt;
	va_list *va;
};
void shim_dev_printk(const char *level, const struct device *dev,
		     const char *fmt, ...);
#define dev_err(d, ...)		shim_dev_printk("err", (d), __VA_ARGS__)
#define dev_warn(d, ...)	shim_dev_printk("warn", (d), __VA_ARGS__)
#define dev_info(d, ...)	shim_dev_printk("info", (d), __VA_ARGS__)
#define dev_err_once(d, ...)	shim_dev_printk("err", (d), __VA_ARGS__)

typedef enum { IRQ_NONE = 0, IRQ_HANDLED = 1 } irqreturn_t;
struct irq_affinity;
struct cpumask;

/*
 * Scatterlists: page_link is the buffer's page; bit 1 ends the list, bit 0
 * makes the entry a link to the next array (sg_chain), as in the kernel.
 */
struct page;
struct scatterlist {
	unsigned long page_link;
	unsigned int offset;
	unsigned int length;
	dma_addr_t dma_address;
};
#define sg_dma_address(sg)	((sg)->dma_address)
#define SG_CHAIN		0x1UL
#define SG_END			0x2UL
static inline bool sg_is_last(const struct scatterlist *sg)
{
	return sg->page_link & SG_END;
}
static inline bool sg_is_chain(const struct scatterlist *sg)
{
	return sg->page_link & SG_CHAIN;
}
static inline struct scatterlist *sg_chain_ptr(const struct scatterlist *sg)
{
	return (struct scatterlist *)(sg->page_link & ~(SG_CHAIN | SG_END));
}
static inline struct scatterlist *sg_next(struct scatterlist *sg)
{
	if (sg_is_last(sg))
		return NULL;
	sg++;
	return sg_is_chain(sg) ? sg_chain_ptr(sg) : sg;
}
/* Makes entry @n - 1 of @prv a link to @next (which has its own end). */
static inline void sg_chain(struct scatterlist *prv, unsigned int n,
			    struct scatterlist *next)
{
	prv[n - 1].offset = 0;
	prv[n - 1].length = 0;
	prv[n - 1].page_link = (uintptr_t)next | SG_CHAIN;
}
static inline struct page *sg_page(const struct scatterlist *sg)
{
	return (struct page *)(sg->page_link & ~(PAGE_SIZE - 1));
}
static inline phys_addr_t sg_phys(const struct scatterlist *sg)
{
	return (phys_addr_t)(uintptr_t)sg_page(sg) + sg->offset;
}
static inline void sg_set_buf(struct scatterlist *sg, const void *buf,
			      unsigned int len)
{
	uintptr_t p = (uintptr_t)buf;

	sg->page_link = (p & ~(PAGE_SIZE - 1)) | (sg->page_link & SG_END);
	sg->offset = p & (PAGE_SIZE - 1);
	sg->length = len;
}
static inline void sg_mark_end(struct scatterlist *sg)
{
	sg->page_link |= SG_END;
}
static inline void sg_init_table(struct scatterlist *sg, unsigned int n)
{
	memset(sg, 0, n * sizeof(*sg));
	sg_mark_end(&sg[n - 1]);
}
static inline void sg_init_one(struct scatterlist *sg, const void *buf,
			       unsigned int len)
{
	sg_init_table(sg, 1);
	sg_set_buf(sg, buf, len);
}

/* DMA: tracked streaming mappings and coherent allocations. */
enum dma_data_direction {
	DMA_BIDIRECTIONAL = 0,
	DMA_TO_DEVICE = 1,
	DMA_FROM_DEVICE = 2,
	DMA_NONE = 3,
};
#define SHIM_DMA_OFFSET		(1ULL << 60)
#define DMA_MAPPING_ERROR	(~(dma_addr_t)0)

dma_addr_t shim_dma_map(struct device *dev, void *cpu, size_t size,
			enum dma_data_direction dir, bool single);
void shim_dma_unmap(struct device *dev, dma_addr_t addr, size_t size,
		    enum dma_data_direction dir, bool single);
void *dma_alloc_coherent(struct device *dev, size_t size, dma_addr_t *handle,
			 gfp_t gfp);
void dma_free_coherent(struct device *dev, size_t size, void *cpu,
		       dma_addr_t handle);
#define dma_map_page(d, page, off, size, dir) \
	shim_dma_map((d), (char *)(page) + (off), (size), (dir), false)
#define dma_unmap_page(d, a, size, dir) \
	shim_dma_unmap((d), (a), (size), (dir), false)
#define dma_map_single(d, p, size, dir) \
	shim_dma_map((d), (p), (size), (dir), true)
#define dma_unmap_single(d, a, size, dir) \
	shim_dma_unmap((d), (a), (size), (dir), true)
#define page_to_phys(page)	((phys_addr_t)(uintptr_t)(page))
static inline bool dma_need_sync(struct device *dev, dma_addr_t a)
{
	return false;
}
#define dma_sync_single_range_for_cpu(d, a, o, s, dir)	do { } while (0)
#define dma_sync_single_range_for_device(d, a, o, s, dir) do { } while (0)
static inline int dma_mapping_error(struct device *dev, dma_addr_t a)
{
	(void)dev;
	return a == DMA_MAPPING_ERROR;
}

/* debugfs and seq_file: enough to read a file back in a test. */
struct seq_file {
	char *buf;
	size_t size;
	size_t count;
	void *private;
};
void seq_printf(struct seq_file *s, const char *fmt, ...) __printf(2, 3);
struct file_operations {
	int (*show)(struct seq_file *s, void *unused);
};
#define DEFINE_SHOW_ATTRIBUTE(__name)					\
	static const struct file_operations __name ## _fops = {		\
		.show = __name ## _show,				\
	}
struct dentry {
	char name[64];
	void *data;
	const struct file_operations *fops;
	struct dentry *parent;
};
typedef unsigned short umode_t;
struct dentry *debugfs_create_file(const char *name, umode_t mode,
				   struct dentry *parent, void *data,
				   const struct file_operations *fops);
void debugfs_remove(struct dentry *d);

/* ---- test-side hooks (shim.c) ---- */

/* Failure injection. */
extern bool shim_kmalloc_fail;		/* kmalloc/kmalloc_array fail */
extern size_t shim_area_limit;		/* ring areas larger than this fail (0: none) */
extern long shim_dma_map_budget;	/* maps left before failing (-1: unlimited) */

/* Log lines seen (dev_err and friends). */
extern unsigned int shim_log_count;
extern char shim_log_last[512];
extern bool shim_log_quiet;

/* Tracking. */
unsigned int shim_dma_live(void);	/* streaming mappings outstanding */
unsigned int shim_debugfs_live(void);
int shim_debugfs_read(struct dentry *d, char *buf, size_t size);
/* Registers test memory the device may access in physical mode. */
void shim_mem_register(void *p, size_t size);
void shim_mem_unregister(void *p);
/*
 * What the simulated device calls to turn an address it was given into a
 * pointer: NULL unless [addr, addr + len) lies inside one live mapping
 * (DMA mode) or known allocation (physical mode) that allows the access.
 */
void *shim_dev_access(u64 addr, size_t len, bool write, bool dma);
void shim_reset(void);

#endif /* _VIREO_KSHIM_H */
