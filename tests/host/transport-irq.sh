#!/usr/bin/env bash
# matrix: pci-split pci-legacy-split
#
# The PCI transport's interrupt set-ups, one two-queue disk each:
#   00:05.0  default MSI-X table        -> msix-per-vq (config + 2 queues)
#   00:06.0  vectors=2                  -> msix-shared (config + 1 for both)
#   00:07.0  vectors=0 (no MSI-X)       -> intx
#   00:08.0  vectors=1 (too few)        -> intx
# Each shows its mode in /sys/bus/pci/devices/<bdf>/vireo_irq_mode and in
# the kernel log, reads its size from config space (on the legacy interface
# the config moves by 4 bytes when MSI-X is on) and moves data, which needs
# its interrupts to arrive.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck disable=SC2016 # guest-side expansions
boot --dev blk,num-queues=2,addr=0x5 \
	--dev blk,num-queues=2,vectors=2,addr=0x6 \
	--dev blk,num-queues=2,vectors=0,addr=0x7 \
	--dev blk,num-queues=2,vectors=1,addr=0x8 --cmd '
	dmesg >/tmp/log
	dd if=/dev/urandom of=/tmp/pattern bs=64k count=16 2>/dev/null
	for spec in 05:msix-per-vq:"MSI-X 3 vectors (config + 2 queues)" \
		    06:msix-shared:"MSI-X 2 vectors (config + 1 shared by 2 queues)" \
		    07:intx:"INTx irq" \
		    08:intx:"INTx irq"; do
		slot=${spec%%:*}
		rest=${spec#*:}
		mode=${rest%%:*}
		line=${rest#*:}
		bdf=0000:00:$slot.0
		check_eq $slot/irq-mode $mode cat /sys/bus/pci/devices/$bdf/vireo_irq_mode
		check $slot/log-line grep -q "$bdf, $line" /tmp/log

		disk=$(ls /sys/bus/pci/devices/$bdf/vireo*/block 2>/dev/null | head -n 1)
		if [ -z "$disk" ]; then
			fail $slot/disk "no block device under $bdf"
			continue
		fi
		# 64 MiB scratch disk: capacity comes from config space.
		check_eq $slot/config-capacity 131072 cat /sys/block/$disk/size
		dd if=/tmp/pattern of=/dev/$disk bs=64k count=16 conv=fsync 2>/dev/null
		echo 3 >/proc/sys/vm/drop_caches
		dd if=/dev/$disk of=/tmp/back bs=64k count=16 2>/dev/null
		check $slot/data-round-trip cmp -s /tmp/pattern /tmp/back
	done
	check unload vireo_unload
	check pci-mode-attr-gone sh -c "! ls /sys/bus/pci/devices/*/vireo_irq_mode 2>/dev/null | grep -q ."'
