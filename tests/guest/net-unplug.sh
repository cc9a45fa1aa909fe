# Guest side of tests/host/net-unplug.sh (busybox sh, sourced by the --cmd):
# three NICs on one tap bridge, each in a namespace of its own: G
# (198.18.0.1, unplugged by the host), S (198.18.0.3, stays), P
# (198.18.0.2, the peer). Phases:
#   freeze    PM freeze/restore through the device stage (pm_test=devices):
#             every NIC carries traffic after it
#   unplug    a TCP transfer from G when the host unplugs G (NET-UNPLUG-NOW):
#             the sender ends (with an error) within its bound, G goes away,
#             S and P keep working
#   unload    rmmod of the driver while S sends to P: rmmod succeeds, the
#             interfaces go, the sender ends; then the driver loads again
#   ctrl      (vireo_net) a control command whose answer never arrives
#             (debugfs ctrl_drop): `ethtool -L` fails within its bound,
#             the driver logs it, the next command works; then the module
#             unloads cleanly.
#             The in-tree driver busy-waits for the answer without limit
#             under RTNL (the guest would hang): not run against it.
# shellcheck shell=sh disable=SC2154 # NET_* come from the host
. /tests/net-lib.sh

[ "$NET_DRIVER" = intree ] && net_intree_load
MOD=$NET_DRV_NAME
G=$(net_if "$NET_MAC_G") && S=$(net_if "$NET_MAC_S") && P=$(net_if "$NET_MAC_P") || { fail nics "missing NICs: $(ls /sys/class/net)"; exit 1; }
net_check_driver g "" "$G"
net_ns g "$G" 198.18.0.1 && net_ns s "$S" 198.18.0.3 && net_ns p "$P" 198.18.0.2 || { fail netns "setup"; exit 1; }
net_carrier g "$G" 1 20 && net_carrier s "$S" 1 20 && net_carrier p "$P" 1 20 || fail carrier-up "no carrier at start"
net_udp reach-g g p 198.18.0.2 5000 64 200 && net_udp reach-s s p 198.18.0.2 5000 64 200 ||
	{ fail reach "no traffic: the other phases are not run"; exit 1; }

if grep -qw freeze /sys/power/state; then
	echo devices >/sys/power/pm_test
	dmesg -c >/dev/null
	check freeze-cycle sh -c "echo freeze >/sys/power/state"
	echo none >/sys/power/pm_test
	dmesg | grep -E "$MOD|virtio|vireo" | sed 's/^/net: pm: /'
	net_udp freeze-g-after g p 198.18.0.2 5001 200 1000
	net_udp freeze-s-after s p 198.18.0.2 5002 200 1000
	net_tcp freeze-tcp-after p s 198.18.0.3 5003 $((4 << 20)) 9 120
else
	skip freeze-cycle "no freeze in /sys/power/state"
fi

# unplug: a long transfer from G; the host unplugs G while it runs.
# On QEMU 7.2's q35 a pcie-root-port's slot is hot-plugged through ACPI
# (acpiphp), not pciehp: the guest logs no pciehp line either way.
# NET_HOTPLUG=0 (the host's choice) leaves this phase out.
if [ "${NET_HOTPLUG:-1}" = 1 ]; then
	nsx p netio tcp-recv 5010 25 >/tmp/unplug.r 2>&1 &
	rp=$!
	nsx g netio tcp-send 198.18.0.2 5010 $((16 << 30)) 3 25 >/tmp/unplug.s 2>&1 &
	sp=$!
	wait_for 30 sh -c "[ \$($IP netns exec g cat /sys/class/net/$G/statistics/tx_bytes) -gt 4000000 ]" ||
		fail unplug-traffic "the transfer did not get going"
	echo "NET-UNPLUG-NOW"
	wait_for 60 sh -c "! $IP netns exec g test -e /sys/class/net/$G" && ok unplug-netdev-gone ||
		fail unplug-netdev-gone "$G still there 60 s after device_del"
	wait $sp
	src=$?
	[ $src != 0 ] && ok unplug-sender-ended || fail unplug-sender-ended "the sender says it sent 16 GiB: $(cat /tmp/unplug.s)"
	# The receiver ends at its bound or when the peer's reset arrives.
	kill $rp 2>/dev/null
	wait $rp
	net_udp unplug-s-still-works s p 198.18.0.2 5011 200 1000
	net_tcp unplug-tcp-still-works p s 198.18.0.3 5012 $((4 << 20)) 10 120

else
	skip unplug "NET_HOTPLUG=0: no device_del asked for"
fi

# unload with the interface up and traffic.
nsx p netio tcp-recv 5020 25 >/tmp/unload.r 2>&1 &
rp=$!
nsx s netio tcp-send 198.18.0.2 5020 $((16 << 30)) 4 25 >/tmp/unload.s 2>&1 &
sp=$!
wait_for 30 sh -c "[ \$($IP netns exec s cat /sys/class/net/$S/statistics/tx_bytes) -gt 8000000 ]" ||
	fail unload-traffic "the transfer did not get going"
check unload-rmmod-under-traffic rmmod "$MOD"
wait $sp
[ $? != 0 ] && ok unload-sender-ended || fail unload-sender-ended "$(cat /tmp/unload.s)"
kill $rp 2>/dev/null
wait $rp
nsx s test -e "/sys/class/net/$S" && fail unload-netdevs-gone "$S still there" || ok unload-netdevs-gone
if [ "$MOD" = vireo_net ]; then
	check reload-insmod insmod /vireo/vireo_net.ko
else
	check reload-modprobe modprobe virtio_net
fi
S=$(net_if "$NET_MAC_S") && P=$(net_if "$NET_MAC_P") && ok reload-netdevs || fail reload-netdevs "$(ls /sys/class/net)"
$IP netns del s
$IP netns del p
net_ns s "$S" 198.18.0.3 && net_ns p "$P" 198.18.0.2 && net_carrier s "$S" 1 20 && net_carrier p "$P" 1 20
net_udp reload-udp s p 198.18.0.2 5021 200 1000

if [ "$MOD" != vireo_net ]; then
	skip ctrl-no-answer "the in-tree virtio_net busy-waits for a control answer without limit (the guest would hang)"
else
	# The driver's test knob: it ignores the device's next answer, so the
	# command waits its bound (ctrl_timeout_ms) and fails with one line.
	vdev=$(basename "$(nsx s readlink -f "/sys/class/net/$S/device")")
	knob=/sys/kernel/debug/vireo/$vdev/ctrl_drop
	dmesg -c >/dev/null
	echo 1 >"$knob"
	t0=$(cut -d. -f1 /proc/uptime)
	timeout 120 $IP netns exec s ethtool -L "$S" combined 1
	rc=$?
	t1=$(cut -d. -f1 /proc/uptime)
	dmesg | sed 's/^/net: ctrl: /'
	[ $rc != 0 ] && [ $rc != 124 ] && [ $((t1 - t0)) -le 30 ] && ok ctrl-no-answer-returns ||
		fail ctrl-no-answer-returns "ethtool -L with the answer dropped: rc $rc after $((t1 - t0)) s"
	dmesg | grep "vireo_net" | grep -qiE "no answer from the device" &&
		ok ctrl-no-answer-logged || fail ctrl-no-answer-logged "no vireo_net line about the unanswered command"
	check ctrl-next-command-works nsx s ethtool -L "$S" combined 1
	[ "$(nsx s ethtool -l "$S" | sed -n '/Current/,$s/^Combined:[[:space:]]*//p')" = 1 ] &&
		ok ctrl-next-command-applied || fail ctrl-next-command-applied "$(nsx s ethtool -l "$S")"
	check ctrl-no-answer-rmmod rmmod vireo_net
fi
exit 0
