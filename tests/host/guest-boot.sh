#!/usr/bin/env bash
# matrix: 6.12-pci-split
#
# The Debian distro guest (scripts/mkguest) boots from its qcow2 disk through
# its own GRUB, the cell's kernel and its initramfs, with the users' QEMU
# command line (-drive if=virtio, rng, balloon, user net + ssh): systemd
# reaches "running" (or "degraded" with no vireo unit among the failed), /
# is /dev/vda1, vireo_blk drives vda and vireo_rng is the hwrng; after a
# clean poweroff the host's qemu-img check and fsck.ext4 -n find the disk
# clean. (The transport and ring of the cell do not apply: the guest has
# QEMU's default devices.) Without vireo installable in this tree (no
# `make install`), the image has no vireo and the vireo checks are skipped.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=scripts/guest-lib.sh
. "$VIREO_ROOT/scripts/guest-lib.sh"
# shellcheck source=tests/host/guest-common.inc
. "$(dirname "$0")/guest-common.inc"

guest_image || exit 0
guest_boot_checked boot || exit 0

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
if [ "$GUEST_VIREO" = 1 ]; then
	if [ "$blk" = vireo_blk ]; then tap_ok vda-on-vireo_blk; else tap_fail vda-on-vireo_blk "vda's driver is '$blk'"; fi
	if [[ $rng = *vireo* ]]; then tap_ok hwrng-vireo_rng; else tap_fail hwrng-vireo_rng "rng_current is '$rng'"; fi
else
	tap_skip vda-on-vireo_blk "vireo not installed in the image (no make install in this tree); vda is on $blk"
	tap_skip hwrng-vireo_rng "vireo not installed in the image; hwrng is $rng"
fi

guest_shutdown_checked
exit 0
