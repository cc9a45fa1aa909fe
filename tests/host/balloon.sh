#!/usr/bin/env bash
# matrix: debug-pci-split 6.1-pci-legacy-split 6.12-mmio2-packed
#
# vireo_balloon driven from the host through QMP, as users drive it
# (tests/guest/balloon.sh is the guest side), one boot per cell:
# - statistics: with guest-stats-polling-interval set, last-update advances
#   and every tag of qom-get guest-stats matches the guest's /proc/meminfo
#   and /proc/vmstat read right after the driver sent that buffer (memory
#   sizes within 4 MiB, fault counters within +5000, the rest exact); the
#   buffer's tags 10-15, which QEMU 7.2 drops, match /proc/vmstat the same
#   way (read in the guest through the driver's debugfs copy);
# - QMP balloon 1024 -> 700, 300, 900, 200, 512 MiB at once (faster than
#   the worker follows): query-balloon reaches 512 within 120 s and
#   MemTotal drops by 512 MiB (+-1 MiB); a freeze/restore cycle empties and
#   refills it; back to 1024: restored; rmmod with 512 MiB inflated gives
#   every page back (MemTotal, and QMP actual 1024 MiB);
# - PCI cells: insmod again and device_del while the worker inflates: the
#   guest gets its memory back; then device_add of a balloon with
#   deflate-on-oom and free-page-reporting: MemTotal stays and
#   MemAvailable drops when inflated; a program that touches 160 MiB more
#   than is available gets it, nobody is killed, QMP actual rises; after a
#   600 MiB program exits QEMU's VmRSS falls by at least 400 MiB.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

MIB=1048576
pci=0
case $TRANSPORT in pci | pci-legacy) pci=1 ;; esac

# A balloon device as the cell's transport and ring want it (device_add).
bal_props() {
	local p='"driver": "virtio-balloon-pci", "id": "bal1", "bus": "hp0", "deflate-on-oom": true, "free-page-reporting": true'
	if [ "$TRANSPORT" = pci ]; then
		p+=', "disable-legacy": "on", "disable-modern": false'
	else
		p+=', "disable-legacy": "off", "disable-modern": true'
	fi
	[ "$RING" != packed ] || p+=', "packed": true'
	echo "{$p}"
}

# balloon_wait MIB SECS: until query-balloon says MIB; prints the last reply.
balloon_wait() {
	local want=$(($1 * MIB)) end=$((SECONDS + $2)) r
	while [ $SECONDS -lt $end ]; do
		r=$(qmp query-balloon 2>/dev/null | grep -o '"actual": [0-9]*' | grep -o '[0-9]*$')
		[ "$r" = "$want" ] && return 0
		sleep 1
	done
	echo "${r:-none}"
	return 1
}

actual_mib() {
	local r
	r=$(qmp query-balloon 2>/dev/null | grep -o '"actual": [0-9]*' | grep -o '[0-9]*$')
	echo $((${r:-0} / MIB))
}

# wait_mark NAME [SECS]: the guest printed NAME, or report why not and stop.
wait_mark() {
	guest_console_wait "$1" "${2:-240}" && return 0
	tap_fail "marker-$1" "the guest never printed $1 (log: $GUEST_LOG)"
	return 1
}

qemu_pid() {
	ps -o pid=,comm= --ppid "$GUEST_PID" | awk '$2 ~ /^qemu-system/ { print $1 }' | head -n 1
}

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# What each cell runs, for make check's budget: every cell the core
# (inflate, deflate, rmmod); statistics and freeze where the kernel or ring
# differs; unplug and deflate-on-oom/reporting on PCI (hotplug).
case $CELL in
debug-pci-split) phases="pm dead unplug" ;;
6.1-pci-legacy-split) phases="hint unplug oom" ;;
*-pci-* | *-pci-legacy-*) phases="stats pm unplug oom" ;;
*) phases="stats pm over compact poison" ;;
esac
[ -z "${BAL_PHASES:-}" ] || phases=$BAL_PHASES
# Bus mastering is a PCI thing.
if [[ " $phases " = *" dead "* ]] && [ $pci = 0 ]; then
	tap_skip dead "no PCI bus mastering on $TRANSPORT"
	phases=${phases/dead/}
fi
# The debug kernel has no hugetlbfs and no page poisoning.
if [ "$KERNEL" = debug ]; then
	[[ " $phases " != *" compact "* ]] || { tap_skip compact "no hugetlbfs on the debug kernel"; phases=${phases/compact/}; }
	[[ " $phases " != *" poison "* ]] || { tap_skip poison "no page poisoning on the debug kernel"; phases=${phases/poison/}; }
fi
bal0=balloon,id=bal0
poison=()
if [[ " $phases " = *" poison "* ]]; then
	bal0+=,free-page-reporting=on,page-poison=on
	poison=(--append page_poison=1)
fi
hint=()
if [[ " $phases " = *" hint "* ]]; then
	bal0+=,free-page-hint=on,iothread=io1
	hint=(--qemu -object --qemu "iothread,id=io1")
fi
cmd="BAL_PHASES='$phases'; . /tests/balloon.sh; balloon_core"
[[ " $phases " != *" dead "* ]] || cmd+='; balloon_dead'
hp=()
if [[ " $phases " = *" unplug "* ]]; then
	[ $pci = 1 ] || { tap_skip unplug "no hotplug on $TRANSPORT"; phases=${phases/unplug/}; }
fi
if [[ " $phases " = *" unplug "* ]]; then
	cmd+='; balloon_unplug'
	hp=(--hotplug --hotplug-slots 1)
	[[ " $phases " = *" oom "* ]] && cmd+='; balloon_oom'
fi
# The markers are looked for in the console log: a log left by an earlier
# run must not be found before this boot has started writing its own.
rm -f "$VIREO_LOGDIR/$TEST-balloon.log"
boot_bg --name balloon ${hp[@]+"${hp[@]}"} ${poison[@]+"${poison[@]}"} ${hint[@]+"${hint[@]}"} --dev "$bal0" --timeout 900 --cmd "$cmd"

# QEMU drops reported pages only while the guest's poison value is 0
# (virtio_balloon_handle_report): told 0xaa..., it keeps them, so the
# guest's 600 MiB stay in its RSS after they were reported. (The guest
# sees them reported only once QEMU returned the request.)
poison_checks() {
	local pid r1 r2
	wait_mark BAL-POISON-HELD 240 || return 1
	pid=$(qemu_pid)
	r1=$(rss_kib "$pid")
	wait_mark BAL-POISON-REPORTED 120 || return 1
	r2=$(rss_kib "$pid")
	if [ $((r1 - r2)) -lt $((200 * 1024)) ]; then
		tap_ok poison/qemu-keeps-pages
	else
		tap_fail poison/qemu-keeps-pages "QEMU VmRSS $((r1 / 1024)) -> $((r2 / 1024)) MiB: reported pages were dropped although the guest poisons free pages"
	fi
	tap_diag "QEMU VmRSS $((r1 / 1024)) -> $((r2 / 1024)) MiB after the guest freed and reported 600 MiB (page_poison=1)"
	wait_mark BAL-POISON-DONE 240 || return 1
}

# A target above what the guest can give (tests/guest/balloon.sh
# balloon_over): a 32 MiB guest of 1 GiB. QMP's actual must be what the
# driver holds (its debugfs actual, in the guest's BAL-OVER-HELD line).
over_checks() {
	local a held
	wait_mark BAL-OVER-READY || return 1
	qmp 'balloon {"value": 33554432}' >/dev/null
	wait_mark BAL-OVER-HELD 240 || return 1
	sleep 2
	a=$(actual_mib)
	held=$(grep -ao 'BAL-OVER-HELD actual=[0-9]*' "$GUEST_LOG" | head -n 1 | grep -o '[0-9]*$')
	if [ -n "$held" ] && [ $((1024 - held / 256 - a)) -ge -1 ] && [ $((1024 - held / 256 - a)) -le 1 ]; then
		tap_ok over/qmp-actual-is-the-drivers
	else
		tap_fail over/qmp-actual-is-the-drivers "query-balloon says $a MiB, the driver holds ${held:-?} pages"
	fi
	tap_diag "$(grep -ao 'BAL-OVER-HELD.*' "$GUEST_LOG" | head -n 1)"
	qmp 'balloon {"value": 1073741824}' >/dev/null
}

# FREE_PAGE_HINT: QEMU 7.2 asks for hints only during a precopy
# migration; the guest is migrated to a byte counter (no second QEMU, no
# file of its memory) and continued.
hint_checks() {
	local s st i bytes
	wait_mark BAL-HINT-READY 240 || return 1
	qmp "migrate {\"uri\": \"exec:wc -c >$GUEST_LOG.mig\"}" >/dev/null
	for i in $(seq 300); do
		s=$(qmp query-migrate 2>/dev/null)
		st=$(echo "$s" | grep -o '"status": "[a-z-]*"' | head -n 1)
		case $st in *completed* | *failed* | *cancelled*) break ;; esac
		sleep 1
	done
	if [[ $st = *completed* ]]; then tap_ok hint/migration-completes; else tap_fail hint/migration-completes "query-migrate: $s"; fi
	qmp cont >/dev/null
	bytes=$(cat "$GUEST_LOG.mig" 2>/dev/null)
	tap_diag "migration stream ${bytes:-?} bytes ($(echo "$s" | grep -o '"total-time": [0-9]*'))"
	qmp 'balloon {"value": 1072693248}' >/dev/null
	wait_mark BAL-HINT-DONE 120 || return 1
	tap_diag "$(grep -ao 'BAL-HINT-DONE.*' "$GUEST_LOG" | head -n 1)"
	qmp 'balloon {"value": 1073741824}' >/dev/null
}

# A device that stops answering (tests/guest/balloon.sh balloon_dead): the
# host only sets the targets; the next driver's target is 512 MiB.
dead_checks() {
	wait_mark BAL-DEAD-READY || return 1
	qmp 'balloon {"value": 209715200}' >/dev/null
	wait_mark BAL-DEAD-STALLED 120 || return 1
	qmp 'balloon {"value": 536870912}' >/dev/null
	wait_mark BAL-DEAD-DONE 300 || return 1
	tap_diag "$(grep -aoE 'BAL-DEAD-(STALLED|DONE).*' "$GUEST_LOG" | head -n 2)"
}

run() {
	wait_mark 'BAL-READY' 400 || return
	[[ " $phases " = *" stats "* ]] && stats_check
	[[ " $phases " != *" hint "* ]] || hint_checks || return
	inflate_checks
}

stats_check() {
	local last1 last2 stats end
	# The debug kernel's guest is slow to look: a buffer every 3 s there.
	local every=1
	[ "$KERNEL" != debug ] || every=3
	qmp "qom-set {\"path\": \"/machine/peripheral/bal0\", \"property\": \"guest-stats-polling-interval\", \"value\": $every}" >/dev/null
	# Read QMP while the guest dumps what it sends: QEMU then holds one of
	# the dumped buffers.
	end=$((SECONDS + 60))
	while [ $SECONDS -lt $end ]; do
		[ "$(grep -aoE 'BAL-DUMP [0-9]+' "$GUEST_LOG" | sort -u | wc -l)" -ge 2 ] && break
		sleep 0.5
	done
	# Several readings: on a slow guest two buffers may follow each other
	# faster than it dumps them; one reading must be a dumped buffer.
	: >"$GUEST_LOG.stats"
	for i in 1 2 3; do
		stats=$(qmp 'qom-get {"path": "/machine/peripheral/bal0", "property": "guest-stats"}' 2>/dev/null)
		echo "$stats" | tail -n 1 >>"$GUEST_LOG.stats"
		[ $i != 1 ] || last1=$(echo "$stats" | grep -o '"last-update": [0-9]*' | grep -o '[0-9]*$')
		sleep $(((every + 2) / 2))
	done
	last2=$(echo "$stats" | grep -o '"last-update": [0-9]*' | grep -o '[0-9]*$')
	if [ -n "$last1" ] && [ "$last1" != 0 ] && [ "${last2:-0}" -gt "$last1" ]; then
		tap_ok stats/last-update-advances
	else
		tap_fail stats/last-update-advances "last-update ${last1:-none}, $((every + 2)) s later ${last2:-none}"
	fi
	wait_mark BAL-STATS-DONE 120 || return
	python3 - "$GUEST_LOG" "$GUEST_LOG.stats" <<'EOF'
import json, re, sys
log, qmpf = sys.argv[1], sys.argv[2]
readings = [json.loads(l)["return"]["stats"] for l in open(qmpf) if l.startswith("{")]
dumps = {}
for line in open(log, errors="replace"):
    m = re.search(r"BAL-DUMP (\d+) (.*)", line.rstrip("\r\n"))
    if m:
        dumps.setdefault(m.group(1), []).append(m.group(2))
names = {0: "stat-swap-in", 1: "stat-swap-out", 2: "stat-major-faults",
         3: "stat-minor-faults", 4: "stat-free-memory", 5: "stat-total-memory",
         6: "stat-available-memory", 7: "stat-disk-caches",
         8: "stat-htlb-pgalloc", 9: "stat-htlb-pgfail"}
def parse(lines):
    st, proc = {}, {}
    for l in lines:
        f = l.split()
        if f[0] == "stat" and len(f) == 4:
            st[int(f[1])] = int(f[3])
        elif len(f) >= 2 and f[1].isdigit():
            k = f[0].rstrip(":")
            v = int(f[1])
            proc[k] = v * 1024 if f[-1] == "kB" else v
    return st, proc
# The buffer QEMU holds: the dump whose tags 0-9 are QMP's values.
match = None
for q in readings:
    for seq, lines in dumps.items():
        st, proc = parse(lines)
        # QEMU reports a tag it never got as -1 (as a u64: 2^64 - 1).
        if all(q[n] in ((st[t],) if t in st else (-1, 2**64 - 1)) for t, n in names.items()):
            match = (seq, st, proc)
    if match:
        break
if not match:
    print("not ok - stats/qmp-is-a-sent-buffer")
    print("#   none of %d QMP readings (%s) is one of the %d buffers dumped" % (len(readings), readings, len(dumps)))
    sys.exit(0)
print("ok - stats/qmp-is-a-sent-buffer")
seq, st, proc = match
M = 4 << 20
alloc_stall = sum(v for k, v in proc.items() if k.startswith("allocstall_"))
# tag: (what /proc says, tolerance below, above)
want = {
    0: (proc["pswpin"] * 4096, 0, 0), 1: (proc["pswpout"] * 4096, 0, 0),
    2: (proc["pgmajfault"], 0, 100), 3: (proc["pgfault"], 0, 5000),
    4: (proc["MemFree"], M, M), 5: (proc["MemTotal"], 0, 0),
    6: (proc["MemAvailable"], M, M), 7: (proc["nr_file_pages"] * 4096, M, M),
    10: (proc["oom_kill"], 0, 0), 11: (alloc_stall, 0, 0),
    12: (proc["pgscan_kswapd"] * 4096, 0, M), 13: (proc["pgscan_direct"] * 4096, 0, M),
    14: (proc["pgsteal_kswapd"] * 4096, 0, M), 15: (proc["pgsteal_direct"] * 4096, 0, M),
}
if "htlb_buddy_alloc_success" in proc:
    want[8] = (proc["htlb_buddy_alloc_success"], 0, 0)
    want[9] = (proc["htlb_buddy_alloc_fail"], 0, 0)
for t in sorted(want):
    p, below, above = want[t]
    v = st.get(t)
    src = "qmp" if t < 10 else "buffer"
    name = "stats/%s-%d" % (src, t)
    if v is not None and p - above <= v <= p + below:
        print("ok - %s" % name)
    else:
        print("not ok - %s" % name)
        print("#   tag %d: sent %s, /proc %d (tolerance -%d/+%d of /proc)" % (t, v, p, above, below))
missing = [t for t in (8, 9) if t not in want and q[names[t]] not in (-1, 2**64 - 1)]
if missing:
    print("not ok - stats/no-htlb-without-hugetlb")
    print("#   the kernel has no hugetlb counters but QMP shows tags %s" % missing)
EOF
}

inflate_checks() {
	local r a pid r1 r2 end waiter
	# --- inflate, freeze, deflate, rmmod ---------------------------------
	# Targets faster than the worker can follow, then 512 MiB: it ends there.
	qmp 'balloon {"value": 734003200}' 'balloon {"value": 314572800}' 'balloon {"value": 943718400}' \
		'balloon {"value": 209715200}' 'balloon {"value": 536870912}' >/dev/null
	if r=$(balloon_wait 512 120); then tap_ok qmp/reaches-512; else tap_fail qmp/reaches-512 "query-balloon: $r bytes"; fi
	if [[ " $phases " = *" compact "* ]]; then
		wait_mark BAL-COMPACTED 240 || return
		a=$(actual_mib)
		if [ "$a" = 512 ]; then tap_ok compact/qmp-actual-kept; else tap_fail compact/qmp-actual-kept "query-balloon says $a MiB after compaction"; fi
		tap_diag "$(grep -ao 'BAL-COMPACTED.*' "$GUEST_LOG" | head -n 1)"
	fi
	wait_mark BAL-PM-DONE 240 || return
	qmp 'balloon {"value": 1073741824}' >/dev/null
	if r=$(balloon_wait 1024 120); then tap_ok qmp/back-to-1024; else tap_fail qmp/back-to-1024 "query-balloon: $r bytes"; fi
	wait_mark BAL-AT-1024 || return
	[[ " $phases " != *" over "* ]] || over_checks || return
	[[ " $phases " != *" poison "* ]] || poison_checks || return
	# The guest loads the driver again right after rmmod: QEMU's
	# BALLOON_CHANGE event for 1024 MiB is what rmmod left.
	qmp 'balloon {"value": 536870912}' --wait-event BALLOON_CHANGE --data actual=1073741824 \
		--timeout 120 >"$GUEST_LOG.rmmod" 2>&1 &
	waiter=$!
	wait_mark BAL-RMMOD || return
	if wait "$waiter"; then tap_ok qmp/rmmod-gives-back; else tap_fail qmp/rmmod-gives-back "no BALLOON_CHANGE to 1024 MiB: $(tail -n 2 "$GUEST_LOG.rmmod")"; fi
	[[ " $phases " != *" dead "* ]] || dead_checks || return
	[[ " $phases " = *" unplug "* ]] || return

	# --- hot-unplug while inflating ---------------------------------------
	wait_mark BAL-REINFLATING || return
	if qmp 'device_del {"id": "bal0"}' --wait-event DEVICE_DELETED --data device=bal0 --timeout 60 >/dev/null; then
		tap_ok unplug/device-deleted
	else
		tap_fail unplug/device-deleted "QEMU never reported DEVICE_DELETED for bal0"
	fi
	wait_mark BAL-UNPLUGGED || return
	[[ " $phases " = *" oom "* ]] || return

	# --- deflate-on-oom and free page reporting -----------------------------
	if qmp "device_add $(bal_props)" >/dev/null; then tap_ok doom/device-add; else tap_fail doom/device-add "$(qmp "device_add $(bal_props)" 2>&1)"; return; fi
	wait_mark BAL-B-READY || return
	qmp 'balloon {"value": 536870912}' >/dev/null
	if r=$(balloon_wait 512 120); then tap_ok doom/qmp-reaches-512; else tap_fail doom/qmp-reaches-512 "query-balloon: $r bytes"; fi
	wait_mark BAL-B-AT-512 || return
	qmp 'balloon {"value": 537919488}' >/dev/null
	wait_mark BAL-OOM-HELD 300 || return
	a=$(actual_mib)
	if [ "$a" -gt 512 ]; then tap_ok oom/qmp-actual-rises; else tap_fail oom/qmp-actual-rises "query-balloon says $a MiB"; fi
	wait_mark BAL-OOM-DONE || return
	qmp 'balloon {"value": 1073741824}' >/dev/null
	wait_mark BAL-HOG-HELD 240 || return
	pid=$(qemu_pid)
	r1=$(rss_kib "$pid")
	wait_mark BAL-HOG-FREED || return
	end=$((SECONDS + 40))
	while [ $SECONDS -lt $end ]; do
		r2=$(rss_kib "$pid")
		[ $((r1 - r2)) -ge $((400 * 1024)) ] && break
		sleep 1
	done
	if [ $((r1 - r2)) -ge $((400 * 1024)) ]; then
		tap_ok report/qemu-rss-falls
		tap_diag "QEMU VmRSS $((r1 / 1024)) -> $((r2 / 1024)) MiB after the guest freed 600 MiB"
	else
		tap_fail report/qemu-rss-falls "QEMU VmRSS $((r1 / 1024)) -> $((r2 / 1024)) MiB in 40 s after the guest freed 600 MiB"
	fi
	qmp 'balloon {"value": 1069547520}' >/dev/null
}

run
wait_guest 900
