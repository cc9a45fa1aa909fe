#!/usr/bin/env bash
# matrix: 6.12-pci-split
#
# vireo_net with each virtio-net feature switched off on the QEMU side, one
# at a time, next to the in-tree virtio_net in the same guest with the same
# properties (tests/guest/net-offloads.sh): ethtool -k the same as in-tree
# line for line, the switched-off feature shown off, and 8 MiB both ways
# between the two twins over a tap bridge of their own (sha256).
# NET_DRIVER=intree keeps both twins on the in-tree driver.
#
# RSS and hash report on the same boot: one more NIC under test with
# mq=on,rss=on,hash=on and 4 queue pairs on a 4-queue tap, fed by an in-tree
# NIC on its bridge: ethtool -x/-X/-n/-N, the receive queue of UDP and TCP
# flows for "equal 1", "weight 0 1", and "equal 4" with a key of ours, each
# queue predicted here from the Toeplitz hash of the flow's 4-tuple
# (python3 below), IPv4 and IPv6 (UDPv6 and TCPv6 flows), and the skb hash
# the device's Toeplitz hash (NET_RSS_* for tests/guest/net-offloads.sh);
# the table and key kept over a freeze/resume cycle and `ethtool -L`. One
# more pair for hash report without RSS (hash=on,rss=off: MQ_HASH_CONFIG
# with our key, the skb hash, kept over the same freeze). With vireo_net:
# RSS configs no device here offers (debugfs config_patch, rebinding the
# driver) refused with one line, RSS and HASH_REPORT not negotiated.
# NET_OFFLOAD_CONFIGS (by hand) replaces the list of configurations.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

drv=${NET_DRIVER:-vireo}
configs=${NET_OFFLOAD_CONFIGS-"default csum=off guest_csum=off mrg_rxbuf=off guest_tso4=off host_tso4=off ctrl_vq=off
	ctrl_guest_offloads=off event_idx=off indirect_desc=off"}
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

# RSS: the key the guest sets, the flows it sends (from 198.18.60.1 to
# 198.18.60.2, port 7000: UDP from 40000.., TCP from 41000..), and what
# Toeplitz says: per flow its hash (4-tuple, and addresses only).
# (The key is the start of sha256("vireo-rss") . sha256("vireo-rss-2"):
# these 16 flows then land on all 4 queues.)
rss_key=0b:e9:bc:38:ff:bf:4c:9d:04:32:a3:ba:d9:b8:1d:a2:34:fa:57:9c:c5:94:0e:ba:f3:e2:0f:c7:89:6d:62:40:a0:1d:55:6f:9f:0e:4a:af
rss=$(python3 - "$rss_key" <<'PY'
import sys
key = bytes(int(b, 16) for b in sys.argv[1].split(":"))
kint, kbits = int.from_bytes(key, "big"), len(key) * 8
def toeplitz(data):
    h = 0
    for i in range(len(data) * 8):
        if data[i // 8] & (0x80 >> (i % 8)):
            h ^= (kint >> (kbits - 32 - i)) & 0xffffffff
    return h
# The specification's example (Microsoft's RSS verification suite).
ms = bytes.fromhex("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa")
kint, kbits = int.from_bytes(ms, "big"), len(ms) * 8
ex = bytes([66, 9, 149, 187, 161, 142, 100, 80]) + (2794).to_bytes(2, "big") + (1766).to_bytes(2, "big")
assert toeplitz(ex) == 0x51ccc178 and toeplitz(ex[:8]) == 0x323e8fc2, "toeplitz"
kint, kbits = int.from_bytes(key, "big"), len(key) * 8
ips = bytes([198, 18, 60, 1, 198, 18, 60, 2])
udp = [toeplitz(ips + (40000 + f).to_bytes(2, "big") + (7000).to_bytes(2, "big")) for f in range(8)]
tcp = [toeplitz(ips + (41000 + f).to_bytes(2, "big") + (7000).to_bytes(2, "big")) for f in range(8)]
sd = toeplitz(ips)
# IPv6 (fd00:60::1 to fd00:60::2): 16 + 16 address bytes, then the ports.
ips6 = bytes.fromhex("fd000060" + "0" * 22 + "01" + "fd000060" + "0" * 22 + "02")
udp6 = [toeplitz(ips6 + (42000 + f).to_bytes(2, "big") + (7000).to_bytes(2, "big")) for f in range(8)]
tcp6 = [toeplitz(ips6 + (43000 + f).to_bytes(2, "big") + (7000).to_bytes(2, "big")) for f in range(8)]
# The hash-report-only NIC's flow: 198.18.61.1:40000 to 198.18.61.2:7000.
hs = toeplitz(bytes([198, 18, 61, 1, 198, 18, 61, 2]) + (40000).to_bytes(2, "big") + (7000).to_bytes(2, "big"))
def per_queue(hashes, nq=4):
    # 'equal N' over QEMU's 128 entries: entry i is queue i % N.
    n = [0] * 4
    for h in hashes:
        n[(h & 127) % nq] += 10
    return ",".join(map(str, n))
print("NET_RSS_EXPECT4=%s NET_RSS_EXPECT_SD=%s NET_RSS_H0=%#x NET_RSS_EXPECT6=%s NET_RSS_H6=%#x NET_RSS_EXPECT2=%s NET_HASH_H0=%#x" %
      (per_queue(udp + tcp), per_queue([sd] * 8 + tcp), udp[0], per_queue(udp6 + tcp6),
       udp6[0], per_queue(udp + tcp, 2), hs))
PY
) || { echo "not ok - rss-toeplitz: python3 failed"; exit 1; }
args+=(--net-tap "rsi,br=rsb" --net-tap "rsv,queues=4,br=rsb"
	--dev "net,netdev=rsi,mac=52:54:00:60:00:01"
	--dev "net,netdev=rsv,mac=52:54:00:60:00:02,mq=on,vectors=10,rss=on,hash=on"
	--net-tap "hsi,br=hsb" --net-tap "hsv,br=hsb"
	--dev "net,netdev=hsi,mac=52:54:00:61:00:01"
	--dev "net,netdev=hsv,mac=52:54:00:61:00:02,hash=on,rss=off")

boot --name main --timeout 900 --no-vireo --takeover none --mem 2G "${args[@]}" \
	--cmd "NET_DRIVER=$drv NET_BYTES=$((8 << 20)) NET_CONFIGS='${spec# }' NET_RSS_KEY=$rss_key $rss . /tests/net-offloads.sh"
exit 0
