#!/usr/bin/env bash
# matrix: 6.1-pci-split 6.1-pci-legacy-split 6.1-mmio1-split 6.1-mmio2-packed 6.12-pci-packed 6.12-pci-legacy-split 6.12-mmio2-split 6.12-pci-split-bind 6.1-pci-split-intree debug-pci-split debug-mmio2-packed
#
# vireo_blk, the core: five disks in one guest, each told something different
# by QEMU and checked against it from inside the guest and, through QMP and
# the raw images, from outside:
#  fs    ext4 on the whole disk (4 KiB logical / 8 KiB physical blocks,
#        min/opt I/O, 2 queues); then QMP block_resize: new size and a
#        RESIZE uevent in the guest, the new space usable; fsck on the host
#  part  a partition table and ext4 on the partition; unloading the module
#        is refused while it is mounted; cache_type switched to write
#        through (QMP query-block must see it) and back; queue-size 128
#  ro    a read-only drive with a 20-byte serial, a CHS geometry and the
#        write cache off
#  err   blkdebug failing writes to one sector, werror=report: EIO to the
#        writer (O_DIRECT and fsync), all other I/O fine; no CONFIG_WCE
#  disc  a raw sparse image: discard, write zeroes, punch hole, zero range;
#        the host checks that the file shrank (du) and the bytes in it
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-blk-core.XXXXXX")
trap 'rm -rf "$work"' EXIT
for d in fs part ro err disc; do truncate -s 64M "$work/$d.img"; done

size=$((64 << 20))
resize=$((96 << 20))
err_off=$((4 << 20))
cat >"$work/blkdebug.conf" <<EOF
[inject-error]
event = "write_aio"
iotype = "write"
errno = "5"
sector = "$((err_off / 512))"
EOF

s_fs=vireo-fs-0001 s_part=vireo-part-0002 s_ro=ABCDEFGHIJKLMNOPQRST s_err=vireo-err-0004 s_disc=vireo-disc-0005
args=(
	--qemu -drive --qemu "file=$work/fs.img,if=none,id=dfs,format=raw"
	--qemu -drive --qemu "file=$work/part.img,if=none,id=dpart,format=raw"
	--qemu -drive --qemu "file=$work/ro.img,if=none,id=dro,format=raw,readonly=on"
	--qemu -drive --qemu "if=none,id=derr,format=raw,werror=report,rerror=report,file.driver=blkdebug,file.config=$work/blkdebug.conf,file.image.driver=file,file.image.filename=$work/err.img"
	--qemu -drive --qemu "file=$work/disc.img,if=none,id=ddisc,format=raw,discard=unmap"
	--dev "blk,drive=dfs,serial=$s_fs,logical_block_size=4096,physical_block_size=8192,min_io_size=16384,opt_io_size=65536,num-queues=2"
	--dev "blk,drive=dpart,serial=$s_part,num-queues=1,queue-size=128"
	--dev "blk,drive=dro,serial=$s_ro,cyls=128,heads=16,secs=64,write-cache=off"
	--dev "blk,drive=derr,serial=$s_err,config-wce=off"
	--dev "blk,drive=ddisc,serial=$s_disc,discard_granularity=65536,max-discard-sectors=8192,max-write-zeroes-sectors=2048"
)
cmd="BLK_S_FS=$s_fs BLK_S_PART=$s_part BLK_S_RO=$s_ro BLK_S_ERR=$s_err BLK_S_DISC=$s_disc
BLK_SIZE_SECTORS=$((size / 512)) BLK_RESIZE_SECTORS=$((resize / 512))
BLK_FS_LBS=4096 BLK_FS_PBS=8192 BLK_FS_MINIO=16384 BLK_FS_OPTIO=65536 BLK_FS_QUEUES=2
BLK_SEG_MAX=126 BLK_RO_GEO='128 16 64' BLK_ERR_OFF=$err_off
BLK_DISC_GRAN=65536 BLK_DISC_MAX=$((8192 * 512)) BLK_WZ_MAX=$((2048 * 512))
. /tests/blk-core.sh"

# A log left by an earlier run would satisfy guest_console_wait at once.
rm -f "$VIREO_LOGDIR/$TEST-main.log"
boot_bg --name main --timeout 1200 "${args[@]}" --cmd "$cmd"

# The guest switched part's cache to write through and waits for a resize.
if guest_console_wait BLK-HOST-TURN 1100; then
	wb=$(qmp query-block | python3 -c '
import json, sys
for dev in json.loads(sys.stdin.readline())["return"]:
    if dev["device"] == "dpart":
        print(dev["inserted"]["cache"]["writeback"])')
	if [ "$wb" = False ]; then
		tap_ok host-sees-write-through
	else
		tap_fail host-sees-write-through "QEMU's drive dpart: writeback=$wb after the guest chose write through"
	fi
	if qmp "block_resize {\"device\": \"dfs\", \"size\": $resize}" >/dev/null; then
		tap_ok host-block-resize
	else
		tap_fail host-block-resize "QMP block_resize failed"
	fi
else
	tap_fail host-turn "the guest never got to the resize (log: $GUEST_LOG)"
	stop_guest
fi
wait_guest 1200

# --- after the guest: the images --------------------------------------------------

bio=$VIREO_ROOT/build/guest-bin/blk-io
alloc=$(du -k "$work/disc.img" | cut -f1)
# 32 MiB written, 16 discarded and 4 punched; 4 zeroed without unmap, 4 kept.
if [ "$alloc" -le $((17 << 10)) ] && [ "$alloc" -ge $((4 << 10)) ]; then
	tap_ok host-discard-freed-space
else
	tap_fail host-discard-freed-space "disc.img uses $alloc KiB; expected 4-17 MiB after discarding 16 of 32 MiB written"
fi
for c in "disc-kept verify $work/disc.img 28m 4m 11" "disc-zeroed zero $work/disc.img 16m 12m" \
	"err-written verify $work/err.img 8m 1m 7" "err-failed-write-absent zero $work/err.img $err_off 64k" \
	"fs-grown-written verify $work/fs.img $size 1m 9"; do
	# shellcheck disable=SC2086 # a command line
	set -- $c
	name=$1
	shift
	if out=$("$bio" "$@" 2>&1); then tap_ok "host-$name"; else tap_fail "host-$name" "$out"; fi
done
if out=$(e2fsck -fn "$work/fs.img" 2>&1); then
	tap_ok host-fsck-disk
else
	tap_fail host-fsck-disk "$(echo "$out" | tail -n 5)"
fi
if [ "$(od -An -tx1 -j510 -N2 "$work/part.img" | tr -d ' ')" = 55aa ]; then
	tap_ok host-partition-table
else
	tap_fail host-partition-table "no MBR signature in part.img"
fi
exit 0
