# Guest side of tests/host/hostile-fs.sh (busybox sh): one vhost-user-fs
# device per case, each on its own hostile-fs back-end with one fault rule
# (tests/hostile/hostile-fs.c). The host passes this file's text in --cmd,
# followed by the calls, e.g.:  hf_eio short-getattr hf-short-ga 'reply size' stat -c %s F
#
# In a command, F stands for the mount's "file", D for its "dir" and M for
# the mount itself. The "one line" checks count vireo's kernel lines (vireo_fs
# TAG: ..., the ring's and the device's vireoN: ... lines) from the case's
# mark on; the line INIT's outcome prints at every mount is not counted.
# HF_KNOWN_BAD lists CASE/CHECK names that fail today for want of a driver
# fix: such a check is reported as a skip ("needs fix: ...") when it fails.
# shellcheck shell=sh disable=SC2034

hf_mark() { echo "hostile-mark $1" >/dev/kmsg; }

# hf_lines CASE: vireo's kernel lines since the mark of CASE.
hf_lines() {
	dmesg | sed -n "/hostile-mark $1\$/,\$p" | grep -E 'vireo_fs|vireo[0-9]+: ' |
		grep -vE 'vireo_fs [^ ]+: FUSE [0-9]+\.[0-9]+, max_write'
}

hf_known() {
	case " ${HF_KNOWN_BAD:-} " in *" $1 "*) return 0 ;; esac
	return 1
}

hf_verdict() {
	if [ "$2" = 1 ]; then
		ok "$1"
		hf_known "$1" && echo "hostile: $1 is on HF_KNOWN_BAD but passes now"
	elif hf_known "$1"; then
		skip "$1" "needs fix: $3"
	else
		fail "$1" "$3"
	fi
	return 0
}

# hf_one_line CASE PATTERN: exactly one line, matching PATTERN ("none": no line).
hf_one_line() {
	_l=$(hf_lines "$1")
	_n=$(printf '%s' "$_l" | grep -c .)
	echo "hostile: $1: $_n line(s):"
	printf '%s\n' "$_l" | sed 's/^/hostile:   /'
	if [ "$2" = none ]; then
		[ "$_n" = 0 ] && hf_verdict "$1/no-line" 1 ||
			hf_verdict "$1/no-line" 0 "$_n lines: $(printf '%s' "$_l" | tr '\n' '|' | cut -c1-400)"
	elif [ "$_n" = 1 ] && printf '%s' "$_l" | grep -qE "$2"; then
		hf_verdict "$1/one-line" 1
	else
		hf_verdict "$1/one-line" 0 "$_n lines (want 1 matching '$2'): $(printf '%s' "$_l" | tr '\n' '|' | cut -c1-400)"
	fi
}

# hf_run SECS CMD...: CMD in the background, SECS seconds at most; prints
# its output and "rc=N", or "hung" (it is left running).
hf_run() {
	_t=$1
	shift
	"$@" >/tmp/hf.out 2>&1 &
	_p=$!
	if wait_for "$_t" sh -c "! kill -0 $_p 2>/dev/null"; then
		wait $_p
		_rc=$?
		cat /tmp/hf.out
		echo "rc=$_rc"
	else
		echo hung
	fi
}

# hf_cmd TAG CMD...: CMD with F, D and M replaced by the mount's paths.
hf_cmd() {
	_m=/mnt/$1
	shift
	_c=
	for _a in "$@"; do
		case $_a in
		F) _a=$_m/file ;;
		D) _a=$_m/dir ;;
		M) _a=$_m ;;
		esac
		_c="$_c '$_a'"
	done
	echo "$_c"
}

# hf_mount CASE TAG: mounts TAG on /mnt/TAG (bounded); 0 if it is mounted.
hf_mount() {
	mkdir -p "/mnt/$2"
	_o=$(hf_run 60 mount -t vireofs "$2" "/mnt/$2")
	case $_o in
	*rc=0) ok "$1/mount"; return 0 ;;
	esac
	fail "$1/mount" "$(echo "$_o" | tr '\n' ' ')"
	return 1
}

# hf_umount CASE TAG: umount works (bounded), nothing left mounted.
hf_umount() {
	_o=$(hf_run 60 umount "/mnt/$2")
	case $_o in
	*rc=0) ok "$1/umount" ;;
	*) fail "$1/umount" "$(echo "$_o" | tr '\n' ' ')" ;;
	esac
}

# hf_expect CASE OUTPUT ERRNO-TEXT: the call failed with that error (its
# strerror text; several: "A|B"), within its bound.
hf_expect() {
	case $2 in
	hung) hf_verdict "$1/error" 0 "the call did not return" ;;
	*rc=0) hf_verdict "$1/error" 0 "the call succeeded: $(echo "$2" | tr '\n' ' ' | cut -c1-200)" ;;
	*)
		if echo "$2" | grep -qE "$3"; then
			hf_verdict "$1/error" 1
		else
			hf_verdict "$1/error" 0 "want '$3', got: $(echo "$2" | tr '\n' ' ' | cut -c1-200)"
		fi
		;;
	esac
}

# hf_clean CASE TAG: a device without rules: the tree reads right, no line.
hf_clean() {
	hf_mark "$1"
	hf_mount "$1" "$2" || return
	_m=/mnt/$2
	check_eq "$1/file" 'hello from hostile-fs' cat "$_m/file"
	check_eq "$1/inner" 'the inner file' cat "$_m/dir/inner"
	check_eq "$1/ls" 'dir file' sh -c "ls $_m | tr '\n' ' ' | sed 's/ \$//'"
	check_eq "$1/stat" '644 22 regular file' stat -c '%a %s %F' "$_m/file"
	check_eq "$1/stat-dir" '755 directory' stat -c '%a %F' "$_m/dir"
	check_eq "$1/df" 4096 stat -f -c %S "$_m"
	hf_umount "$1" "$2"
	hf_one_line "$1" none
}

# hf_err CASE TAG ERRNO-TEXT PATTERN CMD...: mount, CMD fails with
# ERRNO-TEXT within 90 s, one line matching PATTERN (or none), umount.
hf_err() {
	_cs=$1 _tg=$2 _e=$3 _pat=$4
	shift 4
	hf_mark "$_cs"
	hf_mount "$_cs" "$_tg" || return
	_o=$(eval "hf_run 90 $(hf_cmd "$_tg" "$@")")
	echo "hostile: $_cs: $(echo "$_o" | tr '\n' ' ')"
	hf_expect "$_cs" "$_o" "$_e"
	hf_umount "$_cs" "$_tg"
	hf_one_line "$_cs" "$_pat"
}

hf_eio() {
	_c=$1 _t=$2 _p=$3
	shift 3
	hf_err "$_c" "$_t" 'Input/output error' "$_p" "$@"
}

# hf_other CASE TAG: unique-other holds the GETATTR of "file" and answers
# the next request (a LOOKUP of "dir") with the held request's unique:
# that caller gets EIO, the held one its right answer.
hf_other() {
	hf_mark "$1"
	hf_mount "$1" "$2" || return
	_m=/mnt/$2
	stat -c %s "$_m/file" >/tmp/hf-held.out 2>&1 &
	_hp=$!
	sleep 2
	_o=$(hf_run 90 ls "$_m/dir")
	hf_expect "$1" "$_o" 'Input/output error'
	if wait_for 60 sh -c "! kill -0 $_hp 2>/dev/null"; then
		wait $_hp
		check_eq "$1/held-answered" 22 cat /tmp/hf-held.out
	else
		fail "$1/held-answered" "the held request never returned"
	fi
	hf_umount "$1" "$2"
	hf_one_line "$1" 'unique id of another request'
}

# hf_refused CASE TAG ERRNO-TEXT PATTERN: the mount fails, one line.
hf_refused() {
	hf_mark "$1"
	mkdir -p "/mnt/$2"
	_o=$(hf_run 60 mount -t vireofs "$2" "/mnt/$2")
	echo "hostile: $1: $(echo "$_o" | tr '\n' ' ')"
	hf_expect "$1" "$_o" "$3"
	grep -q " /mnt/$2 " /proc/mounts && { umount "/mnt/$2"; fail "$1/not-mounted" "it is mounted"; }
	hf_one_line "$1" "$4"
}

# hf_init CASE TAG INFO-PATTERN [PATTERN]: INIT with an absurd value: the
# mount works with what INIT's line shows (INFO-PATTERN), the file reads
# right; one line matching PATTERN, or none without it.
hf_init() {
	hf_mark "$1"
	hf_mount "$1" "$2" || return
	_i=$(dmesg | sed -n "/hostile-mark $1\$/,\$p" | grep -E "vireo_fs $2: FUSE ")
	echo "hostile: $1: $_i"
	if echo "$_i" | grep -qE "$3"; then ok "$1/init-line"; else fail "$1/init-line" "want '$3': $_i"; fi
	check_eq "$1/file" 'hello from hostile-fs' cat "/mnt/$2/file"
	check_eq "$1/read-32k" 22 sh -c "dd if=/mnt/$2/file bs=32k 2>/dev/null | wc -c"
	hf_umount "$1" "$2"
	hf_one_line "$1" "${4:-none}"
}

# hf_kept CASE TAG: a daemon that keeps the guest's cache (cache-kept on
# INIT: EXPLICIT_INVAL_DATA granted, opens with FOPEN_KEEP_CACHE) changes
# "file" behind the guest's back when asked for STATFS (host-change: same
# size, new bytes and mtime) and sends no invalidation: the guest sees the
# new mtime but keeps reading the bytes it cached, as the daemon asked;
# once the cache is dropped it reads the new bytes. No line.
hf_kept() {
	hf_mark "$1"
	hf_mount "$1" "$2" || return
	_m=/mnt/$2
	dmesg | sed -n "/hostile-mark $1\$/,\$p" | grep -qE "vireo_fs $2: FUSE .*, explicit inval data" &&
		ok "$1/init-line" || fail "$1/init-line" "INIT did not take EXPLICIT_INVAL_DATA: $(dmesg | grep "vireo_fs $2: FUSE" | tail -n 1)"
	check_eq "$1/file" 'hello from hostile-fs' cat "$_m/file"
	_t0=$(stat -c %Y "$_m/file")
	stat -f "$_m" >/dev/null
	_t1=$(stat -c %Y "$_m/file")
	[ "$_t1" = $((_t0 + 100)) ] && ok "$1/new-mtime" || fail "$1/new-mtime" "mtime $_t0 -> $_t1, want +100"
	check_eq "$1/cache-kept" 'hello from hostile-fs' cat "$_m/file"
	echo 3 >/proc/sys/vm/drop_caches
	check_eq "$1/new-bytes-once-dropped" 'HELLO FROM HOSTILE-FS' cat "$_m/file"
	hf_umount "$1" "$2"
	hf_one_line "$1" none
}
