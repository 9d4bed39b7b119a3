"""devpts: the filesystem on /dev/pts, one node per live pseudo-terminal slave.

Like Linux's fs/devpts/inode.c: the root (inode 1, mode 0755) holds `ptmx` (5:2,
inode 2, mode 0000 as with the default ptmxmode) and `N` (136:N, inode N + 3) for each
pty whose master is open, owned by the uid that opened /dev/ptmx, group tty (5), mode
0620 (Debian's gid=5,mode=620). Nodes cannot be created, removed or renamed by hand.

The ptys themselves live in tty/pty.py (a PtyTable per devpts instance); the filesystem
sits here, in tty/, because it shows them (fs/ is below tty/). Creating an instance
registers the opener of /dev/ptmx (5:2), and each new index that of 136:N, so the devfs
/dev/ptmx node opens a pty of this instance, as Linux's /dev/ptmx opens one of the devpts
on /dev/pts.
"""
from __future__ import annotations

import stat as S
from typing import Iterator

from ..errors import EIO, ENOENT, Errno
from ..fs.file import Opener, register_device, register_major, unregister_device
from ..fs.stat import makedev
from ..fs.vfs import DirEntry, Inode, Location, StatFs, Superblock, dtype_of
from .pty import PTMX_MAJOR, PTMX_MINOR, PTS_MAJOR, Pty, PtyTable

DEVPTS_SUPER_MAGIC = 0x1CD1
TTY_GID = 5


async def _no_pty(loc, flags: int):
    """A pts node whose pty is gone, or never was (pts_unix98_lookup finds no tty: EIO)."""
    raise Errno(EIO)


class Devpts(Superblock):
    fstype = "devpts"
    source = "devpts"
    mount_options = "gid=5,mode=620,ptmxmode=000"     # Debian's (nosuid,noexec: no per-mount flags here)

    def __init__(self, jobs=None) -> None:
        super().__init__()
        self.ptys = PtyTable(jobs, on_change=self._changed, locate=self._locate)
        self.root = PtsDir(self)
        self.ptmx = Inode(self, S.S_IFCHR | 0o000, 0, 0, ino=2, rdev=makedev(PTMX_MAJOR, PTMX_MINOR))
        self._nodes: dict[int, Inode] = {}
        self._registered: dict[int, Opener] = {}    # the live slaves' device openers
        self.mount_location: Location | None = None
        ptys = self.ptys

        async def open_ptmx(loc, flags: int):
            return ptys.open_ptmx(flags, loc)

        register_device(S.S_IFCHR, PTMX_MAJOR, PTMX_MINOR, open_ptmx)
        register_major(S.S_IFCHR, PTS_MAJOR, _no_pty)

    def _register_slave(self, index: int) -> None:
        """Device 136:index opens pty `index` of this instance (EIO once it is gone)."""
        ptys = self.ptys

        async def open_slave(loc, flags: int):
            return ptys.open_slave(index, flags, loc)

        register_device(S.S_IFCHR, PTS_MAJOR, index, open_slave)
        self._registered[index] = open_slave

    # -- nodes

    def node(self, pty: Pty) -> Inode:
        inode = self._nodes.get(pty.index)
        if inode is None:
            inode = self._nodes[pty.index] = Inode(self, S.S_IFCHR | pty.mode, pty.uid, pty.gid,
                                                   ino=pty.index + 3, rdev=pty.rdev)
        return inode

    def _changed(self) -> None:
        """A pty came or went: its device opener, and forget the nodes and cached names of ptys that are gone."""
        for index in self.ptys.ptys:
            if index not in self._registered:
                self._register_slave(index)
        for index in [i for i in self._registered if i not in self.ptys.ptys]:
            # (a pty's opener outliving it kept its closure for the rest of the run: 2,000
            # of them after stress-ng's pty stressor)
            unregister_device(S.S_IFCHR, PTS_MAJOR, index, self._registered.pop(index))
        for index in list(self._nodes):
            if index not in self.ptys.ptys:
                del self._nodes[index]
                self.root_dentry.drop(str(index).encode())

    def _locate(self, pty: Pty):
        """The Location of /dev/pts/N (for TIOCGPTPEER's open file), when mounted."""
        if self.mount_location is None:
            return None
        mount = self.mount_location.mount
        return Location(mount, self.root_dentry.lookup(str(pty.index).encode()))

    def statfs(self):
        return StatFs(DEVPTS_SUPER_MAGIC, 4096, 0, 0, 0, 0, 0, 255, 4096)


class PtsDir(Inode):
    """The devpts root: ptmx and the live slaves, in index order."""
    sb: Devpts

    def __init__(self, sb: Devpts):
        super().__init__(sb, S.S_IFDIR | 0o755, 0, 0, ino=1)
        self.nlink = 2

    def lookup(self, name: bytes) -> Inode:
        sb: Devpts = self.sb
        if name == b"ptmx":
            return sb.ptmx
        if name.isdigit() and (name == b"0" or not name.startswith(b"0")):
            pty = sb.ptys.ptys.get(int(name))
            if pty is not None:
                return sb.node(pty)
        raise Errno(ENOENT)

    def readdir(self, pos: int) -> Iterator[DirEntry]:
        sb: Devpts = self.sb
        if pos <= 0:
            yield DirEntry(b".", 1, dtype_of(self.mode), 1)
        if pos <= 1:
            yield DirEntry(b"..", 1, dtype_of(self.mode), 2)
        if pos <= 2:
            yield DirEntry(b"ptmx", 2, dtype_of(sb.ptmx.mode), 3)
        for index in sorted(sb.ptys.ptys):
            ino = index + 3
            if ino >= pos:
                yield DirEntry(str(index).encode(), ino, dtype_of(S.S_IFCHR), ino + 1)
