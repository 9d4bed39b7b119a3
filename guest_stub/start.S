/*
 * moss-py guest stub: the only native code of the kernel.
 *
 * It boots at EL1, turns on the MMU with tables the host wrote before the first
 * instruction, and then does one thing forever: on every exception from EL0 it saves
 * the user context into this CPU's mailbox, rings the doorbell (a byte on the PL011,
 * which QEMU forwards to the host's socket), waits for the host's reply, applies the
 * reply's operations, restores the (possibly replaced) context and erets.
 * It has no policy: every decision is the host's.
 *
 * The code is position independent (adr, and literal constants only): it runs at its
 * physical address until the MMU is on and at PA + LINEAR_OFFSET afterwards.
 * SP_EL1 always points at the mailbox, so saving a context needs no scratch register.
 */
#include "layout.h"

#define MAIR_VALUE   0xff04          /* attr0 Device-nGnRE, attr1 Normal write-back */

/* TCR_EL1: 48-bit VAs both halves, 4 KiB granules, write-back inner-shareable walks,
 * 40-bit PAs, 16-bit ASIDs taken from TTBR0, top byte ignored for EL0 like Linux. */
#define TCR_VALUE ((16 << 0) | (1 << 8) | (1 << 10) | (3 << 12) | (0 << 14) | \
                   (16 << 16) | (1 << 24) | (1 << 26) | (3 << 28) | (2 << 30) | \
                   (2 << 32) | (1 << 36) | (1 << 37))

/* SCTLR_EL1: MMU, caches, SP alignment checks, and what Linux grants EL0: DC ZVA (glibc's
 * memset uses it), CTR_EL0, cache maintenance, WFI/WFE without trapping. Plus RES1 bits. */
#define SCTLR_VALUE ((1 << 0) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 11) | (1 << 12) | \
                     (1 << 14) | (1 << 15) | (1 << 16) | (1 << 18) | (1 << 20) | (1 << 22) | \
                     (1 << 23) | (1 << 26) | (1 << 28) | (1 << 29))

#define GICC_IAR  0x0c
#define GICC_EOIR 0x10
#define UART_DR   0x00
#define UART_FR   0x18
#define UART_LCRH 0x2c
#define UART_CR   0x30
#define UART_IMSC 0x38
#define UART_ICR  0x44
#define __NR_getpid   172
#define ESR_EC_SVC64  0x15
#define GICD_SGIR 0xf00
#define PSCI_CPU_ON 0xc4000003               /* SMC64 CPU_ON: x1 target MPIDR, x2 entry PA, x3 context */

    .section .text.boot, "ax"
    .global _start
_start:
    msr     daifset, #0xf
    mrs     x0, CurrentEL
    cmp     x0, #(1 << 2)
    b.ne    wrong_el
    mrs     x19, mpidr_el1                  /* x19: this CPU's index (Aff0: -M virt, up to 8 CPUs) */
    and     x19, x19, #0xff
    mov     x0, #(3 << 20)                  /* CPACR_EL1.FPEN: no FP/SIMD traps */
    msr     cpacr_el1, x0
    ldr     x0, =MAIR_VALUE
    msr     mair_el1, x0
    ldr     x0, =TCR_VALUE
    msr     tcr_el1, x0
    ldr     x0, =BOOT_L0
    msr     ttbr0_el1, x0
    ldr     x0, =KERN_L0
    msr     ttbr1_el1, x0
    isb
    tlbi    vmalle1
    dsb     nsh
    ldr     x0, =SCTLR_VALUE
    msr     sctlr_el1, x0
    isb
    adr     x0, 1f                          /* jump from the identity map to the linear map */
    ldr     x1, =LINEAR_OFFSET
    add     x0, x0, x1
    br      x0
1:  adr     x0, vectors
    msr     vbar_el1, x0
    ldr     x0, =(MAILBOX_BASE + LINEAR_OFFSET)
    add     x0, x0, x19, lsl #12            /* this CPU's mailbox (MAILBOX_SIZE apart) */
    mov     sp, x0
    cbnz    x19, 2f
    bl      gic_uart_init                   /* CPU 0: the distributor and the UART, for all */
    bl      start_secondaries
2:  bl      gic_cpu_init
    /* CNTKCTL_EL1 as Linux sets it: EL0VCTEN (EL0 may read CNTVCT), and the event stream
     * (EVNTEN, EVNTI 12: an event every 2^13 ticks of the 62.5 MHz counter, 131 us: Linux's
     * arch_timer_configure_evtstream aims at 10 kHz and rounds to a power of two), which
     * HWCAP_EVTSTRM announces. */
    mov     x0, #((12 << 4) | (1 << 2) | (1 << 1))
    msr     cntkctl_el1, x0
    /* Self-hosted debug as Linux's debug_monitors sets it up: the OS lock open (it resets
     * locked, which silences breakpoints, watchpoints and single step), MDSCR_EL1 clear
     * until a traced task needs it. The host learns the debug registers from DFR0. */
    msr     oslar_el1, xzr
    msr     mdscr_el1, xzr
    isb
    mrs     x0, id_aa64dfr0_el1
    str     x0, [sp, #MB_DFR0]
    mov     x0, #REASON_BOOT
    b       report

wrong_el:                                   /* no MMU yet: say 'E' on the raw UART and stop */
    ldr     x1, =UART_PA
    mov     w2, #'E'
    strb    w2, [x1]
2:  wfi
    b       2b

gic_uart_init:
    ldr     x0, =(GICD_PA + LINEAR_OFFSET)
    mov     w1, #1
    str     w1, [x0]                        /* GICD_CTLR: enable */
    mov     w1, #(1 << VTIMER_INTID)
    str     w1, [x0, #0x100]                /* GICD_ISENABLER0 (banked PPIs) */
    mov     w1, #(1 << (UART_INTID - 32))
    str     w1, [x0, #0x104]                /* GICD_ISENABLER1 */
    mov     w1, #1
    strb    w1, [x0, #(0x800 + UART_INTID)] /* GICD_ITARGETSR: CPU 0 */
    ldr     x0, =(UART_PA + LINEAR_OFFSET)
    mov     w1, #0x7ff
    str     w1, [x0, #UART_ICR]
    mov     w1, #0x70                       /* 8 bits, FIFOs on */
    str     w1, [x0, #UART_LCRH]
    mov     w1, #((1 << 4) | (1 << 6))      /* RX and RX-timeout interrupts */
    str     w1, [x0, #UART_IMSC]
    mov     w1, #0x301                      /* UARTEN | TXE | RXE */
    str     w1, [x0, #UART_CR]
    ret

/* Each CPU's own part of the GIC: its banked PPI/SGI enables (the virtual timer, the kick
 * SGI) and its CPU interface. */
gic_cpu_init:
    ldr     x0, =(GICD_PA + LINEAR_OFFSET)
    ldr     w1, =((1 << VTIMER_INTID) | (1 << KICK_SGI))
    str     w1, [x0, #0x100]                /* GICD_ISENABLER0 (banked) */
    ldr     x0, =(GICC_PA + LINEAR_OFFSET)
    mov     w1, #0xf0
    str     w1, [x0, #4]                    /* GICC_PMR */
    mov     w1, #1
    str     w1, [x0]                        /* GICC_CTLR: enable */
    ret

/* CPU 0: power on CPUs 1 .. MB_NCPUS-1 with PSCI CPU_ON (QEMU's -M virt without firmware
 * implements PSCI itself, conduit hvc). They enter at _start with the MMU off. */
start_secondaries:
    ldr     x20, [sp, #MB_NCPUS]
    mov     x21, #1
    adr     x22, _start
    ldr     x0, =LINEAR_OFFSET
    sub     x22, x22, x0                    /* the entry point's physical address */
1:  cmp     x21, x20
    b.hs    2f
    ldr     x0, =PSCI_CPU_ON
    mov     x1, x21
    mov     x2, x22
    mov     x3, #0
    hvc     #0
    add     x21, x21, #1
    b       1b
2:  ret

/*
 * Acknowledge one pending interrupt, if any, so that WFI can sleep again: drain the
 * UART (the host's wake bytes; on CPU 0 then forward each other CPU's RING as an SGI),
 * silence the timer, or take a kick SGI. Records the INTID in the mailbox.
 * Clobbers x5-x8 and x11-x15 only.
 */
ack_irq:
    ldr     x5, =(GICC_PA + LINEAR_OFFSET)
    ldr     w6, [x5, #GICC_IAR]
    and     w7, w6, #0x3ff
    cmp     w7, #1023
    b.eq    9f
    str     x7, [sp, #MB_INTID]
    cmp     w7, #UART_INTID
    b.ne    2f
    ldr     x7, =(UART_PA + LINEAR_OFFSET)
1:  ldr     w8, [x7, #UART_FR]
    tbnz    w8, #4, 4f                      /* RXFE: receive FIFO empty */
    ldr     w8, [x7, #UART_DR]
    b       1b
4:  dmb     ish                             /* the host set RING before it sent the byte */
    ldr     x11, [sp, #MB_NCPUS]            /* (only CPU 0 takes the UART's interrupt) */
    mov     x12, #1
    add     x13, sp, #MAILBOX_SIZE
5:  cmp     x12, x11
    b.hs    3f
    ldr     x14, [x13, #MB_RING]
    cbz     x14, 6f
    str     xzr, [x13, #MB_RING]
    mov     w14, #((1 << 16) | KICK_SGI)   /* GICD_SGIR: CPUTargetList bit 16 + cpu, SGI KICK_SGI */
    lsl     w14, w14, w12
    ldr     x15, =(GICD_PA + LINEAR_OFFSET)
    dsb     ish
    str     w14, [x15, #GICD_SGIR]
6:  add     x12, x12, #1
    add     x13, x13, #MAILBOX_SIZE
    b       5b
2:  cmp     w7, #VTIMER_INTID
    b.ne    3f
    msr     cntv_ctl_el0, xzr
3:  str     w6, [x5, #GICC_EOIR]
9:  ret

/*
 * The exception vectors. Every entry saves x0/x1, puts its reason in x0 and joins
 * save_context. Entries for exceptions taken from EL1 mean the stub itself faulted.
 */
    .macro ventry reason
    .balign 0x80
    stp     x0, x1, [sp, #MB_X0]
    mov     x0, #(\reason)
    b       save_context
    .endm

    .balign 0x800
vectors:
    ventry  REASON_EL1 + 0
    ventry  REASON_EL1 + 1
    ventry  REASON_EL1 + 2
    ventry  REASON_EL1 + 3
    ventry  REASON_EL1 + 4
    ventry  REASON_EL1 + 5
    ventry  REASON_EL1 + 6
    ventry  REASON_EL1 + 7
    .balign 0x80                            /* REASON_SYNC: an svc first looks for getpid */
    stp     x0, x1, [sp, #MB_X0]
    mov     x0, #REASON_SYNC
    b       sync_entry
    ventry  REASON_IRQ
    ventry  REASON_FIQ
    ventry  REASON_SERROR
    ventry  REASON_AARCH32
    ventry  REASON_AARCH32
    ventry  REASON_AARCH32
    ventry  REASON_AARCH32

/*
 * getpid answered here, without the host: its answer never changes for a task, so the host
 * writes it into MB_FAST_PID when it switches the task in, or 0 when the call must reach it
 * (--trace, ptrace's syscall stops or single step). Linux's getpid is as cheap; glibc calls
 * it often (trinity about thirty times per call it fuzzes). x0 = REASON_SYNC, x0/x1 saved.
 */
sync_entry:
    cmp     x8, #__NR_getpid
    b.ne    save_context
    ldr     x1, [sp, #MB_FAST_PID]
    cbz     x1, save_context
    mrs     x0, esr_el1
    lsr     x0, x0, #26
    cmp     x0, #ESR_EC_SVC64
    mov     x0, #REASON_SYNC
    b.ne    save_context
    mov     x0, x1
    ldr     x1, [sp, #(MB_X0 + 8)]
    eret

save_context:
    stp     x2, x3, [sp, #(MB_X0 + 16)]
    stp     x4, x5, [sp, #(MB_X0 + 32)]
    stp     x6, x7, [sp, #(MB_X0 + 48)]
    stp     x8, x9, [sp, #(MB_X0 + 64)]
    stp     x10, x11, [sp, #(MB_X0 + 80)]
    stp     x12, x13, [sp, #(MB_X0 + 96)]
    stp     x14, x15, [sp, #(MB_X0 + 112)]
    stp     x16, x17, [sp, #(MB_X0 + 128)]
    stp     x18, x19, [sp, #(MB_X0 + 144)]
    stp     x20, x21, [sp, #(MB_X0 + 160)]
    stp     x22, x23, [sp, #(MB_X0 + 176)]
    stp     x24, x25, [sp, #(MB_X0 + 192)]
    stp     x26, x27, [sp, #(MB_X0 + 208)]
    stp     x28, x29, [sp, #(MB_X0 + 224)]
    mrs     x2, sp_el0
    stp     x30, x2, [sp, #(MB_X0 + 240)]   /* x30 and MB_SP are adjacent */
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [sp, #MB_PC]
    mrs     x2, tpidr_el0
    mrs     x3, fpcr
    stp     x2, x3, [sp, #MB_TPIDR]
    mrs     x2, fpsr
    str     x2, [sp, #MB_FPSR]
    mrs     x2, esr_el1
    mrs     x3, far_el1
    stp     x2, x3, [sp, #MB_ESR]
    add     x2, sp, #MB_Q0
    stp     q0, q1, [x2, #0]
    stp     q2, q3, [x2, #32]
    stp     q4, q5, [x2, #64]
    stp     q6, q7, [x2, #96]
    stp     q8, q9, [x2, #128]
    stp     q10, q11, [x2, #160]
    stp     q12, q13, [x2, #192]
    stp     q14, q15, [x2, #224]
    stp     q16, q17, [x2, #256]
    stp     q18, q19, [x2, #288]
    stp     q20, q21, [x2, #320]
    stp     q22, q23, [x2, #352]
    stp     q24, q25, [x2, #384]
    stp     q26, q27, [x2, #416]
    stp     q28, q29, [x2, #448]
    stp     q30, q31, [x2, #480]
    mov     x2, #1023
    str     x2, [sp, #MB_INTID]
    cmp     x0, #REASON_IRQ
    b.ne    report
    bl      ack_irq
    b       restore                         /* it traps to the host only if KICK says so */

/*
 * Publish the context (payload before sequence number), tell the host, and wait for the
 * reply: spin for as long as the host asks (MB_SPIN_TICKS of the virtual counter, re-read
 * while spinning: the host sets 0 when no reply is coming soon), then sleep in WFI with
 * SLEEPING set so the host sends a wake byte; a 10 ms timer wakes us regardless, so a
 * lost wake-up costs time, never a hang (a reply the host makes without a fence, polling,
 * can cross our SLEEPING). An idle CPU's timer is 1 s (MB_WAKE_TICKS): the reply that ends
 * an idle is always fenced, and a vCPU woken every 10 ms for nothing needs a host core
 * each time (two CPUs polling and running user code on two cores: it waited for one up to
 * 4 ms, and the host read that as CPU pressure). Woken while the host publishes a spin budget, we
 * spin again: the host wakes a sleeping CPU that way just before a timer of its own is due
 * (a nanosleep ending), so that the reply finds us spinning, not in WFI.
 *
 * Telling the host: a byte on the PL011 (the doorbell), unless the host announces in
 * HOST_POLLING that it is watching SEQ_REQ anyway. The two sides order their accesses
 * like Dekker's: we store SEQ_REQ, dmb, load HOST_POLLING; the host stores HOST_POLLING=0,
 * fences, loads SEQ_REQ. So either we see it stopped polling and ring, or it sees this
 * trap. (QEMU makes dmb a host fence only when more than one CPU is possible: qemu.py
 * starts -smp 1,maxcpus=2.) A doorbell skipped that way is rung before WFI all the same.
 */
report:
    str     x0, [sp, #MB_REASON]
report_again:                               /* (atomic_op: the same trap, its answer published) */
    ldr     x1, [sp, #MB_SEQ_REQ]
    add     x1, x1, #1
    dmb     ish
    str     x1, [sp, #MB_SEQ_REQ]
    dmb     ish                             /* SEQ_REQ visible before we read HOST_POLLING */
    mov     x9, #1                          /* x9: the doorbell is still owed */
    ldr     x2, [sp, #MB_HOST_POLLING]
    cbnz    x2, spin
    bl      ring
spin:
    mrs     x10, cntvct_el0
1:  ldr     x2, [sp, #MB_SEQ_REPLY]
    cmp     x2, x1
    b.eq    replied
    mrs     x2, isr_el1                     /* an interrupt pends (a byte to forward, a stale */
    cbz     x2, 8f                          /* kick): take it now, KICK keeps what it meant */
    bl      ack_irq
8:  ldr     x3, [sp, #MB_SPIN_TICKS]
    mrs     x4, cntvct_el0
    sub     x4, x4, x10
    cmp     x4, x3
    b.lo    1b
    cbz     x9, sleep
    bl      ring
sleep:
    mov     x2, #1
    str     x2, [sp, #MB_SLEEPING]
    dmb     ish                             /* SLEEPING visible before we look again */
    ldr     x2, [sp, #MB_SEQ_REPLY]
    cmp     x2, x1
    b.eq    woken
    ldr     x2, [sp, #MB_WAKE_TICKS]        /* (an idle CPU: the host asks for a long one) */
    cbnz    x2, 9f
    ldr     x2, =WAKE_TICKS
9:  msr     cntv_tval_el0, x2
    mov     x2, #1
    msr     cntv_ctl_el0, x2
    wfi
    bl      ack_irq
    ldr     x2, [sp, #MB_SPIN_TICKS]        /* the host woke us to spin (a reply is due soon): */
    cbz     x2, sleep                       /* no interrupt stands between it and the eret */
    str     xzr, [sp, #MB_SLEEPING]
    msr     cntv_ctl_el0, xzr
    b       spin
woken:
    str     xzr, [sp, #MB_SLEEPING]
    msr     cntv_ctl_el0, xzr
replied:
    dmb     ish                             /* reply payload after the sequence number */
    ldr     x0, [sp, #MB_REASON]
    cmp     x0, #REASON_EL1
    b.hs    halted                          /* the stub faulted: the host has the dump */
    ldr     x2, [sp, #MB_DEBUG]             /* a traced task's debug state: rarely */
    cbnz    x2, load_debug

/* Apply the reply's operations, in an order that is safe: scrub, switch, invalidate. */
apply_ops:
    ldr     x2, [sp, #MB_OPS]
    cbz     x2, restore
    tbnz    x2, #7, atomic_op               /* OP_ATOMIC: a futex word first, then report again */
    tbz     x2, #4, 2f                      /* OP_SCRUB: zero frames with guest stores so */
    ldr     x3, [sp, #MB_N_SCRUB]           /* TCG drops translations of their old code */
    add     x4, sp, #MB_SCRUB
    ldr     x6, =LINEAR_OFFSET
1:  cbz     x3, 11f
    ldr     x5, [x4], #8
    add     x5, x5, x6
    mov     x7, #256
10: stp     xzr, xzr, [x5], #16
    subs    x7, x7, #1
    b.ne    10b
    sub     x3, x3, #1
    b       1b
11: dsb     ish
    ic      ialluis
2:  tbz     x2, #0, 3f                      /* OP_SET_TTBR0 */
    ldr     x3, [sp, #MB_TTBR0]
    msr     ttbr0_el1, x3
    isb
3:  dsb     ishst
    tbz     x2, #6, 12f                     /* OP_TLBI_SELF: this CPU's TLB may be stale */
    tlbi    vmalle1
12: tbnz    x2, #5, 13f                     /* OP_TLBI_LOCAL: no other CPU holds the entries */
    tbz     x2, #1, 4f                      /* OP_TLBI_ALL */
    tlbi    vmalle1is
4:  tbz     x2, #2, 5f                      /* OP_TLBI_ASID */
    ldr     x3, [sp, #MB_TLBI_ASID]
    tlbi    aside1is, x3
5:  tbz     x2, #3, 7f                      /* OP_TLBI_VA */
    ldr     x3, [sp, #MB_N_TLBI_VA]
    add     x4, sp, #MB_TLBI_VA
6:  cbz     x3, 7f
    ldr     x5, [x4], #8
    tlbi    vae1is, x5
    sub     x3, x3, #1
    b       6b
/* The same on this CPU only: the inner-shareable forms are, under QEMU's multi-threaded
 * TCG, work every vCPU must stop for (tlb_flush_*_all_cpus_synced); these are not. */
13: tbz     x2, #1, 14f
    tlbi    vmalle1
14: tbz     x2, #2, 15f
    ldr     x3, [sp, #MB_TLBI_ASID]
    tlbi    aside1, x3
15: tbz     x2, #3, 7f
    ldr     x3, [sp, #MB_N_TLBI_VA]
    add     x4, sp, #MB_TLBI_VA
16: cbz     x3, 7f
    ldr     x5, [x4], #8
    tlbi    vae1, x5
    sub     x3, x3, #1
    b       16b
7:  dsb     ish
    isb
    str     xzr, [sp, #MB_OPS]

/* A kick the host sent while we waited for the reply (or after an interrupt from EL0):
 * trap again as an interrupt, with the context the host just gave us.
 * Then the context: all of it when the host says it may have changed more than x0
 * (RESTORE_ALL: every reply but a syscall's answered at once, proc/cpu.py Cpu.reply);
 * otherwise only what the stub itself used, x0-x15 and x30 (its bl; x0 holds the
 * answer). The rest is still live: x16-x29, sp_el0, the Q registers and FPCR/FPSR are
 * never touched here, and ELR/SPSR/TPIDR_EL0 not written (no exception is taken in the stub). */
restore:
    ldr     x2, [sp, #MB_KICK]
    cbnz    x2, kicked
    ldr     x2, [sp, #MB_RESTORE_ALL]
    cbz     x2, restore_scratch
    str     xzr, [sp, #MB_RESTORE_ALL]
    add     x2, sp, #MB_Q0
    ldp     q0, q1, [x2, #0]
    ldp     q2, q3, [x2, #32]
    ldp     q4, q5, [x2, #64]
    ldp     q6, q7, [x2, #96]
    ldp     q8, q9, [x2, #128]
    ldp     q10, q11, [x2, #160]
    ldp     q12, q13, [x2, #192]
    ldp     q14, q15, [x2, #224]
    ldp     q16, q17, [x2, #256]
    ldp     q18, q19, [x2, #288]
    ldp     q20, q21, [x2, #320]
    ldp     q22, q23, [x2, #352]
    ldp     q24, q25, [x2, #384]
    ldp     q26, q27, [x2, #416]
    ldp     q28, q29, [x2, #448]
    ldp     q30, q31, [x2, #480]
    ldp     x2, x3, [sp, #MB_PC]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x2, x3, [sp, #MB_TPIDR]
    msr     tpidr_el0, x2
    msr     fpcr, x3
    ldr     x2, [sp, #MB_FPSR]
    msr     fpsr, x2
    ldp     x30, x2, [sp, #(MB_X0 + 240)]
    msr     sp_el0, x2
    ldp     x2, x3, [sp, #(MB_X0 + 16)]
    ldp     x4, x5, [sp, #(MB_X0 + 32)]
    ldp     x6, x7, [sp, #(MB_X0 + 48)]
    ldp     x8, x9, [sp, #(MB_X0 + 64)]
    ldp     x10, x11, [sp, #(MB_X0 + 80)]
    ldp     x12, x13, [sp, #(MB_X0 + 96)]
    ldp     x14, x15, [sp, #(MB_X0 + 112)]
    ldp     x16, x17, [sp, #(MB_X0 + 128)]
    ldp     x18, x19, [sp, #(MB_X0 + 144)]
    ldp     x20, x21, [sp, #(MB_X0 + 160)]
    ldp     x22, x23, [sp, #(MB_X0 + 176)]
    ldp     x24, x25, [sp, #(MB_X0 + 192)]
    ldp     x26, x27, [sp, #(MB_X0 + 208)]
    ldp     x28, x29, [sp, #(MB_X0 + 224)]
    ldp     x0, x1, [sp, #MB_X0]
    eret

restore_scratch:
    ldr     x30, [sp, #(MB_X0 + 240)]
    ldp     x2, x3, [sp, #(MB_X0 + 16)]
    ldp     x4, x5, [sp, #(MB_X0 + 32)]
    ldp     x6, x7, [sp, #(MB_X0 + 48)]
    ldp     x8, x9, [sp, #(MB_X0 + 64)]
    ldp     x10, x11, [sp, #(MB_X0 + 80)]
    ldp     x12, x13, [sp, #(MB_X0 + 96)]
    ldp     x14, x15, [sp, #(MB_X0 + 112)]
    ldp     x0, x1, [sp, #MB_X0]
    eret

/*
 * OP_ATOMIC: one read-modify-write of a futex word, atomic against every CPU, as Linux's
 * futex_atomic_cmpxchg_inatomic and arch_futex_atomic_op_inuser (LL/SC) do it: the host is one
 * process with plain loads and stores on guest RAM, so a user cmpxchg on another vCPU between
 * its read and its write would be lost. The Cortex-A72 has no LSE atomics (ID_AA64ISAR0_EL1.Atomic
 * is 0); under QEMU's multi-threaded TCG the store-exclusive is a host compare-and-swap.
 * The host made the page present and writable and passes the word's linear-map address, so
 * nothing here can fault. The old value goes to MB_ATOMIC_OLD; then the stub reports again
 * without touching the saved context (SEQ_REQ + 1, same MB_REASON): the host, still in the
 * handler that asked, waits for that and answers the trap as usual afterwards, with the
 * reply's other operations if any (only OP_ATOMIC is cleared here). Clobbers x2-x9.
 */
atomic_op:
    ldp     x3, x4, [sp, #MB_ATOMIC_KIND]   /* x3: the operation, x4: the word */
    ldp     x5, x6, [sp, #MB_ATOMIC_CMP]    /* w5: the value expected (cmpxchg), w6: new value or operand */
1:  ldxr    w7, [x4]
    cmp     x3, #ATOMIC_CMPXCHG
    b.ne    2f
    cmp     w7, w5
    b.ne    8f                              /* another value: no store */
    mov     w8, w6
    b       7f
2:  cmp     x3, #(ATOMIC_SET + 1)           /* FUTEX_OP_ADD */
    b.ne    3f
    add     w8, w7, w6
    b       7f
3:  cmp     x3, #(ATOMIC_SET + 2)           /* FUTEX_OP_OR */
    b.ne    4f
    orr     w8, w7, w6
    b       7f
4:  cmp     x3, #(ATOMIC_SET + 3)           /* FUTEX_OP_ANDN */
    b.ne    5f
    bic     w8, w7, w6
    b       7f
5:  cmp     x3, #(ATOMIC_SET + 4)           /* FUTEX_OP_XOR */
    b.ne    6f
    eor     w8, w7, w6
    b       7f
6:  mov     w8, w6                          /* FUTEX_OP_SET */
7:  stlxr   w9, w8, [x4]
    cbnz    w9, 1b
    dmb     ish
    b       9f
8:  clrex
9:  str     x7, [sp, #MB_ATOMIC_OLD]
    bic     x2, x2, #OP_ATOMIC
    str     x2, [sp, #MB_OPS]
    b       report_again

kicked:
    str     xzr, [sp, #MB_KICK]
    mov     x0, #REASON_IRQ
    b       report

halted:
    wfi
    b       halted

/*
 * The debug state of the task we return to (MB_DEBUG's bits, see layout.h): its hardware
 * breakpoints and watchpoints, then MDSCR_EL1 (SS for a single step, whose SPSR.SS the host
 * sets in the context; MDE for the registers). Debug exceptions stay masked at EL1 (PSTATE.D)
 * and KDE is never set, so none of this fires in the stub.
 */
    .macro  dbgpair vr, cr, off
    ldp     x4, x5, [x3, #\off]
    msr     \vr, x4
    msr     \cr, x5
    .endm
load_debug:
    tbz     x2, #1, 1f                      /* DBG_LOAD_REGS */
    add     x3, sp, #MB_DBG_BP
    dbgpair dbgbvr0_el1, dbgbcr0_el1, 0
    dbgpair dbgbvr1_el1, dbgbcr1_el1, 16
    dbgpair dbgbvr2_el1, dbgbcr2_el1, 32
    dbgpair dbgbvr3_el1, dbgbcr3_el1, 48
    dbgpair dbgbvr4_el1, dbgbcr4_el1, 64
    dbgpair dbgbvr5_el1, dbgbcr5_el1, 80
    add     x3, sp, #MB_DBG_WP
    dbgpair dbgwvr0_el1, dbgwcr0_el1, 0
    dbgpair dbgwvr1_el1, dbgwcr1_el1, 16
    dbgpair dbgwvr2_el1, dbgwcr2_el1, 32
    dbgpair dbgwvr3_el1, dbgwcr3_el1, 48
1:  ldr     x3, [sp, #MB_MDSCR]             /* DBG_LOAD_MDSCR */
    msr     mdscr_el1, x3
    isb
    str     xzr, [sp, #MB_DEBUG]
    b       apply_ops

/* The doorbell: SEQ_REQ visible first, then a byte on the UART. Clobbers x2, x3, x9. */
ring:
    dsb     ish
    ldr     x2, =(UART_PA + LINEAR_OFFSET)
    mov     w3, #'!'
    strb    w3, [x2, #UART_DR]
    mov     x9, #0
    ret

    .ltorg
