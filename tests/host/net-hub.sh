#!/usr/bin/env bash
# matrix: 6.12-pci-legacy-split 6.1-mmio1-split 6.12-mmio2-packed
#
# vireo_net on the transports without a virtio-net header on the wire: two
# NICs back to back on a QEMU hub (--net-hub: QEMU withdraws every checksum
# and TSO offload there and has no multiqueue, so those phases are not run
# here; net-tap.sh runs them on PCI), each in a network namespace of its own
# (tests/guest/net-pair.sh: TCP both ways with sha256, UDP, counters,
# filters, VLAN, MAC change, MTU 9000, carrier through QMP), and a third NIC
# on QEMU user networking (restrict=on, hostfwd on 127.0.0.1 only): the
# host sends 8 MiB to the guest and reads 8 MiB from it, sha256 on both
# sides.
# On 6.1-mmio1-split vireo_net runs with napi_tx=0 (completions reaped by
# the next transmit, an interrupt only for a stopped queue): every phase
# then shows that mode, and the probe line must say it.
# NET_DRIVER=intree runs the same against the in-tree virtio_net.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

drv=${NET_DRIVER:-vireo}
dargs=()
[ "$drv" = vireo ] || dargs=(--no-vireo --takeover none)
napi_tx=1
[ "$drv" != vireo ] || [ "$CELL" != 6.1-mmio1-split ] || { napi_tx=0; dargs=(--modparam "vireo_net napi_tx=0"); }
bytes=$((64 << 20))
[ "$KERNEL" != debug ] || bytes=$((16 << 20))
ubytes=$((8 << 20))

# Two free ports on 127.0.0.1 for the forwards.
read -r p1 p2 < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

boot_bg --name main --timeout 900 "${dargs[@]}" \
	--net-hub ha --net-hub hb --net-user u0,hostfwd=tcp:127.0.0.1:$p1-:5020,hostfwd=tcp:127.0.0.1:$p2-:5021 \
	--dev "net,netdev=ha,id=nica,mac=52:54:00:00:0a:01,host_mtu=9000" \
	--dev "net,netdev=hb,id=nicb,mac=52:54:00:00:0b:01,host_mtu=9000" \
	--dev "net,netdev=u0,id=nicu,mac=52:54:00:00:0c:01" \
	--cmd "NET_DRIVER=$drv NET_MAC_A=52:54:00:00:0a:01 NET_MAC_B=52:54:00:00:0b:01 NET_BYTES=$bytes \
NET_PHASES='driver tcp udp filters mtu link user' NET_MTU=9000 NET_MAC_U=52:54:00:00:0c:01 NET_USER_BYTES=$ubytes \
. /tests/net-pair.sh"

# host_send PORT BYTES SEED / host_recv PORT: netio's stream over the
# forwards (bounded: 120 s), "bytes=N sha256=HEX" like netio prints.
host_io() {
	timeout 150 python3 - "$@" <<'PY'
import hashlib, socket, struct, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
end = time.time() + 120
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        break
    except OSError:
        if time.time() > end: sys.exit("connect timed out")
        time.sleep(0.5)
s.settimeout(120)
h = hashlib.sha256()
n = 0
if mode == "send":
    # netio's stream: xorshift64* from seed*2+1, 8-byte words, native order.
    total, seed = int(sys.argv[3]), int(sys.argv[4])
    x = (seed * 2 + 1) & (2**64 - 1)
    m = 2**64 - 1
    while n < total:
        words = []
        for _ in range(8192):
            x ^= x >> 12; x ^= (x << 25) & m; x ^= x >> 27
            words.append((x * 0x2545f4914f6cdd1d) & m)
        b = struct.pack("<8192Q", *words)[: total - n]
        s.sendall(b); h.update(b); n += len(b)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
else:
    # A guest may drop a connection that was opened before it listened:
    # an empty one is retried.
    while True:
        b = s.recv(65536)
        if not b: break
        h.update(b); n += len(b)
print("bytes=%d sha256=%s" % (n, h.hexdigest()))
PY
}

if guest_console_wait '^NET-USER-READY' 700; then
	hs=$(host_io send "$p1" "$ubytes" 11 2>&1)
	hr=$(host_io recv "$p2" 2>&1)
	echo "# host sent: $hs"
	echo "# host received: $hr"
	if guest_console_wait '^NET-USER-DONE' 200; then
		gr=$(grep -aoE 'net: user-recv: bytes=[0-9]+ sha256=[0-9a-f]+' "$GUEST_LOG" | head -n 1 | sed 's/^net: user-recv: //')
		gs=$(grep -aoE 'net: user-send: bytes=[0-9]+ sha256=[0-9a-f]+' "$GUEST_LOG" | head -n 1 | sed 's/^net: user-send: //')
		if [ -n "$gr" ] && [ "$gr" = "$hs" ] && [ "${hs%% *}" = "bytes=$ubytes" ]; then
			tap_ok user-host-to-guest
		else
			tap_fail user-host-to-guest "host: '$hs', guest: '$gr'"
		fi
		if [ -n "$gs" ] && [ "$gs" = "$hr" ] && [ "${hr%% *}" = "bytes=$ubytes" ]; then
			tap_ok user-guest-to-host
		else
			tap_fail user-guest-to-host "guest: '$gs', host: '$hr'"
		fi
	else
		tap_fail user-net "the guest never finished its user-net phase"
	fi
fi
if guest_console_wait '^NET-LINK-DOWN' 700; then
	qmp 'set_link {"name": "nica", "up": false}' >/dev/null || tap_fail qmp-set-link-down "QMP set_link failed"
	if guest_console_wait '^NET-LINK-UP' 120; then
		qmp 'set_link {"name": "nica", "up": true}' >/dev/null || tap_fail qmp-set-link-up "QMP set_link failed"
	fi
fi
wait_guest 900
if [ "$drv" = vireo ]; then
	# The probe line lists ", napi_tx" for each NIC in that mode.
	nt=$(grep -ac 'vireo_net: MAC .*, napi_tx, mtu' "$GUEST_LOG")
	if { [ $napi_tx = 1 ] && [ "$nt" = 3 ]; } || { [ $napi_tx = 0 ] && [ "$nt" = 0 ]; }; then
		tap_ok "napi-tx-$napi_tx"
	else
		tap_fail "napi-tx-$napi_tx" "$nt of 3 NICs probed with napi_tx"
	fi
fi
exit 0
