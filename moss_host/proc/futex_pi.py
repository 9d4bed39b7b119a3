"""Priority-inheritance futexes: Linux's kernel/futex/pi.c and the PI half of requeue.c.

The futex word is the lock: 0 when free, else the owner's TID, with FUTEX_WAITERS set while
anyone sleeps in the kernel for it (so the owner's unlock must come here) and
FUTEX_OWNER_DIED once a robust owner died holding it. User space takes a free lock and
drops an uncontended one with a compare-and-swap; FUTEX_LOCK_PI, FUTEX_TRYLOCK_PI and
FUTEX_UNLOCK_PI are the contended paths. A contended lock has a PiState (Linux's
futex_pi_state with its rt_mutex): the owner and, through the waiters queued on the key that
point at it, who is next. Unlocking hands the lock straight to the first waiter: the word
becomes FUTEX_WAITERS | its TID before it even runs.

Priority inheritance proper (boosting the owner to its highest waiter's priority) is not
done: our scheduler gives real-time priorities no precedence (sched/ records them only), so
a boost would change nothing. What user space sees -- the word protocol, the errors, the
handover to the top waiter, deadlock detection along the chain of owners -- is Linux's.
The top waiter is the highest real-time priority, then the first to come, as in Linux
(every SCHED_OTHER thread counts as DEFAULT_PRIO in an rt_mutex): see queue_prio().

FUTEX_WAIT_REQUEUE_PI / FUTEX_CMP_REQUEUE_PI are the condition variable of a PI mutex: the
waiter sleeps on the condvar word and the signaller moves it onto the PI lock, taking the
lock for it straight away if it is free.

Every change of the word is a compare-and-exchange through table.words (Linux's
cmpxchg_futex_value_locked): with several CPUs user space may change the word between our
read and our write (an owner's unlock in user space just before we set FUTEX_WAITERS),
and then, as in Linux, we look again instead of writing over it.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from moss_host.errors import EAGAIN, EDEADLK, EINVAL, EPERM, ESRCH, ETIMEDOUT, Errno

from .futex import (BITSET_MATCH_ANY, FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS, NORMAL_PRIO,
                    FutexTable, Key, Waiter, futex_key, read_word)

if TYPE_CHECKING:
    from moss_host.mm.address_space import AddressSpace

# Whether a TID names a live thread (find_get_task_by_vpid and its futex state): an owner
# that is gone, or a TID that never was, makes a new waiter fail with ESRCH.
TidAlive = Callable[[int], bool]


@dataclass(eq=False)
class PiState:
    key: Key
    owner: Optional[int]            # None once the owner died and before a waiter took over


# -- lock -------------------------------------------------------------------------------------

async def lock_pi(table: FutexTable, mm: AddressSpace, uaddr: int, tid: int, deadline: float | None,
                  private: bool, alive: TidAlive, trylock: bool = False, prio: int = NORMAL_PRIO) -> int:
    """futex_lock_pi(): 0 once the caller owns the lock; EDEADLK if it already does (or
    waiting would close a cycle of owners), ESRCH if the owner in the word does not exist,
    EAGAIN for a trylock of a held lock, ETIMEDOUT at the deadline. A signal raises
    CancelledError (restarted as ERESTARTNOINTR by the caller)."""
    key = futex_key(mm, uaddr, private)
    pi = lock_atomic(table, mm, uaddr, key, tid, alive, set_waiters=False)
    if pi is None:
        return 0
    if trylock:
        raise Errno(EAGAIN)     # FUTEX_WAITERS stays set, as Linux leaves it
    if _blocks_on(table, pi.owner, tid):
        raise Errno(EDEADLK)
    waiter = Waiter(key, BITSET_MATCH_ANY, asyncio.get_running_loop().create_future(), tid=tid,
                    pi=pi, mm=mm, uaddr=uaddr, prio=prio)
    table.enqueue(waiter)
    if not await table.sleep(waiter, deadline):
        raise Errno(ETIMEDOUT)
    return 0


def lock_atomic(table: FutexTable, mm: AddressSpace, uaddr: int, key: Key, tid: int, alive: TidAlive,
                set_waiters: bool) -> Optional[PiState]:
    """futex_lock_pi_atomic() for thread tid: None when it took the lock (a PiState owned by
    it if set_waiters asked for FUTEX_WAITERS too); else the PiState of the held lock to
    wait on, with FUTEX_WAITERS now set in the word."""
    words = table.words
    while True:
        uval = read_word(mm, uaddr)
        if uval & FUTEX_TID_MASK == tid:
            raise Errno(EDEADLK)
        queued = table.waiters(key)
        if queued:
            return _attach_to_pi_state(uval, queued[0])
        if not uval & FUTEX_TID_MASK:
            # Free (perhaps with FUTEX_OWNER_DIED, which is kept for the new owner to see).
            new = uval & FUTEX_OWNER_DIED | tid | (FUTEX_WAITERS if set_waiters else 0)
            if words.cmpxchg(mm, uaddr, uval, new) != uval:
                continue                # taken (or changed) in user space meanwhile: again
            return PiState(key, tid) if set_waiters else None
        # Held: FUTEX_WAITERS sends the owner's unlock here. Once set, user space changes
        # the word no more (its cmpxchg expects no FUTEX_WAITERS): no second store then.
        if not uval & FUTEX_WAITERS and words.cmpxchg(mm, uaddr, uval, uval | FUTEX_WAITERS) != uval:
            continue                    # unlocked (or changed) in user space meanwhile: again
        break
    owner = uval & FUTEX_TID_MASK
    if not alive(owner):
        raise Errno(ESRCH)      # handle_exit_race(): a dead owner without a robust list, or bogus
    return PiState(key, owner)


def _attach_to_pi_state(uval: int, top: Waiter) -> PiState:
    """attach_to_pi_state(): the word must agree with the kernel's idea of the owner."""
    pi = top.pi
    if pi is None:
        raise Errno(EINVAL)     # a plain or requeue-PI waiter: PI and non-PI ops mixed on a word
    tid = uval & FUTEX_TID_MASK
    if uval & FUTEX_OWNER_DIED:
        if pi.owner is None:
            if tid:
                raise Errno(EINVAL)
            return pi
        if not tid:
            return pi
    elif pi.owner is None:
        raise Errno(EINVAL)
    if tid != pi.owner:
        raise Errno(EINVAL)
    return pi


def _blocks_on(table: FutexTable, owner: Optional[int], tid: int) -> bool:
    """rt_mutex's chain walk: would tid waiting for owner's lock close a cycle (owner waits,
    through other owners, for a lock tid holds)?"""
    blocked_on = {w.tid: w.pi.owner for q in table.all_queues() for w in q if w.pi is not None}
    seen = set()
    while owner is not None and owner not in seen:
        if owner == tid:
            return True
        seen.add(owner)
        owner = blocked_on.get(owner)
    return False


# -- unlock -----------------------------------------------------------------------------------

def unlock_pi(table: FutexTable, mm: AddressSpace, uaddr: int, tid: int, private: bool) -> int:
    """futex_unlock_pi(): EPERM unless the word names the caller; the first waiter becomes
    the owner (the word FUTEX_WAITERS | its TID), or with none the word becomes 0."""
    key: Optional[Key] = None
    while True:                     # again whenever user space changed the word meanwhile
        uval = read_word(mm, uaddr)
        if uval & FUTEX_TID_MASK != tid:
            raise Errno(EPERM)
        if key is None:
            key = futex_key(mm, uaddr, private)
        queued = table.waiters(key)
        if queued:
            pi = queued[0].pi
            if pi is None or pi.owner != tid:
                raise Errno(EINVAL)     # user space fiddled with the word, or mixed PI and non-PI
            nxt = _first_waiter(table, pi)
            if nxt is None or _hand_over(table, pi, nxt, mm, uaddr, uval, 0):
                return 0
        elif table.words.cmpxchg(mm, uaddr, uval, 0) == uval:
            return 0                    # neither FUTEX_WAITERS nor FUTEX_OWNER_DIED survive


def _first_waiter(table: FutexTable, pi: PiState) -> Optional[Waiter]:
    return next((w for w in table.waiters(pi.key) if w.pi is pi), None)


def _hand_over(table: FutexTable, pi: PiState, nxt: Waiter, mm: AddressSpace, uaddr: int, uval: int,
               flags: int) -> bool:
    """wake_futex_pi() / the waiter's fixup_pi_state_owner(): nxt, the first waiter on pi,
    owns the lock once the word (still uval) says so: FUTEX_WAITERS and flags with its TID.
    False, nothing changed, if the word no longer held uval."""
    if table.words.cmpxchg(mm, uaddr, uval, flags | FUTEX_WAITERS | nxt.tid) != uval:
        return False
    pi.owner = nxt.tid
    table.take(nxt)
    return True


def exit_pi_state_list(table: FutexTable, tid: int) -> None:
    """At thread exit and exec, after the robust list: every PI lock the thread still owns
    that someone waits for goes to its first waiter, with FUTEX_OWNER_DIED (set whenever the
    state had lost its owner, robust or not: the new owner's pthread_mutex_lock of a robust
    mutex then says EOWNERDEAD)."""
    for q in table.all_queues():
        for w in [w for w in q if w.tid == tid]:
            table.dequeue(w)        # a dying waiter must not be handed a lock before its sleep ends
    owned = {id(w.pi): w.pi for q in table.all_queues() for w in q if w.pi is not None and w.pi.owner == tid}
    for pi in owned.values():
        pi.owner = None
        nxt = _first_waiter(table, pi)
        if nxt is not None and nxt.mm is not None:
            try:
                # as fixup_pi_state_owner: whatever the word holds (a robust death's mark)
                while not _hand_over(table, pi, nxt, nxt.mm, nxt.uaddr, read_word(nxt.mm, nxt.uaddr),
                                     FUTEX_OWNER_DIED):
                    pass
            except Errno:
                pass


# -- requeue PI -------------------------------------------------------------------------------

async def wait_requeue_pi(table: FutexTable, mm: AddressSpace, uaddr: int, val: int, deadline: float | None,
                          uaddr2: int, tid: int, private: bool, prio: int = NORMAL_PRIO) -> int:
    """futex_wait_requeue_pi(): sleep on uaddr as FUTEX_WAIT does until FUTEX_CMP_REQUEUE_PI
    moves the caller to the PI lock uaddr2 and it owns that lock (0). ETIMEDOUT at the
    deadline; a signal before the requeue raises CancelledError (restarted), after it EAGAIN
    (Linux's choice: a restart would find the condvar word changed anyway)."""
    if uaddr == uaddr2:
        raise Errno(EINVAL)
    key2 = futex_key(mm, uaddr2, private)
    key = futex_key(mm, uaddr, private)
    if read_word(mm, uaddr) != val & 0xFFFF_FFFF:
        raise Errno(EAGAIN)
    if key == key2:
        raise Errno(EINVAL)
    waiter = Waiter(key, BITSET_MATCH_ANY, asyncio.get_running_loop().create_future(), tid=tid,
                    requeue_to=(key2, uaddr2), mm=mm, uaddr=uaddr, prio=prio)
    table.enqueue(waiter)
    try:
        woken = await table.sleep(waiter, deadline)
    except asyncio.CancelledError:
        if waiter.pi is not None:
            raise Errno(EAGAIN) from None
        raise
    if not woken:
        raise Errno(ETIMEDOUT)
    return 0


def cmp_requeue_pi(table: FutexTable, mm: AddressSpace, uaddr: int, uaddr2: int, nr_wake: int,
                   nr_requeue: int, cmpval: int, private: bool, alive: TidAlive) -> int:
    """futex_requeue(requeue_pi=1): while *uaddr == cmpval, take the PI lock uaddr2 for the
    first waiter if it is free (waking it), and move up to nr_requeue waiters (one more if
    none was woken) to sleep on the lock; how many were woken or moved."""
    if nr_wake < 0 or nr_requeue < 0:
        raise Errno(EINVAL)
    if uaddr == uaddr2 or nr_wake != 1:
        raise Errno(EINVAL)
    key1, key2 = futex_key(mm, uaddr, private), futex_key(mm, uaddr2, private)
    if key1 == key2:
        raise Errno(EINVAL)
    if read_word(mm, uaddr) != cmpval & 0xFFFF_FFFF:
        raise Errno(EAGAIN)
    queued = table.waiters(key1)
    if not queued:
        return 0
    count, pi = _proxy_trylock(table, mm, uaddr2, key2, queued[0], alive, nr_requeue > 0)
    for w in list(table.waiters(key1)):
        if count - nr_wake >= nr_requeue:
            break
        if w.requeue_to is None or w.pi is not None:
            raise Errno(EINVAL)         # the ones before it stay moved, as in Linux
        assert pi is not None
        if w.tid == pi.owner:
            raise Errno(EDEADLK)        # rt_mutex_start_proxy_lock: it would wait for itself
        table.dequeue(w)
        w.key, w.uaddr, w.pi = key2, w.requeue_to[1], pi
        table.enqueue(w)
        count += 1
    return count


def _proxy_trylock(table: FutexTable, mm: AddressSpace, uaddr2: int, key2: Key, top: Waiter, alive: TidAlive,
                   set_waiters: bool) -> tuple[int, Optional[PiState]]:
    """futex_proxy_trylock_atomic(): try to take uaddr2 for the top waiter; (1, its state)
    when it got the lock and was woken, (0, the state of the held lock) when not."""
    if top.requeue_to is None or top.pi is not None:
        raise Errno(EINVAL)             # not a FUTEX_WAIT_REQUEUE_PI sleeper
    if top.requeue_to[0] != key2:
        raise Errno(EINVAL)             # it waits to be requeued to another futex
    pi = lock_atomic(table, mm, uaddr2, key2, top.tid, alive, set_waiters)
    if pi is not None and pi.owner != top.tid:
        return 0, pi
    table.take(top)
    top.key, top.uaddr, top.pi = key2, top.requeue_to[1], pi
    return 1, pi
