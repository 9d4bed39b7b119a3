"""The Socket base (Linux's struct socket + the generic part of struct sock) and the family table.

A Socket is an OpenFile: read/write/readv/writev, poll, select and epoll, fstat (S_IFSOCK on
sockfs) and /proc/pid/fd ("socket:[ino]") work on it like on any file. Each family subclasses
it (unix.py; AF_INET later) and overrides the operations it has; the defaults are Linux's
sock_no_* answers (EOPNOTSUPP). socket(2) finds the family's constructor in FAMILIES.

The SOL_SOCKET options every family shares live here (sock_setsockopt/sk_getsockopt); a
family adds its own through get_option/set_option. Addresses cross this layer as the raw
`struct sockaddr` bytes: each family parses its own.
"""
from __future__ import annotations

import asyncio
import itertools
import stat as S
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, Protocol, Sized

from ..cred import Cred
from ..errors import EAFNOSUPPORT, EAGAIN, EDOM, EINTR, EINVAL, ENOPROTOOPT, EOPNOTSUPP, ETOOMANYREFS, Errno
from ..fs.file import O_NONBLOCK, O_RDWR, OpenFile
from ..fs.stat import Stat
from ..fs.vfs import FsContext, StatFs, alloc_internal_dev, now_ns
from ..uapi import TIMEVAL
from ..waitq import WaitQueue

if TYPE_CHECKING:
    from ..proc.task import Task

AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 0, 1, 2, 10, 16
NPROTO = 46                                     # AF_MAX: families at or above are EAFNOSUPPORT
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET, SOCK_DCCP, SOCK_PACKET = 1, 2, 3, 4, 5, 6, 10
SOCK_MAX = 11
SOCK_TYPE_MASK = 0xF
SOCK_NONBLOCK = O_NONBLOCK
SOCK_CLOEXEC = 0o2000000

MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_CTRUNC = 0x1, 0x2, 0x4, 0x8
MSG_TRUNC, MSG_DONTWAIT, MSG_EOR, MSG_WAITALL = 0x20, 0x40, 0x80, 0x100
MSG_ERRQUEUE, MSG_NOSIGNAL, MSG_CMSG_CLOEXEC = 0x2000, 0x4000, 0x4000_0000

SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2
RCV_SHUTDOWN, SEND_SHUTDOWN = 1, 2
SHUTDOWN_MASK = RCV_SHUTDOWN | SEND_SHUTDOWN

SOL_SOCKET = 1
SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, SO_OOBINLINE = 2, 3, 4, 7, 8, 9, 10
SO_PASSCRED, SO_PEERCRED, SO_RCVLOWAT, SO_RCVTIMEO, SO_SNDTIMEO = 16, 17, 18, 20, 21
SO_ACCEPTCONN, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PROTOCOL, SO_DOMAIN = 30, 32, 33, 38, 39

# net.core.{w,r}mem_{default,max}: SK_WMEM_MAX, 256 packets of 256 bytes with their overhead.
WMEM_DEFAULT = WMEM_MAX = RMEM_DEFAULT = RMEM_MAX = 212992
SKB_OVERHEAD = 576                  # what an sk_buff and its shared info add to a buffer's truesize
SOCK_MIN_RCVBUF = 2048 + 256        # TCP_SKB_MIN_TRUESIZE
SOCK_MIN_SNDBUF = 2 * SOCK_MIN_RCVBUF
HZ = 250                            # socket timeouts are kept in jiffies (and read back rounded)
INT = struct.Struct("<i")
UCRED = struct.Struct("<iII")       # struct ucred { pid_t pid; uid_t uid; gid_t gid; }

SOCKFS_DEV = alloc_internal_dev()
SOCKFS_MAGIC = 0x534F434B


def sockfs_statfs() -> StatFs:
    """statfs figures of sockfs, where every socket's inode lives."""
    return StatFs(SOCKFS_MAGIC, 4096, 0, 0, 0, 0, 0, 255, 4096)
_socket_inos = itertools.count(1)


@dataclass(frozen=True)
class UCred:
    """struct ucred: SO_PEERCRED's and SCM_CREDENTIALS' process, user and group."""
    pid: int
    uid: int
    gid: int

    def pack(self) -> bytes:
        return UCRED.pack(self.pid, self.uid & 0xFFFF_FFFF, self.gid & 0xFFFF_FFFF)


NO_CRED = UCred(0, -1, -1)          # cred_to_ucred of no peer: pid 0, uid and gid -1
NO_SCM_CRED = UCred(0, 65534, 65534)    # a message sent without credentials: pid 0, the overflow ids


@dataclass
class Who:
    """The calling process as a socket sees it (sockets know no task): where paths start,
    whom the filesystem checks, the ids SO_PEERCRED (effective) and SCM_CREDENTIALS (real)
    report, and what SCM_CREDENTIALS may claim."""
    fs: FsContext
    cred: Cred
    caller: Optional["Task"]        # the walking task, for the path walk (/proc/self)
    pid: int                        # the thread group id
    peer_cred: UCred                # pid, euid, egid
    scm_cred: UCred                 # pid, uid, gid
    ids: tuple[set[int], set[int]]  # (real, effective, saved) uids and gids: what SCM_CREDENTIALS may name
    privileged: bool                # CAP_SYS_ADMIN/CAP_SETUID/CAP_SETGID
    pid_exists: Callable[[int], bool]   # SCM_CREDENTIALS must name a live process (ESRCH)
    nofile: int                     # RLIMIT_NOFILE: how many files its user may have in flight


# Files in flight per user (real uid): Linux's user->unix_inflight.
INFLIGHT: dict[int, int] = {}


def check_inflight(who: Who) -> None:
    """too_many_unix_fds: a user with more files in flight than RLIMIT_NOFILE sends no more
    (ETOOMANYREFS), unless privileged."""
    if INFLIGHT.get(who.scm_cred.uid, 0) > who.nofile and not who.privileged:
        raise Errno(ETOOMANYREFS)


@dataclass
class Message:
    """What one send puts on a receive queue (an sk_buff): bytes, files in flight, credentials
    (None: sent with none, when neither side asked for them with SO_PASSCRED).
    `consumed` counts bytes a stream reader took already; `sender` is whose address a
    datagram reader sees and whose send buffer the message is charged to."""
    data: bytes
    creds: Optional[UCred]
    sender: Optional["Socket"] = None
    files: list[OpenFile] = field(default_factory=list)
    consumed: int = 0
    owner: Optional[int] = None     # the user (real uid) whose in-flight count the files are charged to

    def __post_init__(self) -> None:
        if self.files and self.owner is not None:
            INFLIGHT[self.owner] = INFLIGHT.get(self.owner, 0) + len(self.files)

    def take_files(self) -> list[OpenFile]:
        """The files leave the message (received or dropped): no longer in flight."""
        files, self.files = self.files, []
        if files and self.owner is not None:
            INFLIGHT[self.owner] -= len(files)
        return files

    @property
    def left(self) -> int:
        return len(self.data) - self.consumed

    def drop_files(self) -> None:
        """The message is discarded: its files in flight are closed (their references dropped)."""
        for f in self.take_files():
            f.put()


@dataclass
class Received:
    """What a recvmsg returns: the bytes, the sender's address (None: none to report), files
    and credentials for the control buffer, msg_flags, and the count the call returns
    (the whole datagram's length under MSG_TRUNC)."""
    data: bytes
    count: int
    addr: Optional[bytes] = None
    files: list[OpenFile] = field(default_factory=list)
    creds: Optional[UCred] = None
    flags: int = 0
    control: tuple[tuple[int, int, bytes], ...] = ()     # the protocol's cmsgs (level, type, data): IP_TTL ...


class Socket(OpenFile):
    """An open socket. Families override the operations they support."""
    family = AF_UNSPEC
    seekable = False

    is_socket = True
    has_fasync = True           # sock_fasync (and SIGURG for urgent data): fs/fasync.py

    def __init__(self, type_: int, protocol: int, flags: int, who: Optional[Who] = None):
        super().__init__(O_RDWR | (flags & O_NONBLOCK))
        self.type = type_
        self.protocol = protocol
        self.ino = next(_socket_inos)
        # The inode's owner (the creator's fs ids) and the credentials a write that names no
        # sender (one not made by a syscall) carries.
        self.owner = (who.cred.uid, who.cred.gid) if who is not None else (0, 0)
        self.creator = who.scm_cred if who is not None else NO_CRED
        self.time_ns = now_ns()
        self.addr: Optional[bytes] = None       # the socket's own address, as getsockname returns it
        self.err = 0                            # sk_err: reported once by the next call or SO_ERROR
        self.sndbuf = WMEM_DEFAULT
        self.rcvbuf = RMEM_DEFAULT
        self.rcvtimeo: Optional[int] = None     # jiffies; None: wait for ever
        self.sndtimeo: Optional[int] = None
        self.reuseaddr = 0
        self.keepalive = 0
        self.oobinline = False              # SO_OOBINLINE: urgent data read in line (SOCK_URGINLINE)
        self.rcvlowat = 1                       # SO_RCVLOWAT: the bytes a stream read waits for
        self.passcred = False

    # -- the operations (sock_no_* where a family has none)
    def bind(self, addr: bytes, who: Who) -> None:
        raise Errno(EOPNOTSUPP)

    def listen(self, backlog: int, who: Who) -> None:
        raise Errno(EOPNOTSUPP)

    async def accept(self, flags: int, who: Who) -> "Socket":
        raise Errno(EOPNOTSUPP)

    async def connect(self, addr: bytes, who: Who) -> None:
        raise Errno(EOPNOTSUPP)

    def shutdown(self, how: int) -> None:
        raise Errno(EOPNOTSUPP)

    def getname(self, peer: bool) -> bytes:
        raise Errno(EOPNOTSUPP)

    async def sendmsg(self, data: bytes, addr: Optional[bytes], flags: int, who: Optional[Who],
                      files: Optional[list[OpenFile]] = None, creds: Optional[UCred] = None,
                      claimed: Optional[UCred] = None) -> int:
        """Send data; `creds` are the sender's own (pid, uid, gid), `claimed` what an
        SCM_CREDENTIALS message says instead, `files` the files in flight (the call owns them)."""
        raise Errno(EOPNOTSUPP)

    async def recvmsg(self, n: int, flags: int) -> Received:
        raise Errno(EOPNOTSUPP)

    def peer_cred(self) -> UCred:
        return NO_CRED

    def uncharge(self, nbytes: int) -> None:
        """A message this socket sent was read or dropped: its send buffer has nbytes back."""

    @property
    def listening(self) -> bool:
        return False

    def take_error(self) -> int:
        """sock_error: the pending error, cleared as it is reported."""
        err, self.err = self.err, 0
        return err

    # -- the file side: read/write are recv/send without flags or address. The syscalls send
    # a write through sendmsg with the writer's Who (its credentials go with the bytes);
    # write() here is for writers that are no task.
    async def read(self, n: int) -> bytes:
        got = await self.recvmsg(n, MSG_DONTWAIT if self.flags & O_NONBLOCK else 0)
        for f in got.files:         # no control buffer to receive them: files in flight close
            f.put()
        return got.data

    async def write(self, data: bytes) -> int:
        return await self.sendmsg(data, None, MSG_DONTWAIT if self.flags & O_NONBLOCK else 0, None)

    @property
    def splice_read(self) -> bool:
        return False

    def stat(self) -> Stat:
        uid, gid = self.owner
        return Stat(st_dev=SOCKFS_DEV, st_ino=self.ino, st_mode=S.S_IFSOCK | 0o777, st_nlink=1,
                    st_uid=uid, st_gid=gid, st_blksize=4096, st_atime_ns=self.time_ns,
                    st_mtime_ns=self.time_ns, st_ctime_ns=self.time_ns)

    # -- SOL_SOCKET options (sock_setsockopt / sk_getsockopt)
    def setsockopt(self, level: int, name: int, value: bytes) -> None:
        if level != SOL_SOCKET:
            raise Errno(EOPNOTSUPP)             # AF_UNIX has no protocol-level options
        if name in (SO_RCVTIMEO, SO_SNDTIMEO):
            timeo = _timeout_from(value)
            if name == SO_RCVTIMEO:
                self.rcvtimeo = timeo
            else:
                self.sndtimeo = timeo
            return
        if len(value) < INT.size:
            raise Errno(EINVAL)
        (val,) = INT.unpack_from(value)
        if name == SO_SNDBUF:
            self.sndbuf = max(min(val & 0xFFFF_FFFF, WMEM_MAX) * 2, SOCK_MIN_SNDBUF)
        elif name == SO_RCVBUF:
            self.rcvbuf = max(min(val & 0xFFFF_FFFF, RMEM_MAX, 0x3FFF_FFFF) * 2, SOCK_MIN_RCVBUF)
        elif name == SO_REUSEADDR:
            self.reuseaddr = int(val != 0)
        elif name == SO_KEEPALIVE:
            self.keepalive = int(val != 0)
        elif name == SO_OOBINLINE:
            self.oobinline = val != 0
        elif name == SO_PASSCRED:
            self.passcred = val != 0
        elif name == SO_RCVLOWAT:
            self.rcvlowat = val if val >= 0 else 0x7FFF_FFFF
        else:
            raise Errno(ENOPROTOOPT)            # unknown, or read-only (SO_TYPE, SO_PEERCRED, ...)

    def getsockopt(self, level: int, name: int) -> bytes:
        """The option's value in full; the syscall copies as much as the caller's length allows."""
        if level != SOL_SOCKET:
            raise Errno(EOPNOTSUPP)
        if name in (SO_RCVTIMEO, SO_SNDTIMEO):
            return _timeval_of(self.rcvtimeo if name == SO_RCVTIMEO else self.sndtimeo)
        if name == SO_PEERCRED:
            return self.peer_cred().pack()
        ints: dict[int, Callable[[], int]] = {
            SO_TYPE: lambda: self.type, SO_PROTOCOL: lambda: self.protocol,
            SO_DOMAIN: lambda: self.family, SO_ERROR: self.take_error,
            SO_SNDBUF: lambda: self.sndbuf, SO_RCVBUF: lambda: self.rcvbuf,
            SO_REUSEADDR: lambda: self.reuseaddr, SO_KEEPALIVE: lambda: self.keepalive,
            SO_OOBINLINE: lambda: int(self.oobinline),
            SO_PASSCRED: lambda: int(self.passcred), SO_ACCEPTCONN: lambda: int(self.listening),
            SO_RCVLOWAT: lambda: self.rcvlowat,
        }
        get = ints.get(name)
        if get is None:
            raise Errno(ENOPROTOOPT)
        return INT.pack(get())


def _timeout_from(value: bytes) -> Optional[int]:
    """sock_set_timeout: a struct timeval to jiffies; 0 means for ever, a negative time no wait."""
    if len(value) < TIMEVAL.size:
        raise Errno(EINVAL)
    sec, usec = TIMEVAL.unpack_from(value)
    if usec < 0 or usec >= 1_000_000:
        raise Errno(EDOM)
    if sec < 0:
        return 0
    if sec == 0 and usec == 0:
        return None
    return sec * HZ + -(-usec // (1_000_000 // HZ))


def _timeval_of(timeo: Optional[int]) -> bytes:
    if timeo is None:
        return TIMEVAL.pack(0, 0)
    return TIMEVAL.pack(timeo // HZ, (timeo % HZ) * 1_000_000 // HZ)


def timeout_seconds(timeo: Optional[int], nonblock: bool) -> Optional[float]:
    """sock_rcvtimeo/sock_sndtimeo: how long a call may wait (0: not at all; None: for ever)."""
    if nonblock:
        return 0.0
    return None if timeo is None else timeo / HZ


async def sock_wait(wq: WaitQueue, ready: Callable[[], bool], timeout: Optional[float]) -> None:
    """Wait on wq until ready(): EAGAIN when the socket's timeout (0: non-blocking) runs out.
    A signal restarts the call, or (with a timeout set) makes it EINTR, as sock_intr_errno."""
    if timeout == 0:
        raise Errno(EAGAIN)
    try:
        if not await wq.wait_until(ready, timeout):
            raise Errno(EAGAIN)
    except asyncio.CancelledError:
        if timeout is not None:
            raise Errno(EINTR) from None
        raise


class DatagramReceiver(Protocol):
    """What wait_for_datagram needs of a socket (UnixSocket, UdpSocket and its ICMP kin)."""
    shut: int
    err: int
    wq: WaitQueue

    def take_error(self) -> int: ...


async def wait_for_datagram(sock: DatagramReceiver, queue: Sized, timeout: Optional[float],
                            eof_even_nonblocking: bool = False) -> bool:
    """__skb_recv_datagram's wait: True once a datagram is queued; False at end of file (shut
    down for reading; a non-blocking read gets EAGAIN there instead, except where
    eof_even_nonblocking: SOCK_SEQPACKET). A pending error is reported first, as
    __skb_try_recv_datagram's sock_error."""
    while True:
        err = sock.take_error()
        if err:
            raise Errno(err)
        if queue:
            return True
        if sock.shut & RCV_SHUTDOWN and (timeout != 0 or eof_even_nonblocking):
            return False
        await sock_wait(sock.wq, lambda: bool(queue or sock.err or sock.shut & RCV_SHUTDOWN), timeout)


# ---------------------------------------------------------------- the family table

# socket(2)'s constructors by family: create(type, protocol, flags, who) -> Socket
Creator = Callable[[int, int, int, Who], Socket]
FAMILIES: dict[int, Creator] = {}


def register_family(family: int, create: Creator) -> None:
    FAMILIES[family] = create


def create_socket(family: int, type_: int, protocol: int, flags: int, who: Who) -> Socket:
    """__sock_create's checks in Linux's order, then the family's own (type, protocol)."""
    if family < 0 or family >= NPROTO:
        raise Errno(EAFNOSUPPORT)
    if type_ < 0 or type_ >= SOCK_MAX:
        raise Errno(EINVAL)
    create = FAMILIES.get(family)
    if create is None:
        raise Errno(EAFNOSUPPORT)
    return create(type_, protocol, flags, who)

