"""proc/ptrace.py without QEMU: who may trace whom, the links, the wait reports of
ptrace stops (the tracer first, CLD_TRAPPED, once), and the option bit of each event.
The syscall's behaviour against Linux is tests/qemu/test_ptrace.py."""
from types import SimpleNamespace

import pytest

from moss_host.cred import Creds
from moss_host.errors import EPERM, ESRCH, Errno
from moss_host.proc import ptrace, signals
from moss_host.proc.pidtable import PidTable
from moss_host.proc.ptrace_state import SIGNAL_STOP
from moss_host.proc.task import State, Task, ThreadGroup
from moss_host.proc.wait import Selector, P_ALL, P_PID, WEXITED, __WALL, find_report


def make_kernel():
    return SimpleNamespace(pids=PidTable(), sched=SimpleNamespace(detach=lambda t: None), stopping=False)


def spawn(kernel, uid=0, parent=None, dumpable=1):
    tid = kernel.pids.alloc()
    group = ThreadGroup(tid, parent=parent, pgid=tid, sid=1)
    task = Task(tid=tid, group=group, mm=None, fs=None, files=None, kernel=kernel,
                creds=Creds(uid, uid, uid, uid, uid, uid), dumpable=dumpable)
    kernel.pids.add(task)
    if parent is not None:
        parent.group.children.append(task)
    return task


def test_same_ids_and_dumpable_may_trace_root_may_always():
    k = make_kernel()
    user, other, root = spawn(k, 1000), spawn(k, 1000), spawn(k, 0)
    assert ptrace.may_access(user, other)
    assert not ptrace.may_access(user, root)
    assert ptrace.may_access(root, user)
    secret = spawn(k, 1000, dumpable=0)
    assert not ptrace.may_access(user, secret)
    assert ptrace.may_access(root, secret)


def test_attach_refuses_the_own_group_and_a_traced_task():
    k = make_kernel()
    tracer, tracee, second = spawn(k), spawn(k), spawn(k)
    with pytest.raises(Errno) as e:
        ptrace.attach(tracer, tracer, seize=True, options=0)
    assert e.value.code == EPERM
    ptrace.attach(tracer, tracee, seize=True, options=ptrace.O_TRACESYSGOOD)
    assert tracee.ptrace.tracer is tracer and tracer.ptrace.tracees == [tracee]
    with pytest.raises(Errno) as e:
        ptrace.attach(second, tracee, seize=True, options=0)
    assert e.value.code == EPERM
    ptrace.unlink(tracee)
    assert tracee.ptrace.tracer is None and tracer.ptrace.tracees == [] and tracee.ptrace.options == 0


def test_requests_need_a_stopped_tracee_of_the_caller():
    k = make_kernel()
    tracer, tracee, stranger = spawn(k), spawn(k), spawn(k)
    ptrace.attach(tracer, tracee, seize=True, options=0)
    for who, pid in ((stranger, tracee.tid), (tracer, 999)):
        with pytest.raises(Errno) as e:
            ptrace.check_attached(who, pid, need_stopped=False)
        assert e.value.code == ESRCH
    with pytest.raises(Errno):
        ptrace.check_attached(tracer, tracee.tid, need_stopped=True)
    assert ptrace.check_attached(tracer, tracee.tid, need_stopped=False) is tracee


def test_the_tracer_waits_for_a_stop_of_a_tracee_that_is_not_its_child_once():
    k = make_kernel()
    parent = spawn(k)
    tracee = spawn(k, parent=parent)
    tracer = spawn(k)
    ptrace.attach(tracer, tracee, seize=True, options=0)
    tracee.state = State.RUNNABLE
    ptrace.signal_stop(tracee, signals.SIGUSR1, signals.SigInfo(signals.SIGUSR1))
    assert tracee.ptrace.stop_kind == SIGNAL_STOP and tracee.state is State.STOPPED
    report = find_report(tracer, Selector(P_PID, tracee.tid), WEXITED | __WALL)
    assert report is not None and report.code == signals.CLD_TRAPPED
    assert report.wstatus == signals.SIGUSR1 << 8 | 0x7F
    assert find_report(tracer, Selector(P_ALL), WEXITED | __WALL) is None      # reported once
    assert find_report(parent, Selector(P_ALL), WEXITED) is None               # not the parent's to see


def test_each_event_has_its_option_bit():
    k = make_kernel()
    tracer, tracee = spawn(k), spawn(k)
    ptrace.attach(tracer, tracee, seize=True, options=ptrace.O_TRACEFORK | ptrace.O_TRACEEXIT)
    assert ptrace.event_enabled(tracee, ptrace.PTRACE_EVENT_FORK)
    assert not ptrace.event_enabled(tracee, ptrace.PTRACE_EVENT_VFORK)
    assert not ptrace.event_enabled(tracee, ptrace.PTRACE_EVENT_CLONE)
    assert ptrace.event_enabled(tracee, ptrace.PTRACE_EVENT_EXIT)
    assert ptrace.clone_event(0x11, signals.SIGCHLD) == ptrace.PTRACE_EVENT_FORK
    assert ptrace.clone_event(0x4000 | 0x100 | 17, signals.SIGCHLD) == ptrace.PTRACE_EVENT_VFORK
    assert ptrace.clone_event(0x10000, -1) == ptrace.PTRACE_EVENT_CLONE
    assert ptrace.clone_event(0x800000 | 17, signals.SIGCHLD) == 0                # CLONE_UNTRACED
