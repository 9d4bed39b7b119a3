"""Futex words changed atomically with several CPUs: a guest stub does the read-modify-write.

Linux changes a futex word with atomic instructions (futex_atomic_cmpxchg_inatomic,
arch_futex_atomic_op_inuser) because user space changes it with atomic instructions too, on
any CPU at any moment. The host is one Python process with plain loads and stores on guest
RAM. With one CPU that is enough (FutexWords in proc/futex.py): the guest waits while a trap
is handled. With several, a cmpxchg by user code on another vCPU between the host's read and
its write is lost -- an owner's user-space unlock of a PI mutex just before the host sets
FUTEX_WAITERS leaves the waiter asleep for good (docs/trap-path.md).

So a CPU's stub does it (guest_stub/start.S atomic_op): the host writes the request into the
mailbox of a CPU that waits for it -- OP_ATOMIC, the operation, the word's linear-map address,
the operands -- and publishes it as that CPU's reply; the stub runs an LL/SC loop on the word,
stores the old value and reports again (SEQ_REQ + 1, the saved context untouched). The
handler that asked waits for the answer right here, synchronously: nothing else of the kernel
runs meanwhile, as Linux holds the futex hash bucket's lock around the cmpxchg.

Which CPU: the one whose trap is being handled (it spins for our reply), else another that
waits for the host (an exit handled from the loop: a thread killed while it slept), else
one running user code is kicked into a trap and does it before the host handles that trap.

The word's page is made present and writable first (Linux's fault_in_user_writeable), and
the stub is given its linear-map alias, which always translates: nothing in the stub can
fault. Nothing changes while the stub works (the host alone changes mappings, and it waits).
"""
from __future__ import annotations

import os
import struct
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

from moss_host.errors import EFAULT, ENOSYS, Errno
from moss_host.machine import layout as L
from moss_host.machine.polling import fence
from moss_host.mm.address_space import UserFault

from .futex import FUTEX_OP_XOR, FutexWords

if TYPE_CHECKING:
    from moss_host.mm.address_space import AddressSpace

    from .cpu import Cpu

_U64 = struct.Struct("<Q")
_REQUEST = struct.Struct("<4Q")             # MB_ATOMIC_KIND, _ADDR, _CMP, _ARG
assert L.MB_ATOMIC_ADDR == L.MB_ATOMIC_KIND + 8 and L.MB_ATOMIC_ARG == L.MB_ATOMIC_KIND + 24
_M32 = 0xFFFF_FFFF

# The wait for the stub's answer: a few microseconds when its vCPU thread has a core. On a
# loaded host it may not: then give the core away between looks, and at last give up (QEMU
# gone or stuck: the run cannot go on either way).
SPIN_NS = 20_000
YIELD_NS = 2_000_000
GIVE_UP_NS = 20_000_000_000


class GuestAtomicWords(FutexWords):
    """FutexWords for several CPUs: each change of a word is one round trip to a stub."""

    def __init__(self, cpus: Sequence[Cpu]) -> None:
        self.cpus = cpus
        self.requests = 0                   # round trips so far (tests, measurements)

    def cmpxchg(self, mm: AddressSpace, uaddr: int, expected: int, new: int) -> int:
        if self._no_user_code():
            return super().cmpxchg(mm, uaddr, expected, new)
        return self._run(word_address(mm, uaddr), L.ATOMIC_CMPXCHG, expected, new)

    def op(self, mm: AddressSpace, uaddr: int, op: int, oparg: int) -> int:
        if self._no_user_code():
            return super().op(mm, uaddr, op, oparg)
        addr = word_address(mm, uaddr)      # EFAULT first, as the plain way's read
        if not 0 <= op <= FUTEX_OP_XOR:
            raise Errno(ENOSYS)
        return self._run(addr, L.ATOMIC_SET + op, 0, oparg)

    def _run(self, addr: int, kind: int, cmp: int, arg: int) -> int:
        self.requests += 1
        cpu = self._waiting_cpu()
        if cpu is None:
            return kicked_request(self._any_cpu(), kind, addr, cmp, arg)
        return request(cpu, kind, addr, cmp, arg)

    def _no_user_code(self) -> bool:
        """Every CPU waits for the host (trapped): no user code runs that could change the
        word meanwhile, and the plain read and write are atomic, as with one CPU. (A CPU
        that trapped unseen yet, or was just released, counts as running: no harm.)"""
        for cpu in self.cpus:
            if not cpu.trapped:
                return False
        return True

    def _waiting_cpu(self) -> Optional[Cpu]:
        """A CPU whose guest waits for the host: the one handling a trap (its stub spins),
        else one with a task (likely spinning too), else an idle one (in WFI)."""
        spare = None
        for cpu in self.cpus:
            if cpu.trapped:
                if cpu.handling:
                    return cpu
                if spare is None or (spare.current is None and cpu.current is not None):
                    spare = cpu
        return spare

    def _any_cpu(self) -> Cpu:
        """Every CPU runs user code: CPU 0 takes the doorbell's interrupt itself (the others
        need it to forward an SGI), if it came up."""
        return next((cpu for cpu in self.cpus if cpu.traps), self.cpus[0])


def word_address(mm: AddressSpace, uaddr: int) -> int:
    """The linear-map address of the futex word at uaddr, its page present and writable
    (fault_in_user_writeable: a copy-on-write page broken, a file page mapped); EFAULT if
    it cannot be written. A private file page takes two faults: mapped, then copied."""
    for _ in range(3):
        off = mm.direct_offset(uaddr, 4)
        if off >= 0:
            return L.LINEAR_OFFSET + mm.mem.physmem.base + off
        try:
            mm.fault(uaddr, is_write=True, is_exec=False, user=True)
        except UserFault:
            raise Errno(EFAULT) from None
    raise Errno(EFAULT)


def request(cpu: Cpu, kind: int, addr: int, cmp: int, arg: int) -> int:
    """Have the stub of `cpu`, which waits for the host (trapped), do one update; the old
    value. Its answer is a trap the host has handled: it waits for the real reply again."""
    frame = cpu.frame
    seq = cpu.handled_seq
    told = cpu.spin_ticks
    if not told:
        # Told not to wait for us (a contended host, an idle CPU): it sleeps, and would again
        # after its answer, costing the reply that follows a second wake through QEMU.
        cpu.publish_spin(L.SPIN_TICKS)
    polling = _U64.unpack_from(frame, L.MB_HOST_POLLING)[0]
    if not polling:
        _U64.pack_into(frame, L.MB_HOST_POLLING, 1)     # we watch SEQ_REQ: no doorbell for it
    old = _ask(cpu, seq, kind, addr, cmp, arg)
    cpu.handled_seq = seq + 1
    if not polling:
        _U64.pack_into(frame, L.MB_HOST_POLLING, 0)
    if not told and cpu.current is None:
        cpu.publish_spin(0)             # an idle CPU: no reply follows soon, back to WFI
    return old


def kicked_request(cpu: Cpu, kind: int, addr: int, cmp: int, arg: int) -> int:
    """Every CPU runs user code: kick `cpu` into a trap, have its stub do the update on the
    way, and leave that trap (SEQ_REQ one further, its context and reason as they came) to
    the host's doorbell as any other."""
    frame = cpu.frame
    seq = cpu.handled_seq
    if _U64.unpack_from(frame, L.MB_SEQ_REQ)[0] == seq:
        cpu.kick()
        _wait(cpu, seq)
    return _ask(cpu, _U64.unpack_from(frame, L.MB_SEQ_REQ)[0], kind, addr, cmp, arg)


def _ask(cpu: Cpu, seq: int, kind: int, addr: int, cmp: int, arg: int) -> int:
    """Publish the request as the reply to trap `seq`, wake the stub if it sleeps, wait."""
    frame = cpu.frame
    _REQUEST.pack_into(frame, L.MB_ATOMIC_KIND, kind, addr, cmp & _M32, arg & _M32)
    ops = _U64.unpack_from(frame, L.MB_OPS)[0]
    _U64.pack_into(frame, L.MB_OPS, ops | L.OP_ATOMIC)
    _U64.pack_into(frame, L.MB_SEQ_REPLY, seq)
    fence()                             # (SEQ_REPLY, then SLEEPING: as Cpu.release)
    if _U64.unpack_from(frame, L.MB_SLEEPING)[0]:
        cpu.wake_guest()
    _wait(cpu, seq)
    return _U64.unpack_from(frame, L.MB_ATOMIC_OLD)[0] & _M32


def _wait(cpu: Cpu, seq: int) -> None:
    """Until the stub reports again (SEQ_REQ moves past seq)."""
    frame = cpu.frame
    low = seq & 0xFF                    # (SEQ_REQ's lowest byte moves at every report)
    if frame[L.MB_SEQ_REQ] != low:
        return
    clock = time.monotonic_ns
    start = clock()
    while frame[L.MB_SEQ_REQ] == low:
        waited = clock() - start
        if waited > SPIN_NS:
            if waited > YIELD_NS:
                if waited > GIVE_UP_NS:
                    cpu.host.panic(f"CPU {cpu.index}'s stub did not answer an atomic futex update")
                    raise Errno(EFAULT)
                time.sleep(0.0001)
            else:
                os.sched_yield()
