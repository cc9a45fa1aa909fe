/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vireo_net: the virtio network device (virtio 1.2, 5.1) as a netdev.
 *
 * One receive and one transmit queue per queue pair (rx0, tx0, rx1, tx1,
 * ...), then the control queue; each queue has its own NAPI context.
 */
#ifndef _VIREO_NET_H
#define _VIREO_NET_H

#include <linux/average.h>
#include <linux/cpumask.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/u64_stats_sync.h>
#include <linux/virtio_net.h>
#include <linux/workqueue.h>

#include <vireo/virtio.h>

/* Copied into the skb's linear area; the rest stays in the pages. */
#define VNET_COPY_LEN		128
/* The smallest receive buffer for a 1500-byte MTU frame with a VLAN tag. */
#define VNET_GOOD_LEN		(ETH_HLEN + VLAN_HLEN + ETH_DATA_LEN)
/* Room a transmit queue needs for one more packet of any shape. */
#define VNET_TX_ROOM		(MAX_SKB_FRAGS + 2)
/* A receive buffer's context: its truesize and the headroom before it. */
#define VNET_CTX_SIZE_BITS	22
/* RSS limits (virtio 1.2, 5.1.4): key bytes, indirection table entries. */
#define VNET_RSS_KEY_MAX	40
#define VNET_RSS_TABLE_MAX	32768
/* The hash types vireo_net knows (VIRTIO_NET_RSS_HASH_TYPE_*). */
#define VNET_HASH_TYPES_KNOWN	0x1ff

/* How receive buffers are built (virtio 1.2, 5.1.6.3.1). */
enum vnet_rx_mode {
	VNET_RX_SMALL,		/* one buffer of MTU size per frame */
	VNET_RX_BIG,		/* GUEST_TSO* without MRG_RXBUF: 64 KiB chains */
	VNET_RX_MERGEABLE,	/* MRG_RXBUF: frames span buffers */
};

DECLARE_EWMA(pkt_len, 0, 64)

/*
 * The receive header as the device writes it: with HASH_REPORT the larger
 * virtio_net_hdr_v1_hash (virtio 1.2, 5.1.6), else the mergeable one.
 */
union vnet_rx_hdr {
	struct virtio_net_hdr_mrg_rxbuf mrg;
	struct virtio_net_hdr_v1_hash hash;
};

struct vnet_rq_stats {
	struct u64_stats_sync syncp;
	u64_stats_t packets;
	u64_stats_t bytes;
	u64_stats_t drops;
	u64_stats_t kicks;
	u64_stats_t alloc_fail;
};

struct vnet_sq_stats {
	struct u64_stats_sync syncp;
	u64_stats_t packets;
	u64_stats_t bytes;
	u64_stats_t kicks;
	u64_stats_t timeouts;
	u64_stats_t stop;
	u64_stats_t wake;
};

/* A "big packets" buffer: a chain of pages the device fills in order. */
struct vnet_big_buf {
	unsigned int npages;
	struct page *pages[];
};

struct vnet_rq {
	struct vireo_vq *vq;
	struct napi_struct napi;
	struct vnet_info *vi;
	struct page_frag alloc_frag;	/* mergeable and small buffers */
	struct ewma_pkt_len pkt_len;	/* mergeable buffer size follows it */
	unsigned int max_size;		/* the device's ring size at probe */
	struct scatterlist sg[MAX_SKB_FRAGS + 2];
	struct vnet_rq_stats stats;
	char name[24];
};

struct vnet_sq {
	struct vireo_vq *vq;
	struct napi_struct napi;
	struct vnet_info *vi;
	unsigned int max_size;
	bool paused;			/* ring reset in progress: no wakes */
	bool stall_logged;		/* this stall's timeout line is out */
	struct scatterlist sg[VNET_TX_ROOM];
	struct vnet_sq_stats stats;
	char name[24];
};

/* The control queue's request, kept out of the stack (DMA). */
struct vnet_ctrl {
	struct virtio_net_ctrl_hdr hdr;
	u8 status;
	union {
		u8 onoff;
		__le16 vid;
		struct virtio_net_ctrl_mq mq;
		__le64 offloads;
		u8 mac[ETH_ALEN];
	} data;
};

struct vnet_info {
	struct net_device *dev;
	struct vireo_device *vd;
	struct vnet_rq *rq;
	struct vnet_sq *sq;
	struct vireo_vq *cvq;
	unsigned int max_pairs;
	unsigned int curr_pairs;
	unsigned int hdr_len;
	enum vnet_rx_mode rx_mode;
	unsigned int small_len;		/* small buffers: frame bytes */
	unsigned int big_pages;		/* big buffers: pages per buffer */
	bool napi_tx;
	bool have_vqs;			/* queues exist (not after a failed resume) */
	bool napi_on;			/* NAPI enabled (open and not frozen) */
	bool dead;			/* a resume failed: no queues, none to come */
	bool failed;			/* given up on: reset, queues emptied */
	unsigned long fail_pending;	/* bit 0: fail_work is scheduled */
	char fail_why[80];		/* what fail_work logs ("": nothing) */
	struct work_struct fail_work;
	u64 guest_offloads;		/* VIRTIO_NET_F_GUEST_* bits in force */
	u64 guest_offloads_capable;	/* ... and the ones negotiated */
	u32 speed;
	u8 duplex;
	u16 status;			/* last VIRTIO_NET_S_* read */

	/*
	 * RSS and hash report (virtio 1.2, 5.1.6.5.7): what the device was
	 * last told successfully (or, before the first command, will be).
	 */
	bool has_rss;			/* VIRTIO_NET_F_RSS */
	bool has_hash;			/* VIRTIO_NET_F_HASH_REPORT */
	u8 rss_key_size;		/* the device's rss_max_key_size */
	u16 rss_table_len;		/* ... rss_max_indirection_table_length */
	u32 rss_hash_supported;		/* ... supported_hash_types (known ones) */
	u32 rss_hash_types;		/* hash types in force */
	u8 rss_key[VNET_RSS_KEY_MAX];
	u16 *rss_table;			/* rss_table_len receive queue numbers */

	/* Control queue: one command at a time. */
	struct mutex ctrl_lock;
	struct vnet_ctrl *ctrl;
	struct completion ctrl_done;
	bool ctrl_stuck;		/* the device holds an unanswered command */
	void *ctrl_stuck_buf;		/* ... and this buffer of it */
	atomic_t ctrl_drop;		/* debugfs: completions to ignore */
	unsigned long *vlans;		/* VLAN ids to filter, for restore */

	spinlock_t work_lock;		/* the *_enabled flags */
	bool rx_mode_enabled;
	bool refill_enabled;
	struct work_struct rx_mode_work;
	struct delayed_work refill_work;
	struct work_struct config_work;
	bool config_enabled;

	cpumask_var_t affinity;
	struct dentry *debugfs;
};

/*
 * Schedule @napi unless it is scheduled already, with the queue's callbacks
 * off until its poll turns them on again. Callers in process context wrap
 * it in local_bh_disable()/local_bh_enable().
 */
static inline void vnet_napi_schedule(struct napi_struct *napi,
				      struct vireo_vq *vq)
{
	if (napi_schedule_prep(napi)) {
		vireo_vq_disable_cb(vq);
		__napi_schedule(napi);
	}
}

/* main.c */
extern bool vnet_napi_tx;
extern unsigned int vnet_ctrl_timeout_ms;
void vnet_napi_enable_all(struct vnet_info *vi);
void vnet_napi_disable_all(struct vnet_info *vi);
void vnet_set_affinity(struct vnet_info *vi);
void vnet_give_up(struct vnet_info *vi, const char *why);

static inline u64 vnet_offload_bit(unsigned int feature)
{
	return BIT_ULL(feature);
}

/* rx.c */
int vnet_rx_fill(struct vnet_rq *rq, gfp_t gfp);
int vnet_rx_poll(struct napi_struct *napi, int budget);
void vnet_rx_done(struct vireo_vq *vq);
void vnet_rx_free_buf(struct vnet_rq *rq, void *buf, void *ctx);
void vnet_rx_recycle(struct vireo_vq *vq, void *buf, void *ctx);
void vnet_refill_work(struct work_struct *work);
void vnet_rx_release_frag(struct vnet_rq *rq);

/* tx.c */
netdev_tx_t vnet_start_xmit(struct sk_buff *skb, struct net_device *dev);
int vnet_tx_poll(struct napi_struct *napi, int budget);
void vnet_tx_done(struct vireo_vq *vq);
void vnet_tx_clean(struct vnet_sq *sq, int budget);
void vnet_tx_timeout(struct net_device *dev, unsigned int txqueue);
void vnet_tx_recycle(struct vireo_vq *vq, void *buf, void *ctx);

/* ctrl.c */
int vnet_ctrl_cmd(struct vnet_info *vi, u8 class, u8 cmd, const void *data,
		  size_t len, const char *what);
void vnet_ctrl_done(struct vireo_vq *vq);
int vnet_ctrl_set_pairs(struct vnet_info *vi, unsigned int pairs);
int vnet_ctrl_set_offloads(struct vnet_info *vi, u64 offloads);
void vnet_rss_spread(const struct vnet_info *vi, u16 *table,
		     unsigned int pairs);
int vnet_rss_set(struct vnet_info *vi, const u16 *table, const u8 *key,
		 u32 types, unsigned int pairs);
int vnet_ctrl_set_mac(struct vnet_info *vi, const u8 *mac);
int vnet_vlan_add(struct net_device *dev, __be16 proto, u16 vid);
int vnet_vlan_kill(struct net_device *dev, __be16 proto, u16 vid);
void vnet_ctrl_restore_vlans(struct vnet_info *vi);
void vnet_set_rx_mode(struct net_device *dev);
void vnet_rx_mode_work(struct work_struct *work);
void vnet_ctrl_announce_ack(struct vnet_info *vi);
void vnet_ctrl_debugfs(struct vnet_info *vi);
void vnet_ctrl_free(struct vnet_info *vi);

/* ethtool.c */
extern const struct ethtool_ops vnet_ethtool_ops;
void vnet_set_stat_ops(struct net_device *dev);

#endif /* _VIREO_NET_H */
