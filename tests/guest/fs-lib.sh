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
