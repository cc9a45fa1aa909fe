# Guest side of scripts/bench-net (busybox sh, sourced by the --cmd): two
# back-to-back pairs on tap bridges of their own, the in-tree virtio_net on
# one (MACs ..:e1:01/02), vireo_net on the other (..:e2:01/02; with
# BENCH_B=intree the in-tree driver on both, which measures the noise).
# BENCH_ROUNDS rounds, each runs every workload on both pairs, the order
# alternating from round to round. Lines for the host:
#   BENCH <round> <intree|vireo> <workload> <value>
# BENCH_MODE=insns (the guest runs under the insn-count plugin): per driver
# and workload a short and a long run of a fixed amount (BENCH_UNITS/4 and
# BENCH_UNITS: MiB of one TCP stream a->b, 64-byte UDP datagrams a->b in
# confirmed batches), each between two insn-marks; the host subtracts the
# first from the second. Lines for the host (as tests/guest/blk-insns.sh):
#   INSN-RUN <workload> <intree|vireo> <file after the short run>
#            <file after the long run> <extra units>
# then the kernel's text symbols between KSYMS-BEGIN and KSYMS-END, and for
# the TCP runs (both together, counted outside the marks) the COUNT lines
# of BENCH_MODE=counters, which runs only those (see counters_begin).
# shellcheck shell=sh disable=SC2154 # BENCH_* come from the host
. /tests/net-lib.sh

modprobe virtio_pci 2>/dev/null
modprobe virtio_net || exit 1
if [ "${BENCH_B:-vireo}" = vireo ]; then
	vireo_load vireo_ring vireo_transport vireo_net || exit 1
	for m in 52:54:00:00:e2:01 52:54:00:00:e2:02; do
		d=$(net_if $m) || exit 1
		vireo-bind "$(basename "$(readlink -f "/sys/class/net/$d/device/..")")" >/dev/null || exit 1
	done
fi
n=0
for p in "intree 52:54:00:00:e1" "vireo 52:54:00:00:e2"; do
	set -- $p
	n=$((n + 1))
	a=$(net_if "$2:01") && b=$(net_if "$2:02") || exit 1
	$ETHTOOL -i "$a" | head -n 1 | sed "s/^/net: $1 pair: /"
	net_ns "${1}a" "$a" "198.18.$n.1" && net_ns "${1}b" "$b" "198.18.$n.2" || exit 1
	net_carrier "${1}a" "$a" 1 20 && net_carrier "${1}b" "$b" 1 20 || exit 1
done
ip_of() { [ "$1" = intree ] && echo 198.18.1 || echo 198.18.2; }

S=${BENCH_SECS:-5}
run() { # WHO WORKLOAD: prints the value
	_p=$(ip_of "$1")
	case $2 in
	tcp-a-to-b | tcp-b-to-a | tcp4-a-to-b)
		_st=1 _src=a _dst=b _ip=$_p.2
		[ "$2" = tcp-b-to-a ] && _src=b _dst=a _ip=$_p.1
		[ "$2" = tcp4-a-to-b ] && _st=4
		nsx "$1$_dst" netio tcp-sink 6000 $_st $((S + 60)) >/tmp/sink.out &
		_sp=$!
		nsx "$1$_src" netio tcp-stream "$_ip" 6000 $_st "$S" >/dev/null
		wait $_sp
		# MiB/s at the receiver.
		awk -F'[= ]' '/^bytes=/ { printf "%.1f\n", $2 / 1048576 / $4 }' /tmp/sink.out ;;
	rr)
		nsx "${1}b" netio rr-server 6001 $((S + 60)) &
		_sp=$!
		nsx "${1}a" netio rr-client "$_p.2" 6001 "$S" | awk -F'[= ]' '{ printf "%.0f\n", $2 / $4 }'
		wait $_sp ;;
	udp64)
		nsx "${1}b" netio udp-recv 6002 $((S + 60)) >/tmp/udp.out &
		_sp=$!
		net_listening "${1}b" 6002 20 udp
		nsx "${1}a" netio udp-flood "$_p.2" 6002 64 "$S" >/dev/null
		wait $_sp
		# Datagrams per second that arrived.
		awk -F'[= ]' -v s="$S" '/^datagrams=/ { printf "%.0f\n", $2 / s }' /tmp/udp.out ;;
	esac
}

# insn_run WHO WORKLOAD UNITS: one fixed-size run; prints the units done.
insn_run() {
	_p=$(ip_of "$1")
	case $2 in
	tcp-a-to-b)
		nsx "${1}b" netio tcp-recv 6010 600 >/tmp/irecv.out &
		_sp=$!
		nsx "${1}a" netio tcp-send "$_p.2" 6010 $(($3 << 20)) 7 600 >/tmp/isend.out || return 1
		wait $_sp || return 1
		# The sha256 of both ends must agree: the bytes arrived.
		[ "$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' /tmp/irecv.out)" = \
			"$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' /tmp/isend.out)" ] || return 1
		awk -F'[= ]' '/^bytes=/ { print int($2 / 1048576) }' /tmp/irecv.out ;;
	udp64)
		nsx "${1}b" netio udp-recv 6011 600 >/tmp/iudp.out &
		_sp=$!
		# The receiver's socket first (6011 = 0x177B), or the first
		# datagram meets a closed port (ECONNREFUSED).
		wait_for 20 nsx "${1}b" grep -q ':177B ' /proc/net/udp || return 1
		nsx "${1}a" netio udp-send "$_p.2" 6011 "$3" 64 600 >/dev/null || return 1
		wait $_sp || return 1
		awk -F'[= ]' '/^datagrams=/ { print $2 }' /tmp/iudp.out ;;
	esac
}

# counters_snap NS IF: "name value" lines: the interface's packet, byte and
# drop counts, every Tcp/TcpExt/Udp counter of the namespace, the queues'
# ethtool -S counters summed by name (es.tx_kicks = every tx_queue_N_kicks)
# and the interrupts of the NIC's PCI function (irq.all).
counters_snap() {
	for _c in tx_packets tx_bytes rx_packets rx_bytes rx_dropped tx_dropped; do
		echo "link.$_c $(net_stat "$1" "$2" $_c)"
	done
	nsx "$1" $ETHTOOL -S "$2" 2>/dev/null | awk '
		{ k = $1; sub(/:$/, "", k) }
		$2 !~ /^[0-9]+$/ { next }
		k ~ /_queue_[0-9]+_packets$/ { s["es." k] += $2 }
		{ sub(/_queue_[0-9]+_/, "_", k); s["es." k] += $2 } END { for (k in s) print k, s[k] }'
	_irqs=$(nsx "$1" ls "/sys/class/net/$2/device/../msi_irqs" 2>/dev/null | tr '\n' ' ')
	awk -v l=" $_irqs" '{ i = $1; sub(/:$/, "", i) } index(l, " " i " ") {
		for (c = 2; c <= NF && $c ~ /^[0-9]+$/; c++) n += $c } END { print "irq.all", n + 0 }' /proc/interrupts
	nsx "$1" cat /proc/net/snmp /proc/net/netstat | awk '
		$1 !~ /^(Tcp|Udp):/ && $1 !~ /^TcpExt/ { next }
		!($1 in h) { h[$1] = $0; next }
		{ n = split(h[$1], k); p = substr($1, 1, length($1) - 1)
		  for (i = 2; i <= n; i++) print p "." k[i], $i; delete h[$1] }'
}

# counters_begin WHO / counters_end WHO UNITS: the counters of both ends of
# pair WHO before and after some TCP runs a->b, printed per MiB:
#   COUNT <intree|vireo> <a|b> <counter> <per MiB>
counters_begin() {
	for _s in a b; do
		_d=$(nsx "$1$_s" ls /sys/class/net | grep -v '^lo$' | head -n 1)
		counters_snap "$1$_s" "$_d" >"/tmp/c0.$1$_s"
	done
}
counters_end() {
	for _s in a b; do
		_d=$(nsx "$1$_s" ls /sys/class/net | grep -v '^lo$' | head -n 1)
		counters_snap "$1$_s" "$_d" >"/tmp/c1.$1$_s"
		awk -v w="$1" -v s="$_s" -v m="$2" 'NR == FNR { a[$1] = $2; next }
			$2 != a[$1] { printf "COUNT %s %s %s %.1f\n", w, s, $1, ($2 - a[$1]) / m }' \
			"/tmp/c0.$1$_s" "/tmp/c1.$1$_s"
	done
}

# BENCH_MODE=counters: per pair, one TCP stream a->b of BENCH_UNITS MiB
# (after a warm-up of a quarter of it) and what it took per MiB at both
# ends (segments, ACKs, frames), with the interfaces' offload settings
# (KFEAT, LINK lines).
if [ "${BENCH_MODE:-rate}" = counters ]; then
	u=${BENCH_UNITS:-16}
	for who in intree vireo; do
		for s in a b; do
			d=$(nsx "$who$s" ls /sys/class/net | grep -v '^lo$' | head -n 1)
			nsx "$who$s" $ETHTOOL -k "$d" | grep -v fixed | sed "s/^/KFEAT $who $s /"
			nsx "$who$s" $IP -d link show dev "$d" | tr ' ' '\n' |
				awk -v w="$who" -v s="$s" '/^(gso|tso|gro)_max/ { k = $1; getline; print "LINK", w, s, k, $1 }'
		done
		insn_run "$who" tcp-a-to-b $((u / 4)) >/dev/null || { echo "counters: $who warm-up failed"; exit 1; }
		counters_begin "$who"
		mib=$(insn_run "$who" tcp-a-to-b "$u") || { echo "counters: $who failed"; exit 1; }
		counters_end "$who" "$mib"
	done
	# The 64-byte UDP flood of the rates (SECS), per 1000 datagrams that
	# arrived: where the others went (sender, ring, device, receiver) and
	# what each took in kicks and interrupts.
	for who in intree vireo; do
		run "$who" udp64 >/dev/null
		counters_begin "$who"
		r=$(run "$who" udp64)
		echo "UDP-RATE $who $r"
		counters_end "$who" "$((r * S / 1000))" | sed 's/^COUNT/UCOUNT/'
	done
	exit 0
fi

if [ "${BENCH_MODE:-rate}" = insns ]; then
	marks=0
	for w in ${BENCH_WORKLOADS:-tcp-a-to-b udp64}; do
		u=${BENCH_UNITS:-32}
		[ "$w" = udp64 ] && u=$((u * 64))
		# A warm-up of each: caches, ARP, the first page allocations.
		insn_run intree "$w" $((u / 4)) >/dev/null && insn_run vireo "$w" $((u / 4)) >/dev/null ||
			{ echo "insns: $w warm-up failed"; exit 1; }
		for who in intree vireo; do
			[ "$w" = tcp-a-to-b ] && counters_begin "$who"
			insn-mark
			marks=$((marks + 1))
			n1=$(insn_run "$who" "$w" $((u / 4))) || { echo "insns: $who $w failed"; exit 1; }
			insn-mark
			marks=$((marks + 1))
			f1=$((marks - 1))
			n2=$(insn_run "$who" "$w" "$u") || { echo "insns: $who $w failed"; exit 1; }
			insn-mark
			marks=$((marks + 1))
			echo "INSN-RUN $w $who $f1 $((marks - 1)) $((n2 - n1))"
			[ "$w" = tcp-a-to-b ] && counters_end "$who" $((n1 + n2))
		done
	done
	echo KSYMS-BEGIN
	grep -E ' [tT] ' /proc/kallsyms
	echo KSYMS-END
	exit 0
fi

r=1
while [ $r -le "${BENCH_ROUNDS:-5}" ]; do
	if [ $((r % 2)) = 1 ]; then order="intree vireo"; else order="vireo intree"; fi
	for w in ${BENCH_WORKLOADS:-tcp-a-to-b tcp-b-to-a tcp4-a-to-b rr udp64}; do
		for who in $order; do
			echo "BENCH $r $who $w $(run "$who" "$w")"
		done
	done
	r=$((r + 1))
done
