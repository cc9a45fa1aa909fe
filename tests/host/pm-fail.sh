#!/usr/bin/env bash
# matrix: 6.1-pci-split debug-pci-split
#
# A resume that fails, for vireo_blk and vireo_rng together: each fault the
# bus knows (the reset times out, a negotiated feature is gone, FEATURES_OK
# is refused, the driver cannot set up its queues) is armed through
# /sys/kernel/debug/vireo/vireoN/fail_restore before a suspend (pm_test=
# devices). After the resume: one line names the cause and one says what
# the driver does; a writer that was running gets EIO instead of sleeping
# for ever, new reads get EIO, hwrng readers get EIO; unbind (and, after the
# last fault, rmmod) finish, and a bind brings the device back.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-pm-fail.XXXXXX")
trap 'rm -rf "$work"' EXIT
truncate -s 16M "$work/d.img"

boot --timeout 900 \
	--qemu -drive --qemu "file=$work/d.img,if=none,id=dpf,format=raw" \
	--dev "blk,drive=dpf,serial=vireo-pmf" --dev rng \
	--cmd "PMF_SERIAL=vireo-pmf . /tests/pm-fail.sh"
exit 0
