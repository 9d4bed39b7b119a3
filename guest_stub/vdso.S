/*
 * The vDSO: a tiny ELF shared object the kernel maps into every process (AT_SYSINFO_EHDR),
 * as Linux's arch/arm64/kernel/vdso does. It exports the signal return trampoline and the
 * clock calls Linux's arm64 vDSO answers in user space (clock_gettime, gettimeofday,
 * clock_getres), all version LINUX_2.6.39 as glibc looks them up.
 *
 * The clocks come from the virtual counter (CNTVCT_EL0, which EL0 may read) and the data
 * page [vvar] right below the vDSO, which the kernel writes (moss_host/proc/vvar.py holds
 * the layout below and the write side of the sequence count):
 *   ns(clock) = base[clock] + (((CNTVCT - cycle_last) * mult) >> shift)
 * The coarse clocks are that time cut down to a tick (TICK_NSEC), as the kernel's are.
 * Clocks the page does not serve (the CPU-time clocks, the _ALARM ones, invalid ids) go to
 * the kernel with the svc, as Linux's do. While the kernel calibrates the counter against
 * its own clock (VVAR_MODE non-zero), the served calls go to the kernel too, carrying the
 * counter they read just before the svc in x2 and VDSO_CALIBRATE in x3 (calibrating_svc).
 *
 * Built by the Makefile into build/guest_stub/vdso.so; moss_host/proc/vdso.py loads it.
 */
#define __NR_rt_sigreturn 139
#define __NR_clock_gettime 113
#define __NR_clock_getres 114
#define __NR_gettimeofday 169

/* The [vvar] page (proc/vvar.py writes it). */
#define VVAR_SEQ	0		/* u32: odd while the kernel rewrites the page */
#define VVAR_MODE	4		/* u32: 0 the counter formula holds; 1 calibrating; 2 ask the kernel */
#define MODE_CALIBRATE	1
#define VVAR_CYCLE_LAST	8		/* u64 */
#define VVAR_MULT	16		/* u32 */
#define VVAR_SHIFT	20		/* u32 */
#define VVAR_TZ		24		/* s32 tz_minuteswest, s32 tz_dsttime */
#define VVAR_BASE	32		/* u64 ns per clock id 0..11 */

/* Clock ids the page answers: REALTIME 0, MONOTONIC 1, MONOTONIC_RAW 4, REALTIME_COARSE 5,
 * MONOTONIC_COARSE 6, BOOTTIME 7, TAI 11; of them the coarse ones. */
#define SERVED_CLOCKS	0x8f3
#define COARSE_CLOCKS	0x060
#define MAX_CLOCK	11
#define TICK_NSEC_LO	0x0900		/* 4,000,000 ns: a jiffy at HZ=250 */
#define TICK_NSEC_HI	0x003d
#define NSEC_LO		0xca00		/* 1,000,000,000 */
#define NSEC_HI		0x3b9a
#define VDSO_CALIBRATE_LO 0x7373	/* "moss": x3 of a calibrating call */
#define VDSO_CALIBRATE_HI 0x6d6f

	.hidden	_vdso_data

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

/*
 * vvar_read: x4 = the page, w0 = a served clock id (zero-extended). Returns x7 = its time
 * in ns, w13/w14 = the time zone; branches to \calibrate while the kernel calibrates.
 */
	.macro	vvar_read calibrate
	adrp	x4, _vdso_data
	add	x4, x4, :lo12:_vdso_data
1:	ldr	w5, [x4, #VVAR_SEQ]
	tbnz	w5, #0, 1b			/* the kernel is writing the page */
	dmb	ishld
	ldr	w6, [x4, #VVAR_MODE]
	cbnz	w6, \calibrate
	isb					/* the counter read after the loads above */
	mrs	x7, cntvct_el0
	ldr	x8, [x4, #VVAR_CYCLE_LAST]
	ldp	w9, w10, [x4, #VVAR_MULT]
	add	x11, x4, #VVAR_BASE
	ldr	x11, [x11, w0, uxtw #3]
	ldp	w13, w14, [x4, #VVAR_TZ]
	dmb	ishld
	ldr	w12, [x4, #VVAR_SEQ]
	cmp	w12, w5
	b.ne	1b				/* rewritten meanwhile: read again */
	sub	x7, x7, x8
	mul	x7, x7, x9
	lsr	x7, x7, x10
	add	x7, x7, x11
	.endm

/* x7 = ns -> x13 = seconds, x14 = the ns within the second (x12 clobbered). */
	.macro	split_ns
	mov	x12, #NSEC_LO
	movk	x12, #NSEC_HI, lsl #16
	udiv	x13, x7, x12
	msub	x14, x13, x12, x7
	.endm

/*
 * While the kernel calibrates, a served call goes to the kernel three times, each time with
 * the counter it read right before the svc (x2) and a marker (x3): VDSO_CALIBRATE + 0, 1, 2.
 * The kernel takes its clock at each reply, and the next call's counter, read at once after
 * that reply, as a sample of the shortest way from a kernel clock read to a vDSO counter
 * read (three calls, not two: the host restores the whole context on every other reply, so
 * the samples see both kinds of return). The last call answers.
 */
	.macro	calibrating_svc nr, plain
	cmp	w6, #MODE_CALIBRATE
	b.ne	\plain				/* the counter is not to be trusted: one plain svc */
	mov	x16, x0				/* the first argument again for each call */
	mov	x3, #VDSO_CALIBRATE_LO
	movk	x3, #VDSO_CALIBRATE_HI, lsl #16
	add	x17, x3, #3
	mov	x8, #\nr
1:	mov	x0, x16
	isb
	mrs	x2, cntvct_el0
	svc	#0
	cbnz	x0, 2f
	add	x3, x3, #1
	cmp	x3, x17
	b.lo	1b
2:	ret
	.endm

/* int __kernel_clock_gettime(clockid_t clock, struct timespec *ts) */
	.globl	__kernel_clock_gettime
	.type	__kernel_clock_gettime, @function
	.balign	16
__kernel_clock_gettime:
	cmp	w0, #MAX_CLOCK
	b.hi	8f
	mov	x2, #SERVED_CLOCKS
	lsr	x2, x2, x0
	tbz	x2, #0, 8f
	vvar_read 9f
	mov	x2, #COARSE_CLOCKS
	lsr	x2, x2, x0
	tbz	x2, #0, 2f
	mov	x12, #TICK_NSEC_LO		/* a coarse clock: the time of the last tick */
	movk	x12, #TICK_NSEC_HI, lsl #16
	udiv	x13, x7, x12
	mul	x7, x13, x12
2:	split_ns
	stp	x13, x14, [x1]
	mov	x0, #0
	ret
8:	mov	x8, #__NR_clock_gettime
	svc	#0
	ret
9:	calibrating_svc __NR_clock_gettime, 8b
	.size	__kernel_clock_gettime, . - __kernel_clock_gettime

/* int __kernel_gettimeofday(struct timeval *tv, struct timezone *tz) */
	.globl	__kernel_gettimeofday
	.type	__kernel_gettimeofday, @function
	.balign	16
__kernel_gettimeofday:
	mov	x15, x0				/* vvar_read wants the clock id in w0 */
	mov	w0, #0				/* CLOCK_REALTIME */
	vvar_read 9f
	cbz	x15, 2f
	mov	x11, x13			/* (split_ns overwrites the zone) */
	mov	x10, x14
	split_ns
	mov	x12, #1000
	udiv	x14, x14, x12
	stp	x13, x14, [x15]
	mov	x13, x11
	mov	x14, x10
2:	cbz	x1, 3f
	stp	w13, w14, [x1]
3:	mov	x0, #0
	ret
9:	mov	x0, x15
	calibrating_svc __NR_gettimeofday, 8f
8:	mov	x8, #__NR_gettimeofday
	svc	#0
	ret
	.size	__kernel_gettimeofday, . - __kernel_gettimeofday

/* int __kernel_clock_getres(clockid_t clock, struct timespec *res) */
	.globl	__kernel_clock_getres
	.type	__kernel_clock_getres, @function
	.balign	16
__kernel_clock_getres:
	cmp	w0, #MAX_CLOCK
	b.hi	8f
	mov	x2, #SERVED_CLOCKS
	lsr	x2, x2, x0
	tbz	x2, #0, 8f
	mov	x3, #1				/* hrtimer_resolution */
	mov	x2, #COARSE_CLOCKS
	lsr	x2, x2, x0
	tbz	x2, #0, 2f
	mov	x3, #TICK_NSEC_LO		/* LOW_RES_NSEC */
	movk	x3, #TICK_NSEC_HI, lsl #16
2:	cbz	x1, 3f
	stp	xzr, x3, [x1]
3:	mov	x0, #0
	ret
8:	mov	x8, #__NR_clock_getres
	svc	#0
	ret
	.size	__kernel_clock_getres, . - __kernel_clock_getres

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
