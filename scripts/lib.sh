# Shared helpers for the host-side scripts. Source it; it sets nothing else.
# shellcheck shell=bash

VIREO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VIREO_CACHE=${VIREO_CACHE:-/var/cache/vireo}
# Where the modules of each kernel are (VIREO_BUILD/<kernel>/drivers/*/*.ko)
# and the initramfs images go; scripts/check points it at its own snapshot.
VIREO_BUILD=${VIREO_BUILD:-$VIREO_ROOT/build}
export VIREO_ROOT VIREO_CACHE VIREO_BUILD

die() {
	echo "${0##*/}: $*" >&2
	exit 2
}

# kernel_dir NAME: the cache directory of a kernel (6.1, 6.12, debug), or
# fail when it has not been fetched/built.
kernel_dir() {
	local d=$VIREO_CACHE/kernels/$1
	[ -e "$d/vmlinuz" ] && [ -d "$d/modules/" ] || return 1
	(cd "$d" && pwd -P)
}

# kernel_release NAME: e.g. 6.1.0-56-amd64
kernel_release() {
	local d
	d=$(kernel_dir "$1") || return 1
	basename "$(readlink -f "$d/modules")"
}

# kernel_builtin NAME MODULE: is MODULE (e.g. virtio_pci) built into it?
kernel_builtin() {
	local d
	d=$(kernel_dir "$1") || return 1
	grep -Eq "/${2//_/[_-]}\.ko\$" "$d/modules/modules.builtin" 2>/dev/null
}

# cell_parse CELL: set KERNEL TRANSPORT RING TAKEOVER from a cell name
# <kernel>-<transport>-<ring>[-<takeover>] (transport may be pci-legacy).
# shellcheck disable=SC2034 # set for the caller
cell_parse() {
	local c=$1 rest
	KERNEL=${c%%-*}
	rest=${c#*-}
	case $rest in
	pci-legacy-*) TRANSPORT=pci-legacy rest=${rest#pci-legacy-} ;;
	*) TRANSPORT=${rest%%-*} rest=${rest#*-} ;;
	esac
	RING=${rest%%-*}
	TAKEOVER=
	[ "$rest" = "$RING" ] || TAKEOVER=${rest#*-}
}
