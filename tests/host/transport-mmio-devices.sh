#!/usr/bin/env bash
# matrix: 6.1-mmio1-split 6.12-mmio2-split
#
# The mmio_devices= parameter. With ACPI off, QEMU's microvm describes its
# virtio-mmio devices only on the kernel command line
# (virtio_mmio.device=SIZE@BASE:IRQ), so vireo_transport finds nothing by
# itself; given the same list as mmio_devices= it creates the devices, binds
# them and the entropy device delivers. Malformed lists fail the load with
# EINVAL and a log line naming the entry and the reason; nothing is left
# loaded or created.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck disable=SC2016 # guest-side expansions
boot --qemu -machine --qemu acpi=off --dev rng --cmd '
	spec=$(tr " " "\n" </proc/cmdline | sed -n "s/^virtio_mmio\.device=//p" | paste -s -d, -)
	echo "virtio-mmio devices on the command line: $spec"
	check cmdline-lists-devices test -n "$spec"
	check no-devices-without-param test -z "$(vireo_devices)"

	check unload-plain rmmod vireo_transport
	check load-with-param insmod /vireo/vireo_transport.ko mmio_devices=$spec
	check_eq param-readback "$spec" cat /sys/module/vireo_transport/parameters/mmio_devices
	check rng-device wait_for 10 test -n "$(vireo_devices 0x0004)"
	d=$(vireo_devices 0x0004 | head -n 1)
	want=mmio-v${VIREO_TRANSPORT#mmio}
	check_eq transport "$want" cat $d/transport
	check bound-to-vireo_mmio sh -c "readlink $d/../driver | grep -q /vireo_mmio\$"
	check rng-delivers sh -c "hwrng-read 4096 | grep -q \"^bytes=4096 err=none\""
	check unload-param rmmod vireo_transport
	check devices-gone sh -c "! ls /sys/bus/platform/devices | grep -q ^vireo_mmio"

	n=0
	for bad in "512@0xfeb00e00" "junk" "16@0x10000000:5" "512@0x10000000:0" \
		   "512@0x10000001:5" "512@0x10000000:5," "1K@0x10000000:5,512@0x10000200:6" \
		   "512@0xffffffffffffff00:5" "4K@256M:irq"; do
		n=$((n + 1))
		dmesg -c >/dev/null
		check bad-$n-refused sh -c "! insmod /vireo/vireo_transport.ko mmio_devices=$bad 2>/dev/null"
		check bad-$n-logged sh -c "dmesg | grep -q \"vireo_transport: mmio_devices: entry\""
	done
	dmesg | grep "mmio_devices: entry" | sort -u
	check nothing-loaded sh -c "! grep -q ^vireo_transport /proc/modules"
	check nothing-created sh -c "! ls /sys/bus/platform/devices | grep -q ^vireo_mmio"'
