"""Live reload: change a syscall handler or a driver and the running kernel uses the new code
(issue 17). `moss-host boot --reload` watches moss_host/ (modification times, polled every
half second from the event loop, so between two traps and never on the trap path); the kernel
console's reload() does one pass at once.

What moves, and how:
* a syscall family (moss_host/syscalls/<family>.py): its table entries are dropped, the module
  is re-imported, and its @syscall decorators register the new handlers; the next trap uses them.
* a driver or filesystem module (moss_host/fs/drivers/..., moss_host/net/..., moss_host/ipc/...):
  re-imported, and every class it had is updated in place (the new functions, properties and
  constants set on the old class object), so open files, sockets and inodes made from those
  classes run the new methods while keeping their state; module-level names are re-bound.
* anything else (the trap path, memory management, processes, the scheduler, the machine,
  the table itself) is refused with its reason: its state lives in objects the reload cannot
  move, or the hot path holds references to it. The kernel keeps running the old code.
A module that fails to import (a syntax error, an exception) leaves the old code in place,
entries and classes restored, and the error is logged.
"""
from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from moss_host.syscalls.table import SYSCALL_TABLE, SYSCALLS, SyscallEntry

if TYPE_CHECKING:
    from moss_host.kernel import Kernel

log = logging.getLogger("moss.reload")

PACKAGE_ROOT = Path(__file__).resolve().parent
POLL_SECONDS = 0.5
SYSCALL_INFRA = {"table", "dispatch", "numbers", "args", "doc", "__init__"}    # not families
IN_PLACE = ("fs.drivers.", "net.", "ipc.", "tty.devpts", "tty.pty")
REFUSED = {
    "machine": "the machine and its mailbox are live (QEMU holds them)",
    "mm": "page tables and frames are live guest state",
    "proc": "tasks, signals and the trap path hold its functions",
    "sched": "the run queues and parked sleepers hold its objects",
    "loader": "used only at exec, but tasks hold its results: restart to change it",
    "kernel": "the kernel object itself",
    "cli": "the command line ran already",
    "kconsole": "the console that may be running this reload",
    "reload": "this module",
}


class Reloader:
    """Which module files changed since the last look, and reloading them."""

    def __init__(self, root: Path = PACKAGE_ROOT, say: Callable[[str], None] = log.warning):
        self.root = root
        self.say = say
        self.mtimes: dict[Path, float] = self._scan()
        self.handle: Optional[asyncio.TimerHandle] = None

    def _scan(self) -> dict[Path, float]:
        found = {}
        for path in self.root.rglob("*.py"):
            try:
                found[path] = path.stat().st_mtime
            except OSError:
                pass
        return found

    def changed(self) -> list[Path]:
        now = self._scan()
        changed = [p for p, t in now.items() if self.mtimes.get(p) != t]
        self.mtimes = now
        return sorted(changed)

    # -- the watcher

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        self.handle = loop.call_later(POLL_SECONDS, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.reload_changed()
        self.watch(loop)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    # -- reloading

    def reload_changed(self) -> list[str]:
        """Reload every changed module that can be; the names reloaded."""
        done = []
        for path in self.changed():
            name = self.module_name(path)
            if name is not None and self.reload_module(name):
                done.append(name)
        return done

    def module_name(self, path: Path) -> Optional[str]:
        rel = path.relative_to(self.root).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        return ".".join(("moss_host", *parts)) if parts else None

    def reload_module(self, name: str) -> bool:
        module = sys.modules.get(name)
        if module is None:
            return False                    # never imported: the next import reads the new file
        why = refusal(name)
        if why is not None:
            self.say(f"reload: {name} not reloaded: {why}")
            return False
        if is_syscall_family(name):
            ok = self._reload_family(module)
        else:
            ok = self._reload_in_place(module)
        if ok:
            self.say(f"reload: {name} reloaded")
        return ok

    def _reload_family(self, module: types.ModuleType) -> bool:
        old = {nr: e for nr, e in SYSCALLS.items() if _module_of(e) == module.__name__}
        for nr in old:
            del SYSCALLS[nr]
            SYSCALL_TABLE[nr] = None
        if self._import_again(module):
            return True
        for nr in [nr for nr, e in SYSCALLS.items() if _module_of(e) == module.__name__]:
            del SYSCALLS[nr]                # registered before the new code failed
            SYSCALL_TABLE[nr] = None
        for nr, e in old.items():          # the old handlers answer again
            SYSCALLS[nr] = SYSCALL_TABLE[nr] = e
        return False

    def _reload_in_place(self, module: types.ModuleType) -> bool:
        classes = {k: v for k, v in vars(module).items()
                   if isinstance(v, type) and v.__module__ == module.__name__}
        if not self._import_again(module):
            return False
        for k, old_cls in classes.items():
            new_cls = vars(module).get(k)
            if isinstance(new_cls, type):
                update_class(old_cls, new_cls)
                setattr(module, k, old_cls)     # isinstance() against the old class keeps working
        return True

    def _import_again(self, module: types.ModuleType) -> bool:
        saved = dict(vars(module))
        try:
            importlib.reload(module)
        except Exception as e:                  # the new file is broken: keep the old code
            vars(module).clear()
            vars(module).update(saved)
            sys.modules[module.__name__] = module
            self.say(f"reload: {module.__name__} kept its old code: {type(e).__name__}: {e}")
            return False
        return True


def _module_of(entry: SyscallEntry) -> str:
    return entry.handler.__module__


def is_syscall_family(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 3 and parts[1] == "syscalls" and parts[2] not in SYSCALL_INFRA


def refusal(name: str) -> Optional[str]:
    """Why module `name` cannot be reloaded, or None when it can."""
    rest = name.removeprefix("moss_host.")
    if is_syscall_family(name) or rest.startswith(IN_PLACE):
        return None
    if rest.startswith("syscalls."):
        return "the syscall table and dispatch are the trap path (restart to change them)"
    top = rest.split(".")[0]
    return REFUSED.get(top, "only syscall families and drivers (fs/drivers, net, ipc, ptys) are reloaded")


def update_class(old: type, new: type) -> None:
    """Give `old` the methods, properties and constants of `new`, in place: instances made from
    `old` run the new code. Slots and dataclass fields (the shape of instances) stay as they were."""
    for key, value in vars(new).items():
        if key in ("__dict__", "__weakref__", "__slots__", "__dataclass_fields__", "__module__", "__doc__") \
                or isinstance(value, types.MemberDescriptorType):
            continue
        try:
            setattr(old, key, value)
        except (AttributeError, TypeError):
            pass


def install(kernel: Kernel, watch: bool) -> Reloader:
    """A Reloader for this run (the console's reload()), watching from the kernel's loop
    once the machine is up when `watch` (moss-host boot --reload)."""
    reloader = Reloader()
    if watch:
        async def start(_machine) -> None:
            reloader.watch(asyncio.get_running_loop())
        kernel.on_machine_start.append(start)
    return reloader
