// SPDX-License-Identifier: GPL-2.0
/*
 * ring-test: the vireo ring's userspace tests, as TAP.
 *
 *	ring-test [--replay N] [--fuzzer PATH [--fuzz-args "ARGS"]]
 *	ring-test --only concurrent
 *
 * --replay: how many deterministic pseudo-random inputs to run through the
 * fuzz target in-process (default 3000). --fuzzer: also run the libFuzzer
 * binary PATH (with ARGS) and report it as one test.
 */
#include <sys/wait.h>

#include "tests.h"

static unsigned int replay_n = 3000;
static const char *fuzzer, *fuzz_args = "-runs=20000";
static const char *only;

static void t_fuzz_replay(const void *arg)
{
	static u8 buf[2048];
	unsigned int i, j, len, bad = 0;

	(void)arg;
	t_srand(0x7669726f);		/* "viro" */
	for (i = 0; i < replay_n && bad < 3; i++) {
		len = 1 + t_rand() % sizeof(buf);
		for (j = 0; j < len; j++)
			buf[j] = (u8)t_rand();
		/* Bias toward the interesting ops now and then: the config first. */
		buf[0] = (u8)i;
		if (vireo_fuzz_one(buf, len)) {
			printf("#   input %u (len %u) broke an invariant\n", i, len);
			bad++;
		}
	}
	CHECK_EQ(bad, 0);
	t_checks += i;
}

static void t_libfuzzer(const void *arg)
{
	char cmd[1024];
	int rc;

	(void)arg;
	snprintf(cmd, sizeof(cmd), "%s %s > %s.log 2>&1", fuzzer, fuzz_args, fuzzer);
	rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc)) {
		printf("#   %s failed (status %d); tail of %s.log:\n", cmd, rc, fuzzer);
		snprintf(cmd, sizeof(cmd), "tail -n 30 %s.log | sed 's/^/#   /'", fuzzer);
		if (system(cmd) == -1)
			printf("#   (no log)\n");
		CHECK(!"libFuzzer run");
	}
}

int main(int argc, char **argv)
{
	char name[256];
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--replay") && i + 1 < argc)
			replay_n = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--fuzzer") && i + 1 < argc)
			fuzzer = argv[++i];
		else if (!strcmp(argv[i], "--fuzz-args") && i + 1 < argc)
			fuzz_args = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc &&
			 !strcmp(argv[i + 1], "concurrent"))
			only = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--replay N] [--fuzzer PATH [--fuzz-args ARGS]] | --only concurrent\n",
				argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (only) {
		t_concurrent();
		return t_summary();
	}
	t_basic();
	t_notify();
	t_hostile();
	t_concurrent();
	t_reset();
	t_notify_data();
	snprintf(name, sizeof(name), "fuzz target: %u deterministic inputs", replay_n);
	t_run(name, t_fuzz_replay, NULL);
	if (fuzzer) {
		snprintf(name, sizeof(name), "libFuzzer: %s %s", fuzzer, fuzz_args);
		t_run(name, t_libfuzzer, NULL);
	} else {
		t_skip("libFuzzer", "no fuzzer binary (clang with -fsanitize=fuzzer)");
	}
	return t_summary();
}
