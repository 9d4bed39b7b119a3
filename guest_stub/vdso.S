/*
 * The vDSO: a tiny ELF shared object the kernel maps into every process (AT_SYSINFO_EHDR),
 * as Linux's arch/arm64/kernel/vdso does. It exports only the signal return trampoline;
 * glibc then falls back to real syscalls for clock_gettime and friends.
 *
 * Built by the Makefile into build/guest_stub/vdso.so; moss_host/proc/vdso.py loads it.
 */
#define __NR_rt_sigreturn 139

	.text

/*
 * The CFI is Linux's (arch/arm64/kernel/vdso/sigreturn.S); vdso.lds discards the .eh_frame
 * it produces, as current Linux does, so that unwinders use their sigreturn fallback,
 * which restores every register from the rt_sigframe. The nop keeps the trampoline
 * recognisable to unwinders that subtract one from a return address.
 */
	.cfi_startproc

/*
 * .cfi_signal_frame marks the FDE as a signal frame, so DWARF unwinders (libgcc,
 * libunwind) step out of the trampoline into the interrupted code.
 */
	.cfi_signal_frame

/*
 * The frame record {fp, lr} the kernel pushed links back to the interrupted context:
 * x29 points at it when the handler returns here.
 */
	.cfi_def_cfa	x29, 0
	.cfi_offset	x29, 0 * 8
	.cfi_offset	x30, 1 * 8

	nop	/* the "mysterious NOP" */

/*
 * GDB, libgcc and libunwind recognise exactly this two-instruction sequence as the
 * sigreturn trampoline: no BTI landing pad, no other prologue.
 */
	.globl	__kernel_rt_sigreturn
	.type	__kernel_rt_sigreturn, @function
__kernel_rt_sigreturn:
	mov	x8, #__NR_rt_sigreturn
	svc	#0
	.cfi_endproc
	.size	__kernel_rt_sigreturn, . - __kernel_rt_sigreturn

/* The Linux version note (include/linux/elfnote.h ELFNOTE "Linux", type 0): 6.1.0. */
	.pushsection .note.Linux, "a", %note
	.balign	4
	.long	6f - 5f			/* namesz */
	.long	8f - 7f			/* descsz */
	.long	0			/* type */
5:	.asciz	"Linux"
6:	.balign	4
7:	.long	0x060100		/* LINUX_VERSION_CODE */
8:	.balign	4
	.popsection
