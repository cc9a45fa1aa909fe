#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.12-pci-packed 6.1-pci-legacy-split 6.12-mmio1-split 6.1-mmio2-packed debug-pci-split
#
# Suspend and resume with an entropy device: the PM core runs vireo's
# callbacks (vireo_device_freeze/restore behind the transport's sleep ops,
# the same for suspend and hibernation) through the device stage
# (pm_test=devices, so the guest does not really sleep); every callback
# returns 0, the queues are set up anew, the device comes back DRIVER_OK and
# /dev/hwrng keeps delivering. Not hibernation: its pm_test wait is a 5 s
# busy loop that trips the soft-lockup watchdog under a loaded TCG host.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck disable=SC2016 # guest-side expansions
boot --dev rng --cmd '
	d=$(vireo_devices 0x0004)
	before=$(cat $d/status)
	echo devices >/sys/power/pm_test
	for state in freeze; do
		grep -qw $state /sys/power/state || { skip $state-cycle "not in /sys/power/state"; continue; }
		dmesg -c >/dev/null
		check $state-cycle sh -c "echo $state >/sys/power/state"
		dmesg >/tmp/pm
		# Restore set the queues up again (the transport logs each setup).
		check $state-queues-recreated grep -q "vireo0: .*queues)" /tmp/pm
		check $state-callbacks-ok sh -c "! grep -E \"vireo0.*returned -|failed to (suspend|resume|freeze|restore|thaw)\" /tmp/pm"
		check_eq $state-driver-ok "$before" cat $d/status
		check $state-hwrng-reads sh -c "hwrng-read 8192 | grep -q \"^bytes=8192 err=none\""
	done
	echo none >/sys/power/pm_test'
