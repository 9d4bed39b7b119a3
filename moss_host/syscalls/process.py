"""Process identity and lifetime: exit, the get*id family, and the per-thread registrations
glibc makes at start-up (set_tid_address, set_robust_list, rseq).
"""
from __future__ import annotations

import struct

from moss_host.cred import fs_cred
from moss_host.errors import E2BIG, EACCES, EBUSY, EINVAL, ELOOP, EPERM, ESRCH, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.path import Walker
from moss_host.proc import lifecycle, ptrace, seccomp
from moss_host.proc.exec import exec_into, read_string_array
from moss_host.proc.pidfd import PidFd
from moss_host.proc.task import TaskExit

from .caps import CAP_PRCTLS, cap_prctl
from .fs import AT_FDCWD, _dir_start, _path_arg
from .args import CStr, Fd, Hex, Int, Ptr, Size, UInt, c_int
from .table import syscall

RSEQ_MIN_SIZE = 32
RSEQ_FLAG_UNREGISTER = 1
ROBUST_LIST_HEAD_SIZE = 24


@syscall("exit")
async def exit_(task, status: "Int") -> int:
    """Terminate the calling thread with status & 0xff (the process ends with its last thread)."""
    await ptrace.event(task, ptrace.PTRACE_EVENT_EXIT, (status & 0xFF) << 8)
    raise TaskExit((status & 0xFF) << 8, whole_group=False)


@syscall("exit_group")
async def exit_group(task, status: "Int") -> int:
    """Terminate all threads of the calling process with status & 0xff."""
    await ptrace.event(task, ptrace.PTRACE_EVENT_EXIT, (status & 0xFF) << 8)
    raise TaskExit((status & 0xFF) << 8)


@syscall("getpid")
def getpid(task) -> int:
    return task.tgid


@syscall("gettid")
def gettid(task) -> int:
    return task.tid


@syscall("getppid")
def getppid(task) -> int:
    parent = task.group.parent          # (Task.parent and .tgid, without their property calls)
    return parent.group.tgid if parent is not None else 0


@syscall("getuid")
def getuid(task) -> int:
    return task.creds.uid


@syscall("geteuid")
def geteuid(task) -> int:
    return task.creds.euid


@syscall("getgid")
def getgid(task) -> int:
    return task.creds.gid


@syscall("getegid")
def getegid(task) -> int:
    return task.creds.egid


@syscall("set_tid_address")
async def set_tid_address(task, tidptr: "Ptr") -> int:
    """Remember where to clear the TID (and futex-wake) at thread exit; return the TID."""
    task.clear_child_tid = tidptr
    return task.tid


@syscall("set_robust_list")
async def set_robust_list(task, head: "Ptr", length: "Size") -> int:
    if length != ROBUST_LIST_HEAD_SIZE:
        raise Errno(EINVAL)
    task.robust_list = (head, length)
    return 0


@syscall("get_robust_list")
async def get_robust_list(task, pid: "Int", head_ptr: "Ptr", len_ptr: "Ptr") -> int:
    if pid not in (0, task.tid):
        raise Errno(EPERM)
    task.mm.write_u64(head_ptr, task.robust_list[0])
    task.mm.write_u64(len_ptr, ROBUST_LIST_HEAD_SIZE)
    return 0


@syscall("rseq")
async def rseq(task, rseq_ptr: "Ptr", length: "UInt", flags: "Hex", sig: "Hex") -> int:
    """Register (or unregister) the thread's restartable-sequences area.

    The kernel keeps cpu_id_start/cpu_id current: with one CPU they are 0 from the start.
    Critical sections are never preempted mid-way on our single CPU without a trap, so
    no abort handling is needed yet.
    """
    length &= 0xFFFF_FFFF
    if flags & ~RSEQ_FLAG_UNREGISTER:
        raise Errno(EINVAL)
    if flags & RSEQ_FLAG_UNREGISTER:
        if task.rseq[0] != rseq_ptr or task.rseq[1] != length:
            raise Errno(EINVAL)
        if task.rseq[2] != sig & 0xFFFF_FFFF:
            raise Errno(EPERM)
        task.rseq = (0, 0, 0)
        return 0
    if task.rseq[0]:
        raise Errno(_reregistration_errno(task, rseq_ptr, length, sig))
    if rseq_ptr & 31 or length < RSEQ_MIN_SIZE:
        raise Errno(EINVAL)
    task.mm.write(rseq_ptr, struct.pack("<II", 0, 0))   # cpu_id_start, cpu_id
    task.rseq = (rseq_ptr, length, sig & 0xFFFF_FFFF)
    return 0


def _reregistration_errno(task, ptr: int, length: int, sig: int) -> int:
    """A second registration: EPERM for a different signature, EBUSY for the same area, else EINVAL."""
    same = task.rseq[0] == ptr and task.rseq[1] == length
    if same and task.rseq[2] != sig & 0xFFFF_FFFF:
        return EPERM
    return EBUSY if same else EINVAL


@syscall("execve")
async def execve(task, path: "CStr", argv: "Ptr", envp: "Ptr") -> int:
    """Replace the calling process's image with the program at path.

    On success there is no return: the task resumes at the new entry point with the
    new stack; x0 is 0 like every other register.
    """
    filename = task.mm.read_cstring(path)
    args = read_string_array(task.mm, argv)
    env = read_string_array(task.mm, envp)
    old_tid = task.tid
    exec_into(task, filename.decode(errors="surrogateescape"), args or [b""], env)
    await ptrace.report_exec(task, old_tid)
    for hook in task.kernel.exec_hooks:         # gdb stopping at an exec (gdbhost.py)
        await hook(task)
    return 0


AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH = 0x100, 0x1000


@syscall("execveat")
async def execveat(task, dirfd: "Fd", path: "CStr", argv: "Ptr", envp: "Ptr", flags: "Hex") -> int:
    """execve of the program at path relative to dirfd, or (AT_EMPTY_PATH and an empty path)
    of dirfd's own file, as fexecve. Checked in do_execveat_common's order: the name, argv and
    envp, the flags (EINVAL), then the lookup. The program is known as "/dev/fd/N" or
    "/dev/fd/N/path" (AT_EXECFN) unless path is absolute or dirfd is AT_FDCWD; comm is the
    file's own name for AT_EMPTY_PATH (Debian's 6.1 has the fix). A script opened through a
    close-on-exec dirfd still runs here (Linux: ENOENT, its interpreter could not open
    /dev/fd/N)."""
    flags &= 0xFFFF_FFFF
    name = _path_arg(task, path, empty_ok=bool(flags & AT_EMPTY_PATH))
    args = read_string_array(task.mm, argv)
    env = read_string_array(task.mm, envp)
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise Errno(EINVAL)
    fd = fd_arg(dirfd)
    start = _dir_start(task, fd, name)
    if name:
        loc = Walker(task.fs, fs_cred(task.creds), task).resolve(start, name, follow=not flags & AT_SYMLINK_NOFOLLOW)
        if loc.inode.is_symlink:
            raise Errno(ELOOP)          # O_NOFOLLOW's answer for a final symlink
    else:
        loc = start
    if fd == AT_FDCWD or name[:1] == b"/":
        shown = name
    else:
        shown = b"/dev/fd/%d" % fd + (b"/" + name if name else b"")
    old_tid = task.tid
    exec_into(task, shown.decode(errors="surrogateescape"), args or [b""], env, at=loc)
    if not name:
        task.comm = loc.dentry.name[:15]        # not "N" of "/dev/fd/N"
    await ptrace.report_exec(task, old_tid)
    return 0


# -- creating processes ------------------------------------------------------------------------

@syscall("clone")
async def clone(task, flags: "Hex", newsp: "Ptr", parent_tid: "Ptr", tls: "Ptr", child_tid: "Ptr") -> int:
    """Create a child process (arm64 argument order: flags, stack, parent_tid, tls, child_tid).

    The child resumes after this syscall with x0 = 0 (on `newsp` if given); the parent
    gets the child's pid. With CLONE_VFORK the parent sleeps until the child execs or exits.
    """
    flags &= 0xFFFF_FFFF
    if flags & lifecycle.CLONE_PIDFD and flags & lifecycle.CLONE_PARENT_SETTID:
        raise Errno(EINVAL)                     # both would be stored at parent_tid
    child = _clone_with_pidfd(task, flags, parent_tid, newsp, parent_tid, tls, child_tid)
    await ptrace.report_clone(task, child, flags)
    if flags & lifecycle.CLONE_VFORK:
        await lifecycle.wait_for_vfork(child)
        await ptrace.event(task, ptrace.PTRACE_EVENT_VFORK_DONE, child.tid)
    return child.tid


def _clone_with_pidfd(task, flags: int, pidfd_ptr: int, newsp: int, parent_tid: int, tls: int, child_tid: int):
    """clone_task; with CLONE_PIDFD (not with CLONE_THREAD or CLONE_DETACHED: EINVAL) a pidfd
    of the child, O_RDWR|O_CLOEXEC, whose number is stored at pidfd_ptr before the child
    exists (EFAULT means no child, as copy_process). A forked child does not inherit it."""
    if not flags & lifecycle.CLONE_PIDFD:
        return lifecycle.clone_task(task, flags, newsp, parent_tid, tls, child_tid)
    if flags & (lifecycle.CLONE_DETACHED | lifecycle.CLONE_THREAD):
        raise Errno(EINVAL)
    lifecycle.check_clone_flags(flags & ~lifecycle.CLONE_PIDFD)
    fd = task.files.alloc_fd()
    try:
        task.mm.write(pidfd_ptr, struct.pack("<i", fd))
        child = lifecycle.clone_task(task, flags & ~lifecycle.CLONE_PIDFD, newsp, parent_tid, tls, child_tid)
    except BaseException:
        task.files.release_reserved(fd)
        raise
    task.files.install_at_reserved(fd, PidFd(child, 0), cloexec=True)
    return child


CLONE_ARGS = struct.Struct("<11Q")       # struct clone_args: flags, pidfd, child_tid, parent_tid,
CLONE_ARGS_SIZE_VER0 = 64                # exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup
PAGE_SIZE = 4096
CLONE_NEWTIME = 0x00000080
CLONE_INTO_CGROUP = 0x200000000
CLONE3_FLAGS = 0xFFFF_FFFF | lifecycle.CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP


@syscall("clone3")
async def clone3(task, uargs: "Ptr", size: "Size") -> int:
    """clone with its arguments in a struct clone_args; the stack is given as its lowest
    address and size. Checked in the order of Linux's copy_clone_args_from_user and
    clone3_args_valid."""
    flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup \
        = _read_clone_args(task, uargs, size)
    if set_tid_size > 32 or (not set_tid and set_tid_size) or (set_tid and not set_tid_size):
        raise Errno(EINVAL)
    if exit_signal & ~lifecycle.CSIGNAL or exit_signal > 64:
        raise Errno(EINVAL)
    if flags & CLONE_INTO_CGROUP and (cgroup > 0x7FFF_FFFF or size < 88):
        raise Errno(EINVAL)
    if flags & ~CLONE3_FLAGS or flags & (lifecycle.CLONE_DETACHED | (lifecycle.CSIGNAL & ~CLONE_NEWTIME)):
        raise Errno(EINVAL)
    if flags & (lifecycle.CLONE_SIGHAND | lifecycle.CLONE_CLEAR_SIGHAND) \
            == lifecycle.CLONE_SIGHAND | lifecycle.CLONE_CLEAR_SIGHAND:
        raise Errno(EINVAL)
    if flags & (lifecycle.CLONE_THREAD | lifecycle.CLONE_PARENT) and exit_signal:
        raise Errno(EINVAL)
    if bool(stack) != bool(stack_size):
        raise Errno(EINVAL)                     # clone3_stack_valid()
    if set_tid_size:
        raise Errno(EINVAL, "clone3 set_tid (choosing the child's pid) is not supported")
    if flags & CLONE_INTO_CGROUP:
        raise Errno(EINVAL, "clone3 CLONE_INTO_CGROUP: there are no cgroups")
    child = _clone_with_pidfd(task, flags | exit_signal, pidfd, stack + stack_size if stack else 0, parent_tid,
                              tls, child_tid)
    await ptrace.report_clone(task, child, flags)
    if flags & lifecycle.CLONE_VFORK:
        await lifecycle.wait_for_vfork(child)
        await ptrace.event(task, ptrace.PTRACE_EVENT_VFORK_DONE, child.tid)
    return child.tid


def _read_clone_args(task, uargs: int, size: int) -> tuple[int, ...]:
    """copy_struct_from_user(): a smaller struct is zero-extended, a larger one must be zero beyond ours."""
    if size > PAGE_SIZE:
        raise Errno(E2BIG)
    if size < CLONE_ARGS_SIZE_VER0:
        raise Errno(EINVAL)
    raw = task.mm.read(uargs, size)
    if any(raw[CLONE_ARGS.size:]):
        raise Errno(E2BIG)
    return CLONE_ARGS.unpack(raw[:CLONE_ARGS.size].ljust(CLONE_ARGS.size, b"\0"))


# -- process groups and sessions ----------------------------------------------------------------

def _find_process(task, pid: int):
    """pid 0 means the caller; ESRCH if there is no such live process."""
    pid = c_int(pid)
    if pid == 0:
        return task
    target = task.kernel.pids.get(pid)
    if target is None or target.tgid != pid:
        raise Errno(ESRCH)
    return target


@syscall("setpgid")
async def setpgid(task, pid: "Int", pgid: "Int") -> int:
    """Move process pid (0: the caller) into process group pgid (0: a group named after pid).

    Only the caller or one of its children that has not exec'd yet may be moved, within
    the caller's session, and never a session leader; the group must exist in that
    session unless it is being created.
    """
    pid = c_int(pid) or task.tgid
    pgid = c_int(pgid) or pid
    if pgid < 0:
        raise Errno(EINVAL)
    target = task if pid == task.tgid else task.kernel.pids.get(pid)
    if target is None or (target is not task and target.parent is not task):
        raise Errno(ESRCH)
    if target is not task:
        if target.sid != task.sid:
            raise Errno(EPERM)
        if target.group.did_exec:
            raise Errno(EACCES)
    if target.sid == target.tgid:
        raise Errno(EPERM)                      # a session leader stays in its group
    if pgid != target.tgid and not task.kernel.pids.group_exists(pgid, task.sid):
        raise Errno(EPERM)
    target.pgid = pgid
    return 0


@syscall("getpgid")
def getpgid(task, pid: "Int") -> int:
    return _find_process(task, pid).pgid


@syscall("getsid")
def getsid(task, pid: "Int") -> int:
    return _find_process(task, pid).sid


@syscall("setsid")
async def setsid(task) -> int:
    """Start a new session and process group led by the caller, with no controlling terminal.

    EPERM if the caller already leads a process group.
    """
    if task.kernel.pids.group_exists(task.tgid):
        raise Errno(EPERM)
    task.sid = task.pgid = task.tgid
    task.ctty = None
    return task.sid


# -- prctl ------------------------------------------------------------------------------------

PR_SET_PDEATHSIG, PR_GET_PDEATHSIG = 1, 2
PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4
PR_SET_NAME, PR_GET_NAME = 15, 16
PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
PR_GET_SECCOMP, PR_SET_SECCOMP = 21, 22
PR_GET_TIMERSLACK, PR_SET_TIMERSLACK = 30, 29
TASK_COMM_LEN = 16


@syscall("prctl")
async def prctl(task, option: "Int", arg2: "Hex", arg3: "Hex", arg4: "Hex", arg5: "Hex") -> int:
    """Operations on the calling process: its name, parent-death signal, dumpable flag,
    no_new_privs, timer slack. Options this kernel does not know are EINVAL, as Linux answers for
    options it was built without."""
    option = c_int(option)
    if option == PR_SET_NAME:
        task.comm = task.mm.read(arg2, TASK_COMM_LEN).split(b"\0", 1)[0][:TASK_COMM_LEN - 1]
    elif option == PR_GET_NAME:
        task.mm.write(arg2, task.comm[:TASK_COMM_LEN - 1].ljust(TASK_COMM_LEN, b"\0"))
    elif option == PR_SET_PDEATHSIG:
        if not 0 <= arg2 <= 64:
            raise Errno(EINVAL)
        task.pdeath_signal = arg2
    elif option == PR_GET_PDEATHSIG:
        task.mm.write(arg2, struct.pack("<i", task.pdeath_signal))
    elif option == PR_GET_DUMPABLE:
        return task.dumpable
    elif option == PR_SET_DUMPABLE:
        if arg2 not in (0, 1):
            raise Errno(EINVAL)
        task.dumpable = arg2
    elif option == PR_SET_NO_NEW_PRIVS:
        if arg2 != 1 or arg3 or arg4 or arg5:
            raise Errno(EINVAL)
        task.no_new_privs = True
    elif option == PR_GET_NO_NEW_PRIVS:
        if arg2 or arg3 or arg4 or arg5:
            raise Errno(EINVAL)
        return int(task.no_new_privs)
    elif option == PR_SET_TIMERSLACK:
        task.timer_slack_ns = arg2 if arg2 else task.default_timer_slack_ns
    elif option == PR_GET_TIMERSLACK:
        return min(task.timer_slack_ns, (1 << 63) - 1)
    elif option == PR_SET_CHILD_SUBREAPER:
        task.group.child_subreaper = bool(arg2)
    elif option == PR_GET_CHILD_SUBREAPER:
        task.mm.write(arg2, struct.pack("<i", int(task.group.child_subreaper)))
    elif option == PR_GET_SECCOMP:
        return seccomp.mode_of(task)
    elif option == PR_SET_SECCOMP:
        # prctl_set_seccomp: strict mode ignores the pointer; no flags through prctl
        if arg2 == seccomp.MODE_STRICT:
            return seccomp.do_seccomp(task, seccomp.SET_MODE_STRICT, 0, 0)
        if arg2 == seccomp.MODE_FILTER:
            return seccomp.do_seccomp(task, seccomp.SET_MODE_FILTER, 0, arg3)
        raise Errno(EINVAL)
    elif option in CAP_PRCTLS:
        return cap_prctl(task, option, arg2, arg3, arg4, arg5)     # cap_task_prctl
    else:
        raise Errno(EINVAL)
    return 0
