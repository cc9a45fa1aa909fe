#!/bin/bash
# dracut module: vireo's modules (make install or DKMS), vireo-bind,
# vireo-takeover, vireo's udev storage rule and the modprobe.d choice, and
# the early takeover (vireo-takeover.sh).

check() {
	local f
	# shellcheck disable=SC2154 # set by dracut
	for f in "/lib/modules/$kernel"/updates/*/vireo_transport.ko*; do
		[ -e "$f" ] && return 0
	done
	return 255
}

depends() {
	echo udev-rules
}

installkernel() {
	local f m
	for f in "/lib/modules/$kernel"/updates/*/vireo_*.ko*; do
		[ -e "$f" ] || continue
		m=${f##*/}
		instmods "${m%%.ko*}"
	done
}

install() {
	inst_multiple -o /etc/modprobe.d/vireo.conf /lib/modprobe.d/vireo.conf
	inst_simple /usr/sbin/vireo-bind
	inst_simple /usr/lib/vireo/vireo-takeover
	inst_rules 59-vireo-storage.rules
	# shellcheck disable=SC2154 # set by dracut
	inst_hook pre-trigger 50 "$moddir/vireo-takeover.sh"
}
