# Guest side of tests/host/net-offloads.sh (busybox sh, sourced by the
# --cmd): for every configuration in NET_CONFIGS ("name/MAC_I/MAC_V ..."),
# two twin NICs with the same QEMU properties on a bridge of their own:
# the in-tree virtio_net drives the first, the driver under test (vireo_net,
# moved with vireo-bind) the second. Checks per configuration: ethtool -k
# of the two is the same, line for line (what each negotiated and offers);
# the expected values of the feature the configuration switched off; and
# NET_BYTES of pseudo-random data both ways at once between them (sha256).
# With NET_DRIVER=intree both twins stay on the in-tree driver. Then RSS
# and hash report on one more pair (NET_RSS_*: see the end).
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

# RSS and hash report (tests/host/net-offloads.sh): rsv (mq, rss, hash;
# 4 pairs) under test, fed by the in-tree rsi. The flows go from rsi to rsv
# (UDP ports 40000.., TCP 41000.., to port 7000); netio rxq counts, in rsv's
# namespace, what each receive queue got and how many carried skb hash H.
[ -n "$NET_RSS_KEY" ] || exit 0
# rss_flows [H] [6]: 8 UDP and 8 TCP flows of 10 packets, IPv4 (from
# 198.18.60.1, source ports 40000.. and 41000..) or with 6 IPv6 (from
# fd00:60::1, 42000.. and 43000..); prints "N0,N1,N2,N3 M".
rss_flows() {
	rm -f /tmp/rxq.out
	nsx rv netio rxq "$V" 4 7000 "${1:-0}" 30 >/tmp/rxq.out 2>&1 &
	_p=$!
	wait_for 10 grep -q listening /tmp/rxq.out
	if [ "${2:-4}" = 6 ]; then
		nsx ri netio flows udp fd00:60::2 7000 42000 8 10 30 >/dev/null
		nsx ri netio flows tcp fd00:60::2 7000 43000 8 10 30 >/dev/null
	else
		nsx ri netio flows udp 198.18.60.2 7000 40000 8 10 30 >/dev/null
		nsx ri netio flows tcp 198.18.60.2 7000 41000 8 10 30 >/dev/null
	fi
	wait $_p
	sed -n 's/^rxq=\([0-9,]*\) hash=\([0-9]*\)$/\1 \2/p' /tmp/rxq.out
}
# rss_expect NAME WANT [6]: rss_flows' queue counts must be WANT.
rss_expect() {
	_got=$(rss_flows 0 "${3:-4}")
	echo "net: rss: $1: per queue ${_got% *} (want $2)"
	[ "${_got% *}" = "$2" ] && ok "rss/$1" && return
	fail "rss/$1" "per receive queue: '${_got% *}', want $2 ($(nsx rv $ETHTOOL -x "$V" | head -3 | tr '\n' ' '))"
	# What the queues did: their interrupts, the driver's counters.
	_d=$(basename "$(nsx rv readlink -f "/sys/class/net/$V/device")")
	_di=$(basename "$(nsx ri readlink -f "/sys/class/net/$I/device")")
	grep -E " ($_d|$_di)-" /proc/interrupts | sed "s|^|net: rss: $1: irq: |"
	nsx rv $ETHTOOL -S "$V" | grep -vE ': 0$' | tr '\n' ' ' | sed "s|^|net: rss: $1: -S: |"
	echo
}
I=$(net_if 52:54:00:60:00:01) && V=$(net_if 52:54:00:60:00:02) || { fail rss/nics "no interface for the RSS pair"; exit 0; }
if [ "$NET_DRIVER" = vireo ]; then
	vireo-bind "$(basename "$(readlink -f "/sys/class/net/$V/device/..")")" >/dev/null || fail rss/bind "vireo-bind failed"
	V=$(net_if 52:54:00:60:00:02) || { fail rss/nics "RSS NIC gone after vireo-bind"; exit 0; }
fi
net_ns ri "$I" 198.18.60.1 && net_ns rv "$V" 198.18.60.2 && net_carrier ri "$I" 1 20 && net_carrier rv "$V" 1 20 ||
	{ fail rss/netns "setup failed"; exit 0; }
# IPv6 too on this pair (net_ns turns it off): fd00:60::1 and ::2.
for _x in "ri $I fd00:60::1" "rv $V fd00:60::2"; do
	set -- $_x
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 >/dev/null 2>&1
	nsx "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=0" >/dev/null 2>&1
	$IP -n "$1" addr add "$3/64" dev "$2" nodad || fail rss/ipv6 "no IPv6 address on $2"
done
nsx rv $ETHTOOL -L "$V" combined 4 || fail rss/channels "ethtool -L $V combined 4"
x=$(nsx rv $ETHTOOL -x "$V" 2>&1)
echo "$x" | sed 's/^/net: rss: -x: /'
entries=$(echo "$x" | awk '/^ *[0-9]+:/ { n += NF - 1 } END { print n + 0 }')
keylen=$(echo "$x" | awk '/^RSS hash key:/ { getline; print split($0, a, ":") }')
spread=$(echo "$x" | awk '/^ *[0-9]+:/ { for (i = 2; i <= NF; i++) s[$i] = 1 } END { for (q in s) n++; print n + 0 }')
[ "$entries" = 128 ] && [ "$keylen" = 40 ] && [ "$spread" = 4 ] &&
	echo "$x" | grep -q "with 4 RX ring" && echo "$x" | grep -q "toeplitz: on" && ok rss/ethtool-x ||
	fail rss/ethtool-x "want 128 entries over 4 queues and a 40-byte Toeplitz key (QEMU 7.2): $entries entries over $spread, key $keylen"
nsx rv $ETHTOOL -X "$V" hfunc xor 2>/dev/null && fail rss/hfunc-refused "ethtool -X hfunc xor was taken" || ok rss/hfunc-refused
nsx rv $ETHTOOL -X "$V" equal 1 && rss_expect equal-1 160,0,0,0
nsx rv $ETHTOOL -X "$V" weight 0 1 && rss_expect weight-0-1 0,160,0,0
nsx rv $ETHTOOL -X "$V" equal 4 hkey "$NET_RSS_KEY" || fail rss/hkey "ethtool -X equal 4 hkey"
nsx rv $ETHTOOL -x "$V" | grep -qi "^$NET_RSS_KEY\$" && ok rss/hkey-shown || fail rss/hkey-shown "the key set is not what -x shows"
rss_expect toeplitz-queues "$NET_RSS_EXPECT4"
rss_expect toeplitz-queues-ipv6 "$NET_RSS_EXPECT6" 6
# The device's hash on the skb: flow 0's Toeplitz hash, on all 10 of its
# datagrams, once rxhash is on (off at first with both drivers).
nsx rv $ETHTOOL -k "$V" | grep -q "^receive-hashing: off$" && ok rss/rxhash-default-off ||
	fail rss/rxhash-default-off "$(nsx rv $ETHTOOL -k "$V" | grep receive-hashing)"
nsx rv $ETHTOOL -K "$V" rxhash on
h=$(rss_flows "$NET_RSS_H0")
[ "${h#* }" = 10 ] && ok rss/skb-hash || fail rss/skb-hash "$h: want 10 packets with skb hash $NET_RSS_H0"
h=$(rss_flows "$NET_RSS_H6" 6)
[ "${h#* }" = 10 ] && ok rss/skb-hash-ipv6 || fail rss/skb-hash-ipv6 "$h: want 10 packets with skb hash $NET_RSS_H6"
nsx rv $ETHTOOL -K "$V" rxhash off
h=$(rss_flows "$NET_RSS_H0")
[ "${h#* }" = 0 ] && ok rss/rxhash-off || fail rss/rxhash-off "$h: want no packet with skb hash $NET_RSS_H0"
nsx rv $ETHTOOL -K "$V" rxhash on
n=$(nsx rv $ETHTOOL -n "$V" rx-flow-hash udp4 2>&1)
echo "$n" | grep -q "L4 bytes 2 & 3" && ok rss/flow-hash-udp4 || fail rss/flow-hash-udp4 "$n"
nsx rv $ETHTOOL -N "$V" rx-flow-hash udp4 sd && rss_expect udp4-sd "$NET_RSS_EXPECT_SD"
nsx rv $ETHTOOL -n "$V" rx-flow-hash udp4 | grep -q "L4 bytes" && fail rss/flow-hash-sd "udp4 still hashes ports" || ok rss/flow-hash-sd
nsx rv $ETHTOOL -N "$V" rx-flow-hash udp4 sdfn

# Hash report without RSS (hsv: hash=on,rss=off, one queue pair), fed by
# the in-tree hsi: HASH_REPORT negotiated and RSS not, -x a key and no
# table, the key we set (MQ_HASH_CONFIG) the one the device hashes with.
HI=$(net_if 52:54:00:61:00:01) && HV=$(net_if 52:54:00:61:00:02) || { fail hash/nics "no interface for the hash pair"; HV=''; }
if [ -n "$HV" ] && [ "$NET_DRIVER" = vireo ]; then
	vireo-bind "$(basename "$(readlink -f "/sys/class/net/$HV/device/..")")" >/dev/null || fail hash/bind "vireo-bind failed"
	HV=$(net_if 52:54:00:61:00:02) || { fail hash/nics "hash NIC gone after vireo-bind"; HV=''; }
fi
if [ -n "$HV" ] && ! { net_ns hi "$HI" 198.18.61.1 && net_ns hv "$HV" 198.18.61.2 &&
	net_carrier hi "$HI" 1 20 && net_carrier hv "$HV" 1 20; }; then
	fail hash/netns "setup failed"
	HV=''
fi
# hash_flow H: one UDP flow of 10 datagrams to hv; prints "N M" (received,
# with skb hash H).
hash_flow() {
	rm -f /tmp/rxqh.out
	nsx hv netio rxq "$HV" 1 7000 "$1" 30 >/tmp/rxqh.out 2>&1 &
	_p=$!
	wait_for 10 grep -q listening /tmp/rxqh.out
	nsx hi netio flows udp 198.18.61.2 7000 40000 1 10 30 >/dev/null
	wait $_p
	sed -n 's/^rxq=\([0-9]*\) hash=\([0-9]*\)$/\1 \2/p' /tmp/rxqh.out
}
if [ -n "$HV" ]; then
	f=$(nsx hv cat "/sys/class/net/$HV/device/features")
	echo "net: hash: features $f"
	[ "$(echo "$f" | cut -c58)" = 1 ] && [ "$(echo "$f" | cut -c61)" = 0 ] && ok hash/features ||
		fail hash/features "want HASH_REPORT (57) and not RSS (60): $f"
	x=$(nsx hv $ETHTOOL -x "$HV" 2>&1)
	echo "$x" | sed 's/^/net: hash: -x: /'
	entries=$(echo "$x" | awk '/^ *[0-9]+:/ { n += NF - 1 } END { print n + 0 }')
	keylen=$(echo "$x" | awk '/^RSS hash key:/ { getline; print split($0, a, ":") }')
	[ "$entries" = 0 ] && [ "$keylen" = 40 ] && ok hash/ethtool-x ||
		fail hash/ethtool-x "want a 40-byte key and no table: $entries entries, key $keylen"
	nsx hv $ETHTOOL -X "$HV" equal 1 2>/dev/null && fail hash/no-table "ethtool -X equal 1 was taken" || ok hash/no-table
	nsx hv $ETHTOOL -X "$HV" hkey "$NET_RSS_KEY" || fail hash/hkey "ethtool -X hkey"
	nsx hv $ETHTOOL -K "$HV" rxhash on
	h=$(hash_flow "$NET_HASH_H0")
	[ "$h" = "10 10" ] && ok hash/skb-hash || fail hash/skb-hash "$h: want 10 datagrams, all with skb hash $NET_HASH_H0"
fi

# Freeze and resume (pm_test=devices): the device is reset, the driver
# tells it the table, key and hash types again (MQ_RSS_CONFIG, and
# MQ_HASH_CONFIG on hsv): -x the same, each flow on the queue its hash
# picks (IPv4), the skb hash still the one of our key.
x0=$(nsx rv $ETHTOOL -x "$V" 2>&1)
if grep -qw freeze /sys/power/state; then
	echo devices >/sys/power/pm_test
	check pm/freeze-cycle sh -c "echo freeze >/sys/power/state"
	echo none >/sys/power/pm_test
	net_carrier rv "$V" 1 20 || fail pm/carrier "no carrier on $V after resume"
	x1=$(nsx rv $ETHTOOL -x "$V" 2>&1)
	[ "$x0" = "$x1" ] && ok pm/ethtool-x-kept || fail pm/ethtool-x-kept "before: $(echo "$x0" | tr '\n' ' ' | cut -c1-200) after: $(echo "$x1" | tr '\n' ' ' | cut -c1-200)"
	rss_expect pm/toeplitz-queues "$NET_RSS_EXPECT4"
	if [ -n "$HV" ]; then
		net_carrier hv "$HV" 1 20 || fail pm/hash-carrier "no carrier on $HV after resume"
		h=$(hash_flow "$NET_HASH_H0")
		[ "$h" = "10 10" ] && ok pm/hash-skb-hash || fail pm/hash-skb-hash "$h: want 10 datagrams, all with skb hash $NET_HASH_H0"
	fi
else
	skip pm/freeze-cycle "freeze is not in /sys/power/state"
fi
# ethtool -L with our key: fewer channels than the table uses are refused;
# with the default table (-X default) -L 2 spreads it over 2 queues and
# the key stays.
nsx rv $ETHTOOL -L "$V" combined 2 2>/dev/null && fail rss/L-refused "ethtool -L combined 2 taken with a table on 4 queues" || ok rss/L-refused
nsx rv $ETHTOOL -X "$V" default && nsx rv $ETHTOOL -L "$V" combined 2 || fail rss/L2 "ethtool -X default; -L combined 2"
rss_expect L2-queues "$NET_RSS_EXPECT2"
nsx rv $ETHTOOL -x "$V" | grep -qi "^$NET_RSS_KEY\$" && ok rss/L2-key-kept || fail rss/L2-key-kept "the key set is not what -x shows after -L 2"
# (-L 4 back: the default table on 4 queues is "equal 4" again, which the
# ctrl_drop check below sees kept.)
nsx rv $ETHTOOL -L "$V" combined 4 || fail rss/L4 "ethtool -L combined 4"
if [ "$NET_DRIVER" = vireo ]; then
	# A command the device does not answer (debugfs ctrl_drop): ethtool
	# fails, the previous table stays, on the device as well.
	knob=/sys/kernel/debug/vireo/$(basename "$(nsx rv readlink -f "/sys/class/net/$V/device")")/ctrl_drop
	echo 1 >"$knob"
	nsx rv $ETHTOOL -X "$V" equal 1 2>/dev/null && fail rss/failed-cmd "ethtool -X succeeded without an answer" || ok rss/failed-cmd
	rss_expect failed-cmd-kept "$NET_RSS_EXPECT4"
fi

# A device whose RSS limits make no sense (vireo_net only): debugfs
# config_patch makes rsv's (and hsv's) config read so, the driver is
# rebound: one line, neither RSS nor HASH_REPORT negotiated, -x shows
# nothing, -X is refused, and the NIC still carries traffic (pinged from
# its peer). Then rsv without the patch again: RSS back.
[ "$NET_DRIVER" = vireo ] || exit 0
rdev=$(basename "$(nsx rv readlink -f "/sys/class/net/$V/device")")
hdev=''
[ -n "$HV" ] && hdev=$(basename "$(nsx hv readlink -f "/sys/class/net/$HV/device")")
# rss_rebind DEV MAC NS ADDR: DEV unbound and bound again, its new
# interface (in V) moved to NS with ADDR, up.
rss_rebind() {
	echo "$1" >/sys/bus/vireo/drivers/vireo_net/unbind
	echo "$1" >/sys/bus/vireo/drivers/vireo_net/bind || return 1
	V=$(net_if "$2") || return 1
	$IP link set "$V" netns "$3" && $IP -n "$3" addr add "$4/24" dev "$V" &&
		$IP -n "$3" link set "$V" up && net_carrier "$3" "$V" 1 20
}
# rss_bad NAME DEV MAC NS ADDR PEERNS OFFSET LEN VALUE LINE: with VALUE
# at OFFSET, LINE (the line's "(key size K, table length T, hash types H"),
# or "none" for no line and HASH_REPORT still negotiated.
rss_bad() {
	_dbg=/sys/kernel/debug/vireo/$2/config_patch
	echo "$7 $8 $9" >"$_dbg" || { fail "bad/$1" "config_patch refused '$7 $8 $9'"; return; }
	echo "rss-bad-mark $1" >/dev/kmsg
	rss_rebind "$2" "$3" "$4" "$5" || fail "bad/$1/up" "no interface after rebinding $2"
	echo none >"$_dbg"
	# The device's lines but the three every probe prints.
	_l=$(dmesg | sed -n "/rss-bad-mark $1\$/,\$p" | grep -E "(^|[] ])$2[: ]" |
		grep -vE ": pci-modern |: link up\$|: vireo_net: MAC ")
	_n=$(printf '%s' "$_l" | grep -c .)
	printf '%s\n' "$_l" | sed "s/^/net: bad: $1: /"
	_f=$(cat "/sys/bus/vireo/devices/$2/features")
	_x=$(nsx "$4" $ETHTOOL -x "$V" 2>&1)
	echo "net: bad: $1: features $_f; -x: $(echo "$_x" | head -2 | tr '\n' ' ')"
	if [ "${10}" = none ]; then
		[ "$_n" = 0 ] && ok "bad/$1/no-line" || fail "bad/$1/no-line" "$_n lines: $(printf '%s' "$_l" | tr '\n' '|')"
		[ "$(echo "$_f" | cut -c58)" = 1 ] && ok "bad/$1/hash-report-kept" || fail "bad/$1/hash-report-kept" "HASH_REPORT (57) not negotiated: $_f"
	else
		[ "$_n" = 1 ] && printf '%s' "$_l" | grep -qF "device RSS config unusable (${10}" && ok "bad/$1/one-line" ||
			fail "bad/$1/one-line" "$_n lines (want 1 with '${10}'): $(printf '%s' "$_l" | tr '\n' '|')"
		[ "$(echo "$_f" | cut -c58)$(echo "$_f" | cut -c61)" = 00 ] && ok "bad/$1/not-negotiated" ||
			fail "bad/$1/not-negotiated" "HASH_REPORT (57) or RSS (60) negotiated: $_f"
		! echo "$_x" | grep -qE '^ *0:|^[0-9a-f]{2}:' && ok "bad/$1/ethtool-x-none" ||
			fail "bad/$1/ethtool-x-none" "$(echo "$_x" | tr '\n' ' ' | cut -c1-200)"
		nsx "$4" $ETHTOOL -X "$V" equal 1 2>/dev/null && fail "bad/$1/ethtool-X-refused" "ethtool -X taken" || ok "bad/$1/ethtool-X-refused"
	fi
	_r=$(nsx "$6" ping -c 1 -W 3 "$5" 2>&1 | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
	[ "${_r:-0}" = 1 ] && ok "bad/$1/traffic" || fail "bad/$1/traffic" "no ping reply from $5 (the rebound NIC) to $6"
}
# Offsets in struct virtio_net_config: rss_max_key_size 17 (u8),
# rss_max_indirection_table_length 18 (le16), supported_hash_types 20 (le32).
r="$rdev 52:54:00:60:00:02 rv 198.18.60.2 ri"
rss_bad key-0 $r 17 1 0 "key size 0, table length 128, hash types 0x1ff, 0)"
rss_bad key-41 $r 17 1 41 "key size 41, table length 128"
rss_bad table-0 $r 18 2 0 "key size 40, table length 0,"
rss_bad table-3 $r 18 2 3 "key size 40, table length 3,"
rss_bad table-65535 $r 18 2 65535 "key size 40, table length 65535,"
rss_bad hash-types-0 $r 20 4 0 "key size 40, table length 128, hash types 0x0, 0)"
rss_bad hash-types-unknown $r 20 4 0xfffffe00 "key size 40, table length 128, hash types 0x0, 0)"
if [ -n "$hdev" ]; then
	h="$hdev 52:54:00:61:00:02 hv 198.18.61.2 hi"
	rss_bad hash-only-key-41 $h 17 1 41 "key size 41,"
	# Without RSS the table length is not the driver's business.
	rss_bad hash-only-table-0 $h 18 2 0 none
fi
# Without the patch: RSS is back on rsv (128 entries, hash report).
rss_rebind "$rdev" 52:54:00:60:00:02 rv 198.18.60.2 || fail bad/clean-up "no interface after rebinding $rdev"
f=$(cat "/sys/bus/vireo/devices/$rdev/features")
[ "$(echo "$f" | cut -c58)$(echo "$f" | cut -c61)" = 11 ] &&
	[ "$(nsx rv $ETHTOOL -x "$V" | awk '/^ *[0-9]+:/ { n += NF - 1 } END { print n + 0 }')" = 128 ] &&
	ok bad/clean-rss-back || fail bad/clean-rss-back "features $f; $(nsx rv $ETHTOOL -x "$V" 2>&1 | head -2 | tr '\n' ' ')"
exit 0
