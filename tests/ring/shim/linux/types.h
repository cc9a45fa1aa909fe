/* SPDX-License-Identifier: GPL-2.0 */
/* The system header for __u16, __le16, ...; the kernel types come from kshim.h. */
#include_next <linux/types.h>
#include "../kshim.h"
