#!/usr/bin/env bash
# matrix: 6.12-pci-split
#
# The README's interactive `make run` at a real terminal (a tmux pane on a
# private tmux server): the guest's shell prompt appears, a typed command
# runs and its output shows, and Ctrl-A X ends QEMU and make. This is the
# path a newcomer takes first; QEMU must be in the terminal's foreground
# process group to read the console (it was stopped by SIGTTIN once).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

sock=$(mktemp -u /tmp/vireo-tmux.XXXXXX)
out=$VIREO_LOGDIR/$TEST-pane.txt
t=(tmux -S "$sock")
trap '"${t[@]}" kill-server 2>/dev/null; rm -f "$sock"' EXIT

"${t[@]}" -f /dev/null new-session -d -x 160 -y 50 -s run \
	"cd '$VIREO_ROOT' && make -s run KERNEL=$KERNEL TRANSPORT=$TRANSPORT RING=$RING TIMEOUT=600; echo RUN-EXIT=\$?; sleep 600"

pane() { "${t[@]}" capture-pane -p -J -S -2000 -t run >"$out" 2>/dev/null; }
# wait_pane REGEX SECONDS
wait_pane() {
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		pane
		grep -aqE -- "$1" "$out" && return 0
		sleep 1
	done
	return 1
}

if wait_pane 'interactive shell' 300 && wait_pane '^[^ ]* # $' 60; then
	tap_ok shell-prompt
else
	tap_fail shell-prompt "no shell prompt within 360 s; pane: $(tail -n 15 "$out")"
	exit 0
fi

"${t[@]}" send-keys -t run 'echo "answer-$((6 * 7))"; cat /sys/class/misc/hw_random/rng_current' Enter
if wait_pane '^answer-42' 60; then tap_ok typed-command-runs; else tap_fail typed-command-runs "$(tail -n 10 "$out")"; fi
if wait_pane '^vireo_rng\.0' 30; then tap_ok vireo-rng-current; else tap_fail vireo-rng-current "$(tail -n 10 "$out")"; fi

"${t[@]}" send-keys -t run C-a x
if wait_pane '^RUN-EXIT=0' 60; then
	tap_ok ctrl-a-x-ends-qemu
else
	tap_fail ctrl-a-x-ends-qemu "make run did not end (or not with 0) within 60 s: $(tail -n 10 "$out")"
fi
