#!/usr/bin/env bash
# matrix: 6.1-pci-legacy-split 6.12-mmio1-split 6.1-mmio2-split 6.12-pci-packed
#
# A rate-limited host (512 bytes a second): a blocking read waits for the
# bytes instead of failing or spinning; a non-blocking read returns EAGAIN
# once nothing is ready; a reader blocked in read() when vireo_rng is
# unloaded gets an error, and the unload completes.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck disable=SC2016 # guest-side expansions
boot --dev rng,max-bytes=512,period=1000 --cmd '
	# 2048 bytes at 512/s: about 3 s of waiting, all bytes delivered, and
	# the reader sleeps meanwhile (CPU time a small part of the wait).
	hwrng-read 2048 >/tmp/r
	cat /tmp/r
	set -- $(sed "s/[a-z_]*=//g" /tmp/r)
	check blocking-read-complete test "$1" = 2048 -a "$2" = none
	check blocking-read-waited test "$4" -ge 1500
	check blocking-read-sleeps test $(($3 * 4)) -lt "$4"

	# Drain what is buffered, then non-blocking reads say EAGAIN.
	hwrng-read -N 1000000 >/tmp/n
	cat /tmp/n
	check nonblocking-eagain grep -q "err=EAGAIN" /tmp/n
	check nonblocking-bounded sh -c "test \$(sed \"s/bytes=\([0-9]*\).*/\1/\" /tmp/n) -lt 8192"

	# A reader blocked on an exhausted device, then rmmod vireo_rng.
	hwrng-read 1000000 >/tmp/u &
	reader=$!
	sleep 2
	check reader-blocked kill -0 $reader
	check rmmod-with-reader rmmod vireo_rng
	wait_for 20 sh -c "! kill -0 $reader"
	check reader-woken sh -c "! kill -0 $reader"
	cat /tmp/u
	check reader-got-error sh -c "grep -q \"err=E\" /tmp/u && ! grep -q bytes=1000000 /tmp/u"
	check hwrng-gone sh -c "! grep -q vireo_rng /sys/class/misc/hw_random/rng_available"
	check reinsmod insmod /vireo/vireo_rng.ko
	check hwrng-back wait_for 10 grep -q vireo_rng.0 /sys/class/misc/hw_random/rng_available'
