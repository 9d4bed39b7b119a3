"""Ancillary data (Linux's net/core/scm.c): SCM_RIGHTS and SCM_CREDENTIALS in a msghdr's control buffer.

Sending: parse_control walks the cmsghdrs as __scm_send does (a malformed header is EINVAL,
other levels are skipped) and returns the files named (one reference each, taken here) and
the credentials claimed (checked as scm_check_creds). Receiving: build_control lays out
what scm_recv writes: the credentials when SO_PASSCRED is on, then as many descriptors as
fit (installed through the caller's `install`), MSG_CTRUNC when something did not fit.
Layouts are arm64's: struct cmsghdr { size_t len; int level; int type; }, 8-byte alignment.
"""
from __future__ import annotations

import struct
from typing import Callable, Optional, Sequence

from ..errors import EBADF, EINVAL, EPERM, ESRCH, Errno
from ..fs.file import OpenFile
from .socket import MSG_CTRUNC, SOL_SOCKET, UCRED, UCred, Who

SCM_RIGHTS, SCM_CREDENTIALS = 1, 2
SCM_MAX_FD = 253
CMSGHDR = struct.Struct("<Qii")
INT = struct.Struct("<i")


def cmsg_align(n: int) -> int:
    return (n + 7) & ~7


def cmsg_len(n: int) -> int:
    return CMSGHDR.size + n


def cmsg_space(n: int) -> int:
    return CMSGHDR.size + cmsg_align(n)


def parse_control(control: bytes, get_file: Callable[[int], OpenFile],
                  who: Who) -> tuple[list[OpenFile], Optional[UCred]]:
    """The files (referenced) and credentials a sendmsg's control buffer carries."""
    files: list[OpenFile] = []
    creds: Optional[UCred] = None
    try:
        offset = 0
        while offset + CMSGHDR.size <= len(control):
            length, level, type_ = CMSGHDR.unpack_from(control, offset)
            if length < CMSGHDR.size or length > len(control) - offset:
                raise Errno(EINVAL)             # !CMSG_OK
            if level == SOL_SOCKET:
                body = control[offset + CMSGHDR.size:offset + length]
                if type_ == SCM_RIGHTS:
                    _take_files(body, get_file, files)
                elif type_ == SCM_CREDENTIALS:
                    if length != cmsg_len(UCRED.size):
                        raise Errno(EINVAL)
                    creds = _checked_creds(UCred(*UCRED.unpack(body)), who)
                    if not who.pid_exists(creds.pid):
                        raise Errno(ESRCH)
                else:
                    raise Errno(EINVAL)
            offset += cmsg_align(length)
    except BaseException:
        for f in files:
            f.put()
        raise
    return files, creds


def _take_files(body: bytes, get_file: Callable[[int], OpenFile], files: list[OpenFile]) -> None:
    """scm_fp_copy: at most SCM_MAX_FD descriptors per message; each must be open (EBADF)."""
    count = len(body) // INT.size
    if count <= 0:
        return
    if count > SCM_MAX_FD or len(files) + count > SCM_MAX_FD:
        raise Errno(EINVAL)
    for (fd,) in INT.iter_unpack(body[:count * INT.size]):
        if fd < 0:
            raise Errno(EBADF)
        files.append(get_file(fd).get())


def _checked_creds(creds: UCred, who: Who) -> UCred:
    """scm_check_creds: one's own pid and one of one's real/effective/saved ids, unless privileged."""
    uids, gids = who.ids
    ok = (creds.pid == who.pid or who.privileged) \
        and (creds.uid in uids or who.privileged) and (creds.gid in gids or who.privileged)
    if not ok:
        raise Errno(EPERM)
    return creds


def build_control(space: int, has_buffer: bool, creds: Optional[UCred], files: list[OpenFile],
                  install: Callable[[OpenFile], int],
                  control: Sequence[tuple[int, int, bytes]] = ()) -> tuple[list[tuple[int, bytes]], int, int]:
    """What recvmsg writes into a control buffer of `space` bytes: (offset, bytes) pieces, the
    msg_controllen to report and the msg_flags to add. Files that are not installed are closed.
    `control`: the protocol's own messages (level, type, data), put first (ip_cmsg_recv)."""
    if not has_buffer:
        for f in files:
            f.put()
        return [], 0, MSG_CTRUNC if creds is not None or files or control else 0
    pieces: list[tuple[int, bytes]] = []
    used, flags = 0, 0
    for level, type_, data in control:
        used, flags = _put_cmsg(pieces, space, used, type_, data, flags, level)
    if creds is not None:
        used, flags = _put_cmsg(pieces, space, used, SCM_CREDENTIALS, creds.pack(), flags)
    if files:
        used, flags = _detach_fds(pieces, space, used, files, install, flags)
    return pieces, used, flags


def _put_cmsg(pieces: list[tuple[int, bytes]], space: int, used: int, type_: int, data: bytes,
              flags: int, level: int = SOL_SOCKET) -> tuple[int, int]:
    """put_cmsg: a header and data, cut short (MSG_CTRUNC) when the buffer ends first."""
    left = space - used
    if left < CMSGHDR.size:
        return used, flags | MSG_CTRUNC
    length = cmsg_len(len(data))
    if left < length:
        flags |= MSG_CTRUNC
        length = left
    pieces.append((used, (CMSGHDR.pack(length, level, type_) + data)[:length]))
    return used + min(cmsg_space(len(data)), left), flags


def _detach_fds(pieces: list[tuple[int, bytes]], space: int, used: int, files: list[OpenFile],
                install: Callable[[OpenFile], int], flags: int) -> tuple[int, int]:
    """scm_detach_fds: as many descriptors as fit; the rest are closed and MSG_CTRUNC says so."""
    left = space - used
    fdmax = min((left - CMSGHDR.size) // INT.size if left > CMSGHDR.size else 0, len(files))
    fds: list[int] = []
    for f in files[:fdmax]:
        try:
            fds.append(install(f))
        except Errno:
            break
    for f in files:
        f.put()                             # installed ones hold their own reference now
    if fds:
        body = b"".join(INT.pack(fd) for fd in fds)
        length = cmsg_len(len(body))
        pieces.append((used, CMSGHDR.pack(length, SOL_SOCKET, SCM_RIGHTS) + body))
        used += min(cmsg_space(len(body)), left)
    if len(fds) < len(files):
        flags |= MSG_CTRUNC
    return used, flags
