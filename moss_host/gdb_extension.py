"""gdb commands for moss-py (sourced by `moss-host gdb`; runs inside gdb, not in moss-host).

  moss ps                 the guest's processes and threads (* marks the one on the CPU)
  moss switch PID         load PID's executable and shared libraries at their load addresses,
                          and show its memory until the guest runs again (registers stay the
                          CPU's: `moss bt PID` unwinds from PID's own)
  moss break-exec NAME    stop when a program called NAME has been exec'd, its symbols loaded,
                          at its own entry point (the shared libraries mapped by then)
  moss bt [PID]           the backtrace of PID's user code (default: the process on the CPU),
                          also while the CPU is in the stub or idle (PID asleep in a syscall)

The kernel answers over a Unix socket (moss_host/gdbhost.py); `moss connect SOCKET STUB` is
given by `moss-host gdb` on its command line.
"""
from __future__ import annotations

import io
import json
import socket

import gdb  # type: ignore[import-not-found]    # gdb's own module, present inside gdb only


class Kernel:
    """The connection to moss-host's gdbhost."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.stub = ""
        self.stream: io.RawIOBase | None = None
        self.shown: int | None = None           # the pid `moss switch` shows the memory of

    def connect(self, path: str, stub: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.stream = self.sock.makefile("rwb", buffering=0)
        self.stub = stub

    def ask(self, **request):
        if self.stream is None:
            raise gdb.GdbError("moss: not connected (moss connect SOCKET STUB)")
        self.stream.write(json.dumps(request).encode() + b"\n")
        answer = json.loads(self.stream.readline())
        if isinstance(answer, dict) and "error" in answer:
            raise gdb.GdbError(f"moss: {answer['error']}")
        return answer


KERNEL = Kernel()


def load_symbols(files: list) -> None:
    """Forget user symbols, keep the stub's, add each file at its offset."""
    gdb.execute("symbol-file", to_string=True)
    if KERNEL.stub:
        gdb.execute(f"add-symbol-file {KERNEL.stub}", to_string=True)
    for f in files:
        gdb.execute(f"add-symbol-file {f['file']} -o {f['offset']:#x}", to_string=True)
        print(f"moss: symbols of {f['path']} at offset {f['offset']:#x}")


class MossCommand(gdb.Command):
    """moss-py: moss ps | moss switch PID | moss break-exec NAME | moss bt [PID]"""

    def __init__(self) -> None:
        super().__init__("moss", gdb.COMMAND_USER, prefix=True)


class Connect(gdb.Command):
    """moss connect SOCKET STUB: talk to the running moss-host (given by `moss-host gdb`)."""

    def __init__(self) -> None:
        super().__init__("moss connect", gdb.COMMAND_USER)

    def invoke(self, arg: str, from_tty: bool) -> None:
        path, stub = gdb.string_to_argv(arg)
        KERNEL.connect(path, stub)


class Ps(gdb.Command):
    """moss ps: the guest's processes and threads; * marks the one on the CPU."""

    def __init__(self) -> None:
        super().__init__("moss ps", gdb.COMMAND_USER)

    def invoke(self, arg: str, from_tty: bool) -> None:
        print(f"  {'PID':>6} {'TID':>6} {'PPID':>6} S COMMAND")
        for t in KERNEL.ask(cmd="ps"):
            mark = " " if t["on_cpu"] is None else "*"
            print(f"{mark} {t['pid']:>6} {t['tid']:>6} {t['ppid']:>6} {t['state']} {t['comm']}  {t['exe']}")


class Switch(gdb.Command):
    """moss switch PID: load PID's program and libraries at their load addresses."""

    def __init__(self) -> None:
        super().__init__("moss switch", gdb.COMMAND_USER)

    def invoke(self, arg: str, from_tty: bool) -> None:
        pid = int(arg)
        load_symbols(KERNEL.ask(cmd="symbols", pid=pid))
        if show_memory_of(pid):
            KERNEL.shown = pid
            print(f"moss: memory of {pid} on show until the guest runs; registers are the CPU's")


def show_memory_of(pid: int) -> bool:
    """gdb's memory reads see pid's address space (the kernel lends its tables to the one the
    CPU's TTBR0 points at); True if pid is not the CPU's own."""
    return bool(KERNEL.ask(cmd="switch", pid=pid, cpu=selected_cpu(), ttbr0=live_ttbr0())["lent"])


def selected_cpu() -> int:
    """The vCPU gdb shows: QEMU's gdbstub numbers its threads CPU index + 1."""
    thread = gdb.selected_thread()
    return max(thread.ptid[1] - 1, 0) if thread is not None else 0


def live_ttbr0() -> int | None:
    """TTBR0_EL1 of the vCPU gdb shows (QEMU's gdbstub reads system registers), if it has it."""
    try:
        return int(gdb.parse_and_eval("$TTBR0_EL1")) & (2**64 - 1)
    except gdb.error:
        return None


def current_pid() -> int | None:
    """The process on the vCPU gdb shows, if any."""
    cpu = selected_cpu()
    for t in KERNEL.ask(cmd="ps"):
        if t["on_cpu"] == cpu:
            return t["pid"]
    return None


class Unswitch(gdb.Command):
    """moss unswitch: gdb shows the memory of the process on the CPU again (also done before
    the guest runs: continue, step and the like end a `moss switch`)."""

    def __init__(self) -> None:
        super().__init__("moss unswitch", gdb.COMMAND_USER)

    def invoke(self, arg: str, from_tty: bool) -> None:
        if KERNEL.stream is not None and KERNEL.shown is not None:
            KERNEL.ask(cmd="unswitch")
        KERNEL.shown = None


# CLI commands that let the guest run: each ends a `moss switch` first. (Without these hooks
# the kernel still ends it before any user code runs; they make single steps exact too.)
RESUMING = ("continue", "step", "stepi", "next", "nexti", "finish", "until", "advance", "jump", "signal")


class BreakExec(gdb.Command):
    """moss break-exec NAME: stop at the first instruction of NAME when it is exec'd."""

    def __init__(self) -> None:
        super().__init__("moss break-exec", gdb.COMMAND_USER)

    def invoke(self, arg: str, from_tty: bool) -> None:
        KERNEL.ask(cmd="break-exec", name=arg.strip())
        print(f"moss: will stop when {arg.strip()} is exec'd")


PENDING: dict = {}          # the exec being followed: pid and entry, until its entry is reached


REGISTERS = [f"x{i}" for i in range(31)] + ["sp", "pc"]


class Backtrace(gdb.Command):
    """moss bt [PID]: PID's user backtrace from the registers the kernel keeps for it."""

    def __init__(self) -> None:
        super().__init__("moss bt", gdb.COMMAND_USER)

    def invoke(self, arg: str, from_tty: bool) -> None:
        pid = int(arg) if arg.strip() else current_pid()
        if pid is None:
            raise gdb.GdbError("moss: no process on the CPU; give a pid")
        regs = KERNEL.ask(cmd="regs", pid=pid)
        lent = show_memory_of(pid)
        try:
            print(user_backtrace(dict(zip(REGISTERS, [*regs["x"], regs["sp"], regs["pc"]]))), end="")
        finally:
            if KERNEL.shown is not None:
                show_memory_of(KERNEL.shown)        # the `moss switch` in force before
            elif lent:
                KERNEL.ask(cmd="unswitch")


def user_backtrace(user: dict) -> str:
    """gdb's own unwinder run from the user registers: they are put in the vCPU for the
    time of `bt` and the CPU's own put back (memory is read through the live page tables)."""
    saved = {name: int(gdb.parse_and_eval(f"${name}")) & (2**64 - 1) for name in REGISTERS}
    try:
        for name in REGISTERS:
            gdb.execute(f"set ${name} = {user[name]:#x}", to_string=True)
        return gdb.execute("bt", to_string=True)
    finally:
        for name in REGISTERS:
            gdb.execute(f"set ${name} = {saved[name]:#x}", to_string=True)


def on_stop(event) -> None:
    """A stop that an exec caused (QMP stop, seen as SIGINT): symbols, a breakpoint at the
    program's entry, and on. At that entry (the shared libraries are mapped by then): every
    symbol, and the user sees the stop there."""
    if KERNEL.stream is None:
        return
    KERNEL.shown = None                         # the guest ran: the kernel ended any loan
    if PENDING and gdb.selected_frame().pc() == PENDING["entry"]:
        load_symbols(KERNEL.ask(cmd="symbols", pid=PENDING["pid"]))
        PENDING.clear()
        return
    exec_event = KERNEL.ask(cmd="event")
    if not exec_event:
        return
    load_symbols(exec_event["symbols"])
    PENDING.update(pid=exec_event["pid"], entry=exec_event["entry"])
    print(f"moss: {exec_event['exe']} exec'd as pid {exec_event['pid']}; stopping at its entry "
          f"{exec_event['entry']:#x}")
    gdb.execute(f"tbreak *{exec_event['entry']:#x}", to_string=True)
    gdb.post_event(lambda: gdb.execute("continue"))


MossCommand()
Connect()
Ps()
Switch()
Unswitch()
BreakExec()
Backtrace()
gdb.events.stop.connect(on_stop)
for _command in RESUMING:
    gdb.execute(f"define hook-{_command}\nmoss unswitch\nend", to_string=True)
