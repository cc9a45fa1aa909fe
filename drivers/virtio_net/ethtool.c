// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_net ethtool: driver info, link, channels (-l/-L), rings (-g/-G,
 * through a queue reset), RSS (-x/-X, -n/-N rx-flow-hash), statistics
 * with the in-tree virtio_net's names, and on kernels that have them the
 * netdev per-queue statistics.
 */
#include <linux/ethtool.h>
#include <linux/rtnetlink.h>

#include "net.h"

static void vnet_get_drvinfo(struct net_device *dev,
			     struct ethtool_drvinfo *info)
{
	struct vnet_info *vi = netdev_priv(dev);

	strscpy(info->driver, "vireo_net", sizeof(info->driver));
	strscpy(info->version, VIREO_VERSION, sizeof(info->version));
	/* As the in-tree driver: the transport's device (PCI address, ...). */
	strscpy(info->bus_info, dev_name(vi->vd->dev.parent ?: &vi->vd->dev),
		sizeof(info->bus_info));
}

static int vnet_get_link_ksettings(struct net_device *dev,
				   struct ethtool_link_ksettings *cmd)
{
	struct vnet_info *vi = netdev_priv(dev);

	cmd->base.speed = vi->speed;
	cmd->base.duplex = vi->duplex;
	cmd->base.port = PORT_OTHER;
	return 0;
}

static int vnet_set_link_ksettings(struct net_device *dev,
				   const struct ethtool_link_ksettings *cmd)
{
	struct vnet_info *vi = netdev_priv(dev);

	/* What the device reports is not ours to change. */
	if (vireo_has_feature(vi->vd, VIRTIO_NET_F_SPEED_DUPLEX))
		return -EOPNOTSUPP;
	return ethtool_virtdev_set_link_ksettings(dev, cmd, &vi->speed,
						  &vi->duplex);
}

static void vnet_get_channels(struct net_device *dev,
			      struct ethtool_channels *ch)
{
	struct vnet_info *vi = netdev_priv(dev);

	ch->max_combined = vi->max_pairs;
	ch->combined_count = vi->curr_pairs;
}

static int vnet_set_channels(struct net_device *dev,
			     struct ethtool_channels *ch)
{
	struct vnet_info *vi = netdev_priv(dev);
	unsigned int n = ch->combined_count;
	int err;

	if (ch->rx_count || ch->tx_count || ch->other_count)
		return -EINVAL;
	if (!n || n > vi->max_pairs)
		return -EINVAL;
	if (n == vi->curr_pairs)
		return 0;
	if (!vireo_has_feature(vi->vd, VIRTIO_NET_F_MQ))
		return -EOPNOTSUPP;
	if (vi->dead || vi->failed || !vi->have_vqs)
		return -EIO;
	err = vnet_ctrl_set_pairs(vi, n);
	if (err) {
		netdev_warn(dev, "the device refused %u queue pairs: %d\n",
			    n, err);
		return err;
	}
	vi->curr_pairs = n;
	netif_set_real_num_tx_queues(dev, n);
	netif_set_real_num_rx_queues(dev, n);
	vnet_set_affinity(vi);
	return 0;
}

static void vnet_get_ringparam(struct net_device *dev,
			       struct ethtool_ringparam *ring,
			       struct kernel_ethtool_ringparam *kring,
			       struct netlink_ext_ack *extack)
{
	struct vnet_info *vi = netdev_priv(dev);

	ring->rx_max_pending = vi->rq[0].max_size;
	ring->tx_max_pending = vi->sq[0].max_size;
	if (vi->have_vqs) {
		ring->rx_pending = vireo_vq_size(vi->rq[0].vq);
		ring->tx_pending = vireo_vq_size(vi->sq[0].vq);
	}
}

static int resize_rq(struct vnet_info *vi, struct vnet_rq *rq,
		     unsigned int num)
{
	int err;

	if (vi->napi_on)
		napi_disable(&rq->napi);
	err = vireo_vq_resize(rq->vq, num, vnet_rx_recycle);
	if (!vireo_vq_is_broken(rq->vq))
		vnet_rx_fill(rq, GFP_KERNEL);
	if (vi->napi_on) {
		napi_enable(&rq->napi);
		local_bh_disable();
		vnet_napi_schedule(&rq->napi, rq->vq);
		local_bh_enable();
	}
	return err;
}

/*
 * The stack must not transmit on the queue while it is reset: it is
 * stopped under the tx lock (so no transmit is running), and nothing
 * wakes or reaps it (sq->paused) until the new ring is up.
 */
static int resize_sq(struct vnet_info *vi, struct vnet_sq *sq,
		     unsigned int num)
{
	struct netdev_queue *txq = netdev_get_tx_queue(vi->dev, sq - vi->sq);
	int err;

	__netif_tx_lock_bh(txq);
	WRITE_ONCE(sq->paused, true);
	netif_tx_stop_queue(txq);
	__netif_tx_unlock_bh(txq);
	if (vi->napi_on && vi->napi_tx)
		napi_disable(&sq->napi);
	err = vireo_vq_resize(sq->vq, num, vnet_tx_recycle);
	netdev_tx_reset_queue(txq);
	if (!vi->napi_tx)
		vireo_vq_disable_cb(sq->vq);
	if (vi->napi_on && vi->napi_tx)
		napi_enable(&sq->napi);
	/* Under the lock: the RX poll reaps this ring only while it is not paused. */
	__netif_tx_lock_bh(txq);
	WRITE_ONCE(sq->paused, false);
	if (!vireo_vq_is_broken(sq->vq))
		netif_tx_wake_queue(txq);
	__netif_tx_unlock_bh(txq);
	return err;
}

static int vnet_set_ringparam(struct net_device *dev,
			      struct ethtool_ringparam *ring,
			      struct kernel_ethtool_ringparam *kring,
			      struct netlink_ext_ack *extack)
{
	struct vnet_info *vi = netdev_priv(dev);
	unsigned int i;
	int err;

	if (ring->rx_mini_pending || ring->rx_jumbo_pending)
		return -EINVAL;
	if (vi->dead || vi->failed || !vi->have_vqs)
		return -EIO;
	if (ring->rx_pending == vireo_vq_size(vi->rq[0].vq) &&
	    ring->tx_pending == vireo_vq_size(vi->sq[0].vq))
		return 0;
	if (!vireo_vq_can_reset(vi->rq[0].vq)) {
		NL_SET_ERR_MSG(extack, "the device cannot reset a queue (no VIRTIO_F_RING_RESET)");
		return -EOPNOTSUPP;
	}
	if (ring->tx_pending < VNET_TX_ROOM) {
		NL_SET_ERR_MSG(extack, "tx ring too small for one packet");
		return -EINVAL;
	}
	for (i = 0; i < vi->max_pairs; i++) {
		if (ring->rx_pending != vireo_vq_size(vi->rq[i].vq)) {
			err = resize_rq(vi, &vi->rq[i], ring->rx_pending);
			if (err)
				return err;
		}
		if (ring->tx_pending != vireo_vq_size(vi->sq[i].vq)) {
			err = resize_sq(vi, &vi->sq[i], ring->tx_pending);
			if (err)
				return err;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* RSS (virtio 1.2, 5.1.6.5.7): Toeplitz only                          */
/* ------------------------------------------------------------------ */

static u32 vnet_get_rxfh_key_size(struct net_device *dev)
{
	struct vnet_info *vi = netdev_priv(dev);

	return vi->has_rss || vi->has_hash ? vi->rss_key_size : 0;
}

static u32 vnet_get_rxfh_indir_size(struct net_device *dev)
{
	struct vnet_info *vi = netdev_priv(dev);

	return vi->has_rss ? vi->rss_table_len : 0;
}

static int vnet_rxfh_get(struct net_device *dev, u32 *indir, u8 *key,
			 u8 *hfunc)
{
	struct vnet_info *vi = netdev_priv(dev);
	unsigned int i;

	if (!vi->has_rss && !vi->has_hash)
		return -EOPNOTSUPP;
	if (hfunc)
		*hfunc = ETH_RSS_HASH_TOP;
	if (indir && vi->has_rss)
		for (i = 0; i < vi->rss_table_len; i++)
			indir[i] = vi->rss_table[i];
	if (key)
		memcpy(key, vi->rss_key, vi->rss_key_size);
	return 0;
}

/*
 * The ethtool core checked the sizes and that every entry names a queue
 * in use (ETHTOOL_GRXRINGS); NULL means "unchanged".
 */
static int vnet_rxfh_set(struct net_device *dev, const u32 *indir,
			 const u8 *key, u8 hfunc)
{
	struct vnet_info *vi = netdev_priv(dev);
	unsigned int i;
	u16 *table;
	int err;

	if (!vi->has_rss && !vi->has_hash)
		return -EOPNOTSUPP;
	if (hfunc != ETH_RSS_HASH_NO_CHANGE && hfunc != ETH_RSS_HASH_TOP)
		return -EOPNOTSUPP;
	if (indir && !vi->has_rss)
		return -EOPNOTSUPP;
	if (!indir && !key)
		return 0;
	if (vi->dead || vi->failed || !vi->have_vqs)
		return -EIO;
	if (!vi->has_rss)
		return vnet_rss_set(vi, NULL, key, vi->rss_hash_types, 1);
	table = kmalloc_array(vi->rss_table_len, sizeof(*table), GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	for (i = 0; i < vi->rss_table_len; i++) {
		if (indir && indir[i] >= vi->curr_pairs) {
			kfree(table);
			return -EINVAL;
		}
		table[i] = indir ? indir[i] : vi->rss_table[i];
	}
	err = vnet_rss_set(vi, table, key ?: vi->rss_key, vi->rss_hash_types,
			   vi->curr_pairs);
	kfree(table);
	return err;
}

#if VIREO_NET_RXFH_PARAM
static int vnet_get_rxfh(struct net_device *dev,
			 struct ethtool_rxfh_param *p)
{
	return vnet_rxfh_get(dev, p->indir, p->key, &p->hfunc);
}

/* No RSS contexts, no input transforms. */
static int vnet_set_rxfh(struct net_device *dev,
			 struct ethtool_rxfh_param *p,
			 struct netlink_ext_ack *extack)
{
	if (p->rss_context || p->rss_delete ||
	    (p->input_xfrm && p->input_xfrm != RXH_XFRM_NO_CHANGE))
		return -EOPNOTSUPP;
	return vnet_rxfh_set(dev, p->indir, p->key, p->hfunc);
}
#else
static int vnet_get_rxfh(struct net_device *dev, u32 *indir, u8 *key,
			 u8 *hfunc)
{
	return vnet_rxfh_get(dev, indir, key, hfunc);
}

static int vnet_set_rxfh(struct net_device *dev, const u32 *indir,
			 const u8 *key, const u8 hfunc)
{
	return vnet_rxfh_set(dev, indir, key, hfunc);
}
#endif

/*
 * rx-flow-hash: per flow type, the virtio hash type of its layer 4 ("sdfn":
 * addresses and ports) and of its layer 3 ("sd": addresses only). A TCP or
 * UDP flow without its layer 4 type is hashed by its IP one, which it
 * shares with the other flows of that IP version.
 */
static bool flow_types(u32 flow, u32 *l4, u32 *l3)
{
	switch (flow) {
	case TCP_V4_FLOW:
		*l4 = VIRTIO_NET_RSS_HASH_TYPE_TCPv4;
		*l3 = VIRTIO_NET_RSS_HASH_TYPE_IPv4;
		return true;
	case UDP_V4_FLOW:
		*l4 = VIRTIO_NET_RSS_HASH_TYPE_UDPv4;
		*l3 = VIRTIO_NET_RSS_HASH_TYPE_IPv4;
		return true;
	case TCP_V6_FLOW:
		*l4 = VIRTIO_NET_RSS_HASH_TYPE_TCPv6;
		*l3 = VIRTIO_NET_RSS_HASH_TYPE_IPv6;
		return true;
	case UDP_V6_FLOW:
		*l4 = VIRTIO_NET_RSS_HASH_TYPE_UDPv6;
		*l3 = VIRTIO_NET_RSS_HASH_TYPE_IPv6;
		return true;
	case IPV4_FLOW:
		*l4 = 0;
		*l3 = VIRTIO_NET_RSS_HASH_TYPE_IPv4;
		return true;
	case IPV6_FLOW:
		*l4 = 0;
		*l3 = VIRTIO_NET_RSS_HASH_TYPE_IPv6;
		return true;
	}
	return false;
}

#define VNET_RXH_L3	(RXH_IP_SRC | RXH_IP_DST)
#define VNET_RXH_L4	(VNET_RXH_L3 | RXH_L4_B_0_1 | RXH_L4_B_2_3)

static int get_flow_hash(struct vnet_info *vi, struct ethtool_rxnfc *info)
{
	u32 l4, l3, t = vi->rss_hash_types;

	if (!flow_types(info->flow_type, &l4, &l3))
		return -EINVAL;
	info->data = 0;
	if (l4 && (t & l4))
		info->data = VNET_RXH_L4;
	else if (t & l3)
		info->data = VNET_RXH_L3;
	return 0;
}

/* "sdfn" and "sd" where the device can; nothing ("") for ip4 and ip6. */
static int set_flow_hash(struct vnet_info *vi, struct ethtool_rxnfc *info)
{
	u32 l4, l3, t = vi->rss_hash_types;

	if (!flow_types(info->flow_type, &l4, &l3))
		return -EINVAL;
	if (info->data == VNET_RXH_L4 && l4)
		t |= l4;
	else if (info->data == VNET_RXH_L3)
		t = (t & ~l4) | l3;
	else if (!info->data && !l4)
		t &= ~l3;
	else
		return -EINVAL;
	if (t & ~vi->rss_hash_supported)
		return -EINVAL;
	if (t == vi->rss_hash_types)
		return 0;
	if (vi->dead || vi->failed || !vi->have_vqs)
		return -EIO;
	return vnet_rss_set(vi, vi->rss_table, vi->rss_key, t, vi->curr_pairs);
}

static int vnet_get_rxnfc(struct net_device *dev, struct ethtool_rxnfc *info,
			  u32 *rule_locs)
{
	struct vnet_info *vi = netdev_priv(dev);

	switch (info->cmd) {
	case ETHTOOL_GRXRINGS:
		info->data = vi->curr_pairs;
		return 0;
	case ETHTOOL_GRXFH:
		if (!vi->has_rss && !vi->has_hash)
			return -EOPNOTSUPP;
		return get_flow_hash(vi, info);
	}
	return -EOPNOTSUPP;
}

static int vnet_set_rxnfc(struct net_device *dev, struct ethtool_rxnfc *info)
{
	struct vnet_info *vi = netdev_priv(dev);

	if (info->cmd != ETHTOOL_SRXFH || (!vi->has_rss && !vi->has_hash))
		return -EOPNOTSUPP;
	return set_flow_hash(vi, info);
}

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

/* What vireo_net counts per queue; a name it does not count reads 0. */
enum { S_NONE, S_PACKETS, S_BYTES, S_DROPS, S_KICKS, S_TIMEOUTS };

struct vnet_stat {
	const char *name;
	int what;
};

#if VIREO_NET_QSTATS
static const struct vnet_stat rx_stats[] = {
	{ "drops", S_DROPS }, { "xdp_packets", S_NONE }, { "xdp_tx", S_NONE },
	{ "xdp_redirects", S_NONE }, { "xdp_drops", S_NONE },
	{ "kicks", S_KICKS },
};

static const struct vnet_stat tx_stats[] = {
	{ "xdp_tx", S_NONE }, { "xdp_tx_drops", S_NONE }, { "kicks", S_KICKS },
	{ "tx_timeouts", S_TIMEOUTS },
};
#else
static const struct vnet_stat rx_stats[] = {
	{ "packets", S_PACKETS }, { "bytes", S_BYTES }, { "drops", S_DROPS },
	{ "xdp_packets", S_NONE }, { "xdp_tx", S_NONE },
	{ "xdp_redirects", S_NONE }, { "xdp_drops", S_NONE },
	{ "kicks", S_KICKS },
};

static const struct vnet_stat tx_stats[] = {
	{ "packets", S_PACKETS }, { "bytes", S_BYTES }, { "xdp_tx", S_NONE },
	{ "xdp_tx_drops", S_NONE }, { "kicks", S_KICKS },
	{ "tx_timeouts", S_TIMEOUTS },
};
#endif

static void names(u8 **p, const char *prefix, int q,
		  const struct vnet_stat *s, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (q < 0)
			ethtool_sprintf(p, "%s_%s", prefix, s[i].name);
		else if (VIREO_NET_QSTATS)
			ethtool_sprintf(p, "%s%d_%s", prefix, q, s[i].name);
		else
			ethtool_sprintf(p, "%s_queue_%d_%s", prefix, q,
					s[i].name);
	}
}

static void vnet_get_strings(struct net_device *dev, u32 set, u8 *data)
{
	struct vnet_info *vi = netdev_priv(dev);
	unsigned int i;

	if (set != ETH_SS_STATS)
		return;
	if (VIREO_NET_QSTATS) {
		names(&data, "rx", -1, rx_stats, ARRAY_SIZE(rx_stats));
		names(&data, "tx", -1, tx_stats, ARRAY_SIZE(tx_stats));
	}
	for (i = 0; i < vi->curr_pairs; i++)
		names(&data, "rx", i, rx_stats, ARRAY_SIZE(rx_stats));
	for (i = 0; i < vi->curr_pairs; i++)
		names(&data, "tx", i, tx_stats, ARRAY_SIZE(tx_stats));
}

static int vnet_get_sset_count(struct net_device *dev, int set)
{
	struct vnet_info *vi = netdev_priv(dev);
	unsigned int per = ARRAY_SIZE(rx_stats) + ARRAY_SIZE(tx_stats);

	if (set != ETH_SS_STATS)
		return -EOPNOTSUPP;
	return per * (vi->curr_pairs + VIREO_NET_QSTATS);
}

struct rq_snap {
	u64 v[S_TIMEOUTS + 1];
};

static void snap_rq(struct vnet_rq *rq, struct rq_snap *s)
{
	unsigned int start;

	memset(s, 0, sizeof(*s));
	do {
		start = u64_stats_fetch_begin(&rq->stats.syncp);
		s->v[S_PACKETS] = u64_stats_read(&rq->stats.packets);
		s->v[S_BYTES] = u64_stats_read(&rq->stats.bytes);
		s->v[S_DROPS] = u64_stats_read(&rq->stats.drops);
		s->v[S_KICKS] = u64_stats_read(&rq->stats.kicks);
	} while (u64_stats_fetch_retry(&rq->stats.syncp, start));
}

static void snap_sq(struct vnet_sq *sq, struct rq_snap *s)
{
	unsigned int start;

	memset(s, 0, sizeof(*s));
	do {
		start = u64_stats_fetch_begin(&sq->stats.syncp);
		s->v[S_PACKETS] = u64_stats_read(&sq->stats.packets);
		s->v[S_BYTES] = u64_stats_read(&sq->stats.bytes);
		s->v[S_KICKS] = u64_stats_read(&sq->stats.kicks);
		s->v[S_TIMEOUTS] = u64_stats_read(&sq->stats.timeouts);
	} while (u64_stats_fetch_retry(&sq->stats.syncp, start));
}

static void vnet_get_ethtool_stats(struct net_device *dev,
				   struct ethtool_stats *stats, u64 *data)
{
	struct vnet_info *vi = netdev_priv(dev);
	unsigned int nrx = ARRAY_SIZE(rx_stats), ntx = ARRAY_SIZE(tx_stats);
	u64 *rx = data, *tx = data + nrx, *q;
	struct rq_snap s;
	unsigned int i, j;

	q = data + (VIREO_NET_QSTATS ? nrx + ntx : 0);
	if (VIREO_NET_QSTATS)
		memset(data, 0, (nrx + ntx) * sizeof(*data));
	for (i = 0; i < vi->curr_pairs; i++) {
		snap_rq(&vi->rq[i], &s);
		for (j = 0; j < nrx; j++, q++) {
			*q = s.v[rx_stats[j].what] * (rx_stats[j].what != S_NONE);
			if (VIREO_NET_QSTATS)
				rx[j] += *q;
		}
	}
	for (i = 0; i < vi->curr_pairs; i++) {
		snap_sq(&vi->sq[i], &s);
		for (j = 0; j < ntx; j++, q++) {
			*q = s.v[tx_stats[j].what] * (tx_stats[j].what != S_NONE);
			if (VIREO_NET_QSTATS)
				tx[j] += *q;
		}
	}
}

const struct ethtool_ops vnet_ethtool_ops = {
	.get_drvinfo = vnet_get_drvinfo,
	.get_link = ethtool_op_get_link,
	.get_link_ksettings = vnet_get_link_ksettings,
	.set_link_ksettings = vnet_set_link_ksettings,
	.get_channels = vnet_get_channels,
	.set_channels = vnet_set_channels,
	.get_ringparam = vnet_get_ringparam,
	.set_ringparam = vnet_set_ringparam,
	.get_rxfh_key_size = vnet_get_rxfh_key_size,
	.get_rxfh_indir_size = vnet_get_rxfh_indir_size,
	.get_rxfh = vnet_get_rxfh,
	.set_rxfh = vnet_set_rxfh,
	.get_rxnfc = vnet_get_rxnfc,
	.set_rxnfc = vnet_set_rxnfc,
	.get_strings = vnet_get_strings,
	.get_sset_count = vnet_get_sset_count,
	.get_ethtool_stats = vnet_get_ethtool_stats,
	.get_ts_info = ethtool_op_get_ts_info,
};

#if VIREO_NET_QSTATS
static void vnet_qstats_rx(struct net_device *dev, int i,
			   struct netdev_queue_stats_rx *st)
{
	struct vnet_info *vi = netdev_priv(dev);
	struct vnet_rq *rq = &vi->rq[i];
	unsigned int start;

	do {
		start = u64_stats_fetch_begin(&rq->stats.syncp);
		st->packets = u64_stats_read(&rq->stats.packets);
		st->bytes = u64_stats_read(&rq->stats.bytes);
		st->alloc_fail = u64_stats_read(&rq->stats.alloc_fail);
	} while (u64_stats_fetch_retry(&rq->stats.syncp, start));
}

static void vnet_qstats_tx(struct net_device *dev, int i,
			   struct netdev_queue_stats_tx *st)
{
	struct vnet_info *vi = netdev_priv(dev);
	struct vnet_sq *sq = &vi->sq[i];
	unsigned int start;

	do {
		start = u64_stats_fetch_begin(&sq->stats.syncp);
		st->packets = u64_stats_read(&sq->stats.packets);
		st->bytes = u64_stats_read(&sq->stats.bytes);
		st->stop = u64_stats_read(&sq->stats.stop);
		st->wake = u64_stats_read(&sq->stats.wake);
	} while (u64_stats_fetch_retry(&sq->stats.syncp, start));
}

/* Queues beyond the ones in use keep their counts: they are the base. */
static void vnet_qstats_base(struct net_device *dev,
			     struct netdev_queue_stats_rx *rx,
			     struct netdev_queue_stats_tx *tx)
{
	struct vnet_info *vi = netdev_priv(dev);
	struct netdev_queue_stats_rx r;
	struct netdev_queue_stats_tx t;
	unsigned int i;

	memset(rx, 0, sizeof(*rx));
	memset(tx, 0, sizeof(*tx));
	rx->packets = 0;
	rx->bytes = 0;
	rx->alloc_fail = 0;
	tx->packets = 0;
	tx->bytes = 0;
	tx->stop = 0;
	tx->wake = 0;
	for (i = vi->curr_pairs; i < vi->max_pairs; i++) {
		vnet_qstats_rx(dev, i, &r);
		vnet_qstats_tx(dev, i, &t);
		rx->packets += r.packets;
		rx->bytes += r.bytes;
		rx->alloc_fail += r.alloc_fail;
		tx->packets += t.packets;
		tx->bytes += t.bytes;
		tx->stop += t.stop;
		tx->wake += t.wake;
	}
}

static const struct netdev_stat_ops vnet_stat_ops = {
	.get_queue_stats_rx = vnet_qstats_rx,
	.get_queue_stats_tx = vnet_qstats_tx,
	.get_base_stats = vnet_qstats_base,
};

void vnet_set_stat_ops(struct net_device *dev)
{
	dev->stat_ops = &vnet_stat_ops;
}
#else
void vnet_set_stat_ops(struct net_device *dev)
{
}
#endif
