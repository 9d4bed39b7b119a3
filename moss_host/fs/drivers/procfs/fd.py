"""/proc/<pid>/fd: a symlink per open descriptor, and opening a descriptor again through it.

readlink gives what Linux shows: the path of a file that lives in a filesystem (plus
" (deleted)" once unlinked), `pipe:[ino]` or `socket:[ino]` for one that does not (a file
reopened through such a link keeps showing it). Following the link opens the file again:

* a file with a path: the path is walked again (Linux jumps to the very dentry; the two
  differ only for a file renamed or deleted since);
* a pipe, a host file (the console, moss-host run's pipes): the `pipe:[ino]` target is
  relative, so the walk looks that name up in this fd directory, which finds the open file
  with that inode number and answers with a FdTarget: an inode whose open makes a new open
  file on the same object, as Linux's fifo_open does for /proc/self/fd/N of a pipe (at once:
  unlike a FIFO, a pipe's open never waits for the other side). That is what makes
  `cat /dev/stdin` and bash's `<(...)` (/dev/fd/63) work on pipes.

FdTarget opens through the device registry (fs/file.py has no per-inode open hook): its
mode is a character device of REOPEN_MAJOR, a number from Linux's "local/experimental"
range 240-254, whose opener asks the inode. stat() shows the target's own attributes.
"""
from __future__ import annotations

import re
import stat as S
from typing import Callable, Optional

from ....errors import EINVAL, ENOENT, ENXIO, Errno
from ...file import O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY, OpenFile, register_device
from ...hostfile import HostFile
from ...nsfs import NsInode
from ...stat import Stat, makedev
from ...vfs import Inode, Location, path_of
from .nodes import Entry, ProcDir, ProcSymlink, Reader

REOPEN_MAJOR = 240
REOPEN_DEV = makedev(REOPEN_MAJOR, 0)
_ANON_NAME = re.compile(rb"(pipe|socket):\[(\d+)\]")


def fd_target(f, root) -> bytes:
    """What readlink of /proc/<pid>/fd/N gives: the path of an inode file, else `type:[ino]`."""
    loc = f.location
    if loc is not None:
        if isinstance(loc.inode, FdTarget):           # a file reopened through a FdTarget
            return loc.inode.proc_link
        if isinstance(loc.inode, NsInode):            # nsfs's d_dname: "uts:[4026531838]"
            return loc.dentry.name
        path, _ = path_of(loc, root)
        return path + b" (deleted)" if loc.dentry.unlinked else path
    if f.anon_name is not None:
        return b"anon_inode:" + f.anon_name.encode()
    st = _stat(f)
    if st is None:
        return b"anon_inode:[unknown]"
    if S.S_ISFIFO(st.st_mode):
        return f"pipe:[{st.st_ino}]".encode()
    if S.S_ISSOCK(st.st_mode):
        return f"socket:[{st.st_ino}]".encode()
    if S.S_ISCHR(st.st_mode):
        return b"/dev/console"                         # the host terminal is the guest's console
    return b"anon_inode:[host]"


def _stat(f):
    try:
        return f.stat()
    except Exception:           # a file kind without stat (should not happen): it still gets a name
        return None


def fd_link_mode(f) -> int:
    """lr-x------ for reading, l-wx------ for writing, lrwx------ for both (proc_fd_instantiate)."""
    mode = 0
    if f.readable:
        mode |= 0o500
    if f.writable:
        mode |= 0o300
    return mode


class FdDir(ProcDir):
    """/proc/<pid>/fd: a symlink per open descriptor, named by number, pointing at the file."""

    def __init__(self, owner, path: bytes, caller: Reader = None):
        c = owner.task.creds
        super().__init__(owner.sb, path, mode=0o500, uid=c.euid, gid=c.egid, parent_ino=owner.ino, caller=caller)
        self.owner = owner          # the PidDir

    def _files(self, reader: Reader):
        from .pid import is_zombie
        task = self.owner.task
        if not self.sb.alive(task) or is_zombie(task):
            return []
        self.owner.may_inspect(reader)
        return list(task.files.items())

    def entries(self, reader: Reader) -> list[Entry]:
        return [Entry(2 + fd, str(fd).encode(), self._maker(fd, f)) for fd, f in self._files(reader)]

    def lookup_as(self, name: bytes, caller: Reader) -> Inode:
        m = _ANON_NAME.fullmatch(name)
        if m is None:
            return super().lookup_as(name, caller)
        # The target of a link to a file outside any filesystem: that open file, found by inode number.
        ino = int(m.group(2))
        for fd, f in self._files(caller):
            st = _stat(f) if f.location is None else None
            if st is not None and st.st_ino == ino and fd_target(f, None) == name:
                return FdTarget(self.sb, self.path + b"/" + name, f, name, self.owner.task.creds)
        raise Errno(ENOENT)

    def _maker(self, fd: int, f):
        def target(reader: Reader) -> bytes:
            task = self.owner.check()
            self.owner.may_inspect(reader)
            try:
                current = task.files.get(fd)
            except Errno:
                raise Errno(ENOENT) from None
            return fd_target(current, self.sb.reader_root(reader))

        def jump() -> Optional[Location]:
            try:
                loc = self.owner.task.files.get(fd).location
            except Errno:
                return None
            return loc if loc is not None and loc.dentry.unlinked else None

        def make(caller: Reader) -> ProcSymlink:
            c = self.owner.task.creds
            return FdLink(self.sb, self.path + b"/" + str(fd).encode(), target, fd_link_mode(f),
                          c.euid, c.egid, caller=caller, jump=jump)
        return make


class FdLink(ProcSymlink):
    """/proc/<pid>/fd/N. Following it walks the path it shows, except for a file that has no
    name any more (a memfd, an unlinked file): there the walk goes to the very file, as Linux's
    proc_fd_link always does."""

    def __init__(self, sb, path: bytes, target, mode: int, uid: int, gid: int, caller: Reader,
                 jump: Callable[[], Optional[Location]]):
        super().__init__(sb, path, target, mode, uid, gid, caller=caller, magic=True)
        self.jump = jump

    def magic_jump(self) -> Optional[Location]:
        return self.jump()


class FdTarget(Inode):
    """Where /proc/<pid>/fd/N leads for a pipe or host file: opening it opens that object again."""

    def __init__(self, sb, path: bytes, target, name: bytes, creds):
        super().__init__(sb, S.S_IFCHR | 0o600, creds.euid, creds.egid, ino=sb.ino_for(path),
                         rdev=REOPEN_DEV)
        self.target = target
        self.proc_link = name       # what readlink of the fd link shows for a file opened here
        self.fifo_pipe = target.pipe

    def getattr(self) -> Stat:
        st = _stat(self.target)
        return st if st is not None else super().getattr()

    async def reopen(self, loc, flags: int):
        """A new open file on the target, with its own flags and position (Linux's reopen via the link)."""
        if self.fifo_pipe is not None:
            # fifo_open on a pipefs inode: a new end at once, never waiting for the other side.
            if flags & O_ACCMODE not in (O_RDONLY, O_WRONLY, O_RDWR):
                raise Errno(EINVAL)
            return self.fifo_pipe.open_end(flags, loc)
        if isinstance(self.target, HostFile):             # a host file (console, moss-host run's pipes)
            return HostFile(self.target.fd, flags)
        raise Errno(ENXIO)                                # sockets cannot be opened (Linux: ENXIO)


async def _open_reopen_device(loc: Location, flags: int) -> OpenFile:
    if not isinstance(loc.inode, FdTarget):
        raise Errno(ENXIO)                                # a stray mknod of 240:0
    return await loc.inode.reopen(loc, flags)


register_device(S.S_IFCHR, REOPEN_MAJOR, 0, _open_reopen_device)
