// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_net control queue (virtio 1.2, 5.1.6.5): receive filtering, MAC
 * address, VLAN filter, queue pairs, RSS and hash configuration, guest
 * offloads, announcements.
 *
 * One command at a time (ctrl_lock). A command waits for the device's
 * answer by sleeping, woken by the queue's interrupt and looking again
 * every 10 ms, for at most ctrl_timeout_ms: a device that never answers
 * costs that long once, then the command fails with -ETIMEDOUT and one log
 * line. The device still owns that command's buffers, so later commands
 * fail at once with -EBUSY until it gives them back (each command first
 * looks for the late answer). A broken queue fails commands with -EIO.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>

#include "net.h"

/* Reaps the answer to an earlier command that timed out, if it came. */
static bool ctrl_reap_late(struct vnet_info *vi)
{
	unsigned int len;

	if (!vireo_vq_get_buf(vi->cvq, &len))
		return false;
	netdev_info(vi->dev, "the device answered a control command that had timed out\n");
	kfree(vi->ctrl_stuck_buf);
	vi->ctrl_stuck_buf = NULL;
	vi->ctrl_stuck = false;
	return true;
}

/*
 * Sends one command: @len bytes of @data (copied into the request) or, for
 * a table, the sg list @table, after the class and command; @what names it
 * in the log. @extra is a kmalloc'ed buffer behind @table that the device
 * keeps if the command times out (then freed when the late answer comes,
 * or at remove); otherwise it is freed here.
 */
static int ctrl_send(struct vnet_info *vi, u8 class, u8 cmd,
		     const void *data, size_t len, struct scatterlist *table,
		     void *extra, const char *what)
{
	struct scatterlist hdr, body, stat, *sgs[3];
	unsigned int out = 0, used, timeout = READ_ONCE(vnet_ctrl_timeout_ms);
	struct vnet_ctrl *c = vi->ctrl;
	unsigned long deadline;
	bool owned = true;
	int err;

	if (WARN_ON_ONCE(len > sizeof(c->data)))
		return -EINVAL;
	mutex_lock(&vi->ctrl_lock);
	if (!vi->cvq || !vi->have_vqs || READ_ONCE(vi->failed) ||
	    vireo_vq_is_broken(vi->cvq)) {
		err = -EIO;
		goto out;
	}
	if (vi->ctrl_stuck && !ctrl_reap_late(vi)) {
		netdev_err(vi->dev, "control command %s: the device still holds an earlier one\n",
			   what);
		err = -EBUSY;
		goto out;
	}
	c->hdr.class = class;
	c->hdr.cmd = cmd;
	c->status = ~0;
	sg_init_one(&hdr, &c->hdr, sizeof(c->hdr));
	sgs[out++] = &hdr;
	if (len) {
		memcpy(&c->data, data, len);
		sg_init_one(&body, &c->data, len);
		sgs[out++] = &body;
	} else if (table) {
		sgs[out++] = table;
	}
	sg_init_one(&stat, &c->status, sizeof(c->status));
	sgs[out] = &stat;

	reinit_completion(&vi->ctrl_done);
	err = vireo_vq_add_sgs(vi->cvq, sgs, out, 1, c, GFP_KERNEL);
	if (err) {
		netdev_err(vi->dev, "control command %s: cannot queue it: %d\n",
			   what, err);
		goto out;
	}
	vireo_vq_kick(vi->cvq);

	deadline = jiffies + msecs_to_jiffies(timeout);
	for (;;) {
		if (owned && vireo_vq_get_buf(vi->cvq, &used)) {
			if (!atomic_add_unless(&vi->ctrl_drop, -1, 0))
				break;
			/* debugfs ctrl_drop: as if the answer never came. */
			netdev_info(vi->dev, "control command %s: ignoring its answer (debugfs ctrl_drop)\n",
				    what);
			owned = false;
		}
		if (vireo_vq_is_broken(vi->cvq)) {
			netdev_err(vi->dev, "control command %s: the queue is broken\n",
				   what);
			err = -EIO;
			goto out;
		}
		if (time_after(jiffies, deadline)) {
			netdev_err(vi->dev, "control command %s (class %u, cmd %u): no answer from the device in %u ms\n",
				   what, class, cmd, timeout);
			if (owned) {
				vi->ctrl_stuck = true;
				vi->ctrl_stuck_buf = extra;
				extra = NULL;
			}
			err = -ETIMEDOUT;
			goto out;
		}
		wait_for_completion_timeout(&vi->ctrl_done,
					    msecs_to_jiffies(10));
	}
	if (c->status != VIRTIO_NET_OK) {
		err = -EIO;
		netdev_dbg(vi->dev, "control command %s refused: status %u\n",
			   what, c->status);
	}
out:
	mutex_unlock(&vi->ctrl_lock);
	kfree(extra);
	return err;
}

int vnet_ctrl_cmd(struct vnet_info *vi, u8 class, u8 cmd, const void *data,
		  size_t len, const char *what)
{
	return ctrl_send(vi, class, cmd, data, len, NULL, NULL, what);
}

/* The cvq's interrupt: a command may have its answer. */
void vnet_ctrl_done(struct vireo_vq *vq)
{
	struct vnet_info *vi = vq->vdev->priv;

	complete(&vi->ctrl_done);
}

/* The default indirection table: entry i to receive queue i % pairs. */
void vnet_rss_spread(const struct vnet_info *vi, u16 *table,
		     unsigned int pairs)
{
	unsigned int i;

	for (i = 0; i < vi->rss_table_len; i++)
		table[i] = i % pairs;
}

/*
 * RSS_CONFIG (virtio 1.2, 5.1.6.5.7.1): hash types, the table's mask, the
 * queue for what is not hashed, the table, then the transmit queues in
 * use, the key's length and the key.
 */
struct vnet_rss_head {
	__le32 hash_types;
	__le16 table_mask;
	__le16 unclassified;
	__le16 table[];
};

struct vnet_rss_tail {
	__le16 max_tx_vq;
	u8 key_len;
	u8 key[];
} __packed;

/* HASH_CONFIG (5.1.6.5.6.4): the same without the steering fields. */
struct vnet_hash_cfg {
	__le32 hash_types;
	__le16 reserved[4];
	u8 key_len;
	u8 key[];
} __packed;

/* One RSS_CONFIG (with RSS) or HASH_CONFIG command; see vnet_rss_set(). */
static int rss_send(struct vnet_info *vi, const u16 *table, const u8 *key,
		    u32 types, unsigned int pairs)
{
	unsigned int i, n = vi->rss_table_len, klen = vi->rss_key_size;
	struct scatterlist sg;
	size_t size;
	void *buf;

	if (vi->has_rss) {
		struct vnet_rss_head *h;
		struct vnet_rss_tail *t;

		size = struct_size(h, table, n) + sizeof(*t) + klen;
		buf = kzalloc(size, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		h = buf;
		h->hash_types = cpu_to_le32(types);
		h->table_mask = cpu_to_le16(n - 1);
		h->unclassified = cpu_to_le16(0);
		for (i = 0; i < n; i++)
			h->table[i] = cpu_to_le16(table[i]);
		t = (void *)&h->table[n];
		t->max_tx_vq = cpu_to_le16(pairs);
		t->key_len = klen;
		memcpy(t->key, key, klen);
	} else {
		struct vnet_hash_cfg *h;

		size = struct_size(h, key, klen);
		buf = kzalloc(size, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		h = buf;
		h->hash_types = cpu_to_le32(types);
		h->key_len = klen;
		memcpy(h->key, key, klen);
	}
	sg_init_one(&sg, buf, size);
	return ctrl_send(vi, VIRTIO_NET_CTRL_MQ,
			 vi->has_rss ? VIRTIO_NET_CTRL_MQ_RSS_CONFIG :
				       VIRTIO_NET_CTRL_MQ_HASH_CONFIG,
			 NULL, 0, &sg, buf,
			 vi->has_rss ? "MQ_RSS_CONFIG" : "MQ_HASH_CONFIG");
}

/*
 * Tells the device a new RSS configuration (or, with HASH_REPORT alone,
 * the hash one) and makes it the driver's on success. @table holds
 * rss_table_len queue numbers below @pairs; ignored without RSS. A device
 * that refuses it may have dropped its old one too (QEMU turns RSS off),
 * and one that answered late may have applied it: the driver's, still in
 * vi, is sent again and stays.
 */
int vnet_rss_set(struct vnet_info *vi, const u16 *table, const u8 *key,
		 u32 types, unsigned int pairs)
{
	unsigned int i, n = vi->rss_table_len, klen = vi->rss_key_size;
	int err;

	if (!vi->has_rss && !vi->has_hash)
		return -EOPNOTSUPP;
	/* virtio 1.2, 5.1.6.5.7.1: supported types, queues in use only. */
	if (types & ~vi->rss_hash_supported)
		return -EINVAL;
	for (i = 0; vi->has_rss && i < n; i++)
		if (table[i] >= pairs)
			return -EINVAL;
	err = rss_send(vi, table, key, types, pairs);
	if (err) {
		netdev_warn(vi->dev, "the %s configuration (hash types 0x%x) failed: %d; keeping the previous one\n",
			    vi->has_rss ? "RSS" : "hash", types, err);
		/* Not after -EBUSY: the device holds an older command still. */
		if ((err == -EIO || err == -ETIMEDOUT) &&
		    rss_send(vi, vi->rss_table, vi->rss_key,
			     vi->rss_hash_types, vi->curr_pairs) == -EIO)
			netdev_warn(vi->dev, "the previous configuration failed too\n");
		return err;
	}
	if (vi->has_rss && table != vi->rss_table)
		memcpy(vi->rss_table, table, n * sizeof(*table));
	if (key != vi->rss_key)
		memcpy(vi->rss_key, key, klen);
	vi->rss_hash_types = types;
	return 0;
}

/*
 * With RSS the queue pairs in use are set by RSS_CONFIG (its max_tx_vq
 * and table) instead of VQ_PAIRS_SET. A table the user set stays (the
 * ethtool core refuses fewer queues than it uses); the default one is
 * spread over the new pairs.
 */
static int rss_set_pairs(struct vnet_info *vi, unsigned int pairs)
{
	u16 *table;
	int err;

	if (netif_is_rxfh_configured(vi->dev))
		return vnet_rss_set(vi, vi->rss_table, vi->rss_key,
				    vi->rss_hash_types, pairs);
	table = kmalloc_array(vi->rss_table_len, sizeof(*table), GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	vnet_rss_spread(vi, table, pairs);
	err = vnet_rss_set(vi, table, vi->rss_key, vi->rss_hash_types, pairs);
	kfree(table);
	return err;
}

int vnet_ctrl_set_pairs(struct vnet_info *vi, unsigned int pairs)
{
	struct virtio_net_ctrl_mq mq = {
		.virtqueue_pairs = (__force __virtio16)cpu_to_le16(pairs),
	};

	if (vi->has_rss)
		return rss_set_pairs(vi, pairs);
	if (!vireo_has_feature(vi->vd, VIRTIO_NET_F_MQ))
		return pairs == 1 ? 0 : -EOPNOTSUPP;
	return vnet_ctrl_cmd(vi, VIRTIO_NET_CTRL_MQ,
			     VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &mq, sizeof(mq),
			     "MQ_VQ_PAIRS_SET");
}

int vnet_ctrl_set_offloads(struct vnet_info *vi, u64 offloads)
{
	__le64 v = cpu_to_le64(offloads);

	if (!vireo_has_feature(vi->vd, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS))
		return -EOPNOTSUPP;
	return vnet_ctrl_cmd(vi, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
			     VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, &v, sizeof(v),
			     "GUEST_OFFLOADS_SET");
}

int vnet_ctrl_set_mac(struct vnet_info *vi, const u8 *mac)
{
	return vnet_ctrl_cmd(vi, VIRTIO_NET_CTRL_MAC,
			     VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, ETH_ALEN,
			     "MAC_ADDR_SET");
}

static int vlan_cmd(struct vnet_info *vi, u8 cmd, u16 vid)
{
	__le16 v = cpu_to_le16(vid);

	return vnet_ctrl_cmd(vi, VIRTIO_NET_CTRL_VLAN, cmd, &v, sizeof(v),
			     cmd == VIRTIO_NET_CTRL_VLAN_ADD ? "VLAN_ADD" :
			     "VLAN_DEL");
}

int vnet_vlan_add(struct net_device *dev, __be16 proto, u16 vid)
{
	struct vnet_info *vi = netdev_priv(dev);
	int err;

	err = vlan_cmd(vi, VIRTIO_NET_CTRL_VLAN_ADD, vid);
	if (err)
		netdev_warn(dev, "cannot add VLAN %u to the filter: %d\n",
			    vid, err);
	else
		set_bit(vid, vi->vlans);
	return err;
}

int vnet_vlan_kill(struct net_device *dev, __be16 proto, u16 vid)
{
	struct vnet_info *vi = netdev_priv(dev);
	int err;

	clear_bit(vid, vi->vlans);
	err = vlan_cmd(vi, VIRTIO_NET_CTRL_VLAN_DEL, vid);
	if (err)
		netdev_warn(dev, "cannot remove VLAN %u from the filter: %d\n",
			    vid, err);
	return err;
}

/* After a resume the device's filter is empty again. */
void vnet_ctrl_restore_vlans(struct vnet_info *vi)
{
	unsigned int vid;

	if (!vireo_has_feature(vi->vd, VIRTIO_NET_F_CTRL_VLAN))
		return;
	for_each_set_bit(vid, vi->vlans, VLAN_N_VID)
		if (vlan_cmd(vi, VIRTIO_NET_CTRL_VLAN_ADD, vid))
			netdev_warn(vi->dev, "cannot restore VLAN %u in the filter\n",
				    vid);
}

/* Under netif_addr_lock (ndo_set_rx_mode): the work sends the commands. */
void vnet_set_rx_mode(struct net_device *dev)
{
	struct vnet_info *vi = netdev_priv(dev);
	unsigned long flags;

	spin_lock_irqsave(&vi->work_lock, flags);
	if (vi->rx_mode_enabled)
		schedule_work(&vi->rx_mode_work);
	spin_unlock_irqrestore(&vi->work_lock, flags);
}

static void rx_onoff(struct vnet_info *vi, u8 cmd, bool on, const char *what)
{
	u8 v = on;
	int err;

	err = vnet_ctrl_cmd(vi, VIRTIO_NET_CTRL_RX, cmd, &v, sizeof(v), what);
	if (err)
		netdev_warn(vi->dev, "cannot turn %s %s: %d\n", what,
			    on ? "on" : "off", err);
}

/*
 * The filter tables (virtio 1.2, 5.1.6.5.2): the unicast then the
 * multicast list, each a 32-bit count and the addresses. The device holds
 * its own MAC already; these are the extra ones.
 */
void vnet_rx_mode_work(struct work_struct *work)
{
	struct vnet_info *vi = container_of(work, struct vnet_info,
					    rx_mode_work);
	struct net_device *dev = vi->dev;
	struct virtio_net_ctrl_mac *uc, *mc;
	struct netdev_hw_addr *ha;
	unsigned int nuc, nmc, i;
	struct scatterlist sg[2];
	unsigned int flags;
	void *buf;
	int err;

	if (!vireo_has_feature(vi->vd, VIRTIO_NET_F_CTRL_RX))
		return;
	flags = READ_ONCE(dev->flags);
	rx_onoff(vi, VIRTIO_NET_CTRL_RX_PROMISC, flags & IFF_PROMISC,
		 "promiscuous mode");
	rx_onoff(vi, VIRTIO_NET_CTRL_RX_ALLMULTI, flags & IFF_ALLMULTI,
		 "all-multicast mode");

	netif_addr_lock_bh(dev);
	nuc = netdev_uc_count(dev);
	nmc = netdev_mc_count(dev);
	buf = kzalloc(2 * sizeof(*uc) + (nuc + nmc) * ETH_ALEN, GFP_ATOMIC);
	if (!buf) {
		netif_addr_unlock_bh(dev);
		netdev_warn(dev, "no memory for the MAC filter tables\n");
		return;
	}
	uc = buf;
	uc->entries = (__force __virtio32)cpu_to_le32(nuc);
	i = 0;
	netdev_for_each_uc_addr(ha, dev)
		ether_addr_copy(uc->macs[i++], ha->addr);
	mc = (void *)&uc->macs[nuc];
	mc->entries = (__force __virtio32)cpu_to_le32(nmc);
	i = 0;
	netdev_for_each_mc_addr(ha, dev)
		ether_addr_copy(mc->macs[i++], ha->addr);
	netif_addr_unlock_bh(dev);

	sg_init_table(sg, 2);
	sg_set_buf(&sg[0], uc, sizeof(*uc) + nuc * ETH_ALEN);
	sg_set_buf(&sg[1], mc, sizeof(*mc) + nmc * ETH_ALEN);
	err = ctrl_send(vi, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
			NULL, 0, sg, buf, "MAC_TABLE_SET");
	if (err)
		netdev_warn(dev, "cannot set the MAC filter (%u unicast, %u multicast): %d\n",
			    nuc, nmc, err);
}

void vnet_ctrl_announce_ack(struct vnet_info *vi)
{
	int err;

	err = vnet_ctrl_cmd(vi, VIRTIO_NET_CTRL_ANNOUNCE,
			    VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0,
			    "ANNOUNCE_ACK");
	if (err)
		netdev_warn(vi->dev, "cannot acknowledge the announcement: %d\n",
			    err);
}

/*
 * /sys/kernel/debug/vireo/vireoN/ctrl_drop: the next N answers of the
 * device are ignored, so that those commands time out (docs/net.md).
 */
static int ctrl_drop_get(void *data, u64 *val)
{
	struct vnet_info *vi = data;

	*val = atomic_read(&vi->ctrl_drop);
	return 0;
}

static int ctrl_drop_set(void *data, u64 val)
{
	struct vnet_info *vi = data;

	if (val > INT_MAX)
		return -EINVAL;
	atomic_set(&vi->ctrl_drop, val);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(ctrl_drop_fops, ctrl_drop_get, ctrl_drop_set,
			 "%llu\n");

void vnet_ctrl_debugfs(struct vnet_info *vi)
{
	if (IS_ERR_OR_NULL(vi->vd->debugfs) || !vi->cvq)
		return;
	vi->debugfs = debugfs_create_file_unsafe("ctrl_drop", 0600,
						 vi->vd->debugfs, vi,
						 &ctrl_drop_fops);
}

/* At remove and freeze, after the reset: the device holds nothing now. */
void vnet_ctrl_free(struct vnet_info *vi)
{
	kfree(vi->ctrl_stuck_buf);
	vi->ctrl_stuck_buf = NULL;
	vi->ctrl_stuck = false;
}
