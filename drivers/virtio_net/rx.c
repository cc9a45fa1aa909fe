// SPDX-License-Identifier: GPL-2.0
/*
 * vireo_net receive path: page-based buffers in three shapes (virtio 1.2,
 * 5.1.6.3), NAPI, GRO.
 *
 * Mergeable and small buffers are slices of a per-queue page fragment (an
 * order-3 page where the allocator has one); the device writes the header
 * and the frame into them. The first VNET_COPY_LEN bytes of a frame are
 * copied into a small skb, the rest is attached as page fragments, so a
 * buffer's page is never copied and could later be handed to XDP as is.
 * Each buffer's context says its truesize and the headroom before it.
 *
 * Everything the device writes is checked: the ring bounds each used
 * length by the buffer's size; here a frame shorter than its header, a
 * num_buffers of 0 or beyond what the ring holds, and a frame whose
 * buffers run out are dropped and counted (rx_length_errors), never read.
 */
#include <linux/skbuff.h>

#include "net.h"

static void *mk_ctx(unsigned int truesize, unsigned int headroom)
{
	return (void *)(unsigned long)((headroom << VNET_CTX_SIZE_BITS) |
				       truesize);
}

static unsigned int ctx_truesize(void *ctx)
{
	return (unsigned long)ctx & (BIT(VNET_CTX_SIZE_BITS) - 1);
}

static unsigned int ctx_headroom(void *ctx)
{
	return (unsigned long)ctx >> VNET_CTX_SIZE_BITS;
}

static void rq_stat_add(struct vnet_rq *rq, u64_stats_t *s, u64 n)
{
	u64_stats_update_begin(&rq->stats.syncp);
	u64_stats_add(s, n);
	u64_stats_update_end(&rq->stats.syncp);
}

/* The size of the next mergeable buffer: what recent frames needed. */
static unsigned int mergeable_len(struct vnet_rq *rq)
{
	struct vnet_info *vi = rq->vi;
	unsigned int min = vi->hdr_len + VNET_GOOD_LEN;
	unsigned int len;

	len = vi->hdr_len + ewma_pkt_len_read(&rq->pkt_len);
	len = clamp_t(unsigned int, len, min, PAGE_SIZE);
	return ALIGN(len, L1_CACHE_BYTES);
}

/* One slice of the queue's page fragment for @len bytes (and headroom). */
static int add_frag_buf(struct vnet_rq *rq, unsigned int len,
			unsigned int min, gfp_t gfp)
{
	struct page_frag *pf = &rq->alloc_frag;
	unsigned int headroom = 0, hole;
	void *buf;
	int err;

	if (!skb_page_frag_refill(len + headroom, pf, gfp))
		return -ENOMEM;
	buf = page_address(pf->page) + pf->offset + headroom;
	get_page(pf->page);
	hole = pf->size - pf->offset - headroom - len;
	/* A rest too small for another buffer goes to this one. */
	if (hole < min)
		len += hole;
	pf->offset += headroom + len;

	sg_init_one(rq->sg, buf, len);
	err = vireo_vq_add_inbuf_ctx(rq->vq, rq->sg, 1, buf,
				     mk_ctx(len, headroom), gfp);
	if (err)
		put_page(virt_to_head_page(buf));
	return err;
}

static void free_big(struct vnet_big_buf *bb)
{
	unsigned int i;

	for (i = 0; i < bb->npages; i++)
		if (bb->pages[i])
			put_page(bb->pages[i]);
	kfree(bb);
}

static int add_big_buf(struct vnet_rq *rq, gfp_t gfp)
{
	unsigned int i, n = rq->vi->big_pages;
	struct vnet_big_buf *bb;
	int err;

	bb = kzalloc(struct_size(bb, pages, n), gfp);
	if (!bb)
		return -ENOMEM;
	bb->npages = n;
	sg_init_table(rq->sg, n);
	for (i = 0; i < n; i++) {
		bb->pages[i] = alloc_page(gfp);
		if (!bb->pages[i]) {
			free_big(bb);
			return -ENOMEM;
		}
		sg_set_page(&rq->sg[i], bb->pages[i], PAGE_SIZE, 0);
	}
	err = vireo_vq_add_inbuf_ctx(rq->vq, rq->sg, n, bb, NULL, gfp);
	if (err)
		free_big(bb);
	return err;
}

/*
 * Posts buffers until the ring is full. Returns 0, or -ENOMEM when memory
 * ran out before (the caller retries later), or -EIO for a broken queue.
 */
int vnet_rx_fill(struct vnet_rq *rq, gfp_t gfp)
{
	struct vnet_info *vi = rq->vi;
	unsigned int min = vi->hdr_len + VNET_GOOD_LEN;
	bool added = false;
	int err = 0;

	while (vireo_vq_num_free(rq->vq)) {
		switch (vi->rx_mode) {
		case VNET_RX_MERGEABLE:
			err = add_frag_buf(rq, mergeable_len(rq), min, gfp);
			break;
		case VNET_RX_SMALL:
			err = add_frag_buf(rq, vi->hdr_len + vi->small_len,
					   vi->hdr_len + vi->small_len, gfp);
			break;
		case VNET_RX_BIG:
			err = add_big_buf(rq, gfp);
			break;
		}
		if (err)
			break;
		added = true;
	}
	if (added && vireo_vq_kick_prepare(rq->vq)) {
		vireo_vq_notify(rq->vq);
		rq_stat_add(rq, &rq->stats.kicks, 1);
	}
	if (err == -ENOMEM)
		rq_stat_add(rq, &rq->stats.alloc_fail, 1);
	if (err == -ENOSPC)
		err = 0;
	return err;
}

/* A buffer the device never filled (or a frame dropped): give it back. */
void vnet_rx_free_buf(struct vnet_rq *rq, void *buf, void *ctx)
{
	if (rq->vi->rx_mode == VNET_RX_BIG)
		free_big(buf);
	else
		put_page(virt_to_head_page(buf));
}

void vnet_rx_recycle(struct vireo_vq *vq, void *buf, void *ctx)
{
	struct vnet_info *vi = vq->vdev->priv;

	vnet_rx_free_buf(&vi->rq[vq->index / 2], buf, ctx);
}

void vnet_rx_release_frag(struct vnet_rq *rq)
{
	if (rq->alloc_frag.page) {
		put_page(rq->alloc_frag.page);
		rq->alloc_frag.page = NULL;
	}
}

static void rx_length_error(struct vnet_rq *rq, const char *fmt,
			    unsigned int a, unsigned int b)
{
	struct net_device *dev = rq->vi->dev;

	dev->stats.rx_length_errors++;
	rq_stat_add(rq, &rq->stats.drops, 1);
	if (net_ratelimit())
		netdev_warn(dev, "%s: dropped a frame: %s (%u, %u)\n",
			    rq->name, fmt, a, b);
}

/*
 * Appends @len bytes at @page + @off to @head, through a chain of skbs on
 * its frag_list once it has MAX_SKB_FRAGS fragments. Takes over one page
 * reference.
 */
static void add_frag(struct sk_buff *head, struct sk_buff **cur,
		     struct page *page, unsigned int off, unsigned int len,
		     unsigned int truesize)
{
	struct sk_buff *skb = *cur;
	int n = skb_shinfo(skb)->nr_frags;

	if (n && skb_can_coalesce(skb, n, page, off)) {
		skb_coalesce_rx_frag(skb, n - 1, len, truesize);
		put_page(page);
		goto account;
	}
	if (n == MAX_SKB_FRAGS) {
		struct sk_buff *nskb = alloc_skb(0, GFP_ATOMIC);

		if (!nskb) {
			/* Rare: the bytes are lost, the frame is truncated. */
			put_page(page);
			head->truesize += truesize;
			return;
		}
		if (skb == head)
			skb_shinfo(head)->frag_list = nskb;
		else
			skb->next = nskb;
		head->truesize += nskb->truesize;
		*cur = skb = nskb;
		n = 0;
	}
	skb_add_rx_frag(skb, n, page, off, len, truesize);
account:
	if (skb != head) {
		head->len += len;
		head->data_len += len;
		head->truesize += truesize;
	}
}

/*
 * A new skb for a frame whose first buffer is @buf (@len bytes, header
 * first). Copies the start of the frame and attaches the rest of the
 * buffer. Takes over the buffer's page reference.
 */
static struct sk_buff *frame_start(struct vnet_rq *rq, void *buf,
				   unsigned int len, unsigned int truesize)
{
	struct vnet_info *vi = rq->vi;
	unsigned int data = len - vi->hdr_len;
	unsigned int copy = min_t(unsigned int, data, VNET_COPY_LEN);
	struct page *page = virt_to_head_page(buf);
	struct sk_buff *skb;

	skb = napi_alloc_skb(&rq->napi, VNET_COPY_LEN);
	if (!skb) {
		put_page(page);
		return NULL;
	}
	skb_put_data(skb, buf + vi->hdr_len, copy);
	if (data > copy) {
		skb_add_rx_frag(skb, 0, page,
				buf + vi->hdr_len + copy - page_address(page),
				data - copy, truesize);
	} else {
		put_page(page);
	}
	return skb;
}

/*
 * The rest of a mergeable frame: @left more buffers. Returns false (and
 * frees what it took) if the device said more buffers than it returned.
 */
static bool frame_rest(struct vnet_rq *rq, struct sk_buff *head,
		       unsigned int left, unsigned int nbufs)
{
	struct sk_buff *cur = head;
	unsigned int len, truesize;
	struct page *page;
	void *buf, *ctx;

	while (left--) {
		buf = vireo_vq_get_buf_ctx(rq->vq, &len, &ctx);
		if (!buf) {
			rx_length_error(rq, "buffers missing, of num_buffers",
					left + 1, nbufs);
			return false;
		}
		truesize = ctx_truesize(ctx);
		page = virt_to_head_page(buf);
		if (len > truesize) {
			/* The ring checked it; a context out of step is ours. */
			put_page(page);
			rx_length_error(rq, "buffer overrun", len, truesize);
			continue;
		}
		if (!len) {
			put_page(page);
			continue;
		}
		add_frag(head, &cur, page, buf - page_address(page), len,
			 truesize + ctx_headroom(ctx));
	}
	return true;
}

/* Drops the remaining buffers of a frame that was already given up. */
static void drop_rest(struct vnet_rq *rq, unsigned int left)
{
	unsigned int len;
	void *buf, *ctx;

	while (left--) {
		buf = vireo_vq_get_buf_ctx(rq->vq, &len, &ctx);
		if (!buf)
			break;
		vnet_rx_free_buf(rq, buf, ctx);
	}
}

static struct sk_buff *receive_frag(struct vnet_rq *rq, void *buf,
				    unsigned int len, void *ctx,
				    union vnet_rx_hdr *hdr)
{
	struct vnet_info *vi = rq->vi;
	unsigned int nbufs = 1, truesize = ctx_truesize(ctx);
	struct sk_buff *skb;

	memcpy(hdr, buf, vi->hdr_len);
	if (vi->rx_mode == VNET_RX_MERGEABLE) {
		nbufs = le16_to_cpu((__force __le16)hdr->mrg.num_buffers);
		/* virtio 1.2, 5.1.6.4: at least one, and the ring holds them. */
		if (!nbufs || nbufs > vireo_vq_size(rq->vq)) {
			rx_length_error(rq, "bad num_buffers", nbufs,
					vireo_vq_size(rq->vq));
			put_page(virt_to_head_page(buf));
			return NULL;
		}
	}
	if (len > truesize) {
		rx_length_error(rq, "buffer overrun", len, truesize);
		put_page(virt_to_head_page(buf));
		drop_rest(rq, nbufs - 1);
		return NULL;
	}
	skb = frame_start(rq, buf, len, truesize + ctx_headroom(ctx));
	if (!skb) {
		rq_stat_add(rq, &rq->stats.drops, 1);
		drop_rest(rq, nbufs - 1);
		return NULL;
	}
	if (nbufs > 1 && !frame_rest(rq, skb, nbufs - 1, nbufs)) {
		dev_kfree_skb(skb);
		return NULL;
	}
	if (vi->rx_mode == VNET_RX_MERGEABLE)
		ewma_pkt_len_add(&rq->pkt_len, skb->len);
	return skb;
}

static struct sk_buff *receive_big(struct vnet_rq *rq,
				   struct vnet_big_buf *bb, unsigned int len,
				   union vnet_rx_hdr *hdr)
{
	struct vnet_info *vi = rq->vi;
	unsigned int data = len - vi->hdr_len, copy, off, n, i;
	u8 *p = page_address(bb->pages[0]);
	struct sk_buff *skb, *cur;

	memcpy(hdr, p, vi->hdr_len);
	skb = napi_alloc_skb(&rq->napi, VNET_COPY_LEN);
	if (!skb) {
		rq_stat_add(rq, &rq->stats.drops, 1);
		free_big(bb);
		return NULL;
	}
	copy = min_t(unsigned int, data, VNET_COPY_LEN);
	skb_put_data(skb, p + vi->hdr_len, copy);
	data -= copy;
	off = vi->hdr_len + copy;
	cur = skb;
	/* The ring bounded len by the chain's size: data fits the pages. */
	for (i = 0; i < bb->npages && data; i++) {
		if (off == PAGE_SIZE) {
			off = 0;
			continue;
		}
		n = min_t(unsigned int, data, PAGE_SIZE - off);
		add_frag(skb, &cur, bb->pages[i], off, n, PAGE_SIZE);
		bb->pages[i] = NULL;
		data -= n;
		off = 0;
	}
	free_big(bb);
	return skb;
}

/*
 * The header's offloads (virtio 1.2, 5.1.6.4.1): NEEDS_CSUM and GSO only as
 * negotiated and switched on, DATA_VALID as CHECKSUM_UNNECESSARY.
 */
static bool apply_hdr(struct vnet_rq *rq, struct sk_buff *skb,
		      union vnet_rx_hdr *hdr)
{
	struct vnet_info *vi = rq->vi;
	struct virtio_net_hdr *h = &hdr->mrg.hdr;
	u64 on = READ_ONCE(vi->guest_offloads);
	bool gso_ok;

	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		gso_ok = !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		gso_ok = on & vnet_offload_bit(VIRTIO_NET_F_GUEST_TSO4);
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		gso_ok = on & vnet_offload_bit(VIRTIO_NET_F_GUEST_TSO6);
		break;
	default:
		gso_ok = false;
	}
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	    !(on & vnet_offload_bit(VIRTIO_NET_F_GUEST_ECN)))
		gso_ok = false;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    !(vi->guest_offloads_capable &
	      vnet_offload_bit(VIRTIO_NET_F_GUEST_CSUM)))
		gso_ok = false;
	if (!gso_ok || virtio_net_hdr_to_skb(skb, h, true)) {
		if (net_ratelimit())
			netdev_warn(vi->dev, "%s: dropped a frame with a bad header (flags 0x%x, gso_type 0x%x, gso_size %u)\n",
				    rq->name, h->flags, h->gso_type,
				    le16_to_cpu((__force __le16)h->gso_size));
		vi->dev->stats.rx_frame_errors++;
		rq_stat_add(rq, &rq->stats.drops, 1);
		return false;
	}
	if ((h->flags & VIRTIO_NET_HDR_F_DATA_VALID) &&
	    (vi->dev->features & NETIF_F_RXCSUM))
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	return true;
}

/*
 * The device's hash of the frame (virtio 1.2, 5.1.6.4.3), with the layer
 * it covers, as the skb's hash: RPS, RFS and fanout use it as is. A report
 * type this driver does not know is not believed (one line, rate-limited).
 */
static void set_hash(struct vnet_rq *rq, struct sk_buff *skb,
		     const struct virtio_net_hdr_v1_hash *h)
{
	u16 report = le16_to_cpu(h->hash_report);
	enum pkt_hash_types type;

	switch (report) {
	case VIRTIO_NET_HASH_REPORT_NONE:
		return;
	case VIRTIO_NET_HASH_REPORT_IPv4:
	case VIRTIO_NET_HASH_REPORT_IPv6:
	case VIRTIO_NET_HASH_REPORT_IPv6_EX:
		type = PKT_HASH_TYPE_L3;
		break;
	case VIRTIO_NET_HASH_REPORT_TCPv4:
	case VIRTIO_NET_HASH_REPORT_UDPv4:
	case VIRTIO_NET_HASH_REPORT_TCPv6:
	case VIRTIO_NET_HASH_REPORT_UDPv6:
	case VIRTIO_NET_HASH_REPORT_TCPv6_EX:
	case VIRTIO_NET_HASH_REPORT_UDPv6_EX:
		type = PKT_HASH_TYPE_L4;
		break;
	default:
		if (net_ratelimit())
			netdev_warn(rq->vi->dev, "%s: unknown hash report type %u: hash ignored\n",
				    rq->name, report);
		return;
	}
	skb_set_hash(skb, le32_to_cpu(h->hash_value), type);
}

static void receive_one(struct vnet_rq *rq, void *buf, unsigned int len,
			void *ctx, u64 *bytes, u64 *packets)
{
	struct vnet_info *vi = rq->vi;
	union vnet_rx_hdr hdr = {};
	struct sk_buff *skb;

	if (len < vi->hdr_len + ETH_HLEN) {
		rx_length_error(rq, "shorter than header and Ethernet header",
				len, vi->hdr_len + ETH_HLEN);
		vnet_rx_free_buf(rq, buf, ctx);
		return;
	}
	if (vi->rx_mode == VNET_RX_BIG)
		skb = receive_big(rq, buf, len, &hdr);
	else
		skb = receive_frag(rq, buf, len, ctx, &hdr);
	if (!skb)
		return;
	if (!apply_hdr(rq, skb, &hdr)) {
		dev_kfree_skb(skb);
		return;
	}
	if (vi->has_hash && (vi->dev->features & NETIF_F_RXHASH))
		set_hash(rq, skb, &hdr.hash);
	*bytes += skb->len;
	(*packets)++;
	skb_record_rx_queue(skb, rq - vi->rq);
	skb->protocol = eth_type_trans(skb, vi->dev);
	napi_gro_receive(&rq->napi, skb);
}

static void rx_kick_refill(struct vnet_rq *rq)
{
	struct vnet_info *vi = rq->vi;
	unsigned long flags;

	spin_lock_irqsave(&vi->work_lock, flags);
	if (vi->refill_enabled)
		schedule_delayed_work(&vi->refill_work, HZ / 2);
	spin_unlock_irqrestore(&vi->work_lock, flags);
}

int vnet_rx_poll(struct napi_struct *napi, int budget)
{
	struct vnet_rq *rq = container_of(napi, struct vnet_rq, napi);
	u64 bytes = 0, packets = 0;
	unsigned int len;
	void *buf, *ctx;
	int done = 0;

	vnet_tx_clean(&rq->vi->sq[rq - rq->vi->rq], budget);
	while (done < budget &&
	       (buf = vireo_vq_get_buf_ctx(rq->vq, &len, &ctx))) {
		receive_one(rq, buf, len, ctx, &bytes, &packets);
		done++;
	}
	/* A disabled queue: the ring said so; give up on the device. */
	if (unlikely(done < budget && vireo_vq_is_broken(rq->vq)))
		vnet_give_up(rq->vi, NULL);
	/*
	 * Refill once half a poll's worth is free: waiting for half the ring
	 * let a loaded guest's ring run dry while the device had frames.
	 */
	if (vireo_vq_num_free(rq->vq) >
		    min_t(unsigned int, budget, vireo_vq_size(rq->vq)) / 2 &&
	    vnet_rx_fill(rq, GFP_ATOMIC) == -ENOMEM &&
	    vireo_vq_num_free(rq->vq) == vireo_vq_size(rq->vq))
		rx_kick_refill(rq);

	u64_stats_update_begin(&rq->stats.syncp);
	u64_stats_add(&rq->stats.packets, packets);
	u64_stats_add(&rq->stats.bytes, bytes);
	u64_stats_update_end(&rq->stats.syncp);

	/* Buffers that came in after the last look raise no interrupt. */
	if (done < budget && napi_complete_done(napi, done) &&
	    !vireo_vq_enable_cb(rq->vq))
		vnet_napi_schedule(napi, rq->vq);
	return done;
}

void vnet_rx_done(struct vireo_vq *vq)
{
	struct vnet_info *vi = vq->vdev->priv;
	struct vnet_rq *rq = &vi->rq[vq->index / 2];

	vnet_napi_schedule(&rq->napi, vq);
}

/*
 * Memory ran out and a queue was left without buffers: the device can
 * deliver nothing there until this fills it again.
 */
void vnet_refill_work(struct work_struct *work)
{
	struct vnet_info *vi = container_of(work, struct vnet_info,
					    refill_work.work);
	bool again = false;
	unsigned int i;

	rtnl_lock();
	if (!vi->napi_on) {
		rtnl_unlock();
		return;
	}
	for (i = 0; i < vi->max_pairs; i++) {
		struct vnet_rq *rq = &vi->rq[i];

		napi_disable(&rq->napi);
		if (vnet_rx_fill(rq, GFP_KERNEL) == -ENOMEM)
			again = true;
		napi_enable(&rq->napi);
		/* Buffers the device used meanwhile raised no interrupt. */
		local_bh_disable();
		vnet_napi_schedule(&rq->napi, rq->vq);
		local_bh_enable();
	}
	rtnl_unlock();
	if (again)
		rx_kick_refill(&vi->rq[0]);
}
