// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_net transmit path (virtio 1.2, 5.1.6.2): the header goes in the
 * skb's headroom as its own descriptor, the skb's data and fragments after
 * it. Completions are reaped by each transmit and by a TX NAPI context
 * (napi_tx=1, the default) whose interrupt is off during a batch and asked
 * for, delayed, at its end; without NAPI, by the next transmit on the
 * queue, with an interrupt asked for only once the queue had to stop.
 *
 * Byte queue limits (BQL) with TX NAPI only. Stop and wake cannot lose a
 * wakeup: the queue is stopped with the tx
 * lock held, then the ring is re-armed and checked once more; everything
 * that reaps (NAPI, the next transmit) holds the same lock, and the one
 * path that does not (the interrupt without NAPI) only wakes.
 */
#include <linux/skbuff.h>

#include "net.h"

static void sq_stat_add(struct vnet_sq *sq, u64_stats_t *s, u64 n)
{
	u64_stats_update_begin(&sq->stats.syncp);
	u64_stats_add(s, n);
	u64_stats_update_end(&sq->stats.syncp);
}

static unsigned int sq_index(struct vnet_sq *sq)
{
	return sq - sq->vi->sq;
}

/* Reaps what the device sent. Under the queue's tx lock. */
static void free_old_xmit(struct vnet_sq *sq, struct netdev_queue *txq,
			  int budget)
{
	unsigned int len, packets = 0, bytes = 0;
	struct sk_buff *skb;

	while ((skb = vireo_vq_get_buf(sq->vq, &len))) {
		bytes += skb->len;
		packets++;
		napi_consume_skb(skb, budget);
	}
	if (!packets)
		return;
	if (unlikely(sq->stall_logged))
		sq->stall_logged = false;
	if (sq->vi->napi_tx)
		netdev_tx_completed_queue(txq, packets, bytes);
	u64_stats_update_begin(&sq->stats.syncp);
	u64_stats_add(&sq->stats.packets, packets);
	u64_stats_add(&sq->stats.bytes, bytes);
	u64_stats_update_end(&sq->stats.syncp);
}

static bool sq_has_room(struct vnet_sq *sq)
{
	return vireo_vq_num_free(sq->vq) >= VNET_TX_ROOM;
}

static void sq_wake(struct vnet_sq *sq, struct netdev_queue *txq)
{
	if (netif_tx_queue_stopped(txq) && !READ_ONCE(sq->paused) &&
	    sq_has_room(sq)) {
		netif_tx_wake_queue(txq);
		sq_stat_add(sq, &sq->stats.wake, 1);
	}
}

int vnet_tx_poll(struct napi_struct *napi, int budget)
{
	struct vnet_sq *sq = container_of(napi, struct vnet_sq, napi);
	struct netdev_queue *txq = netdev_get_tx_queue(sq->vi->dev,
						       sq_index(sq));

	__netif_tx_lock(txq, raw_smp_processor_id());
	free_old_xmit(sq, txq, budget);
	sq_wake(sq, txq);
	/* budget 0 (netpoll): reap only. */
	if (budget && napi_complete_done(napi, 0) &&
	    !vireo_vq_enable_cb(sq->vq))
		vnet_napi_schedule(napi, sq->vq);
	__netif_tx_unlock(txq);
	return 0;
}

/*
 * From the pair's RX poll, with TX NAPI: TCP's ACKs come in there, and
 * reaping the packets they acknowledge at once lets the socket send more
 * without waiting for the TX interrupt (delayed while packets are in
 * flight). Skipped when the queue's lock is taken (whoever holds it reaps)
 * or the ring is being reset.
 */
void vnet_tx_clean(struct vnet_sq *sq, int budget)
{
	struct netdev_queue *txq = netdev_get_tx_queue(sq->vi->dev,
						       sq_index(sq));

	if (!sq->vi->napi_tx || !__netif_tx_trylock(txq))
		return;
	if (!READ_ONCE(sq->paused)) {
		do {
			vireo_vq_disable_cb(sq->vq);
			free_old_xmit(sq, txq, budget);
		} while (unlikely(!vireo_vq_enable_cb_delayed(sq->vq)));
		sq_wake(sq, txq);
	}
	__netif_tx_unlock(txq);
}

void vnet_tx_done(struct vireo_vq *vq)
{
	struct vnet_info *vi = vq->vdev->priv;
	struct vnet_sq *sq = &vi->sq[vq->index / 2];

	if (vi->napi_tx) {
		vnet_napi_schedule(&sq->napi, vq);
		return;
	}
	/* Without NAPI the interrupt only comes for a stopped queue. */
	vireo_vq_disable_cb(vq);
	if (!READ_ONCE(sq->paused))
		netif_wake_subqueue(vi->dev, sq_index(sq));
}

static int xmit_skb(struct vnet_sq *sq, struct sk_buff *skb)
{
	struct vnet_info *vi = sq->vi;
	struct virtio_net_hdr_mrg_rxbuf *hdr;
	int n, err;

	if (skb_has_frag_list(skb) && __skb_linearize(skb))
		return -ENOMEM;
	if (skb_cow_head(skb, vi->hdr_len))
		return -ENOMEM;
	hdr = (void *)(skb->data - vi->hdr_len);
	memset(hdr, 0, vi->hdr_len);
	err = virtio_net_hdr_from_skb(skb, &hdr->hdr, true, false, 0);
	if (err)
		return err;

	sg_init_table(sq->sg, skb_shinfo(skb)->nr_frags + 2);
	sg_set_buf(&sq->sg[0], hdr, vi->hdr_len);
	n = skb_to_sgvec(skb, sq->sg + 1, 0, skb->len);
	if (n < 0)
		return n;
	return vireo_vq_add_outbuf(sq->vq, sq->sg, n + 1, skb, GFP_ATOMIC);
}

/* After a packet went in: stop before the ring can refuse the next one. */
static void check_stop(struct vnet_sq *sq, struct netdev_queue *txq)
{
	if (sq_has_room(sq))
		return;
	netif_tx_stop_queue(txq);
	sq_stat_add(sq, &sq->stats.stop, 1);
	/*
	 * Ask for an interrupt once most of the ring is sent; if the device
	 * was quicker than that, reap now (nothing else might).
	 */
	if (!vireo_vq_enable_cb_delayed(sq->vq)) {
		free_old_xmit(sq, txq, 0);
		if (sq_has_room(sq)) {
			netif_tx_start_queue(txq);
			sq_stat_add(sq, &sq->stats.wake, 1);
			if (!sq->vi->napi_tx)
				vireo_vq_disable_cb(sq->vq);
		}
	}
}

netdev_tx_t vnet_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct vnet_info *vi = netdev_priv(dev);
	unsigned int qnum = skb_get_queue_mapping(skb);
	struct vnet_sq *sq = &vi->sq[qnum];
	struct netdev_queue *txq = netdev_get_tx_queue(dev, qnum);
	bool more = netdev_xmit_more();
	bool kick;
	int err;

	/*
	 * With TX NAPI the queue's interrupt stays off while the stack hands
	 * over a batch: what the device sent is reaped here. At the batch's
	 * end (the last packet of a run, or one the stack sends alone) the
	 * interrupt is asked for once most of what is in flight is sent; if
	 * more came back meanwhile, reap again. A stop in the middle of a
	 * batch (ring full) asks for it in check_stop; BQL stops a queue only
	 * at a batch's end. So a queue with packets in flight always has an
	 * interrupt coming.
	 */
	do {
		if (vi->napi_tx)
			vireo_vq_disable_cb(sq->vq);
		free_old_xmit(sq, txq, 0);
	} while (vi->napi_tx && !more &&
		 unlikely(!vireo_vq_enable_cb_delayed(sq->vq)));
	err = xmit_skb(sq, skb);
	if (err) {
		/* A disabled queue: the ring said so; give up on the device. */
		if (vireo_vq_is_broken(sq->vq))
			vnet_give_up(vi, NULL);
		else if (net_ratelimit())
			netdev_warn(dev, "tx%u: dropped a packet: %d (%u descriptors free)\n",
				    qnum, err, vireo_vq_num_free(sq->vq));
		dev->stats.tx_dropped++;
		dev_kfree_skb_any(skb);
		kick = !more || netif_xmit_stopped(txq);
		goto kick;
	}
	if (!vi->napi_tx) {
		/* Completions may lie far ahead: let the socket go on. */
		skb_orphan(skb);
		nf_reset_ct(skb);
	}
	/*
	 * BQL only with TX NAPI: without it completions are reaped by the
	 * next transmit, which BQL would hold back.
	 */
	if (vi->napi_tx)
		kick = __netdev_tx_sent_queue(txq, skb->len, more);
	else
		kick = !more;
	check_stop(sq, txq);
kick:
	if (kick && vireo_vq_kick_prepare(sq->vq)) {
		vireo_vq_notify(sq->vq);
		sq_stat_add(sq, &sq->stats.kicks, 1);
	}
	return NETDEV_TX_OK;
}

/*
 * The stack's watchdog: a queue stopped (by the driver or BQL) with no
 * transmit for the watchdog's time, called again every such period while
 * it lasts. Logged once per stall; a disabled queue, or one the device has
 * not served for vireo_ring's abort_timeout, gives up on the device.
 */
void vnet_tx_timeout(struct net_device *dev, unsigned int txqueue)
{
	struct vnet_info *vi = netdev_priv(dev);
	struct vnet_sq *sq = &vi->sq[txqueue];
	struct netdev_queue *txq = netdev_get_tx_queue(dev, txqueue);
	unsigned long idle = jiffies - READ_ONCE(txq->trans_start);
	unsigned int limit = vireo_abort_timeout();
	char why[80];

	sq_stat_add(sq, &sq->stats.timeouts, 1);
	if (vireo_vq_is_broken(sq->vq)) {
		vnet_give_up(vi, NULL);
		return;
	}
	if (limit && idle >= (unsigned long)limit * HZ) {
		snprintf(why, sizeof(why), "tx%u: the device has sent nothing for %u ms",
			 txqueue, jiffies_to_msecs(idle));
		vnet_give_up(vi, why);
		return;
	}
	if (sq->stall_logged)
		return;
	sq->stall_logged = true;
	netdev_err(dev, "tx%u timed out: %s, %u of %u descriptors free, %u ms since the last transmit, ring %s, napi_tx %d\n",
		   txqueue,
		   netif_tx_queue_stopped(txq) ? "stopped" : "running",
		   vireo_vq_num_free(sq->vq), vireo_vq_size(sq->vq),
		   jiffies_to_msecs(jiffies - READ_ONCE(txq->trans_start)),
		   vireo_vq_is_broken(sq->vq) ? "broken" : "ok", vi->napi_tx);
}

void vnet_tx_recycle(struct vireo_vq *vq, void *buf, void *ctx)
{
	dev_kfree_skb_any(buf);
}
