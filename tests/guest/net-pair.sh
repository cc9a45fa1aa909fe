# Guest side of tests/host/net-tap.sh and net-hub.sh (busybox sh, sourced by
# the --cmd): two NICs wired back to back by the host (MACs NET_MAC_A,
# NET_MAC_B), each in a network namespace of its own (a: 198.18.0.1,
# b: 198.18.0.2). Phases:
#   driver    ethtool -i of both; speed/duplex where the host set them
#   user      (NET_MAC_U) a third NIC on QEMU user networking: the host sends
#             to and reads from it through hostfwd on 127.0.0.1 (NET-USER-READY)
#   tcp       NET_BYTES of pseudo-random data both ways at once, sha256 compared;
#             ip -s and ethtool -S counters grew by at least what was sent
#   udp       datagrams counted
#   filters   raw frames to a foreign MAC (dropped unless promisc), to a
#             multicast MAC (dropped until joined), VLAN tags 5/6 (only the
#             one with a VLAN device passes), live MAC change (new MAC passes,
#             old one no longer)
#   mtu       NET_MTU (host_mtu): max_mtu, one above refused, full-size DF
#             datagrams and a TCP transfer at that MTU
#   link      carrier down and up through QMP set_link (the host acts on
#             NET-LINK-DOWN / NET-LINK-UP lines), traffic after it
#   queues    (NET_MQ=N) ethtool -l, then -L combined 1..N during a transfer
#   rings     (NET_RINGS=1) ethtool -g, then -G during a transfer
# NET_PHASES selects (default all that apply). Frames: tests/guest-src/netio.c.
# shellcheck shell=sh disable=SC2154 # NET_* come from the host
. /tests/net-lib.sh

NET_BYTES=${NET_BYTES:-67108864}
# The transfers under ethtool -L/-G and at the large MTU.
NET_BYTES2=${NET_BYTES2:-$((NET_BYTES / 8))}
NET_PHASES=${NET_PHASES:-driver tcp udp filters mtu link queues rings}
has() { case " $NET_PHASES " in *" $1 "*) return 0 ;; esac; return 1; }

[ "$NET_DRIVER" = intree ] && net_intree_load
A=$(net_if "$NET_MAC_A") && B=$(net_if "$NET_MAC_B") || { fail nics "no interface with $NET_MAC_A / $NET_MAC_B: $(ls /sys/class/net)"; exit 1; }
echo "net: a=$A b=$B"
has driver && { net_check_driver a "" "$A"; net_check_driver b "" "$B"; }
ka0=$($ETHTOOL -k "$A" 2>&1)
net_ns a "$A" 198.18.0.1 && net_ns b "$B" 198.18.0.2 || { fail netns "could not set up the namespaces"; exit 1; }
# Both start at 1500 (host_mtu may have made them larger).
$IP -n a link set "$A" mtu 1500 && $IP -n b link set "$B" mtu 1500
net_carrier a "$A" 1 20 && net_carrier b "$B" 1 20 || fail carrier-up "no carrier at start"
echo "$ka0" | sed 's/^/net: ethtool -k a: /'
# A link that carries nothing would make every phase wait out its bounds.
if ! net_udp reach-a-to-b a b 198.18.0.2 5000 64 200 || ! net_udp reach-b-to-a b a 198.18.0.1 5000 64 200; then
	fail reach "no traffic between the two NICs: the other phases are not run"
	exit 1
fi

if has driver && [ -n "${NET_SPEED:-}" ]; then
	_e=$(nsx a $ETHTOOL "$A")
	echo "$_e" | grep -q "Speed: ${NET_SPEED}Mb/s" && echo "$_e" | grep -q "Duplex: Full" &&
		ok ethtool-speed-duplex || fail ethtool-speed-duplex "want ${NET_SPEED}Mb/s Full: $(echo "$_e" | grep -E 'Speed|Duplex' | tr '\n' ' ')"
fi

if has user && [ -n "${NET_MAC_U:-}" ]; then
	# QEMU user networking: the guest is 10.0.2.15 there; the host's
	# forwards from 127.0.0.1 reach ports 5020 (it sends) and 5021 (it reads).
	U=$(net_if "$NET_MAC_U") && net_ns u "$U" 10.0.2.15 || fail user-setup "no user-net NIC"
	nsx u netio tcp-recv 5020 200 >/tmp/user.r 2>&1 &
	_p1=$!
	nsx u netio tcp-serve-send 5021 "$NET_USER_BYTES" 12 200 >/tmp/user.s 2>&1 &
	_p2=$!
	net_listening u 5020 20 && net_listening u 5021 20 ||
		fail user-listening "netio is not listening on 5020 and 5021 after 20 s"
	echo "NET-USER-READY"
	wait $_p1 && wait $_p2 || fail user-guest-side "receiver '$(cat /tmp/user.r)' sender '$(cat /tmp/user.s)'"
	echo "net: user-recv: $(cat /tmp/user.r)"
	echo "net: user-send: $(cat /tmp/user.s)"
	echo "NET-USER-DONE"
fi

if has tcp; then
	tx0=$(net_stat a "$A" tx_bytes) rx0=$(net_stat b "$B" rx_bytes)
	ea0=$(net_es a "$A" '^tx_queue_[0-9]+_bytes$') eb0=$(net_es b "$B" '^rx_queue_[0-9]+_bytes$')
	ka=$(net_es a "$A" '^tx[0-9]+_kicks$')
	net_tcp tcp-a-to-b a b 198.18.0.2 5001 "$NET_BYTES" 1 240 &
	p1=$!
	net_tcp tcp-b-to-a b a 198.18.0.1 5002 "$NET_BYTES" 2 240
	wait $p1
	tx=$(($(net_stat a "$A" tx_bytes) - tx0)) rx=$(($(net_stat b "$B" rx_bytes) - rx0))
	[ $tx -ge "$NET_BYTES" ] && [ $rx -ge "$NET_BYTES" ] && ok counters-ip-s ||
		fail counters-ip-s "a tx_bytes +$tx, b rx_bytes +$rx, want >= $NET_BYTES"
	ea=$(($(net_es a "$A" '^tx_queue_[0-9]+_bytes$') - ea0)) eb=$(($(net_es b "$B" '^rx_queue_[0-9]+_bytes$') - eb0))
	if nsx a $ETHTOOL -S "$A" | grep -qE '^ *tx_queue_0_bytes:'; then
		[ $ea -ge "$NET_BYTES" ] && [ $eb -ge "$NET_BYTES" ] && ok counters-ethtool-S ||
			fail counters-ethtool-S "a tx_queue_*_bytes +$ea, b rx_queue_*_bytes +$eb, want >= $NET_BYTES"
	else
		# 6.12's in-tree driver moved packets and bytes to netlink queue
		# stats; ethtool -S keeps rxN_drops, txN_kicks, ... (and totals).
		nsx a $ETHTOOL -S "$A" | grep -qE '^ *rx0_drops:' && nsx a $ETHTOOL -S "$A" | grep -qE '^ *tx0_kicks:' &&
			ok counters-ethtool-S-names || fail counters-ethtool-S-names "no rx0_drops / tx0_kicks in ethtool -S"
		[ "$(net_es a "$A" '^tx[0-9]+_kicks$')" -gt "$ka" ] && ok counters-ethtool-S-kicks ||
			fail counters-ethtool-S-kicks "txN_kicks did not grow during the transfer"
	fi
	nsx a $ETHTOOL -S "$A" | sed 's/^/net: ethtool -S a: /'
fi

has udp && { net_udp udp-a-to-b a b 198.18.0.2 5003 2000 1400; net_udp udp-b-to-a b a 198.18.0.1 5004 2000 1400; }

if has filters; then
	MB=$(nsx b cat "/sys/class/net/$B/address")
	net_frames_eq filter-own-mac 32 a "$A" b "$B" "$MB" 0 32
	if [ "${NET_CTRL_RX:-1}" = 1 ]; then
		net_frames_eq filter-foreign-mac-dropped 0 a "$A" b "$B" 02:00:00:00:00:99 0 32
		net_frames_eq filter-multicast-not-joined 0 a "$A" b "$B" 01:00:5e:01:02:03 0 32
	else
		# No CTRL_RX: the device stays promiscuous (virtio 5.1.6.5.1).
		net_frames_eq filter-foreign-mac-no-ctrl-rx 32 a "$A" b "$B" 02:00:00:00:00:99 0 32
	fi
	$IP -n b link set "$B" promisc on
	net_frames_eq filter-foreign-mac-promisc 32 a "$A" b "$B" 02:00:00:00:00:99 0 32
	$IP -n b link set "$B" promisc off
	$IP -n b maddr add 01:00:5e:01:02:03 dev "$B"
	net_frames_eq filter-multicast-joined 32 a "$A" b "$B" 01:00:5e:01:02:03 0 32
	$IP -n b maddr del 01:00:5e:01:02:03 dev "$B"
	[ "${NET_CTRL_RX:-1}" = 1 ] &&
		net_frames_eq filter-multicast-left 0 a "$A" b "$B" 01:00:5e:01:02:03 0 32
	modprobe 8021q
	if $IP -n b link add link "$B" name vl5 type vlan id 5 && $IP -n b link set vl5 up; then
		net_frames_eq vlan-5-added 32 a "$A" b "$B" "$MB" 5 32
		if [ "${NET_CTRL_VLAN:-1}" = 1 ]; then
			net_frames_eq vlan-6-filtered 0 a "$A" b "$B" "$MB" 6 32
		else
			net_frames_eq vlan-6-no-filter 32 a "$A" b "$B" "$MB" 6 32
		fi
		# And IP over the VLAN.
		$IP -n a link add link "$A" name vl5 type vlan id 5 && $IP -n a link set vl5 up &&
			$IP -n a addr add 198.19.5.1/24 dev vl5 && $IP -n b addr add 198.19.5.2/24 dev vl5
		net_udp vlan-5-udp a b 198.19.5.2 5005 200 1000
		$IP -n b link del vl5
		$IP -n a link del vl5
		[ "${NET_CTRL_VLAN:-1}" = 1 ] &&
			net_frames_eq vlan-5-removed 0 a "$A" b "$B" "$MB" 5 32
	else
		fail vlan-add "ip link add ... type vlan id 5 failed"
	fi
	NEWMAC=52:54:00:00:0b:99
	if $IP -n b link set "$B" address $NEWMAC; then
		ok mac-change-live
		# a still has the old MAC for b (no gratuitous ARP by default).
		$IP -n a neigh flush dev "$A"
		net_frames_eq mac-change-new-passes 32 a "$A" b "$B" $NEWMAC 0 32
		[ "${NET_CTRL_RX:-1}" = 1 ] &&
			net_frames_eq mac-change-old-dropped 0 a "$A" b "$B" "$MB" 0 32
		net_udp mac-change-udp a b 198.18.0.2 5006 200 1000
	else
		fail mac-change-live "ip link set address failed while up"
	fi
fi

if has mtu && [ -n "${NET_MTU:-}" ]; then
	_max=$(nsx a $IP -d link show "$A" | sed -n 's/.* maxmtu \([0-9]*\).*/\1/p')
	[ "$_max" = "$NET_MTU" ] && ok mtu-max || fail mtu-max "maxmtu '$_max', want $NET_MTU"
	$IP -n a link set "$A" mtu $((NET_MTU + 1)) 2>/dev/null && fail mtu-above-max-refused "mtu $((NET_MTU + 1)) accepted" ||
		ok mtu-above-max-refused
	$IP -n a link set "$A" mtu "$NET_MTU" && $IP -n b link set "$B" mtu "$NET_MTU" && ok mtu-set || fail mtu-set "ip link set mtu $NET_MTU failed"
	net_udp mtu-df-full-size a b 198.18.0.2 5007 50 $((NET_MTU - 28))
	net_udp mtu-df-full-size-back b a 198.18.0.1 5008 50 $((NET_MTU - 28))
	_o=$(nsx a netio udp-send 198.18.0.2 5009 1 $((NET_MTU - 27)) 10)
	[ "$_o" = emsgsize ] && ok mtu-df-one-more-refused || fail mtu-df-one-more-refused "got '$_o'"
	net_tcp tcp-mtu-a-to-b a b 198.18.0.2 5010 "$NET_BYTES2" 3 240
	$IP -n a link set "$A" mtu 1500 && $IP -n b link set "$B" mtu 1500
fi

if has link; then
	echo "NET-LINK-DOWN"
	net_carrier a "$A" 0 60 && ok link-down-seen || fail link-down-seen "carrier still $(nsx a cat /sys/class/net/"$A"/carrier) after QMP set_link off"
	nsx a cat "/sys/class/net/$A/operstate" | grep -qx down && ok link-down-operstate || fail link-down-operstate "operstate $(nsx a cat /sys/class/net/"$A"/operstate)"
	echo "NET-LINK-UP"
	net_carrier a "$A" 1 60 && ok link-up-seen || fail link-up-seen "carrier still 0 after set_link on"
	net_udp link-up-udp a b 198.18.0.2 5011 200 1000
fi

if has queues && [ -n "${NET_MQ:-}" ]; then
	_l=$(nsx a $ETHTOOL -l "$A")
	echo "$_l" | sed 's/^/net: ethtool -l a: /'
	_max=$(echo "$_l" | awk '/^Pre-set/ { p = 1 } /^Current/ { p = 0 } p && /^Combined:/ { print $2 }')
	[ "$_max" = "$NET_MQ" ] && ok queues-max || fail queues-max "pre-set combined '$_max', want $NET_MQ"
	_cpus=$(grep -c ^processor /proc/cpuinfo)
	_cur=$(echo "$_l" | awk '/^Current/ { c = 1 } c && /^Combined:/ { print $2 }')
	_want=$((_cpus < NET_MQ ? _cpus : NET_MQ))
	[ "$_cur" = "$_want" ] && ok queues-default || fail queues-default "current combined '$_cur', want $_want (min(cpus, max))"
	net_tcp tcp-during-L a b 198.18.0.2 5012 "$NET_BYTES2" 4 240 &
	_tp=$!
	_bad=''
	for n in 1 "$NET_MQ" 1 "$_want"; do
		sleep 0.5
		nsx a $ETHTOOL -L "$A" combined "$n" || _bad="$_bad -L:$n"
		nsx b $ETHTOOL -L "$B" combined "$n" || _bad="$_bad -L(b):$n"
		_c=$(nsx a $ETHTOOL -l "$A" | awk '/^Current/ { c = 1 } c && /^Combined:/ { print $2 }')
		[ "$_c" = "$n" ] || _bad="$_bad now:$_c!=$n"
		[ "$(ls -d /sys/class/net/"$A"/queues/tx-* 2>/dev/null | wc -l)" = "$n" ] ||
			[ "$(nsx a sh -c "ls -d /sys/class/net/$A/queues/tx-*" | wc -l)" = "$n" ] || _bad="$_bad txq!=$n"
	done
	wait $_tp
	[ -z "$_bad" ] && ok queues-L-under-traffic || fail queues-L-under-traffic "$_bad"
	# With a pair per CPU, pair i's vectors (vireoN-input.i, -output.i) go
	# to CPU i: the affinity vireo_net sets through vireo_vq_set_affinity
	# after every -L (the transport gives it plain, steerable vectors).
	if [ "$NET_DRV_NAME" = vireo_net ] && [ "$_want" = "$_cpus" ]; then
		_dev=$(basename "$(nsx a readlink -f "/sys/class/net/$A/device")")
		_bad=''
		for i in $(seq 0 $((_want - 1))); do
			for q in input output; do
				_irq=$(awk -v n="$_dev-$q.$i" '$NF == n { sub(":", "", $1); print $1 }' /proc/interrupts)
				[ -n "$_irq" ] || { _bad="$_bad $q.$i:no-vector"; continue; }
				_a=$(cat "/proc/irq/$_irq/smp_affinity_list")
				[ "$_a" = "$i" ] || _bad="$_bad $q.$i:cpus-$_a"
			done
		done
		[ -z "$_bad" ] && ok queues-irq-affinity || fail queues-irq-affinity "$_dev:$_bad"
	fi
	nsx a $ETHTOOL -L "$A" combined $((NET_MQ + 1)) 2>/dev/null && fail queues-L-above-max-refused "accepted" || ok queues-L-above-max-refused
	# Every queue pair carries traffic: four streams spread by their hashes.
	_before=$(nsx a $ETHTOOL -S "$A" | grep -cE '^ *tx_queue_[0-9]+_packets: [1-9]')
	echo "net: tx queues with packets: $_before"
fi

if has rings && [ "${NET_RINGS:-0}" = 1 ]; then
	_g=$(nsx a $ETHTOOL -g "$A")
	echo "$_g" | sed 's/^/net: ethtool -g a: /'
	_rxmax=$(echo "$_g" | awk '/^Pre-set/ { p = 1 } /^Current/ { p = 0 } p && /^RX:/ { print $2 }')
	_txmax=$(echo "$_g" | awk '/^Pre-set/ { p = 1 } /^Current/ { p = 0 } p && /^TX:/ { print $2 }')
	[ "$_rxmax" = "${NET_RXQ:-256}" ] && ok rings-rx-max || fail rings-rx-max "RX max '$_rxmax', want ${NET_RXQ:-256}"
	net_tcp tcp-during-G a b 198.18.0.2 5013 "$NET_BYTES2" 5 240 &
	_tp=$!
	_bad=''
	for r in 64 $((_rxmax / 2)) "$_rxmax"; do
		sleep 0.5
		nsx a $ETHTOOL -G "$A" rx "$r" || _bad="$_bad rx:$r"
		nsx b $ETHTOOL -G "$B" rx "$r" tx $((_txmax / 2)) || _bad="$_bad b:$r"
		_c=$(nsx a $ETHTOOL -g "$A" | awk '/^Current/ { c = 1 } c && /^RX:/ { print $2 }')
		[ "$_c" = "$r" ] || _bad="$_bad now:$_c!=$r"
	done
	wait $_tp
	[ -z "$_bad" ] && ok rings-G-under-traffic || fail rings-G-under-traffic "$_bad"
	nsx a $ETHTOOL -G "$A" rx $((_rxmax * 2)) 2>/dev/null && fail rings-G-above-max-refused "accepted" || ok rings-G-above-max-refused
fi
exit 0
