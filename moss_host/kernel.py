"""The kernel's lifecycle: boot the machine, start the first process, run until it is gone.

Everything happens on one asyncio loop: doorbell bytes from the guest, the terminal,
timers and QMP. There are no threads and no locks; a syscall that sleeps awaits.

The Kernel wires the subsystems together and owns what lives as long as the run: the pid
table (proc/pidtable.py), the scheduler (sched/), the machine and its memory, the root
filesystem, the console. Tasks reach it as `task.kernel`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Optional

from moss_host.cred import Creds
from moss_host.errors import KernelPanic
from moss_host.fs.file import OpenFile
from moss_host.fs.vfs import FsContext
from moss_host.ipc.namespace import IpcNamespace
from moss_host.machine import hostmem
from moss_host.machine.affinity import Affinity, vcpu_threads
from moss_host.machine.mailbox import Mailbox
from moss_host.machine.polling import PollingEventLoop
from moss_host.machine.wake_lead import host_wake_lead
from moss_host.machine.qemu import Machine, MachineConfig, MachineError
from moss_host.mm.address_space import AddressSpace
from moss_host.mm.boot_tables import write_boot_tables
from moss_host.mm.memory import Memory
from moss_host.mm.tlb import CpuTlbs
from moss_host.proc import exec as execmod
from moss_host.proc import lifecycle, signals, vvar
from moss_host.proc.acct import Accounting
from moss_host.proc.bugs import KernelBugs
from moss_host.proc.cpu_limit import CpuLimitWatch
from moss_host.proc.cpu import Cpu
from moss_host.proc.execvp import search_path
from moss_host.proc.futex import FutexTable
from moss_host.proc.guest_atomic import GuestAtomicWords
from moss_host.proc.jobctl import ProcessJobControl
from moss_host.proc.pidtable import PidTable
from moss_host.proc.task import State, Task, ThreadGroup
from moss_host.proc.timing import TrapTimer
from moss_host.sched.scheduler import Scheduler
from moss_host.syscalls import dispatch, load_all
from moss_host.syscalls.trace import TraceOptions, Tracer
from moss_host.tty.tty import Tty

log = logging.getLogger("moss.kernel")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STUB = Path(os.environ.get("MOSS_STUB", REPO / "build" / "guest_stub" / "stub.elf"))
DEFAULT_IMAGE = REPO / "build" / "initramfs.cpio"
CPU_BRINGUP_S = 10.0            # how long init waits for the secondary CPUs to come up
DEFAULT_ENV = [b"PATH=/usr/sbin:/usr/bin:/sbin:/bin", b"HOME=/root", b"TERM=linux"]
PAGE_KB = 4


@dataclass
class KernelConfig:
    image: Path = DEFAULT_IMAGE
    stub: Path = DEFAULT_STUB
    ram_mib: int = 1024
    cpus: int = 1                   # vCPUs (moss-host --cpus): QEMU -smp, one Cpu each
    trace: bool = False             # --trace: strace's lines on stderr
    trace_options: Optional[TraceOptions] = None   # --trace=SPEC, --trace-pid/-out/-json/-summary
    gdb: str | None = None          # gdbstub address; the VM then waits for gdb to continue it
    timing: bool = False            # measure trap round trips (moss-host run --timing)
    disk: Path | None = None        # an ext2/3/4 image to use as the root instead of the initramfs
    # pid 1 leads session 1 with a terminal console as its controlling tty (a shell as pid 1,
    # as a getty would arrange); False for an init that makes its own sessions, as on Linux.
    init_owns_console: bool = True
    strict: bool = False            # a kernel bug panics the run (proc/bugs.py; moss-host --strict)
    env: list[bytes] = field(default_factory=lambda: list(DEFAULT_ENV))


class Kernel:
    def __init__(self, config: KernelConfig):
        self.config = config
        self.tracer: Optional[Tracer] = (Tracer(config.trace_options)
                                         if config.trace or config.trace_options else None)
        self.pids = PidTable()
        self.bugs = KernelBugs(config.strict, self.panic)     # host exceptions where none belong
        self.cpu_limits = CpuLimitWatch(self.pids)          # RLIMIT_CPU's SIGXCPU and SIGKILL
        self.acct = Accounting()                    # acct(2)'s file: a record per process that ends
        self.host_memory = hostmem.Trimmer()        # freed host memory back to the host
        self.sched = Scheduler(config.cpus)
        self.futexes = FutexTable()                 # threads asleep in futex(2)
        self.ipc = IpcNamespace(lambda: self.mem, self.address_spaces)     # System V IPC
        self.jobs = ProcessJobControl(self.pids, self.current_task)     # what ttys ask of processes
        self.machine: Optional[Machine] = None
        self.on_machine_start: list[Callable[[Machine], Awaitable[None]]] = []   # run once QEMU is up (kconsole.py)
        self.exec_hooks: list[Callable[[Task], Awaitable[None]]] = []   # after each execve (gdbhost.py)
        self.mem: Optional[Memory] = None           # the guest's RAM, once the machine runs
        self.cpu: Optional[Cpu] = None              # CPU 0
        self.cpus: list[Cpu] = []                   # every CPU, in index order
        self._polling: Optional[Cpu] = None         # several CPUs: the one _poll_smp polls now
        self.root_fs: Optional[FsContext] = None
        self.console_files: tuple[OpenFile, ...] = ()   # fds 0, 1, 2 of pid 1
        self.console_tty: Optional[Tty] = None      # the console, when the host gives us a terminal
        # reboot(2) CAD_ON/CAD_OFF (Linux's C_A_D): Ctrl-Alt-Del reboots at once, or is
        # SIGINT to init. Recorded only: nothing sends that key to the guest yet.
        self.ctrl_alt_del_reboots = True
        self._done: Optional[asyncio.Future] = None
        self.stopping = False                     # the run is over (see run())
        self.init_status: Optional[int] = None
        self.restart_requested = False      # reboot(2) RESTART: cli.py boots a fresh kernel
        load_all()

    # -- running ---------------------------------------------------------------------------------

    async def run(self, argv: list[str]) -> int:
        """Boot, run argv[0] as pid 1, and return its wait(2) status."""
        from moss_host.fs.rootfs import RootError, root_from_disk, unmount_all
        from moss_host.fs.vfs import build_root_from_cpio

        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_exception)
        done = self._done = loop.create_future()
        if self.config.disk is not None:
            try:
                root_fs = root_from_disk(self.config.disk)
            except RootError as e:
                raise ImageError(str(e)) from None
        else:
            root_fs = load_root(self.config.image, build_root_from_cpio)
        self.root_fs = root_fs
        try:
            return await self._run_on_root(loop, root_fs, argv, done)
        finally:
            self.stopping = True            # sleeping syscalls cancelled from now on just end
            unmount_all(root_fs)

    async def _run_on_root(self, loop: asyncio.AbstractEventLoop, root_fs: FsContext, argv: list[str],
                           done: asyncio.Future) -> int:
        import moss_host.fs.drivers.memdev  # noqa: F401  (registers /dev/null and friends)
        from moss_host.fs.boot_mounts import mount_boot_filesystems
        from moss_host.tty.devpts import Devpts
        from moss_host.fs.drivers.procfs import ProcFs
        from moss_host.tty.console import open_console

        mount_boot_filesystems(root_fs, lambda: Devpts(self.jobs), lambda: ProcFs(self))
        self.console_files, self.console_tty = open_console(self.jobs, root_fs, self.config.init_owns_console,
                                                            self.tracer)
        machine = self.machine = Machine(MachineConfig(self.config.stub, self.config.ram_mib, gdb=self.config.gdb,
                                                       cpus=self.config.cpus))
        try:
            await machine.start()
            for hook in self.on_machine_start:
                await hook(machine)
            doorbell, qemu = machine.doorbell, machine.proc
            assert doorbell is not None and qemu is not None        # start() connected them
            mem = self.mem = Memory(machine.ram, machine.ram_size, warmer=machine.warmer)
            write_boot_tables(mem.physmem, machine.ram_size)
            ncpus = self.config.cpus
            direct = dispatch.direct_calls()
            self.cpus = [Cpu(i, Mailbox(machine.ram, i), doorbell, mem, self.sched, dispatch.start, self.tracer,
                             self, direct=direct) for i in range(ncpus)]
            cpu = self.cpu = self.cpus[0]
            cpu.mailbox.set_cpu_count(ncpus)        # CPU 0's stub brings up the others
            if self.config.timing:
                cpu.timer = TrapTimer()
            init = self.spawn_init(argv, mem, root_fs)
            hold_init = ncpus > 1 and not self.config.gdb       # (gdb: the guest waits for gdb)
            if not hold_init:
                self.sched.enqueue(init)
            self.cpu_limits.start()
            self.host_memory.start()
            if ncpus == 1:
                loop.add_reader(doorbell.fileno(), cpu.on_doorbell)
                if isinstance(loop, PollingEventLoop):
                    loop.set_poller(cpu.poll)       # traps answered without the doorbell
                    vcpus = await vcpu_threads(machine.qmp)
                    cpu.use_affinity(Affinity(vcpus[0] if vcpus else None))
            else:
                mem.running_cpus = self._running_cpus
                for each in self.cpus:
                    each.now_busy = self._cpu_busy
                    each.running_cpus = self._running_cpus
                mem.tlbs = CpuTlbs(ncpus, lambda index: self.cpus[index].forget_loaded_mm())
                self.futexes.use_words(GuestAtomicWords(self.cpus))     # futex words: atomic on every CPU
                mem.trap_watch = self._watch_traps
                loop.add_reader(doorbell.fileno(), self._on_doorbell_smp)
                if isinstance(loop, PollingEventLoop):
                    loop.set_poller(self._poll_smp)   # while only one CPU is busy
                    vcpus = await vcpu_threads(machine.qmp)
                    if len(vcpus) == ncpus:     # (the polling CPU's vCPU thread apart from the host's)
                        for each, tid in zip(self.cpus, vcpus):
                            each.use_affinity(Affinity(tid))
            watcher = asyncio.ensure_future(qemu.wait())
            watcher.add_done_callback(lambda _: self.machine_gone("QEMU exited"))
            if self.config.gdb:
                vvar.counter_stops()                # gdb stops the VM unseen: the vDSO asks
                self.write_gdb_info(init)
            else:
                await machine.resume()
            if hold_init:
                # As Linux's smp_init before kernel_init: init starts once every CPU is up,
                # so its first placement (and what it forks) sees them all.
                await self._cpus_online(done)
                self.sched.enqueue(init)
            status = await done
            watcher.cancel()
            if cpu.timer is not None:
                cpu.timer.report(cpu.stats, cpu.wake_lead)
            return status
        finally:
            self.cpu_limits.stop()
            self.host_memory.stop()
            if isinstance(loop, PollingEventLoop):
                loop.set_poller(None)
            if machine.doorbell is not None:
                loop.remove_reader(machine.doorbell.fileno())
            await machine.close()

    def spawn_init(self, argv: list[str], mem: Memory, root_fs: FsContext) -> Task:
        """pid 1, running argv[0] with the console on fds 0, 1 and 2."""
        from moss_host.fs.fdtable import FdTable

        pid = self.pids.alloc()
        files = FdTable()
        for fd, f in enumerate(self.console_files):
            files.install_at(fd, f)
        creds = Creds()
        path = search_path(root_fs, creds, argv[0], self.config.env)    # `run -- python3`
        image = execmod.prepare_exec(mem, root_fs, creds, path, [a.encode() for a in argv], self.config.env)
        task = Task(tid=pid, group=ThreadGroup(pid), mm=image.loaded.mm, fs=root_fs, files=files, creds=creds, kernel=self,
                    start_time=self.sched.uptime())
        task.mm.charge = task.group.faults
        # Like Linux's first process, pid 1 starts in process group 0 and session 0 -- unless
        # the console is a terminal: then it leads session 1 on it, as getty would arrange,
        # so that the shell at the prompt has job control and ^C reaches it.
        if self.console_tty is not None and self.config.init_owns_console:
            task.pgid = task.sid = pid
            task.ctty = self.console_tty
        execmod.install_image(task, image)
        self.pids.add(task)
        return task

    async def _cpus_online(self, done: asyncio.Future) -> None:
        """Wait until every CPU has reported in (its first trap is REASON_BOOT), for at most
        CPU_BRINGUP_S (a CPU that never comes up leaves init to the others), or the run ends."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + CPU_BRINGUP_S
        while not all(cpu.traps for cpu in self.cpus) and not done.done():
            if loop.time() > give_up:
                log.warning("CPUs %s did not come up", [cpu.index for cpu in self.cpus if not cpu.traps])
                return
            await asyncio.sleep(0.001)

    def _on_doorbell_smp(self) -> None:
        """Several CPUs share the doorbell: a byte says some CPU trapped; look at each
        mailbox's SEQ_REQ (the stub stores it before it rings)."""
        cpu0 = self.cpus[0]
        try:
            data = cpu0.doorbell.recv(4096)
        except BlockingIOError:
            return
        if not data:
            self.machine_gone("the doorbell closed: QEMU exited")
            return
        now = time.monotonic_ns()
        for cpu in self.cpus:
            cpu.take_rung_trap(now)         # (the poll budget grows as on_doorbell's)

    def _poll_smp(self, timeout: Optional[float], loop_has_work: Callable[[], int]) -> bool:
        """Adaptive polling with several CPUs: only while exactly one runs user code and the
        others idle (no task, waiting in WFI), as the one CPU polls; it stops at the first
        trap after which another CPU got busy (_cpu_busy: that one rings the doorbell, the
        loop must look).
        A timer due within the wake lead (machine/wake_lead.py) wakes an idle CPU whose last
        task sleeps (Cpu.wake_ahead, as the one CPU's poll does), whatever the others do."""
        if timeout is not None and timeout < host_wake_lead().lead_s:
            for cpu in self.cpus:
                if cpu.sleeper_returns():
                    cpu.wake_ahead()
        busy: Optional[Cpu] = None
        for cpu in self.cpus:
            if not cpu.trapped:
                if busy is not None:
                    self._unpin(None)       # several run user code: nobody spins
                    return False
                busy = cpu
            elif cpu.current is not None:
                return False                # a reply waits for a loop turn (_reply_later)
        if busy is None:
            return False
        self._unpin(busy)
        self._polling = busy
        try:
            return busy.poll(timeout, loop_has_work)
        finally:
            self._polling = None

    def _unpin(self, busy: Optional[Cpu]) -> None:
        """Only the polling CPU's vCPU thread stays pinned apart from the host's
        (machine/affinity.py): the pins are for a pair that spins."""
        for cpu in self.cpus:
            if cpu is not busy and cpu.affinity.pinned:
                cpu.affinity.block()

    def _cpu_busy(self, cpu: Cpu) -> None:
        """cpu's reply ended its idle: it runs user code now. If another CPU polls (cpu was
        given a task by a handler of that one's trap), the poll must end: cpu's traps ring the
        doorbell, which a poll does not look at. A callback on the loop's run queue ends
        it, as the poll and the fast path ask only whether the loop has work: a question
        per trap about the other CPUs (a Python closure) made every trap ~80 ns dearer at
        two CPUs, and while both ran user code it held every reply back for loop turns
        (two getppid loops: 19 us a round trip against 3 us on one CPU)."""
        if self._polling is not None and self._polling is not cpu:
            asyncio.get_running_loop().call_soon(_nothing)

    def _watch_traps(self, mask: int) -> None:
        """Memory waits for the next trap of each CPU in mask (Cpu.scrubbing): only those
        tell it, so a CPU no grace period waits for does nothing more per trap than one CPU."""
        for cpu in self.cpus:
            if mask & cpu.bit:
                cpu.watch_next_trap()

    def _running_cpus(self) -> int:
        """The CPUs that run user code now (not waiting for a reply), as a mask."""
        mask = 0
        for cpu in self.cpus:
            if not cpu.trapped:
                mask |= cpu.bit
        return mask

    def set_tracing(self, on: bool) -> None:
        """--trace switched on or off in a running kernel (the kernel console's trace())."""
        self.tracer = (self.tracer or Tracer()) if on else None
        for cpu in self.cpus:
            cpu.set_tracer(self.tracer)

    def current_task(self) -> Optional[Task]:
        """The task on the CPU that is handling a trap (what a tty's read or open falls back on)."""
        for cpu in self.cpus:
            if cpu.handling:
                return cpu.current
        return self.cpu.current if self.cpu is not None else None

    def address_spaces(self) -> list[AddressSpace]:
        """Every address space in use (System V shm counts its attaches in them)."""
        spaces = {id(t.mm): t.mm for t in self.pids.live()}
        return [mm for mm in spaces.values() if mm.users > 0]

    def memory_kb(self) -> tuple[int, int]:
        """(total, free) in kB: the guest frame pool, or the configured RAM before the machine starts."""
        if self.mem is None:
            total = self.config.ram_mib * 1024
            return total, total
        return self.mem.frames.total_frames * PAGE_KB, self.mem.free_frames * PAGE_KB

    # -- the end of the run --------------------------------------------------------------------

    def init_exited(self, status: int) -> None:
        """pid 1 is gone: like the end of a PID namespace, every other process dies with it."""
        self.init_status = status
        for other in self.pids.all():
            if other.tid != 1 and other.state is not State.ZOMBIE:
                other.parent = None
                lifecycle.exit_task(other, signals.killed_status(signals.SIGKILL))
        self.pids.clear()
        self.finish(status)

    def finish(self, status: int) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(status)

    def power_off(self, restart: bool = False) -> None:
        """reboot(2): the machine switches off and the run ends with status 0, or it resets
        (restart: cli.py's boot loop then starts a fresh kernel)."""
        self.restart_requested = restart
        self.finish(0)

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        """A bug outside any syscall (in a callback of the event loop): the guest may be
        waiting for a reply that will never come, so stop cleanly with the message rather
        than hang with a traceback on the console."""
        exc = context.get("exception")
        if exc is None or isinstance(exc, asyncio.CancelledError):
            log.warning("event loop: %s", context.get("message", "?"))
            return
        what = f"{type(exc).__name__}: {exc}"
        log.error("kernel bug in an event callback: %s", what, exc_info=exc if log.isEnabledFor(logging.DEBUG) else None)
        self.panic(f"kernel bug: {what}")

    def panic(self, message: str) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_exception(KernelPanic(message))

    def machine_gone(self, why: str) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_exception(MachineError(why))

    # -- gdb alongside ---------------------------------------------------------------------------

    def write_gdb_info(self, task: Task) -> None:
        """Tell `moss-host gdb` where to attach and which symbols are where."""
        info_dir = gdb_info_dir()
        info_dir.mkdir(parents=True, exist_ok=True)
        program = info_dir / "program.elf"
        program.write_bytes(execmod.read_executable(task.fs, task.exe.encode(), task.creds, task))
        (info_dir / "session.json").write_text(json.dumps({
            "gdb": self.config.gdb, "stub": str(self.config.stub), "program": str(program),
            "program_bias": task.image_bias, "pid": os.getpid(), "socket": str(info_dir / "gdb.sock")}))
        print(f"moss: waiting for gdb on {self.config.gdb} (run `just gdb`, then `continue`)", flush=True)


def _nothing() -> None:
    """A callback that only makes the loop look (Kernel._cpu_busy)."""


def gdb_info_dir() -> Path:
    return Path(os.environ.get("XDG_RUNTIME_DIR", "/tmp")) / f"moss-py-{os.getuid()}"


class ImageError(Exception):
    """The root filesystem image is missing or unreadable; the message says which and why."""


def load_root(path: Path, build):
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ImageError(f"image {path} not found or unreadable ({e.strerror}); run `just image`") from None
    try:
        return build(data)
    except ValueError as e:          # CpioError and friends: a broken archive
        raise ImageError(f"image {path} is not a valid initramfs: {e}") from None
