#!/usr/bin/env bash
# matrix: 6.1-pci-split
#
# make install / vireo-choose / make uninstall into a Debian root (the
# cached minbase of fresh-machine.sh, with this kernel's virtio modules and
# the host's kmod copied in), asserted by what modprobe would load for a
# virtio-blk PCI device's modalias (modprobe -n -b, as udev does):
# not chosen -> in-tree virtio_pci only; chosen blk,rng -> vireo_transport
# with types=blk,rng, then virtio_pci for the rest; chosen all -> only
# vireo. Uninstall leaves no vireo file behind.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck source=tests/host/minbase.inc
. "$(dirname "$0")/minbase.inc"
minbase_ensure || exit 0
tarball=$minbase_tarball
make -s -C "$VIREO_ROOT" KVER="$KERNEL" >/dev/null || { tap_fail build "make KVER=$KERNEL failed"; exit 0; }
rel=$(kernel_release "$KERNEL")
m=$(kernel_dir "$KERNEL")/modules
r=$(mktemp -d /var/tmp/vireo-install.XXXXXX)
trap 'rm -rf "$r"' EXIT
tar -C "$r" -xzf "$tarball"
mkdir -p "$r/lib/modules/$rel/kernel/drivers"
cp -a "$m/kernel/drivers/virtio" "$r/lib/modules/$rel/kernel/drivers/"
cp "$m"/modules.builtin* "$m/modules.order" "$r/lib/modules/$rel/"
depmod -b "$r" "$rel"
cp /usr/bin/kmod "$r/usr/bin/kmod"
for l in $(ldd /usr/bin/kmod | grep -oE '/[^ ]+'); do [ -e "$r$l" ] || cp -L "$l" "$r$l"; done
ln -sf kmod "$r/usr/bin/modprobe"
before=$(cd "$r" && find . -path ./lib/modules -prune -o -print | sort)

if make -s -C "$VIREO_ROOT" install KVER="$KERNEL" DESTDIR="$r" >"$VIREO_LOGDIR/$TEST-install.log" 2>&1 &&
	[ -e "$r/lib/modules/$rel/updates/vireo/vireo_transport.ko" ] &&
	[ -x "$r/sbin/mount.virtiofs" ] &&
	grep -q 'vireo_transport' "$r/lib/modules/$rel/modules.alias"; then
	tap_ok make-install
else
	tap_fail make-install "$(tail -n 5 "$VIREO_LOGDIR/$TEST-install.log")"
fi

alias=pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc00i00
loads() { chroot "$r" modprobe -S "$rel" -n -v -b "$alias" 2>&1 | sed -n 's|^insmod .*/\([^/]*\)\.ko[^ ]* *|\1 |p' | tr -s ' \n' ' '; }

got=$(loads)
case $got in
*virtio_pci*vireo* | *vireo*) tap_fail not-chosen-in-tree-only "modprobe would load: $got" ;;
*virtio_pci*) tap_ok not-chosen-in-tree-only ;;
*) tap_fail not-chosen-in-tree-only "modprobe would load: $got" ;;
esac

VIREO_ROOT_DIR=$r "$VIREO_ROOT/packaging/vireo-choose" blk rng >/dev/null
got=$(loads)
if [[ $got = "vireo_ring vireo_transport types=blk,rng "*virtio_pci* ]]; then
	tap_ok chosen-blk-rng-vireo-first
else
	tap_fail chosen-blk-rng-vireo-first "modprobe would load: $got"
fi

VIREO_ROOT_DIR=$r "$VIREO_ROOT/packaging/vireo-choose" all >/dev/null
got=$(loads)
if [[ $got = "vireo_ring vireo_transport types=all " ]]; then tap_ok chosen-all-vireo-only; else tap_fail chosen-all-vireo-only "modprobe would load: $got"; fi

make -s -C "$VIREO_ROOT" uninstall KVER="$KERNEL" DESTDIR="$r" >>"$VIREO_LOGDIR/$TEST-install.log" 2>&1
after=$(cd "$r" && find . -path ./lib/modules -prune -o -print | sort)
left=$(find "$r/lib/modules/$rel" -name 'vireo*'; grep -l vireo "$r/lib/modules/$rel/modules.alias")
if [ "$before" = "$after" ] && [ -z "$left" ]; then
	tap_ok uninstall-leaves-nothing
else
	tap_fail uninstall-leaves-nothing "left: $(diff <(echo "$before") <(echo "$after") | head -n 5) $left"
fi
