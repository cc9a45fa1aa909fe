/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in: everything is in bshim.h. */
