// SPDX-License-Identifier: GPL-2.0
/*
 * hostile-rng: a vhost-user-rng back-end that fills the guest's buffers
 * with getrandom() bytes and misbehaves on purpose when a fault rule
 * matches a buffer. QEMU attaches it with
 *
 *   -chardev socket,id=c0,path=SOCK -device vhost-user-rng-pci,chardev=c0
 *
 * (guest RAM must be a shared memfd, as for hostile-blk). One queue; every
 * buffer the driver makes available must be device-writable only. See
 * docs/hostile.md for the rules.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vhost-user.h"

enum fault_kind { F_NONE, F_LEN_LONG, F_BAD_ID, F_STALE_ID, F_ZERO, F_STALL };

static const char *const fault_names[] = {
	[F_LEN_LONG] = "len-long", [F_BAD_ID] = "bad-id",
	[F_STALE_ID] = "stale-id", [F_ZERO] = "zero", [F_STALL] = "stall",
};

struct rule {
	enum fault_kind kind;
	struct vu_trigger when;
	char text[128];
};

#define MAX_RULES 8
static struct rule rules[MAX_RULES];
static int nrules;
static unsigned long served, bytes;

static struct rule *match(void)
{
	for (int i = 0; i < nrules; i++)
		if (vu_trigger_fires(&rules[i].when))
			return &rules[i];
	return NULL;
}

static void process(unsigned int qi)
{
	static struct seg segs[MAX_SEGS];
	struct queue *q = &queues[qi];
	bool any = false;

	if (qi || !q->started || !q->enabled || q->broken || q->stalled || !q->desc)
		return;
	for (;;) {
		unsigned int n, ndescs = 1;
		uint32_t len = 0, id;
		uint16_t head;
		struct rule *f;
		int got;

		got = q->packed ? walk_packed(q, qi, segs, &n, &head, &ndescs) :
				  next_split(q, qi, segs, &n, &head);
		if (got <= 0)
			break;
		for (unsigned int i = 0; i < n; i++) {
			if (!segs[i].write) {
				queue_bad(q, qi, "entropy buffer with a device-readable descriptor");
				goto out;
			}
			len += segs[i].len;
		}
		if (!len) {
			queue_bad(q, qi, "entropy buffer of 0 bytes");
			goto out;
		}
		q->requests++;
		id = head;
		f = match();
		if (f)
			say("fault '%s' on queue %u: head %u, %u bytes", f->text, qi,
			    head, len);
		if (f && f->kind == F_STALL) {
			say("queue %u: no longer answering (holding head %u)", qi, head);
			q->stalled = true;
			break;
		}
		for (unsigned int i = 0; i < n && !(f && f->kind == F_ZERO); i++) {
			uint32_t done = 0;

			while (done < segs[i].len) {
				ssize_t r = getrandom(segs[i].p + done, segs[i].len - done, 0);

				if (r <= 0)
					die("getrandom failed");
				done += r;
			}
		}
		served++;
		bytes += len;
		if (f && f->kind == F_ZERO)
			len = 0;
		else if (f && f->kind == F_LEN_LONG)
			len += 64;
		else if (f && f->kind == F_BAD_ID)
			id = q->num + 7;
		else if (f && f->kind == F_STALE_ID)
			id = stale_id(q, head);
		used_put(q, id, len, ndescs, false);
		any = true;
	}
out:
	if (any) {
		used_publish(q);
		notify(q);
	}
}

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
		if (vu_trigger_word(&f->when, tok, v, &end)) {
			if (!eq || *end)
				die("bad value for %s in '%s'", tok, text);
			continue;
		}
		for (unsigned int k = 1; k < ARRAY_SIZE(fault_names); k++)
			if (!strcmp(tok, fault_names[k]))
				f->kind = k;
		if (f->kind == F_NONE || eq)
			die("bad rule word '%s' in '%s'", tok, text);
	}
	if (f->kind == F_NONE)
		die("rule '%s' names no fault", text);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: hostile-rng --socket PATH [--name N] [--fault RULE]...\n"
		"                   [--script FILE] [--timeout SECS]\n"
		"rules (docs/hostile.md): FAULT [after=N] [count=K]; FAULT is\n"
		"  len-long, bad-id, stale-id, zero, stall\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct vu_backend b = {
		.process = process,
		.protocol_features = 1ull << VU_PROTO_REPLY_ACK,
	};
	const char *sock_path = NULL, *name = "rng";
	long timeout = 900;

	vu_prog = "hostile-rng";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(a, "--socket"))
			sock_path = v;
		else if (!strcmp(a, "--name"))
			name = v;
		else if (!strcmp(a, "--fault"))
			parse_rule(v);
		else if (!strcmp(a, "--script"))
			vu_read_script(v, parse_rule);
		else if (!strcmp(a, "--timeout"))
			timeout = strtol(v, NULL, 0);
		else
			usage();
		i++;
	}
	if (!sock_path || timeout <= 0)
		usage();
	snprintf(vu_name, sizeof(vu_name), "hostile-rng[%s]", name);
	nqueues = 1;
	b.features = 1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_RING_F_EVENT_IDX |
		     1ull << VHOST_USER_F_PROTOCOL_FEATURES | 1ull << VIRTIO_F_VERSION_1 |
		     1ull << VIRTIO_F_RING_PACKED;
	vu_listen(sock_path);
	say("listening on %s, %d rule(s)", sock_path, nrules);
	vu_run(&b, timeout);
	say("served %lu buffers, %lu bytes", served, bytes);
	return 0;
}
