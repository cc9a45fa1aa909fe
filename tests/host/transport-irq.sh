#!/usr/bin/env bash
# matrix: pci-split pci-legacy-split !debug
#
# The PCI transport's interrupt set-ups, one two-queue disk each, in a
# two-CPU guest:
#   00:05.0  default MSI-X table        -> msix-per-vq (config + 2 queues)
#   00:06.0  vectors=2                  -> msix-shared (config + 1 for both)
#   00:07.0  vectors=0 (no MSI-X)       -> intx
#   00:08.0  vectors=1 (too few)        -> intx
# Each shows its mode in /sys/bus/pci/devices/<bdf>/vireo_irq_mode and in
# the kernel log, reads its size from config space (on the legacy interface
# the config moves by 4 bytes when MSI-X is on) and moves data.
#
# Every vector is shown to deliver, from /proc/interrupts: on 00:05.0 each
# request queue gets O_DIRECT reads from the CPU blk-mq maps to it (taskset),
# and its own vector must count them on that CPU; blk-mq's map comes from
# vireo_vq_get_affinity(), so each queue's CPUs (mq/N/cpu_list) must be its
# vector's /proc/irq/N/smp_affinity_list. Then QMP block_resize: the config
# vector counts the config change and the new size shows. The shared vector
# and the INTx lines count the other disks' traffic. Steering a queue's
# interrupt (debugfs set_affinity, vireo_vq_set_affinity()) is refused
# with -EBUSY on the spread vectors and -EOPNOTSUPP on the shared vector
# and INTx, logged once per device.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

rm -f "$VIREO_LOGDIR/$TEST-main.log"
# shellcheck disable=SC2016 # guest-side expansions
boot_bg --name main --timeout 600 --smp 2 \
	--dev blk,num-queues=2,addr=0x5 \
	--dev blk,num-queues=2,vectors=2,addr=0x6 \
	--dev blk,num-queues=2,vectors=0,addr=0x7 \
	--dev blk,num-queues=2,vectors=1,addr=0x8 --cmd '
	dmesg >/tmp/log
	dd if=/dev/urandom of=/tmp/pattern bs=64k count=16 2>/dev/null
	# irq_nr NAME, irq_count NAME [CPU]: the /proc/interrupts line with an
	# action NAME (a shared line lists several, comma-separated): its
	# number; its count on CPU (default: all CPUs).
	irq_line() {
		awk -v n="$1" -v c="${2:--1}" -v what="$3" "{
			hit = 0
			for (i = 2; i <= NF; i++) if (\$i == n || \$i == n \",\") hit = 1
			if (!hit) next
			if (what == \"nr\") { sub(\":\", \"\", \$1); print \$1; exit }
			s = 0
			for (i = 2; i <= NF && \$i ~ /^[0-9]+\$/; i++)
				if (c < 0 || i - 2 == c) s += \$i
			print s; exit }" /proc/interrupts
	}
	irq_nr() { irq_line "$1" -1 nr; }
	irq_count() { irq_line "$1" "${2:--1}" count; }
	# read_on CPU DISK: O_DIRECT reads submitted from CPU.
	read_on() { taskset -c "$1" dd if=/dev/$2 of=/dev/null bs=4k count=64 iflag=direct 2>/dev/null; }
	# grew NAME BEFORE AFTER: a check that a count went up.
	grew() { if [ "$3" -gt "$2" ]; then ok "$1"; else fail "$1" "count $2 -> $3"; fi; }

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

		vd=$(ls -d /sys/bus/pci/devices/$bdf/vireo* 2>/dev/null | head -n 1)
		vd=${vd##*/}
		disk=$(ls /sys/bus/pci/devices/$bdf/$vd/block 2>/dev/null | head -n 1)
		if [ -z "$disk" ]; then
			fail $slot/disk "no block device under $bdf"
			continue
		fi
		echo "$disk" >/tmp/disk-$slot
		# 64 MiB scratch disk: capacity comes from config space.
		check_eq $slot/config-capacity 131072 cat /sys/block/$disk/size
		case $mode in
		msix-shared) vec=$vd-virtqueues ;;
		intx) vec=$vd ;;
		*) vec= ;;
		esac
		[ -z "$vec" ] || before=$(irq_count $vec)
		dd if=/tmp/pattern of=/dev/$disk bs=64k count=16 conv=fsync 2>/dev/null
		echo 3 >/proc/sys/vm/drop_caches
		dd if=/dev/$disk of=/tmp/back bs=64k count=16 2>/dev/null
		check $slot/data-round-trip cmp -s /tmp/pattern /tmp/back
		[ -z "$vec" ] || grew $slot/$mode-vector-counted "$before" "$(irq_count $vec)"

		# vireo_vq_set_affinity() as a driver calls it (debugfs
		# set_affinity): the kernel manages vireo_blk spread vectors
		# (-EBUSY), a shared vector or INTx has none of its own
		# (-EOPNOTSUPP); the writer gets the error each time, the log
		# says it once per device.
		aff=/sys/kernel/debug/vireo/$vd/set_affinity
		case $mode in
		msix-per-vq) err=-16 msg=busy ;;
		*) err=-95 msg="not supported" ;;
		esac
		for try in 1 2; do
			if echo "0 0" >$aff 2>/tmp/aff.err; then
				fail $slot/set-affinity-refused-$try "the write succeeded"
			else
				check $slot/set-affinity-refused-$try grep -qi "$msg" /tmp/aff.err
			fi
		done
		check_eq $slot/set-affinity-logged-once 1 sh -c "dmesg | grep -c \"$vd: queue 0 (req.0): interrupt affinity not set ($err)\""

		[ $mode = msix-per-vq ] || continue
		nq=0
		for q in /sys/block/$disk/mq/*; do
			n=${q##*/}
			vec=$vd-req.$n
			nr=$(irq_nr $vec)
			if [ -z "$nr" ]; then
				fail $slot/q$n-vector "no /proc/interrupts line $vec"
				continue
			fi
			nq=$((nq + 1))
			cpus=$(cat $q/cpu_list)
			check_eq $slot/q$n-map-follows-affinity "$cpus" cat /proc/irq/$nr/smp_affinity_list
			if [ -e /proc/irq/$nr/effective_affinity_list ]; then
				check_eq $slot/q$n-effective-affinity "$cpus" cat /proc/irq/$nr/effective_affinity_list
			fi
			cpu=${cpus%%[,-]*}
			before=$(irq_count $vec "$cpu")
			check $slot/q$n-read-on-cpu$cpu read_on "$cpu" "$disk"
			grew $slot/q$n-vector-counted-on-cpu$cpu "$before" "$(irq_count $vec "$cpu")"
		done
		check_eq $slot/queues-with-vectors 2 echo $nq
		irq_count $vd-config >/tmp/config-before
	done

	# The host resizes 00:05.0 (drive0) to 96 MiB: a config interrupt.
	disk=$(cat /tmp/disk-05 2>/dev/null)
	vd=$(ls -d /sys/bus/pci/devices/0000:00:05.0/vireo* 2>/dev/null | head -n 1)
	vd=${vd##*/}
	echo IRQ-HOST-TURN
	if [ -n "$disk" ] && wait_for 60 sh -c "[ \$(cat /sys/block/$disk/size) = 196608 ]"; then
		ok 05/resized
	else
		fail 05/resized "size $(cat /sys/block/$disk/size 2>/dev/null) after the host resize"
	fi
	grew 05/config-vector-counted "$(cat /tmp/config-before)" "$(irq_count $vd-config)"

	check unload vireo_unload
	check pci-mode-attr-gone sh -c "! ls /sys/bus/pci/devices/*/vireo_irq_mode 2>/dev/null | grep -q ."'

if guest_console_wait IRQ-HOST-TURN 500; then
	if qmp 'block_resize {"device": "drive0", "size": 100663296}' >/dev/null; then
		tap_ok host-block-resize
	else
		tap_fail host-block-resize "QMP block_resize of drive0 failed"
	fi
else
	tap_fail host-turn "the guest never got to the resize (log: $GUEST_LOG)"
	stop_guest
fi
wait_guest 600
exit 0
