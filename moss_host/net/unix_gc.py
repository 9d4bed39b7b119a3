"""The garbage collector of AF_UNIX sockets in flight (Linux 6.1's net/unix/garbage.c unix_gc).

A socket sent with SCM_RIGHTS is referenced by the message carrying it. When every
reference to a socket is such a message (its file's count equals the times it is in
flight) it is a candidate: perhaps only other unreachable sockets' queues hold it, as in a
pair that sent both its ends to itself and was closed, which would never be freed.

Candidates referenced from a queue outside the candidates (an open socket's, or a
reachable candidate's) are alive, and so is everything in flight on their queues. The
others are garbage: the messages on their queues that carry candidates are dropped, which
closes those files, and the cycle falls apart.

When: as Linux 6.1 (with "af_unix: Try to run GC async"), releasing an AF_UNIX socket while
any file is in flight schedules a pass (schedule), which runs a moment later, not within
the close: a program that polls a file queued in a cycle right after closing the cycle's
last descriptor still finds it open, as on Linux (unix_scm.c), and finds it closed soon after.

A listener's queue includes its not yet accepted connections' queues (scan_children).
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from .socket import INFLIGHT, Message

if TYPE_CHECKING:
    from .unix import UnixSocket

_running = False        # dropping garbage releases sockets, which must not start another pass
_scheduled = False      # a pass is due (gc_in_progress)
GC_DELAY = 0.02         # seconds: Linux's work item runs once the closing task lets the CPU go


def queues_of(sock: UnixSocket) -> Iterator[Message]:
    """The messages on sock's receive queue, and on its embryos' if it listens."""
    yield from sock.queue
    for embryo in sock.pending:
        yield from embryo.queue


def children(sock: UnixSocket, live: dict[int, UnixSocket]) -> Iterator[UnixSocket]:
    """The AF_UNIX sockets in flight on sock's queues (one per reference)."""
    for m in queues_of(sock):
        for f in m.files:
            child = live.get(id(f))
            if child is not None:
                yield child


def anything_in_flight() -> bool:
    return any(INFLIGHT.values())


def schedule(sockets: Callable[[], Iterable[UnixSocket]]) -> None:
    """unix_gc(): a pass over sockets() soon (at once when no event loop runs: unit tests)."""
    global _scheduled
    if _scheduled or _running:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        collect(sockets())
        return
    _scheduled = True

    def run() -> None:
        global _scheduled
        _scheduled = False
        collect(sockets())
    loop.call_later(GC_DELAY, run)


def collect(sockets: Iterable[UnixSocket]) -> None:
    global _running
    if _running:
        return
    _running = True
    try:
        _collect(list(sockets))
    finally:
        _running = False


def _collect(sockets: list[UnixSocket]) -> None:
    live = {id(s): s for s in sockets}
    inflight: dict[int, int] = {}
    for s in sockets:
        for child in children(s, live):
            inflight[id(child)] = inflight.get(id(child), 0) + 1
    candidates = {id(s): s for s in sockets if inflight.get(id(s), 0) and s.refs == inflight[id(s)]}
    if not candidates:
        return
    outside = dict(inflight)                # references from queues that are not candidates'
    for c in candidates.values():
        for child in children(c, live):
            outside[id(child)] -= 1
    alive = [c for key, c in candidates.items() if outside[key] > 0]
    reached = {id(c) for c in alive}
    while alive:                            # what a reachable candidate holds is reachable
        for child in children(alive.pop(), live):
            if id(child) in candidates and id(child) not in reached:
                reached.add(id(child))
                alive.append(child)
    garbage = [c for key, c in candidates.items() if key not in reached]
    hitlist = []
    for g in garbage:
        for owner in (g, *g.pending):
            for m in [m for m in owner.queue if any(id(f) in candidates for f in m.files)]:
                owner.queue.remove(m)
                hitlist.append((owner, m))
    for owner, m in hitlist:
        owner.dequeued(m)                   # closes the files it carried: the cycle is broken
