"""Turns insn-count plugin snapshots into guest instructions per I/O.

usage: report.py CONSOLE_LOG COUNTS_PREFIX [TOP]

The console log has INSN-RUN lines (tests/guest/blk-insns.sh) and the
guest's text symbols between KSYMS-BEGIN and KSYMS-END. Each block address
is charged to the symbol it lies in. "driver" is the virtio stack under
test: vireo's modules for vireo, the in-tree virtio core, ring, PCI
transport and virtio_blk for the in-tree driver (built into the kernel on
6.12, so those are found by name). With TOP, the TOP functions whose
counts differ most between the two drivers follow each table; with SHARE
(environment: function names, comma-separated) the instructions of those
functions and their share of the kernel's for each driver.
"""
import bisect
import collections
import os
import re
import sys

INTREE_MODS = {"virtio", "virtio_ring", "virtio_pci", "virtio_pci_modern_dev", "virtio_balloon",
               "virtio_pci_legacy_dev", "virtio_blk"}
INTREE_NAMES = re.compile(r"^_*(virtqueue|vring|virtio|vp_|virtblk|virtballoon|detach_buf|more_used)")


def load_log(path):
    runs, syms, in_syms = [], [], False
    for line in open(path, errors="replace"):
        line = line.rstrip("\r\n")
        if line == "KSYMS-BEGIN":
            in_syms = True
        elif line == "KSYMS-END":
            in_syms = False
        elif in_syms:
            f = line.split()
            if len(f) >= 3:
                mod = f[3].strip("[]") if len(f) > 3 else "vmlinux"
                syms.append((int(f[0], 16), f[2], mod))
        elif line.startswith("INSN-RUN "):
            _, name, who, a, b, ios = line.split()
            runs.append((name, who, int(a), int(b), int(ios)))
    syms.sort()
    return runs, syms


def part(mod, fn, who):
    if mod == "user":
        return "user"
    if who == "vireo" and mod.startswith("vireo_"):
        return "driver"
    if who == "intree" and (mod in INTREE_MODS or
                            (mod == "vmlinux" and INTREE_NAMES.match(fn))):
        return "driver"
    return "kernel"


def main():
    log, prefix = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    runs, syms = load_log(log)
    addrs = [s[0] for s in syms]

    def where(addr):
        if addr < 0x800000000000:
            return ("user", "user")
        i = bisect.bisect_right(addrs, addr) - 1
        return (syms[i][2], syms[i][1]) if i >= 0 else ("vmlinux", "?")

    def cumulative(n):
        c = collections.Counter()
        for line in open("%s.%d" % (prefix, n)):
            addr, insns = line.split()
            c[where(int(addr, 16))] += int(insns)
        return c

    def counts(n):
        # What ran between the mark that wrote file n - 1 and the one that wrote n.
        c = cumulative(n)
        c.subtract(cumulative(n - 1))
        return c

    per = collections.OrderedDict()
    for name, who, a, b, ios in runs:
        if ios <= 0:
            sys.exit("report: no I/Os counted for %s %s" % (name, who))
        ca, cb = counts(a), counts(b)
        per.setdefault(name, {})[who] = {k: (cb[k] - ca[k]) / ios
                                         for k in set(ca) | set(cb)}

    print("| workload | in-tree: kernel (driver) | vireo: kernel (driver) "
          "| vireo / in-tree, kernel | vireo / in-tree, driver | user, in-tree / vireo |")
    print("|---|---|---|---|---|---|")
    for name, r in per.items():
        parts = {}
        for who in ("intree", "vireo"):
            parts[who] = collections.Counter()
            for (mod, fn), v in r[who].items():
                parts[who][part(mod, fn, who)] += v
        i, v = parts["intree"], parts["vireo"]
        ik, vk = i["driver"] + i["kernel"], v["driver"] + v["kernel"]
        print("| %s | %.0f (%.0f) | %.0f (%.0f) | **%.3f** | %.2f | %.0f / %.0f |" % (
            name, ik, i["driver"], vk, v["driver"], vk / ik,
            v["driver"] / i["driver"], i["user"], v["user"]))
    share = [f for f in os.environ.get("SHARE", "").split(",") if f]
    for name, r in per.items():
        if not share:
            break
        print("\n%s: named functions (instructions per I/O, share of the kernel's)\n" % name)
        print("| function | in-tree | vireo |")
        print("|---|---|---|")
        for fn in share:
            cells = []
            for who in ("intree", "vireo"):
                k = sum(v for (mod, f), v in r[who].items() if mod != "user")
                n = sum(v for (mod, f), v in r[who].items() if f == fn)
                cells.append("%.0f (%.1f%%)" % (n, 100 * n / k if k else 0))
            print("| %s | %s | %s |" % (fn, cells[0], cells[1]))
    for name, r in per.items():
        if not top:
            break
        i, v = r["intree"], r["vireo"]
        keys = sorted(set(i) | set(v), key=lambda k: -abs(v.get(k, 0) - i.get(k, 0)))
        print("\n%s: the %d functions that differ most (instructions per I/O)\n" % (name, top))
        print("| module | function | in-tree | vireo | difference |")
        print("|---|---|---|---|---|")
        for k in keys[:top]:
            print("| %s | %s | %.1f | %.1f | %+.1f |" % (k[0], k[1], i.get(k, 0),
                                                   v.get(k, 0), v.get(k, 0) - i.get(k, 0)))


main()
