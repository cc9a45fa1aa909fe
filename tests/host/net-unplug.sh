#!/usr/bin/env bash
# matrix: debug-pci-split
#
# vireo_net going away under traffic (tests/guest/net-unplug.sh): three
# NICs on a tap bridge, each behind its own pcie-root-port (--hotplug);
# PM freeze/restore with traffic after it; QMP device_del of one NIC while
# it sends (the transfer ends with an error, the netdev goes, the others
# keep working, QEMU reports DEVICE_DELETED); rmmod with the interfaces up
# and a transfer running, then a reload; a control command the device never
# sees ends with an error within its bound. No warning, and on the debug
# kernel no kmemleak report (scripts/vireo-qemu fails the run on either).
# NET_DRIVER=intree runs the same against the in-tree virtio_net.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

drv=${NET_DRIVER:-vireo}
dargs=()
[ "$drv" = vireo ] || dargs=(--no-vireo --takeover none)
# NET_HOTPLUG=0 leaves the device_del phase out (on by default).
hp=${NET_HOTPLUG:-1}

boot_bg --name main --timeout 900 --hotplug "${dargs[@]}" \
	--net-tap tg,queues=2 --net-tap ts,queues=2 --net-tap tp,queues=2 \
	--dev "net,netdev=tg,id=nicg,mac=52:54:00:00:0d:01,mq=on,vectors=6" \
	--dev "net,netdev=ts,id=nics,mac=52:54:00:00:0d:02,mq=on,vectors=6" \
	--dev "net,netdev=tp,id=nicp,mac=52:54:00:00:0d:03,mq=on,vectors=6" \
	--cmd "NET_HOTPLUG=$hp NET_DRIVER=$drv NET_MAC_G=52:54:00:00:0d:01 NET_MAC_S=52:54:00:00:0d:02 NET_MAC_P=52:54:00:00:0d:03 . /tests/net-unplug.sh"

if [ "$hp" = 1 ]; then
	if guest_console_wait '^NET-UNPLUG-NOW' 600; then
		if qmp 'device_del {"id": "nicg"}' --wait-event DEVICE_DELETED --data device=nicg --timeout 120 >/dev/null; then
			tap_ok host-device-deleted
		else
			tap_fail host-device-deleted "QEMU never reported DEVICE_DELETED for nicg"
		fi
	else
		tap_fail host-unplug "the guest never got to the unplug (log: $GUEST_LOG)"
	fi
fi
wait_guest 900
exit 0
