"""Filesystem contexts (Linux's struct fs_context, fs/fs_context.c and fs/fsopen.c): what
fsopen(2) opens and fspick(2) picks, configured by fsconfig(2) one parameter at a time, then
made into a superblock (FSCONFIG_CMD_CREATE) that fsmount(2) turns into a detached mount, or
applied to a mounted superblock (FSCONFIG_CMD_RECONFIGURE).

A context goes through Linux's phases: CREATE_PARAMS (parameters for a new superblock) ->
AWAITING_MOUNT (created) -> AWAITING_RECONF after fsmount, when the next fsconfig makes it
RECONF_PARAMS, as fspick's contexts start; a failed create or reconfigure leaves it FAILED.

Parameters are checked when they are set, as each filesystem's parse_param does: the
superblock flags every filesystem takes ("ro", "rw", ... vfs_parse_sb_flag), "source", and
each type's own keys (ramfs ignores unknown ones); a legacy filesystem (vfat, msdos,
devtmpfs: no fs_context support in 6.1) takes
any string or flag and refuses the others (EOPNOTSUPP), its options being checked at create.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

from ..errors import EACCES, EBUSY, EINVAL, Errno
from .anon_inode import AnonFile
from .file import O_RDWR
from .filesystems import EXT_OPTIONS, EXT_TYPES, FAT_TYPES, MountContext, new_superblock
from .namespace import MS_RDONLY, Mount
from .options import SB_FLAG_OPTIONS
from .vfs import Superblock

LEGACY_TYPES = FAT_TYPES + ("devtmpfs",)
IGNORES_UNKNOWN = ("ramfs",)    # "traditionally ramfs has ignored all mount options"
# Keys each fs_context type parses (beyond the superblock flags and "source"); a type not
# listed takes none. tmpfs's values are checked by making a trial superblock.
KEYS: dict[str, frozenset[str]] = {
    "tmpfs": frozenset({"size", "nr_blocks", "nr_inodes", "mode", "uid", "gid", "huge", "mpol", "inode32",
                        "inode64"}),
    "ramfs": frozenset({"mode"}),
    "proc": frozenset({"hidepid", "gid", "subset"}),
    **{t: frozenset(EXT_OPTIONS) | {"loop"} for t in EXT_TYPES},
}
# vfs_parse_sb_flag's common_set_sb_flag / common_clear_sb_flag
SB_SET = frozenset({"dirsync", "lazytime", "mand", "posixacl", "ro", "sync"})
SB_CLEAR = frozenset({"async", "nolazytime", "nomand", "rw"})


class Phase(Enum):
    CREATE_PARAMS = 1
    AWAITING_MOUNT = 2
    AWAITING_RECONF = 3
    RECONF_PARAMS = 4
    FAILED = 5


@dataclass
class FsConfig:
    """One filesystem context: its type, source, parameters, and what it made or picked."""
    fstype: str
    phase: Phase = Phase.CREATE_PARAMS
    source: Optional[str] = None
    options: list[str] = field(default_factory=list)    # "key" or "key=value", in order
    read_only: Optional[bool] = None                   # "ro"/"rw" seen: the superblock's new state
    sb: Optional[Superblock] = None                    # created (or picked) superblock
    mount: Optional[Mount] = None                      # fspick's mount: what CMD_RECONFIGURE changes

    @property
    def legacy(self) -> bool:
        return self.fstype in LEGACY_TYPES

    def data(self) -> bytes:
        return ",".join(self.options).encode(errors="surrogateescape")

    def begin(self) -> None:
        """finish_clean_context: a context fsmount cleaned takes reconfiguration parameters."""
        if self.phase is Phase.AWAITING_RECONF:
            self.phase = Phase.RECONF_PARAMS
            self.options, self.read_only = [], None

    def set_param(self, key: str, value: Optional[str], ram_bytes: int) -> None:
        """vfs_parse_fs_param for a flag (value None) or a string."""
        if self._sb_param(key):
            return
        if self.legacy:
            if key == "source":
                self._set_source(value)
            else:
                self.options.append(key if value is None else f"{key}={value}")
            return
        if key in KEYS.get(self.fstype, ()):
            item = key if value is None else f"{key}={value}"
            if self.fstype == "tmpfs" and self.phase is Phase.CREATE_PARAMS:
                from .drivers.tmpfs import tmpfs_from_options
                tmpfs_from_options("", (",".join(self.options + [item])).encode(), ram_bytes)   # EINVAL
            self.options.append(item)
            return
        if key == "source":
            self._set_source(value)
            return
        if self.fstype not in IGNORES_UNKNOWN:
            raise Errno(EINVAL)             # "Unknown parameter"

    def set_other(self, key: str) -> None:
        """A binary, path or fd value (legacy contexts refused them already): the superblock
        flags take any value, no parameter of ours takes one (EINVAL), ramfs ignores the rest."""
        if self._sb_param(key):
            return
        if key in KEYS.get(self.fstype, ()) or key == "source" or self.fstype not in IGNORES_UNKNOWN:
            raise Errno(EINVAL)

    def _sb_param(self, key: str) -> bool:
        """What every parameter goes through first: a context taking parameters (EBUSY if it
        is not), and the superblock flags, which the VFS takes itself (True: handled)."""
        self.begin()
        if self.phase not in (Phase.CREATE_PARAMS, Phase.RECONF_PARAMS):
            raise Errno(EBUSY)
        if key in SB_SET or key in SB_CLEAR:
            if key in ("ro", "rw"):
                self.read_only = key == "ro"
            return True
        return False

    def _set_source(self, value: Optional[str]) -> None:
        """vfs_parse_fs_param_source: a string, given once."""
        if value is None or self.source is not None:
            raise Errno(EINVAL)
        self.source = value

    def create(self, ctx: MountContext) -> None:
        """FSCONFIG_CMD_CREATE: make the superblock (vfs_get_tree)."""
        self.begin()
        if self.phase is not Phase.CREATE_PARAMS:
            raise Errno(EBUSY)
        flags = MS_RDONLY if self.read_only else 0
        try:
            self.sb = new_superblock(self.fstype, self.source, self.data(), flags, ctx)
        except Errno:
            self.phase = Phase.FAILED
            raise
        if self.read_only and not self.sb.read_only:
            self.sb.read_only = True
        self.phase = Phase.AWAITING_MOUNT

    def reconfigure(self) -> None:
        """FSCONFIG_CMD_RECONFIGURE: apply "ro"/"rw" to the picked superblock."""
        self.begin()
        if self.phase is not Phase.RECONF_PARAMS or self.sb is None:
            raise Errno(EBUSY)
        sb = self.sb
        if self.read_only and not sb.read_only:
            sb.remount_read_only()
        elif self.read_only is False and sb.read_only:
            if sb.blockdev is not None and sb.blockdev.read_only:
                self.phase = Phase.FAILED
                raise Errno(EACCES)
            sb.read_only = False
            sb.mark_mounted()
        self.options, self.read_only = [], None

    def mounted(self) -> None:
        """fsmount took the superblock: vfs_clean_context."""
        self.phase = Phase.AWAITING_RECONF


class FsContextFile(AnonFile):
    """The descriptor fsopen and fspick return (anon_inode:[fscontext])."""
    anon_name = "[fscontext]"

    def __init__(self, config: FsConfig):
        super().__init__(O_RDWR)
        self.config = config
