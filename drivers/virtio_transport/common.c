// SPDX-License-Identifier: GPL-2.0
/*
 * What every transport does alike: device-specific config space access,
 * waiting for a reset to complete, choosing a queue size.
 *
 * Config space: virtio 1.2, 4.1.3.1 and 4.2.2.2: the driver MUST access 8-bit fields with
 * 8-bit accesses, 16-bit fields with aligned 16-bit accesses and 32- and
 * 64-bit fields with aligned 32-bit accesses (a 64-bit field low half
 * first). The bus reads a field at a time (vireo_cread16(), ...), so an
 * access of 1, 2, 4 or 8 aligned bytes is taken to be one field. Anything
 * else (a MAC address, a string) is read byte by byte.
 *
 * Fields are little-endian (legacy devices: guest-endian, which is the same
 * on the little-endian guests vireo supports), so the bytes are stored as
 * the device presents them.
 */
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/log2.h>
#include <linux/string.h>

#include "transport.h"

void vireo_io_read_config(void __iomem *base, unsigned int offset,
			  void *buf, unsigned int len)
{
	void __iomem *addr = base + offset;
	__le32 w[2];
	__le16 h;
	u8 *p = buf;
	unsigned int i;

	switch (len) {
	case 1:
		*p = ioread8(addr);
		return;
	case 2:
		if (IS_ALIGNED(offset, 2)) {
			h = cpu_to_le16(ioread16(addr));
			memcpy(p, &h, sizeof(h));
			return;
		}
		break;
	case 4:
		if (IS_ALIGNED(offset, 4)) {
			w[0] = cpu_to_le32(ioread32(addr));
			memcpy(p, w, sizeof(w[0]));
			return;
		}
		break;
	case 8:
		if (IS_ALIGNED(offset, 4)) {
			w[0] = cpu_to_le32(ioread32(addr));
			w[1] = cpu_to_le32(ioread32(addr + 4));
			memcpy(p, w, sizeof(w));
			return;
		}
		break;
	}
	for (i = 0; i < len; i++)
		p[i] = ioread8(addr + i);
}

void vireo_io_write_config(void __iomem *base, unsigned int offset,
			   const void *buf, unsigned int len)
{
	void __iomem *addr = base + offset;
	const u8 *p = buf;
	__le32 w[2];
	__le16 h;
	unsigned int i;

	switch (len) {
	case 1:
		iowrite8(*p, addr);
		return;
	case 2:
		if (IS_ALIGNED(offset, 2)) {
			memcpy(&h, p, sizeof(h));
			iowrite16(le16_to_cpu(h), addr);
			return;
		}
		break;
	case 4:
		if (IS_ALIGNED(offset, 4)) {
			memcpy(w, p, sizeof(w[0]));
			iowrite32(le32_to_cpu(w[0]), addr);
			return;
		}
		break;
	case 8:
		if (IS_ALIGNED(offset, 4)) {
			memcpy(w, p, sizeof(w));
			iowrite32(le32_to_cpu(w[0]), addr);
			iowrite32(le32_to_cpu(w[1]), addr + 4);
			return;
		}
		break;
	}
	for (i = 0; i < len; i++)
		iowrite8(p[i], addr + i);
}

/* A device that takes longer than this to reset is not coming back. */
#define VIREO_RESET_TIMEOUT_MS	3000

/*
 * virtio 1.2, 4.1.4.3.2 and 2.4.2: after writing 0 to the device status the
 * driver MUST wait for it to read back 0 before using the device again.
 * Bounded: a device that never gets there (-ETIMEDOUT), or one that has
 * left the bus (-ENODEV, @present says so), is given up on with a log line
 * instead of hanging the caller; the bus then must not initialise it again.
 */
int vireo_wait_for_reset(struct vireo_device *vd,
			 bool (*present)(struct vireo_device *vd))
{
	unsigned long deadline = jiffies + msecs_to_jiffies(VIREO_RESET_TIMEOUT_MS);
	u8 status;

	for (;;) {
		status = vd->ops->get_status(vd);
		if (!status)
			return 0;
		if (present && !present(vd)) {
			dev_err(vd->dev.parent, "device is gone; no reset\n");
			return -ENODEV;
		}
		if (time_after(jiffies, deadline)) {
			dev_err(vd->dev.parent,
				"device did not reset: status 0x%02x after %u ms; giving up\n",
				status, VIREO_RESET_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
		usleep_range(1000, 2000);
	}
}

/*
 * The ring size for a queue the device offers @max entries of and the
 * driver wants at most @want of (0: no limit). Split rings need a power of
 * two (virtio 1.2, 2.7).
 */
unsigned int vireo_queue_num(unsigned int max, unsigned int want, bool pow2)
{
	unsigned int num = min_t(unsigned int, max, VIREO_MAX_QUEUE_SIZE);

	if (want)
		num = min_t(unsigned int, num, rounddown_pow_of_two(want));
	if (pow2)
		num = rounddown_pow_of_two(num);
	return num;
}
