// SPDX-License-Identifier: GPL-2.0
/*
 * netio: the traffic of the network tests and benchmarks (static, libc only).
 * Every mode is bounded by SECS: it gives up (exit 3) when that passes.
 *
 *   netio tcp-recv PORT SECS               accept one connection, read to EOF;
 *                                          prints "bytes=N sha256=HEX secs=S"
 *   netio tcp-send ADDR PORT BYTES SEED SECS
 *                                          connect (retrying), send BYTES of the
 *                                          pseudo-random stream SEED; prints the same
 *   netio tcp-serve-send PORT BYTES SEED SECS
 *                                          accept one connection and send to it
 *   netio tcp-stream ADDR PORT STREAMS SECS
 *                                          STREAMS connections that send for SECS;
 *                                          prints "bytes=N secs=S" (bench)
 *   netio tcp-sink PORT STREAMS SECS       their receiver (prints "bytes=N secs=S")
 *   netio udp-recv PORT SECS               count datagrams (payload checked);
 *                                          answers probes; ends at the sender's end
 *                                          datagram: prints "datagrams=N bad=M"
 *   netio udp-send ADDR PORT COUNT SIZE SECS
 *                                          COUNT datagrams in batches of 32, each
 *                                          batch confirmed by a probe, so no queue on
 *                                          the way overflows; prints "sent=N acked=M";
 *                                          sent with DF: one larger than the path MTU
 *                                          prints "emsgsize" (exit 4)
 *   netio udp-flood ADDR PORT SIZE SECS    send as fast as possible for SECS (bench);
 *                                          prints "sent=N"; then an end datagram
 *   netio rr-server PORT SECS / netio rr-client ADDR PORT SECS
 *                                          1-byte TCP ping-pong; the client prints
 *                                          "transactions=N secs=S"
 *   netio raw-send IF DSTMAC COUNT VID     COUNT frames of ethertype 0x88b5 (802.1Q
 *                                          tagged when VID > 0), then one untagged
 *                                          broadcast end frame
 *   netio raw-count IF SECS                count 0x88b5 frames (tagged or not) on IF
 *                                          until the end frame (+0.3 s) or SECS:
 *                                          prints "frames=N"
 *   netio flows udp|tcp ADDR DPORT SPORT0 NFLOWS COUNT SECS
 *                                          NFLOWS flows (IPv4, or IPv6 if ADDR has
 *                                          a colon) from source ports SPORT0..,
 *                                          COUNT packets each: 64-byte datagrams, or
 *                                          connection attempts (one SYN each, to a
 *                                          port nobody listens on); prints "sent=N"
 *   netio rxq IF NQ DPORT HASH SECS        the IPv4/IPv6 TCP/UDP packets to DPORT that IF
 *                                          received, per receive queue (an
 *                                          AF_PACKET fanout group by queue of NQ
 *                                          sockets), and how many carried skb hash
 *                                          HASH (a filter reading SKF_AD_RXHASH),
 *                                          until SECS or 0.5 s after the last:
 *                                          prints "rxq=N0,N1,... hash=M"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)
#define ETH_P_VIREO 0x88b5
#define RAW_MAGIC 0x5649524fu /* "VIRO" */

static double deadline;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "netio: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void check_time(const char *what)
{
	if (now() > deadline) {
		fprintf(stderr, "netio: %s: timed out\n", what);
		exit(3);
	}
}

/* Milliseconds left before the deadline, for poll(). */
static int left_ms(void)
{
	double l = deadline - now();

	return l <= 0 ? 0 : (int)(l * 1000) + 1;
}

/* ---- SHA-256 (FIPS 180-4) ---- */

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t n;
};

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(struct sha256 *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = w[i - 16] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		       w[i - 7] + (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memcpy(s->h, h0, sizeof(h0));
	s->len = 0;
	s->n = 0;
}

static void sha256_update(struct sha256 *s, const unsigned char *p, size_t len)
{
	s->len += len;
	while (len) {
		size_t take = 64 - s->n;

		if (take > len)
			take = len;
		memcpy(s->buf + s->n, p, take);
		s->n += take;
		p += take;
		len -= take;
		if (s->n == 64) {
			sha256_block(s, s->buf);
			s->n = 0;
		}
	}
}

static void sha256_hex(struct sha256 *s, char out[65])
{
	uint64_t bits = s->len * 8;
	unsigned char pad = 0x80, z = 0, l[8];
	int i;

	sha256_update(s, &pad, 1);
	while (s->n != 56)
		sha256_update(s, &z, 1);
	for (i = 0; i < 8; i++)
		l[i] = bits >> (56 - 8 * i);
	sha256_update(s, l, 8);
	for (i = 0; i < 8; i++)
		sprintf(out + 8 * i, "%08x", s->h[i]);
}

/* ---- the pseudo-random stream: xorshift64*, SEED selects it ---- */

static uint64_t rng;

static void fill(unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t v;

		rng ^= rng >> 12;
		rng ^= rng << 25;
		rng ^= rng >> 27;
		v = rng * 0x2545f4914f6cdd1dull;
		memcpy(p + i, &v, 8);
	}
}

/* ---- sockets ---- */

static struct sockaddr_in addr_of(const char *host, const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(port)) };

	if (!host)
		a.sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "netio: bad address %s\n", host);
		exit(2);
	}
	return a;
}

static int tcp_listen(const char *port)
{
	struct sockaddr_in a = addr_of(NULL, port);
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16))
		die("bind/listen");
	return s;
}

static int tcp_accept(int l)
{
	struct pollfd p = { .fd = l, .events = POLLIN };
	int s;

	if (poll(&p, 1, left_ms()) != 1)
		check_time("accept"), die("poll");
	s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept");
	return s;
}

static int tcp_connect(const char *host, const char *port)
{
	struct sockaddr_in a = addr_of(host, port);

	for (;;) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0)
			die("socket");
		if (!connect(s, (struct sockaddr *)&a, sizeof(a)))
			return s;
		close(s);
		check_time("connect");
		usleep(100000);
	}
}

/* poll for one event on fd, bounded by the deadline. */
static void wait_fd(int fd, short ev, const char *what)
{
	struct pollfd p = { .fd = fd, .events = ev };

	for (;;) {
		int r = poll(&p, 1, left_ms());

		if (r == 1)
			return;
		if (r < 0 && errno != EINTR)
			die("poll");
		check_time(what);
	}
}

static void print_stream(uint64_t bytes, struct sha256 *s, double t0)
{
	char hex[65];

	sha256_hex(s, hex);
	printf("bytes=%llu sha256=%s secs=%.3f\n", (unsigned long long)bytes, hex, now() - t0);
}

static void send_stream(int s, uint64_t bytes, uint64_t seed)
{
	static unsigned char buf[CHUNK];
	struct sha256 h;
	uint64_t done = 0;
	double t0 = now();

	rng = seed * 2 + 1;
	sha256_init(&h);
	while (done < bytes) {
		size_t len = bytes - done < CHUNK ? bytes - done : CHUNK, off = 0;

		fill(buf, CHUNK);
		sha256_update(&h, buf, len);
		while (off < len) {
			ssize_t n;

			wait_fd(s, POLLOUT, "send");
			n = send(s, buf + off, len - off, MSG_DONTWAIT);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				die("send");
			if (n > 0)
				off += n;
		}
		done += len;
	}
	shutdown(s, SHUT_WR);
	/* The peer closes after it read everything: the bytes arrived. */
	for (;;) {
		char c;
		ssize_t n;

		wait_fd(s, POLLIN, "close");
		n = recv(s, &c, 1, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
	}
	print_stream(done, &h, t0);
}

static void recv_stream(int s)
{
	static unsigned char buf[CHUNK];
	struct sha256 h;
	uint64_t done = 0;
	double t0 = now();

	sha256_init(&h);
	for (;;) {
		ssize_t n;

		wait_fd(s, POLLIN, "recv");
		n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			die("recv");
		}
		sha256_update(&h, buf, n);
		done += n;
	}
	print_stream(done, &h, t0);
}

static void tcp_stream(const char *host, const char *port, int streams, double secs)
{
	static unsigned char buf[CHUNK];
	int fds[16], i;
	uint64_t bytes = 0;
	double t0 = now(), end = t0 + secs;

	if (streams < 1 || streams > 16)
		exit(2);
	deadline = end + 30;
	for (i = 0; i < streams; i++)
		fds[i] = tcp_connect(host, port);
	memset(buf, 0x5a, sizeof(buf));
	while (now() < end) {
		struct pollfd p[16];

		for (i = 0; i < streams; i++)
			p[i] = (struct pollfd){ .fd = fds[i], .events = POLLOUT };
		if (poll(p, streams, 100) < 0 && errno != EINTR)
			die("poll");
		for (i = 0; i < streams; i++) {
			ssize_t n;

			if (!(p[i].revents & POLLOUT))
				continue;
			n = send(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0)
				bytes += n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				die("send");
		}
	}
	printf("bytes=%llu secs=%.3f\n", (unsigned long long)bytes, now() - t0);
	for (i = 0; i < streams; i++)
		close(fds[i]);
}

static void tcp_sink(const char *port, int streams)
{
	static unsigned char buf[CHUNK];
	int l = tcp_listen(port), fds[16], i, open_n;
	uint64_t bytes = 0;
	double t0 = 0;

	if (streams < 1 || streams > 16)
		exit(2);
	for (i = 0; i < streams; i++)
		fds[i] = tcp_accept(l);
	t0 = now();
	open_n = streams;
	while (open_n) {
		struct pollfd p[16];

		for (i = 0; i < streams; i++)
			p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(p, streams, left_ms()) <= 0)
			check_time("sink");
		for (i = 0; i < streams; i++) {
			ssize_t n;

			if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0) {
				bytes += n;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(fds[i]);
				fds[i] = -1;
				open_n--;
			}
		}
	}
	printf("bytes=%llu secs=%.3f\n", (unsigned long long)bytes, now() - t0);
}

/* ---- UDP: datagram = seq (4 bytes) + pattern of seq; probes and end marks ---- */

#define UDP_PROBE 0xfffffffeu
#define UDP_END 0xffffffffu

static void udp_fill(unsigned char *p, size_t len, uint32_t seq)
{
	size_t i;

	memcpy(p, &seq, 4);
	for (i = 4; i < len; i++)
		p[i] = (unsigned char)(seq * 7 + i);
}

static int udp_ok(const unsigned char *p, size_t len)
{
	uint32_t seq;
	size_t i;

	if (len < 4)
		return 0;
	memcpy(&seq, p, 4);
	for (i = 4; i < len; i++)
		if (p[i] != (unsigned char)(seq * 7 + i))
			return 0;
	return 1;
}

static void udp_recv(const char *port)
{
	static unsigned char buf[65536];
	struct sockaddr_in a = addr_of(NULL, port), from;
	socklen_t fl;
	int s = socket(AF_INET, SOCK_DGRAM, 0), big = 4 << 20;
	uint32_t got = 0, bad = 0, seq;

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)))
		die("udp bind");
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	for (;;) {
		ssize_t n;

		wait_fd(s, POLLIN, "udp-recv");
		fl = sizeof(from);
		n = recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		if (n == 8) {
			memcpy(&seq, buf, 4);
			if (seq == UDP_PROBE) {
				memcpy(buf + 4, &got, 4);
				sendto(s, buf, 8, 0, (struct sockaddr *)&from, fl);
				continue;
			}
			if (seq == UDP_END)
				break;
		}
		if (udp_ok(buf, n))
			got++;
		else
			bad++;
	}
	printf("datagrams=%u bad=%u\n", got, bad);
}

static void udp_end(int s)
{
	uint32_t m[2] = { UDP_END, 0 };
	int i;

	/* The end mark, a few times: the receiver stops at the first. */
	for (i = 0; i < 3; i++) {
		send(s, m, 8, 0);
		usleep(50000);
	}
}

static void udp_send(const char *host, const char *port, long count, size_t size)
{
	static unsigned char buf[65536];
	struct sockaddr_in a = addr_of(host, port);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	uint32_t acked = 0;
	long sent = 0;

	if (size < 12 || size > sizeof(buf))
		exit(2);
	int df = IP_PMTUDISC_DO;

	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
		die("udp connect");
	/* Don't fragment: a datagram that does not fit the MTU fails here. */
	if (setsockopt(s, IPPROTO_IP, IP_MTU_DISCOVER, &df, sizeof(df)))
		die("IP_MTU_DISCOVER");
	while (sent < count) {
		uint32_t probe[2] = { UDP_PROBE, 0 }, r[2];
		long batch_end = sent + 32 < count ? sent + 32 : count;
		int tries;

		for (; sent < batch_end; sent++) {
			udp_fill(buf, size, sent);
			if (send(s, buf, size, 0) != (ssize_t)size) {
				if (errno == EMSGSIZE) {
					printf("emsgsize\n");
					exit(4);
				}
				die("udp send");
			}
		}
		/* Wait until the receiver has the batch (or stopped counting). */
		for (tries = 0; tries < 100; tries++) {
			struct pollfd p = { .fd = s, .events = POLLIN };

			check_time("udp-send");
			send(s, probe, 8, 0);
			if (poll(&p, 1, 100) == 1 && recv(s, r, 8, MSG_DONTWAIT) == 8 &&
			    r[0] == UDP_PROBE) {
				acked = r[1];
				if (acked >= sent)
					break;
			}
		}
	}
	udp_end(s);
	printf("sent=%ld acked=%u\n", sent, acked);
}

static void udp_flood(const char *host, const char *port, size_t size, double secs)
{
	static unsigned char buf[65536];
	struct sockaddr_in a = addr_of(host, port);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	double end = now() + secs;
	long sent = 0;

	if (size < 12 || size > sizeof(buf))
		exit(2);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
		die("udp connect");
	deadline = end + 30;
	while (now() < end) {
		int i;

		for (i = 0; i < 64; i++) {
			udp_fill(buf, size, sent);
			if (send(s, buf, size, 0) == (ssize_t)size)
				sent++;
		}
	}
	usleep(300000);
	udp_end(s);
	printf("sent=%ld\n", sent);
}

/* ---- request/response ---- */

static void rr_server(const char *port)
{
	int l = tcp_listen(port), s = tcp_accept(l), one = 1;
	char c;

	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (;;) {
		ssize_t n;

		wait_fd(s, POLLIN, "rr-server");
		n = recv(s, &c, 1, 0);
		if (n <= 0)
			break;
		if (send(s, &c, 1, 0) != 1)
			break;
	}
}

static void rr_client(const char *host, const char *port, double secs)
{
	int s, one = 1;
	long n = 0;
	double t0, end;
	char c = 'x';

	deadline = now() + secs + 60;
	s = tcp_connect(host, port);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now();
	end = t0 + secs;
	while (now() < end) {
		if (send(s, &c, 1, 0) != 1)
			die("rr send");
		wait_fd(s, POLLIN, "rr-client");
		if (recv(s, &c, 1, 0) != 1)
			die("rr recv");
		n++;
	}
	printf("transactions=%ld secs=%.3f\n", n, now() - t0);
}

/* ---- raw frames for the receive filters ---- */

static int raw_socket(const char *ifname, struct sockaddr_ll *ll)
{
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	if (s < 0)
		die("packet socket");
	memset(ll, 0, sizeof(*ll));
	ll->sll_family = AF_PACKET;
	ll->sll_protocol = htons(ETH_P_ALL);
	ll->sll_ifindex = if_nametoindex(ifname);
	if (!ll->sll_ifindex || bind(s, (struct sockaddr *)ll, sizeof(*ll)))
		die(ifname);
	return s;
}

static void parse_mac(const char *s, unsigned char *m)
{
	if (sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4],
		   &m[5]) != 6) {
		fprintf(stderr, "netio: bad MAC %s\n", s);
		exit(2);
	}
}

static void raw_send(const char *ifname, const char *dst, long count, int vid)
{
	unsigned char f[64] = { 0 }, src[6];
	struct sockaddr_ll ll;
	int s = raw_socket(ifname, &ll), off = 12;
	uint32_t magic = htonl(RAW_MAGIC);
	char path[128];
	FILE *a;
	long i;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	a = fopen(path, "r");
	if (!a || fscanf(a, "%17s", path) != 1)
		die(path);
	fclose(a);
	parse_mac(path, src);
	parse_mac(dst, f);
	memcpy(f + 6, src, 6);
	if (vid > 0) {
		f[12] = 0x81;
		f[13] = 0x00;
		f[14] = vid >> 8;
		f[15] = vid & 0xff;
		off = 16;
	}
	f[off] = ETH_P_VIREO >> 8;
	f[off + 1] = ETH_P_VIREO & 0xff;
	memcpy(f + off + 2, &magic, 4);
	for (i = 0; i < count; i++) {
		check_time("raw-send");
		if (send(s, f, sizeof(f), 0) != sizeof(f))
			die("raw send");
		if (i % 16 == 15)
			usleep(2000);
	}
	/* The end frame: broadcast, untagged, marked 'E'. */
	memset(f, 0xff, 6);
	f[12] = ETH_P_VIREO >> 8;
	f[13] = ETH_P_VIREO & 0xff;
	memcpy(f + 14, &magic, 4);
	f[18] = 'E';
	usleep(100000);
	for (i = 0; i < 3; i++) {
		send(s, f, sizeof(f), 0);
		usleep(50000);
	}
	printf("sent=%ld\n", count);
}

static void raw_count(const char *ifname)
{
	unsigned char f[2048];
	struct sockaddr_ll ll;
	int s = raw_socket(ifname, &ll);
	uint32_t magic = htonl(RAW_MAGIC);
	long frames = 0;
	double stop = 0;

	printf("listening\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		double limit = stop ? stop : deadline;
		int ms = (int)((limit - now()) * 1000);
		ssize_t n;
		int off;

		if (ms <= 0 || poll(&p, 1, ms) != 1)
			break;
		n = recv(s, f, sizeof(f), 0);
		if (n < 20)
			continue;
		/* The kernel hands tagged frames on with the tag taken off (or not). */
		off = (f[12] == 0x81 && f[13] == 0x00) ? 16 : 12;
		if (f[off] != ETH_P_VIREO >> 8 || f[off + 1] != (ETH_P_VIREO & 0xff) ||
		    memcmp(f + off + 2, &magic, 4))
			continue;
		if (f[off + 6] == 'E') {
			if (!stop)
				stop = now() + 0.3;
			continue;
		}
		frames++;
	}
	printf("frames=%ld%s\n", frames, stop ? "" : " (no end frame)");
}

/* ---- flows and receive queues for RSS ---- */

static void flows(const char *proto, const char *addr, int dport, int sport0,
		  int nflows, long count)
{
	struct sockaddr_in6 dst6 = { .sin6_family = AF_INET6, .sin6_port = htons(dport) };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(dport) };
	int tcp = !strcmp(proto, "tcp"), v6 = !!strchr(addr, ':'), f, one = 1;
	struct sockaddr *to = v6 ? (struct sockaddr *)&dst6 : (struct sockaddr *)&dst;
	socklen_t tolen = v6 ? sizeof(dst6) : sizeof(dst);
	char buf[64] = "vireo rss flow";
	long i, sent = 0;

	if (v6 ? inet_pton(AF_INET6, addr, &dst6.sin6_addr) != 1 :
		 inet_pton(AF_INET, addr, &dst.sin_addr) != 1)
		die(addr);
	for (i = 0; i < count; i++) {
		for (f = 0; f < nflows; f++) {
			struct sockaddr_in6 src6 = { .sin6_family = AF_INET6,
						     .sin6_port = htons(sport0 + f) };
			struct sockaddr_in src = { .sin_family = AF_INET,
						   .sin_port = htons(sport0 + f) };
			int s = socket(v6 ? AF_INET6 : AF_INET,
				       tcp ? SOCK_STREAM : SOCK_DGRAM, 0);

			check_time("flows");
			if (s < 0)
				die("socket");
			setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (v6 ? bind(s, (struct sockaddr *)&src6, sizeof(src6)) :
				 bind(s, (struct sockaddr *)&src, sizeof(src)))
				die("bind");
			if (tcp) {
				/* Refused (RST) at once; no retransmission. */
				if (!connect(s, to, tolen) || errno != ECONNREFUSED)
					die("connect: want ECONNREFUSED");
			} else if (sendto(s, buf, sizeof(buf), 0, to, tolen) != sizeof(buf)) {
				die("sendto");
			}
			close(s);
			sent++;
		}
		usleep(2000);
	}
	printf("sent=%ld\n", sent);
}

/*
 * cBPF: IPv4 or IPv6 (no extension header) TCP or UDP to @dport (and, if
 * @want_hash, carrying skb hash @hash).
 */
static void attach_filter(int s, int dport, int want_hash, uint32_t hash)
{
#define TO(pc, target) ((target) - (pc) - 1)
	enum { V6 = 8, PORT = 12, ACCEPT = 16, DROP = 17 };
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IPV6, TO(1, V6), 0),
		/* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IP, 0, TO(2, DROP)),
		/* 3 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 1, 0),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, TO(5, DROP)),
		/* 6 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
		/* 7 */ BPF_STMT(BPF_JMP | BPF_JA, TO(7, PORT)),
		/* 8: IPv6, its next header */
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 20),
		/* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 1, 0),
		/* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, TO(10, DROP)),
		/* 11 */ BPF_STMT(BPF_LDX | BPF_W | BPF_IMM, 40),
		/* 12: the destination port, 14 + X + 2 */
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),
		/* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, dport, 0, TO(13, DROP)),
		/* 14 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_RXHASH),
		/* 15 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hash, 0, TO(15, DROP)),
		/* 16 */ BPF_STMT(BPF_RET | BPF_K, 0xffff),
		/* 17 */ BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
#undef TO

	if (!want_hash)
		f[14] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, ACCEPT - 14 - 1);
	if (setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		die("SO_ATTACH_FILTER");
}

static int rx_socket(const char *ifname, int dport, int want_hash, uint32_t hash)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	if (s < 0)
		die("packet socket");
	attach_filter(s, dport, want_hash, hash);
	ll.sll_ifindex = if_nametoindex(ifname);
	if (!ll.sll_ifindex || bind(s, (struct sockaddr *)&ll, sizeof(ll)))
		die(ifname);
	return s;
}

#define RXQ_MAX 16

static void rxq(const char *ifname, int nq, int dport, const char *hash)
{
	struct pollfd p[RXQ_MAX + 1];
	long n[RXQ_MAX + 1] = { 0 };
	int fanout = (getpid() & 0xffff) | (PACKET_FANOUT_QM << 16), i;
	double last = 0;
	char f[2048];

	if (nq < 1 || nq > RXQ_MAX) {
		fprintf(stderr, "netio: rxq: 1 to %d queues\n", RXQ_MAX);
		exit(2);
	}
	for (i = 0; i < nq; i++) {
		p[i].fd = rx_socket(ifname, dport, 0, 0);
		if (setsockopt(p[i].fd, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof(fanout)))
			die("PACKET_FANOUT");
		p[i].events = POLLIN;
	}
	p[nq].fd = rx_socket(ifname, dport, 1, strtoul(hash, NULL, 0));
	p[nq].events = POLLIN;
	printf("listening\n");
	for (;;) {
		double limit = last ? last + 0.5 : deadline;
		int ms = (int)((limit - now()) * 1000);

		if (ms <= 0 || poll(p, nq + 1, ms) <= 0)
			break;
		for (i = 0; i <= nq; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			for (;;) {
				struct sockaddr_ll from;
				socklen_t fl = sizeof(from);

				if (recvfrom(p[i].fd, f, sizeof(f), MSG_DONTWAIT,
					     (struct sockaddr *)&from, &fl) <= 0)
					break;
				/* Only what the interface received. */
				if (from.sll_pkttype != PACKET_OUTGOING)
					n[i]++;
			}
			last = now();
		}
	}
	/*
	 * The QM fanout picks member queue_mapping % NQ, and an skb's
	 * queue_mapping is its receive queue + 1 (skb_record_rx_queue()).
	 */
	printf("rxq=");
	for (i = 0; i < nq; i++)
		printf("%s%ld", i ? "," : "", n[(i + 1) % nq]);
	printf(" hash=%ld\n", n[nq]);
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
#define NEED(n) do { if (argc != (n)) goto usage; } while (0)
#define SECS(i) (deadline = now() + atof(argv[i]))
	if (!strcmp(m, "tcp-recv")) {
		NEED(4);
		SECS(3);
		int l = tcp_listen(argv[2]);

		recv_stream(tcp_accept(l));
	} else if (!strcmp(m, "tcp-send")) {
		NEED(7);
		SECS(6);
		send_stream(tcp_connect(argv[2], argv[3]), strtoull(argv[4], NULL, 0),
			    strtoull(argv[5], NULL, 0));
	} else if (!strcmp(m, "tcp-serve-send")) {
		NEED(6);
		SECS(5);
		int l = tcp_listen(argv[2]);

		send_stream(tcp_accept(l), strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
	} else if (!strcmp(m, "tcp-stream")) {
		NEED(6);
		tcp_stream(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
	} else if (!strcmp(m, "tcp-sink")) {
		NEED(5);
		SECS(4);
		tcp_sink(argv[2], atoi(argv[3]));
	} else if (!strcmp(m, "udp-recv")) {
		NEED(4);
		SECS(3);
		udp_recv(argv[2]);
	} else if (!strcmp(m, "udp-send")) {
		NEED(7);
		SECS(6);
		udp_send(argv[2], argv[3], atol(argv[4]), atol(argv[5]));
	} else if (!strcmp(m, "udp-flood")) {
		NEED(6);
		udp_flood(argv[2], argv[3], atol(argv[4]), atof(argv[5]));
	} else if (!strcmp(m, "rr-server")) {
		NEED(4);
		SECS(3);
		rr_server(argv[2]);
	} else if (!strcmp(m, "rr-client")) {
		NEED(5);
		rr_client(argv[2], argv[3], atof(argv[4]));
	} else if (!strcmp(m, "raw-send")) {
		NEED(6);
		deadline = now() + 60;
		raw_send(argv[2], argv[3], atol(argv[4]), atoi(argv[5]));
	} else if (!strcmp(m, "flows")) {
		NEED(9);
		SECS(8);
		flows(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
		      atol(argv[7]));
	} else if (!strcmp(m, "rxq")) {
		NEED(7);
		SECS(6);
		rxq(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
	} else if (!strcmp(m, "raw-count")) {
		NEED(4);
		SECS(3);
		raw_count(argv[2]);
	} else {
		goto usage;
	}
	return 0;
usage:
	fprintf(stderr, "usage: see the comment at the top of tests/guest-src/netio.c\n");
	return 2;
}
