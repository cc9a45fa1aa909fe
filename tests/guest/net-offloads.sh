# Guest side of tests/host/net-offloads.sh (busybox sh, sourced by the
# --cmd): for every configuration in NET_CONFIGS ("name/MAC_I/MAC_V ..."),
# two twin NICs with the same QEMU properties on a bridge of their own:
# the in-tree virtio_net drives the first, the driver under test (vireo_net,
# moved with vireo-bind) the second. Checks per configuration: ethtool -k
# of the two is the same, line for line (what each negotiated and offers);
# the expected values of the feature the configuration switched off; and
# NET_BYTES of pseudo-random data both ways at once between them (sha256).
# With NET_DRIVER=intree both twins stay on the in-tree driver.
# shellcheck shell=sh disable=SC2154 # NET_* come from the host
. /tests/net-lib.sh

case $VIREO_TRANSPORT in mmio*) modprobe virtio_mmio ;; *) modprobe virtio_pci 2>/dev/null ;; esac
modprobe virtio_net || { fail intree-load "modprobe virtio_net"; exit 1; }
if [ "$NET_DRIVER" = vireo ]; then
	vireo_load vireo_ring vireo_transport vireo_net || { fail vireo-load "insmod failed"; exit 1; }
fi

# expect NAME FEATURES: the ethtool -k lines this configuration must show.
expect() {
	case $1 in
	default) echo "tx-checksum-ip-generic: on|tcp-segmentation-offload: on|rx-checksumming: on \[fixed\]|rx-gro-hw: on|rx-vlan-filter: on \[fixed\]" ;;
	csum-off) echo "tx-checksum-ip-generic: off \[fixed\]|tcp-segmentation-offload: off|rx-checksumming: on \[fixed\]" ;;
	guest_csum-off) echo "tx-checksum-ip-generic: on" ;;
	guest_tso4-off) echo "tx-tcp-segmentation: on|rx-checksumming: on \[fixed\]" ;;
	host_tso4-off) echo "tx-tcp-segmentation: off \[fixed\]|tx-tcp6-segmentation: on" ;;
	# Hardware GRO stays on, but cannot be switched without CTRL_GUEST_OFFLOADS.
	ctrl_vq-off) echo "rx-vlan-filter: off \[fixed\]|rx-gro-hw: on \[fixed\]" ;;
	ctrl_guest_offloads-off) echo "rx-gro-hw: on \[fixed\]" ;;
	*) echo "" ;;
	esac
}

# bit NAME: the feature bit the configuration NAME switched off.
bit() {
	case $1 in
	csum-off) echo 0 ;; guest_csum-off) echo 1 ;; ctrl_guest_offloads-off) echo 2 ;;
	guest_tso4-off) echo 7 ;; host_tso4-off) echo 11 ;; mrg_rxbuf-off) echo 15 ;;
	ctrl_vq-off) echo 17 ;; indirect_desc-off) echo 28 ;; event_idx-off) echo 29 ;;
	esac
}

i=0
for c in $NET_CONFIGS; do
	name=${c%%/*} rest=${c#*/}
	mi=${rest%%/*} mv=${rest#*/}
	I=$(net_if "$mi") && V=$(net_if "$mv") || { fail "$name/nics" "no interface for $mi / $mv"; continue; }
	if [ "$NET_DRIVER" = vireo ]; then
		pci=$(basename "$(readlink -f "/sys/class/net/$V/device/..")")
		vireo-bind "$pci" >/dev/null || fail "$name/bind" "vireo-bind $pci failed"
		V=$(net_if "$mv") || { fail "$name/nics" "$mv gone after vireo-bind"; continue; }
	fi
	net_check_driver "$name/v" "" "$V"
	_drv=$NET_DRV_NAME
	NET_DRV_NAME=virtio_net net_check_driver "$name/i" "" "$I" >/dev/null
	NET_DRV_NAME=$_drv
	# The negotiated features (one character per bit, both buses alike).
	fi_=$(cat "/sys/class/net/$I/device/features") fv=$(cat "/sys/class/net/$V/device/features")
	echo "net: $name: features in-tree $fi_"
	echo "net: $name: features $NET_DRV_NAME $fv"
	want=$fi_
	kdiff=''
	if [ "$name" = guest_csum-off ] && [ "$NET_DRIVER" = vireo ]; then
		# virtio 1.2 5.1.3.1: no GUEST_TSO4/TSO6/ECN/UFO without GUEST_CSUM.
		# The in-tree driver accepts them anyway; vireo_net must not, and
		# so has no hardware GRO to show either.
		want=$(echo "$fi_" | cut -c1-7)0000$(echo "$fi_" | cut -c12-)
		kdiff=rx-gro-hw
	fi
	# vireo_net offers no UFO (GUEST_UFO bit 10, HOST_UFO bit 14; not done yet,
	# issue 9); the in-tree driver accepts both.
	[ "$NET_DRIVER" = vireo ] && want=$(echo "$want" | sed 's/./0/11; s/./0/15')
	# Spec 5.1.3.1: no HOST_TSO4/TSO6/ECN (bits 11-13) without CSUM; the
	# in-tree driver accepts them anyway.
	[ "$name" = csum-off ] && [ "$NET_DRIVER" = vireo ] && want=$(echo "$want" | sed 's/./0/12; s/./0/13; s/./0/14')
	[ "$want" = "$fv" ] && ok "$name/features-as-in-tree" || fail "$name/features-as-in-tree" "want $want (in-tree $fi_), $NET_DRV_NAME $fv"
	b=$(bit "$name")
	if [ -n "$b" ]; then
		[ "$(echo "$fv" | cut -c$((b + 1)))" = 0 ] && ok "$name/feature-off" ||
			fail "$name/feature-off" "bit $b negotiated although QEMU does not offer it"
	fi
	$ETHTOOL -k "$I" | tail -n +2 >/tmp/k.i
	$ETHTOOL -k "$V" | tail -n +2 >/tmp/k.v
	if [ -n "$kdiff" ]; then
		grep -v "$kdiff" /tmp/k.i >/tmp/k.i2 && mv /tmp/k.i2 /tmp/k.i
		grep -v "$kdiff" /tmp/k.v >/tmp/k.v2 && grep -q "$kdiff: off" /tmp/k.v && mv /tmp/k.v2 /tmp/k.v
	fi
	if cmp -s /tmp/k.i /tmp/k.v; then
		ok "$name/ethtool-k-as-in-tree"
	else
		fail "$name/ethtool-k-as-in-tree" "in-tree vs $NET_DRV_NAME: $(diff /tmp/k.i /tmp/k.v | grep '^[-+][^-+]' | tr '\n' ';')"
	fi
	_bad=''
	IFS='|'
	for e in $(expect "$name"); do
		grep -qE "^[[:space:]]*$e\$" /tmp/k.v || _bad="$_bad '$e'"
	done
	unset IFS
	[ -z "$_bad" ] && ok "$name/ethtool-k-expected" ||
		fail "$name/ethtool-k-expected" "missing:$_bad; has: $(grep -E 'checksumming|segmentation-offload|tx-tcp-seg|gro-hw|vlan-filter' /tmp/k.v | tr '\n\t' '; ')"
	i=$((i + 1))
	net_ns "i$i" "$I" "198.18.$i.1" && net_ns "v$i" "$V" "198.18.$i.2" || { fail "$name/netns" "setup failed"; continue; }
	net_carrier "i$i" "$I" 1 20 && net_carrier "v$i" "$V" 1 20 || fail "$name/carrier" "no carrier"
	net_tcp "$name/tcp-to-$NET_DRIVER" "i$i" "v$i" "198.18.$i.2" 5001 "$NET_BYTES" 1 300 &
	_p=$!
	net_tcp "$name/tcp-from-$NET_DRIVER" "v$i" "i$i" "198.18.$i.1" 5002 "$NET_BYTES" 2 300
	wait $_p
	# Done with this pair: its namespaces go, the NICs return to the root.
	$IP netns del "i$i"
	$IP netns del "v$i"
done
exit 0
