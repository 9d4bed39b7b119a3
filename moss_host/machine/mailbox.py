"""One CPU's mailbox in shared RAM: the trapped user context and the host's reply.

Ordering (x86 host, TCG guest): the guest publishes the context before SEQ_REQ and rings
the doorbell (or not, while the host polls); the host reads SEQ_REQ before the context.
The host writes the reply fields before SEQ_REPLY (proc/cpu.py Cpu.reply). Python's mmap writes are plain stores,
which x86 keeps in program order; a store followed by a load of another word is the one
reordering x86 does, and the two places that need it kept (SEQ_REPLY then SLEEPING,
HOST_POLLING then SEQ_REQ in proc/cpu.py) use machine/polling.fence().
"""
from __future__ import annotations

import struct
from collections.abc import Sequence

from moss_host.arch.arm64.context import SAVED_SIZE, TrapContext

from . import layout as L

_U64 = struct.Struct("<Q")
_OPS = struct.Struct("<5Q")          # MB_OPS .. MB_N_SCRUB

# A saved context is the mailbox's restorable parts: x0..fpsr and q0..q31.
CONTEXT_SIZE = SAVED_SIZE


class Mailbox:
    def __init__(self, ram, cpu: int):
        base = L.MAILBOX_BASE - L.RAM_BASE + cpu * L.MAILBOX_SIZE
        self.mem = memoryview(ram)[base:base + L.MAILBOX_SIZE]
        # The same as 64-bit words (index = offset // 8): the trap path's single loads and
        # stores, a third of a struct call's cost each, and one 8-byte store (struct's
        # little-endian packing stores byte by byte).
        self.words = self.mem.cast("Q")
        self.cpu = cpu
        # The trapped task's registers, in place (one view for the mailbox's lifetime).
        self.regs = TrapContext(self.mem)

    def u64(self, off: int) -> int:
        return _U64.unpack_from(self.mem, off)[0]

    # -- the trap ------------------------------------------------------------------------

    @property
    def seq_req(self) -> int:
        return self.u64(L.MB_SEQ_REQ)

    @property
    def reason(self) -> int:
        return self.u64(L.MB_REASON)

    def set_cpu_count(self, n: int) -> None:
        """CPU 0's mailbox, before boot: how many CPUs its stub brings up."""
        _U64.pack_into(self.mem, L.MB_NCPUS, n)

    # -- the context ---------------------------------------------------------------------

    def save_context(self, into: bytearray) -> None:
        into[:L.MB_CONTEXT_END] = self.mem[:L.MB_CONTEXT_END]
        into[L.MB_CONTEXT_END:] = self.mem[L.MB_Q0:L.MB_Q_END]

    def load_context(self, ctx: bytes | bytearray) -> None:
        self.mem[:L.MB_CONTEXT_END] = ctx[:L.MB_CONTEXT_END]
        self.mem[L.MB_Q0:L.MB_Q_END] = ctx[L.MB_CONTEXT_END:]

    def set_fast_pid(self, pid: int) -> None:
        """What the stub answers getpid with by itself for the task switched in (0: it traps)."""
        _U64.pack_into(self.mem, L.MB_FAST_PID, pid)

    # -- the reply -----------------------------------------------------------------------

    def write_ops(self, ops: int, ttbr0: int, tlbi_asid: int, tlbi_vas: Sequence[int],
                  scrub: Sequence[int]) -> None:
        """The reply's operations (the stub reads these words only when ops is not 0)."""
        m = self.mem
        if tlbi_vas:
            struct.pack_into(f"<{len(tlbi_vas)}Q", m, L.MB_TLBI_VA, *tlbi_vas)
        if scrub:
            struct.pack_into(f"<{len(scrub)}Q", m, L.MB_SCRUB, *scrub)
        _OPS.pack_into(m, L.MB_OPS, ops, ttbr0, tlbi_asid, len(tlbi_vas), len(scrub))

    def write_debug(self, mdscr: int, bps: Sequence[int], wps: Sequence[int]) -> None:
        """The debug state of the task the next eret returns to (proc/hwdebug.py): MDSCR_EL1,
        and the breakpoint and watchpoint registers unless `bps` is empty (MDE off: the
        ones loaded before are inert). MB_DEBUG last: the stub looks at nothing else while it is 0."""
        m = self.mem
        flags = L.DBG_LOAD_MDSCR
        if bps:
            struct.pack_into(f"<{len(bps)}Q", m, L.MB_DBG_BP, *bps)
            struct.pack_into(f"<{len(wps)}Q", m, L.MB_DBG_WP, *wps)
            flags |= L.DBG_LOAD_REGS
        _U64.pack_into(m, L.MB_MDSCR, mdscr)
        _U64.pack_into(m, L.MB_DEBUG, flags)
