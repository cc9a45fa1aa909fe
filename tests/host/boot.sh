#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.12-mmio1-split
#
# (The harness's own smoke test; tests/host/rng.sh does the same checks on
# every cell.) Boot the cell with one entropy device: vireo's modules load, the vireo bus
# lists the device (virtio id 4) bound to a driver, and the modules unload.
#
# HARNESS_SELFTEST=1 runs the same boot with the in-tree drivers instead of
# vireo's (to test the harness itself while the modules are not there).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

if [ "${HARNESS_SELFTEST:-0}" = 1 ]; then
	boot --no-vireo --takeover none --dev rng --cmd '
		if ! modprobe virtio_rng; then skip intree-rng "no virtio_rng module"; exit 0; fi
		modprobe -a virtio_pci virtio_mmio
		check intree-rng wait_for 10 grep -q virtio_rng /sys/class/misc/hw_random/rng_available
		check rngtest sh -c "/usr/bin/rngtest -c 2 </dev/hwrng"'
	exit 0
fi

# shellcheck disable=SC2016 # guest-side expansions
boot --dev rng --cmd '
	check modules-loaded test "$VIREO_LOAD_FAILED" = 0
	check lsmod-vireo_ring grep -q "^vireo_ring " /proc/modules
	check lsmod-vireo_transport grep -q "^vireo_transport " /proc/modules
	check rng-device test -n "$(vireo_devices 0x0004)"
	check rng-device-bound test -e "$(vireo_devices 0x0004 | head -n 1)/driver"
	check unload vireo_unload'
