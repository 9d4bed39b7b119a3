"""unshare and setns (kernel/fork.c, kernel/nsproxy.c, Linux 6.1).

unshare gives the caller its own copy of what it shares: the fd table (CLONE_FILES), the root,
working directory and umask (CLONE_FS), and its System V semaphore adjustments (CLONE_SYSVSEM:
applied as at exit, exit_sem, by a process of one thread; moss-py keeps one list per process,
so with other threads sharing it nothing changes, where Linux gives the caller a fresh one).
Namespaces: the mount and UTS namespaces exist; for the others it answers as a Linux built
without CONFIG_IPC_NS, CONFIG_PID_NS, CONFIG_NET_NS, CONFIG_USER_NS,
CONFIG_CGROUPS' namespaces and CONFIG_TIME_NS: EINVAL for a new one (EPERM first without
CAP_SYS_ADMIN, as unshare_nsproxy_namespaces checks). unshare(CLONE_NEWNS) gives the caller a
copy of its mount namespace (fs/namespace.py MountTable.copy; mounts are private: nothing
propagates between namespaces), as clone(CLONE_NEWNS) gives the child one; CLONE_NEWUTS a copy
of the host and domain names (utsname.py UtsNamespace). setns joins a namespace through an
open /proc/PID/ns file (fs/nsfs.py) or a process's namespaces through a pidfd: as
mntns_install, the caller's root and working directory become a mount namespace's root.
"""
from __future__ import annotations

from moss_host.cred import CAP_SYS_ADMIN, CAP_SYS_CHROOT, capable
from moss_host.errors import EINVAL, EPERM, ESRCH, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.namespace import MountTable, enter_copy
from moss_host.fs.nsfs import KIND_FLAG, NsInode, UserNamespace, ns_of
from moss_host.fs.ns_inum import alloc_inum
from moss_host.proc import lifecycle as L
from moss_host.proc.pidfd import PidFd
from moss_host.proc.ptrace import may_access

from .args import Fd, Hex
from .table import syscall

CLONE_NEWTIME = 0x80
NAMESPACES = (L.CLONE_NEWNS | L.CLONE_NEWUTS | L.CLONE_NEWIPC | L.CLONE_NEWNET | L.CLONE_NEWPID
              | L.CLONE_NEWCGROUP | CLONE_NEWTIME)
UNSHARE_FLAGS = (L.CLONE_THREAD | L.CLONE_FS | L.CLONE_SIGHAND | L.CLONE_VM | L.CLONE_FILES
                 | L.CLONE_SYSVSEM | L.CLONE_NEWUSER | NAMESPACES)


def _implied(flags: int) -> int:
    """ksys_unshare: what each flag drags along."""
    if flags & L.CLONE_NEWUSER:
        flags |= L.CLONE_THREAD | L.CLONE_FS
    if flags & L.CLONE_VM:
        flags |= L.CLONE_SIGHAND
    if flags & L.CLONE_SIGHAND:
        flags |= L.CLONE_THREAD
    if flags & L.CLONE_NEWNS:
        flags |= L.CLONE_FS
    return flags


def _check_unshare_flags(task, flags: int) -> None:
    """check_unshare_flags: unknown flags, and threads, handlers or memory that are shared
    (unsharing those is not implemented in Linux either; it pretends when nothing is shared)."""
    if flags & ~UNSHARE_FLAGS:
        raise Errno(EINVAL)
    alone = len(task.kernel.pids.threads_of(task)) == 1
    if flags & (L.CLONE_THREAD | L.CLONE_SIGHAND | L.CLONE_VM) and not alone:
        raise Errno(EINVAL)
    if flags & (L.CLONE_SIGHAND | L.CLONE_VM) and not alone:
        raise Errno(EINVAL)
    if flags & L.CLONE_VM and task.mm.users > 1:
        raise Errno(EINVAL)             # current_is_single_threaded: a vfork child shares it


@syscall("unshare")
async def unshare(task, flags: "Hex") -> int:
    """Stop sharing the fd table, the fs context or the semaphore adjustments with others."""
    flags = _implied(flags & 0xFFFF_FFFF)
    _check_unshare_flags(task, flags)
    if flags & L.CLONE_NEWUSER:
        raise Errno(EINVAL)             # unshare_userns without CONFIG_USER_NS
    if flags & NAMESPACES:
        if not capable(task.creds, CAP_SYS_ADMIN):
            raise Errno(EPERM)
        if flags & NAMESPACES & ~L.CONFIGURED_NAMESPACES:
            raise Errno(EINVAL)         # create_new_namespaces: not configured (module docstring)
    if flags & L.CLONE_SYSVSEM and len(task.kernel.pids.threads_of(task)) == 1:
        task.kernel.ipc.sem.exit_process(task.tgid)     # exit_sem: the last user applies them
    if flags & L.CLONE_FS:
        task.fs = task.fs.copy()
    if flags & L.CLONE_NEWNS:
        _, copies = task.fs.ns.copy()
        enter_copy(task.fs, copies)
    if flags & L.CLONE_NEWUTS:
        task.uts = task.uts.copy(alloc_inum())
    if flags & L.CLONE_FILES and task.files.users > 1:
        task.files.users -= 1
        task.files = task.files.clone()
    return 0


def _fs_shared(task) -> bool:
    """Another thread or process uses the caller's fs context (fs->users != 1)."""
    return any(t.fs is task.fs and t is not task for t in task.kernel.pids.live())


@syscall("setns")
async def setns(task, fd: "Fd", nstype: "Hex") -> int:
    """Join a namespace that an open /proc/PID/ns file names, or the namespaces of the process
    a pidfd names: its mount and/or UTS namespace."""
    f = task.files.get(fd_arg(fd))      # EBADF
    nstype &= 0xFFFF_FFFF
    ns = ns_of(f)
    if ns is not None:
        return _join(task, ns, nstype)
    if not isinstance(f, PidFd):
        raise Errno(EINVAL)
    if not nstype or nstype & ~(NAMESPACES | L.CLONE_NEWUSER) or nstype & ~L.CONFIGURED_NAMESPACES:
        raise Errno(EINVAL)             # check_setns_flags: the others are not configured
    target = f.task()
    if target is None:
        raise Errno(ESRCH)
    if not may_access(task, target):
        raise Errno(EPERM)
    _validate(task, nstype)
    if nstype & L.CLONE_NEWNS:
        task.fs.root = task.fs.cwd = target.fs.ns.root_location()
    if nstype & L.CLONE_NEWUTS:
        task.uts = target.uts
    return 0


def _join(task, ns: NsInode, nstype: int) -> int:
    """setns through a namespace file: nstype 0 or that namespace's kind (EINVAL)."""
    flag = KIND_FLAG[ns.kind]
    if nstype and nstype != flag:
        raise Errno(EINVAL)
    if isinstance(ns.ns, UserNamespace):
        raise Errno(EINVAL)             # userns_install: the caller is in it already
    _validate(task, flag)
    if isinstance(ns.ns, MountTable):
        task.fs.root = task.fs.cwd = ns.ns.root_location()
    else:
        task.uts = ns.ns
    return 0


def _validate(task, nstype: int) -> None:
    """validate_nsset, in its order: mntns_install (CAP_SYS_ADMIN and CAP_SYS_CHROOT; an fs
    context shared with another task is EINVAL), then utsns_install (CAP_SYS_ADMIN); nothing
    changes before every one agreed."""
    if nstype & L.CLONE_NEWNS:
        if not capable(task.creds, CAP_SYS_ADMIN) or not capable(task.creds, CAP_SYS_CHROOT):
            raise Errno(EPERM)
        if _fs_shared(task):
            raise Errno(EINVAL)
    if nstype & L.CLONE_NEWUTS and not capable(task.creds, CAP_SYS_ADMIN):
        raise Errno(EPERM)

