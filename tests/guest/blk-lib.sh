# Guest-side helpers for the vireo_blk tests (busybox sh). Source it after
# /tests/lib.sh:  . /tests/blk-lib.sh
#
# Disks are found by their serial (QEMU's serial=), never by name or order:
# MMIO and PCI enumerate devices in different orders.
# shellcheck shell=sh

# blk_dev SERIAL: the name (vda, ...) of the disk with that serial; waits up
# to 20 s for it to appear.
blk_dev() {
	_bi=0
	while [ $_bi -lt 100 ]; do
		for _bd in /sys/block/vd*; do
			[ -e "$_bd/serial" ] || continue
			if [ "$(cat "$_bd/serial" 2>/dev/null)" = "$1" ]; then
				echo "${_bd##*/}"
				return 0
			fi
		done
		sleep 0.2
		_bi=$((_bi + 1))
	done
	return 1
}

# blk_is_vireo NAME: is disk NAME driven by vireo_blk (its device sits on the
# vireo bus)?
blk_is_vireo() {
	[ "$(readlink -f "/sys/block/$1/device/subsystem")" = /sys/bus/vireo ] &&
		[ "$(readlink -f "/sys/block/$1/device/driver")" = /sys/bus/vireo/drivers/vireo_blk ]
}

# blk_ext4: load ext4 (a module on Debian; crc32c first, or mount fails).
blk_ext4() {
	modprobe crc32c_generic 2>/dev/null
	modprobe ext4
}

# blk_tree DIR: write a small tree of files of awkward sizes, random bytes.
blk_tree() {
	for _bt in a b c; do
		mkdir -p "$1/$_bt/deep/er"
		for _bs in 0 1 511 4097 65537 300001; do
			head -c $_bs /dev/urandom >"$1/$_bt/f$_bs"
			head -c $((_bs / 3 + 7)) /dev/urandom >"$1/$_bt/deep/er/g$_bs"
		done
	done
	dd if=/dev/urandom of="$1/big" bs=1M count=4 2>/dev/null
}

# blk_sums DIR: sha256 of every file under DIR, relative names, sorted.
blk_sums() {
	(cd "$1" && find . -type f | sort | xargs sha256sum)
}

# blk_fs_roundtrip NAME DEV: mkfs.ext4, mount, write a tree, sync, unmount,
# mount again and verify every byte, unmount, fsck. Reports NAME/...
blk_fs_roundtrip() {
	_n=$1
	_dev=$2
	check "$_n/mkfs" mkfs.ext4 -q -F "$_dev" || return 1
	mkdir -p /mnt/blk
	check "$_n/mount" mount -t ext4 "$_dev" /mnt/blk || return 1
	blk_tree /mnt/blk
	blk_sums /mnt/blk >/tmp/blk-sums
	check "$_n/files-written" test "$(wc -l </tmp/blk-sums)" -ge 30
	sync
	check "$_n/umount" umount /mnt/blk
	# Nothing cached survives: the second mount reads the device.
	echo 3 >/proc/sys/vm/drop_caches
	check "$_n/remount" mount -t ext4 "$_dev" /mnt/blk || return 1
	check "$_n/checksums" sh -c "cd /mnt/blk && sha256sum -c -s /tmp/blk-sums"
	check "$_n/umount-again" umount /mnt/blk
	check "$_n/fsck-clean" e2fsck -fn "$_dev"
}

# blk_mbr DEV START SECTORS: a DOS partition table with one Linux partition.
blk_mbr() {
	_le32() { printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $((($1 >> 8) & 255)))\\$(printf %03o $((($1 >> 16) & 255)))\\$(printf %03o $((($1 >> 24) & 255)))"; }
	{
		printf '\000\000\000\000\203\000\000\000'
		_le32 "$2"
		_le32 "$3"
	} | dd of="$1" bs=1 seek=446 conv=notrunc 2>/dev/null
	printf '\125\252' | dd of="$1" bs=1 seek=510 conv=notrunc 2>/dev/null
	sync
	blockdev --rereadpt "$1"
}

# blk_size NAME: the disk's size in 512-byte sectors.
blk_size() {
	cat "/sys/block/$1/size"
}

# blk_wait_size NAME SECTORS [SECS]: wait (default 300 s) until disk NAME
# has SECTORS sectors. The host answers a marker by resizing a disk (QMP
# block_resize): the one way it can tell a running guest "go on".
blk_wait_size() {
	wait_for "${3:-300}" sh -c "test \$(cat /sys/block/$1/size) = $2"
}

# bounded NAME SECS CMD...: run CMD in the background and check that it
# returns within SECS (a hung unbind stays in D state; it is not waited for).
bounded() {
	_bn=$1 _bs=$2 _bf=/tmp/$(echo "$1" | tr / _)
	shift 2
	rm -f "$_bf.rc"
	(
		"$@" >"$_bf.out" 2>&1
		echo $? >"$_bf.rc"
	) &
	check "$_bn" wait_for "$_bs" test -e "$_bf.rc" || return 1
	check_eq "$_bn-status" 0 cat "$_bf.rc"
}
