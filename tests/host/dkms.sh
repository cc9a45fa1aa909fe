#!/usr/bin/env bash
# matrix: 6.1-pci-split
#
# DKMS from the make dist tarball, with Debian's dkms, against the cached
# headers of both Debian kernels (--kernelsourcedir), in a DKMS tree of its
# own (nothing of the host's /var/lib/dkms or /lib/modules changes): dkms
# build gives every module of the tree with the kernel's vermagic and
# dkms.conf's version; dkms remove leaves nothing behind. (dkms install into
# a real root, and the rebuild for a kernel installed later, are in the
# Debian guest: scripts/mkguest, guest-boot, guest-lifecycle.)
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

command -v dkms >/dev/null || { tap_skip dkms "dkms is not installed (scripts/install-deps)"; exit 0; }
d=$(mktemp -d /var/tmp/vireo-dkms.XXXXXX)
trap 'rm -rf "$d"' EXIT
(cd "$VIREO_ROOT" && make -s dist) >"$d/dist.log" 2>&1 || { tap_fail make-dist "$(cat "$d/dist.log")"; exit 0; }
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$VIREO_ROOT/dkms.conf")
mkdir -p "$d/src" "$d/tree"
tar -C "$d/src" -xzf "$VIREO_ROOT/vireo-$ver.tar.gz" && [ -f "$d/src/vireo-$ver/dkms.conf" ] &&
	tap_ok make-dist || tap_fail make-dist "no vireo-$ver/dkms.conf in the tarball"
rm -f "$VIREO_ROOT/vireo-$ver.tar.gz"
dk=(dkms --dkmstree "$d/tree" --sourcetree "$d/src" -m vireo -v "$ver")

# Every module the tree builds (drivers/*/Kbuild), not a list of our own.
mods=$(sed -n 's/^obj-m *:= *\(vireo_[a-z_]*\)\.o$/\1/p' "$VIREO_ROOT"/drivers/*/Kbuild)
nmods=$(echo "$mods" | wc -w)
for k in 6.1 6.12; do
	rel=$(kernel_release "$k") || { tap_skip "dkms-build-$k" "kernel $k not fetched"; continue; }
	log=$VIREO_LOGDIR/$TEST-$k.log
	"${dk[@]}" build -k "$rel" --kernelsourcedir "$(kernel_dir "$k")/build" >"$log" 2>&1
	n=0 bad=
	for m in $mods; do
		f=$(ls "$d/tree/vireo/$ver/$rel/x86_64/module/$m.ko"* 2>/dev/null | head -n 1)
		# The kernel release it is for, and the version DKMS compares.
		if [ -n "$f" ] && [ "$(modinfo -F vermagic "$f" | cut -d' ' -f1)" = "$rel" ] &&
			[ "$(modinfo -F version "$f")" = "$ver" ]; then n=$((n + 1)); else bad+=" $m"; fi
	done
	if [ $n = "$nmods" ] && [ "$nmods" -ge 6 ]; then tap_ok "dkms-build-$k"; else tap_fail "dkms-build-$k" "missing, wrong vermagic or not version $ver:$bad (log: $log)" "$(tail -n 5 "$log")"; fi
done

"${dk[@]}" remove --all >"$VIREO_LOGDIR/$TEST-remove.log" 2>&1
if [ -z "$(ls -A "$d/tree" 2>/dev/null | grep -v '^\.')" ] || [ ! -e "$d/tree/vireo" ]; then
	tap_ok dkms-remove-cleans-up
else
	tap_fail dkms-remove-cleans-up "left: $(find "$d/tree" | head -n 5)"
fi
