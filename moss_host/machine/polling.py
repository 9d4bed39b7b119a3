"""The host's side of adaptive polling: an event loop that, when it would block, first lets
a poller (the CPU: proc/cpu.py Cpu.poll) watch the mailbox for a bounded time.

While the guest runs user code between two syscalls a few microseconds apart, the
doorbell path (PL011 byte, socket, epoll wake-up, a loop turn) costs far more than the
syscall itself. Polling SEQ_REQ in shared RAM instead answers the trap at once, and the
stub skips the doorbell while MB_HOST_POLLING says we watch. The poller decides how long
to poll (never past the loop's next timer) and returns early when a handler queued work
for the loop.

`fence()` is the host's full memory barrier for the Dekker-style handshakes with the
stub (see guest_stub/start.S, report): a store, then a load of another word, must not be
reordered, and x86 reorders exactly that (the store buffer). Python has no fence of its
own; a locked instruction is one, and glibc's pthread_mutex_trylock executes `lock
cmpxchg` whether or not it gets the mutex (calling through ctypes also takes the GIL's
mutex, another locked instruction).
"""
from __future__ import annotations

import asyncio
import ctypes
import select
import selectors
import time
from typing import Callable, Optional

from .pressure import host_pressure
from .wake_lead import host_wake_lead

# loop_has_work() -> truthy while the loop has callbacks ready (a woken task, a finished
# future): the number of them, from the loop's own deque (no Python frame on the trap path).
LoopHasWork = Callable[[], int]
# poller(timeout, loop_has_work) -> True if it handled anything (the loop must not block).
# timeout: seconds until the loop's next timer, None when it has none.
Poller = Callable[[Optional[float], LoopHasWork], bool]

FD_SETSIZE = 1024                   # select(2) takes no descriptor above this
TIMER_SPIN_S = 50e-6                # the end of a wait for a timer is spun, not slept

_libc = ctypes.CDLL(None)
_trylock = _libc.pthread_mutex_trylock
_trylock.argtypes = [ctypes.c_void_p]
_mutex = ctypes.create_string_buffer(64)        # PTHREAD_MUTEX_INITIALIZER is all zeros
_mutex_addr = ctypes.addressof(_mutex)


PR_SET_TIMERSLACK = 29
HOST_TIMER_SLACK_NS = 1


def tighten_timer_slack() -> None:
    """Have this process's timed waits end on time: Linux lets a select(2) of a normal
    thread wake up to its timer slack (50 us) late, all of it added to a guest's
    nanosleep. QEMU, started after this, inherits the slack for its own timers."""
    _libc.prctl(PR_SET_TIMERSLACK, HOST_TIMER_SLACK_NS, 0, 0, 0)


def fence() -> None:
    """A full memory barrier (see the module's docstring)."""
    _trylock(_mutex_addr)


class PollingSelector(selectors.EpollSelector):
    """epoll, with the poller run before a select that would block."""

    def __init__(self) -> None:
        super().__init__()
        self.poller: Optional[Poller] = None
        self.pressure = host_pressure()
        self.wake_lead = host_wake_lead()       # the poller is called again this long before a timer
        self.loop_has_work: LoopHasWork = lambda: 0

    def select(self, timeout: Optional[float] = None):
        poller = self.poller
        if poller is not None and (timeout is None or timeout > 0) and poller(timeout, self.loop_has_work):
            timeout = 0                 # the poller handled traps: look at the loop's work now
        elif timeout is not None and timeout > 0:
            # epoll_wait counts whole milliseconds (selectors rounds up): a guest's 1 ms
            # nanosleep would wake up to 1 ms late. A timer a millisecond or more beyond the
            # wake lead: epoll waits the whole milliseconds before that (one system call; the
            # loop then comes back for the rest). The last fraction: select(2) on the epoll
            # fd waits with microseconds (and this process's timer slack:
            # tighten_timer_slack), then epoll reports what is ready.
            # The last TIMER_SPIN_S: a spin on the clock, as a wake-up from select(2) comes
            # tens of microseconds late on a busy host (bounded: once per timer that fires).
            # Not while the host's CPUs are contended: the spin would take a core others need.
            lead = self.wake_lead.lead_s
            ms = int((timeout - lead) * 1000)
            if ms > 0:
                timeout = (ms - 0.5) / 1000     # (selectors rounds this up to ms again)
            elif self.pressure.contended(time.monotonic_ns()):
                if self.fileno() < FD_SETSIZE:
                    select.select((self.fileno(),), (), (), timeout)
                    timeout = 0
            elif timeout <= TIMER_SPIN_S:
                end = time.monotonic() + timeout      # (the loop's clock)
                while time.monotonic() < end:
                    pass
                timeout = 0
            elif self.fileno() < FD_SETSIZE:
                # Back the wake lead before the timer (the poller may act then: Cpu.wake_ahead),
                # then TIMER_SPIN_S before it.
                wait = timeout - lead if timeout > lead + TIMER_SPIN_S else timeout - TIMER_SPIN_S
                select.select((self.fileno(),), (), (), wait)
                timeout = 0
        return super().select(timeout)


class PollingEventLoop(asyncio.SelectorEventLoop):
    """The kernel's event loop (cli.py makes it): an asyncio loop over a PollingSelector."""

    def __init__(self) -> None:
        tighten_timer_slack()
        self.polling = PollingSelector()
        super().__init__(self.polling)
        self.polling.loop_has_work = self._ready.__len__      # type: ignore[attr-defined]  # BaseEventLoop's run queue

    def set_poller(self, poller: Optional[Poller]) -> None:
        self.polling.poller = poller
