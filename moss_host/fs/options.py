"""Mount option strings (mount(2)'s data: `key=value,key,...`), as Linux's fs_parser and
lib/cmdline.c read them."""
from __future__ import annotations

from ..errors import EINVAL, Errno

# Options every filesystem accepts: they set superblock flags (fs_context's common_set_sb_flag)
# or are ignored, never handed to the filesystem.
SB_FLAG_OPTIONS = {"ro", "rw", "sync", "async", "dirsync", "mand", "nomand", "lazytime", "nolazytime",
                   "silent", "posixacl", "noposixacl", "i_version", "noi_version"}


def split_options(data: bytes) -> list[tuple[str, str | None]]:
    """`key=value,key,...` as (key, value) pairs (value None without "="); empty items are skipped."""
    out = []
    for item in data.decode(errors="surrogateescape").split(","):
        if item:
            key, eq, value = item.partition("=")
            out.append((key, value if eq else None))
    return out


def memparse(text: str) -> int:
    """Linux's memparse: a number (any base C accepts) with an optional k/m/g/t/p/e suffix."""
    shift = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}
    mult = 1
    if text and text[-1].lower() in shift:
        mult, text = 1 << shift[text[-1].lower()], text[:-1]
    try:
        return int(text, 0) * mult
    except ValueError:
        raise Errno(EINVAL) from None


def octal(text: str) -> int:
    """A mode or mask option (mode=, umask=): octal; EINVAL otherwise."""
    try:
        return int(text, 8)
    except ValueError:
        raise Errno(EINVAL) from None
