"""Mirror of guest_stub/layout.h: the physical layout and the mailbox format shared with the stub.

tests/unit/test_layout.py checks every constant against the header, so the two cannot drift.
"""
from moss_host.arch.arm64 import context as C

RAM_BASE = 0x40000000
STUB_BASE = 0x40200000  # stub image, < 1 MiB
KERN_L0 = 0x40300000  # TTBR1 tables, written by the host before boot
KERN_L1 = 0x40301000
BOOT_L0 = 0x40302000  # identity map used only while turning the MMU on
BOOT_L1 = 0x40303000
MAILBOX_BASE = 0x40310000  # one 4 KiB mailbox per CPU
MAILBOX_SIZE = 0x1000
FRAME_POOL_BASE = 0x40400000  # everything above belongs to the host's frame allocator
LINEAR_OFFSET = 0xffff000000000000
UART_PA = 0x09000000
GICD_PA = 0x08000000
GICC_PA = 0x08010000
UART_INTID = 33  # PL011 on -M virt: SPI 1
VTIMER_INTID = 27
# Mailbox: the user context, saved on every exception from EL0 and restored on return.
# Its register offsets are arm64's: defined once in arch/arm64/context.py.
MB_X0 = C.OFF_X0  # x0..x30, 8 bytes each
MB_SP = C.OFF_SP  # sp_el0
MB_PC = C.OFF_PC  # elr_el1
MB_PSTATE = C.OFF_PSTATE  # spsr_el1
MB_TPIDR = C.OFF_TPIDR  # tpidr_el0
MB_FPCR = C.OFF_FPCR
MB_FPSR = C.OFF_FPSR
MB_CONTEXT_END = C.OFF_INT_END  # x0..fpsr: the integer context
MB_ESR = C.OFF_ESR  # why we trapped (not restored)
MB_FAR = C.OFF_FAR
MB_REASON = 0x150
MB_INTID = 0x158
MB_FAST_PID = 0x160  # getpid's answer for the task on this CPU, 0: getpid traps (host writes it at switch-in)
MB_RESTORE_ALL = 0x168  # the host may have changed more than x0: restore the whole context (the stub clears it)
# An atomic update of one futex word, done by the stub (OP_ATOMIC, proc/guest_atomic.py).
MB_ATOMIC_KIND = 0x180  # ATOMIC_CMPXCHG, or ATOMIC_SET + FUTEX_OP_* (set, add, or, andn, xor)
MB_ATOMIC_ADDR = 0x188  # PA + LINEAR_OFFSET of the 4-byte word
MB_ATOMIC_CMP = 0x190  # cmpxchg: the value expected
MB_ATOMIC_ARG = 0x198  # cmpxchg: the new value; the others: the operand
MB_ATOMIC_OLD = 0x1a0  # the stub's answer: the word before
ATOMIC_CMPXCHG = 1
ATOMIC_SET = 2  # ATOMIC_SET + FUTEX_OP_ADD .. FUTEX_OP_XOR follow in order
MB_Q0 = C.OFF_Q0  # q0..q31, 16 bytes each, up to 0x400
MB_Q_END = C.OFF_Q_END
# Handshake words, each on its own cache line.
MB_SEQ_REQ = 0x400  # guest increments after saving a context
MB_SEQ_REPLY = 0x440  # host sets to SEQ_REQ when the reply is ready
MB_SLEEPING = 0x480  # guest sets 1 before WFI; host then sends a wake byte
MB_HOST_POLLING = 0x4c0  # host sets 1 while it polls SEQ_REQ: no doorbell needed
MB_SPIN_TICKS = 0x4c8  # how long the guest spins for a reply before WFI (counter ticks)
MB_NCPUS = 0x4d0  # CPU 0's mailbox only: CPUs to bring up (host writes it before boot)
MB_WAKE_TICKS = 0x4d8  # the backup wake-up from WFI the host asks for (counter ticks), 0: WAKE_TICKS
MB_OPS = 0x500
MB_TTBR0 = 0x508
MB_TLBI_ASID = 0x510  # operand for tlbi aside1is (ASID << 48)
MB_N_TLBI_VA = 0x518
MB_N_SCRUB = 0x520
# Debug state (ptrace): loaded by the stub only when MB_DEBUG is not 0 (it clears it).
MB_DEBUG = 0x528
MB_MDSCR = 0x530
MB_DFR0 = 0x538  # ID_AA64DFR0_EL1, stored by the stub at boot
MB_DBG_BP = 0x540  # 6 x (DBGBVR, DBGBCR)
MB_DBG_WP = 0x5a0  # 4 x (DBGWVR, DBGWCR), up to 0x5e0
MB_DBG_NBP = 6  # cortex-a72 (and a57, max): 6 breakpoints, 4 watchpoints
MB_DBG_NWP = 4
DBG_LOAD_MDSCR = (1 << 0)
DBG_LOAD_REGS = (1 << 1)
# Kicks: KICK, this CPU must trap (now, or right after its next eret); RING, it needs an
# interrupt (a wake from WFI), which CPU 0 forwards as SGI KICK_SGI.
MB_KICK = 0x5e0
MB_RING = 0x5e8
KICK_SGI = 0
MB_TLBI_VA = 0x600  # up to 64 operands for tlbi vae1is (ASID << 48 | VA >> 12)
MB_MAX_TLBI_VA = 64
MB_SCRUB = 0x800  # up to 256 frame PAs to zero by guest stores
MB_MAX_SCRUB = 256
OP_SET_TTBR0 = (1 << 0)
OP_TLBI_ALL = (1 << 1)
OP_TLBI_ASID = (1 << 2)
OP_TLBI_VA = (1 << 3)
OP_SCRUB = (1 << 4)
OP_TLBI_LOCAL = (1 << 5)  # OP_TLBI_ALL/ASID/VA on this CPU only (no other holds entries)
OP_TLBI_SELF = (1 << 6)  # this CPU's whole TLB, locally (it may hold stale entries)
OP_ATOMIC = (1 << 7)  # before the rest: the MB_ATOMIC_* update, then report again (the rest at the next reply)
# MB_REASON values.
REASON_BOOT = 0
REASON_SYNC = 1  # svc, aborts, undefined instructions from EL0
REASON_IRQ = 2
REASON_FIQ = 3
REASON_SERROR = 4
REASON_AARCH32 = 5
REASON_EL1 = 0x10  # + vector index 0..7: the stub itself faulted
COUNTER_HZ = 62500000  # the virtual counter's CNTFRQ_EL0 under QEMU 7.2 (16 ns a tick)
SPIN_TICKS = 6250  # the spin the host publishes normally: 100 us at 62.5 MHz
WAKE_TICKS = 625000  # backup wake-up: 10 ms at 62.5 MHz
IDLE_WAKE_TICKS = 62500000  # ... an idle CPU's, which only a fenced reply wakes: 1 s
