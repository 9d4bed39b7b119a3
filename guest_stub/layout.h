/*
 * The contract between the guest stub and the Python host: physical layout and the
 * per-CPU mailbox format. moss_host/machine/layout.py mirrors every constant here and
 * tests/unit/test_layout.py checks that the two agree.
 */
#ifndef MOSS_LAYOUT_H
#define MOSS_LAYOUT_H

/* Physical memory (-M virt: RAM starts at 1 GiB; QEMU puts the DTB at its start). */
#define RAM_BASE        0x40000000
#define STUB_BASE       0x40200000   /* stub image, < 1 MiB */
#define KERN_L0         0x40300000   /* TTBR1 tables, written by the host before boot */
#define KERN_L1         0x40301000
#define BOOT_L0         0x40302000   /* identity map used only while turning the MMU on */
#define BOOT_L1         0x40303000
#define MAILBOX_BASE    0x40310000   /* one 4 KiB mailbox per CPU */
#define MAILBOX_SIZE    0x1000
#define FRAME_POOL_BASE 0x40400000   /* everything above belongs to the host's frame allocator */

/* The kernel half: all of RAM and the device window linearly mapped at PA + LINEAR_OFFSET. */
#define LINEAR_OFFSET   0xffff000000000000
#define UART_PA         0x09000000
#define GICD_PA         0x08000000
#define GICC_PA         0x08010000
#define UART_INTID      33           /* PL011 on -M virt: SPI 1 */
#define VTIMER_INTID    27

/* Mailbox: the user context, saved on every exception from EL0 and restored on return. */
#define MB_X0           0x000        /* x0..x30, 8 bytes each */
#define MB_SP           0x0f8        /* sp_el0 */
#define MB_PC           0x100        /* elr_el1 */
#define MB_PSTATE       0x108        /* spsr_el1 */
#define MB_TPIDR        0x110        /* tpidr_el0 */
#define MB_FPCR         0x118
#define MB_FPSR         0x120
#define MB_CONTEXT_END  0x128        /* x0..fpsr: the integer context */
#define MB_ESR          0x140        /* why we trapped (not restored) */
#define MB_FAR          0x148
#define MB_REASON       0x150
#define MB_INTID        0x158
#define MB_FAST_PID     0x160        /* getpid's answer for the task on this CPU, 0: getpid traps (host writes it at switch-in) */
#define MB_RESTORE_ALL  0x168        /* the host may have changed more than x0: restore the whole context (the stub clears it) */
/* An atomic update of one futex word, done by the stub (OP_ATOMIC, proc/guest_atomic.py):
 * the word's linear-map address, the operation, its operands, and the old value it found. */
#define MB_ATOMIC_KIND  0x180        /* ATOMIC_CMPXCHG, or ATOMIC_SET + FUTEX_OP_* (set, add, or, andn, xor) */
#define MB_ATOMIC_ADDR  0x188        /* PA + LINEAR_OFFSET of the 4-byte word */
#define MB_ATOMIC_CMP   0x190        /* cmpxchg: the value expected */
#define MB_ATOMIC_ARG   0x198        /* cmpxchg: the new value; the others: the operand */
#define MB_ATOMIC_OLD   0x1a0        /* the stub's answer: the word before (the word after: unchanged if cmpxchg failed) */
#define ATOMIC_CMPXCHG  1
#define ATOMIC_SET      2            /* ATOMIC_SET + FUTEX_OP_ADD .. FUTEX_OP_XOR follow in order */
#define MB_Q0           0x200        /* q0..q31, 16 bytes each, up to 0x400 */
#define MB_Q_END        0x400

/* Handshake words, each on its own cache line. */
#define MB_SEQ_REQ      0x400        /* guest increments after saving a context */
#define MB_SEQ_REPLY    0x440        /* host sets to SEQ_REQ when the reply is ready */
#define MB_SLEEPING     0x480        /* guest sets 1 before WFI; host then sends a wake byte */
#define MB_HOST_POLLING 0x4c0        /* host sets 1 while it polls SEQ_REQ: no doorbell needed */
#define MB_SPIN_TICKS   0x4c8        /* how long the guest spins for a reply before WFI (counter ticks) */
#define MB_NCPUS        0x4d0        /* CPU 0's mailbox only: CPUs to bring up (host writes it before boot) */
#define MB_WAKE_TICKS   0x4d8        /* the backup wake-up from WFI the host asks for (counter ticks), 0: WAKE_TICKS */

/* The reply: operations the stub applies before restoring the context. */
#define MB_OPS          0x500
#define MB_TTBR0        0x508
#define MB_TLBI_ASID    0x510        /* operand for tlbi aside1is (ASID << 48) */
#define MB_N_TLBI_VA    0x518
#define MB_N_SCRUB      0x520
/* Debug state (ptrace): the stub loads it before eret only when MB_DEBUG is not 0, then
 * clears MB_DEBUG. DBG_LOAD_MDSCR: MDSCR_EL1 = MB_MDSCR (SS: single step, MDE: the
 * break/watchpoints below); DBG_LOAD_REGS: also DBGBVR/BCR0..5 and DBGWVR/WCR0..3. */
#define MB_DEBUG        0x528
#define MB_MDSCR        0x530
#define MB_DFR0         0x538        /* ID_AA64DFR0_EL1, stored by the stub at boot */
#define MB_DBG_BP       0x540        /* 6 x (DBGBVR, DBGBCR) */
#define MB_DBG_WP       0x5a0        /* 4 x (DBGWVR, DBGWCR), up to 0x5e0 */
#define MB_DBG_NBP      6            /* cortex-a72 (and a57, max): 6 breakpoints, 4 watchpoints */
#define MB_DBG_NWP      4
#define DBG_LOAD_MDSCR  (1 << 0)
#define DBG_LOAD_REGS   (1 << 1)
/* Kicks (docs/trap-path.md, several CPUs): the host sets KICK when this CPU must trap
 * (interrupt user code, or trap again right after the next eret), RING when it needs an
 * interrupt (a wake from WFI); CPU 0, which takes the UART's interrupt, forwards RING as an SGI. */
#define MB_KICK         0x5e0
#define MB_RING         0x5e8
#define KICK_SGI        0            /* the SGI that CPU 0 sends to wake or kick another CPU */
#define MB_TLBI_VA      0x600        /* up to 64 operands for tlbi vae1is (ASID << 48 | VA >> 12) */
#define MB_MAX_TLBI_VA  64
#define MB_SCRUB        0x800        /* up to 256 frame PAs to zero by guest stores */
#define MB_MAX_SCRUB    256

#define OP_SET_TTBR0    (1 << 0)
#define OP_TLBI_ALL     (1 << 1)
#define OP_TLBI_ASID    (1 << 2)
#define OP_TLBI_VA      (1 << 3)
#define OP_SCRUB        (1 << 4)
#define OP_TLBI_LOCAL   (1 << 5)     /* OP_TLBI_ALL/ASID/VA on this CPU only (no other holds entries) */
#define OP_TLBI_SELF    (1 << 6)     /* this CPU's whole TLB, locally (it may hold stale entries) */
#define OP_ATOMIC       (1 << 7)     /* before the rest: the MB_ATOMIC_* update, then report again (the rest at the next reply) */

/* MB_REASON values. */
#define REASON_BOOT     0
#define REASON_SYNC     1            /* svc, aborts, undefined instructions from EL0 */
#define REASON_IRQ      2
#define REASON_FIQ      3
#define REASON_SERROR   4
#define REASON_AARCH32  5
#define REASON_EL1      0x10         /* + vector index 0..7: the stub itself faulted */

#define COUNTER_HZ      62500000     /* the virtual counter's CNTFRQ_EL0 under QEMU 7.2 (16 ns a tick) */
#define SPIN_TICKS      6250         /* the spin the host publishes normally: 100 us at 62.5 MHz */
#define WAKE_TICKS      625000       /* backup wake-up: 10 ms at 62.5 MHz */
#define IDLE_WAKE_TICKS 62500000     /* ... an idle CPU's, which only a fenced reply wakes: 1 s */

#endif
