#!/bin/sh
# dracut pre-trigger hook: with vireo chosen, load vireo_transport and move
# the chosen device types from the in-tree virtio-pci (where it is built in
# and took them at boot) to vireo, before udev's coldplug loads their
# drivers (vireo-takeover; docs/install.md).
[ -e /etc/modprobe.d/vireo.conf ] || return 0 2>/dev/null || exit 0
/usr/lib/vireo/vireo-takeover all >/dev/kmsg 2>&1
