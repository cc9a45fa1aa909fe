# Guest helpers for the virtio-fs tests (tests/host/fs-*.sh).
# shellcheck shell=sh

# fs_type: the type to mount a vireo virtio-fs device with here: virtiofs
# where vireo_fs registered that name, vireofs where the in-tree virtiofs
# holds it (built into Debian's 6.12). Checks that vireo_fs said which.
fs_type() {
	if dmesg | grep -q 'vireo_fs: file systems vireofs and virtiofs registered'; then
		echo virtiofs
	elif dmesg | grep -q 'vireo_fs: the name virtiofs is taken'; then
		echo vireofs
	else
		echo none
	fi
}

# fs_mount TAG DIR: mounts with fs_type; fails (TAP) if it cannot.
fs_mount() {
	FS_TYPE=$(fs_type)
	mkdir -p "$2"
	check "mount-$FS_TYPE" mount -t "$FS_TYPE" "$1" "$2"
}

# fs_ring_check: the ring layout of the virtio-fs device is the cell's.
# A vhost-user backend that does not offer VIRTIO_F_RING_PACKED (bit 34)
# leaves QEMU's packed=on without effect: that is reported as a skip.
fs_ring_check() {
	_d=$(vireo_devices 0x001a | head -n 1)
	_f=$(cut -c35 "$_d/features")
	_o=$(cut -c35 "$_d/device_features")
	echo "virtio-fs features $(cat "$_d/features")"
	if [ "$VIREO_RING" = packed ] && [ "$_o" = 0 ]; then
		skip ring-packed "the device (virtiofsd through vhost-user) does not offer RING_PACKED"
	elif [ "$VIREO_RING" = packed ]; then
		check_eq ring-packed 1 echo "$_f"
	else
		check_eq ring-split 0 echo "$_f"
	fi
}
