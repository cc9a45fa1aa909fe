#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# make -C tests/ring balloon-mutate: copies of drivers/virtio_balloon, each
# with one rule of virtio 1.2 5.5.6 broken on purpose (below), built like
# balloon-test and run. Each mutant must fail at least one test: a mutant
# that passes is a rule balloon-test does not check. Prints one line a
# mutant, "caught" or "MISSED"; exits 1 if any was missed.
#
# Environment (from the Makefile): B BAL CC BAL_CPPFLAGS CFLAGS SAN LDLIBS
# TEST_SRC RING_SRC.
import os
import shutil
import subprocess
import sys

# name, file, text, replacement (the first occurrence).
MUTANTS = [
    ("pages-freed-before-the-deflate", "inflate.c",
     """		sg_init_one(&sg, vb->pfns, n * sizeof(vb->pfns[0]));
		vballoon_tell_host(vb, vb->deflate_vq, &sg, 1, true);
		list_for_each_entry_safe(page, next, &pages, lru) {
			list_del(&page->lru);
			if (!vb->deflate_on_oom)
				adjust_managed_page_count(page, 1);
			put_page(page);
		}""",
     """		list_for_each_entry_safe(page, next, &pages, lru) {
			list_del(&page->lru);
			if (!vb->deflate_on_oom)
				adjust_managed_page_count(page, 1);
			put_page(page);
		}
		sg_init_one(&sg, vb->pfns, n * sizeof(vb->pfns[0]));
		vballoon_tell_host(vb, vb->deflate_vq, &sg, 1, true);"""),
    ("no-wait-for-the-acknowledgement", "inflate.c",
     "	vireo_vq_kick(vq);\n", "	vireo_vq_kick(vq);\n	return 0;\n"),
    ("unacknowledged-pages-join-the-balloon", "inflate.c",
     "		if (err) {\n			put_page(page);", "		if (0) {\n			put_page(page);"),
    ("actual-not-written", "inflate.c",
     "	if (done)\n		vballoon_write_actual(vb);", ""),
    ("migration-deflates-first", "inflate.c",
     """	page_pfns(vb->pfns, newpage);
	vballoon_tell_host(vb, vb->inflate_vq, &sg, 1, true);
	page_pfns(vb->pfns, page);
	vballoon_tell_host(vb, vb->deflate_vq, &sg, 1, true);""",
     """	page_pfns(vb->pfns, page);
	vballoon_tell_host(vb, vb->deflate_vq, &sg, 1, true);
	page_pfns(vb->pfns, newpage);
	vballoon_tell_host(vb, vb->inflate_vq, &sg, 1, true);"""),
    ("migration-new-page-untold", "inflate.c",
     "	page_pfns(vb->pfns, newpage);\n	vballoon_tell_host(vb, vb->inflate_vq, &sg, 1, true);\n",
     "	page_pfns(vb->pfns, newpage);\n"),
    ("no-reset-when-giving-up", "inflate.c",
     "	vireo_reset_device(vb->vd);\n	vballoon_queue_size_work(vb, 0);\n}",
     "	vballoon_queue_size_work(vb, 0);\n}"),
    ("no-floor", "inflate.c",
     "	long room = si_mem_available() - mem / 64;",
     "	long room = si_mem_available();"),
    ("stats-scan-counters-swapped", "stats.c",
     "VIRTIO_BALLOON_S_ASYNC_SCAN, pages_bytes(ev[PGSCAN_KSWAPD])",
     "VIRTIO_BALLOON_S_ASYNC_SCAN, pages_bytes(ev[PGSCAN_DIRECT])"),
    ("stats-stalls-not-summed", "stats.c",
     "		stalls += ev[", "		stalls = ev["),
    ("poison-after-driver-ok", "main.c",
     "	vballoon_write_poison(vb);\n	vireo_device_ready(vb->vd);",
     "	vireo_device_ready(vb->vd);\n	vballoon_write_poison(vb);"),
    ("poison-value-zero", "main.c",
     "	if (!want_init_on_free())\n		memset(", "	if (0)\n		memset("),
    ("oom-frees-nothing", "oom.c",
     "	*freed += n / VBALLOON_PER_PAGE;", ""),
]


def main():
    env = os.environ
    out = os.path.join(env["B"], "balloon-mutants")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    bal = env["BAL"]
    srcs = sorted(f for f in os.listdir(bal) if f.endswith((".c", ".h")))
    missed = 0
    for name, fname, old, new in MUTANTS:
        d = os.path.join(out, name)
        os.makedirs(d)
        for f in srcs:
            shutil.copy(os.path.join(bal, f), d)
        path = os.path.join(d, fname)
        text = open(path).read()
        if old not in text:
            print("mutate: %s: the text to change is not in %s" % (name, fname))
            missed += 1
            continue
        open(path, "w").write(text.replace(old, new, 1))
        exe = os.path.join(d, "balloon-test")
        cmd = ([env["CC"]] + env["BAL_CPPFLAGS"].split() + env["CFLAGS"].split() +
               env["SAN"].split() + ["-w", "-o", exe] + env["TEST_SRC"].split() +
               [os.path.join(d, f) for f in srcs if f.endswith(".c")] +
               env["RING_SRC"].split() + env["LDLIBS"].split())
        if subprocess.run(cmd).returncode:
            print("mutate: %s: does not build" % name)
            missed += 1
            continue
        r = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           timeout=300, text=True)
        failed = [l for l in r.stdout.splitlines() if l.startswith("not ok")]
        if r.returncode and failed:
            print("caught  %s (%d tests fail, e.g. %s)" % (name, len(failed), failed[0]))
        else:
            print("MISSED  %s" % name)
            missed += 1
    print("%d mutants, %d missed" % (len(MUTANTS), missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
