#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.12-pci-legacy-split 6.1-mmio2-split
#
# scripts/vireo-bind between the in-tree virtio stack and vireo, with two
# entropy devices and both stacks loaded (on 6.12 the in-tree virtio-pci is
# built in and holds the PCI devices from boot; on 6.1, and for MMIO,
# vireo_transport gets them first):
#  - "all" puts every device on vireo; --back one device returns it to the
#    in-tree driver while the other stays: both hwrngs deliver side by side;
#  - --except keeps a device where it is; a bad name fails the run (exit 1);
#  - after vireo_transport is unloaded, --back still returns the devices
#    it had pinned with driver_override.
# The debug kernel has no in-tree virtio stack: not run there (and skipped
# wherever the in-tree driver cannot be loaded).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck disable=SC2016 # guest-side expansions
boot --takeover none --dev rng --dev rng --cmd '
	case $VIREO_TRANSPORT in
	pci*)
		ours=vireo_transport theirs=virtio-pci mod=virtio_pci
		devs=$(for p in /sys/bus/pci/devices/*; do
			[ "$(cat $p/vendor)" = 0x1af4 ] && echo ${p##*/}; done)
		sysdir=/sys/bus/pci/devices ;;
	*)
		ours=vireo_mmio theirs=virtio-mmio mod=virtio_mmio
		devs=$(ls /sys/bus/platform/devices | grep ^LNRO0005:)
		sysdir=/sys/bus/platform/devices ;;
	esac
	modprobe $mod 2>/dev/null
	modprobe virtio_rng 2>/dev/null
	if [ ! -d ${sysdir%/devices}/drivers/$theirs ]; then
		skip in-tree-stack "no $theirs driver in this kernel"
		exit 0
	fi
	set -- $devs
	d1=$1 d2=$2
	echo "devices: $d1 $d2"
	drv() { l=$(readlink $sysdir/$1/driver); echo ${l##*/}; }
	avail=/sys/class/misc/hw_random/rng_available
	reads() { echo $1 >/sys/class/misc/hw_random/rng_current &&
		hwrng-read 1024 | grep -q "^bytes=1024 err=none"; }

	check two-devices test -n "$d2"
	check bind-all vireo-bind all
	check_eq all/$d1 $ours drv $d1
	check_eq all/$d2 $ours drv $d2
	check_eq all/vireo-devices 2 sh -c "ls /sys/bus/vireo/devices | wc -l"

	check back-one vireo-bind --back $d2
	check_eq back-one/$d1 $ours drv $d1
	check_eq back-one/$d2 $theirs drv $d2
	check coexist/both-listed sh -c "grep -q vireo_rng $avail && grep -q virtio_rng $avail"
	check coexist/vireo-reads reads $(tr " " "\n" <$avail | grep vireo_rng)
	check coexist/in-tree-reads reads $(tr " " "\n" <$avail | grep virtio_rng)

	check except vireo-bind --except $d2 all
	check_eq except/$d2 $theirs drv $d2
	check bad-name-fails sh -c "! vireo-bind no-such-device"

	check back-all vireo-bind --back all
	check_eq back-all/$d1 $theirs drv $d1
	check_eq back-all/vireo-devices 0 sh -c "ls /sys/bus/vireo/devices | wc -l"

	check rebind-all vireo-bind all
	check rebind/vireo-reads reads $(tr " " "\n" <$avail | grep vireo_rng | head -n 1)
	check unload vireo_unload
	check_eq unloaded/$d1 "" drv $d1
	check back-after-unload vireo-bind --back all
	check_eq back-after-unload/$d1 $theirs drv $d1
	check_eq back-after-unload/$d2 $theirs drv $d2
	check to-vireo-without-module-fails sh -c "! vireo-bind all"'
