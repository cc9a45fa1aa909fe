#!/usr/bin/env bash
# matrix: 6.1-pci-split
# timeout: 2700
#
# The Debian guest (scripts/mkguest) through a user's life with vireo, one
# boot per state, on one disk (an overlay of the cached image; the users'
# variant drive: if=none,aio=native,cache.direct=on + virtio-blk-pci).
# What a user types inside the guest, but that takes minutes under TCG
# (dkms build, update-initramfs, dracut), runs on the host in a chroot of
# that disk while QEMU is off (guest_host_mount). The image has vireo N
# from DKMS for both kernels (for 6.12 built by DKMS's kernel hook when the
# image's kernel upgrade installed it; guest-boot checks that), chosen for
# the types it drives (blk, net, rng, balloon, fs). Every boot checks which
# driver has the root disk, the NIC ssh comes in on, and the hwrng.
#
#  1. DKMS upgrade (6.1): a make dist tarball with PACKAGE_VERSION N+1 is
#     dkms-added and installed over N, update-initramfs -u. Booted: 6.1,
#     systemd running, / on /dev/vda1 driven by vireo_blk, every loaded
#     vireo module's /sys/module/*/version and every vireo module file of
#     the kernel (updates/dkms) at N+1, dkms status has N+1 installed and N
#     not. Then writes: dpkg -i of a small package and 64 MiB of files
#     (their sums kept on the host).
#  2. dracut (6.12): dracut-core installed, dracut -f for 6.12: lsinitrd
#     lists vireo's modules, the choice, vireo-takeover and the pre-trigger
#     hook. Booted (the files survived a poweroff): 6.12, the console shows
#     dracut's pre-trigger hook and its takeover line before the root is
#     mounted, vda on vireo_blk, the NIC on vireo_net, hwrng on vireo_rng;
#     32 MiB more files written (sums kept); then a systemctl reboot (a new
#     boot id) with initcall_blacklist=virtio_pci_driver_init on the kernel
#     command line (the other way to choose vireo on 6.12): no virtio-pci
#     driver, no takeover, every device on vireo through udev's aliases;
#     the files intact.
#  3. Uninstall: vireo-choose none, dkms remove of both versions (every
#     kernel), update-initramfs -u (6.1), dracut -f (6.12): no vireo file
#     on the disk (modules, modules.alias, vireo-files' list, the choice) or
#     in either initramfs. Booted on 6.1: vda on the in-tree virtio_blk, the
#     NIC on virtio_net, hwrng virtio_rng, no vireo module loaded, the files
#     intact.
#
# Then a clean poweroff, qemu-img check and fsck.ext4 -n of the disk.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=scripts/guest-lib.sh
. "$VIREO_ROOT/scripts/guest-lib.sh"
# shellcheck source=tests/host/guest-common.inc
. "$(dirname "$0")/guest-common.inc"

command -v qemu-storage-daemon >/dev/null ||
	{ tap_skip lifecycle "no qemu-storage-daemon (qemu-system-common) to mount the guest's disk"; exit 0; }
guest_image || exit 0
if [ "$GUEST_VIREO" != 1 ]; then
	tap_skip lifecycle "vireo is not installed in the image (GUEST_WITH_VIREO=0 or no make install in this tree)"
	exit 0
fi
r61=$(kernel_release 6.1)
r612=$(kernel_release 6.12)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$VIREO_ROOT/dkms.conf")
# N+1: the last number of N, plus one.
next=${ver%.*}.$((${ver##*.} + 1))
mods=$(sed -n 's/^obj-m *:= *\(vireo_[a-z_]*\)\.o$/\1/p' "$VIREO_ROOT"/drivers/*/Kbuild | sort | tr '\n' ' ')
nmods=$(echo "$mods" | wc -w)

# host_step NAME SCRIPT: SCRIPT in a chroot of the guest's disk; one TAP
# line NAME, the output in the log.
host_step() {
	local log=$VIREO_LOGDIR/$TEST-$1.log s=$SECONDS
	if guest_host_mount >"$log" 2>&1 && guest_chroot "$2" >>"$log" 2>&1; then
		tap_ok "$1"
		tap_diag "$1: $((SECONDS - s)) s on the host"
		return 0
	fi
	tap_fail "$1" "in the guest's chroot (log: $log)" "$(tail -n 15 "$log")"
	guest_host_umount
	return 1
}

# in_root SCRIPT: SCRIPT's output, run in the chroot (mounted by host_step).
in_root() { guest_chroot "$1" 2>&1; }

# check_files NAME: the guest's sums equal the host's, the package is there.
check_files() {
	local got
	got=$(guest_ssh 'cd /root/durable && sha256sum f* | sort -k 2' </dev/null)
	if [ "$got" = "$(sort -k 2 "$GUEST_WORK/sums")" ]; then
		tap_ok "$1-checksums"
	else
		tap_fail "$1-checksums" "$(diff <(echo "$got") <(sort -k 2 "$GUEST_WORK/sums") | head -n 10)"
	fi
	got=$(guest_ssh "dpkg-query -W -f='\${Status}' vireo-durable-test && echo && sha256sum </usr/share/vireo-durable/payload" </dev/null)
	if [ "$got" = "install ok installed
$pkgsum  -" ]; then
		tap_ok "$1-package"
	else
		tap_fail "$1-package" "$got"
	fi
}

# check_kernel NAME SERIES: the kernel GRUB booted.
check_kernel() {
	local got want
	got=$(guest_ssh 'uname -r' </dev/null)
	want=$(kernel_release "$2")
	if [ "$got" = "$want" ]; then tap_ok "$1-kernel"; else tap_fail "$1-kernel" "booted '$got', wanted $want"; fi
}

# check_drivers NAME BLK NET RNG: / on vda1, vda's driver BLK, the driver
# of the NIC this ssh session came in on NET, the hwrng RNG.
check_drivers() {
	local got
	# shellcheck disable=SC2016 # guest-side expansions
	got=$(guest_ssh 'set -- $SSH_CONNECTION; i=$(ip -o addr show to "$3" | cut -d" " -f2)
		echo "$(findmnt -n -o SOURCE /) $(basename "$(readlink -f /sys/block/vda/device/driver)") $(basename "$(readlink -f /sys/class/net/$i/device/driver)") $(cat /sys/class/misc/hw_random/rng_current)"' </dev/null)
	if [[ $got = "/dev/vda1 $2 $3 $4"* ]]; then
		tap_ok "$1-root-on-$2"
	else
		tap_fail "$1-root-on-$2" "root, vda's driver, the ssh NIC's driver, hwrng: '$got' (want '/dev/vda1 $2 $3 $4...')"
	fi
}

# --- 1. DKMS upgrade, N -> N+1 (6.1) ------------------------------------------

host_step dkms-upgrade "
	rm -rf /tmp/vireo-next && cp -r /usr/src/vireo /tmp/vireo-next
	sed -i 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$next\"/' /tmp/vireo-next/dkms.conf
	make -s -C /tmp/vireo-next dist
	tar -xzf /tmp/vireo-next/vireo-$next.tar.gz -C /usr/src
	rm -rf /tmp/vireo-next
	dkms add vireo/$next
	dkms install vireo/$next -k $r61
	update-initramfs -u -k $r61" || exit 0
# dkms status lines: vireo/VERSION, KERNEL, ARCH: STATE
st=$(in_root 'dkms status vireo' | sed -n "s|^vireo/\([^,]*\), $r61, [^:]*: \([a-z]*\).*|\1=\2|p" | sort | tr '\n' ' ')
guest_host_umount
if [ "$st" = "$ver=built $next=installed " ]; then
	tap_ok dkms-status-upgraded
else
	tap_fail dkms-status-upgraded "dkms status for $r61: '$st' (want '$ver=built $next=installed ')"
fi

# A small package made here: one file with known content.
pkg=$GUEST_WORK/pkg
mkdir -p "$pkg/DEBIAN" "$pkg/usr/share/vireo-durable"
cat >"$pkg/DEBIAN/control" <<'EOF'
Package: vireo-durable-test
Version: 1.0
Architecture: all
Maintainer: vireo tests <root@localhost>
Description: vireo's guest-lifecycle test package
EOF
head -c 100000 /dev/urandom >"$pkg/usr/share/vireo-durable/payload"
pkgsum=$(sha256sum <"$pkg/usr/share/vireo-durable/payload" | cut -d' ' -f1)
dpkg-deb -b -Zgzip "$pkg" "$GUEST_WORK/vireo-durable-test.deb" >/dev/null

KERNEL=6.1 guest_boot_checked upgraded pci || exit 0
check_kernel upgraded 6.1
state=$(guest_ssh 'timeout 300 systemctl is-system-running --wait' </dev/null) || true
failed=$(guest_ssh 'systemctl --failed --no-legend --plain | cut -d" " -f1' </dev/null | tr '\n' ' ')
if [ "$state" = running ] || { [ "$state" = degraded ] && [[ $failed != *vireo* ]]; }; then
	tap_ok upgraded-system-running
	[ "$state" = running ] || tap_diag "degraded; failed units (none of vireo's): $failed"
else
	tap_fail upgraded-system-running "systemctl is-system-running: '$state'; failed units: $failed"
fi
check_drivers upgraded vireo_blk vireo_net vireo_rng
# What runs, and what is on the disk for this kernel: N+1 only.
# shellcheck disable=SC2016 # guest-side expansions
got=$(guest_ssh 'for m in /sys/module/vireo_*; do echo "${m##*/}=$(cat $m/version)"; done | sort | tr "\n" " "
	echo "|"
	for f in $(find /lib/modules/$(uname -r) -name "vireo_*.ko*" | sort); do
		echo "${f#/lib/modules/*/}=$(modinfo -F version $f)"; done | tr "\n" " "' </dev/null)
loaded=${got%%|*} files=${got#*|}
bad=
for m in vireo_ring vireo_transport vireo_blk vireo_rng vireo_net; do
	[[ " $loaded" = *" $m=$next "* ]] || bad+=" $m not loaded at $next;"
done
[[ $loaded != *"=$ver "* ]] || bad+=" a module of version $ver loaded;"
for m in $mods; do
	[[ $files = *"updates/dkms/$m.ko"*"=$next "* ]] || bad+=" no updates/dkms/$m.ko at $next;"
done
[ "$(echo "$files" | wc -w)" = "$nmods" ] || bad+=" $nmods module files expected;"
if [ -z "$bad" ]; then
	tap_ok upgraded-version
else
	tap_fail upgraded-version "$bad loaded: $loaded; files: $files"
fi

if guest_ssh 'cat >/tmp/p.deb && dpkg -i /tmp/p.deb' <"$GUEST_WORK/vireo-durable-test.deb" >/dev/null; then
	tap_ok dpkg-i
else
	tap_fail dpkg-i "dpkg -i of a small package failed in the guest"
fi
# 64 files of 1 MiB from the host's urandom, written through ssh; sums here.
mkdir -p "$GUEST_WORK/files"
for i in $(seq 64); do head -c 1048576 /dev/urandom >"$GUEST_WORK/files/f$i"; done
(cd "$GUEST_WORK/files" && sha256sum f*) >"$GUEST_WORK/sums"
if tar -C "$GUEST_WORK/files" -cf - . | guest_ssh 'mkdir -p /root/durable && tar -C /root/durable -xf - && sync'; then
	tap_ok write-64MiB
else
	tap_fail write-64MiB "writing the files through ssh failed"
fi
rm -rf "$GUEST_WORK/files"
check_files written
if guest_poweroff 300; then tap_ok upgraded-poweroff; else tap_fail upgraded-poweroff "QEMU still ran 300 s after systemctl poweroff"; fi

# --- 2. dracut (6.12) ------------------------------------------------------------

# (The kernel command lines of grub.cfg get GRUB's \$vireo_extra, empty
# unless grubenv sets it: the reboot below boots with initcall_blacklist=
# without a second update-grub under TCG. load_env sets it at the top level;
# a menuentry sees only exported variables, hence the export before the
# first one.)
host_step dracut "
	apt-get install -y -q --no-install-recommends dracut-core
	dracut -f --no-hostonly /boot/initrd.img-$r612 $r612
	sed -i 's/^\([[:space:]]*linux[[:space:]].*\)\$/\1 \$vireo_extra/' /boot/grub/grub.cfg
	sed -i '0,/^menuentry /s//export vireo_extra\nmenuentry /' /boot/grub/grub.cfg
	grep -q '^export vireo_extra\$' /boot/grub/grub.cfg
	grep -q '^[[:space:]]*linux[[:space:]].*/vmlinuz-$r612 .* \$vireo_extra\$' /boot/grub/grub.cfg" || exit 0
lsi=$(in_root "lsinitrd /boot/initrd.img-$r612" |
	grep -oE 'vireo_(ring|transport|blk|rng)\.ko[^ ]*|etc/modprobe\.d/vireo\.conf|usr/lib/vireo/vireo-takeover|usr/sbin/vireo-bind|pre-trigger/[0-9]*-vireo-takeover\.sh|59-vireo-storage\.rules' |
	sort -u | tr '\n' ' ')
guest_host_umount
if [ "$(echo "$lsi" | wc -w)" = 9 ]; then
	tap_ok dracut-initramfs
else
	tap_fail dracut-initramfs "lsinitrd lists: $lsi (want the four modules, the choice, vireo-takeover, vireo-bind, the pre-trigger hook, the udev rule)"
fi

KERNEL=6.12 guest_boot_checked dracut pci || exit 0
check_kernel dracut 6.12
# dracut's pre-trigger hook moved the disk before the root was mounted.
log=$VIREO_LOGDIR/$TEST-dracut.log
early=$(tr -d '\r' <"$log" | sed -n '/dracut pre-trigger hook/,/initrd-switch-root.target/p' | grep -c 'vireo: .*virtio-pci -> vireo_transport')
if [ "$early" -ge 1 ]; then
	tap_ok dracut-takeover
else
	tap_fail dracut-takeover "no 'vireo: ... virtio-pci -> vireo_transport' line between dracut's pre-trigger hook and the switch to the root (console: $log)"
fi
check_drivers dracut vireo_blk vireo_net vireo_rng
check_files reboot-1
# Writes on 6.12 too (vda on vireo_blk): 32 files of 1 MiB more, checked
# after the reboot below and on 6.1 with the in-tree driver.
mkdir -p "$GUEST_WORK/files"
for i in $(seq 65 96); do head -c 1048576 /dev/urandom >"$GUEST_WORK/files/f$i"; done
(cd "$GUEST_WORK/files" && sha256sum f*) >>"$GUEST_WORK/sums"
if tar -C "$GUEST_WORK/files" -cf - . | guest_ssh 'tar -C /root/durable -xf - && sync'; then
	tap_ok write-32MiB-6.12
else
	tap_fail write-32MiB-6.12 "writing the files through ssh failed"
fi
rm -rf "$GUEST_WORK/files"
# The reboot: with initcall_blacklist=virtio_pci_driver_init on the kernel
# command line (docs/install.md: the other way to choose vireo on 6.12;
# grub-editenv stands for GRUB_CMDLINE_LINUX + update-grub).
old=$(guest_ssh 'cat /proc/sys/kernel/random/boot_id' </dev/null)
# (This boot's kernel log has the takeover lines the next must not have.)
tk0=$(guest_ssh 'journalctl -b -k -o cat | grep -c "virtio-pci -> vireo_transport"' </dev/null) || true
guest_ssh 'grub-editenv /boot/grub/grubenv set vireo_extra=initcall_blacklist=virtio_pci_driver_init && systemctl reboot' </dev/null >/dev/null 2>&1 || true
# Until sshd of the old boot has gone, then the new boot answers.
end=$((SECONDS + 900)) new=$old
while [ $SECONDS -lt $end ] && kill -0 "$GUEST_PID" 2>/dev/null; do
	new=$(guest_ssh 'cat /proc/sys/kernel/random/boot_id' </dev/null 2>/dev/null) || new=
	[ -z "$new" ] || [ "$new" = "$old" ] || break
	sleep 3
done
if [ -n "$new" ] && [ "$new" != "$old" ]; then
	tap_ok dracut-reboot
else
	tap_fail dracut-reboot "no new boot answered on ssh (console: $GUEST_CONSOLE)"
	guest_kill
	exit 0
fi
check_drivers dracut-rebooted vireo_blk vireo_net vireo_rng
# No virtio-pci at all now, so nothing was taken over: udev loaded
# vireo_transport by alias, for every device.
# shellcheck disable=SC2016 # guest-side expansions
got=$(guest_ssh 'grep -o "initcall_blacklist=[^ ]*" /proc/cmdline
	[ -d /sys/bus/pci/drivers/virtio-pci ] && echo virtio-pci-registered
	echo "takeovers=$(journalctl -b -k -o cat | grep -c "virtio-pci -> vireo_transport")"
	echo "balloon=$('"$GUEST_BALLOON_DRIVER"')"
	grub-editenv /boot/grub/grubenv unset vireo_extra' </dev/null | tr '\n' ' ')
if [ "$got" = "initcall_blacklist=virtio_pci_driver_init takeovers=0 balloon=vireo_balloon " ] && [ "${tk0:-0}" -ge 1 ]; then
	tap_ok initcall-blacklist
else
	tap_fail initcall-blacklist "cmdline, virtio-pci, takeover lines, balloon: '$got' (want 'initcall_blacklist=virtio_pci_driver_init takeovers=0 balloon=vireo_balloon '); takeover lines in the boot before: '$tk0' (want >= 1)"
fi
check_files reboot-2
if guest_poweroff 300; then tap_ok dracut-poweroff; else tap_fail dracut-poweroff "QEMU still ran 300 s after systemctl poweroff"; fi

# --- 3. uninstall ------------------------------------------------------------------

host_step uninstall "
	vireo-choose none
	dkms remove vireo/$ver --all
	dkms remove vireo/$next --all
	update-initramfs -u -k $r61
	dracut -f --no-hostonly /boot/initrd.img-$r612 $r612" || exit 0
# shellcheck disable=SC2016 # chroot-side expansions
left=$(in_root 'find /lib/modules /usr/lib/dracut/modules.d -name "*vireo*"
	grep -l vireo /lib/modules/*/modules.alias /lib/modules/*/modules.dep || true
	for f in '"$("$VIREO_ROOT/packaging/vireo-files" list | tr '\n' ' ')"' /etc/modprobe.d/vireo.conf; do
		[ ! -e "$f" ] || echo "$f"; done
	dkms status vireo
	lsinitramfs /boot/initrd.img-'"$r61"' | grep vireo | sed "s|^|initrd-6.1: |"
	lsinitrd /boot/initrd.img-'"$r612"' | grep vireo | sed "s|^|initrd-6.12: |"' | tr '\n' ' ')
guest_host_umount
if [ -z "${left// /}" ]; then
	tap_ok uninstall-leaves-nothing
else
	tap_fail uninstall-leaves-nothing "left: $left"
fi

KERNEL=6.1 guest_boot_checked uninstalled pci || exit 0
check_kernel uninstalled 6.1
check_drivers uninstalled virtio_blk virtio_net virtio_rng
# shellcheck disable=SC2016 # guest-side expansions
got=$(guest_ssh 'ls -d /sys/module/vireo_* 2>/dev/null; modprobe -R "$(cat /sys/block/vda/device/modalias)"' </dev/null | tr '\n' ' ')
if [ "$got" = "virtio_blk " ]; then
	tap_ok uninstalled-no-vireo
else
	tap_fail uninstalled-no-vireo "vireo modules loaded, and what vda's modalias resolves to: '$got' (want 'virtio_blk ')"
fi
check_files reboot-3

guest_shutdown_checked
exit 0
