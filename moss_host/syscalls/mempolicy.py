"""NUMA memory policies on a machine with one node (mm/mempolicy.c and mm/migrate.c, Linux 6.1
with CONFIG_NUMA, as Debian's arm64 kernel on a one-node QEMU): set_mempolicy, get_mempolicy,
mbind, migrate_pages, move_pages and set_mempolicy_home_node.

Every page is on node 0, so no policy moves anything; what is kept is the thread's policy
(Task.mempolicy: mode, mode flags, the node mask as given), reported back by get_mempolicy,
and the argument checks in Linux's order. mbind checks its range and policy as Linux does but
records no per-mapping policy: get_mempolicy(MPOL_F_ADDR) reports MPOL_DEFAULT for every
mapping, and set_mempolicy_home_node finds no mapping policy to change (ENOENT, as Linux for a range
without one; Linux would set the home node of an MPOL_BIND mapping).
"""
from __future__ import annotations

from moss_host.addr import PAGE_SIZE, USER_VA_END
from moss_host.cred import CAP_SYS_NICE, capable
from moss_host.errors import EFAULT, EINVAL, ENODEV, ENOENT, EPERM, ESRCH, Errno
from moss_host.proc.ptrace import may_access

from .args import Hex, Int, Ptr, UInt, c_int
from .table import syscall

MPOL_DEFAULT, MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED_MANY = range(6)
MPOL_MAX = 6
MPOL_F_STATIC_NODES, MPOL_F_RELATIVE_NODES, MPOL_F_NUMA_BALANCING = 1 << 15, 1 << 14, 1 << 13
MPOL_MODE_FLAGS = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING
MPOL_F_NODE, MPOL_F_ADDR, MPOL_F_MEMS_ALLOWED = 1, 2, 4
MPOL_MF_STRICT, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL = 1, 2, 4
MPOL_MF_VALID = MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL

MAX_NUMNODES = 16           # CONFIG_NODES_SHIFT=4, arm64's default
NR_NODE_IDS = 1             # node 0 only
NODES_ONLINE = 1            # the mask of nodes with memory: {0}
BITS_PER_LONG = 64


def _get_nodes(task, nmask: int, maxnode: int) -> int:
    """get_nodes: the user's node mask of maxnode - 1 bits (Linux's historical off by one);
    EINVAL for more than a page of bits or a node beyond MAX_NUMNODES, EFAULT."""
    maxnode -= 1
    if maxnode <= 0 or not nmask:
        return 0
    if maxnode > PAGE_SIZE * 8:
        raise Errno(EINVAL)
    longs = (maxnode + BITS_PER_LONG - 1) // BITS_PER_LONG
    mask = int.from_bytes(task.mm.read(nmask, longs * 8), "little") & ((1 << maxnode) - 1)
    if mask >> MAX_NUMNODES:
        raise Errno(EINVAL)
    return mask


def _sanitize(mode: int) -> tuple[int, int]:
    """sanitize_mpol_flags: (mode, flags); EINVAL for an unknown mode or a clash of flags."""
    flags, mode = mode & MPOL_MODE_FLAGS, mode & ~MPOL_MODE_FLAGS & 0xFFFF_FFFF
    if mode >= MPOL_MAX:
        raise Errno(EINVAL)
    if flags & MPOL_F_STATIC_NODES and flags & MPOL_F_RELATIVE_NODES:
        raise Errno(EINVAL)
    if flags & MPOL_F_NUMA_BALANCING and mode != MPOL_BIND:
        raise Errno(EINVAL)
    return mode, flags


def _new_policy(mode: int, flags: int, nodes: int) -> tuple[int, int, int]:
    """mpol_new and mpol_set_nodemask: the (mode, flags, nodes) policy; EINVAL where the mode
    wants nodes and has none, or none of them has memory (relative masks fold onto node 0)."""
    if mode == MPOL_DEFAULT:
        if nodes:
            raise Errno(EINVAL)
        return MPOL_DEFAULT, 0, 0
    if mode == MPOL_PREFERRED and not nodes:
        if flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES):
            raise Errno(EINVAL)
        mode = MPOL_LOCAL
    elif mode == MPOL_LOCAL:
        if nodes or flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES):
            raise Errno(EINVAL)
    elif not nodes:
        raise Errno(EINVAL)
    if mode != MPOL_LOCAL and not flags & MPOL_F_RELATIVE_NODES and not nodes & NODES_ONLINE:
        raise Errno(EINVAL)             # the mask holds no node with memory
    return mode, flags, nodes


@syscall("set_mempolicy")
async def set_mempolicy(task, mode: "Int", nmask: "Ptr", maxnode: "UInt") -> int:
    """Set the calling thread's memory policy (MPOL_DEFAULT drops it)."""
    mode, flags = _sanitize(c_int(mode))
    nodes = _get_nodes(task, nmask, maxnode)
    task.mempolicy = _new_policy(mode, flags, nodes)
    return 0


def _reported_nodes(policy: tuple[int, int, int]) -> int:
    """The mask get_mempolicy reports: as given with STATIC/RELATIVE_NODES, else the nodes used."""
    mode, flags, nodes = policy
    if flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES):
        return nodes
    if mode in (MPOL_DEFAULT, MPOL_LOCAL):
        return 0
    return nodes & NODES_ONLINE


def _copy_nodes_to_user(task, nmask: int, maxnode: int, nodes: int) -> None:
    """copy_nodes_to_user: whole longs for maxnode - 1 bits, the ones past node 0's long zeroed."""
    copy = (maxnode - 1 + 63) // 64 * 8
    if copy > 8:
        if copy > PAGE_SIZE:
            raise Errno(EINVAL)
        task.mm.write(nmask + 8, bytes(copy - 8))
        copy = 8
    task.mm.write(nmask, (nodes & (1 << 64) - 1).to_bytes(8, "little")[:copy])


@syscall("get_mempolicy")
async def get_mempolicy(task, policy: "Ptr", nmask: "Ptr", maxnode: "UInt", addr: "Ptr", flags: "Hex") -> int:
    """The thread's policy, a mapping's (MPOL_F_ADDR), the node of a page or of the next
    interleaved allocation (MPOL_F_NODE), or the nodes allowed (MPOL_F_MEMS_ALLOWED)."""
    if nmask and maxnode < NR_NODE_IDS:
        raise Errno(EINVAL)
    if flags & ~(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED):
        raise Errno(EINVAL)
    if flags & MPOL_F_MEMS_ALLOWED:
        if flags & (MPOL_F_NODE | MPOL_F_ADDR):
            raise Errno(EINVAL)
        value, nodes = 0, NODES_ONLINE
    else:
        value, nodes = _policy_value(task, addr, flags)
    if policy:
        task.mm.write(policy, (value & 0xFFFF_FFFF).to_bytes(4, "little"))
    if nmask:
        _copy_nodes_to_user(task, nmask, maxnode, nodes)
    return 0


def _policy_value(task, addr: int, flags: int) -> tuple[int, int]:
    """do_get_mempolicy without MPOL_F_MEMS_ALLOWED: (the int it reports, the node mask)."""
    pol, prot = task.mempolicy, 0
    if flags & MPOL_F_ADDR:
        vma = task.mm.vmas.find(addr) if 0 <= addr < USER_VA_END else None
        if vma is None:
            raise Errno(EFAULT)
        pol, prot = (MPOL_DEFAULT, 0, 0), vma.prot     # no mapping policy is recorded (module docstring)
    elif addr:
        raise Errno(EINVAL)
    if flags & MPOL_F_NODE:
        if flags & MPOL_F_ADDR:
            if not prot:
                raise Errno(EFAULT)     # get_user_pages cannot fault the page in
            value = 0                   # lookup_node: every page is on node 0
        elif pol[0] == MPOL_INTERLEAVE:
            value = 0                   # the next node of the interleave: the only one
        else:
            raise Errno(EINVAL)
    else:
        value = pol[0] | pol[1] & MPOL_MODE_FLAGS
    return value, _reported_nodes(pol)


@syscall("mbind")
async def mbind(task, start: "Ptr", length: "UInt", mode: "Int", nmask: "Ptr", maxnode: "UInt",
                flags: "Hex") -> int:
    """Check a policy for [start, start + length) as do_mbind; the range must be mapped
    (EFAULT for a hole, unless the policy is MPOL_DEFAULT and some of it is)."""
    mode, mode_flags = _sanitize(c_int(mode))
    nodes = _get_nodes(task, nmask, maxnode)
    flags &= 0xFFFF_FFFF
    if flags & ~MPOL_MF_VALID:
        raise Errno(EINVAL)
    if flags & MPOL_MF_MOVE_ALL and not capable(task.creds, CAP_SYS_NICE):
        raise Errno(EPERM)
    if start & (PAGE_SIZE - 1):
        raise Errno(EINVAL)
    end = start + (length + PAGE_SIZE - 1) // PAGE_SIZE * PAGE_SIZE
    if end < start or end >= 1 << 64:
        raise Errno(EINVAL)
    if end == start:
        return 0
    policy = _new_policy(mode, mode_flags, nodes)
    _check_mapped(task, start, end, discontig_ok=policy[0] == MPOL_DEFAULT)
    return 0


def _check_mapped(task, start: int, end: int, discontig_ok: bool) -> None:
    """queue_pages_range: EFAULT if no mapping meets the range, or one of its holes does."""
    vmas = task.mm.vmas.overlapping(start, min(end, USER_VA_END)) if start < USER_VA_END else []
    if not vmas:
        raise Errno(EFAULT)
    if discontig_ok:
        return
    at = start
    for vma in vmas:
        if vma.start > at:
            raise Errno(EFAULT)
        at = vma.end
    if at < end:
        raise Errno(EFAULT)


def _mm_of(task, pid: int):
    """find_mm_struct: the task pid names (0: the caller); ESRCH, EPERM without ptrace access."""
    if not pid:
        return task
    t = task.kernel.pids.get(pid)
    if t is None:
        raise Errno(ESRCH)
    if not may_access(task, t):
        raise Errno(EPERM)
    return t


@syscall("migrate_pages")
async def migrate_pages(task, pid: "Int", maxnode: "UInt", old_nodes: "Ptr", new_nodes: "Ptr") -> int:
    """Move a process's pages from old_nodes to new_nodes: none need moving; the count of
    pages that could not be moved is 0."""
    _get_nodes(task, old_nodes, maxnode)
    new = _get_nodes(task, new_nodes, maxnode)
    t = task.kernel.pids.get(c_int(pid)) if c_int(pid) else task
    if t is None:
        raise Errno(ESRCH)
    if not may_access(task, t):
        raise Errno(EPERM)
    if new & ~NODES_ONLINE and not capable(task.creds, CAP_SYS_NICE):
        raise Errno(EPERM)
    if not new & NODES_ONLINE:
        raise Errno(EINVAL)
    return 0


@syscall("move_pages")
async def move_pages(task, pid: "Int", count: "UInt", pages: "Ptr", nodes: "Ptr", status: "Ptr",
                     flags: "Hex") -> int:
    """Move pages to nodes, or (nodes NULL) report the node of each: 0 for a page in memory,
    -EFAULT for no mapping or an anonymous page never touched, -ENOENT for a file page not
    read yet. A node other than 0 fails the call (ENODEV)."""
    flags &= 0xFFFF_FFFF
    if flags & ~(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):
        raise Errno(EINVAL)
    if flags & MPOL_MF_MOVE_ALL and not capable(task.creds, CAP_SYS_NICE):
        raise Errno(EPERM)
    mm = _mm_of(task, c_int(pid)).mm
    for i in range(count):
        addr = task.mm.read_u64(pages + 8 * i)
        if nodes:
            node = c_int(int.from_bytes(task.mm.read(nodes + 4 * i, 4), "little"))
            if not 0 <= node < MAX_NUMNODES or node >= NR_NODE_IDS:
                raise Errno(ENODEV)
        task.mm.write(status + 4 * i, (_page_status(mm, addr) & 0xFFFF_FFFF).to_bytes(4, "little"))
    return 0


def _page_status(mm, addr: int) -> int:
    """The node of the page at addr (follow_page with FOLL_DUMP), or a negative errno."""
    vma = mm.vmas.find(addr) if 0 <= addr < USER_VA_END else None
    if vma is None:
        return -EFAULT
    if (addr & ~(PAGE_SIZE - 1)) in mm.resident:
        return 0
    return -EFAULT if vma.anonymous else -ENOENT


@syscall("set_mempolicy_home_node")
async def set_mempolicy_home_node(task, start: "Ptr", length: "UInt", home_node: "UInt", flags: "Hex") -> int:
    """The preferred node of the mbind policies in a range, checked as Linux; no mapping
    carries a policy here, so the answer is Linux's for a range without one: ENOENT."""
    if start & (PAGE_SIZE - 1) or flags:
        raise Errno(EINVAL)
    if home_node >= MAX_NUMNODES or home_node >= NR_NODE_IDS:
        raise Errno(EINVAL)
    end = start + (length + PAGE_SIZE - 1) // PAGE_SIZE * PAGE_SIZE
    if end < start or end >= 1 << 64:
        raise Errno(EINVAL)
    if end == start:
        return 0
    raise Errno(ENOENT)
