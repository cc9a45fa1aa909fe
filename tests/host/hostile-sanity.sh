#!/usr/bin/env bash
# matrix: 6.1-pci-split
#
# The hostile-blk back-end without a fault rule is a correct virtio-blk
# device: the in-tree virtio_blk (no vireo in this guest) reads the bytes
# the host wrote, writes and reads 8 MiB with O_DIRECT over two queues,
# keeps ext4 on it, logs nothing; afterwards the back-end saw no driver
# error and the host's fsck finds the guest's ext4 clean in the image. The same checks
# run for vireo_blk in hostile-blk.sh (the "clean" disk), so a failure
# there that passes here is the driver's.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/hostile/lib.sh
. "$VIREO_ROOT/tests/hostile/lib.sh"

hostile_build || { tap_fail build "tests/hostile does not build"; exit 0; }
make -s -C "$VIREO_ROOT/tests/guest-src" OUT="$VIREO_ROOT/build/guest-bin" >&2
hostile_disk intree 0x08 hx-intree queues=2

mapfile -t qargs < <(hostile_args)
boot --name main --timeout 600 --no-vireo --takeover none "${qargs[@]}" --cmd "
$(cat "$VIREO_ROOT/tests/hostile/guest.sh")
modprobe virtio_pci 2>/dev/null
check intree-loaded modprobe virtio_blk
hx_clean intree hx-intree
_d=\$(blk_dev hx-intree)
check_eq intree/driver virtio_blk basename \"\$(readlink -f /sys/block/\$_d/device/driver)\"
check_eq intree/queues 2 sh -c \"ls -d /sys/block/\$_d/mq/* | wc -l\"
"
hostile_stop
hostile_host_checks intree
if out=$(e2fsck -fn "$HOSTILE_WORK/intree.img" 2>&1); then
	tap_ok host/intree/fsck-image
else
	tap_fail host/intree/fsck-image "$(echo "$out" | tail -n 5)"
fi
exit 0
