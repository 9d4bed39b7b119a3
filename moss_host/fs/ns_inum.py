"""Namespace inode numbers (proc_alloc_inum): what /proc/PID/ns links and nsfs inodes show.
The initial namespaces that Linux numbers statically keep their fixed numbers (proc_ns.h)."""
import itertools

PROC_DYNAMIC_FIRST = 0xF000_0000
_inums = itertools.count(PROC_DYNAMIC_FIRST)


def alloc_inum() -> int:
    """A new namespace's inode number (ns_alloc_inum)."""
    return next(_inums)
