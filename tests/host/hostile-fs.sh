#!/usr/bin/env bash
# matrix: 6.12-pci-split
#
# vireo_fs on a virtio-fs device that misbehaves on purpose, through the
# real transport: one vhost-user-fs device per case in one guest, each
# served by its own hostile-fs back-end (tests/hostile/hostile-fs.c,
# docs/hostile.md): a FUSE server of our own with a tiny read-only tree and
# one fault rule on a chosen opcode. Each case mounts its device, makes the
# call the fault hits and checks what a user would: the caller's error
# (EIO, or the documented errno), exactly one kernel line naming the fault,
# the call and umount return within their bounds; at the end rmmod
# vireo_fs works, and the harness fails the run on any oops or warning (and
# a kmemleak report on the debug kernel). On the host afterwards: every
# back-end applied its rule and saw the driver keep the virtio and FUSE
# request rules (no "driver error" in its log).
#
# VIREO_HOSTILE_KNOWN_BAD: CASE/CHECK names that fail because of a known
# driver defect (reported as "SKIP needs fix: ..."); empty by default.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/hostile/lib.sh
. "$VIREO_ROOT/tests/hostile/lib.sh"

case $TRANSPORT in
pci) ;;
*)
	tap_skip "$TEST" "the hostile devices sit at pcie.0 slots: PCI cells only ($TRANSPORT)"
	exit 0
	;;
esac
known=${VIREO_HOSTILE_KNOWN_BAD-}
hostile_build || { tap_fail build "tests/hostile does not build"; exit 0; }

# name slot tag -- rule; the guest call follows in calls. "file" is node 2.
# The ra- cases spoil the READ of a buffered read(2), which the page cache
# sends as readahead: its error must reach that read(2) (fs-ops read: one
# read(2); busybox cat tries sendfile first and then read(2), which asks
# the daemon again and gets the good reply).
hostile_fs clean 0x08 hf-clean
hostile_fs short-getattr 0x09 hf-short-ga -- "short op=getattr node=2"
hostile_fs short-lookup 0x0a hf-short-lk -- "short op=lookup"
hostile_fs hdr-long 0x0b hf-hdr-long -- "hdr-long op=read"
hostile_fs len-short 0x0c hf-len-short -- "len-short op=open"
hostile_fs len-long 0x0d hf-len-long -- "len-long op=getattr node=2"
hostile_fs unique-stray 0x0e hf-uq-stray -- "unique-stray op=getattr node=2"
hostile_fs unique-other 0x0f hf-uq-other -- "unique-other op=getattr node=2"
hostile_fs error-range 0x10 hf-err-range -- "error=-4096 op=getattr node=2"
hostile_fs error-positive 0x11 hf-err-pos -- "error=5 op=lookup"
hostile_fs dirent-long 0x12 hf-dirent-long -- "dirent-long op=readdirs"
hostile_fs dirent-zero 0x13 hf-dirent-zero -- "dirent-zero op=readdirs"
hostile_fs mode-none 0x14 hf-mode-none -- "mode=0644 op=lookup"
hostile_fs mode-bad 0x15 hf-mode-bad -- "mode=0170644 op=lookup"
hostile_fs mode-changed 0x16 hf-mode-chg -- "mode=040755 op=getattr node=2"
hostile_fs nodeid-0 0x17 hf-nodeid-0 -- "nodeid=0 op=lookup"
hostile_fs nodeid-root 0x18 hf-nodeid-root -- "nodeid=1 op=lookup"
hostile_fs major 0x19 hf-major -- "major=8 op=init"
hostile_fs max-write 0x1a hf-max-write -- "max-write=0xffffffff op=init"
hostile_fs max-pages-0 0x1b hf-max-pages -- "max-pages=0 op=init"
hostile_fs stall 0x1c hf-stall -- "stall op=read"
hostile_fs lk-type 0x1d hf-lk-type -- "lk-type=7 op=getlk"
hostile_fs lk-range 0x1e hf-lk-range -- "lk-start=200 op=getlk"
hostile_fs ra-hdr-long 0x1d.1 hf-ra-hdr -- "hdr-long op=read"
hostile_fs ra-error 0x1e.1 hf-ra-err -- "error=-5 op=read"
hostile_fs cache-kept 0x1c.1 hf-kept -- "cache-kept op=init" "host-change op=statfs"

eio='Input/output error'
calls="
hf_clean clean hf-clean
hf_eio short-getattr hf-short-ga 'bad reply to opcode 3: reply size' stat -c %s F
hf_eio short-lookup hf-short-lk 'bad reply to opcode 1: reply size' stat -c %s F
hf_eio hdr-long hf-hdr-long 'bad reply to opcode 15: header length is not what was written' fs-ops dread F 0 4
hf_eio len-short hf-len-short 'bad reply to opcode 14: shorter than its header' cat F
hf_eio len-long hf-len-long 'queue [0-9]+ .*used len [0-9]+ for id [0-9]+ exceeds' stat -c %s F
hf_eio unique-stray hf-uq-stray 'bad reply to opcode 3: unique id of another request' stat -c %s F
hf_other unique-other hf-uq-other
hf_eio error-range hf-err-range 'bad reply to opcode 3: error out of range \\(-4096\\)' stat -c %s F
hf_eio error-positive hf-err-pos 'bad reply to opcode 1: error out of range \\(5\\)' stat -c %s F
hf_eio dirent-long hf-dirent-long 'malformed READDIR(PLUS)? reply at byte 0' fs-ops readdir M
hf_eio dirent-zero hf-dirent-zero 'malformed READDIR(PLUS)? reply at byte 0' fs-ops readdir M
hf_eio mode-none hf-mode-none 'entry reply without a valid file type \\(mode 0644\\)' stat -c %s F
hf_eio mode-bad hf-mode-bad 'file type|mode' stat -c %s F
hf_eio mode-changed hf-mode-chg 'node 2 changed its type' stat -c %s F
hf_err nodeid-0 hf-nodeid-0 'No such file or directory' none stat -c %s F
hf_eio nodeid-root hf-nodeid-root 'a name resolves to the root node' stat -c %s F
hf_refused major hf-major 'Protocol error' 'the daemon speaks FUSE 8\\.'
hf_init max-write hf-max-write 'max_write 131072,'
hf_init max-pages-0 hf-max-pages 'max_pages 1,' 'ignoring max_pages 0'
hf_err stall hf-stall 'Transport endpoint is not connected' 'a request went unanswered for [0-9]+ s' cat F
hf_err lk-type hf-lk-type 'getlk=EIO' 'GETLK reply with lock type 7: EIO' fs-ops lockop F getlk
hf_err lk-range hf-lk-range 'getlk=EIO' 'GETLK reply with range 200-99: EIO' fs-ops lockop F getlk
hf_eio ra-hdr-long hf-ra-hdr 'bad reply to opcode 15: header length is not what was written' fs-ops read F
hf_err ra-error hf-ra-err 'Input/output error' none fs-ops read F
hf_kept cache-kept hf-kept
check unload rmmod vireo_fs
"
mapfile -t qargs < <(hostile_args)
boot --name main --timeout 600 "${qargs[@]}" --modparam 'vireo_ring abort_timeout=10' \
	--cmd "HF_KNOWN_BAD='$known'
$(cat "$VIREO_ROOT/tests/hostile/fs-guest.sh")
$calls"
hostile_stop

for n in "${HOSTILE_NAMES[@]}"; do
	case $n in
	clean) hostile_host_checks "$n" ;;
	*) hostile_host_checks "$n" fired ;;
	esac
done
exit 0
