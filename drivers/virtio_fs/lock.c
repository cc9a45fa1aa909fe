// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX locks (fcntl F_GETLK/F_SETLK/F_SETLKW, OFD locks) and flock(2).
 *
 * Where the daemon granted FUSE_POSIX_LOCKS (FUSE_FLOCK_LOCKS for flock),
 * the lock is the daemon's: GETLK, SETLK and SETLKW carry it to the host,
 * so a host process or another guest sharing the directory sees it. The
 * VFS's own bookkeeping is kept as well (posix_lock_file,
 * locks_lock_file_wait), so /proc/locks and conflicts between the guest's
 * processes stay right, and so that the VFS calls back at close.
 *
 * A daemon without blocking locks (QEMU 7.2's virtiofsd answers SETLKW
 * with EOPNOTSUPP) gets the wait done here: SETLK again after 10 ms, the
 * pause doubling up to 500 ms, no request and no lock held while asleep, a
 * signal ending the wait (-ERESTARTSYS: EINTR or a restart, as the VFS's
 * own waits), a dead device ending it at once.
 *
 * Without the flags the locks are the guest kernel's only, as on a local
 * file system.
 */
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/siphash.h>
#include <linux/threads.h>

#include "fs.h"

#define VF_LK_POLL_MIN_MS	10
#define VF_LK_POLL_MAX_MS	500

/*
 * The lock owner id the daemon sees: a keyed hash of the owner (the
 * files_struct for POSIX locks, the struct file for OFD locks and flock),
 * so no kernel address reaches the host. FLUSH carries the same id for
 * the closing process and RELEASE for the file's flock.
 */
u64 vf_lock_owner(struct vf_dev *dev, fl_owner_t owner)
{
	return siphash_1u64((u64)(unsigned long)owner, &dev->conn.lock_key);
}

static int send_lk(struct file *file, struct file_lock *fl, u32 opcode,
		   bool flock, struct fuse_lk_out *out)
{
	struct vf_file *ff = file->private_data;
	struct vf_dev *dev = ff->dev;
	u8 type = VIREO_FLC(fl, type);
	struct fuse_lk_in in = {
		.fh = ff->fh,
		.owner = vf_lock_owner(dev, VIREO_FLC(fl, owner)),
		.lk = {
			.start = fl->fl_start,
			.end = fl->fl_end,
			.type = type,
			/* virtiofsd's F_OFD_GETLK wants 0 (EINVAL else) */
			.pid = type == F_UNLCK || opcode == FUSE_GETLK ? 0 :
			       VIREO_FLC(fl, pid),
		},
		.lk_flags = flock ? FUSE_LK_FLOCK : 0,
	};
	struct vf_args a = {
		.opcode = opcode,
		.nodeid = ff->nodeid,
		.nr_in = 1,
		.in = { &in },
		.in_size = { sizeof(in) },
		.out = out,
		.out_size = out ? sizeof(*out) : 0,
		.out_exact = !!out,
		.unbounded = opcode == FUSE_SETLKW,
	};
	int err;

	err = vf_send(dev, &a);
	if (err == -ENOSYS)
		return -ENOLCK;
	/* A wait for a lock is restartable, as the VFS's own. */
	if (err == -EINTR)
		return -ERESTARTSYS;
	return err;
}

/* Sleeps @ms unless a signal comes or the device dies. */
static int lk_pause(struct vf_dev *dev, unsigned int ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(ms);
	long left, t;

	/*
	 * state_wq also wakes for drains and resumes: sleep the whole pause.
	 * What is left is read once: jiffies may pass @end between a check
	 * and the sleep (a negative timeout is an error to schedule_timeout).
	 */
	while (!READ_ONCE(dev->dead)) {
		left = (long)(end - jiffies);
		if (left <= 0)
			break;
		t = wait_event_interruptible_timeout(dev->state_wq,
						     READ_ONCE(dev->dead), left);
		if (t < 0)
			return -ERESTARTSYS;
	}
	return READ_ONCE(dev->dead) ? vf_dead_error(dev) : 0;
}

/* Takes the lock @fl describes in the daemon, waiting if @wait. */
static int remote_setlk(struct file *file, struct file_lock *fl, bool flock,
			bool wait)
{
	struct vf_file *ff = file->private_data;
	struct vf_dev *dev = ff->dev;
	unsigned int ms = VF_LK_POLL_MIN_MS;
	int err;

	if (wait && !READ_ONCE(dev->conn.no_setlkw)) {
		err = send_lk(file, fl, FUSE_SETLKW, flock, NULL);
		if (err != -EOPNOTSUPP)
			return err;
		WRITE_ONCE(dev->conn.no_setlkw, true);
		pr_info("vireo_fs %s: the daemon has no blocking locks (SETLKW: EOPNOTSUPP): waiting by retrying SETLK\n",
			dev->tag);
	}
	for (;;) {
		err = send_lk(file, fl, FUSE_SETLK, flock, NULL);
		if (!wait || err != -EAGAIN)
			return err;
		err = lk_pause(dev, ms);
		if (err)
			return err;
		ms = min(ms * 2, VF_LK_POLL_MAX_MS);
	}
}

/*
 * A lock the daemon granted could not be recorded locally (@err): give it
 * back to the daemon, so that the host does not hold it for nobody.
 */
static void remote_undo(struct file *file, struct file_lock *fl, bool flock,
			int err)
{
	struct vf_file *ff = file->private_data;
	u8 type = VIREO_FLC(fl, type);

	pr_warn_ratelimited("vireo_fs %s: a %s the daemon granted failed locally (%d): unlocking it\n",
			    ff->dev->tag, flock ? "flock" : "lock", err);
	VIREO_FLC(fl, type) = F_UNLCK;
	send_lk(file, fl, FUSE_SETLK, flock, NULL);
	VIREO_FLC(fl, type) = type;
}

/*
 * F_GETLK: a conflicting lock of the guest's own processes first (its pid
 * is a guest pid), then the daemon's answer, checked: a type of the three,
 * start <= end within the offsets a lock can have, a pid the kernel could
 * have (the daemon's -1 and 0, "not a process of yours", are 0).
 */
static int vf_getlk(struct file *file, struct file_lock *fl)
{
	struct vf_dev *dev = VF_DEV(file_inode(file));
	loff_t start = fl->fl_start, end = fl->fl_end;
	u8 type = VIREO_FLC(fl, type);
	struct fuse_lk_out out;
	int err;

	posix_test_lock(file, fl);
	if (VIREO_FLC(fl, type) != F_UNLCK)
		return 0;
	VIREO_FLC(fl, type) = type;
	fl->fl_start = start;
	fl->fl_end = end;

	err = send_lk(file, fl, FUSE_GETLK, false, &out);
	if (err)
		return err;
	if (out.lk.type != F_RDLCK && out.lk.type != F_WRLCK &&
	    out.lk.type != F_UNLCK) {
		pr_err_ratelimited("vireo_fs %s: GETLK reply with lock type %u: EIO\n",
				   dev->tag, out.lk.type);
		return -EIO;
	}
	if (out.lk.type == F_UNLCK) {
		VIREO_FLC(fl, type) = F_UNLCK;
		return 0;
	}
	if (out.lk.start > out.lk.end || out.lk.end > OFFSET_MAX) {
		pr_err_ratelimited("vireo_fs %s: GETLK reply with range %llu-%llu: EIO\n",
				   dev->tag, out.lk.start, out.lk.end);
		return -EIO;
	}
	if (out.lk.pid > PID_MAX_LIMIT && out.lk.pid != (u32)-1) {
		pr_err_ratelimited("vireo_fs %s: GETLK reply with pid %u: EIO\n",
				   dev->tag, out.lk.pid);
		return -EIO;
	}
	VIREO_FLC(fl, type) = out.lk.type;
	fl->fl_start = out.lk.start;
	fl->fl_end = out.lk.end;
	VIREO_FLC(fl, pid) = out.lk.pid == (u32)-1 ? 0 : out.lk.pid;
	return 0;
}

/* ->lock: fcntl(2) POSIX and OFD locks. */
int vf_lock(struct file *file, int cmd, struct file_lock *fl)
{
	struct vf_dev *dev = VF_DEV(file_inode(file));
	bool wait = IS_SETLKW(cmd);
	int err;

	if (cmd == F_CANCELLK)
		return 0;
	if (!(dev->conn.flags & FUSE_POSIX_LOCKS)) {
		if (IS_GETLK(cmd)) {
			posix_test_lock(file, fl);
			return 0;
		}
		return posix_lock_file(file, fl, NULL);
	}
	if (IS_GETLK(cmd))
		return vf_getlk(file, fl);
	/* lockd's deferred grants need a callback from the daemon. */
	if (fl->fl_lmops && fl->fl_lmops->lm_grant)
		return -ENOLCK;

	if (VIREO_FLC(fl, type) == F_UNLCK) {
		posix_lock_file(file, fl, NULL);
		/*
		 * At close (FL_CLOSE_POSIX) the FLUSH before it carried the
		 * owner, and the daemon dropped its locks; an OFD lock's
		 * owner is the file, never flushed: unlocked here.
		 */
		if ((VIREO_FLC(fl, flags) & FL_CLOSE_POSIX) == FL_CLOSE_POSIX &&
		    VIREO_FLC(fl, owner) != file)
			return 0;
		return send_lk(file, fl, FUSE_SETLK, false, NULL);
	}

	err = remote_setlk(file, fl, false, wait);
	if (err)
		return err;
	/* The daemon granted it: no local conflict can be left to wait on. */
	VIREO_FLC(fl, flags) &= ~FL_SLEEP;
	err = posix_lock_file(file, fl, NULL);
	if (err)
		remote_undo(file, fl, false, err);
	return err;
}

/* ->flock: flock(2); the lock's owner is the file. */
int vf_flock(struct file *file, int cmd, struct file_lock *fl)
{
	struct vf_dev *dev = VF_DEV(file_inode(file));
	struct vf_file *ff = file->private_data;
	int err;

	if (!(dev->conn.flags & FUSE_FLOCK_LOCKS))
		return locks_lock_file_wait(file, fl);

	if (VIREO_FLC(fl, type) == F_UNLCK) {
		locks_lock_file_wait(file, fl);
		/* The last close: RELEASE carries FUSE_RELEASE_FLOCK_UNLOCK. */
		if (VIREO_FLC(fl, flags) & FL_CLOSE)
			return 0;
		/* Never SETLKW: an unlock does not wait. */
		return send_lk(file, fl, FUSE_SETLK, true, NULL);
	}

	err = remote_setlk(file, fl, true, VIREO_FLC(fl, flags) & FL_SLEEP);
	if (err)
		return err;
	ff->flock = true;
	VIREO_FLC(fl, flags) &= ~FL_SLEEP;
	err = locks_lock_file_wait(file, fl);
	if (err)
		remote_undo(file, fl, true, err);
	return err;
}
