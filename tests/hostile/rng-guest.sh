# Guest side of tests/host/hostile-rng.sh (busybox sh): one entropy device
# per case at a known pcie.0 slot, each on its own hostile-rng back-end with
# one fault rule (tests/hostile/hostile-rng.c). The host passes this file's
# text in --cmd, followed by the calls, e.g.:
#   hr_fails len-long 0x09 'used len [0-9]+ for id [0-9]+ exceeds'
#
# A case makes its device the current hwrng and reads 32 KiB from
# /dev/hwrng (8 of the driver's 4 KiB buffers, so the rules, which fire
# after the first 6 buffers the device fills, hit the read). The "one line"
# checks count the kernel lines of the case's device (vireoN) from the
# case's mark on.
# shellcheck shell=sh disable=SC2034

hr_mark() { echo "hostile-mark $1" >/dev/kmsg; }

# hr_dev SLOT: the vireo device at pcie.0 SLOT.
hr_dev() {
	for _d in /sys/bus/pci/devices/0000:00:"$(printf %02x "$(($1))")".0/vireo*; do
		[ -e "$_d" ] && basename "$_d" && return 0
	done
	return 1
}

# hr_name DEV: the hwrng name vireo_rng gave DEV.
hr_name() {
	dmesg | sed -n "s/.*vireo_rng $1: hwrng \(vireo_rng\.[0-9]*\).*/\1/p" | tail -n 1
}

hr_lines() {
	dmesg | sed -n "/hostile-mark $1\$/,\$p" | grep -E "(^|[] ])$2[: ]"
}

# hr_one_line CASE DEV PATTERN ("none": no line).
hr_one_line() {
	_l=$(hr_lines "$1" "$2")
	_n=$(printf '%s' "$_l" | grep -c .)
	echo "hostile: $1: $_n line(s):"
	printf '%s\n' "$_l" | sed 's/^/hostile:   /'
	if [ "$3" = none ]; then
		if [ "$_n" = 0 ]; then ok "$1/no-line"; else fail "$1/no-line" "$(printf '%s' "$_l" | tr '\n' '|' | cut -c1-400)"; fi
	elif [ "$_n" = 1 ] && printf '%s' "$_l" | grep -qE "$3"; then
		ok "$1/one-line"
	else
		fail "$1/one-line" "$_n lines (want 1 matching '$3'): $(printf '%s' "$_l" | tr '\n' '|' | cut -c1-400)"
	fi
}

# hr_read CASE SLOT: the device current, 32 KiB read (60 s at most);
# prints dd's verdict: the byte count, "error", or "hung".
hr_read() {
	_dv=$(hr_dev "$2") || { echo "no-device"; return; }
	_nm=$(hr_name "$_dv")
	echo "$_nm" >/sys/class/misc/hw_random/rng_current
	dd if=/dev/hwrng of=/tmp/hr.bin bs=4096 count=8 >/tmp/hr.out 2>&1 &
	_p=$!
	if wait_for 60 sh -c "! kill -0 $_p 2>/dev/null"; then
		if wait $_p; then
			wc -c </tmp/hr.bin | tr -d ' '
		elif grep -q 'Input/output error' /tmp/hr.out; then
			echo error
		else
			echo "other: $(tr '\n' ' ' </tmp/hr.out)"
		fi
	else
		echo hung
	fi
}

# hr_clean CASE SLOT: 32 KiB of entropy (not all zero bytes), no line.
hr_clean() {
	hr_mark "$1"
	check_eq "$1/read" 32768 hr_read "$1" "$2"
	_nz=$(tr -d '\000' </tmp/hr.bin | wc -c)
	if [ "$_nz" -gt 30000 ]; then ok "$1/not-zeros"; else fail "$1/not-zeros" "$_nz of 32768 bytes not zero"; fi
	hr_one_line "$1" "$(hr_dev "$2")" none
}

# hr_fails CASE SLOT PATTERN: the read fails with EIO within its bound; one
# line matching PATTERN.
hr_fails() {
	hr_mark "$1"
	check_eq "$1/read-eio" error hr_read "$1" "$2"
	hr_one_line "$1" "$(hr_dev "$2")" "$3"
}

# hr_unload: rmmod vireo_rng returns within 60 s.
hr_unload() {
	rmmod vireo_rng >/tmp/hr-rmmod.out 2>&1 &
	_rp=$!
	if wait_for 60 sh -c "! kill -0 $_rp 2>/dev/null"; then
		if wait $_rp; then ok unload; else fail unload "$(cat /tmp/hr-rmmod.out)"; fi
	else
		fail unload "rmmod vireo_rng still runs after 60 s"
	fi
}
