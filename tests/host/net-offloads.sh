#!/usr/bin/env bash
# matrix: 6.12-pci-split
#
# vireo_net with each virtio-net feature switched off on the QEMU side, one
# at a time, next to the in-tree virtio_net in the same guest with the same
# properties (tests/guest/net-offloads.sh): ethtool -k the same as in-tree
# line for line, the switched-off feature shown off, and 8 MiB both ways
# between the two twins over a tap bridge of their own (sha256).
# NET_DRIVER=intree keeps both twins on the in-tree driver.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

drv=${NET_DRIVER:-vireo}
configs="default csum=off guest_csum=off mrg_rxbuf=off guest_tso4=off host_tso4=off ctrl_vq=off
	ctrl_guest_offloads=off event_idx=off indirect_desc=off"
args=() spec=""
n=0
for c in $configs; do
	n=$((n + 1))
	name=${c/=/-}
	props=""
	[ "$c" = default ] || props=",$c"
	# ctrl_vq=off takes what depends on it along (QEMU would refuse otherwise).
	[ "$c" != ctrl_vq=off ] || props+=",ctrl_rx=off,ctrl_vlan=off,ctrl_mac_addr=off,ctrl_guest_offloads=off,mq=off,guest_announce=off,ctrl_rx_extra=off"
	mi=$(printf '52:54:00:%02x:00:01' $n) mv=$(printf '52:54:00:%02x:00:02' $n)
	args+=(--net-tap "oi$n,br=ob$n" --net-tap "ov$n,br=ob$n"
		--dev "net,netdev=oi$n,mac=$mi$props" --dev "net,netdev=ov$n,mac=$mv$props")
	spec+=" $name/$mi/$mv"
done

boot --name main --timeout 900 --no-vireo --takeover none --mem 2G "${args[@]}" \
	--cmd "NET_DRIVER=$drv NET_BYTES=$((8 << 20)) NET_CONFIGS='${spec# }' . /tests/net-offloads.sh"
exit 0
