#!/usr/bin/env bash
# matrix: 6.12-pci-split
# timeout: 2400
#
# The README's entry points, each as the first command on a fresh Debian 12
# machine: a debootstrap --variant=minbase root with only git and make added
# (built once, cached as a tarball in $VIREO_CACHE/fresh), unpacked anew for
# each first command, with its own dpkg database, its own VIREO_CACHE, and
# vireo's tree copied in. As root inside it:
#   root 1: make                 one line: no kernel headers, what to install
#           make run CMD=...     installs the packages, fetches the kernel,
#                                builds, boots: the guest reads 64 bytes
#                                from /dev/hwrng (make run is install-deps,
#                                then make KVER=6.12, then the boot: what
#                                make KVER=6.12 does as a first command)
#           make KVER=6.1        builds for the other kernel
#           make bench BENCH=rng KERNELS=6.12 PAIRS=1 MIB=1
#                                the benchmark's table row, with numbers
#                                (not a first command: a root of its own
#                                cost ~90 s of installs that make run shows)
#   root 2: make check CELLS=6.12-pci-split TESTS=rng    ... 0 failed
# Downloaded .deb files are kept in $VIREO_CACHE/fresh/archives (apt's
# cache, bound in), so reruns download little; every package is still
# installed inside each root.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck source=tests/host/minbase.inc
. "$(dirname "$0")/minbase.inc"
fresh=$minbase_fresh
tarball=$minbase_tarball
minbase_ensure || exit 0

roots=()
trap drop_roots EXIT

# new_root: a fresh root from the tarball, vireo's tree in /root/vireo, and
# the sources Debian's installer writes (debootstrap alone has only
# "bookworm"; the current 6.12 kernel and linux-source-6.12 come from the
# updates). The previous root goes first (disk space). Sets root.
drop_roots() {
	local r
	for r in ${roots[@]+"${roots[@]}"}; do rm -rf --one-file-system "$r"; done
	roots=()
}
new_root() {
	drop_roots
	root=$(mktemp -d /var/tmp/vireo-fresh.XXXXXX)
	roots+=("$root")
	tar -C "$root" -xzf "$tarball"
	tar -C "$VIREO_ROOT" --exclude=./build --exclude=./.git -cf - . |
		(mkdir -p "$root/root/vireo" && tar -C "$root/root/vireo" -xf -)
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
	tap_diag "fresh root $root from $tarball"
}

# in_root LOG CMD: run CMD (a shell line) as root in the root, in a
# mount namespace of its own (the binds vanish with it). Output to LOG.
in_root() {
	local log=$1
	shift
	unshare -m --propagation private sh -c '
		r=$1 f=$2
		mount --rbind /dev "$r/dev"
		mount -t proc proc "$r/proc"
		mount --rbind /sys "$r/sys"
		mount -t tmpfs tmpfs "$r/tmp"
		mkdir -p "$r/var/cache/vireo/debs"
		mount --bind "$f/archives" "$r/var/cache/apt/archives"
		mount --bind "$f/debs" "$r/var/cache/vireo/debs"
		shift 2
		exec chroot "$r" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			LANG=C.UTF-8 TERM=dumb /bin/bash -c "cd /root/vireo && $*"
	' sh "$root" "$fresh" "$@" >"$log" 2>&1
}

new_root

# 1. make: no headers for the running kernel here; one line says what to do.
log=$VIREO_LOGDIR/$TEST-make.log
in_root "$log" make
rc=$?
if [ $rc != 0 ] && grep -q 'linux-headers-' "$log" && grep -q 'KVER=6.1' "$log" && [ "$(grep -vc '^make' "$log")" = 1 ]; then
	tap_ok make-says-what-is-missing
else
	tap_fail make-says-what-is-missing "exit $rc, expected one line naming linux-headers and KVER=: $(head -n 5 "$log")"
fi

# 2. make run CMD=...: the first command that needs everything.
s=$SECONDS
log=$VIREO_LOGDIR/$TEST-make-run.log
# shellcheck disable=SC2016 # guest-side expansions ($$ is make's $)
in_root "$log" "make run CMD='echo current=\$\$(cat /sys/class/misc/hw_random/rng_current); echo hwrng-bytes=\$\$(head -c 64 /dev/hwrng | wc -c)'"
rc=$?
tap_diag "make run (installs, fetch, build, boot): $((SECONDS - s)) s"
if [ $rc = 0 ] && grep -aq '^current=vireo_rng.0' "$log" && grep -aq '^hwrng-bytes=64' "$log"; then
	tap_ok make-run-first
else
	tap_fail make-run-first "exit $rc (log: $log)" "$(tail -n 8 "$log")"
fi

# 3. make KVER=6.1
s=$SECONDS
log=$VIREO_LOGDIR/$TEST-make-6.1.log
in_root "$log" "make KVER=6.1 && ls build/6.1/drivers/*/vireo_*.ko"
rc=$?
tap_diag "make KVER=6.1: $((SECONDS - s)) s"
if [ $rc = 0 ] && grep -q 'vireo_transport.ko' "$log"; then tap_ok make-kver-6.1; else tap_fail make-kver-6.1 "exit $rc (log: $log)" "$(tail -n 5 "$log")"; fi

# 4. make bench, a short run of one benchmark, in the same root: its table
# row names 6.12 and has two throughputs and a ratio above 0.
s=$SECONDS
log=$VIREO_LOGDIR/$TEST-make-bench.log
in_root "$log" "make bench BENCH=rng KERNELS=6.12 PAIRS=1 MIB=1"
rc=$?
row=$(grep -aE '^\| 6\.12 \|' "$log" | head -n 1)
tap_diag "make bench BENCH=rng KERNELS=6.12 PAIRS=1 MIB=1: $((SECONDS - s)) s; $row"
if [ $rc = 0 ] && echo "$row" | grep -Eq '^\| 6\.12 \| [0-9]+\.[0-9] \| [0-9]+\.[0-9] \| \*\*[0-9]+\.[0-9]+\*\* \|' &&
	! echo "$row" | grep -Eq '\| 0\.0 \||\*\*0\.00\*\*'; then
	tap_ok make-bench
else
	tap_fail make-bench "exit $rc: '$row' (log: $log)" "$(tail -n 8 "$log")"
fi

# 5. make check, one cell, one test (never this one: TESTS selects), as
# the first command of a root of its own.
new_root
s=$SECONDS
log=$VIREO_LOGDIR/$TEST-make-check.log
in_root "$log" "make check CELLS=6.12-pci-split TESTS=rng"
rc=$?
tap_diag "make check CELLS=6.12-pci-split TESTS=rng: $((SECONDS - s)) s; $(tail -n 1 "$log")"
if [ $rc = 0 ] && tail -n 1 "$log" | grep -Eq '^[1-9][0-9]* passed, 0 failed'; then
	tap_ok make-check-first
else
	tap_fail make-check-first "exit $rc: $(tail -n 1 "$log") (log: $log)" "$(grep -a '^not ok' "$log" | head -n 5)"
fi
