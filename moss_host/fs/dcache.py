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

The dentry tree itself (vfs.Dentry: each filesystem's names looked up so far) is pruned
here too, as Linux's prune_dcache at drop_caches (bit 2): every dentry nothing uses goes, so
that a stress run's millions of names do not stay in the host's memory.
"""
from __future__ import annotations

import sys
import weakref
from typing import TYPE_CHECKING, NamedTuple

from ..machine.hostmem import register_shrinker

if TYPE_CHECKING:
    from .vfs import Dentry, Inode, Location

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


# -- pruning the dentry tree ----------------------------------------------------------------

def _refs(cache: dict, key: object) -> int:
    """References to cache[key], this frame's and the call's own included."""
    value = cache[key]
    return sys.getrefcount(value)


# A cached object is unused when only its cache holds it: for a dentry, no open file, cwd,
# root, mount, path-cache entry or walk in progress holds it (or a child of it); for an
# inode, no dentry either. Python counts what Linux's d_lockref and i_count count; the
# figure is measured with the same frame, so that it holds whatever the interpreter's
# counting of arguments and locals.
_UNUSED = _refs({b"x": object()}, b"x")


def unused_but_here(cache: dict, key: object) -> bool:
    """Only `cache` holds cache[key] (a shrinker may drop it)."""
    return _refs(cache, key) <= _UNUSED


def prune_tree(root: "Dentry") -> int:
    """Drop every unused dentry below root, deepest first (a parent is unused only once its
    children are gone); how many went. The names stay in the filesystem: the next lookup
    builds the dentry again from the inode. A dynamic directory (procfs: `children` not a
    plain dict) is left as it is."""
    dropped = 0
    stack = [(root, False)]
    while stack:
        d, done = stack.pop()
        children = d.children
        if type(children) is not dict:
            continue
        if not done:
            stack.append((d, True))
            stack.extend((c, False) for c in children.values() if c.children)
            continue
        before = dropped
        for name in [n for n, c in children.items() if _leaf(c)]:
            if not unused_but_here(children, name):
                continue
            del children[name]
            dropped += 1
        if dropped > before:
            d.children = dict(children)     # a dict keeps its table at its largest: a compact copy
    return dropped


def _leaf(d: "Dentry") -> bool:
    children = d.children
    return type(children) is dict and not children


class DentryPruner:
    """The roots of every filesystem's dentry tree (held weakly: a tree goes with its
    superblock) and the drop_caches shrinker that prunes them."""

    def __init__(self) -> None:
        self.roots: "weakref.WeakSet[Dentry]" = weakref.WeakSet()
        self.pruned = 0

    def track(self, root: "Dentry") -> None:
        self.roots.add(root)

    def prune(self) -> None:
        CACHE.invalidate()              # its entries hold dentries: remembered walks go first
        for root in list(self.roots):
            self.pruned += prune_tree(root)


PRUNER = DentryPruner()
register_shrinker(PRUNER.prune, slab=True)
