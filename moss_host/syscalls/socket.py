"""Socket syscalls (Linux's net/socket.c): decode the arguments, find the socket, call moss_host/net.

Descriptors go through sockfd_lookup (EBADF, then ENOTSOCK); addresses are copied in as
move_addr_to_kernel does (EINVAL beyond sizeof(struct sockaddr_storage)) and out as
move_addr_to_user (the caller's length read first, the full length written back); msghdrs
and their control buffers are arm64's 64-bit layouts. EPIPE from a stream socket raises
SIGPIPE here unless MSG_NOSIGNAL.
"""
from __future__ import annotations

import asyncio
import struct
from typing import Optional

from moss_host.addr import USER_VA_END
from moss_host.cred import capable, fs_cred
from moss_host.errors import EAGAIN, EFAULT, EINVAL, EMSGSIZE, ENOBUFS, ENOTSOCK, EOPNOTSUPP, ERESTARTSYS, Errno
from moss_host.fs.fdtable import fd_arg
from moss_host.fs.file import O_NONBLOCK, OpenFile
from moss_host.net import inet, netlink, unix  # noqa: F401  (inet and netlink register their families)
from moss_host.net.scm import build_control, parse_control
from moss_host.net.socket import (AF_UNIX, MSG_CMSG_CLOEXEC, MSG_DONTWAIT, MSG_NOSIGNAL, SOCK_CLOEXEC,
                                  SOCK_NONBLOCK, SOCK_TYPE_MASK, Received, Socket, UCred, Who,
                                  create_socket)
from moss_host.proc.signals import SIGPIPE, send_thread_signal
from moss_host.sched.parked import Parked

from .args import Fd, Hex, Int, Ptr, Size, UInt
from .fd_pair import install_pair
from .table import SLOW, syscall

RLIMIT_NOFILE = 7
SOCKADDR_STORAGE = 128
MAX_RW_COUNT = 0x7FFFF000           # as syscalls/fs.py: Linux's cap on one transfer
UIO_MAXIOV = 1024
IOVEC = struct.Struct("<QQ")
SOMAXCONN = 4096
INT = struct.Struct("<i")
# struct msghdr: name, namelen, iov, iovlen, control, controllen, flags
MSGHDR = struct.Struct("<QI4xQQQQi4x")
MSG_FLAGS_OFFSET = 48
MMSGHDR_SIZE = 64                   # struct mmsghdr: a msghdr and its unsigned msg_len, padded
MSG_WAITFORONE = 0x10000
MSG_CONTROLLEN_OFFSET = 40
MSG_NAMELEN_OFFSET = 8


def who_of(task) -> Who:
    c = task.creds
    pid = task.tgid
    return Who(task.fs, fs_cred(c), task, pid, UCred(pid, c.euid, c.egid), UCred(pid, c.uid, c.gid),
               ({c.uid, c.euid, c.suid}, {c.gid, c.egid, c.sgid}), capable(c),
               lambda n: task.kernel.pids.get(n) is not None, task.rlimits[RLIMIT_NOFILE][0])


def sockfd(task, fd: int) -> Socket:
    """sockfd_lookup: EBADF for no descriptor, ENOTSOCK for a file that is not a socket."""
    f = task.files.get(fd_arg(fd))
    if not f.is_socket:
        raise Errno(ENOTSOCK)
    assert isinstance(f, Socket)
    return f


def addr_in(task, ptr: int, length: int) -> bytes:
    """move_addr_to_kernel: at most a sockaddr_storage."""
    length &= 0xFFFF_FFFF
    if length > SOCKADDR_STORAGE:
        raise Errno(EINVAL)
    if length == 0:
        return b""
    return task.mm.read(ptr, length)


def addr_out(task, addr: bytes, ptr: int, len_ptr: int) -> None:
    """move_addr_to_user: copy what fits the caller's length, then write the full length."""
    (room,) = INT.unpack(task.mm.read(len_ptr, 4))
    if room < 0:
        raise Errno(EINVAL)
    n = min(room, len(addr))
    if n:
        task.mm.write(ptr, addr[:n])
    task.mm.write(len_ptr, INT.pack(len(addr)))


def _send_sigpipe(task) -> None:
    if task.pending is not None and task.pending is asyncio.current_task():
        asyncio.get_running_loop().call_soon(send_thread_signal, task, SIGPIPE)
    else:
        send_thread_signal(task, SIGPIPE)       # send_sig(SIGPIPE, current)


async def _send(task, sock: Socket, data: bytes, addr: Optional[bytes], flags: int, who: Optional[Who],
                files: Optional[list[OpenFile]] = None, claimed: Optional[UCred] = None) -> int:
    if sock.flags & O_NONBLOCK:
        flags |= MSG_DONTWAIT
    c = task.creds
    try:
        return await sock.sendmsg(data, addr, flags, who, files, UCred(task.tgid, c.uid, c.gid), claimed)
    except unix.SigPipe:
        if not flags & MSG_NOSIGNAL:
            _send_sigpipe(task)
        raise


async def socket_write(task, sock: OpenFile, data: bytes) -> int:
    """write/writev/sendfile to a socket (syscalls/fs.py sends socket writes here): a send
    without flags that carries the writer's credentials."""
    assert isinstance(sock, Socket)
    return await _send(task, sock, data, None, 0, None)


def unix_read_now(task, sock: "unix.UnixSocket", buf: int, count: int):
    """read of a connected AF_UNIX stream socket (syscalls/fs.py's synchronous try; count > 0,
    buf checked): what is queued (the end of file, the pending error) at once; an empty queue
    parks the reader (sched/parked.py) under a watch of the socket's wait queue, which the
    peer's write (or shutdown, or close) calls inline: the reader is answered there. SLOW for
    what read_now does not cover. The async path's sleep took a future, a Task step and a
    done callback, two loop turns before the reply."""
    if not sock.reads_now:
        return SLOW
    got = sock.read_now(count)
    if got is not None:
        return _deliver(task, buf, got)
    if sock.flags & O_NONBLOCK:
        raise Errno(EAGAIN)
    return _park_read(task, sock, buf, count)


def _deliver(task, buf: int, got: Received) -> int:
    """A plain read's answer: files in flight close (no control buffer for them), the bytes
    go to buf (EFAULT: they are lost, as the async read's are)."""
    for f in got.files:
        f.put()
    task.mm.write(buf, got.data)
    return got.count


def _park_read(task, sock: "unix.UnixSocket", buf: int, count: int) -> Parked:
    stops: list = []
    parked: Parked

    def stop() -> None:
        if stops:
            stops.pop()()

    def woken(key: int = 0) -> bool:
        if not parked.wakeable(woken):
            return False
        if not sock.reads_now:
            stop()                      # (an urgent byte, a timeout set meanwhile: the read
            parked.finish(-ERESTARTSYS)     # starts again and takes the async path)
            return True
        try:
            got = sock.read_now(count)
            if got is None:
                return False
            result = _deliver(task, buf, got)
        except Errno as e:
            result = -e.code
        stop()
        parked.finish(result)
        return True

    def interrupted() -> int:
        stop()
        return -ERESTARTSYS             # as sock_wait's: SA_RESTART restarts it, else EINTR

    parked = Parked(task, interrupted)
    stops.append(sock.wq.watch(woken))
    return parked


async def _recv(sock: Socket, n: int, flags: int) -> Received:
    if sock.flags & O_NONBLOCK:
        flags |= MSG_DONTWAIT
    return await sock.recvmsg(n, flags)


# ---------------------------------------------------------------- creating and naming

@syscall("socket")
def socket(task, family: "Int", type_: "Hex", protocol: "Int") -> int:
    """A new socket of family and type (SOCK_NONBLOCK/SOCK_CLOEXEC in type's high bits)."""
    flags = type_ & 0xFFFF_FFFF & ~SOCK_TYPE_MASK
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise Errno(EINVAL)
    sock = create_socket(_int(family), type_ & SOCK_TYPE_MASK, _int(protocol), flags, who_of(task))
    try:
        return task.files.install(sock, cloexec=bool(flags & SOCK_CLOEXEC))
    except BaseException:
        sock.release()
        raise


@syscall("socketpair")
def socketpair(task, family: "Int", type_: "Hex", protocol: "Int", sv: "Ptr") -> int:
    """Two connected sockets; their descriptors go to sv (int[2])."""
    flags = type_ & 0xFFFF_FFFF & ~SOCK_TYPE_MASK
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise Errno(EINVAL)
    who = who_of(task)
    probe = create_socket(_int(family), type_ & SOCK_TYPE_MASK, _int(protocol), flags, who)
    probe.release()                     # the family's checks, in __sock_create's order
    if _int(family) != AF_UNIX:
        raise Errno(EOPNOTSUPP)         # a family without socketpair
    install_pair(task, sv, lambda: unix.socketpair(probe.type, flags, who), bool(flags & SOCK_CLOEXEC))
    return 0


@syscall("bind")
def bind(task, fd: "Fd", addr: "Ptr", addrlen: "Int") -> int:
    """Give the socket a name (a path, an abstract name, or an automatic one)."""
    sock = sockfd(task, fd)
    sock.bind(addr_in(task, addr, addrlen), who_of(task))
    return 0


@syscall("listen")
def listen(task, fd: "Fd", backlog: "Int") -> int:
    """Accept connections, up to backlog (capped at somaxconn) waiting."""
    sock = sockfd(task, fd)
    backlog &= 0xFFFF_FFFF
    sock.listen(min(backlog, SOMAXCONN), who_of(task))
    return 0


@syscall("getsockname")
def getsockname(task, fd: "Fd", addr: "Ptr", addrlen: "Ptr") -> int:
    """The socket's own address."""
    addr_out(task, sockfd(task, fd).getname(False), addr, addrlen)
    return 0


@syscall("getpeername")
def getpeername(task, fd: "Fd", addr: "Ptr", addrlen: "Ptr") -> int:
    """The connected peer's address; ENOTCONN without one."""
    addr_out(task, sockfd(task, fd).getname(True), addr, addrlen)
    return 0


# ---------------------------------------------------------------- connections

@syscall("connect")
async def connect(task, fd: "Fd", addr: "Ptr", addrlen: "Int") -> int:
    """Connect to the socket named by addr (datagram: set the default destination)."""
    sock = sockfd(task, fd)
    await sock.connect(addr_in(task, addr, addrlen), who_of(task))
    return 0


@syscall("accept")
async def accept(task, fd: "Fd", addr: "Ptr", addrlen: "Ptr") -> int:
    """accept4 without flags."""
    return await _accept(task, fd, addr, addrlen, 0)


@syscall("accept4")
async def accept4(task, fd: "Fd", addr: "Ptr", addrlen: "Ptr", flags: "Hex") -> int:
    """Take a pending connection as a new socket descriptor (SOCK_NONBLOCK/SOCK_CLOEXEC)."""
    return await _accept(task, fd, addr, addrlen, flags)


async def _accept(task, fd: int, addr: int, addrlen: int, flags: int) -> int:
    f = task.files.get(fd_arg(fd))
    flags &= 0xFFFF_FFFF
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        raise Errno(EINVAL)
    files = task.files
    newfd = files.alloc_fd()
    try:
        if not f.is_socket:
            raise Errno(ENOTSOCK)
        assert isinstance(f, Socket)
        new = await f.accept(flags, who_of(task))
    except BaseException:
        files.release_reserved(newfd)
        raise
    try:
        if addr:
            addr_out(task, new.getname(True), addr, addrlen)
    except BaseException:
        files.release_reserved(newfd)
        new.release()
        raise
    return files.install_at_reserved(newfd, new, bool(flags & SOCK_CLOEXEC))


@syscall("shutdown")
def shutdown(task, fd: "Fd", how: "Int") -> int:
    """Close one or both directions of a connection."""
    sockfd(task, fd).shutdown(_int(how))
    return 0


# ---------------------------------------------------------------- options

@syscall("setsockopt")
def setsockopt(task, fd: "Fd", level: "Int", name: "Int", value: "Ptr", length: "Int") -> int:
    """Set a socket option from length bytes at value."""
    sock = sockfd(task, fd)
    length = _int(length)
    if length < 0:
        raise Errno(EINVAL)
    data = task.mm.read(value, min(length, 256)) if length else b""
    sock.setsockopt(_int(level), _int(name), data)
    return 0


@syscall("getsockopt")
def getsockopt(task, fd: "Fd", level: "Int", name: "Int", value: "Ptr", length_ptr: "Ptr") -> int:
    """Copy an option's value (as much as *length_ptr allows) and its length."""
    sock = sockfd(task, fd)
    (room,) = INT.unpack(task.mm.read(length_ptr, 4))
    if room < 0:
        raise Errno(EINVAL)
    data = sock.getsockopt(_int(level), _int(name))[:room]
    task.mm.write(value, data)
    task.mm.write(length_ptr, INT.pack(len(data)))
    return 0


# ---------------------------------------------------------------- data

@syscall("sendto")
async def sendto(task, fd: "Fd", buf: "Ptr", length: "Size", flags: "Hex", addr: "Ptr", addrlen: "Int") -> int:
    """Send length bytes from buf (to addr, for an unconnected datagram socket)."""
    length = min(length, MAX_RW_COUNT)
    _check_user_range(buf, length)
    sock = sockfd(task, fd)
    dest = addr_in(task, addr, addrlen) if addr else None
    data = task.mm.read(buf, length) if length else b""
    who = who_of(task) if dest else None
    return await _send(task, sock, data, dest, flags & 0xFFFF_FFFF, who)


@syscall("recvfrom")
async def recvfrom(task, fd: "Fd", buf: "Ptr", length: "Size", flags: "Hex", addr: "Ptr", addrlen: "Ptr") -> int:
    """Receive up to length bytes into buf; the sender's address to addr when asked."""
    length = min(length, MAX_RW_COUNT)
    _check_user_range(buf, length)
    sock = sockfd(task, fd)
    got = await _recv(sock, length, flags & 0xFFFF_FFFF)
    for f in got.files:                 # no control buffer: files in flight are closed
        f.put()
    if got.data:
        task.mm.write(buf, got.data)
    if addr:
        addr_out(task, got.addr or b"", addr, addrlen)
    return got.count


@syscall("sendmsg")
async def sendmsg(task, fd: "Fd", msg: "Ptr", flags: "Hex") -> int:
    """Send the iovec data of a msghdr, with its address and ancillary data."""
    return await _sendmsg(task, sockfd(task, fd), msg, flags)


async def _sendmsg(task, sock: Socket, msg: int, flags: int) -> int:
    name, namelen, iov, iovlen, control, controllen, _ = MSGHDR.unpack(task.mm.read(msg, MSGHDR.size))
    if iovlen > UIO_MAXIOV:
        raise Errno(EMSGSIZE)
    namelen = _int(namelen) if name else 0
    if namelen < 0:
        raise Errno(EINVAL)
    dest = task.mm.read(name, min(namelen, SOCKADDR_STORAGE)) if namelen else None
    segments = _iovecs(task, iov, iovlen)
    if controllen > 0x7FFF_FFFF:
        raise Errno(ENOBUFS)
    ctl = task.mm.read(control, controllen) if controllen else b""
    who = who_of(task)
    files, creds = parse_control(ctl, task.files.get, who)
    try:
        data = b"".join(task.mm.read(base, n) for base, n in segments if n)
    except BaseException:
        for f in files:
            f.put()
        raise
    return await _send(task, sock, data, dest or None, flags & 0xFFFF_FFFF, who, files, creds)


def _iovecs(task, iov: int, iovcnt: int) -> list[tuple[int, int]]:
    if iovcnt == 0:
        return []
    segments, total = [], 0
    for base, length in IOVEC.iter_unpack(task.mm.read(iov, IOVEC.size * iovcnt)):
        if length >> 63:
            raise Errno(EINVAL)
        _check_user_range(base, length)
        length = min(length, MAX_RW_COUNT - total)
        total += length
        segments.append((base, length))
    return segments


@syscall("recvmsg")
async def recvmsg(task, fd: "Fd", msg: "Ptr", flags: "Hex") -> int:
    """Receive into a msghdr's iovecs: the sender's address, files and credentials, msg_flags."""
    return await _recvmsg(task, sockfd(task, fd), msg, flags & 0xFFFF_FFFF)


async def _recvmsg(task, sock: Socket, msg: int, flags: int) -> int:
    name, namelen, iov, iovlen, control, controllen, _ = MSGHDR.unpack(task.mm.read(msg, MSGHDR.size))
    if iovlen > UIO_MAXIOV:
        raise Errno(EMSGSIZE)
    segments = _iovecs(task, iov, iovlen)
    got = await _recv(sock, sum(n for _, n in segments), flags)
    _scatter_out(task, segments, got.data)
    out_flags = got.flags | (flags & MSG_CMSG_CLOEXEC)
    cloexec = bool(flags & MSG_CMSG_CLOEXEC)
    pieces, used, ctl_flags = build_control(controllen, bool(control), got.creds, got.files,
                                            lambda f: task.files.install(f, cloexec=cloexec), got.control)
    for offset, data in pieces:
        task.mm.write(control + offset, data)
    if name:
        addr = got.addr or b""
        n = min(namelen & 0xFFFF_FFFF, len(addr))
        if n:
            task.mm.write(name, addr[:n])
        task.mm.write(msg + MSG_NAMELEN_OFFSET, INT.pack(len(addr)))
    task.mm.write(msg + MSG_CONTROLLEN_OFFSET, struct.pack("<Q", used))
    task.mm.write(msg + MSG_FLAGS_OFFSET, INT.pack(out_flags | ctl_flags))
    return got.count


@syscall("sendmmsg")
async def sendmmsg(task, fd: "Fd", vec: "Ptr", vlen: "UInt", flags: "Hex") -> int:
    """sendmsg for each of vlen mmsghdrs, each one's count into its msg_len; an error after
    the first is dropped and the count so far returned."""
    sock = sockfd(task, fd)
    vlen = min(vlen & 0xFFFF_FFFF, UIO_MAXIOV)
    done = 0
    while done < vlen:
        entry = vec + done * MMSGHDR_SIZE
        try:
            n = await _sendmsg(task, sock, entry, flags & 0xFFFF_FFFF)
            task.mm.write(entry + MSGHDR.size, struct.pack("<I", n))
        except (Errno, asyncio.CancelledError):
            if done:
                break
            raise
        done += 1
    return done


@syscall("recvmmsg")
async def recvmmsg(task, fd: "Fd", vec: "Ptr", vlen: "UInt", flags: "Hex", timeout: "Ptr") -> int:
    """recvmsg into each of vlen mmsghdrs. MSG_WAITFORONE: only the first may wait. The timeout
    is looked at between messages only (as Linux: the first receive may wait past it); what is
    left of it is written back."""
    deadline = None
    loop = asyncio.get_running_loop()
    if timeout:
        sec, nsec = struct.unpack("<qq", task.mm.read(timeout, 16))
        if sec < 0 or not 0 <= nsec < 1_000_000_000:
            raise Errno(EINVAL)
        deadline = loop.time() + sec + nsec / 1e9
    sock = sockfd(task, fd)
    err = sock.take_error()
    if err:
        raise Errno(err)
    flags &= 0xFFFF_FFFF
    vlen = min(vlen & 0xFFFF_FFFF, UIO_MAXIOV)
    done = 0
    while done < vlen:
        entry = vec + done * MMSGHDR_SIZE
        try:
            n = await _recvmsg(task, sock, entry, flags & ~MSG_WAITFORONE)
            task.mm.write(entry + MSGHDR.size, struct.pack("<I", n))
        except Errno as e:
            if not done:
                raise
            if e.code != EAGAIN:
                sock.err = e.code               # reported by the next call
            break
        except asyncio.CancelledError:
            if done:
                break
            raise
        done += 1
        if flags & MSG_WAITFORONE:
            flags |= MSG_DONTWAIT
        if deadline is not None and loop.time() >= deadline:
            break
    if deadline is not None:
        left = max(0.0, deadline - loop.time())
        task.mm.write(timeout, struct.pack("<qq", int(left), int(left % 1 * 1e9)))
    return done


def _scatter_out(task, segments: list[tuple[int, int]], data: bytes) -> None:
    done = 0
    for base, length in segments:
        if done >= len(data):
            break
        piece = data[done:done + length]
        task.mm.write(base, piece)
        done += len(piece)


def _check_user_range(ua: int, n: int) -> None:
    """access_ok: the whole buffer in the user half."""
    if ua + n > USER_VA_END:
        raise Errno(EFAULT)


def _int(raw: int) -> int:
    """A C int argument from a raw register."""
    raw &= 0xFFFF_FFFF
    return raw - (1 << 32) if raw & 0x8000_0000 else raw

