"""The kernel's lifecycle: boot the machine, start the first process, run until it is gone.

Everything happens on one asyncio loop: doorbell bytes from the guest, the terminal,
timers and QMP. There are no threads and no locks; a syscall that sleeps awaits.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from moss_host.cred import Creds
from moss_host.errors import ERESTARTSYS, KernelPanic
from moss_host.machine.boot_tables import write_boot_tables
from moss_host.machine.mailbox import Mailbox, new_context
from moss_host.machine.qemu import Machine, MachineConfig, MachineError
from moss_host.mm.memory import Memory
from moss_host.mm.writeback import write_back
from moss_host.proc import exec as execmod
from moss_host.proc import lifecycle, signals
from moss_host.proc.cpu import Cpu
from moss_host.proc.task import State, Task
from moss_host.syscalls import load_all
from moss_host.syscalls.trace import Tracer

log = logging.getLogger("moss.kernel")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STUB = REPO / "build" / "guest_stub" / "stub.elf"
DEFAULT_IMAGE = REPO / "build" / "initramfs.cpio"
DEFAULT_ENV = [b"PATH=/usr/sbin:/usr/bin:/sbin:/bin", b"HOME=/root", b"TERM=linux"]


@dataclass
class KernelConfig:
    image: Path = DEFAULT_IMAGE
    stub: Path = DEFAULT_STUB
    ram_mib: int = 1024
    trace: bool = False
    gdb: str | None = None          # gdbstub address; the VM then waits for gdb to continue it
    timing: bool = False            # measure trap round trips (moss-host run --timing)
    disk: Path | None = None        # an ext2/3/4 image to use as the root instead of the initramfs
    # pid 1 leads session 1 with a terminal console as its controlling tty (a shell as pid 1,
    # as a getty would arrange); False for an init that makes its own sessions, as on Linux.
    init_owns_console: bool = True
    env: list[bytes] = field(default_factory=lambda: list(DEFAULT_ENV))


class Kernel:
    def __init__(self, config: KernelConfig):
        self.config = config
        self.tracer = Tracer() if config.trace else None
        self.tasks: dict[int, Task] = {}
        self.next_pid = 1
        self.boot_time = time.monotonic()
        self.machine: Machine | None = None
        self.mem: Memory | None = None
        self.cpu: Cpu | None = None
        self.root_fs = None
        self.console_files = None
        self._done: asyncio.Future | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.syscall_task: Task | None = None     # the task whose syscall handler runs right now
        self.stopping = False                     # the run is over (see run())
        self.init_status: int | None = None
        self.restart_requested = False      # reboot(2) RESTART: cli.py boots a fresh kernel
        load_all()

    # -- running ---------------------------------------------------------------------------------

    async def run(self, argv: list[str]) -> int:
        """Boot, run argv[0] as pid 1, and return its wait(2) status."""
        from moss_host.fs.rootfs import RootError, root_from_disk, unmount_all
        from moss_host.fs.vfs import build_root_from_cpio

        loop = self.loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_exception)
        self._done = loop.create_future()
        if self.config.disk is not None:
            try:
                self.root_fs = root_from_disk(self.config.disk)
            except RootError as e:
                raise ImageError(str(e)) from None
        else:
            self.root_fs = load_root(self.config.image, build_root_from_cpio)
        try:
            return await self._run_on_root(loop, argv)
        finally:
            self.stopping = True            # sleeping syscalls cancelled from now on just end
            unmount_all(self.root_fs)

    async def _run_on_root(self, loop, argv: list[str]) -> int:
        import moss_host.fs.drivers.memdev  # noqa: F401  (registers /dev/null and friends)
        from moss_host.fs.boot_mounts import mount_boot_filesystems
        from moss_host.tty.console import open_console

        mount_boot_filesystems(self.root_fs, self)
        self.console_files = open_console(self)
        self.machine = Machine(MachineConfig(self.config.stub, self.config.ram_mib, gdb=self.config.gdb))
        try:
            await self.machine.start()
            self.mem = Memory(self.machine.ram, self.machine.ram_size)
            write_boot_tables(self.mem.physmem, self.machine.ram_size)
            self.cpu = Cpu(self, 0, Mailbox(self.machine.ram, 0), self.machine.doorbell)
            if self.config.timing:
                from moss_host.proc.timing import TrapTimer
                self.cpu.timer = TrapTimer()
            init = self.spawn_init(argv)
            self.cpu.runqueue.append(init)
            loop.add_reader(self.machine.doorbell.fileno(), self.cpu.on_doorbell)
            watcher = asyncio.ensure_future(self.machine.proc.wait())
            watcher.add_done_callback(lambda _: self.machine_gone("QEMU exited"))
            if self.config.gdb:
                self.write_gdb_info(init)
            else:
                await self.machine.resume()
            status = await self._done
            watcher.cancel()
            if self.cpu.timer is not None:
                self.cpu.timer.report()
            return status
        finally:
            if self.machine.doorbell is not None:
                loop.remove_reader(self.machine.doorbell.fileno())
            await self.machine.close()

    def spawn_init(self, argv: list[str]) -> Task:
        from moss_host.fs.fdtable import FdTable

        pid = self.alloc_pid()
        files = FdTable()
        for fd, f in enumerate(self.console_files):
            files.install_at(fd, f)
        # Like Linux's first process, pid 1 starts in process group 0 and session 0 -- unless
        # the console is a terminal: then it leads session 1 on it, as getty would arrange,
        # so that the shell at the prompt has job control and ^C reaches it.
        task = Task(tid=pid, tgid=pid, mm=None, fs=self.root_fs, files=files, creds=Creds(), kernel=self,
                    start_time=self.uptime())
        if getattr(self, "console_tty", None) is not None and self.config.init_owns_console:
            task.pgid = task.sid = pid
            task.ctty = self.console_tty
        self.exec_into(task, argv[0], [a.encode() for a in argv], self.config.env)
        self.tasks[pid] = task
        return task

    def alloc_pid(self) -> int:
        pid = self.next_pid
        self.next_pid += 1
        return pid

    def exec_into(self, task: Task, path: str, argv: list[bytes], envp: list[bytes]) -> None:
        """execve: replace task's image with the program at path (an ELF or a #! script).

        Everything that can fail is done before the old image is touched, so a failed
        exec returns to the caller's program unchanged.
        """
        def read(p: bytes) -> bytes:
            return execmod.read_executable(task.fs, p, task.creds)

        execmod.check_arg_size(argv, envp)
        prog, data, argv = execmod.resolve_scripts(read, path.encode(), argv)
        loaded = execmod.load_program(self.mem, data, prog.decode(errors="surrogateescape"), argv, envp,
                                      task.creds, lambda p: read(p.encode()), execfn=path.encode())
        old = task.mm
        task.mm = loaded.mm
        task.comm = os.path.basename(path).encode()[:15]
        task.exe = prog.decode(errors="surrogateescape")
        task.image_bias = loaded.bias
        task.did_exec = True
        self._reset_for_exec(task)
        ctx = new_context(loaded.entry, loaded.sp)
        if task.on_cpu is not None:
            task.on_cpu.mailbox.load_context(ctx)
        else:
            task.context = ctx
        if old is not None:
            if old.users == 1:
                write_back(old)                 # the old image's shared file mappings
            old.release()
        lifecycle.release_vfork_parent(task)

    @staticmethod
    def _reset_for_exec(task: Task) -> None:
        """What survives exec and what does not (Linux's begin_new_exec/flush_signal_handlers)."""
        task.files.close_on_exec()
        if task.sighand is not None:
            task.sighand = task.sighand.copy()      # unshare (CLONE_SIGHAND) before resetting
        signals.exec_reset(task)                    # caught signals to SIG_DFL, no altstack
        task.rseq = (0, 0, 0)
        task.robust_list = (0, 0)
        task.clear_child_tid = 0

    # -- events from CPUs ---------------------------------------------------------------------

    def syscall_finished(self, task: Task, job: asyncio.Future) -> None:
        from moss_host.proc.task import TaskExit
        try:
            result = job.result()
        except TaskExit as e:
            self.exit_task(task, e.status)
            self.cpu.schedule()
            return
        except asyncio.CancelledError:
            result = -ERESTARTSYS               # cancelled before it could answer: restart it
        if task.state is State.ZOMBIE:
            return                              # killed while it slept
        self.cpu.wake(task, result)

    def interrupt(self, task: Task) -> None:
        """A signal arrived for a task asleep in a syscall: cancel the sleep.

        The syscall then ends with -ERESTARTSYS (or what its handler chose), the task
        becomes runnable, and signal delivery decides between EINTR and a restart.
        The cancel happens one turn of the event loop later: by then a sleep that began
        in this same turn has reached its await (an asyncio task cancelled before its
        first step would never run the handler's cleanup), and a syscall that signalled
        its own task (SIGPIPE) has finished its work.
        """
        if task.state is State.BLOCKED and task.pending is not None and not task.pending.done():
            self.loop.call_soon(self._cancel_sleep, task)

    @staticmethod
    def _cancel_sleep(task: Task) -> None:
        job = task.pending
        if task.state is State.BLOCKED and job is not None and not job.done():
            job.cancel()

    def make_runnable(self, task: Task) -> None:
        """A stopped task continues (SIGCONT, SIGKILL): queue it for a CPU."""
        if task.pending is not None and not task.pending.done():
            task.state = State.BLOCKED          # still inside its syscall; it wakes by itself
            return
        task.state = State.RUNNABLE
        if task.on_cpu is None and task not in self.cpu.runqueue:
            self.cpu.runqueue.append(task)
        if not self.cpu.handling:               # inside a trap, the trap's own end schedules
            self.cpu.schedule()

    def exit_task(self, task: Task, status: int) -> None:
        """The task is gone: free what it holds and report to whoever waits for it."""
        lifecycle.exit_task(task, status)

    def detach(self, task: Task) -> None:
        """Take task off its CPU and out of the run queue (it exits)."""
        cpu = task.on_cpu
        if cpu is not None:
            cpu.current = None
            task.on_cpu = None
        if task in self.cpu.runqueue:
            self.cpu.runqueue.remove(task)

    def init_exited(self, status: int) -> None:
        """pid 1 is gone: like the end of a PID namespace, every other process dies with it."""
        self.init_status = status
        for other in list(self.tasks.values()):
            if other.tid != 1 and other.state is not State.ZOMBIE:
                other.parent = None
                lifecycle.exit_task(other, signals.killed_status(signals.SIGKILL))
        self.tasks.clear()
        self.finish(status)

    def child_changed(self, task: Task) -> None:
        """A child stopped or continued: wake its parent's wait4/waitid."""
        lifecycle.child_changed(task)

    def uptime(self) -> float:
        return time.monotonic() - self.boot_time

    def finish(self, status: int) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(status)

    def power_off(self, restart: bool = False) -> None:
        """reboot(2): the machine switches off and the run ends with status 0, or it resets
        (restart: cli.py's boot loop then starts a fresh kernel)."""
        self.restart_requested = restart
        self.finish(0)

    def _loop_exception(self, loop, context: dict) -> None:
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
        program.write_bytes(execmod.read_executable(task.fs, task.exe.encode(), task.creds))
        (info_dir / "session.json").write_text(json.dumps({
            "gdb": self.config.gdb, "stub": str(self.config.stub), "program": str(program),
            "program_bias": task.image_bias, "pid": os.getpid()}))
        print(f"moss: waiting for gdb on {self.config.gdb} (run `just gdb`, then `continue`)", flush=True)


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
