"""gdb that follows processes: the kernel's side (issue 17).

With `--gdb`, QEMU's gdbstub shows gdb the vCPU, which runs whatever process is current; it
knows nothing of processes or where their files are mapped. The gdb extension
(moss_host/gdb_extension.py, loaded by `moss-host gdb`) asks this module, over `gdb.sock` in
the gdb info folder (owner-only), one JSON line per request:

  {"cmd": "ps"}                      every task: pid, tid, comm, exe, state, on_cpu (its CPU or None)
  {"cmd": "symbols", "pid": N}       the ELF files N maps (copied out of the guest's
                                     filesystems into the info folder) with the offset for
                                     `add-symbol-file FILE -o OFFSET`
  {"cmd": "regs", "pid": N}          N's user registers (x0-x30, sp, pc), wherever they are kept
  {"cmd": "switch", "pid": N, "cpu": C, "ttbr0": T}   show N's memory through CPU C's TTBR0
                                     (T, as gdb reads it) until the guest runs again (mm/table_loan.py)
  {"cmd": "unswitch"}                the CPU's own memory again
  {"cmd": "break-exec", "name": S}   stop the guest when a program called S has been exec'd
  {"cmd": "event"}                   the exec that stopped it, once: pid, exe, entry, symbols

An exec of a watched name stops the machine (QMP `stop`) before the execve returns, so the
guest is still in the stub when gdb reports the stop (SIGINT, as for a pause); the extension
then loads the new program's symbols and sets a temporary breakpoint at the program's own entry
point (past the dynamic loader, which has mapped the shared libraries by then) before
continuing, and loads the libraries' symbols when it stops there. Nothing here runs unless --gdb was given.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from elftools.elf.elffile import ELFFile

from moss_host.arch.arm64.pagetable import PageTable
from moss_host.errors import Errno
from moss_host.fs.path import lookup
from moss_host.fs.drivers.procfs.pid import live_mm, ppid_of, state_letter
from moss_host.mm.table_loan import TableLoan

if TYPE_CHECKING:
    from moss_host.kernel import Kernel
    from moss_host.proc.task import Task

log = logging.getLogger("moss.gdb")

SOCKET_NAME = "gdb.sock"
TTBR_BADDR = ((1 << 48) - 1) & ~0xFFF      # TTBR0_EL1's table address (ASID above, CnP below)


class GdbHost:
    """Answers the gdb extension; stops the guest at watched execs."""

    def __init__(self, kernel: Kernel, info_dir: Path):
        self.kernel = kernel
        self.info_dir = info_dir
        self.watched: set[str] = set()
        self.event: Optional[dict] = None
        self.server: Optional[asyncio.AbstractServer] = None
        self.loan: Optional[TableLoan] = None   # another process's memory on show (moss switch)

    async def listen(self, _machine: Any = None) -> None:
        self.info_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.info_dir / SOCKET_NAME
        path.unlink(missing_ok=True)
        self.server = await asyncio.start_unix_server(self._client, path=str(path))
        os.chmod(path, 0o600)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    answer = self.answer(json.loads(line))
                except (ValueError, KeyError, LookupError, Errno) as e:
                    answer = {"error": f"{type(e).__name__}: {e}"}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def answer(self, request: dict) -> Any:
        cmd = request["cmd"]
        if cmd == "ps":
            return [self._task_row(t) for t in sorted(self.kernel.pids.live(), key=lambda t: t.tid)]
        if cmd == "symbols":
            return self.symbols(self._task(int(request["pid"])))
        if cmd == "regs":
            regs = self._task(int(request["pid"])).regs().read_regs()
            return {"x": list(regs.x), "sp": regs.sp, "pc": regs.pc}
        if cmd == "switch":
            return self.switch(self._task(int(request["pid"])), int(request.get("cpu", 0)), request.get("ttbr0"))
        if cmd == "unswitch":
            self.end_loan()
            return {}
        if cmd == "break-exec":
            self.watched.add(str(request["name"]))
            return {"watching": sorted(self.watched)}
        if cmd == "event":
            event, self.event = self.event, None
            return event
        raise KeyError(f"unknown request {cmd!r}")

    def _task(self, pid: int) -> Task:
        t = self.kernel.pids.get(pid)
        if t is None:
            raise LookupError(f"no process {pid}")
        return t

    def _task_row(self, t: Task) -> dict:
        return {"pid": t.group.tgid, "tid": t.tid, "ppid": ppid_of(t), "state": state_letter(t),
                "comm": t.comm.decode(errors="replace"), "exe": t.exe,
                "on_cpu": None if t.on_cpu is None else t.on_cpu.index}

    # -- another process's memory

    def switch(self, task: Task, cpu_index: int, ttbr0: Optional[int]) -> dict:
        """Have gdb's reads through the CPU's TTBR0 see task's memory: the table TTBR0 points
        at lends its entries (TableLoan) until the guest runs again. The CPU is kicked, so if
        gdb stopped it in user code it traps before that code's next instruction, and the
        reply ends the loan (Memory.on_next_reply) before any user code runs."""
        self.end_loan()
        mm = live_mm(task)
        cpus, mem = self.kernel.cpus, self.kernel.mem
        if not 0 <= cpu_index < len(cpus):
            raise LookupError(f"no CPU {cpu_index}")
        cpu = cpus[cpu_index]
        if mm is None or mem is None:
            raise LookupError(f"process {task.group.tgid} has no address space")
        live = (cpu.loaded_ttbr0 if ttbr0 is None else int(ttbr0)) & TTBR_BADDR
        root = self._table_at(live)
        if root is None:
            raise LookupError(f"TTBR0 {live:#x} is no process's table (the CPU has no user address space loaded)")
        if root is mm.table:
            return {"pid": task.group.tgid, "lent": False}
        self.loan = TableLoan(mem.physmem, root, mm.table)
        mem.on_next_reply(self.end_loan)
        cpu.kick()
        return {"pid": task.group.tgid, "lent": True}

    def end_loan(self) -> None:
        if self.loan is not None:
            self.loan.end()
            self.loan = None

    def _table_at(self, root_pa: int) -> Optional[PageTable]:
        for t in self.kernel.pids.live():
            mm = live_mm(t)
            if mm is not None and mm.table.alive and mm.table.root_pa == root_pa:
                return mm.table
        return None

    # -- symbols

    def symbols(self, task: Task) -> list[dict]:
        """Each ELF file mapped by task, first mapping of each: a host copy and its load offset."""
        mm = live_mm(task)
        if mm is None:
            return []
        out, seen = [], set()
        for v in mm.vmas:
            name = v.name
            if not name.startswith("/") or v.offset != 0 or name in seen:
                continue
            seen.add(name)
            copy = self._copy_out(task, name)
            if copy is not None:
                out.append({"path": name, "file": str(copy), "offset": v.start - first_load_page(copy)})
        return out

    def _copy_out(self, task: Task, name: str) -> Optional[Path]:
        try:
            inode = lookup(task.fs, name.encode(errors="surrogateescape")).inode
            data = bytes(inode.read(0, inode.getattr().st_size))
        except Errno:
            return None
        if data[:4] != b"\x7fELF":
            return None
        copy = self.info_dir / "files" / name.lstrip("/")
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(data)
        return copy

    # -- stopping at exec

    async def exec_done(self, task: Task) -> None:
        """An execve completed in task: stop the guest if gdb asked for this program."""
        if task.comm.decode(errors="replace") not in self.watched and Path(task.exe).name not in self.watched:
            return
        symbols = self.symbols(task)
        exe = [f for f in symbols if f["path"] == task.exe]
        entry = elf_entry(Path(exe[0]["file"])) + task.image_bias if exe else task.regs().pc
        self.event = {"pid": task.group.tgid, "exe": task.exe, "entry": entry, "symbols": symbols}
        machine = self.kernel.machine
        if machine is not None and machine.qmp is not None:
            await machine.qmp.execute("stop")       # gdb sees the stop; the reply waits in RAM


def elf_entry(path: Path) -> int:
    """The program's own entry point (e_entry), before any load bias."""
    with open(path, "rb") as f:
        return int(ELFFile(f).header["e_entry"])


def first_load_page(path: Path) -> int:
    """The page of the lowest PT_LOAD's address: 0 for PIE and shared objects, the link
    address for a fixed-address executable (add-symbol-file -o wants the difference)."""
    with open(path, "rb") as f:
        loads = [s["p_vaddr"] for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD"]
    return min(loads) & ~0xFFF if loads else 0


def install(kernel: Kernel, info_dir: Path) -> GdbHost:
    host = GdbHost(kernel, info_dir)
    kernel.on_machine_start.append(host.listen)
    kernel.exec_hooks.append(host.exec_done)
    return host
