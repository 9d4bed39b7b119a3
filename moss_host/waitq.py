"""Wait queues: how a sleeping syscall waits for something to change.

A syscall that must wait for a condition (a pipe to have data, a child to exit)
awaits `queue.wait_until(condition)`; whoever changes the state calls
`queue.wake_all()`. Waiters re-check their condition after each wake-up, so a
spurious or shared wake-up is harmless. The wait is an ordinary await on the
host's event loop: cancelling it (a signal interrupting the syscall) simply
ends the wait with CancelledError, which the syscall layer turns into
-ERESTARTSYS unless the handler catches it.

A base module (it needs nothing but asyncio): pipes (fs/), ttys (tty/), wait4 (proc/)
and timers all sleep on wait queues, so it sits below every layer that uses it.
"""
from __future__ import annotations

import asyncio
from typing import Callable


WAKE_ANY = -1       # a wake-up about no event in particular: every watcher looks (Linux's NULL key)


class WaitQueue:
    def __init__(self) -> None:
        self._waiters: list[asyncio.Future] = []
        # Persistent callbacks (epoll's ep_poll_callback), called with each wake-up's POLL* key,
        # and whether each is exclusive (EPOLLEXCLUSIVE).
        self._watchers: list[tuple[Callable[[int], bool], bool]] = []

    def __len__(self) -> int:
        return len(self._waiters)

    async def wait(self, timeout: float | None = None) -> None:
        """Sleep until the next wake_all(), or until `timeout` seconds have passed.

        The timeout is a loop timer, not asyncio.wait_for: the first step of a handler
        runs outside any asyncio Task (the fast path), where wait_for cannot be used.
        """
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._waiters.append(fut)
        timer = None if timeout is None else loop.call_later(max(timeout, 0), wake_future, fut)
        try:
            await fut
        finally:
            if timer is not None:
                timer.cancel()
            try:
                self._waiters.remove(fut)
            except ValueError:
                pass

    async def wait_until(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Sleep until condition() holds; False if `timeout` seconds passed first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not condition():
            if deadline is None:
                await self.wait()
                continue
            left = deadline - loop.time()
            if left <= 0:
                return False
            await self.wait(left)
        return True

    def add_waiter(self, fut: asyncio.Future) -> None:
        """Resolve fut at the next wake_all() (one future may wait on many queues: poll)."""
        self._waiters.append(fut)

    def remove_waiter(self, fut: asyncio.Future) -> None:
        try:
            self._waiters.remove(fut)
        except ValueError:
            pass

    def watch(self, callback: Callable[[int], bool], exclusive: bool = False) -> Callable[[], None]:
        """Call callback(key) at every wake-up until the returned function is called. As Linux's
        add_wait_queue/add_wait_queue_exclusive: a watcher goes first, an exclusive one last, and
        a keyed wake-up stops after the first exclusive watcher that says (True) it woke someone."""
        entry = (callback, exclusive)
        if exclusive:
            self._watchers.append(entry)
        else:
            self._watchers.insert(0, entry)

        def stop() -> None:
            try:
                self._watchers.remove(entry)
            except ValueError:
                pass
        return stop

    def wake_all(self) -> None:
        """Wake every waiter; each re-checks its own condition."""
        self.wake_poll(WAKE_ANY)

    def wake_poll(self, key: int) -> None:
        """wake_all() for a change that is about the POLL* events in `key` (wake_up_poll):
        watchers (epoll) look only when their events meet it; key 0 wakes only the waiters."""
        for fut in self._waiters:
            wake_future(fut)
        if self._watchers and key:
            for cb, exclusive in list(self._watchers):
                if cb(key) and exclusive and key != WAKE_ANY:
                    break


def wake_future(fut: asyncio.Future) -> None:
    """Resolve fut unless it is already done (a timer and a wake-up may both come)."""
    if not fut.done():
        fut.set_result(None)
