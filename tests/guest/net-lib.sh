# Helpers for the network tests (busybox sh; sourced after /tests/lib.sh).
#
# The host gives each NIC a MAC (52:54:00:..); net_if finds its interface.
# NET_DRIVER (from the host): vireo (default) or intree — which driver the
# NICs under test must be on. Traffic only between network namespaces of
# this guest (addresses of 198.18.0.0/15, the range RFC 2544 sets aside for
# benchmarking) or to QEMU's user network; every wait is bounded.
# /usr/sbin/ip is iproute2 (busybox's "ip" has no netns).
# shellcheck shell=sh

IP=/usr/sbin/ip
ETHTOOL=/usr/sbin/ethtool
NET_DRIVER=${NET_DRIVER:-vireo}
case $NET_DRIVER in
vireo) NET_DRV_NAME=vireo_net ;;
intree) NET_DRV_NAME=virtio_net ;;
*) NET_DRV_NAME=$NET_DRIVER ;;
esac

# net_intree_load: the in-tree transport and virtio_net, for NET_DRIVER=intree
# (the guest was booted with --no-vireo).
net_intree_load() {
	case $VIREO_TRANSPORT in
	mmio*) modprobe virtio_mmio 2>/dev/null ;;
	*) modprobe virtio_pci 2>/dev/null ;;
	esac
	modprobe virtio_net
}

# net_if MAC: the interface with this MAC (in this namespace), waiting up to 20 s.
net_if() {
	_t=100
	while [ $_t -gt 0 ]; do
		for _a in /sys/class/net/*/address; do
			[ "$(cat "$_a" 2>/dev/null)" = "$1" ] || continue
			_d=${_a%/address}
			echo "${_d##*/}"
			return 0
		done
		sleep 0.2
		_t=$((_t - 1))
	done
	return 1
}

# nsx NS CMD...: run CMD in the guest network namespace NS.
nsx() {
	_ns=$1
	shift
	if [ -z "$_ns" ]; then "$@"; else $IP netns exec "$_ns" "$@"; fi
}

# net_ns NS IF ADDR: a namespace NS holding IF, with ADDR/24, up.
net_ns() {
	$IP netns add "$1" || return 1
	$IP link set "$2" netns "$1" || return 1
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1
	nsx "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" >/dev/null 2>&1
	$IP -n "$1" link set lo up &&
		$IP -n "$1" addr add "$3/24" dev "$2" &&
		$IP -n "$1" link set "$2" up
}

# net_listening NS PORT SECS: wait until a TCP socket in NS listens on PORT
# (a peer that connects through QEMU's hostfwd must not come first: slirp
# takes the host's connection at once and resets it when the guest does).
# net_listening NS PORT SECS udp: the same for a UDP socket bound to PORT.
net_listening() {
	wait_for "$3" net_is_listening "$1" "$(printf '%04X' "$2")" "${4:-tcp}"
}
net_is_listening() {
	nsx "$1" cat "/proc/net/$3" |
		awk -v p=":$2" -v t="$3" '$2 ~ p "$" && (t == "udp" || $4 == "0A") { f = 1 } END { exit !f }'
}

# net_carrier NS IF WANT SECS: wait until IF's carrier reads WANT (0/1).
net_carrier() {
	_t=$(($4 * 5))
	while [ $_t -gt 0 ]; do
		[ "$(nsx "$1" cat "/sys/class/net/$2/carrier" 2>/dev/null)" = "$3" ] && return 0
		sleep 0.2
		_t=$((_t - 1))
	done
	return 1
}

# net_stat NS IF NAME: /sys/class/net/IF/statistics/NAME in NS.
net_stat() {
	nsx "$1" cat "/sys/class/net/$2/statistics/$3"
}

# net_es NS IF REGEX: the sum of the ethtool -S counters whose name matches REGEX.
net_es() {
	nsx "$1" $ETHTOOL -S "$2" 2>/dev/null |
		awk -v re="$3" '{ k = $1; sub(/:$/, "", k) } k ~ re { s += $2 } END { printf "%d\n", s }'
}

# net_tcp NAME NS_SRC NS_DST ADDR_DST PORT BYTES SEED SECS [&]: BYTES of the
# pseudo-random stream SEED from NS_SRC to NS_DST over TCP; ok when the
# receiver counted BYTES with the sender's sha256. Output in /tmp/NAME.{s,r}.
net_tcp() {
	_n=$(echo "$1" | tr / _)
	nsx "$3" netio tcp-recv "$5" "$8" >"/tmp/$_n.r" 2>&1 &
	_rp=$!
	nsx "$2" netio tcp-send "$4" "$5" "$6" "$7" "$8" >"/tmp/$_n.s" 2>&1
	_src=$?
	wait $_rp
	_rrc=$?
	_sh=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "/tmp/$_n.s")
	_rh=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' "/tmp/$_n.r")
	_rb=$(sed -n 's/^bytes=\([0-9]*\).*/\1/p' "/tmp/$_n.r")
	if [ $_src = 0 ] && [ $_rrc = 0 ] && [ -n "$_sh" ] && [ "$_sh" = "$_rh" ] && [ "$_rb" = "$6" ]; then
		ok "$1"
		echo "net: $1: $(cat "/tmp/$_n.r")"
		return 0
	fi
	fail "$1" "sender rc=$_src '$(cat "/tmp/$_n.s" | tr '\n' ' ')' receiver rc=$_rrc '$(cat "/tmp/$_n.r" | tr '\n' ' ')' (want bytes=$6)"
	return 1
}

# net_udp NAME NS_SRC NS_DST ADDR_DST PORT COUNT SIZE: COUNT datagrams;
# ok when the receiver counted COUNT good ones and no bad one.
net_udp() {
	_n=$(echo "$1" | tr / _)
	nsx "$3" netio udp-recv "$5" 60 >"/tmp/$_n.r" 2>&1 &
	_rp=$!
	# The receiver's socket first, or the first datagram meets a closed
	# port and the sender gets ECONNREFUSED (seen on the debug kernel).
	net_listening "$3" "$5" 20 udp
	nsx "$2" netio udp-send "$4" "$5" "$6" "$7" 60 >"/tmp/$_n.s" 2>&1
	_src=$?
	wait $_rp
	if [ $_src = 0 ] && grep -qx "datagrams=$6 bad=0" "/tmp/$_n.r"; then
		ok "$1"
		return 0
	fi
	fail "$1" "sender rc=$_src '$(cat "/tmp/$_n.s" | tr '\n' ' ')' receiver '$(cat "/tmp/$_n.r" | tr '\n' ' ')' (want datagrams=$6 bad=0)"
	return 1
}

# net_frames NS_SRC IF_SRC NS_DST IF_DST DSTMAC VID COUNT: frames of
# ethertype 0x88b5 sent from IF_SRC to DSTMAC (tagged VID when > 0) that an
# AF_PACKET socket on IF_DST saw (printed).
net_frames() {
	rm -f /tmp/frames.out
	nsx "$3" netio raw-count "$4" 15 >/tmp/frames.out 2>&1 &
	_cp=$!
	wait_for 10 grep -q listening /tmp/frames.out
	nsx "$1" netio raw-send "$2" "$5" "$7" "$6" >/dev/null 2>&1
	wait $_cp
	sed -n 's/^frames=\([0-9]*\).*/\1/p' /tmp/frames.out
}

# net_frames_eq NAME WANT ARGS...: net_frames ARGS must count WANT.
net_frames_eq() {
	_n=$1 _w=$2
	shift 2
	_got=$(net_frames "$@")
	# The broadcast end frame always passes: without it, a count of 0
	# would only say that nothing got through at all.
	if grep -q 'no end frame' /tmp/frames.out; then
		fail "$_n" "the broadcast end frame never arrived (counted '$_got'): the link carries nothing"
	elif [ "$_got" = "$_w" ]; then ok "$_n"; else fail "$_n" "expected $_w frames on the receiver, counted '$_got' ($(tr '\n' ' ' </tmp/frames.out))"; fi
}

# net_check_driver NAME NS IF: ethtool -i names the driver under test, and
# its bus-info is the device the netdev sits on.
net_check_driver() {
	_i=$(nsx "$2" $ETHTOOL -i "$3" 2>&1)
	# The in-tree driver names the device its virtio device sits on (the
	# PCI function, the MMIO platform device).
	_dev=$(basename "$(nsx "$2" readlink -f "/sys/class/net/$3/device/..")")
	echo "$_i" | sed "s/^/net: $3: /"
	if ! echo "$_i" | grep -qx "driver: $NET_DRV_NAME"; then
		fail "$1/driver" "ethtool -i $3: $(echo "$_i" | head -n 1), want $NET_DRV_NAME"
		return 1
	fi
	ok "$1/driver"
	if echo "$_i" | grep -qx "bus-info: $_dev"; then ok "$1/bus-info"; else fail "$1/bus-info" "want bus-info: $_dev"; fi
	if echo "$_i" | grep -qE '^version: .+'; then ok "$1/version"; else fail "$1/version" "no version in ethtool -i"; fi
	return 0
}
