"""--trace: every syscall, signal and exit as strace prints them (or as JSON objects), and
strace -c's table at the end.

dispatch.py hands each traced call to `enter` (before the handler runs: the strings and
structs the call reads) and `finish` (after: the result and what the call wrote); a call
that never returns (exit_group, a killed task) ends with `vanished`. proc/ reports
delivered signals and exits through `signal` and `exited` (it has the tracer as
`kernel.tracer`, the object the kernel layer built: proc never imports syscalls/).
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any, Optional, TextIO

from moss_host.proc.signals import fatal_signal_pending

from . import signames
from .call import Call
from .kinds import DIRFD, HEX, LONG, PTR, STR, ULONG, Arg
from .options import TraceOptions
from .results import errno_name, format_result
from .rows import ROWS, Row, row
from .summary import Summary

RESULT_COLUMN = 40          # strace's -a default: results start in this column

# The handler annotations (syscalls/args.py) of a syscall without a row.
_BY_ANNOTATION = {"Fd": DIRFD, "CStr": STR, "Ptr": PTR, "Int": LONG, "UInt": ULONG, "Size": ULONG,
                  "Hex": HEX}


def row_for(entry) -> Row:
    """The syscall's row in the table, else one made from its handler's annotations."""
    found = ROWS.get(entry.name)
    if found is not None:
        return found
    return row(*(_BY_ANNOTATION.get(k, HEX) for k in entry.arg_kinds))


class Tracer:
    def __init__(self, options: Optional[TraceOptions] = None, out: Optional[TextIO] = None):
        self.options = options or TraceOptions()
        self._own_out = out is None and self.options.out_path is not None
        self.out: TextIO = out or (open(self.options.out_path, "w") if self.options.out_path else sys.stderr)
        self.summary: Optional[Summary] = Summary() if self.options.summary else None
        self._names = self.options.names
        self._pids = self.options.pids
        self._print = self.options.lines
        # Calls begun but not printed, by task: another task's line in between prints their
        # beginning with `<unfinished ...>` and the end as `<... name resumed>` (strace -f).
        self._open: dict[int, Call] = {}

    # -- what dispatch calls -------------------------------------------------------------------

    def wants(self, task, name: str) -> bool:
        if self._names is not None and name not in self._names:
            return False
        return not self._pids or task.tid in self._pids or task.tgid in self._pids

    def enter(self, task, entry, args) -> Optional[Call]:
        """A call begins: decode what it reads now (None: the filters leave it out)."""
        if not self.wants(task, entry.name):
            return None
        r = row_for(entry)
        call = Call(task, entry.name, tuple(args), [], time.perf_counter_ns(), r)
        for i, arg in enumerate(r.args):
            call.shown.append(None if arg.out else self._decode(call, arg, i))
        if self._print and not self.options.json:
            self._open[task.tid] = call
        return call

    def finish(self, task, call: Optional[Call], result: int) -> None:
        """The call returned `result`: decode what it wrote and print the line."""
        if call is None:
            return
        host_ns = time.perf_counter_ns() - call.start_ns
        call.result = result
        r: Row = call.row
        for i, arg in enumerate(r.args):
            if arg.out:
                call.shown[i] = self._decode(call, arg, i)
        if self.summary is not None:
            self.summary.add(call.name, host_ns, -4096 < result < 0)
        if not self._print:
            return
        if fatal_signal_pending(task):          # killed on its way out: strace never sees the return
            self.vanished(task, call)
        elif self.options.json:
            self._json(call, result, host_ns)
        else:
            self._ended(task, call, format_result(call, result, r.result))

    def vanished(self, task, call: Optional[Call]) -> None:
        """The call never returns (exit_group; a task killed in it): `= ?`."""
        if call is None:
            return
        if self.summary is not None and call.result is None:
            self.summary.add(call.name, time.perf_counter_ns() - call.start_ns, False)
        if not self._print:
            return
        if self.options.json:
            self._json(call, None, time.perf_counter_ns() - call.start_ns)
        else:
            self._ended(task, call, "?")

    def unimplemented(self, task, nr: int, name: str) -> None:
        if self._print and self.wants(task, name):
            self._emit(task, f"{name}_{nr}(...)" if name == "unknown" else f"{name}(...)",
                       "-1 ENOSYS (Function not implemented)")

    # -- what proc/ calls ----------------------------------------------------------------------

    def signal(self, task, signo: int, info: Any) -> None:
        """A signal is taken for delivery: `--- SIGCHLD {si_signo=...} ---`."""
        if self._print and self._traced_task(task):
            text = f"--- {signames.name(signo)} {signames.siginfo(info)} ---"
            self._event(task, "signal", text)

    def exited(self, task, wstatus: int) -> None:
        """A thread is gone: `+++ exited with 0 +++` or `+++ killed by SIGKILL +++`."""
        if not (self._print and self._traced_task(task)):
            return
        unfinished = self._open.get(task.tid)
        if unfinished is not None:              # killed asleep in a call: it never returns
            self.vanished(task, unfinished)
        sig = wstatus & 0x7F
        if sig == 0:
            text = f"+++ exited with {wstatus >> 8 & 0xFF} +++"
        else:
            text = f"+++ killed by {signames.name(sig)}{' (core dumped)' if wstatus & 0x80 else ''} +++"
        self._event(task, "exit", text)

    def close(self) -> None:
        """The run is over: the summary table, and the output file closed (once)."""
        if self.summary is not None:
            self.out.write(self.summary.table())
            self.summary = None
        self.out.flush()
        if self._own_out:
            self.out.close()
            self._own_out = False

    # -- text --------------------------------------------------------------------------------------

    def format_call(self, task, entry, args) -> str:
        """`name(args)` decoded as at entry (a report of a failed call: dispatch's kernel bug)."""
        r = row_for(entry)
        call = Call(task, entry.name, tuple(args), [], 0, r)
        call.shown = [hex(args[i]) if a.out and i < len(args) else self._decode(call, a, i)
                      for i, a in enumerate(r.args)]
        return self.call_text(call)

    @staticmethod
    def _parts(call: Call, start: int = 0, stop: Optional[int] = None) -> list[str]:
        """The shown arguments from position `start` to `stop` of the printing order."""
        r: Row = call.row
        order = list(r.order or range(len(call.shown)))[start:stop]
        parts = []
        for i in order:
            text = call.shown[i]
            if text is not None:
                label = r.args[i].name
                parts.append(f"{label}={text}" if label else text)
        return parts

    @classmethod
    def call_text(cls, call: Call) -> str:
        return f"{call.name}({', '.join(cls._parts(call))})"

    def line(self, task, text: str) -> None:
        """One line, with the `[pid N] ` prefix when more than one task runs (strace -f)."""
        self._interrupt(task)
        self.out.write(f"{self._prefix(task)}{text}\n")
        self.out.flush()

    def _ended(self, task, call: Call, result: str) -> None:
        """The line of a call that is over: whole, or its `<... name resumed>` end."""
        self._open.pop(task.tid, None)
        if call.split_at is None:
            self._emit(task, self.call_text(call), result)
        else:
            rest = ", ".join(self._parts(call, call.split_at))
            self._emit(task, f"<... {call.name} resumed>{rest})", result)

    def _interrupt(self, task) -> None:
        """Another task's line comes: the calls in flight print what they have so far."""
        for tid, call in self._open.items():
            if tid == task.tid or call.split_at is not None:
                continue
            r: Row = call.row
            order = list(r.order or range(len(call.shown)))
            k = next((n for n, i in enumerate(order) if r.args[i].out), len(order))
            call.split_at = k
            head = ", ".join(self._parts(call, 0, k))
            sep = ", " if head and k < len(order) else ""
            self.out.write(f"{self._prefix(call.task)}{call.name}({head}{sep} <unfinished ...>\n")

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _decode(call: Call, arg: Arg, i: int) -> Optional[str]:
        value = call.args[i] if i < len(call.args) else 0
        try:
            return arg.decode(call, value)
        except Exception:           # decoding reads guest memory: a bad pointer prints as one
            return hex(value)

    def _traced_task(self, task) -> bool:
        return not self._pids or task.tid in self._pids or task.tgid in self._pids

    @staticmethod
    def _prefix(task) -> str:
        """strace -f's `[pid N] ` while another task than this one is alive (this one is
        still followed while it reports its own exit)."""
        pids = task.kernel.pids
        if len(pids) < 2:
            return ""
        for other in pids.live():
            if other is not task:
                return f"[pid {task.tid:>5}] "
        return ""

    def _emit(self, task, call_text: str, result: str) -> None:
        self._interrupt(task)
        text = self._prefix(task) + call_text
        self.out.write(f"{text}{' ' * max(RESULT_COLUMN - len(text), 1)}= {result}\n")
        self.out.flush()

    def _event(self, task, kind: str, text: str) -> None:
        if self.options.json:
            self.out.write(json.dumps({"pid": task.tid, "event": kind, "text": text}) + "\n")
            self.out.flush()
        else:
            self.line(task, text)

    def _json(self, call: Call, result: Optional[int], host_ns: int) -> None:
        r: Row = call.row
        args = {}
        order = r.order or range(len(call.shown))
        for n, i in enumerate(order):
            if call.shown[i] is not None:
                args[r.args[i].name or f"arg{n}"] = call.shown[i]
        err = errno_name(-result) if result is not None and -4096 < result < 0 else None
        obj = {"pid": call.task.tid, "name": call.name, "args": args, "raw": list(call.args),
               "result": result, "errno": err,
               "host_ns": host_ns,
               "text": self.call_text(call)}
        self.out.write(json.dumps(obj) + "\n")
        self.out.flush()
