// SPDX-License-Identifier: GPL-2.0
/*
 * Regular files: open handles, reads through the page cache (read_folio,
 * readahead), writes through to the daemon (the written range of the cache
 * is dropped, as the in-tree FUSE client does without a writeback cache),
 * shared mmap written back by writepages, direct I/O, and the remaining
 * file operations (flush, fsync, fallocate, lseek).
 */
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/writeback.h>

#include "fs.h"

struct vf_file *vf_file_alloc(struct vf_dev *dev)
{
	struct vf_file *ff = kzalloc(sizeof(*ff), GFP_KERNEL);

	if (ff) {
		ff->dev = dev;
		INIT_LIST_HEAD(&ff->node);
		mutex_init(&ff->dir_lock);
	}
	return ff;
}

void vf_file_install(struct inode *inode, struct file *file,
		     struct vf_file *ff)
{
	struct vf_inode *vi = VF_I(inode);

	file->private_data = ff;
	ff->writable = !!(file->f_mode & FMODE_WRITE);
	if (S_ISREG(inode->i_mode)) {
		spin_lock(&vi->lock);
		list_add_tail(&ff->node, &vi->open_files);
		spin_unlock(&vi->lock);
		if (ff->open_flags & FOPEN_NONSEEKABLE)
			nonseekable_open(inode, file);
		if (ff->open_flags & FOPEN_STREAM)
			stream_open(inode, file);
	}
}

/*
 * The flags of an OPEN or CREATE of a regular file. With a writeback cache
 * the page cache reads what a partial write of a page does not cover, by
 * the writer's own handle: O_WRONLY opens as O_RDWR. And the guest puts an
 * append at its own size, which the host's may be behind: no O_APPEND.
 */
u32 vf_open_flags(struct vf_dev *dev, u32 flags)
{
	if (!(dev->conn.flags & FUSE_WRITEBACK_CACHE))
		return flags;
	if ((flags & O_ACCMODE) == O_WRONLY)
		flags = (flags & ~O_ACCMODE) | O_RDWR;
	return flags & ~O_APPEND;
}

int vf_open_common(struct inode *inode, struct file *file, bool dir)
{
	struct vf_dev *dev = VF_DEV(inode);
	struct fuse_open_in in = {
		.flags = file->f_flags & ~(O_CREAT | O_EXCL | O_NOCTTY),
	};
	struct fuse_open_out out;
	struct vf_args a = {
		.opcode = dir ? FUSE_OPENDIR : FUSE_OPEN,
		.nodeid = VF_I(inode)->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
		.out = &out,
		.out_size = sizeof(out),
		.out_exact = true,
	};
	struct vf_file *ff;
	bool trunc;
	int err;

	if (!dir) {
		err = generic_file_open(inode, file);
		if (err)
			return err;
	}
	if (!(dev->conn.flags & FUSE_ATOMIC_O_TRUNC))
		in.flags &= ~O_TRUNC;
	if (!dir)
		in.flags = vf_open_flags(dev, in.flags);
	trunc = !dir && (in.flags & O_TRUNC);
	ff = vf_file_alloc(dev);
	if (!ff)
		return -ENOMEM;
	/*
	 * The daemon truncates in OPEN (ATOMIC_O_TRUNC). Dirty pages of the
	 * file go out before (a WRITE after the truncation would bring old
	 * bytes back), and none is dirtied until the page cache is cut too:
	 * writes wait on the inode's lock, mmap stores on the invalidate lock
	 * (vf_page_mkwrite).
	 */
	if (trunc) {
		inode_lock(inode);
		mutex_lock(&VF_I(inode)->io_lock);
		filemap_invalidate_lock(inode->i_mapping);
		err = filemap_write_and_wait(inode->i_mapping);
		if (!err)
			err = vf_send(dev, &a);
		if (!err) {
			i_size_write(inode, 0);
			truncate_pagecache(inode, 0);
		}
		filemap_invalidate_unlock(inode->i_mapping);
		mutex_unlock(&VF_I(inode)->io_lock);
		inode_unlock(inode);
	} else {
		err = vf_send(dev, &a);
	}
	if (err) {
		kfree(ff);
		return err;
	}
	ff->fh = out.fh;
	ff->open_flags = out.open_flags;
	ff->nodeid = VF_I(inode)->nodeid;
	vf_file_install(inode, file, ff);
	if (!dir && !(ff->open_flags & FOPEN_KEEP_CACHE)) {
		/* Dirty pages of the guest's own go out first, in batches. */
		if (vf_wb_cache(inode))
			filemap_write_and_wait(inode->i_mapping);
		invalidate_inode_pages2(inode->i_mapping);
	}
	if (trunc)
		vf_invalidate_attr(inode);
	return 0;
}

void vf_release_common(struct inode *inode, struct file *file, bool dir)
{
	struct vf_file *ff = file->private_data;
	struct vf_inode *vi = VF_I(inode);
	struct fuse_release_in in = {
		.fh = ff->fh,
		.flags = file->f_flags,
	};
	struct vf_args a = {
		.opcode = dir ? FUSE_RELEASEDIR : FUSE_RELEASE,
		.nodeid = ff->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
		.force = true,
	};

	/* flock(2) of this file is dropped with it (lock.c). */
	if (!dir && ff->flock) {
		in.release_flags |= FUSE_RELEASE_FLOCK_UNLOCK;
		in.lock_owner = vf_lock_owner(ff->dev, file);
	}
	if (!dir) {
		/* Pages dirtied through mmap go out with this handle. */
		if (ff->writable)
			filemap_write_and_wait(inode->i_mapping);
		spin_lock(&vi->lock);
		list_del_init(&ff->node);
		spin_unlock(&vi->lock);
		/* A writeback that picked this handle is finished after this. */
		filemap_fdatawait(inode->i_mapping);
	}
	vf_send(ff->dev, &a);
	kfree(ff->dir_buf);
	kfree(ff);
}

static int vf_file_open(struct inode *inode, struct file *file)
{
	return vf_open_common(inode, file, false);
}

static int vf_file_release(struct inode *inode, struct file *file)
{
	vf_release_common(inode, file, false);
	return 0;
}

/* A handle for I/O without a file (writeback, read_folio from a fault). */
bool vf_pick_fh(struct inode *inode, bool write, u64 *fh)
{
	struct vf_inode *vi = VF_I(inode);
	struct vf_file *ff;
	bool found = false;

	spin_lock(&vi->lock);
	list_for_each_entry(ff, &vi->open_files, node) {
		if (!write || ff->writable) {
			*fh = ff->fh;
			found = true;
			break;
		}
	}
	spin_unlock(&vi->lock);
	return found;
}

static bool file_fh(struct file *file, struct inode *inode, bool write,
		    u64 *fh)
{
	struct vf_file *ff = file ? file->private_data : NULL;

	if (ff && (!write || ff->writable)) {
		*fh = ff->fh;
		return true;
	}
	return vf_pick_fh(inode, write, fh);
}

/*
 * READ of @len bytes at @pos into @pages (from @off in the first); returns
 * the bytes read or an error.
 */
/* A READ of @len bytes at @pos into @pages (from @off in the first). */
static void read_args(struct vf_args *a, struct fuse_read_in *in,
		      struct inode *inode, u64 fh, loff_t pos,
		      struct page **pages, unsigned int nr, unsigned int off,
		      unsigned int len, u32 flags)
{
	*in = (struct fuse_read_in) {
		.fh = fh,
		.offset = pos,
		.size = len,
		.flags = flags,
	};
	*a = (struct vf_args) {
		.opcode = FUSE_READ,
		.nodeid = VF_I(inode)->nodeid,
		.nr_in = 1,
		.in = { in },
		.in_size = { sizeof(*in) },
		.pages = pages,
		.nr_pages = nr,
		.page_off = off,
		.data_len = len,
		.pagecache = true,
	};
}

static ssize_t send_read(struct inode *inode, u64 fh, loff_t pos,
			 struct page **pages, unsigned int nr,
			 unsigned int off, unsigned int len, u32 flags)
{
	struct fuse_read_in in;
	struct vf_args a;
	int err;

	read_args(&a, &in, inode, fh, pos, pages, nr, off, len, flags);
	err = vf_send(VF_DEV(inode), &a);
	if (err)
		return err;
	return a.data_len;
}

/* A WRITE of @len bytes at @pos from @pages (from @off in the first). */
static void write_args(struct vf_args *a, struct fuse_write_in *in,
		       struct inode *inode, u64 fh, loff_t pos,
		       struct page **pages, unsigned int nr, unsigned int off,
		       unsigned int len, u32 write_flags, u32 flags,
		       struct fuse_write_out *out)
{
	*in = (struct fuse_write_in) {
		.fh = fh,
		.offset = pos,
		.size = len,
		.write_flags = write_flags,
		.flags = flags,
	};
	*a = (struct vf_args) {
		.opcode = FUSE_WRITE,
		.nodeid = VF_I(inode)->nodeid,
		.nr_in = 1,
		.in = { in },
		.in_size = { sizeof(*in) },
		.out = out,
		.out_size = sizeof(*out),
		.out_exact = true,
		.pages = pages,
		.nr_pages = nr,
		.page_off = off,
		.data_len = len,
		.data_out = true,
		.pagecache = true,
	};
}

static ssize_t send_write(struct inode *inode, u64 fh, loff_t pos,
			  struct page **pages, unsigned int nr,
			  unsigned int off, unsigned int len, u32 write_flags,
			  u32 flags)
{
	struct fuse_write_out out;
	struct fuse_write_in in;
	struct vf_args a;
	int err;

	write_args(&a, &in, inode, fh, pos, pages, nr, off, len, write_flags,
		   flags, &out);
	err = vf_send(VF_DEV(inode), &a);
	if (err)
		return err;
	if (out.size > len) {
		pr_err_ratelimited("vireo_fs %s: WRITE of %u bytes reports %u written: EIO\n",
				   VF_DEV(inode)->tag, len, out.size);
		return -EIO;
	}
	return out.size;
}

/* One asynchronous readahead READ: its folios, locked until it ends. */
struct vf_ra {
	struct inode *inode;		/* held by the locked folios */
	unsigned int nr;
	struct folio *folios[];
};

/*
 * The outcome of a readahead READ of @nr pages from @index: a failure is
 * noted for read_folio, a success of that range forgets an older failure.
 */
static void ra_note(struct inode *inode, pgoff_t index, unsigned int nr,
		    int err)
{
	struct vf_inode *vi = VF_I(inode);
	unsigned long flags;

	spin_lock_irqsave(&vi->ra_lock, flags);
	if (err) {
		vi->ra_err = err;
		vi->ra_index = index;
		vi->ra_nr = nr;
	} else if (vi->ra_err && vi->ra_index >= index &&
		   vi->ra_index < index + nr) {
		vi->ra_err = 0;
	}
	spin_unlock_irqrestore(&vi->ra_lock, flags);
}

/*
 * read_folio of a folio a failed readahead READ left !uptodate: that
 * READ's error (once for its range), so that what the daemon or a bad
 * reply said reaches read(2) instead of being asked again.
 */
static int ra_take_error(struct inode *inode, pgoff_t index)
{
	struct vf_inode *vi = VF_I(inode);
	unsigned long flags;
	int err = 0;

	if (!READ_ONCE(vi->ra_err))
		return 0;
	spin_lock_irqsave(&vi->ra_lock, flags);
	if (vi->ra_err && index >= vi->ra_index &&
	    index < vi->ra_index + vi->ra_nr) {
		err = vi->ra_err;
		vi->ra_err = 0;
	}
	spin_unlock_irqrestore(&vi->ra_lock, flags);
	return err;
}

/* Reads a locked folio from the daemon; it stays locked. */
static int fill_folio(struct file *file, struct folio *folio)
{
	struct inode *inode = folio->mapping->host;
	unsigned int i, nr = folio_nr_pages(folio);
	size_t size = folio_size(folio);
	struct page *pages[16];
	ssize_t got;
	u64 fh;

	if (nr > ARRAY_SIZE(pages) || !file_fh(file, inode, false, &fh))
		return -EIO;
	got = ra_take_error(inode, folio->index);
	if (got)
		return got;
	for (i = 0; i < nr; i++)
		pages[i] = folio_page(folio, i);
	got = send_read(inode, fh, folio_pos(folio), pages, nr, 0, size, 0);
	if (got < 0)
		return got;
	if (got < size)
		folio_zero_segment(folio, got, size);
	folio_mark_uptodate(folio);
	return 0;
}

static int vf_read_folio(struct file *file, struct folio *folio)
{
	int err = fill_folio(file, folio);

	folio_unlock(folio);
	return err;
}

/*
 * Ends the folios of @nr pages: with @got >= 0 bytes read they are filled
 * (the rest of a short read zeroed: past the host's EOF) and uptodate;
 * on an error they stay !uptodate, and read_folio, which the page cache
 * calls for a folio it finds so, returns the error to read(2) (noted by
 * ra_note; a read after that asks again). Either way they are unlocked.
 */
static void ra_end_folios(struct folio **folios, unsigned int nr, ssize_t got)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		ssize_t at = (ssize_t)i * PAGE_SIZE;

		if (got >= 0) {
			if (got < at + (ssize_t)PAGE_SIZE)
				folio_zero_segment(folios[i],
						   max_t(ssize_t, got - at, 0),
						   PAGE_SIZE);
			folio_mark_uptodate(folios[i]);
		}
		folio_unlock(folios[i]);
	}
}

/* The reply path (or a reset's reclaim): the READ of a readahead is back. */
static void ra_read_end(struct vf_req *req, ssize_t result)
{
	struct vf_ra *ra = req->priv;

	ra_note(ra->inode, ra->folios[0]->index, ra->nr,
		result < 0 ? (int)result : 0);
	ra_end_folios(ra->folios, ra->nr, result);
	kfree(ra);
}

/* Sends the READ of @ra's folios (@pages) at @pos. */
static int ra_send(struct inode *inode, u64 fh, loff_t pos,
		   struct page **pages, struct vf_ra *ra)
{
	struct fuse_read_in in;
	struct vf_args a;

	read_args(&a, &in, inode, fh, pos, pages, ra->nr, 0,
		  ra->nr * PAGE_SIZE, 0);
	return vf_send_async(VF_DEV(inode), &a, ra_read_end, ra);
}

/*
 * Readahead: the window goes out as READs of up to max_pages consecutive
 * pages each, straight into the page cache folios, all at once and spread
 * over the request queues; nobody waits for them. Each READ's folios are
 * filled, marked uptodate and unlocked where its reply comes in
 * (ra_read_end), so the daemon reads the next READs while the reader
 * copies what came. (Folios are single pages: large folios are not enabled
 * on the mapping.) A READ that cannot be sent leaves its folios and the
 * rest of the window !uptodate: read_folio fetches them on demand.
 */
static void vf_readahead(struct readahead_control *rac)
{
	struct inode *inode = rac->mapping->host;
	struct vf_dev *dev = VF_DEV(inode);
	struct page *pages[VF_MAX_PAGES];
	unsigned int max = dev->conn.max_pages, nr;
	struct folio *folio;
	struct vf_ra *ra;
	loff_t pos;
	int err;
	u64 fh;

	if (!file_fh(rac->file, inode, false, &fh))
		return;
	for (;;) {
		nr = min_t(unsigned int, max, readahead_count(rac));
		if (!nr)
			return;
		ra = kmalloc(struct_size(ra, folios, nr), GFP_NOFS | __GFP_NOWARN);
		if (!ra)
			return;
		ra->inode = inode;
		ra->nr = 0;
		while (ra->nr < nr && (folio = readahead_folio(rac))) {
			if (folio_nr_pages(folio) != 1) {
				folio_unlock(folio);
				break;
			}
			ra->folios[ra->nr] = folio;
			pages[ra->nr++] = folio_page(folio, 0);
		}
		if (!ra->nr) {
			kfree(ra);
			return;
		}
		/*
		 * Not readahead_pos(): until the next readahead_folio() it
		 * still points at the last folio handed out.
		 */
		pos = folio_pos(ra->folios[0]);
		err = ra_send(inode, fh, pos, pages, ra);
		if (err) {
			/* Not sent: unlocked !uptodate, for read_folio. */
			ra_end_folios(ra->folios, ra->nr, err);
			kfree(ra);
			return;
		}
	}
}

/* WRITE of one locked folio's bytes below EOF; returns 0 or an error. */
static int write_folio(struct inode *inode, struct folio *folio)
{
	unsigned int i, nr = folio_nr_pages(folio);
	loff_t pos = folio_pos(folio), size = i_size_read(inode);
	struct page *pages[16];
	unsigned int len;
	ssize_t done;
	u64 fh;

	if (pos >= size)
		return 0;
	len = min_t(loff_t, folio_size(folio), size - pos);
	if (nr > ARRAY_SIZE(pages))
		return -EIO;
	if (!vf_pick_fh(inode, true, &fh)) {
		pr_err_ratelimited("vireo_fs %s: no writable handle for dirty pages of node %llu: dropped\n",
				   VF_DEV(inode)->tag, VF_I(inode)->nodeid);
		return -EIO;
	}
	for (i = 0; i < nr; i++)
		pages[i] = folio_page(folio, i);
	done = send_write(inode, fh, pos, pages, nr, 0, len, FUSE_WRITE_CACHE, 0);
	if (done < 0)
		return done;
	return done == len ? 0 : -EIO;
}

/*
 * writepages: a run of consecutive dirty folios under writeback (single
 * pages, as the mapping has no large folios), sent as one WRITE of up to
 * max_write bytes once the run ends.
 */
struct vf_wb_run {
	struct inode *inode;
	unsigned int nr, max;
	pgoff_t next;			/* index the run goes on with */
	struct page *pages[VF_MAX_PAGES];
};

/* An asynchronous WRITE of a run: its pages stay under writeback until it ends. */
struct vf_wb_write {
	struct inode *inode;		/* held by the pages under writeback */
	unsigned int nr, len;
	struct fuse_write_out out;
	struct page *pages[];
};

/* A run's WRITE ended with @err: the writeback of its @nr pages too. */
static void run_done(struct inode *inode, struct page **pages,
		     unsigned int nr, int err)
{
	unsigned int i;

	if (err)
		mapping_set_error(inode->i_mapping, err);
	for (i = 0; i < nr; i++)
		folio_end_writeback(page_folio(pages[i]));
}

/* The reply path (or a reset's reclaim): a run's WRITE is back. */
static void run_write_end(struct vf_req *req, ssize_t result)
{
	struct vf_wb_write *w = req->priv;
	int err = result < 0 ? result : 0;

	if (!err && w->out.size > w->len) {
		pr_err_ratelimited("vireo_fs %s: WRITE of %u bytes reports %u written: EIO\n",
				   VF_DEV(w->inode)->tag, w->len, w->out.size);
		err = -EIO;
	} else if (!err && w->out.size < w->len) {
		err = -EIO;
	}
	run_done(w->inode, w->pages, w->nr, err);
	kfree(w);
}

/*
 * The WRITE of @run's pages (below EOF), sent asynchronously: the daemon
 * gets the next runs while it writes this one; fsync, close and release
 * wait for the pages' writeback. Synchronously if there is no memory for
 * that.
 */
static void run_send(struct vf_wb_run *run)
{
	struct inode *inode = run->inode;
	loff_t pos, size = i_size_read(inode);
	unsigned int len, nr;
	struct fuse_write_in in;
	struct vf_wb_write *w;
	struct vf_args a;
	ssize_t done;
	int err = 0;
	u64 fh;

	if (!run->nr)
		return;
	pos = page_offset(run->pages[0]);
	if (pos >= size)
		goto out;
	len = min_t(loff_t, (loff_t)run->nr * PAGE_SIZE, size - pos);
	nr = DIV_ROUND_UP(len, PAGE_SIZE);
	/* After the folios went under writeback: release waits for it. */
	if (!vf_pick_fh(inode, true, &fh)) {
		pr_err_ratelimited("vireo_fs %s: no writable handle for dirty pages of node %llu: dropped\n",
				   VF_DEV(inode)->tag, VF_I(inode)->nodeid);
		err = -EIO;
		goto out;
	}
	w = kmalloc(struct_size(w, pages, run->nr), GFP_NOFS | __GFP_NOWARN);
	if (w) {
		w->inode = inode;
		w->nr = run->nr;
		w->len = len;
		memcpy(w->pages, run->pages, run->nr * sizeof(*run->pages));
		write_args(&a, &in, inode, fh, pos, w->pages, nr, 0, len,
			   FUSE_WRITE_CACHE, 0, &w->out);
		if (!vf_send_async(VF_DEV(inode), &a, run_write_end, w)) {
			run->nr = 0;
			return;
		}
		kfree(w);
	}
	done = send_write(inode, fh, pos, run->pages, nr, 0, len,
			  FUSE_WRITE_CACHE, 0);
	if (done < 0)
		err = done;
	else if (done != len)
		err = -EIO;
out:
	run_done(inode, run->pages, run->nr, err);
	run->nr = 0;
}

static int vf_writepage_cb(VIREO_WRITEPAGE_ARG, struct writeback_control *wbc,
			   void *data)
{
	struct folio *folio = VIREO_WRITEPAGE_FOLIO;
	struct vf_wb_run *run = data;
	int err;

	if (run->nr && (run->nr == run->max || folio->index != run->next ||
			folio_nr_pages(folio) != 1))
		run_send(run);
	folio_start_writeback(folio);
	folio_unlock(folio);
	if (folio_nr_pages(folio) != 1) {
		err = write_folio(run->inode, folio);
		if (err)
			mapping_set_error(folio->mapping, err);
		folio_end_writeback(folio);
		return 0;
	}
	run->pages[run->nr++] = folio_page(folio, 0);
	run->next = folio->index + 1;
	return 0;
}

static int vf_writepages(struct address_space *mapping,
			 struct writeback_control *wbc)
{
	struct vf_wb_run run = {
		.inode = mapping->host,
		.max = clamp_t(u32, VF_DEV(mapping->host)->conn.max_write >> PAGE_SHIFT,
			       1, VF_MAX_PAGES),
	};
	int err;

	err = write_cache_pages(mapping, wbc, vf_writepage_cb, &run);
	run_send(&run);
	return err;
}

/*
 * Writeback cache: a buffered write into the page cache. A page the write
 * covers only in part is read first unless it is uptodate or lies wholly
 * past EOF (then its other bytes are zeros).
 */
static int vf_write_begin(struct file *file, struct address_space *mapping,
			  loff_t pos, unsigned int len, VIREO_WB_PAGE **pagep,
			  void **fsdata)
{
	unsigned int off = offset_in_page(pos);
	struct folio *folio;
	int err;

	folio = vireo_write_begin_folio(mapping, pos >> PAGE_SHIFT);
	if (!folio)
		return -ENOMEM;
	if (folio_test_uptodate(folio) || len >= folio_size(folio))
		goto out;
	if (folio_pos(folio) >= i_size_read(mapping->host)) {
		folio_zero_segments(folio, 0, off, off + len, folio_size(folio));
		goto out;
	}
	err = fill_folio(file, folio);
	if (err) {
		folio_unlock(folio);
		folio_put(folio);
		return err;
	}
out:
	*pagep = vireo_wb_page(folio);
	return 0;
}

static int vf_write_end(struct file *file, struct address_space *mapping,
			loff_t pos, unsigned int len, unsigned int copied,
			VIREO_WB_PAGE *page, void *fsdata)
{
	struct folio *folio = vireo_wb_folio(page);

	/*
	 * A folio that was not read (the write was to cover it) and got only
	 * part of the bytes: nothing taken, generic_perform_write retries
	 * after faulting the user's buffer in.
	 */
	if (!folio_test_uptodate(folio)) {
		if (copied < len)
			copied = 0;
		else
			folio_mark_uptodate(folio);
	}
	if (copied) {
		vf_size_grown(mapping->host, pos + copied);
		folio_mark_dirty(folio);
	}
	folio_unlock(folio);
	folio_put(folio);
	return copied;
}

/* A dirty folio about to be invalidated (the host changed the file). */
static int vf_launder_folio(struct folio *folio)
{
	if (!folio_clear_dirty_for_io(folio))
		return 0;
	return write_folio(folio->mapping->host, folio);
}

const struct address_space_operations vf_aops = {
	.read_folio = vf_read_folio,
	.readahead = vf_readahead,
	.writepages = vf_writepages,
	.write_begin = vf_write_begin,
	.write_end = vf_write_end,
	.dirty_folio = filemap_dirty_folio,
	.launder_folio = vf_launder_folio,
	.direct_IO = noop_direct_IO,
	.migrate_folio = filemap_migrate_folio,
};

static void free_bounce(struct page **pages, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (pages[i])
			__free_page(pages[i]);
	kfree(pages);
}

static struct page **alloc_bounce(unsigned int nr)
{
	struct page **pages = kcalloc(nr, sizeof(*pages), GFP_KERNEL);
	unsigned int i;

	if (!pages)
		return NULL;
	for (i = 0; i < nr; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (!pages[i]) {
			free_bounce(pages, nr);
			return NULL;
		}
	}
	return pages;
}

/* Reads bypassing the page cache (O_DIRECT, FOPEN_DIRECT_IO). */
static ssize_t direct_read(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct vf_file *ff = file->private_data;
	struct vf_dev *dev = VF_DEV(inode);
	unsigned int max = dev->conn.max_pages, nr, i;
	size_t len, chunk, copied, total = 0;
	struct page **pages;
	ssize_t got;
	int err;

	if (!iov_iter_count(to))
		return 0;
	err = filemap_write_and_wait_range(inode->i_mapping, iocb->ki_pos,
					   iocb->ki_pos + iov_iter_count(to) - 1);
	if (err)
		return err;
	pages = alloc_bounce(max);
	if (!pages)
		return -ENOMEM;
	while (iov_iter_count(to)) {
		len = min_t(size_t, iov_iter_count(to), max * PAGE_SIZE);
		nr = DIV_ROUND_UP(len, PAGE_SIZE);
		got = send_read(inode, ff->fh, iocb->ki_pos, pages, nr, 0, len,
				file->f_flags);
		if (got < 0) {
			err = got;
			break;
		}
		copied = 0;
		for (i = 0; i < nr && copied < got; i++) {
			chunk = min_t(size_t, got - copied, PAGE_SIZE);
			if (copy_page_to_iter(pages[i], 0, chunk, to) != chunk) {
				err = -EFAULT;
				break;
			}
			copied += chunk;
		}
		iocb->ki_pos += copied;
		total += copied;
		if (err || got < len)
			break;
	}
	free_bounce(pages, max);
	return total ?: err;
}

static ssize_t vf_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct vf_file *ff = file->private_data;
	int err;

	if (is_bad_inode(inode))
		return -EIO;
	if ((iocb->ki_flags & IOCB_DIRECT) ||
	    (ff->open_flags & FOPEN_DIRECT_IO))
		return direct_read(iocb, to);
	/* The file may have grown on the host. */
	if (iocb->ki_pos + iov_iter_count(to) > i_size_read(inode)) {
		err = vf_refresh_attr(inode, file);
		if (err)
			return err;
	}
	return generic_file_read_iter(iocb, to);
}

/*
 * Writeback cache: the bytes go into the page cache and the size and mtime
 * change here; writeback brings them to the daemon (dirty_expire, fsync,
 * close). An append lands at the guest's size.
 */
static ssize_t cached_write(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	ssize_t ret;

	inode_lock(inode);
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto unlock;
	ret = file_remove_privs(file);
	if (ret)
		goto unlock;
	ret = file_update_time(file);
	if (ret)
		goto unlock;
	ret = vireo_perform_write(iocb, from);
unlock:
	inode_unlock(inode);
	if (ret > 0)
		ret = generic_write_sync(iocb, ret);
	return ret;
}

/*
 * Without a writeback cache (and for O_DIRECT and FOPEN_DIRECT_IO with
 * one) writes go to the daemon at once, max_write bytes per request, from
 * bounce pages (the user's buffer may be anywhere); the range's cached
 * pages are dropped afterwards so that reads see the host's bytes.
 */
static ssize_t vf_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct vf_inode *vi = VF_I(inode);
	struct vf_file *ff = file->private_data;
	struct vf_dev *dev = VF_DEV(inode);
	unsigned int max = dev->conn.max_write / PAGE_SIZE, nr, i, off;
	size_t len, chunk, total = 0;
	loff_t start, pos;
	struct page **pages;
	ssize_t ret, done;

	if (is_bad_inode(inode))
		return -EIO;
	if (vf_wb_cache(inode) && !(iocb->ki_flags & IOCB_DIRECT) &&
	    !(ff->open_flags & FOPEN_DIRECT_IO))
		return cached_write(iocb, from);
	inode_lock(inode);
	/* With a writeback cache the guest's size is the one. */
	if ((iocb->ki_flags & IOCB_APPEND) && !vf_wb_cache(inode)) {
		ret = vf_refresh_attr(inode, file);
		if (ret)
			goto unlock;
	}
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto unlock;
	ret = file_remove_privs(file);
	if (ret)
		goto unlock;
	if (vf_wb_cache(inode)) {
		ret = file_update_time(file);
		if (ret)
			goto unlock;
	}

	mutex_lock(&vi->io_lock);
	start = iocb->ki_pos;
	pos = start;
	ret = filemap_write_and_wait_range(inode->i_mapping, pos,
					   pos + iov_iter_count(from) - 1);
	if (ret)
		goto unlock_io;
	pages = alloc_bounce(max + 1);
	if (!pages) {
		ret = -ENOMEM;
		goto unlock_io;
	}
	while (iov_iter_count(from)) {
		off = pos & ~PAGE_MASK;
		len = min_t(size_t, iov_iter_count(from),
			    (size_t)max * PAGE_SIZE - off);
		nr = DIV_ROUND_UP(off + len, PAGE_SIZE);
		done = 0;
		for (i = 0; i < nr; i++) {
			unsigned int o = i ? 0 : off;

			chunk = min_t(size_t, len - done, PAGE_SIZE - o);
			if (copy_page_from_iter(pages[i], o, chunk, from) != chunk) {
				ret = -EFAULT;
				break;
			}
			done += chunk;
		}
		if (ret == -EFAULT) {
			iov_iter_revert(from, done);
			break;
		}
		done = send_write(inode, ff->fh, pos, pages, nr, off, len, 0,
				  file->f_flags);
		if (done < 0) {
			ret = done;
			iov_iter_revert(from, len);
			break;
		}
		if (done < len)
			iov_iter_revert(from, len - done);
		pos += done;
		total += done;
		if (done < len)
			break;
	}
	free_bounce(pages, max + 1);
	if (total) {
		spin_lock(&inode->i_lock);
		if (pos > i_size_read(inode))
			i_size_write(inode, pos);
		spin_unlock(&inode->i_lock);
		invalidate_inode_pages2_range(inode->i_mapping,
					      start >> PAGE_SHIFT,
					      (pos - 1) >> PAGE_SHIFT);
		vf_attr_changed(inode);
		iocb->ki_pos = pos;
		ret = total;
	}
unlock_io:
	mutex_unlock(&vi->io_lock);
unlock:
	inode_unlock(inode);
	if (ret > 0)
		ret = generic_write_sync(iocb, ret);
	return ret;
}

/*
 * splice(2) and sendfile(2) from a file: the page cache's pages go into the
 * pipe; where the file bypasses the cache (O_DIRECT, FOPEN_DIRECT_IO) the
 * bytes come through read_iter. Splicing into a file goes through
 * write_iter (iter_file_splice_write).
 */
static ssize_t vf_splice_read(struct file *in, loff_t *ppos,
			      struct pipe_inode_info *pipe, size_t len,
			      unsigned int flags)
{
	struct inode *inode = file_inode(in);
	struct vf_file *ff = in->private_data;
	int err;

	if (is_bad_inode(inode))
		return -EIO;
	if ((in->f_flags & O_DIRECT) || (ff->open_flags & FOPEN_DIRECT_IO))
		return vireo_copy_splice_read(in, ppos, pipe, len, flags);
	/* As read_iter: the file may have grown on the host. */
	if (*ppos + len > i_size_read(inode)) {
		err = vf_refresh_attr(inode, in);
		if (err)
			return err;
	}
	return vireo_filemap_splice_read(in, ppos, pipe, len, flags);
}

/*
 * A store through a shared mapping dirties its page under the mapping's
 * invalidate lock, shared. A truncation, an O_TRUNC open and a punched hole
 * hold it exclusively from their write-back until the page cache is cut:
 * a page dirtied in between would be written back after the daemon cut the
 * file and extend it again.
 */
static vm_fault_t vf_page_mkwrite(struct vm_fault *vmf)
{
	struct file *file = vmf->vma->vm_file;
	struct inode *inode = file_inode(file);
	struct folio *folio = page_folio(vmf->page);
	vm_fault_t ret = VM_FAULT_LOCKED;

	sb_start_pagefault(inode->i_sb);
	file_update_time(file);
	filemap_invalidate_lock_shared(inode->i_mapping);
	folio_lock(folio);
	if (folio->mapping != inode->i_mapping) {
		/* Truncated meanwhile: the fault is retried (SIGBUS past EOF). */
		folio_unlock(folio);
		ret = VM_FAULT_NOPAGE;
	} else {
		folio_mark_dirty(folio);
		folio_wait_stable(folio);
	}
	filemap_invalidate_unlock_shared(inode->i_mapping);
	sb_end_pagefault(inode->i_sb);
	return ret;
}

static const struct vm_operations_struct vf_vm_ops = {
	.fault = filemap_fault,
	.map_pages = filemap_map_pages,
	.page_mkwrite = vf_page_mkwrite,
};

static int vf_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vf_file *ff = file->private_data;

	/* With FOPEN_DIRECT_IO the daemon wants no shared page cache. */
	if ((ff->open_flags & FOPEN_DIRECT_IO) &&
	    (vma->vm_flags & VM_SHARED) && (vma->vm_flags & VM_MAYWRITE))
		return -ENODEV;
	file_accessed(file);
	vma->vm_ops = &vf_vm_ops;
	return 0;
}

static int vf_flush(struct file *file, fl_owner_t id)
{
	struct inode *inode = file_inode(file);
	struct vf_file *ff = file->private_data;
	struct fuse_flush_in in = { .fh = ff->fh };
	struct vf_args a = {
		.opcode = FUSE_FLUSH,
		.nodeid = ff->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
	};
	int err, werr;

	/*
	 * The closing owner's POSIX locks: the daemon drops them at this
	 * FLUSH (lock.c), so it goes out even when writeback failed.
	 */
	if (ff->dev->conn.flags & FUSE_POSIX_LOCKS)
		in.lock_owner = vf_lock_owner(ff->dev, id);
	werr = filemap_write_and_wait(inode->i_mapping);
	/* Writeback cache: the guest's mtime and ctime go with the bytes. */
	if (!werr && vf_wb_cache(inode))
		werr = sync_inode_metadata(inode, 1);
	if (werr && !in.lock_owner)
		return werr;
	err = vf_send(ff->dev, &a);
	if (err == -ENOSYS)
		err = 0;
	return werr ?: err;
}

static int vf_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct inode *inode = file_inode(file);
	struct vf_file *ff = file->private_data;
	struct fuse_fsync_in in = {
		.fh = ff->fh,
		.fsync_flags = datasync ? FUSE_FSYNC_FDATASYNC : 0,
	};
	struct vf_args a = {
		.opcode = FUSE_FSYNC,
		.nodeid = ff->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
	};
	int err;

	err = file_write_and_wait_range(file, start, end);
	if (!err && vf_wb_cache(inode))
		err = sync_inode_metadata(inode, 1);
	if (err)
		return err;
	inode_lock(inode);
	err = vf_send(ff->dev, &a);
	inode_unlock(inode);
	return err == -ENOSYS ? 0 : err;
}

static long vf_fallocate(struct file *file, int mode, loff_t offset,
			 loff_t length)
{
	struct inode *inode = file_inode(file);
	struct vf_inode *vi = VF_I(inode);
	struct vf_file *ff = file->private_data;
	struct fuse_fallocate_in in = {
		.fh = ff->fh,
		.offset = offset,
		.length = length,
		.mode = mode,
	};
	struct vf_args a = {
		.opcode = FUSE_FALLOCATE,
		.nodeid = ff->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
	};
	int err;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	inode_lock(inode);
	mutex_lock(&vi->io_lock);
	/* As a truncation (vf_setattr_inode): no page of the hole is redirtied. */
	filemap_invalidate_lock(inode->i_mapping);
	err = filemap_write_and_wait_range(inode->i_mapping, offset,
					   offset + length - 1);
	if (!err)
		err = vf_send(ff->dev, &a);
	if (err == -ENOSYS)
		err = -EOPNOTSUPP;
	if (!err) {
		if (mode & FALLOC_FL_PUNCH_HOLE)
			truncate_pagecache_range(inode, offset,
						 offset + length - 1);
		if (!(mode & FALLOC_FL_KEEP_SIZE) &&
		    offset + length > i_size_read(inode))
			i_size_write(inode, offset + length);
		vf_attr_changed(inode);
		/* The daemon moved the host's mtime: the guest's follows. */
		if (vf_wb_cache(inode) &&
		    (mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) !=
		    FALLOC_FL_KEEP_SIZE)
			file_update_time(file);
	}
	filemap_invalidate_unlock(inode->i_mapping);
	mutex_unlock(&vi->io_lock);
	inode_unlock(inode);
	return err;
}

/* One COPY_FILE_RANGE asks for at most this much (a short copy is allowed). */
#define VF_COPY_MAX	(64UL << 20)

/*
 * copy_file_range(2) between two files of one mount: the daemon copies on
 * the host (FUSE_COPY_FILE_RANGE), no data crosses the queues. Pages dirty
 * in the source range go to the daemon first; the destination's cached
 * pages of the range are dropped and its size and times asked for again.
 * The VFS has checked the flags, the modes and the ranges (and clamped len
 * to the source's size) before it calls this.
 */
static ssize_t vf_copy_file_range(struct file *file_in, loff_t pos_in,
				  struct file *file_out, loff_t pos_out,
				  size_t len, unsigned int flags)
{
	struct inode *in_inode = file_inode(file_in);
	struct inode *inode = file_inode(file_out);
	struct vf_inode *vi = VF_I(inode);
	struct vf_file *ff_in = file_in->private_data;
	struct vf_file *ff = file_out->private_data;
	struct vf_dev *dev = VF_DEV(inode);
	struct fuse_copy_file_range_in in = {
		.fh_in = ff_in->fh,
		.off_in = pos_in,
		.nodeid_out = vi->nodeid,
		.fh_out = ff->fh,
		.off_out = pos_out,
	};
	struct fuse_write_out out;
	struct vf_args a = {
		.opcode = FUSE_COPY_FILE_RANGE,
		.nodeid = VF_I(in_inode)->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
		.out = &out,
		.out_size = sizeof(out),
		.out_exact = true,
	};
	ssize_t ret;

	/* Same f_op, so both are vireo_fs files; the handles are one session's. */
	if (in_inode->i_sb != inode->i_sb)
		return -EXDEV;
	if (flags)
		return -EINVAL;
	if (is_bad_inode(inode) || is_bad_inode(in_inode))
		return -EIO;
	if (test_bit(FUSE_COPY_FILE_RANGE, dev->conn.enosys))
		return -EOPNOTSUPP;
	len = min_t(size_t, len, VF_COPY_MAX);
	if (!len)
		return 0;
	in.len = len;

	ret = filemap_write_and_wait_range(in_inode->i_mapping, pos_in,
					   pos_in + len - 1);
	if (ret)
		return ret;
	inode_lock(inode);
	ret = file_remove_privs(file_out);
	if (ret)
		goto unlock;
	mutex_lock(&vi->io_lock);
	ret = filemap_write_and_wait_range(inode->i_mapping, pos_out,
					   pos_out + len - 1);
	if (!ret)
		ret = vf_send(dev, &a);
	if (ret == -ENOSYS)
		ret = -EOPNOTSUPP;
	if (!ret && out.size > len) {
		pr_err_ratelimited("vireo_fs %s: COPY_FILE_RANGE of %zu bytes reports %u copied: EIO\n",
				   dev->tag, len, out.size);
		ret = -EIO;
	}
	if (!ret) {
		ret = out.size;
		if (out.size) {
			spin_lock(&inode->i_lock);
			if (pos_out + out.size > i_size_read(inode))
				i_size_write(inode, pos_out + out.size);
			spin_unlock(&inode->i_lock);
			invalidate_inode_pages2_range(inode->i_mapping,
						      pos_out >> PAGE_SHIFT,
						      (pos_out + out.size - 1) >> PAGE_SHIFT);
			if (vf_wb_cache(inode))
				file_update_time(file_out);
		}
		vf_attr_changed(inode);
	}
	mutex_unlock(&vi->io_lock);
unlock:
	inode_unlock(inode);
	return ret;
}

static loff_t vf_llseek(struct file *file, loff_t offset, int whence)
{
	struct inode *inode = file_inode(file);
	struct vf_file *ff = file->private_data;
	struct fuse_lseek_in in = {
		.fh = ff->fh,
		.offset = offset,
		.whence = whence,
	};
	struct fuse_lseek_out out;
	struct vf_args a = {
		.opcode = FUSE_LSEEK,
		.nodeid = ff->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
		.out = &out,
		.out_size = sizeof(out),
		.out_exact = true,
	};
	int err;

	switch (whence) {
	case SEEK_SET:
	case SEEK_CUR:
		return generic_file_llseek(file, offset, whence);
	case SEEK_END:
		err = vf_refresh_attr(inode, file);
		if (err)
			return err;
		return generic_file_llseek(file, offset, whence);
	case SEEK_DATA:
	case SEEK_HOLE:
		err = filemap_write_and_wait(inode->i_mapping);
		if (err)
			return err;
		err = vf_send(ff->dev, &a);
		if (err == -ENOSYS) {
			err = vf_refresh_attr(inode, file);
			if (err)
				return err;
			return generic_file_llseek(file, offset, whence);
		}
		if (err)
			return err;
		return vfs_setpos(file, out.offset, inode->i_sb->s_maxbytes);
	}
	return -EINVAL;
}

const struct file_operations vf_file_fops = {
	.llseek = vf_llseek,
	.read_iter = vf_read_iter,
	.write_iter = vf_write_iter,
	.mmap = vf_mmap,
	.open = vf_file_open,
	.flush = vf_flush,
	.release = vf_file_release,
	.lock = vf_lock,
	.flock = vf_flock,
	.fsync = vf_fsync,
	.fallocate = vf_fallocate,
	.copy_file_range = vf_copy_file_range,
	.splice_read = vf_splice_read,
	.splice_write = iter_file_splice_write,
};
