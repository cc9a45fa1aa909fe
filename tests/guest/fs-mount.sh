# Guest side of tests/host/fs-mount.sh: three virtio-fs devices (tags fsa,
# fsb, fsc), all the in-tree virtiofs's at boot (6.12: built in); vireo-bind
# moves fsa and fsb to vireo_fs. util-linux's mount (/usr/bin/mount here,
# with /sbin/mount.virtiofs as installed) then mounts every tag with
# `mount -t virtiofs`: fsa and fsb with vireo_fs, fsc with the in-tree
# virtiofs; fsa twice, and fsb from an fstab line. The host checks which
# directory each file landed in.
# shellcheck shell=sh
. /tests/fs-lib.sh

UM=/usr/bin/mount # util-linux's; /bin/mount is busybox's (no helpers)

# fstype DIR: the type /proc/mounts gives for DIR.
fstype() {
	awk -v d="$1" '$2 == d {t = $3} END {print t}' /proc/mounts
}

# intree_pci TAG: the PCI device of the in-tree virtiofs device with TAG.
intree_pci() {
	for _t in /sys/fs/virtiofs/*/tag; do
		[ "$(cat "$_t")" = "$1" ] || continue
		basename "$(dirname "$(readlink -f "${_t%/tag}/device")")"
		return 0
	done
	return 1
}

check helper-installed test -x /sbin/mount.virtiofs
check util-linux-mount sh -c "$UM --version | grep -q util-linux"
check_eq intree-has-all "fsa fsb fsc" sh -c "cat /sys/fs/virtiofs/*/tag | sort | xargs"
pa=$(intree_pci fsa)
pb=$(intree_pci fsb)
check pci-of-tags test -n "$pa" -a -n "$pb"
for m in vireo_ring vireo_transport vireo_fs; do
	check "insmod-$m" insmod "/vireo/$m.ko"
done
check vireo-bind vireo-bind "$pa" "$pb"
check_eq vireo-tags "fsa fsb" sh -c "cat /sys/bus/vireo/drivers/vireo_fs/*/tag | sort | xargs"
check_eq intree-keeps-fsc fsc sh -c "cat /sys/fs/virtiofs/*/tag | xargs"

mkdir -p /mnt/a /mnt/a2 /mnt/b /mnt/bf /mnt/c /mnt/c2 /mnt/n
# The inner mount is busybox's (PATH has /bin first) ...
check mount-fsa $UM -t virtiofs fsa /mnt/a
check_eq fsa-is-vireo vireofs fstype /mnt/a
check_eq helper-verbose "mount.virtiofs: fsb is a vireo_fs device: mount -t vireofs" \
	sh -c "/sbin/mount.virtiofs fsb /mnt/b -v 2>&1 >/dev/null | head -n 1; umount /mnt/b"
# ... or util-linux's, with options passed through.
check mount-fsa-again-ro env PATH=/usr/bin:/bin:/sbin $UM -t virtiofs -o ro,noatime fsa /mnt/a2
check_eq fsa-again-vireo-ro "vireofs ro" sh -c "awk '\$2 == \"/mnt/a2\" {split(\$4, o, \",\"); print \$3, o[1]}' /proc/mounts"
check mount-fsc $UM -t virtiofs fsc /mnt/c
check_eq fsc-is-intree virtiofs fstype /mnt/c
check mount-fsc-again $UM -t virtiofs fsc /mnt/c2
check_eq fsc-again-intree virtiofs fstype /mnt/c2
echo 'fsb /mnt/bf virtiofs defaults 0 0' >>/etc/fstab
check mount-fsb-fstab $UM /mnt/bf
check_eq fsb-is-vireo vireofs fstype /mnt/bf
check unknown-tag-fails sh -c "! $UM -t virtiofs nosuch /mnt/n"
check_eq unknown-tag-not-mounted "" fstype /mnt/n

# Writes on every mount at once; the host finds each in its directory.
dd if=/dev/urandom of=/tmp/big bs=64k count=64 2>/dev/null
echo "FS-SHA big $(sha256sum /tmp/big | cut -d' ' -f1)"
cp /tmp/big /mnt/a/big &
ca=$!
cp /tmp/big /mnt/bf/big &
cb=$!
cp /tmp/big /mnt/c/big &
cc=$!
wait $ca
ra=$?
wait $cb
rb=$?
wait $cc
check_eq parallel-copies "0 0 0" echo "$ra $rb $?"
echo A >/mnt/a/fromA
echo B >/mnt/bf/fromB
echo C >/mnt/c/fromC
check_eq fsa-twice-one-fs A cat /mnt/a2/fromA
echo x >/mnt/a/rw
check_eq ro-mount-refuses "err=EROFS x" sh -c "echo \$(fs-ops append /mnt/a2/rw y 2>/dev/null) \$(cat /mnt/a/rw)"
check_eq fsc-twice-one-fs C cat /mnt/c2/fromC
check_eq tags-apart "none none" sh -c "echo \$(test -e /mnt/a/fromB && echo leak || echo none) \$(test -e /mnt/bf/fromA && echo leak || echo none)"

# fsb's daemon logs every request (-o debug): the host looks for these.
check syncfs sync -f /mnt/bf/fromB
check_eq copy-range-fsb copied=1000 fs-ops copyrange /mnt/bf/big 0 /mnt/bf/cfr 0 1000

check umount-all sh -c "umount /mnt/a2 && umount /mnt/a && umount /mnt/bf && umount /mnt/c2 && umount /mnt/c"
check unload-vireo-fs rmmod vireo_fs
