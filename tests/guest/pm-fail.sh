# Guest side of tests/host/pm-fail.sh (busybox sh, sourced by the --cmd).
# shellcheck shell=sh disable=SC2154 # PMF_SERIAL comes from the host
. /tests/blk-lib.sh

# Writes to the disk until one fails; "done" when it stopped.
writer() {
	_wi=0
	while [ $_wi -lt 100000 ] && blk-io write "/dev/$1" 0 64k $_wi direct >/tmp/w.out; do
		_wi=$((_wi + 1))
	done
	echo done >/tmp/w.done
}

state=freeze
grep -qw mem /sys/power/state && state=mem
last=queues
for fault in reset features features_ok queues; do
	d=$(blk_dev "$PMF_SERIAL")
	check "$fault/disk-found" test -n "$d" || return 1
	blkv=$(basename "$(readlink -f "/sys/block/$d/device")")
	rngd=$(vireo_devices 0x0004)
	rngv=$(basename "$rngd")
	check_eq "$fault/hwrng-is-vireo" "vireo_rng" sh -c "cut -d. -f1 /sys/class/misc/hw_random/rng_current"
	echo "$fault" >"/sys/kernel/debug/vireo/$blkv/fail_restore"
	echo "$fault" >"/sys/kernel/debug/vireo/$rngv/fail_restore"
	check_eq "$fault/armed" "$fault" cat "/sys/kernel/debug/vireo/$blkv/fail_restore"

	rm -f /tmp/w.done /tmp/w.out
	writer "$d" &
	sleep 1
	dmesg -c >/dev/null
	echo devices >/sys/power/pm_test
	echo "$state" >/sys/power/state
	echo none >/sys/power/pm_test
	dmesg >/tmp/pm
	check "$fault/blk-cause-logged" grep -q "$blkv: .*injected)" /tmp/pm
	check "$fault/rng-cause-logged" grep -q "$rngv: .*injected)" /tmp/pm
	check "$fault/blk-told" grep -q "$blkv: $d: resume failed" /tmp/pm
	check "$fault/rng-told" grep -q "$rngv: vireo_rng.*: resume failed" /tmp/pm
	check_eq "$fault/one-cause-line" 1 sh -c "grep -c '$blkv: .*injected)' /tmp/pm"
	check_eq "$fault/disarmed" none cat "/sys/kernel/debug/vireo/$blkv/fail_restore"
	# The writer in flight across the suspend gets EIO and stops, new
	# reads fail at once, entropy readers get EIO.
	check "$fault/writer-ended" wait_for 60 test -e /tmp/w.done
	check "$fault/writer-eio" grep -q "err=EIO" /tmp/w.out
	check "$fault/read-eio" sh -c "blk-io verify /dev/$d 0 4k 0 | grep -q err=EIO"
	check "$fault/hwrng-eio" sh -c "hwrng-read 64 | grep -q err=EIO"
	wait

	if [ "$fault" = "$last" ]; then
		# rmmod with both drivers holding failed devices.
		bounded "$fault/rmmod" 60 rmmod vireo_blk vireo_rng
		continue
	fi
	# Unbind and bind again: the device comes back from a reset.
	bounded "$fault/blk-unbind" 60 sh -c "echo $blkv >/sys/bus/vireo/drivers/vireo_blk/unbind"
	bounded "$fault/rng-unbind" 60 sh -c "echo $rngv >/sys/bus/vireo/drivers/vireo_rng/unbind"
	echo "$blkv" >/sys/bus/vireo/drivers/vireo_blk/bind
	echo "$rngv" >/sys/bus/vireo/drivers/vireo_rng/bind
	d=$(blk_dev "$PMF_SERIAL")
	check "$fault/rebound-io" sh -c "blk-io write /dev/$d 0 64k 7 direct && blk-io verify /dev/$d 0 64k 7"
	check "$fault/rebound-hwrng" sh -c "hwrng-read 4096 | grep -q '^bytes=4096 err=none'"
done
check unload vireo_unload
