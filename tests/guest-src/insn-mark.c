// SPDX-License-Identifier: GPL-2.0
/*
 * insn-mark: executes the marker instruction scripts/insn-count/plugin.c
 * watches for, once: the plugin writes out the guest instruction counts
 * since boot. Outside that plugin it is a NOP.
 */
int main(void)
{
	/* nopl 0x4d524b56(%rax,%rax,1) */
	__asm__ volatile(".byte 0x0f, 0x1f, 0x84, 0x00, 0x56, 0x4b, 0x52, 0x4d");
	return 0;
}
