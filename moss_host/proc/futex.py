"""Futexes: threads sleeping on a word of user memory until another thread wakes them.

Linux's kernel/futex/: a waiter checks that the word still holds the value it expects
and sleeps on the futex's key; FUTEX_WAKE wakes up to n sleepers of a key whose bitset
matches; FUTEX_REQUEUE moves sleepers from one key to another (condition variables);
FUTEX_WAKE_OP changes a second word and wakes on both. Every check of the word happens
while the trapping CPU waits for us; a change of it (the WAKE_OP word, a PI lock's word, a
robust owner's death) goes through FutexWords, atomic against user code on other CPUs
as Linux's futex_atomic_cmpxchg_inatomic is (proc/guest_atomic.py with several CPUs).

A private futex's key is the address space and the address. As in Linux, a shared one
in a MAP_SHARED mapping is keyed by the file or shared memory object and the offset in
it, so that every process mapping it meets there (AddressSpace.shared_futex_key).

Sleeping is an await on the waiter's own future: a wake resolves it, a timeout or a
signal (the syscall's cancellation) takes it off its queue. A waiter woken just before a
signal cancels its sleep keeps the wake (Linux: futex_unqueue fails, so 0 is returned).
A plain FUTEX_WAIT from the trap path sleeps without any of that (`park`): its waiter
holds the task's Parked (sched/parked.py), which a wake finishes inline.

The priority-inheritance operations live in proc/futex_pi.py; their waiters sit in the
same queues (Linux's hash buckets), so that mixing PI and plain operations on one word
fails with EINVAL as it does in Linux.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Hashable, Optional

from moss_host.errors import EAGAIN, EINVAL, ENOSYS, ERESTARTSYS, ETIMEDOUT, Errno
from moss_host.sched.parked import Parked
from moss_host.sched.policy import RT_POLICIES, SCHED_DEADLINE

if TYPE_CHECKING:
    from moss_host.mm.address_space import AddressSpace

    from .futex_pi import PiState
    from .task import Task

BITSET_MATCH_ANY = 0xFFFF_FFFF

# FUTEX_WAKE_OP: the operation on the second word and the comparison of its old value
FUTEX_OP_SET, FUTEX_OP_ADD, FUTEX_OP_OR, FUTEX_OP_ANDN, FUTEX_OP_XOR = range(5)
FUTEX_OP_OPARG_SHIFT = 8
FUTEX_OP_CMP_EQ, FUTEX_OP_CMP_NE, FUTEX_OP_CMP_LT, FUTEX_OP_CMP_LE, FUTEX_OP_CMP_GT, FUTEX_OP_CMP_GE = range(6)

# A sleeper's place in its queue (futex_q's plist, and an rt_mutex's waiters): real-time
# threads by priority, ahead of every other thread, which all count the same
# (min(normal_prio, MAX_RT_PRIO) in futex_q_lock; DEFAULT_PRIO in an rt_mutex). Equal
# priorities queue in arrival order. A lower number comes first.
NORMAL_PRIO = 100


def queue_prio(policy: int, rt_priority: int) -> int:
    if policy in RT_POLICIES:
        return 99 - rt_priority
    return -1 if policy == SCHED_DEADLINE else NORMAL_PRIO


Key = tuple[Hashable, int]      # (id of the address space, address) or (backing object, offset)


def futex_key(mm: AddressSpace, uaddr: int, private: bool) -> Key:
    """get_futex_key(): the word must be 4-byte aligned. A private futex (FUTEX_PRIVATE_FLAG,
    FUTEX2_PRIVATE) is keyed by its address space; a shared one by its backing object and
    offset when it lies in a MAP_SHARED mapping (AddressSpace.shared_futex_key). The one
    place keys are made, PI futexes and futex_waitv included."""
    if uaddr & 3:
        raise Errno(EINVAL)
    if private:
        return (id(mm), uaddr)
    return mm.shared_futex_key(uaddr)


def read_word(mm: AddressSpace, uaddr: int) -> int:
    return int.from_bytes(mm.read(uaddr, 4), "little")


def write_word(mm: AddressSpace, uaddr: int, value: int) -> None:
    mm.write(uaddr, (value & 0xFFFF_FFFF).to_bytes(4, "little"))


class FutexWords:
    """How the kernel changes a futex word that user space changes with atomic instructions:
    Linux's futex_atomic_cmpxchg_inatomic and arch_futex_atomic_op_inuser. Here a plain
    read and write, atomic while one CPU is online: the guest waits while the host handles
    its trap and nothing else runs. With several CPUs the kernel hands the table a
    GuestAtomicWords (proc/guest_atomic.py), whose stub does it with an LL/SC loop.
    Both raise EFAULT (a word not mapped writable) before anything changes."""

    def cmpxchg(self, mm: AddressSpace, uaddr: int, expected: int, new: int) -> int:
        """Store new if the word holds expected; the value found (== expected: stored).
        `expected` is always what the caller read from the word in this same handler, and
        with one CPU nothing can have changed it since: this store needs no second read."""
        write_word(mm, uaddr, new)
        return expected

    def op(self, mm: AddressSpace, uaddr: int, op: int, oparg: int) -> int:
        """FUTEX_WAKE_OP's FUTEX_OP_SET .. FUTEX_OP_XOR with oparg; the old value. ENOSYS
        for another op, the word unchanged."""
        old = read_word(mm, uaddr)
        write_word(mm, uaddr, apply_op(op, oparg, old))
        return old


@dataclass(eq=False, slots=True)
class Waiter:
    """One futex_q: a sleeper on one key. futex_waitv queues one per word, all sharing the
    future; `taken` tells which of them a wake took off its queue."""
    key: Key
    bitset: int
    woken: Optional[asyncio.Future]         # None for a parked waiter
    tid: int = 0
    taken: bool = False
    # A FUTEX_LOCK_PI waiter, or a requeued FUTEX_WAIT_REQUEUE_PI one: blocked on this PI state.
    pi: Optional[PiState] = None
    # A FUTEX_WAIT_REQUEUE_PI waiter (Linux's q->rt_waiter and requeue_pi_key): where
    # FUTEX_CMP_REQUEUE_PI may move it, as (key, address of that word in its own memory).
    requeue_to: Optional[tuple[Key, int]] = None
    mm: Optional[AddressSpace] = None       # where the word it now waits on is; PI fixups write it
    uaddr: int = 0
    prio: int = NORMAL_PRIO                 # queue_prio() of the sleeping thread
    parked: Optional[Parked] = None         # a FUTEX_WAIT asleep without a job (FutexTable.park)

    @property
    def plain(self) -> bool:
        """Neither a PI waiter nor a requeue-PI one: what WAKE and REQUEUE may touch."""
        return self.pi is None and self.requeue_to is None


class FutexTable:
    """Every sleeping futex waiter, by key, in the order they went to sleep."""

    def __init__(self) -> None:
        self._queues: dict[Key, list[Waiter]] = {}
        self.words = FutexWords()           # how the words change (use_words: several CPUs)

    def use_words(self, words: FutexWords) -> None:
        """Several CPUs: change futex words through `words` (proc/guest_atomic.py)."""
        self.words = words

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def wait(self, mm: AddressSpace, uaddr: int, expected: int, deadline: float | None,
                   bitset: int = BITSET_MATCH_ANY, *, private: bool = False, prio: int = NORMAL_PRIO) -> int:
        """futex_wait(): sleep while *uaddr == expected, until woken (0), the deadline
        (loop time: ETIMEDOUT) or a signal (CancelledError)."""
        if not bitset:
            raise Errno(EINVAL)
        key = futex_key(mm, uaddr, private)
        if read_word(mm, uaddr) != expected & 0xFFFF_FFFF:
            raise Errno(EAGAIN)
        waiter = Waiter(key, bitset, asyncio.get_running_loop().create_future(), prio=prio)
        self.enqueue(waiter)
        if not await self.sleep(waiter, deadline):
            raise Errno(ETIMEDOUT)
        return 0

    def park(self, task: Task, mm: AddressSpace, uaddr: int, expected: int, deadline: float | None,
             bitset: int = BITSET_MATCH_ANY, *, private: bool = False, prio: int = NORMAL_PRIO,
             on_signal: Optional[Callable[[], int]] = None) -> Parked:
        """futex_wait() for the trap path: the same checks as wait(), then the task sleeps
        parked: a wake finishes it with 0, the deadline (loop time) with -ETIMEDOUT, a
        signal with -ERESTARTSYS or what `on_signal` (the syscall's, for a timed wait)
        answers. The caller hands the Parked to the scheduler (Scheduler.park)."""
        if not bitset:
            raise Errno(EINVAL)
        key = futex_key(mm, uaddr, private)
        if read_word(mm, uaddr) != expected & 0xFFFF_FFFF:
            raise Errno(EAGAIN)
        waiter = Waiter(key, bitset, None, prio=prio)
        parked = waiter.parked = Parked(task, lambda: self._unpark(waiter, on_signal))
        self.enqueue(waiter)
        if deadline is not None:
            parked.timer = asyncio.get_running_loop().call_at(deadline, self._timed_out, waiter)
        return parked

    def _unpark(self, waiter: Waiter, on_signal: Optional[Callable[[], int]]) -> int:
        """A signal (or the task's exit) ends a parked wait: off the queue; the syscall's result."""
        self.dequeue(waiter)
        return -ERESTARTSYS if on_signal is None else on_signal()

    def _timed_out(self, waiter: Waiter) -> None:
        parked = waiter.parked
        assert parked is not None
        parked.timer = None
        self.dequeue(waiter)
        parked.finish(-ETIMEDOUT)

    async def wait_multiple(self, words: list[tuple[AddressSpace, int, int, bool]],
                            deadline: float | None, prio: int = NORMAL_PRIO) -> int:
        """futex_wait_multiple() (futex_waitv): sleep on every (mm, uaddr, expected, private)
        word at once; the index of the one woken (the highest, if several were). Keys
        first (EINVAL), then the values in order (EFAULT, EAGAIN)."""
        keys = [futex_key(mm, uaddr, private) for mm, uaddr, _, private in words]
        for mm, uaddr, expected, _ in words:
            if read_word(mm, uaddr) != expected & 0xFFFF_FFFF:
                raise Errno(EAGAIN)
        woken = asyncio.get_running_loop().create_future()
        waiters = [Waiter(key, BITSET_MATCH_ANY, woken, prio=prio) for key in keys]
        for waiter in waiters:
            self.enqueue(waiter)
        await self.sleep(waiters[0], deadline, waiters)
        taken = [i for i, w in enumerate(waiters) if w.taken]
        if not taken:
            raise Errno(ETIMEDOUT)
        return taken[-1]

    def enqueue(self, waiter: Waiter) -> None:
        """Behind every sleeper of the same or a higher priority (plist_add)."""
        queue = self._queues.get(waiter.key)
        if queue is None:
            self._queues[waiter.key] = [waiter]
            return
        if queue[-1].prio <= waiter.prio:
            queue.append(waiter)
            return
        at = next(i for i, w in enumerate(queue) if w.prio > waiter.prio)
        queue.insert(at, waiter)

    def all_queues(self) -> list[list[Waiter]]:
        return list(self._queues.values())

    def waiters(self, key: Key) -> list[Waiter]:
        """The sleepers on key in queue order (Linux's plist: one priority for all of ours)."""
        return self._queues.get(key, [])

    async def sleep(self, waiter: Waiter, deadline: float | None,
                    others: Optional[list[Waiter]] = None) -> bool:
        """Await the waiter's future until a wake (True) or the deadline (False), then leave
        the queues. A signal raises CancelledError unless a wake came first."""
        queued = others or [waiter]
        loop = asyncio.get_running_loop()
        woken = waiter.woken
        assert woken is not None                # (a parked waiter never sleeps here)
        timer = None if deadline is None else loop.call_at(deadline, _resolve, woken, False)
        try:
            await woken
        except asyncio.CancelledError:
            if not any(w.taken for w in queued):
                raise
        finally:
            if timer is not None:
                timer.cancel()
            for w in queued:
                self.dequeue(w)
        # Taken off the queue by a wake (or handed a PI lock) even if the timer or a signal
        # came first: the wake counts, as futex_unqueue() failing makes it count in Linux.
        return any(w.taken for w in queued)

    def take(self, waiter: Waiter) -> None:
        """Wake one sleeper: off its queue, its sleep ends with True."""
        waiter.taken = True
        self.dequeue(waiter)
        if waiter.parked is not None:
            waiter.parked.finish(0)
        else:
            assert waiter.woken is not None
            _resolve(waiter.woken, True)

    def wake(self, mm: AddressSpace, uaddr: int, count: int, bitset: int = BITSET_MATCH_ANY, *,
             private: bool = False) -> int:
        """futex_wake(): wake up to count waiters whose bitset meets bitset; how many woke."""
        if not bitset:
            raise Errno(EINVAL)
        return self._wake_key(futex_key(mm, uaddr, private), count, bitset)

    def requeue(self, mm: AddressSpace, uaddr: int, uaddr2: int, nr_wake: int, nr_requeue: int,
                expected: int | None, *, private: bool = False) -> int:
        """futex_requeue(): wake nr_wake waiters of uaddr and move up to nr_requeue others to
        uaddr2 (FUTEX_CMP_REQUEUE: only while *uaddr == expected); woken plus moved."""
        if nr_wake < 0 or nr_requeue < 0:
            raise Errno(EINVAL)
        key1, key2 = futex_key(mm, uaddr, private), futex_key(mm, uaddr2, private)
        if expected is not None and read_word(mm, uaddr) != expected & 0xFFFF_FFFF:
            raise Errno(EAGAIN)
        count = 0
        for w in list(self.waiters(key1)):
            if count - nr_wake >= nr_requeue:
                break
            if not w.plain:
                raise Errno(EINVAL)     # a PI or requeue-PI waiter: the ones before stay moved
            count += 1
            if count <= nr_wake:
                self.take(w)
            elif key1 != key2:
                self.dequeue(w)
                w.key = key2
                self.enqueue(w)
        return count

    def wake_op(self, mm: AddressSpace, uaddr: int, uaddr2: int, nr_wake: int, nr_wake2: int,
                encoded_op: int, *, private: bool = False) -> int:
        """futex_wake_op(): *uaddr2 = op(*uaddr2, oparg); wake nr_wake on uaddr, and nr_wake2
        on uaddr2 if the old value passes the comparison."""
        key1, key2 = futex_key(mm, uaddr, private), futex_key(mm, uaddr2, private)
        op, oparg = _decode_op(encoded_op)
        old = self.words.op(mm, uaddr2, op, oparg)
        passed = _compare(encoded_op, old)      # an unknown comparison: ENOSYS, the word changed
        woken = self._wake_key(key1, nr_wake, BITSET_MATCH_ANY)
        if passed:
            woken += self._wake_key(key2, nr_wake2, BITSET_MATCH_ANY)
        return woken

    def _wake_key(self, key: Key, count: int, bitset: int) -> int:
        """futex_wake()'s loop: a PI or requeue-PI sleeper on the key is EINVAL (those
        woken before it stay woken). The count is checked after a wake, so 0 wakes one."""
        queue = self._queues.get(key)
        if not queue:
            return 0
        woken = 0
        for w in tuple(queue):              # (take() leaves the queue)
            if not w.plain:
                raise Errno(EINVAL)
            if w.bitset & bitset:
                self.take(w)
                woken += 1
                if woken >= count:
                    break
        return woken

    def dequeue(self, waiter: Waiter) -> None:
        queue = self._queues.get(waiter.key)
        if queue is not None and waiter in queue:
            queue.remove(waiter)
            if not queue:
                del self._queues[waiter.key]


def _resolve(fut: asyncio.Future, value: bool) -> None:
    if not fut.done():
        fut.set_result(value)


def _sign_extend12(v: int) -> int:
    v &= 0xFFF
    return v - 0x1000 if v & 0x800 else v


def _decode_op(encoded_op: int) -> tuple[int, int]:
    """futex_atomic_op_inuser(): the operation on the second word and its operand."""
    oparg = _sign_extend12(encoded_op >> 12)
    if encoded_op >> 28 & FUTEX_OP_OPARG_SHIFT:
        oparg = 1 << (oparg & 31)
    return encoded_op >> 28 & 7, oparg


def apply_op(op: int, oparg: int, old: int) -> int:
    """The new value of FUTEX_WAKE_OP's second word (ENOSYS for an unknown op)."""
    if op == FUTEX_OP_SET:
        return oparg
    if op == FUTEX_OP_ADD:
        return old + oparg
    if op == FUTEX_OP_OR:
        return old | oparg
    if op == FUTEX_OP_ANDN:
        return old & ~oparg
    if op == FUTEX_OP_XOR:
        return old ^ oparg
    raise Errno(ENOSYS)


def _compare(encoded_op: int, old: int) -> bool:
    """The comparison of the word's old value (as a signed int) with cmparg."""
    cmp = encoded_op >> 24 & 15
    cmparg = _sign_extend12(encoded_op)
    old = old - (1 << 32) if old & 0x8000_0000 else old
    if cmp == FUTEX_OP_CMP_EQ:
        return old == cmparg
    if cmp == FUTEX_OP_CMP_NE:
        return old != cmparg
    if cmp == FUTEX_OP_CMP_LT:
        return old < cmparg
    if cmp == FUTEX_OP_CMP_LE:
        return old <= cmparg
    if cmp == FUTEX_OP_CMP_GT:
        return old > cmparg
    if cmp == FUTEX_OP_CMP_GE:
        return old >= cmparg
    raise Errno(ENOSYS)


# -- robust lists -----------------------------------------------------------------------------

FUTEX_WAITERS = 0x8000_0000
FUTEX_OWNER_DIED = 0x4000_0000
FUTEX_TID_MASK = 0x3FFF_FFFF
ROBUST_LIST_LIMIT = 2048


def exit_robust_list(table: FutexTable, mm: AddressSpace, tid: int, head: int) -> None:
    """exit_robust_list(): the thread dies holding the robust mutexes on its list (struct
    robust_list_head: next, futex_offset, list_op_pending): each word it owns gets
    FUTEX_OWNER_DIED and one waiter is woken to take the mutex over (EOWNERDEAD)."""
    try:
        entry, pi = _robust_entry(mm, head)
        offset = int.from_bytes(mm.read(head + 8, 8), "little", signed=True)
        pending, pending_pi = _robust_entry(mm, head + 16)
    except Errno:
        return
    limit = ROBUST_LIST_LIMIT
    while entry != head:
        try:
            next_entry, next_pi = _robust_entry(mm, entry)
        except Errno:
            next_entry = None
        if entry != pending and not _futex_death(table, mm, tid, entry + offset, pi, False):
            return
        if next_entry is None:
            return
        entry, pi = next_entry, next_pi
        limit -= 1
        if not limit:
            break
    if pending:
        _futex_death(table, mm, tid, pending + offset, pending_pi, True)


def _robust_entry(mm: AddressSpace, ptr: int) -> tuple[int, bool]:
    """fetch_robust_entry(): a list pointer, its bit 0 marking a PI futex."""
    value = int.from_bytes(mm.read(ptr, 8), "little")
    return value & ~1, bool(value & 1)


def _futex_death(table: FutexTable, mm: AddressSpace, tid: int, uaddr: int, pi: bool, pending: bool) -> bool:
    """handle_futex_death(); False if the list cannot be walked further."""
    uaddr &= (1 << 64) - 1
    if uaddr & 3:
        return False
    try:
        while True:
            value = read_word(mm, uaddr)
            if pending and not pi and not value:
                table.wake(mm, uaddr, 1, private=False)     # died between taking the lock and recording it
                return True
            if value & FUTEX_TID_MASK != tid:
                return True
            # A waiter on another CPU may set FUTEX_WAITERS meanwhile: then look again.
            if table.words.cmpxchg(mm, uaddr, value, (value & FUTEX_WAITERS) | FUTEX_OWNER_DIED) == value:
                break
    except Errno:
        return False
    if not pi and value & FUTEX_WAITERS:
        table.wake(mm, uaddr, 1, private=False)     # handle_futex_death wakes FLAGS_SHARED
    return True
