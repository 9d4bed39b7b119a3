"""System V IPC without QEMU: ids, permissions, message selection, semaphore atomicity and undo."""
import asyncio

import pytest

from moss_host.cred import Creds
from moss_host.errors import EACCES, EEXIST, EIDRM, EINVAL, ENOENT, ENOMSG, ERANGE, Errno
from moss_host.ipc.ids import IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPCMNI, IpcIds, IpcPerm, new_perm
from moss_host.ipc.msg import MSG_COPY, MSG_EXCEPT, MsgIds, MsgQueue
from moss_host.ipc.namespace import IpcNamespace
from moss_host.ipc.sem import SEM_UNDO, SemIds

ROOT = Creds()
USER = Creds(uid=1000, euid=1000, suid=1000, gid=1000, egid=1000, sgid=1000)


class Obj:
    def __init__(self, key: int):
        self.perm = new_perm(key, ROOT, 0o600)


def test_ids_are_allocated_cyclically_and_a_stale_id_names_nothing():
    ids: IpcIds[Obj] = IpcIds(4)
    a, b = Obj(1), Obj(0)
    assert (ids.add(a), ids.add(b)) == (0, 1)
    ids.remove(a)
    c = Obj(2)
    assert ids.add(c) == 2                      # the next slot, not the freed one
    with pytest.raises(Errno) as e:
        ids.get(0)
    assert e.value.code == EINVAL
    d, f = Obj(3), Obj(4)
    ids.add(d)
    assert ids.add(f) == IPCMNI + 0            # wrapped: slot 0 again with the next sequence number
    assert ids.get(IPCMNI) is f


def test_lookup_by_key_creat_and_excl():
    ids: IpcIds[Obj] = IpcIds(10)
    with pytest.raises(Errno) as e:
        ids.lookup(7, 0)
    assert e.value.code == ENOENT
    assert ids.lookup(7, IPC_CREAT) is None
    o = Obj(7)
    ids.add(o)
    assert ids.lookup(7, IPC_CREAT) is o
    with pytest.raises(Errno) as e:
        ids.lookup(7, IPC_CREAT | IPC_EXCL)
    assert e.value.code == EEXIST


def test_permission_triplets_owner_group_other():
    perm = IpcPerm(1, 0, 1000, 0, 0, 0o640)
    assert not perm.denies(USER, 0o400)          # group read
    assert perm.denies(USER, 0o200)              # no group write
    assert not perm.denies(ROOT, 0o777)
    with pytest.raises(Errno) as e:
        IpcPerm(1, 0, 0, 0, 0, 0o600).check_access(USER, 0o444)
    assert e.value.code == EACCES


def test_message_selection_by_type():
    q = MsgQueue(new_perm(0, ROOT, 0o600), 16384)
    q.messages = [(3, b"c"), (1, b"a"), (2, b"b"), (1, b"a2")]
    assert q.find(0, 0) == 0
    assert q.find(2, 0) == 2
    assert q.find(1, MSG_EXCEPT) == 0
    assert q.find(-2, 0) == 1                    # the lowest type <= 2, first of them
    assert q.find(-(1 << 63), 0) == 1
    assert q.find(3, MSG_COPY) == 3              # MSG_COPY: by position
    assert q.find(4, MSG_COPY) == -1


def test_receive_without_match_and_nowait_is_enomsg_and_a_removed_queue_eidrm():
    msg = MsgIds()
    msqid = msg.get(ROOT, 0, 0o600)

    async def go():
        await msg.send(ROOT, 5, msqid, 1, b"hi", 0)
        with pytest.raises(Errno) as e:
            await msg.receive(ROOT, 5, msqid, 10, 2, IPC_NOWAIT)
        assert e.value.code == ENOMSG
        waiter = asyncio.ensure_future(msg.receive(ROOT, 5, msqid, 10, 2, 0))
        await asyncio.sleep(0)
        msg.remove(msg.ids.get(msqid))
        with pytest.raises(Errno) as e:
            await waiter
        assert e.value.code == EIDRM
    asyncio.run(go())


def test_semop_is_all_or_nothing_and_undo_applies_at_exit():
    sem = SemIds()
    semid = sem.get(ROOT, 0, 2, 0o600)
    sma = sem.ids.get(semid)

    async def go():
        with pytest.raises(Errno):
            await sem.semop(ROOT, 9, semid, [(0, 1, 0), (1, -1, IPC_NOWAIT)], None)
        assert [s.val for s in sma.sems] == [0, 0]
        await sem.semop(ROOT, 9, semid, [(0, 3, SEM_UNDO), (1, 2, 0)], None)
        with pytest.raises(Errno) as e:
            await sem.semop(ROOT, 9, semid, [(1, 32767, 0)], None)
        assert e.value.code == ERANGE
    asyncio.run(go())
    assert [s.val for s in sma.sems] == [3, 2]
    sem.exit_process(9)
    assert [s.val for s in sma.sems] == [0, 2]


def test_sysctls_read_and_write_the_limits():
    ns = IpcNamespace(lambda: None, lambda: [])
    assert ns.sysctl_read("sem") == b"32000\t1024000000\t500\t32000\n"
    assert ns.sysctl_write("msgmnb", b"4096\n") == 5
    assert ns.msg.limits.msgmnb == 4096
    with pytest.raises(Errno):
        ns.sysctl_write("shmmni", b"lots")


def test_sysctl_ranges_of_the_id_limits():
    ns = IpcNamespace(lambda: None, lambda: [])
    for name, text in (("shmmni", b"32769"), ("msgmni", b"40000"), ("sem", b"1 2 3 32769")):
        with pytest.raises(Errno) as e:
            ns.sysctl_write(name, text)
        assert e.value.code == EINVAL
    ns.sysctl_write("sem", b"250 32000 32 128")
    assert ns.sysctl_read("sem") == b"250\t32000\t32\t128\n"
