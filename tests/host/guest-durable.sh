#!/usr/bin/env bash
# matrix: 6.1-pci-split
#
# Writes on the Debian guest's root disk survive as a user expects: a small
# package installed with dpkg -i and 64 MiB of files (their sha256 sums kept
# on the host) are there, intact, after two clean reboots (systemctl reboot,
# a new boot id each time), the package is still registered, and after the
# final poweroff the host's qemu-img check and fsck.ext4 -n find the image
# clean. The disk is on vireo_blk when this tree can install vireo (the
# variant drive: if=none,aio=native,cache.direct=on + virtio-blk-pci).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=scripts/guest-lib.sh
. "$VIREO_ROOT/scripts/guest-lib.sh"
# shellcheck source=tests/host/guest-common.inc
. "$(dirname "$0")/guest-common.inc"

# Three boots and 64 MiB of writes: about ten minutes a cell under TCG, more
# than make check's budget has for it. Opt in.
if [ "${VIREO_GUEST_DURABLE:-0}" != 1 ]; then
	tap_skip durable "VIREO_GUEST_DURABLE=1 runs it (about 10 min under TCG, over make check's budget)"
	exit 0
fi
guest_image || exit 0

# A small package made here: one file with known content.
pkg=$GUEST_WORK/pkg
mkdir -p "$pkg/DEBIAN" "$pkg/usr/share/vireo-durable"
cat >"$pkg/DEBIAN/control" <<'EOF'
Package: vireo-durable-test
Version: 1.0
Architecture: all
Maintainer: vireo tests <root@localhost>
Description: vireo's guest-durable test package
EOF
head -c 100000 /dev/urandom >"$pkg/usr/share/vireo-durable/payload"
pkgsum=$(sha256sum <"$pkg/usr/share/vireo-durable/payload" | cut -d' ' -f1)
dpkg-deb -b -Zgzip "$pkg" "$GUEST_WORK/vireo-durable-test.deb" >/dev/null

guest_boot_checked boot pci || exit 0
drv=$(guest_ssh 'basename "$(readlink -f /sys/block/vda/device/driver)"' </dev/null)
if [ "$GUEST_VIREO" != 1 ]; then
	tap_skip root-on-vireo_blk "vireo not installed in the image; vda is on $drv"
elif [ "$drv" = vireo_blk ]; then
	tap_ok root-on-vireo_blk
else
	tap_fail root-on-vireo_blk "vda is on $drv"
fi

if guest_ssh 'cat >/tmp/p.deb && dpkg -i /tmp/p.deb' <"$GUEST_WORK/vireo-durable-test.deb" >/dev/null; then
	tap_ok dpkg-i
else
	tap_fail dpkg-i "dpkg -i of a small package failed in the guest"
fi

# 64 files of 1 MiB from the host's urandom, written through ssh; sums here.
mkdir -p "$GUEST_WORK/files"
for i in $(seq 64); do head -c 1048576 /dev/urandom >"$GUEST_WORK/files/f$i"; done
(cd "$GUEST_WORK/files" && sha256sum f*) >"$GUEST_WORK/sums"
if tar -C "$GUEST_WORK/files" -cf - . | guest_ssh 'mkdir -p /root/durable && tar -C /root/durable -xf - && sync'; then
	tap_ok write-64MiB
else
	tap_fail write-64MiB "writing the files through ssh failed"
fi
rm -rf "$GUEST_WORK/files"

# check_files NAME: the guest's sums equal the host's, the package is there.
check_files() {
	local got
	got=$(guest_ssh 'cd /root/durable && sha256sum f*' </dev/null)
	if [ "$got" = "$(cat "$GUEST_WORK/sums")" ]; then
		tap_ok "$1-checksums"
	else
		tap_fail "$1-checksums" "$(diff <(echo "$got") "$GUEST_WORK/sums" | head -n 10)"
	fi
	got=$(guest_ssh "dpkg-query -W -f='\${Status}' vireo-durable-test && echo && sha256sum </usr/share/vireo-durable/payload" </dev/null)
	if [ "$got" = "install ok installed
$pkgsum  -" ]; then
		tap_ok "$1-package"
	else
		tap_fail "$1-package" "$got"
	fi
}
check_files written

for r in 1 2; do
	old=$(guest_ssh 'cat /proc/sys/kernel/random/boot_id' </dev/null)
	guest_ssh 'systemctl reboot' </dev/null >/dev/null 2>&1 || true
	# Until sshd of the old boot has gone, then the new boot answers.
	end=$((SECONDS + 900)) new=$old
	while [ $SECONDS -lt $end ] && kill -0 "$GUEST_PID" 2>/dev/null; do
		new=$(guest_ssh 'cat /proc/sys/kernel/random/boot_id' </dev/null 2>/dev/null) || new=
		[ -z "$new" ] || [ "$new" = "$old" ] || break
		sleep 3
	done
	if [ -n "$new" ] && [ "$new" != "$old" ]; then
		tap_ok "reboot-$r"
	else
		tap_fail "reboot-$r" "no new boot answered on ssh (console: $GUEST_CONSOLE)"
		guest_kill
		exit 0
	fi
	check_files "reboot-$r"
done

guest_shutdown_checked
exit 0
