#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.12-pci-split
#
# Interface choice on PCI. A transitional entropy device (QEMU's default:
# legacy and modern, device id 0x1005) at 00:05.0 is driven through its
# modern interface (VIRTIO_F_VERSION_1 negotiated); with force_legacy=1
# through its legacy one (no VERSION_1), and it still delivers. A
# modern-only device (0x1044) at 00:06.0 stays modern under force_legacy,
# with a log line saying so.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck disable=SC2016 # guest-side expansions
boot --qemu -device --qemu virtio-rng-pci,disable-legacy=off,disable-modern=off,addr=0x5 \
	--dev rng,addr=0x6 --cmd '
	t=0000:00:05.0 m=0000:00:06.0
	dev_of() { ls -d /sys/bus/pci/devices/$1/vireo* 2>/dev/null | head -n 1; }
	# Bit 32 (VERSION_1) is character 33 of the features string.
	v1() { cut -c33 $(dev_of $1)/features; }
	reads() { for r in $(tr " " "\n" </sys/class/misc/hw_random/rng_available | grep vireo_rng); do
		echo $r >/sys/class/misc/hw_random/rng_current
		hwrng-read 1024 | grep -q "^bytes=1024 err=none" || return 1
	done; }

	check_eq transitional-id 0x1005 cat /sys/bus/pci/devices/$t/device
	check_eq default/transitional pci-modern cat $(dev_of $t)/transport
	check_eq default/version-1 1 v1 $t
	check_eq default/modern-only pci-modern cat $(dev_of $m)/transport
	check default/reads reads

	check unload sh -c "rmmod vireo_rng && rmmod vireo_transport"
	dmesg -c >/dev/null
	check force-legacy-load insmod /vireo/vireo_transport.ko force_legacy=1
	check rng-load insmod /vireo/vireo_rng.ko
	check_eq forced/transitional pci-legacy cat $(dev_of $t)/transport
	check_eq forced/no-version-1 0 v1 $t
	check_eq forced/modern-only pci-modern cat $(dev_of $m)/transport
	check forced/modern-only-logged sh -c "dmesg | grep -q \"$m: force_legacy: a modern-only device has no legacy interface\""
	check forced/reads reads'
