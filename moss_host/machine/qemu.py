"""Launch and own one qemu-system-aarch64: shared RAM, doorbell socket, QMP, gdbstub.

The VM starts paused (-S) with its RAM in a file the host maps, so the kernel can write
page tables and the first program before the first guest instruction. QEMU must never
outlive the host: it gets SIGKILL through PR_SET_PDEATHSIG if the host dies, and
`Machine.close()` (also run on exceptions and Ctrl-C) quits it and removes every file.
"""
from __future__ import annotations

import asyncio
import ctypes
import logging
import mmap
import os
import shutil
import signal
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from qemu.qmp import QMPClient
from qemu.qmp.protocol import ConnectError

from . import layout
from .hugeram import check_huge, guest_ram_dir, other_guests
from .ram_warmer import RamWarmer, boot_warmer

log = logging.getLogger("moss.machine")

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the QEMU child before exec: be killed when the host process exits."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setpgrp()  # Ctrl-C at the terminal goes to the host, which shuts QEMU down itself


@dataclass
class MachineConfig:
    stub_elf: Path
    ram_mib: int = 1024
    cpu: str = "cortex-a72"
    gdb: str | None = None        # None, or a gdbstub address such as "tcp::1234"
    qemu: str = "qemu-system-aarch64"
    cpus: int = 1


class MachineError(Exception):
    """QEMU could not be started or stopped unexpectedly; the message says why."""


class Machine:
    """A paused VM with its RAM mapped into this process and the doorbell socket accepted."""

    def __init__(self, config: MachineConfig):
        self.config = config
        self.rundir = Path(tempfile.mkdtemp(prefix="moss-py-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
        self.ram_size = config.ram_mib << 20
        self.ram: mmap.mmap | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.qmp: QMPClient | None = None
        self.doorbell: socket.socket | None = None
        self._ram_fd = -1
        self._ram_path: Path | None = None
        self._ram_dir = Path()
        self.ram_huge = False           # the host gave guest RAM's first 2 MiB as one page
        self.warmer: RamWarmer | None = None    # faults guest RAM in from before QEMU starts

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if not self.config.stub_elf.is_file():
            raise MachineError(f"guest stub not built: {self.config.stub_elf} (run `just stub`)")
        ram_path = self._open_ram()
        os.ftruncate(self._ram_fd, self.ram_size)
        self.ram = mmap.mmap(self._ram_fd, self.ram_size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.ram_huge = check_huge(self.ram, self._ram_dir)
        self.warmer = boot_warmer(self.ram, self.ram_size, warm=not self.other_guests())

        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.rundir / "doorbell.sock"))
        listener.listen(1)
        qmp_path = self.rundir / "qmp.sock"
        argv = self._qemu_argv(ram_path, qmp_path)
        log.debug("starting %s", " ".join(argv))
        try:
            self.proc = await asyncio.create_subprocess_exec(     # (QEMU inherits the RAM file)
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, preexec_fn=_die_with_parent, pass_fds=(self._ram_fd,))
        except FileNotFoundError:
            raise MachineError(f"{self.config.qemu} not found: run ./scripts/setup.sh") from None
        loop = asyncio.get_running_loop()
        listener.setblocking(False)
        try:
            accept = loop.sock_accept(listener)
            self.doorbell, _ = await self._or_qemu_died(accept, "connecting the doorbell")
        finally:
            listener.close()
        self.doorbell.setblocking(False)
        self.qmp = QMPClient("moss-py")
        try:
            await self._or_qemu_died(self._connect_qmp(self.qmp, qmp_path), "connecting QMP")
        finally:    # negotiation runs in QEMU's main loop: mem-path is open by then, or QEMU is gone
            self._unlink_ram()

    def _open_ram(self) -> Path:
        """The guest RAM file, as a path QEMU can open: a file with no name (O_TMPFILE) that
        QEMU inherits and opens as /proc/self/fd/N, so nothing is ever left behind in the RAM
        folder, even when the host is killed; where O_TMPFILE is refused, a named file that is
        unlinked once QEMU has it open (start())."""
        folder = self._ram_dir = guest_ram_dir()
        try:
            self._ram_fd = os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o600)
            return Path(f"/proc/self/fd/{self._ram_fd}")
        except OSError:
            path = self._ram_path = folder / f"{self.rundir.name}-ram"
            self._ram_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            return path

    def other_guests(self) -> int:
        """How many other moss-py guests have their RAM on this host's huge-page tmpfs now."""
        return other_guests(self._ram_dir, self._ram_fd >= 0 and self._ram_path is None)

    def _unlink_ram(self) -> None:
        if self._ram_path is not None:
            self._ram_path.unlink(missing_ok=True)
            self._ram_path = None

    @staticmethod
    async def _connect_qmp(qmp: QMPClient, path: Path) -> None:
        for _ in range(200):
            if path.exists():
                try:
                    await qmp.connect(str(path))
                    return
                except (ConnectError, OSError):
                    pass        # the socket exists but QEMU is not listening on it yet (seen under load)
            await asyncio.sleep(0.01)
        raise MachineError("QEMU's QMP socket never appeared")

    async def _or_qemu_died(self, aw, what: str):
        """Await `aw`, but fail with QEMU's own message if QEMU exits first."""
        proc = self.proc
        assert proc is not None and proc.stdout is not None     # started by start(), stdout piped
        task = asyncio.ensure_future(aw)
        died = asyncio.ensure_future(proc.wait())
        done, _ = await asyncio.wait({task, died}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            died.cancel()
            return task.result()
        task.cancel()
        died.cancel()
        output = (await proc.stdout.read()).decode(errors="replace").strip() if died in done else "timed out"
        raise MachineError(f"QEMU failed while {what}: {output}")

    def _qemu_argv(self, ram_path: Path, qmp_path: Path) -> list[str]:
        c = self.config
        # maxcpus=2 with one CPU: QEMU translates the guest's dmb into a host fence only
        # when more than one CPU is possible (CF_PARALLEL), and the mailbox handshakes of
        # guest_stub/start.S need the guest's store-then-load order kept on the host.
        # Several CPUs: multi-threaded TCG, each vCPU on its own host thread.
        smp, accel = ("1,maxcpus=2", "tcg") if c.cpus == 1 else (str(c.cpus), "tcg,thread=multi")
        argv = [
            c.qemu, "-M", "virt,gic-version=2,memory-backend=ram", "-cpu", c.cpu, "-smp", smp,
            "-m", f"{c.ram_mib}M", "-accel", accel,
            # align=2M: QEMU maps RAM at a 2 MiB boundary, so huge pages of the RAM folder
            # (machine/hugeram.py) are mapped whole by its page tables too.
            "-object", f"memory-backend-file,id=ram,size={c.ram_mib}M,mem-path={ram_path},share=on,align=2M",
            "-kernel", str(c.stub_elf),
            "-chardev", f"socket,id=doorbell,path={self.rundir / 'doorbell.sock'}",
            "-serial", "chardev:doorbell",
            "-qmp", f"unix:{qmp_path},server=on,wait=off",
            "-display", "none", "-monitor", "none", "-nodefaults", "-no-user-config", "-S",
        ]
        if c.gdb:
            argv += ["-gdb", c.gdb]
        return argv

    async def resume(self) -> None:
        assert self.qmp is not None, "resume() before start()"
        await self.qmp.execute("cont")

    async def close(self) -> None:
        """Stop QEMU (politely, then by force) and remove every file we made. Idempotent."""
        if self.qmp is not None:
            try:
                await asyncio.wait_for(self.qmp.execute("quit"), 2)
            except Exception:  # QEMU may already be gone; killing it below is the fallback
                pass
            try:
                await asyncio.wait_for(self.qmp.disconnect(), 2)
            except Exception:
                pass
            self.qmp = None
        if self.proc is not None and self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.proc.wait(), 3)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self.kill_now()

    def kill_now(self) -> None:
        """Synchronous last-resort cleanup (atexit and signal paths)."""
        if self.warmer is not None:
            self.warmer.stop()                  # (its thread ends after the chunk it is at)
        if self.proc is not None and self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        if self.doorbell is not None:
            self.doorbell.close()
            self.doorbell = None
        if self.ram is not None:
            try:
                self.ram.close()
            except BufferError:  # a memoryview still exported; the mapping dies with the process
                pass
            self.ram = None
        if self._ram_fd >= 0:
            os.close(self._ram_fd)
            self._ram_fd = -1
        self._unlink_ram()
        shutil.rmtree(self.rundir, ignore_errors=True)
