"""/proc/<pid>/ns (fs/proc/namespaces.c): a link per namespace the kernel has -- here the mount
and UTS namespaces; Linux lists only the kinds it was built with, so the others are absent.
readlink shows "uts:[4026531838]"; following the link opens the namespace's nsfs inode
(st_ino is that number), which setns(2) takes."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from ....errors import EACCES, ENOENT, Errno
from ...nsfs import Namespace, ns_location
from ...vfs import Location
from .nodes import Entry, ProcDir, ProcSymlink, Reader, static_entries

if TYPE_CHECKING:
    from moss_host.proc.task import Task

    from .pid import PidDir

# kind -> the task's namespace of that kind, in ns_entries' order
KINDS: dict[bytes, Callable[["Task"], Namespace]] = {
    b"uts": lambda t: t.uts,
    b"mnt": lambda t: t.fs.ns,
}


class NsDir(ProcDir):
    """/proc/<pid>/ns: S_IRUSR|S_IXUGO, owned by the task's euid."""

    def __init__(self, owner: PidDir, path: bytes, caller: Reader = None):
        c = owner.task.creds
        super().__init__(owner.sb, path, mode=0o511, uid=c.euid, gid=c.egid, parent_ino=owner.ino, caller=caller)
        self.owner = owner

    def entries(self, reader: Reader) -> list[Entry]:
        return static_entries([(kind, self._maker(kind, get)) for kind, get in KINDS.items()])

    def _maker(self, kind: bytes, get: Callable[[Task], Namespace]) -> Callable[[Reader], ProcSymlink]:
        def make(caller: Reader) -> ProcSymlink:
            c = self.owner.task.creds
            return NsLink(self, kind, get, c.euid, c.egid, caller)
        return make

    def namespace(self, get: Callable[[Task], Namespace], reader: Reader) -> Namespace:
        """The task's namespace, for a reader that may inspect it (ptrace_may_access: EACCES);
        ENOENT once it exited (no nsproxy)."""
        from .pid import is_zombie       # here: pid.py imports this module
        task = self.owner.check()
        if is_zombie(task):
            raise Errno(ENOENT)
        try:
            self.owner.may_inspect(reader)
        except Errno:
            raise Errno(EACCES) from None
        return get(task)


class NsLink(ProcSymlink):
    def __init__(self, dir: NsDir, kind: bytes, get: Callable[[Task], Namespace], uid: int, gid: int,
                 caller: Reader):
        super().__init__(dir.sb, dir.path + b"/" + kind, self._target, 0o777, uid, gid, caller=caller, magic=True)
        self.dir = dir
        self.kind = kind
        self.get = get

    def _target(self, reader: Reader) -> bytes:
        return b"%s:[%d]" % (self.kind, self.get_ns(reader).inum)

    def get_ns(self, reader: Reader) -> Namespace:
        return self.dir.namespace(self.get, reader)

    def magic_jump(self) -> Optional[Location]:
        ns = self.get_ns(self.caller)
        return ns_location(self.kind.decode(), ns, ns.inum)
