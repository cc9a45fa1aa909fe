#!/usr/bin/env bash
# matrix: 6.12-pci-split
# timeout: 2700
#
# The Debian distro guest (scripts/mkguest) boots from its qcow2 disk through
# its own GRUB, the cell's kernel and its initramfs, with the users' QEMU
# command line (-drive if=virtio, rng, balloon, user net + ssh): systemd
# reaches "running" (or "degraded" with no vireo unit among the failed), /
# is /dev/vda1. With vireo installed in the image (the default), what a user
# checks after installing and choosing it: vda (the root disk) is driven by
# vireo_blk and the hwrng is vireo_rng; the initramfs hook ran (the console
# shows init-premount's vireo lines before the root is mounted, and
# lsinitramfs lists vireo's modules and its choice); nobody loaded a module
# by hand (vireo_blk/vireo_rng/vireo_transport loaded, no modules-load or
# /etc/modules entry, the disk's modalias resolves to vireo_blk, the
# in-tree virtio_blk is not loaded); udev's persistent names exist for the
# vireo disk (/dev/disk/by-uuid, by-path/pci-...); a disk hot-plugged through
# QMP (blockdev-add + device_add virtio-blk-pci, serial=) is taken by
# vireo_blk without a command (on 6.12, where the built-in virtio-pci binds
# it first, through vireo's udev rule), gets /dev/disk/by-id/virtio-SERIAL,
# and a sector the guest writes there is in the host's file. After a clean
# poweroff the host's qemu-img check and fsck.ext4 -n find the disk clean.
# (The transport and ring of the cell do not apply: the guest has QEMU's
# default devices.) GUEST_WITH_VIREO=0 boots the image without vireo and
# skips the vireo checks.
#
# The same boot has the users' virtio-fs line (issue 12): a vhost-user-fs-pci
# device (tag myfs) on a /usr/lib/qemu/virtiofsd the test starts on a host
# directory, the guest's memory a shared memfd with -numa. In the guest
# `mount -t virtiofs myfs /mnt` (util-linux, through vireo's
# /sbin/mount.virtiofs) gives a vireofs mount (/proc/mounts) of a device
# vireo_fs drives; a real build runs on it: `make -j2` of a source tree the
# host copied into the directory (vireo's userspace ring tests and ring
# sources, one object per file with dependency files, an archive by ar, a
# link to a temporary name then mv), bind-mounted at /srv/vireo; the same
# build in a tmpfs bind-mounted at the same path gives the same bytes
# (sha256 of every output), and so does the host directory afterwards. Git
# on the mount when the image has git (it has not: skipped). After the
# poweroff virtiofsd has exited with status 0 and the host directory holds
# the sources and the build's outputs and nothing else (no leftover
# temporary or .fuse_hidden names).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=scripts/guest-lib.sh
. "$VIREO_ROOT/scripts/guest-lib.sh"
# shellcheck source=tests/host/guest-common.inc
. "$(dirname "$0")/guest-common.inc"

guest_image || exit 0
qmp_sock=$GUEST_WORK/qmp

# The users' shared directory (their /var/lib/fs/vm001) with a source tree
# in it, and its daemon.
fsdir=$GUEST_WORK/vm001
mkdir -p "$fsdir/src"
(cd "$VIREO_ROOT" && tar -cf - tests/ring/Makefile tests/ring/*.[ch] tests/ring/shim \
	drivers/virtio_ring include) | tar -C "$fsdir/src" -xf -
cat >"$fsdir/src/GNUmakefile" <<'EOF'
# The ring test program of tests/ring, built one object per file (the
# guest-boot test's source build on a virtio-fs mount).
R := drivers/virtio_ring
T := tests/ring
RING := $(addprefix $(R)/,api.c map.c indirect.c alloc.c reset.c dma.c split.c packed.c debugfs.c)
PROG := $(addprefix $(T)/,main.c shim/shim.c sim.c harness.c test_basic.c test_notify.c \
	test_hostile.c test_concurrent.c test_reset.c test_notify_data.c fuzz.c)
CPPFLAGS := -D_GNU_SOURCE -include $(T)/shim/kshim.h -I$(T)/shim -Iinclude
CFLAGS := -std=gnu11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter \
	-Wno-sign-compare -Wno-missing-field-initializers -Werror
obj = $(patsubst %.c,out/%.o,$(1))
out/ring-test: $(call obj,$(PROG)) out/libring.a
	$(CC) -o $@.tmp $^ -pthread
	mv $@.tmp $@
out/libring.a: $(call obj,$(RING))
	rm -f $@
	ar rcs $@ $^
out/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@
-include $(shell find out -name '*.d' 2>/dev/null)
EOF
(cd "$fsdir" && find . | LC_ALL=C sort) >"$GUEST_WORK/fs-before.list"
guest_fs_start "$fsdir" myfs "$VIREO_LOGDIR/$TEST-virtiofsd.log" || {
	tap_fail virtiofsd-start "no socket from virtiofsd (log: $VIREO_LOGDIR/$TEST-virtiofsd.log)"
	exit 0
}
guest_boot_checked boot virtio "$qmp_sock" 1 || exit 0

# shellcheck disable=SC2016 # guest-side expansions
rel=$(guest_ssh 'uname -r' </dev/null)
want=$(kernel_release "$KERNEL")
if [ "$rel" = "$want" ]; then tap_ok kernel; else tap_fail kernel "booted '$rel', wanted $want (GRUB's SMBIOS choice)"; fi

state=$(guest_ssh 'timeout 300 systemctl is-system-running --wait' </dev/null) || true
failed=$(guest_ssh 'systemctl --failed --no-legend --plain | cut -d" " -f1' </dev/null | tr '\n' ' ')
case $state in
running) tap_ok system-running ;;
degraded)
	if [[ $failed = *vireo* ]]; then
		tap_fail system-running "degraded; failed units: $failed"
	else
		tap_ok system-running
		tap_diag "degraded; failed units (none of vireo's): $failed"
	fi
	;;
*) tap_fail system-running "systemctl is-system-running: '$state'; failed units: $failed" ;;
esac

src=$(guest_ssh 'findmnt -n -o SOURCE /' </dev/null)
if [ "$src" = /dev/vda1 ]; then tap_ok root-on-vda1; else tap_fail root-on-vda1 "/ is on '$src'"; fi

guest_ssh "$GUEST_DRIVERS" </dev/null | sed 's/^/# /'
blk=$(guest_ssh 'basename "$(readlink -f /sys/block/vda/device/driver)"' </dev/null)
rng=$(guest_ssh 'cat /sys/class/misc/hw_random/rng_current' </dev/null)
# The NIC this ssh session came in on (the guest's address in
# SSH_CONNECTION), and its driver: QEMU's user network is the only way in.
# shellcheck disable=SC2016 # guest-side expansions
nic=$(guest_ssh 'set -- $SSH_CONNECTION; i=$(ip -o addr show to "$3" | cut -d" " -f2)
	echo "$i $(basename "$(readlink -f /sys/class/net/$i/device/driver)")"' </dev/null)
# Its name: what udev's net_id names a NIC on that PCI function (enp0sS
# on q35's root bus), for the in-tree driver and, through vireo's
# 79-vireo-net.rules, for vireo_net.
# shellcheck disable=SC2016 # guest-side expansions
nicpci=$(guest_ssh 'set -- $SSH_CONNECTION; i=$(ip -o addr show to "$3" | cut -d" " -f2)
	p=$(readlink -f /sys/class/net/$i/device/..); [ -e $p/vendor ] || p=$(readlink -f /sys/class/net/$i/device)
	echo ${p##*/}' </dev/null)
nicname=
[[ $nicpci =~ ^0000:00:([0-9a-f]{2})\.0$ ]] && nicname=enp0s$((16#${BASH_REMATCH[1]}))
if [ -n "$nicname" ] && [ "${nic%% *}" = "$nicname" ]; then
	tap_ok nic-name
else
	tap_fail nic-name "the NIC on PCI $nicpci is '${nic%% *}' (want '${nicname:-enp0s<slot>}', as udev names the in-tree one)"
fi
balloon=$(guest_ssh "$GUEST_BALLOON_DRIVER" </dev/null)
if [ "$GUEST_VIREO" != 1 ]; then
	for t in vda-on-vireo_blk hwrng-vireo_rng ssh-over-vireo_net balloon-vireo_balloon dkms-kernel-upgrade initramfs-hook autoload by-path hotplug-vireo_blk fs-mount-virtiofs fs-build fs-build-same-as-tmpfs fs-host-bytes fs-git virtiofsd-exit fs-host-no-stray; do
		tap_skip "$t" "vireo not installed in the image (GUEST_WITH_VIREO=0 or no make install in this tree); vda is on $blk, hwrng $rng, NIC $nic, balloon $balloon"
	done
	guest_shutdown_checked
	guest_fs_wait_exit >/dev/null
	exit 0
fi
if [ "$blk" = vireo_blk ]; then tap_ok vda-on-vireo_blk; else tap_fail vda-on-vireo_blk "vda's driver is '$blk'"; fi
if [[ $rng = *vireo* ]]; then tap_ok hwrng-vireo_rng; else tap_fail hwrng-vireo_rng "rng_current is '$rng'"; fi
if [[ $nic = ?*\ vireo_net ]]; then
	tap_ok ssh-over-vireo_net
	tap_diag "ssh came in on ${nic% *}, driven by vireo_net"
else
	tap_fail ssh-over-vireo_net "the NIC of the ssh session, and its driver: '$nic'"
fi
if [ "$balloon" = vireo_balloon ]; then tap_ok balloon-vireo_balloon; else tap_fail balloon-vireo_balloon "the balloon's driver is '$balloon'"; fi

# The kernel upgrade (scripts/mkguest): the image got the 6.12 kernel's
# package after DKMS and vireo (dpkg's log), and Debian's DKMS kernel hook
# built and installed vireo for it: dkms status, the running vireo_blk from
# updates/dkms. (The disk on vireo_blk under it: vda-on-vireo_blk.)
if [ "$KERNEL" = 6.12 ]; then
	# shellcheck disable=SC2016 # guest-side expansions
	up=$(guest_ssh 'r=$(uname -r)
		first() { grep -n " install $1:" /var/log/dpkg.log | head -n 1 | cut -d: -f1; }
		a=$(first dkms) b=$(first linux-image-$r-unsigned)
		[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] && o=after-dkms || o="dpkg.log lines dkms:$a kernel:$b"
		echo "$(dkms status vireo -k $r 2>/dev/null | sed -n "s/^vireo\/[^,]*, $r, [^:]*: //p") $(modinfo -F filename vireo_blk | sed "s|^/lib/modules/$r/||") $o"' </dev/null)
	# (dkms may compress the module: vireo_blk.ko.xz)
	if [[ $up =~ ^installed\ updates/dkms/vireo_blk\.ko(\.[a-z]+)?\ after-dkms$ ]]; then
		tap_ok dkms-kernel-upgrade
	else
		tap_fail dkms-kernel-upgrade "dkms status for the kernel, vireo_blk's file, kernel vs dkms install order: '$up' (want 'installed updates/dkms/vireo_blk.ko[.xz] after-dkms')"
	fi
else
	tap_skip dkms-kernel-upgrade "the image's 6.12 kernel is the upgrade; $KERNEL was there before vireo"
fi

# The initramfs: init-premount/vireo ran before the root was mounted (its
# lines come before initramfs-tools' "Mounting root file system"), and the
# image's initrd holds the modules and the choice.
log=$VIREO_LOGDIR/$TEST-boot.log
premount=$(tr -d '\r' <"$log" | sed -n '/Running \/scripts\/init-premount/,/Mounting root file system/p' | grep -c '^vireo: ')
# shellcheck disable=SC2016 # guest-side expansions
lsi=$(guest_ssh 'timeout 240 lsinitramfs /boot/initrd.img-$(uname -r) | grep -E "vireo_(ring|transport|blk|rng)\.ko|etc/modprobe.d/vireo.conf|vireo-takeover|59-vireo-storage" | sort | tr "\n" " "' </dev/null)
nlsi=$(echo "$lsi" | wc -w)
if [ "$premount" -ge 1 ] && [ "$nlsi" = 7 ]; then
	tap_ok initramfs-hook
else
	tap_fail initramfs-hook "init-premount vireo lines before the root mount: $premount; lsinitramfs: $lsi"
fi

# Autoload: loaded, and by nothing but udev's modalias lookup.
# shellcheck disable=SC2016 # guest-side expansions
auto=$(guest_ssh 'for m in vireo_transport vireo_blk vireo_rng vireo_net vireo_balloon virtio_blk virtio_net; do
		[ -d /sys/module/$m ] && echo -n "$m "; done
	echo -n "| "; grep -rhsE "^[^#]*vireo" /etc/modules /etc/modules-load.d /usr/lib/modules-load.d | tr "\n" " "
	echo -n "| "; modprobe -R "$(cat /sys/block/vda/device/modalias)"' </dev/null)
want='vireo_transport vireo_blk vireo_rng vireo_net vireo_balloon | | vireo_blk'
if [ "$auto" = "$want" ]; then
	tap_ok autoload
else
	tap_fail autoload "loaded | modules-load entries | modalias resolves to: '$auto' (want '$want')"
fi

# udev's persistent names for vireo's disk, as for the in-tree one.
# shellcheck disable=SC2016 # guest-side expansions
links=$(guest_ssh 'pci=$(basename "$(readlink -f /sys/block/vda/device/..)")
	for l in /dev/disk/by-path/pci-$pci /dev/disk/by-path/pci-$pci-part1 \
		/dev/disk/by-uuid/$(findmnt -n -o UUID /); do
		echo -n "${l#/dev/disk/}=$(basename "$(readlink -f "$l")") "; done' </dev/null)
if [[ $links = by-path/pci-*=vda\ by-path/pci-*-part1=vda1\ by-uuid/*=vda1\  ]]; then
	tap_ok by-path
else
	tap_fail by-path "links: $links"
fi

# Hotplug: a second disk through QMP; nobody in the guest does anything.
hp=$GUEST_WORK/hotplug.raw
truncate -s 64M "$hp"
if ! out=$("$VIREO_ROOT/scripts/qmp" "$qmp_sock" \
	"blockdev-add {\"driver\": \"raw\", \"node-name\": \"hp0\", \"file\": {\"driver\": \"file\", \"filename\": \"$hp\"}}" \
	'device_add {"driver": "virtio-blk-pci", "drive": "hp0", "id": "hpd0", "bus": "hp0", "serial": "vireo-hotplug"}' 2>&1); then
	tap_fail hotplug-vireo_blk "QMP: $out"
else
	# shellcheck disable=SC2016 # guest-side expansions
	got=$(guest_ssh 'for i in $(seq 60); do
			d=$(readlink -f /dev/disk/by-id/virtio-vireo-hotplug) && [ -b "$d" ] &&
				[ -e /sys/block/${d#/dev/}/device/driver ] && break
			sleep 1
		done
		d=${d#/dev/}
		echo "$d $(basename "$(readlink -f /sys/block/$d/device/driver)")"
		printf "vireo hotplug sector" | dd of=/dev/$d bs=512 seek=1 conv=sync oflag=direct status=none' </dev/null)
	sector=$(dd if="$hp" bs=512 skip=1 count=1 status=none | tr -d '\0')
	if [[ $got = vd[b-z]\ vireo_blk ]] && [ "$sector" = "vireo hotplug sector" ]; then
		tap_ok hotplug-vireo_blk
	else
		tap_fail hotplug-vireo_blk "by-id/virtio-vireo-hotplug -> disk, driver: '$got'; sector 1 of the host file: '$sector'"
	fi
fi

# The users' mount, and a build on it. (The guest side prints "mount
# SOURCE TYPE", "dev PCI-DRIVER VIRTIO-DRIVER TAG", "status NAME RC",
# "time NAME SECONDS", "sum NAME SHA256 PATH" lines.)
s=$SECONDS
# shellcheck disable=SC2016 # guest-side expansions
guest_ssh 'sh -s' >"$GUEST_WORK/fs.out" 2>"$GUEST_WORK/fs.err" <<'EOF' || true
mount -t virtiofs myfs /mnt || exit 1
echo "mount $(awk '$2 == "/mnt" { print $1, $3 }' /proc/mounts)"
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/device)" = 0x105a ] || continue
	p=none v=none t=none
	[ -e $d/driver ] && p=$(basename "$(readlink $d/driver)")
	for c in $d/*/driver; do [ -e "$c" ] && v=$(basename "$(readlink $c)") && t=$(cat ${c%/driver}/tag 2>/dev/null); done
	echo "dev $p $v $t"
done
mkdir -p /srv/vireo /run/fsbuild-tmpfs
mount -t tmpfs tmpfs /run/fsbuild-tmpfs
cp -a /mnt/src/. /run/fsbuild-tmpfs/
# build NAME DIR: make -j2 in DIR bind-mounted at /srv/vireo.
build() {
	mount --bind "$2" /srv/vireo
	t0=$(date +%s.%N)
	make -C /srv/vireo -j2 >/run/fsbuild-$1.log 2>&1
	echo "status $1 $?"
	echo "time $1 $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
	(cd /srv/vireo && find out -type f | LC_ALL=C sort | xargs -r sha256sum) | sed "s/^/sum $1 /"
	tail -n 3 /run/fsbuild-$1.log | sed "s/^/log $1 /"
	umount /srv/vireo
}
build virtiofs /mnt/src
build tmpfs /run/fsbuild-tmpfs
umount /run/fsbuild-tmpfs
if command -v git >/dev/null; then
	(cd /mnt/src && git init -q && git add -A && git -c user.name=vireo -c user.email=vireo@localhost \
		commit -q -m build && git fsck --strict) >/run/fsbuild-git.log 2>&1
	echo "status git $?"
else
	echo "status git none"
fi
sync -f /mnt
umount /mnt
echo "umount $?"
dmesg | grep -E 'vireo_fs|virtiofs' | tail -n 5 | sed 's/^/dmesg /'
EOF
tap_diag "fs: the mount, two builds and the checks took $((SECONDS - s)) s"
grep -E '^(mount|dev|status|time|umount|log|dmesg) ' "$GUEST_WORK/fs.out" | sed 's/^/# /'
[ ! -s "$GUEST_WORK/fs.err" ] || sed 's/^/# stderr: /' "$GUEST_WORK/fs.err"
fsl() { sed -n "s/^$1 //p" "$GUEST_WORK/fs.out"; }
mnt=$(fsl mount) dev=$(fsl dev)
if [ "$mnt" = "myfs vireofs" ] && [ "$dev" = "vireo_transport vireo_fs myfs" ]; then
	tap_ok fs-mount-virtiofs
else
	tap_fail fs-mount-virtiofs "/proc/mounts for /mnt: '$mnt' (want 'myfs vireofs'); the device's PCI driver, virtio driver, tag: '$dev' (want 'vireo_transport vireo_fs myfs')"
fi
sums_v=$(fsl 'sum virtiofs') sums_t=$(fsl 'sum tmpfs')
nout=$(echo "$sums_v" | grep -c ' out/' || true)
if [ "$(fsl 'status virtiofs')" = 0 ] && [ "$(fsl 'status tmpfs')" = 0 ] && [ "$nout" -ge 40 ]; then
	tap_ok fs-build
	tap_diag "make -j2 of $nout outputs: $(fsl 'time virtiofs') s on virtiofs, $(fsl 'time tmpfs') s on tmpfs"
else
	tap_fail fs-build "make's status on virtiofs '$(fsl 'status virtiofs')', on tmpfs '$(fsl 'status tmpfs')'; $nout outputs" "$(fsl log)"
fi
if [ -n "$sums_v" ] && [ "$sums_v" = "$sums_t" ]; then
	tap_ok fs-build-same-as-tmpfs
else
	tap_fail fs-build-same-as-tmpfs "sha256 of the outputs differ (virtiofs vs tmpfs)" \
		"$(diff <(echo "$sums_v") <(echo "$sums_t") | head -n 10)"
fi
# The host directory: the same bytes.
sums_h=$(cd "$fsdir/src" && find out -type f 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum)
if [ -n "$sums_v" ] && [ "$sums_h" = "$sums_v" ]; then
	tap_ok fs-host-bytes
else
	tap_fail fs-host-bytes "sha256 of the outputs in the host directory differ from the guest's" \
		"$(diff <(echo "$sums_v") <(echo "$sums_h") | head -n 10)"
fi
case $(fsl 'status git') in
0) tap_ok fs-git ;;
none) tap_skip fs-git "no git in the image (scripts/mkguest does not install it)" ;;
*) tap_fail fs-git "git init/add/commit/fsck --strict on the mount: status $(fsl 'status git')" ;;
esac

guest_shutdown_checked

# After the poweroff: virtiofsd exited by itself, status 0; the host
# directory holds the sources, the outputs and nothing else.
rc=$(guest_fs_wait_exit 10)
if [ "$rc" = 0 ]; then
	tap_ok virtiofsd-exit
else
	tap_fail virtiofsd-exit "virtiofsd's exit status 10 s after the poweroff: $rc" \
		"$(tail -n 5 "$VIREO_LOGDIR/$TEST-virtiofsd.log")"
	guest_fs_stop
fi
extra=$( (cd "$fsdir" && find . | LC_ALL=C sort) | comm -13 "$GUEST_WORK/fs-before.list" - |
	grep -vxE '\./src/out(/.*)?' || true)
extra+=$(echo "$sums_h" | cut -d' ' -f3- | grep -vxE 'out/.*\.(o|d|a)|out/ring-test' || true)
extra+=$(find "$fsdir" -name '.fuse_hidden*' -o -name '*.tmp' | head -n 10)
if [ -z "$extra" ] && [ -d "$fsdir/src/out" ]; then
	tap_ok fs-host-no-stray
else
	tap_fail fs-host-no-stray "names in the host directory that are neither sources nor outputs:" "$extra"
fi
exit 0
