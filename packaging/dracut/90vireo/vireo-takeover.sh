#!/bin/sh
# dracut pre-trigger hook: with vireo chosen, load vireo_transport and, where
# the in-tree virtio-pci is built in and took the devices at boot, move the
# device types vireo takes to it before udev's coldplug loads their drivers.
[ -e /etc/modprobe.d/vireo.conf ] || return 0 2>/dev/null || exit 0
if modprobe vireo_transport; then
	if [ -d /sys/bus/pci/drivers/virtio-pci ] && [ -x /usr/sbin/vireo-bind ]; then
		types=$(cat /sys/module/vireo_transport/parameters/types 2>/dev/null)
		/usr/sbin/vireo-bind --types "${types:-all}" all | sed 's/^/vireo: /' >/dev/kmsg
	fi
else
	echo "vireo: cannot load vireo_transport" >/dev/kmsg
fi
