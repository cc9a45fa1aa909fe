// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_net: probe, remove, suspend and resume, feature negotiation, the
 * device's config (MAC, MTU, status, speed), the netdev's open and stop.
 */
#include <linux/debugfs.h>
#include <linux/ethtool.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>

#include "net.h"

bool vnet_napi_tx = true;
module_param_named(napi_tx, vnet_napi_tx, bool, 0444);
MODULE_PARM_DESC(napi_tx, "reap transmit completions in NAPI (default on); off: in the next transmit");

unsigned int vnet_ctrl_timeout_ms = 2000;
module_param_named(ctrl_timeout_ms, vnet_ctrl_timeout_ms, uint, 0644);
MODULE_PARM_DESC(ctrl_timeout_ms, "how long a control command waits for the device, ms (default 2000)");

static const unsigned int vnet_features[] = {
	VIRTIO_NET_F_CSUM,
	VIRTIO_NET_F_GUEST_CSUM,
	VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
	VIRTIO_NET_F_MTU,
	VIRTIO_NET_F_MAC,
	VIRTIO_NET_F_GUEST_TSO4,
	VIRTIO_NET_F_GUEST_TSO6,
	VIRTIO_NET_F_GUEST_ECN,
	VIRTIO_NET_F_HOST_TSO4,
	VIRTIO_NET_F_HOST_TSO6,
	VIRTIO_NET_F_HOST_ECN,
	VIRTIO_NET_F_MRG_RXBUF,
	VIRTIO_NET_F_STATUS,
	VIRTIO_NET_F_CTRL_VQ,
	VIRTIO_NET_F_CTRL_RX,
	VIRTIO_NET_F_CTRL_VLAN,
	VIRTIO_NET_F_GUEST_ANNOUNCE,
	VIRTIO_NET_F_MQ,
	VIRTIO_NET_F_CTRL_MAC_ADDR,
	VIRTIO_NET_F_SPEED_DUPLEX,
	VIRTIO_NET_F_HASH_REPORT,
	VIRTIO_NET_F_RSS,
};

/*
 * virtio 1.2, 5.1.3.1: a feature without the ones it depends on MUST NOT
 * be negotiated. In order: a bit's dependencies come before it.
 */
static const struct {
	unsigned int bit, dep1, dep2;	/* needs dep1 or dep2 */
} vnet_deps[] = {
	{ VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_CSUM },
	{ VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_CSUM },
	{ VIRTIO_NET_F_GUEST_ECN, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6 },
	{ VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_CSUM, VIRTIO_NET_F_CSUM },
	{ VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_CSUM, VIRTIO_NET_F_CSUM },
	{ VIRTIO_NET_F_HOST_ECN, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6 },
	{ VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_CTRL_VLAN, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_GUEST_ANNOUNCE, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_MQ, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_CTRL_MAC_ADDR, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_CTRL_GUEST_OFFLOADS, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_RSS, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_HASH_REPORT, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_CTRL_VQ },
};

#define CFG(field)	offsetof(struct virtio_net_config, field)

struct vnet_rss_caps {
	u8 key_size;
	u16 table_len;
	u32 hash_types;
};

static int read_rss_caps(struct vireo_device *vd, struct vnet_rss_caps *c)
{
	int err;

	err = vireo_cread8(vd, CFG(rss_max_key_size), &c->key_size);
	if (!err)
		err = vireo_cread16(vd, CFG(rss_max_indirection_table_length),
				    &c->table_len);
	if (!err)
		err = vireo_cread32(vd, CFG(supported_hash_types),
				    &c->hash_types);
	c->hash_types &= VNET_HASH_TYPES_KNOWN;
	return err;
}

/*
 * virtio 1.2, 5.1.4: a key of at most 40 bytes (the most a Toeplitz hash
 * of an IPv6 4-tuple reads), a table whose length is a power of two of at
 * most 32768 entries (RSS only), and some hash type vireo_net knows. A
 * device that says otherwise gets neither RSS nor hash report.
 */
static void validate_rss(struct vireo_device *vd)
{
	bool rss = vireo_has_feature(vd, VIRTIO_NET_F_RSS);
	struct vnet_rss_caps c = {};
	int err;

	if (!rss && !vireo_has_feature(vd, VIRTIO_NET_F_HASH_REPORT))
		return;
	err = read_rss_caps(vd, &c);
	if (!err && c.key_size && c.key_size <= VNET_RSS_KEY_MAX &&
	    c.hash_types &&
	    (!rss || (is_power_of_2(c.table_len) &&
		      c.table_len <= VNET_RSS_TABLE_MAX)))
		return;
	dev_warn(&vd->dev, "device RSS config unusable (key size %u, table length %u, hash types 0x%x, %d): not using RSS or hash report\n",
		 c.key_size, c.table_len, c.hash_types, err);
	vireo_features_clear(&vd->features, VIRTIO_NET_F_RSS);
	vireo_features_clear(&vd->features, VIRTIO_NET_F_HASH_REPORT);
}

static int vnet_validate(struct vireo_device *vd)
{
	unsigned int i;
	u16 mtu;
	int err;

	for (i = 0; i < ARRAY_SIZE(vnet_deps); i++) {
		if (vireo_has_feature(vd, vnet_deps[i].bit) &&
		    !vireo_has_feature(vd, vnet_deps[i].dep1) &&
		    !vireo_has_feature(vd, vnet_deps[i].dep2)) {
			dev_warn(&vd->dev, "device offers feature %u without %u: not using it\n",
				 vnet_deps[i].bit, vnet_deps[i].dep1);
			vireo_features_clear(&vd->features, vnet_deps[i].bit);
		}
	}
	if (vireo_has_feature(vd, VIRTIO_NET_F_MTU)) {
		err = vireo_cread16(vd, CFG(mtu), &mtu);
		if (err || mtu < ETH_MIN_MTU) {
			dev_warn(&vd->dev, "device MTU %u (%d) is unusable: ignoring VIRTIO_NET_F_MTU\n",
				 mtu, err);
			vireo_features_clear(&vd->features, VIRTIO_NET_F_MTU);
		}
	}
	validate_rss(vd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* NAPI, affinity                                                      */
/* ------------------------------------------------------------------ */

/* Under RTNL. Each queue looks once for what came while it was off. */
void vnet_napi_enable_all(struct vnet_info *vi)
{
	unsigned int i;

	if (vi->napi_on || !vi->have_vqs)
		return;
	for (i = 0; i < vi->max_pairs; i++) {
		napi_enable(&vi->rq[i].napi);
		if (vi->napi_tx)
			napi_enable(&vi->sq[i].napi);
		else
			vireo_vq_disable_cb(vi->sq[i].vq);
	}
	vi->napi_on = true;
	local_bh_disable();
	for (i = 0; i < vi->max_pairs; i++) {
		vnet_napi_schedule(&vi->rq[i].napi, vi->rq[i].vq);
		if (vi->napi_tx)
			vnet_napi_schedule(&vi->sq[i].napi, vi->sq[i].vq);
	}
	local_bh_enable();
}

/* Under RTNL; balanced with the above whatever happened in between. */
void vnet_napi_disable_all(struct vnet_info *vi)
{
	unsigned int i;

	if (!vi->napi_on)
		return;
	for (i = 0; i < vi->max_pairs; i++) {
		napi_disable(&vi->rq[i].napi);
		if (vi->napi_tx)
			napi_disable(&vi->sq[i].napi);
	}
	vi->napi_on = false;
}

/*
 * Queue pair i serves the online CPUs whose position is i modulo the pairs
 * in use: its interrupts go there (a hint, like the in-tree driver's) and
 * XPS sends their traffic to it.
 */
void vnet_set_affinity(struct vnet_info *vi)
{
	unsigned int i, k, cpu;

	if (!vi->have_vqs)
		return;
	cpus_read_lock();
	for (i = 0; i < vi->max_pairs; i++) {
		const struct cpumask *m = NULL;

		if (i < vi->curr_pairs) {
			cpumask_clear(vi->affinity);
			k = 0;
			for_each_online_cpu(cpu)
				if (k++ % vi->curr_pairs == i)
					cpumask_set_cpu(cpu, vi->affinity);
			m = vi->affinity;
			/* netif_set_xps_queue() would take cpus_read_lock again */
			__netif_set_xps_queue(vi->dev, cpumask_bits(m), i, XPS_CPUS);
		}
		vireo_vq_set_affinity(vi->rq[i].vq, m);
		vireo_vq_set_affinity(vi->sq[i].vq, m);
	}
	cpus_read_unlock();
}

/* ------------------------------------------------------------------ */
/* Config: status, speed                                               */
/* ------------------------------------------------------------------ */

static void read_speed(struct vnet_info *vi)
{
	u32 speed;
	u8 duplex;

	if (!vireo_has_feature(vi->vd, VIRTIO_NET_F_SPEED_DUPLEX))
		return;
	if (vireo_cread32(vi->vd, CFG(speed), &speed) ||
	    vireo_cread8(vi->vd, CFG(duplex), &duplex))
		return;
	vi->speed = ethtool_validate_speed(speed) ? speed : SPEED_UNKNOWN;
	vi->duplex = ethtool_validate_duplex(duplex) ? duplex : DUPLEX_UNKNOWN;
}

static void update_status(struct vnet_info *vi)
{
	struct net_device *dev = vi->dev;
	u16 status;

	/* Given up on: the link stays down whatever the device says. */
	if (READ_ONCE(vi->failed))
		return;
	read_speed(vi);
	if (!vireo_has_feature(vi->vd, VIRTIO_NET_F_STATUS)) {
		netif_carrier_on(dev);
		return;
	}
	if (vireo_cread16(vi->vd, CFG(status), &status))
		return;
	if ((status & VIRTIO_NET_S_ANNOUNCE) &&
	    vireo_has_feature(vi->vd, VIRTIO_NET_F_GUEST_ANNOUNCE)) {
		/* virtio 1.2, 5.1.6.5.4: notify, then acknowledge. */
		netdev_notify_peers(dev);
		vnet_ctrl_announce_ack(vi);
	}
	vi->status = status;
	if (status & VIRTIO_NET_S_LINK_UP) {
		if (!netif_carrier_ok(dev))
			netdev_info(dev, "link up\n");
		netif_carrier_on(dev);
	} else {
		if (netif_carrier_ok(dev))
			netdev_info(dev, "link down\n");
		netif_carrier_off(dev);
	}
}

static void vnet_config_work(struct work_struct *work)
{
	struct vnet_info *vi = container_of(work, struct vnet_info,
					    config_work);

	update_status(vi);
}

/* From the config interrupt. */
static void vnet_config_changed(struct vireo_device *vd)
{
	struct vnet_info *vi = vd->priv;
	unsigned long flags;

	spin_lock_irqsave(&vi->work_lock, flags);
	if (vi->config_enabled)
		schedule_work(&vi->config_work);
	spin_unlock_irqrestore(&vi->work_lock, flags);
}

static void set_work_flags(struct vnet_info *vi, bool *flag, bool on)
{
	spin_lock_irq(&vi->work_lock);
	*flag = on;
	spin_unlock_irq(&vi->work_lock);
}

/*
 * Gives up on the device, from any context: a queue the ring disabled (the
 * device broke a rule) or a transmit queue the device stopped serving for
 * vireo_ring's abort_timeout can only come back through a reset, and
 * until then the packets in it hold their senders' socket memory and the
 * stack's watchdog reports the queue every few seconds. The work resets
 * the device, frees every buffer it held and keeps the carrier off until
 * the device is removed (or rebound, or resumed). @why is logged, once;
 * NULL when the ring has already said what happened.
 */
void vnet_give_up(struct vnet_info *vi, const char *why)
{
	if (test_and_set_bit(0, &vi->fail_pending))
		return;
	strscpy(vi->fail_why, why ?: "", sizeof(vi->fail_why));
	schedule_work(&vi->fail_work);
}

static void vnet_fail_work(struct work_struct *work)
{
	struct vnet_info *vi = container_of(work, struct vnet_info, fail_work);
	struct net_device *dev = vi->dev;
	struct sk_buff *skb;
	unsigned int i;
	void *buf, *ctx;

	rtnl_lock();
	if (vi->failed || vi->dead || !vi->have_vqs)
		goto out;
	if (vi->fail_why[0])
		netdev_err(dev, "%s: resetting the device; the interface stays down until the device is removed\n",
			   vi->fail_why);
	WRITE_ONCE(vi->failed, true);
	netif_carrier_off(dev);
	netif_tx_disable(dev);
	set_work_flags(vi, &vi->refill_enabled, false);
	set_work_flags(vi, &vi->rx_mode_enabled, false);
	/* Not _sync: the refill work takes RTNL (it returns at once now). */
	cancel_delayed_work(&vi->refill_work);
	vnet_napi_disable_all(vi);
	/* virtio 1.2, 2.4: after the reset the device uses no buffer. */
	vireo_reset_device(vi->vd);
	for (i = 0; i < vi->max_pairs; i++) {
		while ((skb = vireo_vq_detach_unused(vi->sq[i].vq)))
			dev_kfree_skb(skb);
		netdev_tx_reset_queue(netdev_get_tx_queue(dev, i));
		while ((buf = vireo_vq_detach_unused_ctx(vi->rq[i].vq, &ctx)))
			vnet_rx_free_buf(&vi->rq[i], buf, ctx);
	}
out:
	rtnl_unlock();
}

/* ------------------------------------------------------------------ */
/* netdev ops                                                          */
/* ------------------------------------------------------------------ */

static int vnet_open(struct net_device *dev)
{
	struct vnet_info *vi = netdev_priv(dev);
	bool empty = false;
	unsigned int i;

	if (vi->dead || vi->failed || !vi->have_vqs)
		return -EIO;
	for (i = 0; i < vi->max_pairs; i++) {
		vnet_rx_fill(&vi->rq[i], GFP_KERNEL);
		if (vireo_vq_num_free(vi->rq[i].vq) ==
		    vireo_vq_size(vi->rq[i].vq))
			empty = true;
	}
	set_work_flags(vi, &vi->refill_enabled, true);
	set_work_flags(vi, &vi->rx_mode_enabled, true);
	vnet_napi_enable_all(vi);
	if (empty)
		schedule_delayed_work(&vi->refill_work, 0);
	return 0;
}

static int vnet_stop(struct net_device *dev)
{
	struct vnet_info *vi = netdev_priv(dev);

	set_work_flags(vi, &vi->refill_enabled, false);
	set_work_flags(vi, &vi->rx_mode_enabled, false);
	/* Not _sync: the refill work takes RTNL (it returns at once now). */
	cancel_delayed_work(&vi->refill_work);
	vnet_napi_disable_all(vi);
	return 0;
}

static int vnet_set_mac_address(struct net_device *dev, void *p)
{
	struct vnet_info *vi = netdev_priv(dev);
	struct sockaddr *sa = p;
	int err;

	err = eth_prepare_mac_addr_change(dev, p);
	if (err)
		return err;
	if (vireo_has_feature(vi->vd, VIRTIO_NET_F_CTRL_MAC_ADDR)) {
		err = vnet_ctrl_set_mac(vi, sa->sa_data);
		if (err) {
			netdev_warn(dev, "the device refused MAC address %pM: %d\n",
				    sa->sa_data, err);
			return err == -EIO ? -EINVAL : err;
		}
	} else if (!vireo_has_feature(vi->vd, VIRTIO_F_VERSION_1) &&
		   vireo_has_feature(vi->vd, VIRTIO_NET_F_MAC)) {
		/* Legacy devices take the address in config (virtio 1.2, 5.1.6.5.2.1). */
		err = vireo_config_write(vi->vd, CFG(mac), sa->sa_data,
					 ETH_ALEN);
		if (err)
			return err;
	} else {
		return -EOPNOTSUPP;
	}
	eth_commit_mac_addr_change(dev, p);
	return 0;
}

static void vnet_get_stats64(struct net_device *dev,
			     struct rtnl_link_stats64 *tot)
{
	struct vnet_info *vi = netdev_priv(dev);
	unsigned int i, start;
	u64 p, b, d;

	for (i = 0; i < vi->max_pairs; i++) {
		struct vnet_rq *rq = &vi->rq[i];
		struct vnet_sq *sq = &vi->sq[i];

		do {
			start = u64_stats_fetch_begin(&rq->stats.syncp);
			p = u64_stats_read(&rq->stats.packets);
			b = u64_stats_read(&rq->stats.bytes);
			d = u64_stats_read(&rq->stats.drops);
		} while (u64_stats_fetch_retry(&rq->stats.syncp, start));
		tot->rx_packets += p;
		tot->rx_bytes += b;
		tot->rx_dropped += d;
		do {
			start = u64_stats_fetch_begin(&sq->stats.syncp);
			p = u64_stats_read(&sq->stats.packets);
			b = u64_stats_read(&sq->stats.bytes);
		} while (u64_stats_fetch_retry(&sq->stats.syncp, start));
		tot->tx_packets += p;
		tot->tx_bytes += b;
	}
	tot->tx_dropped = dev->stats.tx_dropped;
	tot->rx_length_errors = dev->stats.rx_length_errors;
	tot->rx_frame_errors = dev->stats.rx_frame_errors;
	tot->rx_errors = tot->rx_length_errors + tot->rx_frame_errors;
}

/* rx-gro-hw: the device's TSO into the guest (virtio 1.2, 5.1.6.5.6.1). */
static u64 offloads_for(struct vnet_info *vi, netdev_features_t features)
{
	u64 tso = vnet_offload_bit(VIRTIO_NET_F_GUEST_TSO4) |
		  vnet_offload_bit(VIRTIO_NET_F_GUEST_TSO6) |
		  vnet_offload_bit(VIRTIO_NET_F_GUEST_ECN);

	if (features & NETIF_F_GRO_HW)
		return vi->guest_offloads_capable;
	return vi->guest_offloads_capable & ~tso;
}

static int vnet_set_features(struct net_device *dev,
			     netdev_features_t features)
{
	struct vnet_info *vi = netdev_priv(dev);
	u64 on = offloads_for(vi, features);
	int err;

	if (on == vi->guest_offloads)
		return 0;
	err = vnet_ctrl_set_offloads(vi, on);
	if (err) {
		netdev_warn(dev, "cannot set guest offloads 0x%llx: %d\n",
			    on, err);
		return err;
	}
	WRITE_ONCE(vi->guest_offloads, on);
	return 0;
}

static const struct net_device_ops vnet_netdev_ops = {
	.ndo_open = vnet_open,
	.ndo_stop = vnet_stop,
	.ndo_start_xmit = vnet_start_xmit,
	.ndo_validate_addr = eth_validate_addr,
	.ndo_set_mac_address = vnet_set_mac_address,
	.ndo_set_rx_mode = vnet_set_rx_mode,
	.ndo_get_stats64 = vnet_get_stats64,
	.ndo_vlan_rx_add_vid = vnet_vlan_add,
	.ndo_vlan_rx_kill_vid = vnet_vlan_kill,
	.ndo_tx_timeout = vnet_tx_timeout,
	.ndo_set_features = vnet_set_features,
	.ndo_features_check = passthru_features_check,
};

/* ------------------------------------------------------------------ */
/* Queues                                                              */
/* ------------------------------------------------------------------ */

static int vnet_find_vqs(struct vnet_info *vi)
{
	unsigned int nvqs = 2 * vi->max_pairs + !!vi->ctrl, i;
	unsigned int rxflags = vi->rx_mode == VNET_RX_BIG ? 0 : VIREO_VQ_F_CTX;
	struct vireo_vq_info *info;
	struct vireo_vq **vqs;
	int err = -ENOMEM;

	info = kcalloc(nvqs, sizeof(*info), GFP_KERNEL);
	vqs = kcalloc(nvqs, sizeof(*vqs), GFP_KERNEL);
	if (!info || !vqs)
		goto out;
	for (i = 0; i < vi->max_pairs; i++) {
		info[2 * i].name = vi->rq[i].name;
		info[2 * i].callback = vnet_rx_done;
		info[2 * i].flags = rxflags;
		info[2 * i + 1].name = vi->sq[i].name;
		info[2 * i + 1].callback = vnet_tx_done;
	}
	if (vi->ctrl) {
		info[nvqs - 1].name = "control";
		info[nvqs - 1].callback = vnet_ctrl_done;
	}
	err = vireo_find_vqs(vi->vd, nvqs, vqs, info, NULL);
	if (err)
		goto out;
	for (i = 0; i < vi->max_pairs; i++) {
		vi->rq[i].vq = vqs[2 * i];
		vi->sq[i].vq = vqs[2 * i + 1];
	}
	vi->cvq = vi->ctrl ? vqs[nvqs - 1] : NULL;
	vi->have_vqs = true;
out:
	kfree(info);
	kfree(vqs);
	return err;
}

/*
 * After the device was reset: every buffer back, every queue freed. BQL
 * forgets what it counted in flight.
 */
static void vnet_free_vqs(struct vnet_info *vi)
{
	unsigned int i;
	void *buf, *ctx;

	if (!vi->have_vqs)
		return;
	for (i = 0; i < vi->max_pairs; i++) {
		struct vnet_rq *rq = &vi->rq[i];

		while ((buf = vireo_vq_detach_unused(vi->sq[i].vq)))
			dev_kfree_skb_any(buf);
		netdev_tx_reset_queue(netdev_get_tx_queue(vi->dev, i));
		while ((buf = vireo_vq_detach_unused_ctx(rq->vq, &ctx)))
			vnet_rx_free_buf(rq, buf, ctx);
		vnet_rx_release_frag(rq);
	}
	if (vi->cvq)
		while (vireo_vq_detach_unused(vi->cvq))
			;
	vnet_ctrl_free(vi);
	vi->have_vqs = false;
	vireo_del_vqs(vi->vd);
	vi->cvq = NULL;
}

/* The device's state that a reset loses, told again (probe and restore). */
static void vnet_program_device(struct vnet_info *vi)
{
	int err;

	/* With RSS this sends the whole RSS configuration. */
	err = vnet_ctrl_set_pairs(vi, vi->curr_pairs);
	if (err) {
		netdev_warn(vi->dev, "cannot use %u queue pairs (%d): using 1\n",
			    vi->curr_pairs, err);
		vi->curr_pairs = 1;
		if (vi->has_rss) {
			vnet_rss_spread(vi, vi->rss_table, 1);
			vnet_ctrl_set_pairs(vi, 1);
		}
	}
	if (vi->has_hash && !vi->has_rss &&
	    vnet_rss_set(vi, NULL, vi->rss_key, vi->rss_hash_types, 1))
		netdev_warn(vi->dev, "no hash reports from the device\n");
	if (vireo_has_feature(vi->vd, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) &&
	    vi->guest_offloads != vi->guest_offloads_capable &&
	    vnet_ctrl_set_offloads(vi, vi->guest_offloads))
		netdev_warn(vi->dev, "cannot restore guest offloads 0x%llx\n",
			    vi->guest_offloads);
}

static int vnet_alloc_queues(struct vnet_info *vi)
{
	unsigned int i;

	vi->rq = kcalloc(vi->max_pairs, sizeof(*vi->rq), GFP_KERNEL);
	vi->sq = kcalloc(vi->max_pairs, sizeof(*vi->sq), GFP_KERNEL);
	if (!vi->rq || !vi->sq)
		return -ENOMEM;
	for (i = 0; i < vi->max_pairs; i++) {
		struct vnet_rq *rq = &vi->rq[i];
		struct vnet_sq *sq = &vi->sq[i];

		rq->vi = vi;
		sq->vi = vi;
		snprintf(rq->name, sizeof(rq->name), "input.%u", i);
		snprintf(sq->name, sizeof(sq->name), "output.%u", i);
		u64_stats_init(&rq->stats.syncp);
		u64_stats_init(&sq->stats.syncp);
		ewma_pkt_len_init(&rq->pkt_len);
		netif_napi_add(vi->dev, &rq->napi, vnet_rx_poll);
		if (vi->napi_tx)
			netif_napi_add_tx(vi->dev, &sq->napi, vnet_tx_poll);
	}
	return 0;
}

static void vnet_free_queues(struct vnet_info *vi)
{
	unsigned int i;

	for (i = 0; vi->rq && vi->sq && i < vi->max_pairs; i++) {
		netif_napi_del(&vi->rq[i].napi);
		if (vi->napi_tx)
			netif_napi_del(&vi->sq[i].napi);
	}
	kfree(vi->rq);
	kfree(vi->sq);
}

/* ------------------------------------------------------------------ */
/* Probe and remove                                                    */
/* ------------------------------------------------------------------ */

static void choose_rx_mode(struct vnet_info *vi, u16 mtu)
{
	struct vireo_device *vd = vi->vd;
	bool tso = vireo_has_feature(vd, VIRTIO_NET_F_GUEST_TSO4) ||
		   vireo_has_feature(vd, VIRTIO_NET_F_GUEST_TSO6);
	unsigned int frame;

	if (vireo_has_feature(vd, VIRTIO_NET_F_MRG_RXBUF)) {
		vi->rx_mode = VNET_RX_MERGEABLE;
	} else if (tso || mtu > ETH_DATA_LEN) {
		/* virtio 1.2, 5.1.6.3.1: buffers for the largest frame. */
		vi->rx_mode = VNET_RX_BIG;
		frame = ETH_HLEN + VLAN_HLEN + (tso ? IP_MAX_MTU : mtu);
		vi->big_pages = DIV_ROUND_UP(vi->hdr_len + frame, PAGE_SIZE);
	} else {
		vi->rx_mode = VNET_RX_SMALL;
		vi->small_len = VNET_GOOD_LEN;
	}
}

static int read_mac(struct vnet_info *vi)
{
	struct net_device *dev = vi->dev;
	u8 mac[ETH_ALEN];
	int err;

	if (!vireo_has_feature(vi->vd, VIRTIO_NET_F_MAC)) {
		eth_hw_addr_random(dev);
		netdev_info(dev, "device has no MAC: using random %pM\n",
			    dev->dev_addr);
		return 0;
	}
	err = vireo_config_read(vi->vd, CFG(mac), mac, ETH_ALEN);
	if (err)
		return err;
	if (!is_valid_ether_addr(mac)) {
		dev_warn(&vi->vd->dev, "device MAC %pM is invalid: using a random one\n",
			 mac);
		eth_hw_addr_random(dev);
		return 0;
	}
	eth_hw_addr_set(dev, mac);
	return 0;
}

static void set_netdev_features(struct vnet_info *vi)
{
	struct vireo_device *vd = vi->vd;
	struct net_device *dev = vi->dev;
	unsigned int i;
	static const unsigned int guest[] = {
		VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4,
		VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_ECN,
	};

	/* What ethtool -k shows is what the in-tree driver shows. */
	dev->features = NETIF_F_HIGHDMA;
	if (vireo_has_feature(vd, VIRTIO_NET_F_CSUM)) {
		dev->hw_features |= NETIF_F_HW_CSUM | NETIF_F_SG;
		if (vireo_has_feature(vd, VIRTIO_NET_F_HOST_TSO4))
			dev->hw_features |= NETIF_F_TSO;
		if (vireo_has_feature(vd, VIRTIO_NET_F_HOST_TSO6))
			dev->hw_features |= NETIF_F_TSO6;
		if (vireo_has_feature(vd, VIRTIO_NET_F_HOST_ECN))
			dev->hw_features |= NETIF_F_TSO_ECN;
		dev->features |= dev->hw_features | NETIF_F_GSO_ROBUST;
	}
	for (i = 0; i < ARRAY_SIZE(guest); i++)
		if (vireo_has_feature(vd, guest[i]))
			vi->guest_offloads_capable |= vnet_offload_bit(guest[i]);
	vi->guest_offloads = vi->guest_offloads_capable;
	/*
	 * Frames the device did not mark are checksummed by the stack;
	 * RXCSUM only says a DATA_VALID mark is believed.
	 */
	if (VIREO_NET_RXCSUM_ALWAYS ||
	    vireo_has_feature(vd, VIRTIO_NET_F_GUEST_CSUM))
		dev->features |= NETIF_F_RXCSUM;
	if (vireo_has_feature(vd, VIRTIO_NET_F_GUEST_TSO4) ||
	    vireo_has_feature(vd, VIRTIO_NET_F_GUEST_TSO6))
		dev->features |= NETIF_F_GRO_HW;
	if (vireo_has_feature(vd, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS))
		dev->hw_features |= NETIF_F_GRO_HW;
	dev->vlan_features = dev->features;
	if (vireo_has_feature(vd, VIRTIO_NET_F_CTRL_VLAN))
		dev->features |= NETIF_F_HW_VLAN_CTAG_FILTER;

	/*
	 * ethtool -K rxhash: off at first, as with the in-tree driver. It
	 * only says whether the device's hash goes on the skb; RSS steers
	 * either way.
	 */
	if (vi->has_hash)
		dev->hw_features |= NETIF_F_RXHASH;

	if (vireo_has_feature(vd, VIRTIO_NET_F_CTRL_RX))
		dev->priv_flags |= IFF_UNICAST_FLT;
	if (vireo_has_feature(vd, VIRTIO_NET_F_CTRL_MAC_ADDR) ||
	    !vireo_has_feature(vd, VIRTIO_F_VERSION_1))
		dev->priv_flags |= IFF_LIVE_ADDR_CHANGE;
}

static int read_pairs(struct vireo_device *vd, unsigned int *pairs)
{
	u16 v;
	int err;

	*pairs = 1;
	if (!vireo_has_feature(vd, VIRTIO_NET_F_MQ))
		return 0;
	err = vireo_cread16(vd, CFG(max_virtqueue_pairs), &v);
	if (err)
		return err;
	/* virtio 1.2, 5.1.4.1: 1 to 0x8000. */
	if (v < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN ||
	    v > VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX) {
		dev_warn(&vd->dev, "device says %u queue pairs: using 1\n", v);
		return 0;
	}
	*pairs = v;
	return 0;
}

/*
 * The device's RSS limits (validated already) and the driver's first
 * configuration: a random key, the table spread over the pairs in use,
 * every hash type the device and vireo_net know.
 */
static int setup_rss(struct vnet_info *vi)
{
	struct vireo_device *vd = vi->vd;
	struct vnet_rss_caps c;
	int err;

	vi->has_rss = vireo_has_feature(vd, VIRTIO_NET_F_RSS);
	vi->has_hash = vireo_has_feature(vd, VIRTIO_NET_F_HASH_REPORT);
	if (!vi->has_rss && !vi->has_hash)
		return 0;
	err = read_rss_caps(vd, &c);
	if (err)
		return err;
	vi->rss_key_size = c.key_size;
	vi->rss_hash_supported = c.hash_types;
	vi->rss_hash_types = c.hash_types;
	netdev_rss_key_fill(vi->rss_key, vi->rss_key_size);
	if (!vi->has_rss)
		return 0;
	vi->rss_table_len = c.table_len;
	vi->rss_table = kcalloc(c.table_len, sizeof(*vi->rss_table),
				GFP_KERNEL);
	if (!vi->rss_table)
		return -ENOMEM;
	vnet_rss_spread(vi, vi->rss_table, vi->curr_pairs);
	return 0;
}

static int vnet_probe(struct vireo_device *vd)
{
	struct net_device *dev;
	struct vnet_info *vi;
	unsigned int pairs, i;
	u16 mtu = 0;
	int err;

	err = read_pairs(vd, &pairs);
	if (err)
		return err;
	if (vireo_has_feature(vd, VIRTIO_NET_F_MTU)) {
		err = vireo_cread16(vd, CFG(mtu), &mtu);
		if (err)
			return err;
	}
	dev = alloc_etherdev_mq(sizeof(*vi), pairs);
	if (!dev)
		return -ENOMEM;
	vi = netdev_priv(dev);
	vi->dev = dev;
	vi->vd = vd;
	vi->max_pairs = pairs;
	vi->curr_pairs = min_t(unsigned int, pairs, num_online_cpus());
	vi->napi_tx = vnet_napi_tx;
	vi->speed = SPEED_UNKNOWN;
	vi->duplex = DUPLEX_UNKNOWN;
	mutex_init(&vi->ctrl_lock);
	init_completion(&vi->ctrl_done);
	spin_lock_init(&vi->work_lock);
	INIT_WORK(&vi->rx_mode_work, vnet_rx_mode_work);
	INIT_DELAYED_WORK(&vi->refill_work, vnet_refill_work);
	INIT_WORK(&vi->config_work, vnet_config_work);
	INIT_WORK(&vi->fail_work, vnet_fail_work);
	vd->priv = vi;
	SET_NETDEV_DEV(dev, &vd->dev);
	dev->netdev_ops = &vnet_netdev_ops;
	dev->ethtool_ops = &vnet_ethtool_ops;
	vnet_set_stat_ops(dev);
	dev->watchdog_timeo = 5 * HZ;

	err = setup_rss(vi);
	if (err)
		goto free;
	/* virtio 1.2, 5.1.6: the header grows by the hash fields both ways. */
	if (vi->has_hash)
		vi->hdr_len = sizeof(struct virtio_net_hdr_v1_hash);
	else if (vireo_has_feature(vd, VIRTIO_NET_F_MRG_RXBUF) ||
		 vireo_has_feature(vd, VIRTIO_F_VERSION_1))
		vi->hdr_len = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	else
		vi->hdr_len = sizeof(struct virtio_net_hdr);
	choose_rx_mode(vi, mtu);
	dev->needed_headroom = vi->hdr_len;
	set_netdev_features(vi);
	err = read_mac(vi);
	if (err)
		goto free;

	dev->min_mtu = ETH_MIN_MTU;
	if (mtu) {
		dev->mtu = mtu;
		dev->max_mtu = mtu;
	} else {
		dev->max_mtu = vi->rx_mode == VNET_RX_SMALL ? ETH_DATA_LEN :
			       ETH_MAX_MTU;
	}

	err = -ENOMEM;
	vi->vlans = bitmap_zalloc(VLAN_N_VID, GFP_KERNEL);
	if (!vi->vlans || !zalloc_cpumask_var(&vi->affinity, GFP_KERNEL))
		goto free;
	if (vireo_has_feature(vd, VIRTIO_NET_F_CTRL_VQ)) {
		vi->ctrl = kzalloc(sizeof(*vi->ctrl), GFP_KERNEL);
		if (!vi->ctrl)
			goto free;
	}
	err = vnet_alloc_queues(vi);
	if (err)
		goto free;
	err = vnet_find_vqs(vi);
	if (err)
		goto free;
	for (i = 0; i < pairs; i++) {
		vi->rq[i].max_size = vireo_vq_size(vi->rq[i].vq);
		vi->sq[i].max_size = vireo_vq_size(vi->sq[i].vq);
	}

	/* The control queue works from DRIVER_OK on. */
	vireo_device_ready(vd);
	vnet_program_device(vi);
	if (!vireo_has_feature(vd, VIRTIO_NET_F_MAC) &&
	    vireo_has_feature(vd, VIRTIO_NET_F_CTRL_MAC_ADDR) &&
	    vnet_ctrl_set_mac(vi, dev->dev_addr))
		netdev_warn(dev, "cannot tell the device its random MAC\n");
	netif_set_real_num_tx_queues(dev, vi->curr_pairs);
	netif_set_real_num_rx_queues(dev, vi->curr_pairs);
	netif_carrier_off(dev);

	err = register_netdev(dev);
	if (err) {
		dev_err(&vd->dev, "cannot register the netdev: %d\n", err);
		goto reset;
	}
	set_work_flags(vi, &vi->config_enabled, true);
	update_status(vi);
	vnet_set_affinity(vi);
	vnet_ctrl_debugfs(vi);
	netdev_info(dev, "vireo_net: MAC %pM, %u of %u queue pairs, %s buffers%s%s%s%s, mtu %u\n",
		    dev->dev_addr, vi->curr_pairs, vi->max_pairs,
		    vi->rx_mode == VNET_RX_MERGEABLE ? "mergeable" :
		    vi->rx_mode == VNET_RX_BIG ? "big" : "small",
		    vi->ctrl ? ", control queue" : "",
		    vi->napi_tx ? ", napi_tx" : "",
		    vi->has_rss ? ", rss" : "",
		    vi->has_hash ? ", hash report" : "", dev->mtu);
	return 0;

reset:
	vireo_reset_device(vd);
	vnet_free_vqs(vi);
free:
	vnet_free_queues(vi);
	kfree(vi->ctrl);
	free_cpumask_var(vi->affinity);
	bitmap_free(vi->vlans);
	kfree(vi->rss_table);
	vd->priv = NULL;
	free_netdev(dev);
	return err;
}

static void vnet_remove(struct vireo_device *vd)
{
	struct vnet_info *vi = vd->priv;
	struct net_device *dev = vi->dev;

	debugfs_remove(vi->debugfs);
	set_work_flags(vi, &vi->config_enabled, false);
	cancel_work_sync(&vi->config_work);
	cancel_work_sync(&vi->fail_work);
	/* Stops the interface: NAPI off, no more commands from the stack. */
	unregister_netdev(dev);
	cancel_work_sync(&vi->rx_mode_work);
	cancel_delayed_work_sync(&vi->refill_work);
	vireo_reset_device(vd);
	vnet_free_vqs(vi);
	vnet_free_queues(vi);
	kfree(vi->ctrl);
	free_cpumask_var(vi->affinity);
	bitmap_free(vi->vlans);
	kfree(vi->rss_table);
	vd->priv = NULL;
	free_netdev(dev);
}

/* ------------------------------------------------------------------ */
/* Suspend and resume                                                  */
/* ------------------------------------------------------------------ */

static int vnet_freeze(struct vireo_device *vd)
{
	struct vnet_info *vi = vd->priv;

	set_work_flags(vi, &vi->config_enabled, false);
	cancel_work_sync(&vi->config_work);
	cancel_work_sync(&vi->fail_work);
	rtnl_lock();
	netif_device_detach(vi->dev);
	set_work_flags(vi, &vi->refill_enabled, false);
	set_work_flags(vi, &vi->rx_mode_enabled, false);
	vnet_napi_disable_all(vi);
	rtnl_unlock();
	cancel_work_sync(&vi->rx_mode_work);
	cancel_delayed_work_sync(&vi->refill_work);
	vireo_reset_device(vd);
	vnet_free_vqs(vi);
	return 0;
}

static int vnet_restore(struct vireo_device *vd)
{
	struct vnet_info *vi = vd->priv;
	struct net_device *dev = vi->dev;
	unsigned int i;
	int err;

	err = vnet_find_vqs(vi);
	if (err)
		return err;
	vireo_device_ready(vd);
	rtnl_lock();
	/* A device given up on before the suspend starts afresh. */
	WRITE_ONCE(vi->failed, false);
	clear_bit(0, &vi->fail_pending);
	if (netif_running(dev)) {
		err = vnet_open(dev);
		if (err) {
			rtnl_unlock();
			vireo_reset_device(vd);
			vnet_free_vqs(vi);
			return err;
		}
	}
	/*
	 * The queue pairs (or RSS_CONFIG) only now, with every receive
	 * queue filled, as the in-tree driver does. After its reset QEMU 7.2
	 * serves one pair, but its tap keeps steering frames to all of its
	 * queues; a frame for a pair not yet in use makes QEMU stop reading
	 * that tap queue until the receive queue is notified, which a full
	 * queue never is: notify each once the pairs are in use. (Without
	 * this, net-offloads' pm/toeplitz-queues lost whole flows on 2 of 5
	 * runs and a TCP connect timed out.)
	 */
	vnet_program_device(vi);
	vnet_ctrl_restore_vlans(vi);
	for (i = 0; netif_running(dev) && i < vi->curr_pairs; i++)
		vireo_vq_notify(vi->rq[i].vq);
	netif_set_real_num_tx_queues(dev, vi->curr_pairs);
	netif_set_real_num_rx_queues(dev, vi->curr_pairs);
	netif_device_attach(dev);
	rtnl_unlock();
	vnet_set_affinity(vi);
	vnet_set_rx_mode(dev);
	set_work_flags(vi, &vi->config_enabled, true);
	update_status(vi);
	return 0;
}

/*
 * No queues and none to come: the interface stays detached (the stack
 * sends nothing), open fails, and remove still unregisters it; NAPI was
 * disabled by freeze and stays so (vnet_stop does not disable it again).
 */
static void vnet_restore_failed(struct vireo_device *vd, int err)
{
	struct vnet_info *vi = vd->priv;

	netdev_err(vi->dev, "resume failed (%d): the interface stays down until the device is removed\n",
		   err);
	rtnl_lock();
	vi->dead = true;
	netif_carrier_off(vi->dev);
	rtnl_unlock();
}

static const struct vireo_device_id vnet_ids[] = {
	{ VIRTIO_ID_NET, VIREO_DEV_ANY_ID },
	{ 0 },
};

static struct vireo_driver vireo_net_driver = {
	.driver.name = "vireo_net",
	.id_table = vnet_ids,
	.feature_table = vnet_features,
	.feature_table_size = ARRAY_SIZE(vnet_features),
	.validate = vnet_validate,
	.probe = vnet_probe,
	.remove = vnet_remove,
	.config_changed = vnet_config_changed,
	.freeze = vnet_freeze,
	.restore = vnet_restore,
	.restore_failed = vnet_restore_failed,
};
module_vireo_driver(vireo_net_driver);

VIREO_MODULE_ALIAS_DEVICE(VIRTIO_ID_NET);
VIREO_IMPORT_NS();
MODULE_DESCRIPTION("vireo virtio network device");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIREO_VERSION);
