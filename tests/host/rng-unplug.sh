#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.12-pci-packed 6.12-pci-legacy-split debug-pci-split
#
# Hot-unplug (QMP device_del) of an entropy device while a reader is blocked
# in read(): the reader wakes with an error, the hwrng and the vireo device
# go away, and the guest carries on (no warning, no hang).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# 64 bytes a minute: after the first 64 bytes the reader blocks.
# shellcheck disable=SC2016 # guest-side expansions
boot_bg --hotplug --dev rng,max-bytes=64,period=60000,id=rng0 --cmd '
	hwrng-read 1000000 >/tmp/u &
	reader=$!
	sleep 2
	check reader-blocked kill -0 $reader
	echo READER-BLOCKED
	wait_for 90 sh -c "! kill -0 $reader"
	check reader-woken sh -c "! kill -0 $reader"
	cat /tmp/u
	check reader-got-error sh -c "grep -q \"err=E\" /tmp/u && ! grep -q bytes=1000000 /tmp/u"
	check vireo-device-gone test -z "$(vireo_devices 0x0004)"
	check hwrng-gone sh -c "! grep -q vireo_rng /sys/class/misc/hw_random/rng_available"
	check hwrng-read-fails sh -c "hwrng-read 16 | grep -q \"err=E\""
	check unload vireo_unload'

if guest_console_wait READER-BLOCKED 180; then
	if qmp 'device_del {"id": "rng0"}' --wait-event DEVICE_DELETED --data device=rng0 --timeout 60 >/dev/null; then
		tap_ok qmp-device-deleted
	else
		tap_fail qmp-device-deleted "QEMU never reported DEVICE_DELETED for rng0"
	fi
else
	tap_fail reader-blocked-marker "the guest never reported a blocked reader (log: $GUEST_LOG)"
	stop_guest
fi
wait_guest 300
