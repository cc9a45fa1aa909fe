#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.12-pci-packed debug-pci-split
#
# vireo_net on taps (virtio-net header, offloads, 4 queue pairs): two NICs
# on a bridge inside a network namespace made for this QEMU (--net-tap),
# each NIC in a network namespace of its own in the guest
# (tests/guest/net-pair.sh): 64 MiB both ways over TCP with sha256, UDP
# counted, ip -s / ethtool -S counters, ethtool -i, speed/duplex, the
# receive filters (foreign MAC, promisc, multicast, VLAN, live MAC change),
# MTU 9000 (host_mtu) with full-size DF datagrams, carrier through QMP
# set_link, ethtool -L and -G under traffic.
# NET_DRIVER=intree runs the same against the in-tree virtio_net.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

drv=${NET_DRIVER:-vireo}
dargs=()
[ "$drv" = vireo ] || dargs=(--no-vireo --takeover none)
bytes=$((64 << 20))
phases="driver tcp udp filters mtu link queues rings"
# The debug kernel (KASAN, lockdep) is 5-10x slower: a quarter of the data.
[ "$KERNEL" != debug ] || bytes=$((16 << 20))

common=mq=on,vectors=10,host_mtu=9000,rx_queue_size=1024
boot_bg --name main --timeout 900 "${dargs[@]}" \
	--net-tap ta,queues=4 --net-tap tb,queues=4 \
	--dev "net,netdev=ta,id=nica,mac=52:54:00:00:0a:01,$common,speed=10000,duplex=full" \
	--dev "net,netdev=tb,id=nicb,mac=52:54:00:00:0b:01,$common" \
	--cmd "NET_DRIVER=$drv NET_MAC_A=52:54:00:00:0a:01 NET_MAC_B=52:54:00:00:0b:01 NET_BYTES=$bytes \
NET_PHASES='$phases' NET_MTU=9000 NET_MQ=4 NET_RINGS=1 NET_RXQ=1024 NET_SPEED=10000 . /tests/net-pair.sh"

if guest_console_wait '^NET-LINK-DOWN' 700; then
	qmp 'set_link {"name": "nica", "up": false}' >/dev/null || tap_fail qmp-set-link-down "QMP set_link failed"
	if guest_console_wait '^NET-LINK-UP' 120; then
		qmp 'set_link {"name": "nica", "up": true}' >/dev/null || tap_fail qmp-set-link-up "QMP set_link failed"
	fi
fi
wait_guest 900
exit 0
