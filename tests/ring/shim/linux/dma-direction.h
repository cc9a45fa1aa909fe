/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in: everything is in kshim.h. */
#include "../kshim.h"
