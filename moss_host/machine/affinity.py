"""The host thread and the guest's vCPU thread on different cores while the trap path spins.

In poll mode (proc/cpu.py Cpu.poll, machine/governor.py) both threads spin: the host
polls the mailbox, the vCPU runs user code or spins for the reply. That pays only with a
core each. Linux's scheduler does not know the two are a pair: a wake-up may put the host
thread on the vCPU thread's core (wake-affine placement in block mode, where QEMU's
threads wake it), and the load balancer parts them only at its next pass (milliseconds),
while each trap on the shared core waits for a context switch -- or, with a third task
on the machine, moves one of the pair onto the core of the other. Measured under load
(2 cores, CPU pressure 94-98%): whenever both threads were runnable, they were on the
same core in 30-36 of 32-39 samples.

So while the governor says poll mode (the machine uncontended), the host thread keeps the
core it is on and the vCPU thread gets another one (sched_setaffinity on its thread id);
when the governor says contended, both get back the cores they had, and the scheduler
places them as it likes (pinned spinners would hold cores others need).

With several CPUs the host polls only while one of them runs user code (kernel.py
_poll_smp), and that CPU's vCPU thread is the one pinned apart; the others' pins are
undone first. Before that (nothing pinned with several CPUs), half of the `--cpus 2` runs
of write_devnull read 50% CPU pressure in their first window and began in block mode:
27 us per write instead of 2.5 us for their first quarter second.

The vCPU thread's id comes from QMP (`query-cpus-fast`; QEMU names its threads only with
`-name debug-threads=on`, and the busiest thread right after boot is not always the vCPU's:
QEMU's main thread loads the kernel). A thread the host creates while pinned
inherits the pin until it ends (none on the trap path: the RAM warmer starts at boot).
MOSS_AFFINITY=0 turns it off (for A/B measurements).
"""
from __future__ import annotations

import logging
import os
from typing import Any, Optional

log = logging.getLogger("moss.machine")

ENABLED = os.environ.get("MOSS_AFFINITY", "1") != "0"


def thread_core(path: str) -> int:
    """The core a thread ran on last (field 39 of its stat file), -1 if unknown."""
    try:
        with open(path, "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2:].split()[36])
    except (OSError, ValueError, IndexError):
        return -1


async def vcpu_threads(qmp: Any) -> list[int]:
    """The host thread ids of QEMU's vCPUs, in CPU order (QMP query-cpus-fast); [] if QMP
    cannot say."""
    try:
        cpus = await qmp.execute("query-cpus-fast")
        return [int(c["thread-id"]) for c in sorted(cpus, key=lambda c: c["cpu-index"])]
    except Exception as e:                  # (qemu.qmp's errors, a reply without the fields)
        log.info("no vCPU thread ids from QMP: %s", e)
        return []


class Affinity:
    """Pins the host thread (the one that calls `spin`) and QEMU's vCPU thread apart."""

    def __init__(self, vcpu_tid: Optional[int], enabled: bool = ENABLED) -> None:
        self.vcpu_tid = vcpu_tid
        self.cores = os.sched_getaffinity(0)    # the cores this process may use
        self.available = enabled and vcpu_tid is not None and len(self.cores) >= 2
        self.pinned = False
        self.host_mask: set[int] = set()        # what each had before the pin
        self.vcpu_mask: set[int] = set()

    def spin(self) -> None:
        """Poll mode: the host keeps its core, the vCPU thread gets another."""
        if self.pinned or not self.available:
            return
        assert self.vcpu_tid is not None        # (else not available)
        try:
            host = thread_core("/proc/thread-self/stat")
            vcpu = thread_core(f"/proc/{self.vcpu_tid}/stat")      # (any thread id works there)
            if host not in self.cores:
                return
            if vcpu == host or vcpu not in self.cores:
                vcpu = min(self.cores - {host})
            self.host_mask = os.sched_getaffinity(0)
            self.vcpu_mask = os.sched_getaffinity(self.vcpu_tid)
            os.sched_setaffinity(0, {host})
            self.pinned = True
            os.sched_setaffinity(self.vcpu_tid, {vcpu})
        except OSError as e:
            log.info("host and vCPU threads not pinned apart: %s", e)
            self.available = False
            self.block()

    def block(self) -> None:
        """Block mode (or the end): both threads may run anywhere again."""
        if not self.pinned:
            return
        self.pinned = False
        try:
            os.sched_setaffinity(0, self.host_mask)
            os.sched_setaffinity(self.vcpu_tid, self.vcpu_mask)      # type: ignore[arg-type]
        except OSError:
            pass                                # (QEMU gone: nothing left to unpin)


class NoAffinity(Affinity):
    """Nothing pinned (unit tests, an event loop that does not poll)."""

    def __init__(self) -> None:
        super().__init__(None, enabled=False)
