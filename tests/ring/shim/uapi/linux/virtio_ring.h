/* SPDX-License-Identifier: GPL-2.0 */
/* The system uapi header: the specification's numbers. */
#include <linux/virtio_ring.h>
