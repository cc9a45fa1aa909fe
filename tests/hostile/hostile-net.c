// SPDX-License-Identifier: GPL-2.0
/*
 * hostile-net: a vhost-user-net back-end that is a tiny host on the wire
 * (it answers ARP for its address and ICMP echo requests to it, and takes
 * every other frame in) and misbehaves on purpose when a fault rule
 * matches a frame it sends or a buffer it takes. QEMU attaches it with
 *
 *   -chardev socket,id=c0,path=SOCK -netdev vhost-user,id=n0,chardev=c0
 *   -device virtio-net-pci,netdev=n0
 *
 * (guest RAM must be a shared memfd, as for hostile-blk). See
 * docs/hostile.md for the rules.
 *
 * One queue pair: queue 0 receives (the device writes frames into the
 * guest's buffers), queue 1 transmits. With MRG_RXBUF a frame longer than
 * SPLIT bytes (--split, default 128) is spread over two buffers, so the
 * guest's multi-buffer path runs on every large frame. Every transmitted
 * chain is checked: readable only, a header, the header's flags and GSO
 * type as negotiated, the checksum request inside the frame.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhost-user.h"

#define VIRTIO_NET_F_CSUM		0
#define VIRTIO_NET_F_GUEST_CSUM		1
#define VIRTIO_NET_F_MRG_RXBUF		15
#define VIRTIO_NET_HDR_F_NEEDS_CSUM	1
#define VIRTIO_NET_HDR_GSO_TCPV4	1

#define NET_HDR_LEN	12		/* virtio_net_hdr_v1: VERSION_1 */
#define MAX_FRAME	2048		/* what this host ever sends */
#define MAX_TX		65550		/* what a transmitted chain may hold */
#define MAX_PENDING	64
#define MAX_RXBUFS	4

struct net_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
} __attribute__((packed));

enum fault_kind {
	F_NONE, F_LEN_SHORT, F_LEN_LONG, F_NUM_BUFFERS, F_GSO, F_CSUM,
	F_BAD_ID, F_STALE_ID, F_STALL,
};

static const char *const fault_names[] = {
	[F_LEN_SHORT] = "len-short", [F_LEN_LONG] = "len-long",
	[F_NUM_BUFFERS] = "num-buffers", [F_GSO] = "gso", [F_CSUM] = "csum",
	[F_BAD_ID] = "bad-id", [F_STALE_ID] = "stale-id", [F_STALL] = "stall",
};

enum frame_type { FR_ANY, FR_ARP, FR_ICMP };

struct rule {
	enum fault_kind kind;
	long value;
	bool tx;		/* on the transmit queue's buffers */
	enum frame_type frame;	/* receive: which frames */
	struct vu_trigger when;
	char text[128];
};

#define MAX_RULES 16
static struct rule rules[MAX_RULES];
static int nrules;

static uint8_t my_mac[6] = { 0x52, 0x54, 0x00, 0xee, 0x00, 0x01 };
static uint32_t my_ip;			/* network order */
static unsigned int split_at = 128;
static unsigned long tx_frames, rx_frames, arp_replies, echo_replies;

/* Frames waiting for receive buffers, oldest first. */
struct frame {
	uint8_t data[MAX_FRAME];
	uint32_t len;
	enum frame_type type;
};
static struct frame pending[MAX_PENDING];
static unsigned int pend_head, pend_count;

/* Receive buffers taken for the frame at the head of pending. */
struct rxbuf {
	struct seg segs[32];
	unsigned int nsegs, ndescs;
	uint16_t id;
	uint32_t cap;
};
static struct rxbuf taken[MAX_RXBUFS];
static unsigned int ntaken;

static const char *frame_name(enum frame_type t)
{
	return t == FR_ARP ? "arp" : t == FR_ICMP ? "icmp" : "other";
}

static struct rule *match(bool tx, enum frame_type t)
{
	for (int i = 0; i < nrules; i++) {
		struct rule *f = &rules[i];

		if (f->tx != tx || (!tx && f->frame != FR_ANY && f->frame != t))
			continue;
		if (vu_trigger_fires(&f->when))
			return f;
	}
	return NULL;
}

static uint16_t csum16(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static struct frame *queue_frame(enum frame_type type)
{
	struct frame *f;

	if (pend_count == MAX_PENDING) {
		say("receive side full: a reply is dropped");
		return NULL;
	}
	f = &pending[(pend_head + pend_count++) % MAX_PENDING];
	f->type = type;
	return f;
}

/* ARP request for my_ip -> reply (RFC 826). */
static void answer_arp(const uint8_t *fr, uint32_t len)
{
	struct frame *f;
	uint8_t *o;

	if (len < 42 || fr[14] || fr[15] != 1 || fr[16] != 8 || fr[17] ||
	    fr[18] != 6 || fr[19] != 4 || fr[20] || fr[21] != 1 ||
	    memcmp(fr + 38, &my_ip, 4))
		return;
	f = queue_frame(FR_ARP);
	if (!f)
		return;
	o = f->data;
	memset(o, 0, 60);
	memcpy(o, fr + 6, 6);			/* to the asker */
	memcpy(o + 6, my_mac, 6);
	put16(o + 12, 0x0806);
	memcpy(o + 14, fr + 14, 6);		/* htype, ptype, hlen, plen */
	put16(o + 20, 2);			/* reply */
	memcpy(o + 22, my_mac, 6);
	memcpy(o + 28, &my_ip, 4);
	memcpy(o + 32, fr + 22, 10);		/* the asker's MAC and IP */
	f->len = 60;
	arp_replies++;
}

/* ICMP echo request to my_ip (no IP options, not a fragment) -> reply. */
static void answer_icmp(const uint8_t *fr, uint32_t len)
{
	const uint8_t *ip = fr + 14;
	uint32_t ihl, tot;
	struct frame *f;
	uint8_t *o;

	if (len < 14 + 20 + 8)
		return;
	ihl = (ip[0] & 0xf) * 4;
	tot = (uint32_t)ip[2] << 8 | ip[3];
	if (ip[0] >> 4 != 4 || ihl != 20 || ip[9] != 1 || tot < 28 ||
	    tot > len - 14 || memcmp(ip + 16, &my_ip, 4) ||
	    (ip[6] & 0x3f) || ip[7] || ip[20] != 8)
		return;
	if (14 + tot > MAX_FRAME) {
		say("echo request of %u bytes: too long to answer", tot);
		return;
	}
	f = queue_frame(FR_ICMP);
	if (!f)
		return;
	o = f->data;
	memcpy(o, fr + 6, 6);
	memcpy(o + 6, my_mac, 6);
	memcpy(o + 12, fr + 12, 2);
	memcpy(o + 14, ip, tot);
	memcpy(o + 14 + 12, ip + 16, 4);	/* source: me */
	memcpy(o + 14 + 16, ip + 12, 4);	/* destination: the asker */
	o[14 + 8] = 64;				/* ttl */
	put16(o + 14 + 10, 0);
	put16(o + 14 + 10, csum16(o + 14, 20));
	o[14 + 20] = 0;				/* echo reply */
	put16(o + 14 + 22, 0);
	put16(o + 14 + 22, csum16(o + 14 + 20, tot - 20));
	f->len = 14 + tot;
	echo_replies++;
}

/* --- transmit: the guest's frames --- */

static bool check_tx(struct queue *q, unsigned int qi, const struct seg *s,
		     unsigned int n, uint8_t *fr, uint32_t *frame_len)
{
	uint64_t total = 0;
	struct net_hdr h;

	for (unsigned int i = 0; i < n; i++) {
		if (s[i].write) {
			queue_bad(q, qi, "transmit buffer with a device-writable descriptor");
			return false;
		}
		total += s[i].len;
	}
	if (total < NET_HDR_LEN || total > MAX_TX) {
		queue_bad(q, qi, "transmit buffer of %" PRIu64 " bytes", total);
		return false;
	}
	copy_out(s, n, 0, &h, sizeof(h));
	*frame_len = total - NET_HDR_LEN;
	copy_out(s, n, NET_HDR_LEN, fr, *frame_len);
	if (h.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		queue_bad(q, qi, "transmit header flags 0x%x", h.flags);
		return false;
	}
	if (h.gso_type) {
		queue_bad(q, qi, "transmit header GSO type %u (no HOST_TSO offered)",
			  h.gso_type);
		return false;
	}
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!has(acked, VIRTIO_NET_F_CSUM)) {
			queue_bad(q, qi, "NEEDS_CSUM without VIRTIO_NET_F_CSUM");
			return false;
		}
		if ((uint32_t)h.csum_start + h.csum_offset + 2 > *frame_len) {
			queue_bad(q, qi, "checksum at %u+%u outside a %u-byte frame",
				  h.csum_start, h.csum_offset, *frame_len);
			return false;
		}
	}
	if (*frame_len < 14) {
		queue_bad(q, qi, "transmitted frame of %u bytes", *frame_len);
		return false;
	}
	return true;
}

static void deliver(void);

static void process_tx(unsigned int qi)
{
	static struct seg segs[MAX_SEGS];
	static uint8_t fr[MAX_TX];
	struct queue *q = &queues[qi];
	bool any = false;

	if (!q->started || !q->enabled || q->broken || q->stalled || !q->desc)
		return;
	for (;;) {
		unsigned int n, ndescs = 1;
		uint32_t len, id;
		uint16_t head;
		struct rule *f;
		int got;

		got = q->packed ? walk_packed(q, qi, segs, &n, &head, &ndescs) :
				  next_split(q, qi, segs, &n, &head);
		if (got <= 0 || !check_tx(q, qi, segs, n, fr, &len))
			break;
		q->requests++;
		tx_frames++;
		id = head;
		f = match(true, FR_ANY);
		if (f)
			say("fault '%s' on queue %u: transmit head %u", f->text, qi, head);
		if (f && f->kind == F_STALL) {
			say("queue %u: no longer answering (holding head %u)", qi, head);
			q->stalled = true;
			break;
		}
		if (f && f->kind == F_BAD_ID)
			id = q->num + 7;
		else if (f && f->kind == F_STALE_ID)
			id = stale_id(q, head);
		used_put(q, id, f && f->kind == F_LEN_LONG ? 64 : 0, ndescs, false);
		any = true;
		if (fr[12] == 0x08 && fr[13] == 0x06)
			answer_arp(fr, len);
		else if (fr[12] == 0x08 && fr[13] == 0x00)
			answer_icmp(fr, len);
	}
	if (any) {
		used_publish(q);
		notify(q);
	}
	deliver();
}

/* --- receive: this host's frames into the guest's buffers --- */

/* Takes receive buffers until @want are held; false if the ring ran dry. */
static bool take_rx(struct queue *q, unsigned int want)
{
	static struct seg segs[MAX_SEGS];

	while (ntaken < want) {
		struct rxbuf *b = &taken[ntaken];
		unsigned int n, ndescs = 1;
		uint16_t head;
		int got;

		got = q->packed ? walk_packed(q, 0, segs, &n, &head, &ndescs) :
				  next_split(q, 0, segs, &n, &head);
		if (got <= 0)
			return false;
		b->cap = 0;
		for (unsigned int i = 0; i < n; i++) {
			if (!segs[i].write) {
				queue_bad(q, 0, "receive buffer with a device-readable descriptor");
				return false;
			}
			b->cap += segs[i].len;
		}
		if (n > ARRAY_SIZE(b->segs) || b->cap < NET_HDR_LEN) {
			queue_bad(q, 0, "receive buffer of %u bytes in %u descriptors",
				  b->cap, n);
			return false;
		}
		memcpy(b->segs, segs, n * sizeof(segs[0]));
		b->nsegs = n;
		b->ndescs = ndescs;
		b->id = head;
		ntaken++;
	}
	return true;
}

/* Writes @len bytes of @src at byte @off of buffer @b's writable part. */
static void fill(struct rxbuf *b, uint32_t off, const uint8_t *src, uint32_t len)
{
	for (unsigned int i = 0; i < b->nsegs && len; i++) {
		uint32_t n;

		if (off >= b->segs[i].len) {
			off -= b->segs[i].len;
			continue;
		}
		n = b->segs[i].len - off < len ? b->segs[i].len - off : len;
		memcpy(b->segs[i].p + off, src, n);
		src += n;
		len -= n;
		off = 0;
	}
}

static void deliver(void)
{
	struct queue *q = &queues[0];
	bool mrg = has(acked, VIRTIO_NET_F_MRG_RXBUF), any = false;

	while (pend_count) {
		struct frame *fr = &pending[pend_head];
		uint32_t total = NET_HDR_LEN + fr->len, first, used0;
		unsigned int want = 1;
		struct net_hdr h = { 0 };
		struct rule *f;
		uint32_t id0;

		if (!q->started || !q->enabled || q->broken || q->stalled || !q->desc)
			break;
		if (mrg && fr->len > split_at)
			want = 2;
		if (!take_rx(q, want))
			break;
		/* Without MRG_RXBUF one buffer must hold it all. */
		first = want == 2 ? NET_HDR_LEN + split_at : total;
		if (first > taken[0].cap) {
			if (!mrg) {
				say("a %u-byte frame does not fit a %u-byte buffer: dropped",
				    fr->len, taken[0].cap);
				first = 0;
			} else {
				first = taken[0].cap;
			}
		}
		if (first && want == 1 && total > first) {
			/* Needs another buffer after all. */
			want = 2;
			if (!take_rx(q, want))
				break;
		}
		if (want == 2 && total - first > taken[1].cap) {
			say("a %u-byte frame does not fit two buffers: dropped", fr->len);
			first = 0;
		}
		h.num_buffers = mrg ? want : 0;
		f = first ? match(false, fr->type) : NULL;
		if (f)
			say("fault '%s' on queue 0: %s reply of %u bytes in %u buffer(s)",
			    f->text, frame_name(fr->type), fr->len, want);
		switch (f ? f->kind : F_NONE) {
		case F_NUM_BUFFERS:
			h.num_buffers = (uint16_t)f->value;
			break;
		case F_GSO:
			h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
			h.gso_size = 1000;
			h.hdr_len = 54;
			break;
		case F_CSUM:
			h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			h.csum_start = fr->len + 10;
			h.csum_offset = 6;
			break;
		case F_STALL:
			say("queue 0: no longer answering (holding %u buffer(s))", ntaken);
			q->stalled = true;
			goto out;
		default:
			break;
		}
		used0 = first;
		if (first) {
			fill(&taken[0], 0, (const uint8_t *)&h, NET_HDR_LEN);
			fill(&taken[0], NET_HDR_LEN, fr->data, first - NET_HDR_LEN);
			if (want == 2)
				fill(&taken[1], 0, fr->data + first - NET_HDR_LEN,
				     total - first);
		}
		if (f && f->kind == F_LEN_SHORT)
			used0 = NET_HDR_LEN - 7;
		if (f && f->kind == F_LEN_LONG)
			used0 = taken[0].cap + 64;
		id0 = taken[0].id;
		if (f && f->kind == F_BAD_ID)
			id0 = q->num + 7;
		else if (f && f->kind == F_STALE_ID)
			id0 = stale_id(q, taken[0].id);
		used_put(q, id0, used0, taken[0].ndescs, false);
		if (want == 2)
			used_put(q, taken[1].id, first ? total - first : 0,
				 taken[1].ndescs, false);
		ntaken = 0;
		pend_head = (pend_head + 1) % MAX_PENDING;
		pend_count--;
		rx_frames++;
		any = true;
	}
out:
	if (any) {
		used_publish(q);
		notify(q);
	}
}

static void process(unsigned int qi)
{
	if (qi == 1)
		process_tx(qi);
	else if (qi == 0)
		deliver();
}

/* --- command line and main loop --- */

static void parse_rule(const char *text)
{
	struct rule *f;
	char buf[256], *tok, *save;

	if (nrules == MAX_RULES)
		die("more than %d rules", MAX_RULES);
	snprintf(buf, sizeof(buf), "%s", text);
	tok = strtok_r(buf, " \t", &save);
	if (!tok || *tok == '#')
		return;
	f = &rules[nrules++];
	*f = (struct rule){ .when.count = 1 };
	snprintf(f->text, sizeof(f->text), "%s", text);
	for (; tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');
		const char *v = eq ? eq + 1 : "";
		char *end = NULL;

		if (eq)
			*eq = 0;
		if (!strcmp(tok, "queue")) {
			if (strcmp(v, "tx") && strcmp(v, "rx"))
				die("bad queue in '%s' (rx or tx)", text);
			f->tx = !strcmp(v, "tx");
		} else if (!strcmp(tok, "frame")) {
			if (!strcmp(v, "arp"))
				f->frame = FR_ARP;
			else if (!strcmp(v, "icmp"))
				f->frame = FR_ICMP;
			else if (strcmp(v, "any"))
				die("bad frame in '%s' (arp, icmp or any)", text);
		} else if (!vu_trigger_word(&f->when, tok, v, &end)) {
			bool valued;

			for (unsigned int k = 1; k < ARRAY_SIZE(fault_names); k++)
				if (!strcmp(tok, fault_names[k]))
					f->kind = k;
			valued = f->kind == F_NUM_BUFFERS;
			if (f->kind == F_NONE || valued != !!eq)
				die("bad rule word '%s' in '%s'", tok, text);
			f->value = eq ? strtol(v, &end, 0) : 0;
			if (eq && *end)
				die("bad value in '%s'", text);
		} else if (!eq || *end) {
			die("bad value for %s in '%s'", tok, text);
		}
	}
	if (f->kind == F_NONE)
		die("rule '%s' names no fault", text);
	if (f->tx && f->kind != F_BAD_ID && f->kind != F_STALE_ID &&
	    f->kind != F_STALL && f->kind != F_LEN_LONG)
		die("'%s': on the transmit queue only bad-id, stale-id, len-long and stall", text);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: hostile-net --socket PATH --ip ADDR [--mac MAC] [--split BYTES]\n"
		"                   [--fault RULE]... [--script FILE] [--timeout SECS]\n"
		"rules (docs/hostile.md): FAULT [queue=rx|tx] [frame=arp|icmp|any]\n"
		"  [after=N] [count=K]; FAULT is len-short, len-long, num-buffers=V,\n"
		"  gso, csum, bad-id, stale-id, stall (transmit: bad-id, stale-id,\n"
		"  len-long, stall)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct vu_backend b = {
		.process = process,
		.protocol_features = 1ull << VU_PROTO_REPLY_ACK,
	};
	const char *sock_path = NULL, *ip = NULL;
	long timeout = 900;
	char name[32];

	vu_prog = "hostile-net";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(a, "--socket")) {
			sock_path = v;
		} else if (!strcmp(a, "--ip")) {
			ip = v;
		} else if (!strcmp(a, "--mac")) {
			if (sscanf(v, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &my_mac[0],
				   &my_mac[1], &my_mac[2], &my_mac[3], &my_mac[4],
				   &my_mac[5]) != 6)
				usage();
		} else if (!strcmp(a, "--split")) {
			split_at = strtoul(v, NULL, 0);
		} else if (!strcmp(a, "--fault")) {
			parse_rule(v);
		} else if (!strcmp(a, "--script")) {
			vu_read_script(v, parse_rule);
		} else if (!strcmp(a, "--timeout")) {
			timeout = strtol(v, NULL, 0);
		} else {
			usage();
		}
		i++;
	}
	if (!sock_path || !ip || inet_pton(AF_INET, ip, &my_ip) != 1 ||
	    timeout <= 0 || !split_at || split_at > MAX_FRAME)
		usage();
	snprintf(name, sizeof(name), "%s", ip);
	snprintf(vu_name, sizeof(vu_name), "hostile-net[%s]", name);
	nqueues = 2;
	b.features = 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
		     1ull << VIRTIO_NET_F_MRG_RXBUF |
		     1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_RING_F_EVENT_IDX |
		     1ull << VHOST_USER_F_PROTOCOL_FEATURES | 1ull << VIRTIO_F_VERSION_1 |
		     1ull << VIRTIO_F_RING_PACKED;
	vu_listen(sock_path);
	say("listening on %s: %s, split at %u bytes, %d rule(s)", sock_path, ip,
	    split_at, nrules);
	vu_run(&b, timeout);
	say("frames: %lu transmitted, %lu received; replies: %lu arp, %lu echo",
	    tx_frames, rx_frames, arp_replies, echo_replies);
	return 0;
}
