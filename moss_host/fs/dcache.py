"""The path-lookup cache: a successful walk remembered, so that the next stat or open of
the same path costs a dictionary probe instead of a component-by-component walk.

What is remembered: for (start mount, start dentry, root mount, root dentry, path, follow)
the Location the walk reached, the directories it searched (in walk order) and how many
symlinks it followed. A hit redoes the search-permission checks on those directories
with the caller's credentials (cheap, and always right after chmod/chown/setuid, so
attribute changes need no invalidation), then returns the Location.

What can change a successful answer, and bumps the generation (clearing the cache):
  * a name going away or moving: Dentry.drop (unlink, rmdir, a rename's victim, a pty
    closing in devpts) and Dentry.move_to (rename);
  * the mount table: mount, bind, move, umount, pivot_root (MountTable.mount/umount).
A name being created needs no invalidation: only successes are cached, and a new
binding changes no existing one (a failed walk is never remembered). The root and the
start directory are part of the key, so chroot and chdir need none either.
Walks through a filesystem whose names are dynamic (procfs: its dentries' `children`
is not a plain dict) and magic links are never cached.

The cache holds strong references to the mounts and dentries in its keys (so no id is
ever reused under it); it is cleared on every bump and when it grows past MAX_ENTRIES.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .vfs import Inode, Location

MAX_ENTRIES = 1024


class Entry(NamedTuple):
    """One remembered walk."""
    result: Location
    searched: tuple[Inode, ...]     # directories whose search (x) permission the walk checked, in order
    links: int                      # symlinks followed (they count against the caller's budget)


Key = tuple


class PathCache:
    """The process-wide cache (one per host process: keys are object identities, so several
    kernels in one process never share an entry)."""

    def __init__(self) -> None:
        self.entries: dict[Key, Entry] = {}
        self.generation = 0             # bumped by every namespace change (tests and /proc read it)

    def get(self, key: Key) -> Entry | None:
        return self.entries.get(key)

    def put(self, key: Key, entry: Entry) -> None:
        entries = self.entries
        if len(entries) >= MAX_ENTRIES:
            entries.clear()             # bounded; a full clear is rare and cheap to refill
        entries[key] = entry

    def invalidate(self) -> None:
        """Something changed what a path may resolve to: forget every remembered walk."""
        self.generation += 1
        if self.entries:
            self.entries.clear()


CACHE = PathCache()


def invalidate() -> None:
    """The hook vfs (names removed or moved) and namespace (mounts) call."""
    CACHE.invalidate()
