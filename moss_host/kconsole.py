"""The kernel console: a Python prompt inside the running kernel (issue 17).

`moss-host boot`, then Ctrl-] p at the guest's console: the guest stops (QMP `stop`, so no
guest instruction runs and no trap arrives), the host terminal goes back to cooked mode, and
`code.interact` runs in the kernel's own thread with the kernel's objects and a few
inspectors in scope. Leaving it (Ctrl-D) gives the terminal back to the guest and resumes it.
The event loop does not turn while the prompt is open, which is what makes it safe: nothing
changes under the user's feet.

`moss-host console` attaches the same prompt from another terminal: every boot listens on
`console.sock` in its run directory (made by mkdtemp, so owner-only), one client at a time.
Each line the client sends is pushed into an InteractiveConsole in the loop thread; the guest
is stopped while a client is attached. The wire format is text: the server sends output,
then NUL, the prompt, NUL; the client sends one line of source per line.
"""
from __future__ import annotations

import asyncio
import code
import contextlib
import glob
import io
import logging
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from moss_host.fs.drivers.procfs.fd import fd_target
from moss_host.fs.drivers.procfs.mounts import mounts_text
from moss_host.fs.drivers.procfs.pid import maps_text, ppid_of, state_letter
from moss_host.proc import vvar
from moss_host.reload import Reloader
from moss_host.tty import console as host_console

if TYPE_CHECKING:
    from moss_host.kernel import Kernel
    from moss_host.proc.task import Task

log = logging.getLogger("moss.console")

SOCKET_NAME = "console.sock"
PID_NAME = "host.pid"
BANNER = ("moss-py kernel console: the guest is stopped. ps() task(pid) maps(pid) files(pid) "
          "mounts() frames() runqueue() trace(on) read_user(pid, addr, n) reload(), `kernel`. Ctrl-D resumes.")


class Inspectors:
    """What the prompt offers besides `kernel` itself: each prints a table or returns an object."""

    def __init__(self, kernel: Kernel, out: Callable[[str], None], reloader: Optional[Reloader] = None):
        self.kernel = kernel
        self.out = out
        self.reloader = reloader

    def names(self) -> dict:
        return {"kernel": self.kernel, "ps": self.ps, "task": self.task, "maps": self.maps,
                "files": self.files, "mounts": self.mounts, "frames": self.frames,
                "runqueue": self.runqueue, "trace": self.trace, "read_user": self.read_user,
                "reload": self.reload}

    def task(self, pid: int) -> Task:
        """The task (thread) with this pid or tid."""
        t = self.kernel.pids.get(pid)
        if t is None:
            raise LookupError(f"no task {pid}")
        return t

    def ps(self) -> None:
        """Every task, threads included: pid, tid, ppid, state, command."""
        self.out(f"{'PID':>6} {'TID':>6} {'PPID':>6} S COMMAND")
        for t in sorted(self.kernel.pids.live(), key=lambda t: t.tid):
            self.out(f"{t.group.tgid:>6} {t.tid:>6} {ppid_of(t):>6} {state_letter(t)} "
                     f"{t.comm.decode(errors='replace')}  {t.exe}")

    def maps(self, pid: int) -> None:
        """The task's mappings, as /proc/PID/maps shows them."""
        self.out(maps_text(self.task(pid)).decode(errors="replace").rstrip("\n"))

    def files(self, pid: int) -> None:
        """The task's open file descriptors and what each refers to."""
        t = self.task(pid)
        for fd, f in sorted(t.files.items()):
            self.out(f"{fd:>4} -> {fd_target(f, t.fs.root).decode(errors='replace')}")

    def mounts(self, pid: int = 1) -> None:
        """The mount table as `pid` sees it (/proc/PID/mounts)."""
        t = self.task(pid)
        self.out(mounts_text(t.fs.ns, t.fs.root).decode(errors="replace").rstrip("\n"))

    def frames(self) -> None:
        """Guest RAM: total and free 4 KiB frames."""
        mem = self.kernel.mem
        if mem is None:
            self.out("no machine yet")
            return
        total = mem.frames.total_frames
        self.out(f"frames (the pool for page tables and pages): {total} total, "
                 f"{mem.free_frames} free, {total - mem.free_frames} in use")

    def runqueue(self) -> None:
        """Each CPU's current task and the tasks waiting for it, in order."""
        for i, rq in enumerate(self.kernel.sched.runqueues):
            current = rq.cpu.current
            waiting = " ".join(str(t.tid) for t in rq.tasks) or "-"
            self.out(f"cpu{i}: running {current.tid if current else '-'}, waiting {waiting}")

    def trace(self, on: bool = True) -> None:
        """Turn --trace on or off for what runs after the prompt closes."""
        self.kernel.set_tracing(on)
        self.out(f"trace {'on' if on else 'off'}")

    def reload(self) -> None:
        """Reload the syscall and driver modules changed since boot (or the last reload)."""
        if self.reloader is None:
            self.out("no reloader in this run")
            return
        self.reloader.say = self.out
        names = self.reloader.reload_changed()
        self.out(f"reloaded {len(names)} module(s)")

    def read_user(self, pid: int, addr: int, n: int) -> bytes:
        """n bytes of pid's memory at addr (EFAULT where nothing is mapped)."""
        return bytes(self.task(pid).mm.read(addr, n))


class KernelConsole:
    """The prompt and its socket, for one kernel run."""

    def __init__(self, kernel: Kernel, reloader: Optional[Reloader] = None):
        self.kernel = kernel
        self.reloader = reloader
        self.busy = False                   # one session at a time, local or remote
        self.server: Optional[asyncio.AbstractServer] = None

    # -- pausing the guest

    async def _pause(self) -> None:
        machine = self.kernel.machine
        if machine is not None and machine.qmp is not None:
            await machine.qmp.execute("stop")

    async def _resume(self) -> None:
        machine = self.kernel.machine
        if machine is not None and machine.qmp is not None:
            await machine.qmp.execute("cont")
            vvar.recalibrate()                  # the counter fell behind while stopped

    # -- at the host terminal: Ctrl-] p

    def open_local(self, terminal: host_console.HostConsole) -> None:
        if not self.busy:
            asyncio.ensure_future(self._local_session(terminal))

    async def _local_session(self, terminal: host_console.HostConsole) -> None:
        self.busy = True
        try:
            await self._pause()
            with terminal.cooked():
                names = Inspectors(self.kernel, print, self.reloader).names()
                _interact(names)
        finally:
            self.busy = False
            await self._resume()

    # -- from another terminal: moss-host console

    async def listen(self, rundir: Path) -> None:
        path = rundir / SOCKET_NAME
        self.server = await asyncio.start_unix_server(self._client, path=str(path))
        os.chmod(path, 0o600)
        (rundir / PID_NAME).write_text(str(os.getpid()))

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.busy:
            writer.write(b"moss: the kernel console is in use\n")
            await writer.drain()
            writer.close()
            return
        self.busy = True
        try:
            await self._pause()
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.busy = False
            writer.close()
            await self._resume()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        out = io.StringIO()
        repl = _StringConsole(out, Inspectors(self.kernel, lambda s: print(s, file=out), self.reloader).names())
        prompt = ">>> "
        writer.write(BANNER.encode() + b"\n" + _prompt(prompt))
        while True:
            await writer.drain()
            line = await reader.readline()
            if not line:
                return
            with contextlib.redirect_stdout(out):
                more = repl.push(line.decode(errors="replace").rstrip("\n"))
            prompt = "... " if more else ">>> "
            writer.write(out.getvalue().encode(errors="replace") + _prompt(prompt))
            out.seek(0)
            out.truncate()


class _StringConsole(code.InteractiveConsole):
    """An InteractiveConsole whose tracebacks go to the client's output, not our stderr."""

    def __init__(self, out: io.StringIO, names: dict):
        super().__init__(names)
        self.out = out

    def write(self, data: str) -> None:
        self.out.write(data)


def _prompt(prompt: str) -> bytes:
    return b"\0" + prompt.encode() + b"\0"


def _interact(names: dict) -> None:
    """code.interact with tab completion of the kernel's names, when readline is there."""
    try:
        import readline
        import rlcompleter
        readline.set_completer(rlcompleter.Completer(names).complete)
        readline.parse_and_bind("tab: complete")
    except ImportError:
        pass
    code.interact(banner=BANNER, local=names, exitmsg="moss: resuming the guest")


def install(kernel: Kernel, reloader: Optional[Reloader] = None) -> KernelConsole:
    """Give this run a kernel console: Ctrl-] p at the host terminal, and the socket once the
    machine's run directory exists (Kernel.on_machine_start)."""
    kc = KernelConsole(kernel, reloader)
    host_console.on_escape(ord("p"), kc.open_local)
    kernel.on_machine_start.append(lambda machine: kc.listen(machine.rundir))
    return kc


# ---------------------------------------------------------------------- moss-host console

def find_sockets(pid: Optional[int] = None) -> list[tuple[int, Path]]:
    """(host pid, socket) of every running boot of ours that has a console."""
    found = []
    for sock in glob.glob(f"/dev/shm/moss-py-*/{SOCKET_NAME}") + glob.glob(f"{_tmp()}/moss-py-*/{SOCKET_NAME}"):
        path = Path(sock)
        try:
            owner = int((path.parent / PID_NAME).read_text())
        except (OSError, ValueError):
            continue
        if path.stat().st_uid == os.getuid() and (pid is None or owner == pid):
            found.append((owner, path))
    return sorted(set(found))


def _tmp() -> str:
    return os.environ.get("TMPDIR", "/tmp")


def attach(pid: Optional[int] = None) -> int:
    """`moss-host console [--pid N]`: the prompt of a running boot, over its socket."""
    found = find_sockets(pid)
    if not found:
        print("moss: no running moss-host boot with a console" + (f" (pid {pid})" if pid else ""), file=sys.stderr)
        return 1
    if len(found) > 1:
        print("moss: several boots are running; pick one with --pid: "
              + ", ".join(str(p) for p, _ in found), file=sys.stderr)
        return 1
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(str(found[0][1]))
        except OSError as e:
            print(f"moss: cannot reach the console of pid {found[0][0]}: {e.strerror}", file=sys.stderr)
            return 1
        return _client_loop(s.makefile("rwb", buffering=0))


def _client_loop(stream) -> int:
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    while True:
        text, prompt = _read_until_prompt(stream)
        sys.stdout.write(text)
        sys.stdout.flush()
        if prompt is None:
            return 0
        try:
            line = input(prompt)
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:
            print()
            line = ""
        stream.write(line.encode() + b"\n")


def _read_until_prompt(stream) -> tuple[str, Optional[str]]:
    """Output up to the next prompt, and the prompt (None when the server hung up)."""
    buf = bytearray()
    while True:
        chunk = stream.read(4096)
        if not chunk:
            return buf.decode(errors="replace"), None
        buf += chunk
        if buf.endswith(b"\0") and buf.count(b"\0") >= 2:
            text, prompt, _ = buf.rsplit(b"\0", 2)
            return text.decode(errors="replace"), prompt.decode()
