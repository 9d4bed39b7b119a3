"""Struct printers in strace's abbreviated form (without -v): stat, timespec, pollfd,
iovec, msghdr, sockaddr, termios, winsize, utsname, rlimit, sigaction, wait status.

Each takes the task and a user address (plus what it needs to know) and returns the text;
an address that cannot be read prints as the pointer, as strace does. A printer of one
fixed-size struct is written as a function of its fields (@fields)."""
from __future__ import annotations

import functools
import socket
import struct
from typing import Callable

from moss_host.errors import Errno

from . import flags as F
from . import signames
from .text import MAX_STRLEN, buffer, pointer, quote


def _read(task, addr: int, n: int) -> bytes | None:
    if addr == 0:
        return None
    try:
        return task.mm.read(addr, n)
    except Errno:
        return None


def _unreadable(addr: int) -> str:
    return pointer(addr)


def fields(fmt: str) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """A printer of the struct `fmt` describes: the decorated function gets its fields
    (and any extra arguments after the address); an unreadable address prints as a pointer."""
    layout = struct.Struct(fmt)

    def wrap(show: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(show)
        def printer(task, addr: int, *extra) -> str:
            raw = _read(task, addr, layout.size)
            return _unreadable(addr) if raw is None else show(*layout.unpack(raw), *extra)
        return printer
    return wrap


def _cx(v: int) -> str:
    """C's %#x: 0 stays 0."""
    return hex(v) if v else "0"


# -- stat (arm64 struct stat: the generic layout, 128 bytes) --------------------------------

@fields("<16xI12xQ8xq72x")
def stat(mode: int, rdev: int, size: int) -> str:
    if mode & F.S_IFMT in (0o20000, 0o60000):
        major, minor = rdev >> 8 & 0xFFF, (rdev & 0xFF) | (rdev >> 12 & ~0xFF)
        return f"{{st_mode={F.file_mode(mode)}, st_rdev=makedev({_cx(major)}, {_cx(minor)}), ...}}"
    return f"{{st_mode={F.file_mode(mode)}, st_size={size}, ...}}"


@fields("<I24xH10xQ208x")
def statx(mask: int, mode: int, size: int) -> str:
    return f"{{stx_mask={mask:#x}, stx_attributes=0, stx_mode={F.file_mode(mode)}, stx_size={size}, ...}}"


# -- time ---------------------------------------------------------------------------------

@fields("<qq")
def timespec(sec: int, nsec: int) -> str:
    return f"{{tv_sec={sec}, tv_nsec={nsec}}}"


@fields("<qq")
def timeval(sec: int, usec: int) -> str:
    return f"{{tv_sec={sec}, tv_usec={usec}}}"


def itimerspec(task, addr: int) -> str:
    if _read(task, addr, 32) is None:
        return _unreadable(addr)
    return f"{{it_interval={timespec(task, addr)}, it_value={timespec(task, addr + 16)}}}"


def rusage(task, addr: int) -> str:
    if _read(task, addr, 32) is None:
        return _unreadable(addr)
    return f"{{ru_utime={timeval(task, addr)}, ru_stime={timeval(task, addr + 16)}, ...}}"


# -- poll ---------------------------------------------------------------------------------

def pollfds(task, addr: int, n: int, revents: bool = False) -> str:
    """[{fd=3, events=POLLIN}], or after the call only the ready ones with their revents."""
    raw = _read(task, addr, 8 * min(n, MAX_STRLEN))
    if raw is None:
        return _unreadable(addr)
    items = []
    for i in range(len(raw) // 8):
        fd, events, rev = struct.unpack_from("<ihh", raw, 8 * i)
        if revents:
            if rev:
                items.append(f"{{fd={fd}, revents={F.flags(rev & 0xFFFF, F.POLL_EVENTS)}}}")
        else:
            items.append(f"{{fd={fd}, events={F.flags(events & 0xFFFF, F.POLL_EVENTS)}}}")
    more = ", ..." if n > MAX_STRLEN else ""
    return "[" + ", ".join(items) + more + "]"


@fields("<I4xQ")
def epoll_event(events: int, data: int) -> str:
    return f"{{events={F.flags(events, F.EPOLL_EVENTS)}, data={{u32={data & 0xFFFFFFFF}, u64={data}}}}}"


# -- iovec, msghdr, sockaddr --------------------------------------------------------------

def iovecs(task, addr: int, count: int, data_len: int | None = None) -> str:
    """[{iov_base="...", iov_len=3}, ...]; `data_len` bytes in all are shown (a read's result)."""
    raw = _read(task, addr, 16 * min(count, MAX_STRLEN))
    if raw is None:
        return _unreadable(addr)
    left = data_len
    items = []
    for i in range(len(raw) // 16):
        base, length = struct.unpack_from("<QQ", raw, 16 * i)
        shown = length if left is None else min(length, left)
        if left is not None:
            left -= shown
        items.append(f"{{iov_base={buffer(task, base, shown) if base else 'NULL'}, iov_len={length}}}")
    more = ", ..." if count > MAX_STRLEN else ""
    return "[" + ", ".join(items) + more + "]"


def sockaddr(task, addr: int, length: int) -> str:
    if addr == 0:
        return "NULL"
    raw = _read(task, addr, min(max(length, 2), 128))
    if raw is None:
        return _unreadable(addr)
    family, = struct.unpack_from("<H", raw, 0)
    fam = F.AF.get(family, str(family))
    if family == 1:
        path = raw[2:]
        if path[:1] == b"\0" and length > 2:
            return f"{{sa_family={fam}, sun_path=@{quote(path[1:length - 2])}}}"
        name = path.split(b"\0")[0]
        return f"{{sa_family={fam}, sun_path={quote(name)}}}"
    if family == 2 and len(raw) >= 8:
        port, = struct.unpack_from(">H", raw, 2)
        return f'{{sa_family={fam}, sin_port=htons({port}), sin_addr=inet_addr("{socket.inet_ntoa(raw[4:8])}")}}'
    if family == 10 and len(raw) >= 24:
        port, = struct.unpack_from(">H", raw, 2)
        flow, = struct.unpack_from(">I", raw, 4)
        a6 = socket.inet_ntop(socket.AF_INET6, raw[8:24])
        return (f'{{sa_family={fam}, sin6_port=htons({port}), sin6_flowinfo=htonl({flow}), '
                f'inet_pton({fam}, "{a6}", &sin6_addr), sin6_scope_id=0}}')
    return f"{{sa_family={fam}, sa_data={quote(raw[2:length])}}}"


def _cmsgs(task, addr: int, length: int) -> str:
    raw = _read(task, addr, min(length, 256))
    if raw is None:
        return _unreadable(addr)
    items, off = [], 0
    while off + 16 <= len(raw):
        clen, level, ctype = struct.unpack_from("<Qii", raw, off)
        if clen < 16:
            break
        data = raw[off + 16: off + clen]
        text = f"{{cmsg_len={clen}, cmsg_level={F.SOL.get(level, level)}"
        if level == 1 and ctype == 1:
            fds = struct.unpack(f"<{len(data) // 4}i", data[:len(data) // 4 * 4])
            text += f", cmsg_type=SCM_RIGHTS, cmsg_data=[{', '.join(map(str, fds))}]}}"
        else:
            text += f", cmsg_type={F.SCM.get(ctype, ctype) if level == 1 else ctype}, cmsg_data=...}}"
        items.append(text)
        off += (clen + 7) & ~7
    return "[" + ", ".join(items) + "]"


def msghdr(task, addr: int, data_len: int | None = None) -> str:
    raw = _read(task, addr, 56)
    if raw is None:
        return _unreadable(addr)
    name, namelen, iov, iovlen, control, controllen, mflags = struct.unpack_from("<QI4xQQQQi", raw)
    parts = [f"msg_name={sockaddr(task, name, namelen)}", f"msg_namelen={namelen}",
             f"msg_iov={iovecs(task, iov, iovlen, data_len)}", f"msg_iovlen={iovlen}"]
    if controllen:
        parts.append(f"msg_control={_cmsgs(task, control, controllen)}")
    parts += [f"msg_controllen={controllen}", f"msg_flags={F.flags(mflags & 0xFFFFFFFF, F.MSG_FLAGS)}"]
    return "{" + ", ".join(parts) + "}"


@fields("<ii")
def fd_pair(a: int, b: int) -> str:
    return f"[{a}, {b}]"


@fields("<i")
def int_ptr(v: int) -> str:
    return f"[{v}]"


# -- terminals ----------------------------------------------------------------------------

IFLAG: F.FlagTable = [(1, "IGNBRK"), (2, "BRKINT"), (4, "IGNPAR"), (8, "PARMRK"), (0x10, "INPCK"),
                      (0x20, "ISTRIP"), (0x40, "INLCR"), (0x80, "IGNCR"), (0x100, "ICRNL"),
                      (0x200, "IUCLC"), (0x400, "IXON"), (0x800, "IXANY"), (0x1000, "IXOFF"),
                      (0x2000, "IMAXBEL"), (0x4000, "IUTF8")]
OFLAG_BITS: F.FlagTable = [(1, "OPOST"), (2, "OLCUC"), (4, "ONLCR"), (8, "OCRNL"), (0x10, "ONOCR"),
                           (0x20, "ONLRET"), (0x40, "OFILL"), (0x80, "OFDEL")]
# strace's order (xlat/term_lflags.in), not the bits' own
LFLAG: F.FlagTable = [(1, "ISIG"), (2, "ICANON"), (4, "XCASE"), (8, "ECHO"), (0x10, "ECHOE"),
                      (0x20, "ECHOK"), (0x40, "ECHONL"), (0x80, "NOFLSH"), (0x8000, "IEXTEN"),
                      (0x200, "ECHOCTL"), (0x400, "ECHOPRT"), (0x800, "ECHOKE"), (0x1000, "FLUSHO"),
                      (0x4000, "PENDIN"), (0x100, "TOSTOP"), (0x10000, "EXTPROC")]
CFLAG_BITS: F.FlagTable = [(0x40, "CSTOPB"), (0x80, "CREAD"), (0x100, "PARENB"), (0x200, "PARODD"),
                           (0x400, "HUPCL"), (0x800, "CLOCAL"), (0x80000000, "CRTSCTS")]
BAUDS = {0: "B0", 1: "B50", 2: "B75", 3: "B110", 4: "B134", 5: "B150", 6: "B200", 7: "B300",
         8: "B600", 9: "B1200", 10: "B1800", 11: "B2400", 12: "B4800", 13: "B9600", 14: "B19200",
         15: "B38400", 0o10001: "B57600", 0o10002: "B115200", 0o10003: "B230400"}


def _oflag(v: int) -> str:
    delays = [f"NL{v >> 8 & 1}", f"CR{v >> 9 & 3}", f"TAB{v >> 11 & 3}", f"BS{v >> 13 & 1}",
              f"VT{v >> 14 & 1}", f"FF{v >> 15 & 1}"]
    rest = F.flags(v & 0xFF, OFLAG_BITS, "")
    return "|".join(delays + ([rest] if rest else []))


def _cflag(v: int) -> str:
    parts = [BAUDS.get(v & 0o10017, hex(v & 0o10017)), f"CS{5 + (v >> 4 & 3)}"]
    rest = F.flags(v & ~0o10077, CFLAG_BITS, "")
    return "|".join(parts + ([rest] if rest else []))


@fields("<IIII20x")
def termios(i: int, o: int, c: int, lf: int) -> str:
    return (f"{{c_iflag={F.flags(i, IFLAG)}, c_oflag={_oflag(o)}, c_cflag={_cflag(c)}, "
            f"c_lflag={F.flags(lf, LFLAG)}, ...}}")


@fields("<HHHH")
def winsize(r: int, c: int, x: int, y: int) -> str:
    return f"{{ws_row={r}, ws_col={c}, ws_xpixel={x}, ws_ypixel={y}}}"


# -- identity and limits ------------------------------------------------------------------

@fields("<65s65s")
def utsname(sysname: bytes, nodename: bytes) -> str:
    sysname, nodename = sysname.split(b"\0")[0], nodename.split(b"\0")[0]
    return f"{{sysname={quote(sysname)}, nodename={quote(nodename)}, ...}}"


RLIM_INFINITY = (1 << 64) - 1


def rlim(v: int) -> str:
    if v == RLIM_INFINITY:
        return "RLIM64_INFINITY"
    return f"{v // 1024}*1024" if v > 1024 and v % 1024 == 0 else str(v)


@fields("<QQ")
def rlimit(cur: int, mx: int) -> str:
    return f"{{rlim_cur={rlim(cur)}, rlim_max={rlim(mx)}}}"


# -- signals ------------------------------------------------------------------------------

def sa_handler(v: int) -> str:
    return {0: "SIG_DFL", 1: "SIG_IGN"}.get(v, hex(v))


@fields("<QQQQ")
def sigaction(handler: int, flags: int, restorer: int, mask: int) -> str:
    """arm64's kernel struct sigaction: handler, flags, restorer, mask."""
    text = (f"{{sa_handler={sa_handler(handler)}, sa_mask={signames.sigset(mask)}, "
            f"sa_flags={F.flags(flags & 0xFFFFFFFF, F.SA_FLAGS)}")
    if flags & 0x04000000:
        text += f", sa_restorer={restorer:#x}"
    return text + "}"


@fields("<Q")
def sigset(mask: int, size: int = 8) -> str:
    return signames.sigset(mask, min(size, 8) or 8)


@fields("<Qi4xQ")
def stack_t(sp: int, flags: int, size: int) -> str:
    return f"{{ss_sp={pointer(sp)}, ss_flags={F.flags(flags & 0xFFFFFFFF, F.SS_FLAGS)}, ss_size={size}}}"


def wait_status(status: int) -> str:
    """[{WIFEXITED(s) && WEXITSTATUS(s) == 3}] without the brackets."""
    sig = status & 0x7F
    if sig == 0:
        return f"{{WIFEXITED(s) && WEXITSTATUS(s) == {status >> 8 & 0xFF}}}"
    if sig == 0x7F:
        return f"{{WIFSTOPPED(s) && WSTOPSIG(s) == {signames.name(status >> 8 & 0xFF)}}}" + (
            f" | {status >> 16:#x} << 16" if status >> 16 else "")
    if status == 0xFFFF:
        return "{WIFCONTINUED(s)}"
    core = " && WCOREDUMP(s)" if status & 0x80 else ""
    return f"{{WIFSIGNALED(s) && WTERMSIG(s) == {signames.name(sig)}{core}}}"


@fields("<I")
def wait_status_at(status: int) -> str:
    return "[" + wait_status(status) + "]"
