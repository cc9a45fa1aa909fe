// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace side of kshim.h: tracked allocations and DMA mappings,
 * failure injection, logging and a debugfs stand-in.
 */
#include "kshim.h"

bool shim_kmalloc_fail;
size_t shim_area_limit;
long shim_dma_map_budget = -1;
unsigned int shim_log_count;
char shim_log_last[512];
bool shim_log_quiet;

/* ---------------------------------------------------------------------- */
/* Memory regions: allocations, test buffers, DMA mappings                 */
/* ---------------------------------------------------------------------- */

enum region_kind {
	R_KMALLOC,	/* kmalloc & co: device may read in physical mode */
	R_PAGES,	/* alloc_pages_exact: ring memory, physical mode */
	R_TEST,		/* test buffers */
	R_COHERENT,	/* dma_alloc_coherent: ring memory, DMA mode */
	R_MAP,		/* streaming mapping */
};

struct region {
	enum region_kind kind;
	char *cpu;
	size_t size;
	dma_addr_t dma;			/* R_COHERENT, R_MAP */
	enum dma_data_direction dir;	/* R_MAP */
	bool single;			/* R_MAP: map_single vs map_page */
};

static struct region *regions;
static size_t nregions, cap_regions;

static void region_add(const struct region *r)
{
	if (nregions == cap_regions) {
		cap_regions = cap_regions ? cap_regions * 2 : 256;
		regions = realloc(regions, cap_regions * sizeof(*regions));
		if (!regions)
			abort();
	}
	regions[nregions++] = *r;
}

static void region_remove(size_t i)
{
	regions[i] = regions[--nregions];
}

static long region_find_cpu(enum region_kind kind, const void *cpu)
{
	size_t i;

	for (i = 0; i < nregions; i++)
		if (regions[i].kind == kind && regions[i].cpu == cpu)
			return (long)i;
	return -1;
}

static void shim_die(const char *what, const void *p)
{
	fprintf(stderr, "shim: %s (%p)\n", what, p);
	abort();
}

void *shim_kmalloc(size_t size, gfp_t gfp, bool zero, bool may_fail)
{
	struct region r = { .kind = R_KMALLOC, .size = size };

	if (may_fail && shim_kmalloc_fail)
		return NULL;
	r.cpu = malloc(size ? size : 1);
	if (!r.cpu)
		return NULL;
	if (zero || (gfp & __GFP_ZERO))
		memset(r.cpu, 0, size);
	else
		memset(r.cpu, 0xa5, size);	/* uninitialised, visibly */
	region_add(&r);
	return r.cpu;
}

void shim_kfree(const void *p)
{
	long i;

	if (!p)
		return;
	i = region_find_cpu(R_KMALLOC, p);
	if (i < 0)
		shim_die("kfree of unknown pointer", p);
	region_remove(i);
	free((void *)p);
}

static void *shim_pages(size_t size)
{
	size_t rounded = ALIGN(size, PAGE_SIZE);
	void *p;

	if (shim_area_limit && size > shim_area_limit)
		return NULL;
	p = aligned_alloc(PAGE_SIZE, rounded);
	if (p)
		memset(p, 0, rounded);
	return p;
}

void *alloc_pages_exact(size_t size, gfp_t gfp)
{
	struct region r = { .kind = R_PAGES, .size = size };

	(void)gfp;
	r.cpu = shim_pages(size);
	if (r.cpu)
		region_add(&r);
	return r.cpu;
}

void free_pages_exact(void *va, size_t size)
{
	long i = region_find_cpu(R_PAGES, va);

	if (i < 0 || regions[i].size != size)
		shim_die("free_pages_exact mismatch", va);
	region_remove(i);
	free(va);
}

void shim_mem_register(void *p, size_t size)
{
	struct region r = { .kind = R_TEST, .cpu = p, .size = size };

	region_add(&r);
}

void shim_mem_unregister(void *p)
{
	long i = region_find_cpu(R_TEST, p);

	if (i < 0)
		shim_die("unregister of unknown test memory", p);
	region_remove(i);
}

/* The memory a streaming mapping covers must be memory we know of. */
static bool shim_known_cpu(const char *cpu, size_t size)
{
	size_t i;

	for (i = 0; i < nregions; i++) {
		const struct region *r = &regions[i];

		if (r->kind == R_MAP || r->kind == R_COHERENT)
			continue;
		if (cpu >= r->cpu && cpu + size <= r->cpu + r->size)
			return true;
	}
	return false;
}

dma_addr_t shim_dma_map(struct device *dev, void *cpu, size_t size,
			enum dma_data_direction dir, bool single)
{
	struct region r = {
		.kind = R_MAP, .cpu = cpu, .size = size,
		.dir = dir, .single = single,
	};

	if (!dev)
		shim_die("DMA mapping without a device", cpu);
	if (!shim_known_cpu(cpu, size))
		shim_die("DMA mapping of unknown memory", cpu);
	if (shim_dma_map_budget == 0)
		return DMA_MAPPING_ERROR;
	if (shim_dma_map_budget > 0)
		shim_dma_map_budget--;
	r.dma = (dma_addr_t)(uintptr_t)cpu + SHIM_DMA_OFFSET;
	region_add(&r);
	return r.dma;
}

void shim_dma_unmap(struct device *dev, dma_addr_t addr, size_t size,
		    enum dma_data_direction dir, bool single)
{
	size_t i;

	(void)dev;
	for (i = 0; i < nregions; i++) {
		struct region *r = &regions[i];

		if (r->kind == R_MAP && r->dma == addr && r->size == size &&
		    r->dir == dir && r->single == single) {
			region_remove(i);
			return;
		}
	}
	fprintf(stderr, "shim: unmap of %#llx len %zu dir %d single %d matches no mapping\n",
		addr, size, dir, single);
	abort();
}

void *dma_alloc_coherent(struct device *dev, size_t size, dma_addr_t *handle,
			 gfp_t gfp)
{
	struct region r = { .kind = R_COHERENT, .size = size };

	(void)gfp;
	if (!dev)
		shim_die("coherent allocation without a device", NULL);
	r.cpu = shim_pages(size);
	if (!r.cpu)
		return NULL;
	r.dma = (dma_addr_t)(uintptr_t)r.cpu + SHIM_DMA_OFFSET;
	*handle = r.dma;
	region_add(&r);
	return r.cpu;
}

void dma_free_coherent(struct device *dev, size_t size, void *cpu,
		       dma_addr_t handle)
{
	long i = region_find_cpu(R_COHERENT, cpu);

	(void)dev;
	if (i < 0 || regions[i].size != size || regions[i].dma != handle)
		shim_die("dma_free_coherent mismatch", cpu);
	region_remove(i);
	free(cpu);
}

unsigned int shim_dma_live(void)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < nregions; i++)
		n += regions[i].kind == R_MAP;
	return n;
}

void *shim_dev_access(u64 addr, size_t len, bool write, bool dma)
{
	size_t i;

	for (i = 0; i < nregions; i++) {
		const struct region *r = &regions[i];
		u64 start;

		if (dma) {
			if (r->kind != R_MAP && r->kind != R_COHERENT)
				continue;
			/* The device may not write what it was given to read. */
			if (write && r->kind == R_MAP && r->dir == DMA_TO_DEVICE)
				continue;
			start = r->dma;
		} else {
			if (r->kind == R_MAP || r->kind == R_COHERENT)
				continue;
			/* Writes only into test buffers and ring memory. */
			if (write && r->kind == R_KMALLOC)
				continue;
			start = (u64)(uintptr_t)r->cpu;
		}
		if (addr >= start && len <= r->size && addr - start <= r->size - len)
			return r->cpu + (addr - start);
	}
	return NULL;
}

void shim_reset(void)
{
	shim_kmalloc_fail = false;
	shim_area_limit = 0;
	shim_dma_map_budget = -1;
	shim_log_count = 0;
	shim_log_last[0] = 0;
}

/* ---------------------------------------------------------------------- */
/* Logging, with the kernel's %pV                                          */
/* ---------------------------------------------------------------------- */

/*
 * Formats @fmt conversion by conversion so that %pV can be expanded; the
 * rest goes through vsnprintf one conversion at a time.
 */
static void shim_vformat(char *out, size_t size, const char *fmt, va_list ap)
{
	size_t used = 0;
	const char *p = fmt;

	out[0] = 0;
	while (*p && used + 1 < size) {
		const char *start = p;
		char spec[32];
		size_t n;
		int lng = 0;

		if (*p != '%') {
			out[used++] = *p++;
			out[used] = 0;
			continue;
		}
		p++;
		if (*p == '%') {
			out[used++] = '%';
			out[used] = 0;
			p++;
			continue;
		}
		while (*p && strchr("#-+ 0123456789.", *p))
			p++;
		while (*p == 'l' || *p == 'h' || *p == 'z') {
			lng += *p == 'l' ? 1 : (*p == 'z' ? 2 : 0);
			p++;
		}
		p++;	/* the conversion */
		n = (size_t)(p - start);
		if (n >= sizeof(spec))
			abort();
		memcpy(spec, start, n);
		spec[n] = 0;

		if (spec[n - 1] == 'p' && *p == 'V') {
			struct va_format *vaf = va_arg(ap, struct va_format *);
			va_list inner;

			p++;
			va_copy(inner, *vaf->va);
			vsnprintf(out + used, size - used, vaf->fmt, inner);
			va_end(inner);
		} else if (spec[n - 1] == 's') {
			snprintf(out + used, size - used, spec, va_arg(ap, const char *));
		} else if (spec[n - 1] == 'p') {
			snprintf(out + used, size - used, spec, va_arg(ap, void *));
		} else if (lng >= 2) {
			snprintf(out + used, size - used, spec, va_arg(ap, long long));
		} else if (lng == 1) {
			snprintf(out + used, size - used, spec, va_arg(ap, long));
		} else {
			snprintf(out + used, size - used, spec, va_arg(ap, int));
		}
		used += strlen(out + used);
	}
}

void shim_dev_printk(const char *level, const struct device *dev,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	shim_vformat(shim_log_last, sizeof(shim_log_last), fmt, ap);
	va_end(ap);
	shim_log_count++;
	if (!shim_log_quiet)
		fprintf(stderr, "# [%s] %s: %s", level, dev_name(dev), shim_log_last);
}

/* ---------------------------------------------------------------------- */
/* debugfs and seq_file                                                    */
/* ---------------------------------------------------------------------- */

static unsigned int debugfs_files;

struct dentry *debugfs_create_file(const char *name, umode_t mode,
				   struct dentry *parent, void *data,
				   const struct file_operations *fops)
{
	struct dentry *d = calloc(1, sizeof(*d));

	(void)mode;
	if (!d)
		return ERR_PTR(-ENOMEM);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->parent = parent;
	d->data = data;
	d->fops = fops;
	debugfs_files++;
	return d;
}

void debugfs_remove(struct dentry *d)
{
	if (IS_ERR_OR_NULL(d))
		return;
	debugfs_files--;
	free(d);
}

unsigned int shim_debugfs_live(void)
{
	return debugfs_files;
}

void seq_printf(struct seq_file *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->count >= s->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->buf + s->count, s->size - s->count, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->count = min(s->size, s->count + (size_t)n);
}

int shim_debugfs_read(struct dentry *d, char *buf, size_t size)
{
	struct seq_file s = { .buf = buf, .size = size, .private = d->data };

	buf[0] = 0;
	return d->fops->show(&s, NULL);
}
