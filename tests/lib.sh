# Helpers for host-side test scripts (tests/host/*.sh). Source it first:
#
#   #!/usr/bin/env bash
#   # matrix: all
#   . "$(dirname "$0")/../lib.sh"
#   boot --dev rng --cmd 'check lsmod-ring grep -q "^vireo_ring " /proc/modules'
#
# scripts/check runs each test once per cell of its "# matrix:" line with
# CELL, KERNEL, TRANSPORT, RING, TAKEOVER, TEST and VIREO_LOGDIR set. Run by
# hand, a test takes CELL (default 6.12-pci-split) and prints its TAP lines
# unnumbered.
#
# Results go to stdout as TAP lines without numbers, through tap_ok,
# tap_fail, tap_skip (the driver numbers them and prefixes "<cell> <test>: ").
# A test exits 0 unless something it did not report went wrong.
# shellcheck shell=bash

set -uo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
TEST=${TEST:-$(basename "$0" .sh)}

if [ -z "${KERNEL:-}" ]; then
	CELL=${CELL:-6.12-pci-split}
	cell_parse "$CELL"
fi
CELL=${CELL:-$KERNEL-$TRANSPORT-$RING${TAKEOVER:+-$TAKEOVER}}
VIREO_LOGDIR=${VIREO_LOGDIR:-$VIREO_ROOT/build/logs/$CELL}
export CELL KERNEL TRANSPORT RING TAKEOVER VIREO_LOGDIR
mkdir -p "$VIREO_LOGDIR"

# --- TAP ------------------------------------------------------------------------

# tap_ok NAME
tap_ok() { echo "ok - $1"; }

# tap_fail NAME [DETAIL...]: DETAIL lines become TAP diagnostics.
tap_fail() {
	local name=$1
	shift
	echo "not ok - $name"
	[ $# -eq 0 ] || printf '%s\n' "$*" | sed 's/^/#   /'
}

# tap_skip NAME WHY...
tap_skip() {
	local name=$1
	shift
	echo "ok - $name # SKIP $*"
}

# tap_diag TEXT...: a diagnostic line.
tap_diag() { printf '%s\n' "$*" | sed 's/^/# /'; }

# --- guests ---------------------------------------------------------------------

_boots=0

# cell_args: the vireo-qemu options for this cell.
cell_args() {
	local a=(--kernel "$KERNEL" --transport "$TRANSPORT" --ring "$RING")
	[ -z "$TAKEOVER" ] || a+=(--takeover "$TAKEOVER")
	printf '%s\n' "${a[@]}"
}

# _boot_opts "$@": split off our own --name NAME; sets _bname, _bargs.
_boot_opts() {
	_boots=$((_boots + 1))
	_bname=boot$_boots
	_bargs=()
	while [ $# -gt 0 ]; do
		if [ "$1" = --name ]; then
			_bname=$2
			shift 2
		else
			_bargs+=("$1")
			shift
		fi
	done
	_blog=$VIREO_LOGDIR/$TEST-$_bname.log
	mapfile -t _cargs < <(cell_args)
}

# report_guest NAME LOG RC: turn the guest's TAP-OK/FAIL/SKIP console lines
# into TAP, and a crash, timeout, kernel warning or unexplained non-zero
# exit into a failing line NAME that names the kept log. Returns RC.
report_guest() {
	local name=$1 log=$2 rc=$3 line kind sub rest n=0 nfail=0 reason
	while IFS= read -r line; do
		line=${line%$'\r'}
		kind=${line%% *}
		rest=${line#* }
		sub=${rest%% *}
		if [ "$rest" = "$sub" ]; then rest=; else rest=${rest#* }; fi
		n=$((n + 1))
		case $kind in
		TAP-OK) tap_ok "$sub" ;;
		TAP-FAIL) tap_fail "$sub" "$rest (log: $log)"; nfail=$((nfail + 1)) ;;
		TAP-SKIP) tap_skip "$sub" "$rest" ;;
		esac
	done < <(grep -aoE 'TAP-(OK|FAIL|SKIP) [^[:cntrl:]]*' "$log" 2>/dev/null)
	reason=$(grep -a '^vireo-qemu: FAIL: ' "$log.err" 2>/dev/null | head -n 1)
	if [ -n "$reason" ]; then
		tap_fail "$name" "${reason#vireo-qemu: FAIL: }" "$(grep -a '^  | ' "$log.err" | head -n 25)"
	elif [ "$rc" != 0 ] && [ $nfail = 0 ]; then
		tap_fail "$name" "guest command exited $rc (log: $log)"
	elif [ $n = 0 ]; then
		tap_ok "$name"
	fi
	return "$rc"
}

# boot [--name NAME] [vireo-qemu options...] --cmd 'CMD': boot this cell with
# the given devices and command (run in the guest with tests/guest/lib.sh
# sourced), wait for it, report. Returns the guest's verdict (see
# scripts/vireo-qemu). The console log is $VIREO_LOGDIR/$TEST-NAME.log.
boot() {
	_boot_opts "$@"
	local rc=0
	"$VIREO_ROOT/scripts/vireo-qemu" "${_cargs[@]}" "${_bargs[@]}" --log "$_blog" 2>"$_blog.err" || rc=$?
	report_guest "$_bname" "$_blog" "$rc"
}

# boot_bg [--name NAME] [vireo-qemu options...] --cmd 'CMD': start the guest
# in the background with a QMP socket. Sets GUEST_PID (the supervising
# vireo-qemu), GUEST_LOG, GUEST_QMP, GUEST_NAME. Then: qmp ...,
# guest_console_wait ..., and wait_guest to collect and report the verdict.
boot_bg() {
	_boot_opts "$@"
	GUEST_NAME=$_bname
	GUEST_LOG=$_blog
	# unix socket paths must be short (108 bytes): not under VIREO_LOGDIR.
	GUEST_QMP=$(mktemp -u /tmp/vireo-qmp.XXXXXX)
	rm -f "$GUEST_LOG.rc" "$GUEST_LOG.out"
	GUEST_PID=$("$VIREO_ROOT/scripts/vireo-qemu" --bg "${_cargs[@]}" "${_bargs[@]}" \
		--qmp "$GUEST_QMP" --log "$GUEST_LOG")
	export GUEST_PID GUEST_LOG GUEST_QMP GUEST_NAME
}

# wait_guest [TIMEOUT]: wait for the guest boot_bg started, report like boot.
wait_guest() {
	local rc=0
	"$VIREO_ROOT/scripts/vireo-qemu" --wait "$GUEST_LOG" --timeout "${1:-3600}" 2>"$GUEST_LOG.err" || rc=$?
	rm -f "$GUEST_QMP"
	report_guest "$GUEST_NAME" "$GUEST_LOG" "$rc"
}

# stop_guest: end the background guest now (its verdict then is a failure
# unless it had finished).
stop_guest() {
	kill "$GUEST_PID" 2>/dev/null || true
}

# qmp ARGS...: scripts/qmp on the background guest's socket, e.g.
#   qmp 'device_del {"id": "rng0"}' --wait-event DEVICE_DELETED --data device=rng0
qmp() {
	"$VIREO_ROOT/scripts/qmp" "$GUEST_QMP" "$@"
}

# guest_console_wait PATTERN [TIMEOUT]: wait (default 120 s) until a console
# line of the background guest matches the extended regex PATTERN. Fails
# early when the guest has ended.
guest_console_wait() {
	local pat=$1 end=$((SECONDS + ${2:-120}))
	while [ $SECONDS -lt $end ]; do
		grep -aqE -- "$pat" "$GUEST_LOG" 2>/dev/null && return 0
		[ -e "$GUEST_LOG.rc" ] && { grep -aqE -- "$pat" "$GUEST_LOG" && return 0; return 1; }
		sleep 0.5
	done
	return 1
}

# kernel_has_builtin MODULE: is MODULE built into this cell's kernel?
kernel_has_builtin() {
	kernel_builtin "$KERNEL" "$1"
}
