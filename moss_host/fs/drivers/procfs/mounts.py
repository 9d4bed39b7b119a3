"""/proc/<pid>/mounts and /proc/<pid>/mountinfo: the mount table as one process sees it
(fs/proc_namespace.c show_vfsmnt and show_mountinfo).

Mounts outside the reader's root are left out; mountpoints are paths from that root, with
space, tab, newline and backslash written as octal escapes (Linux's mangle()).
"""
from __future__ import annotations

import itertools
import weakref

from ...namespace import (MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW, MS_RELATIME,
                          Mount)
from ...stat import major, minor
from ...vfs import Location, path_of

_mount_ids: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_next_id = itertools.count(21)            # Linux's first ids go to internal mounts; any stable number does


def mount_id(m) -> int:
    """A mount's number for mountinfo: given at first sight, kept for the mount's life."""
    mid = _mount_ids.get(m)
    if mid is None:
        mid = _mount_ids[m] = next(_next_id)
    return mid


def _visible(ns, root):
    """(mount, mountpoint path) of each mount the reader can reach, in mount order."""
    for m in ns.mounts():
        path, reachable = path_of(Location(m, m.root), root)
        if reachable:
            yield m, path.decode(errors="surrogateescape")


def _names(m) -> tuple[str, str]:
    """(source, fstype) as Linux shows them; the initramfs root is `rootfs rootfs`."""
    sb = m.sb
    fstype = sb.fstype
    source = sb.source or fstype
    if m.parent is None and fstype == "tmpfs":
        source = fstype = "rootfs"
    return source, fstype


# show_mnt_opts(): the per-mount MS_* flags mount(2) stored, in Linux's order.
_MNT_OPTION_NAMES = ((MS_NOSUID, "nosuid"), (MS_NODEV, "nodev"), (MS_NOEXEC, "noexec"), (MS_NOATIME, "noatime"),
                     (MS_NODIRATIME, "nodiratime"), (MS_RELATIME, "relatime"), (MS_NOSYMFOLLOW, "nosymfollow"))


def _mount_options(m: Mount) -> str:
    """`rw` or `ro`, then the mount's flags (relatime on any mount but the rootfs)."""
    names = [name for bit, name in _MNT_OPTION_NAMES if m.flags & bit]
    return ",".join(["ro" if m.is_read_only else "rw", *names])


def _super_options(m) -> str:
    extra = m.sb.mount_options
    base = "ro" if m.sb.read_only else "rw"
    return base + ("," + extra if extra else "")


def mounts_text(ns, root) -> bytes:
    """`source mountpoint type options 0 0` per mount."""
    lines = []
    for m, path in _visible(ns, root):
        source, fstype = _names(m)
        options = _mount_options(m)
        extra = m.sb.mount_options
        if extra:
            options += "," + extra
        lines.append(f"{mangle(source)} {mangle(path)} {fstype} {options} 0 0\n")
    return "".join(lines).encode(errors="surrogateescape")


def mountinfo_text(ns, root) -> bytes:
    """`id parent major:minor root mountpoint mount-options - type source super-options` per mount."""
    lines = []
    for m, path in _visible(ns, root):
        source, fstype = _names(m)
        parent = mount_id(m.parent) if m.parent is not None else mount_id(m)
        dev = m.sb.dev
        lines.append(f"{mount_id(m)} {parent} {major(dev)}:{minor(dev)} / {mangle(path)} "
                     f"{_mount_options(m)} - {fstype} {mangle(source)} {_super_options(m)}\n")
    return "".join(lines).encode(errors="surrogateescape")


def mangle(s: str) -> str:
    """Escape what would break the space-separated format, as Linux's mangle() does."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in s)
