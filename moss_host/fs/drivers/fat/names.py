"""File names: 8.3 short names (with the Windows NT lowercase flags) and VFAT long names.

Linux's vfat with its defaults (shortname=mixed, utf8 names here) is the model:
  * a name that is a valid 8.3 name in upper case is stored as a short entry only;
  * one whose base and extension are each all lower or all upper case is a short entry
    with the NT flags (0x08 lower-case base, 0x10 lower-case extension);
  * anything else gets long-name (LFN) entries, UCS-2/UTF-16, 13 characters each, in
    reverse order before the short entry, each carrying the short name's checksum, and a
    short name: the name in upper case if that is a valid, unused 8.3 name, else a
    generated "BASIS~N.EXT".
Trailing dots are dropped (vfat_striptail_len); the characters "*/:<>?\\| and control
characters are refused with EINVAL; more than 255 UTF-16 units is ENAMETOOLONG.
"""
from __future__ import annotations

from ....errors import EINVAL, ENAMETOOLONG, ENOENT, Errno

CASE_LOWER_BASE, CASE_LOWER_EXT = 0x08, 0x10
LFN_CHARS = 13
LFN_LAST = 0x40
_INVALID_LONG = set('"*/:<>?\\|')
_INVALID_SHORT = _INVALID_LONG | set("+,;=[]")
_SHORT_OK = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'()-@^_`{}~")


def checksum(short: bytes) -> int:
    """The LFN checksum of an 11-byte short name (rotate right, add)."""
    s = 0
    for b in short:
        s = (((s & 1) << 7) | (s >> 1)) + b & 0xFF
    return s


def decode_name(name: bytes) -> str:
    """A name as given to a syscall -> the stored long name; EINVAL/ENAMETOOLONG as vfat."""
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        raise Errno(EINVAL) from None
    text = text.rstrip(".")
    if not text:
        raise Errno(ENOENT)                 # vfat_add_entry: nothing left after the dots
    if any(ch in _INVALID_LONG or ord(ch) < 0x20 for ch in text):
        raise Errno(EINVAL)
    if len(text.encode("utf-16-le")) // 2 > 255:
        raise Errno(ENAMETOOLONG)
    return text


def key(text: str) -> str:
    """The case-insensitive comparison key of a name."""
    return text.upper()


def short_display(short: bytes, case: int) -> str:
    """An 11-byte short name as readdir shows it (lower-cased per the NT flags)."""
    base = short[:8].rstrip(b" ")
    ext = short[8:11].rstrip(b" ")
    if base[:1] == b"\x05":
        base = b"\xe5" + base[1:]
    b = base.decode("cp437")            # Linux's default codepage for short names
    e = ext.decode("cp437")
    if case & CASE_LOWER_BASE:
        b = b.lower()
    if case & CASE_LOWER_EXT:
        e = e.lower()
    return f"{b}.{e}" if e else b


def _split(text: str) -> tuple[str, str]:
    dot = text.rfind(".")
    if dot <= 0:
        return text, ""
    return text[:dot], text[dot + 1:]


def exact_short(text: str, mixed_ok: bool = False) -> tuple[bytes, int] | None:
    """The short name and NT case flags that store `text` without a long name, or None.
    With mixed_ok, a name that is 8.3 but for its mixed case gives its upper-case short
    name (stored with a long name for the case, as Linux's vfat_create_shortname does)."""
    if text in (".", ".."):
        return None
    base, ext = _split(text)
    if not base or len(base) > 8 or len(ext) > 3 or "." in base:
        return None
    case = 0
    for part, flag in ((base, CASE_LOWER_BASE), (ext, CASE_LOWER_EXT)):
        if any(ch.upper() not in _SHORT_OK for ch in part):
            return None
        if part != part.upper():
            if part != part.lower():
                if not mixed_ok:
                    return None      # mixed case: needs a long name
                continue
            case |= flag
    if mixed_ok:
        case = 0
    short = base.upper().ljust(8).encode("ascii") + ext.upper().ljust(3).encode("ascii")
    if short[0] == 0xE5:
        return None
    return short, case


def _short_chars(s: str) -> str:
    out = []
    for ch in s.upper():
        if ch == " " or ch == ".":
            continue
        out.append(ch if ch in _SHORT_OK else "_")
    return "".join(out)


def generate_short(text: str, taken: set[bytes]) -> bytes:
    """A unique BASIS~N.EXT short name for a long name (the Windows scheme, simplified)."""
    base, ext = _split(text.lstrip("."))
    b = _short_chars(base) or "_"
    e = _short_chars(ext)[:3]
    for n in range(1, 1_000_000):
        tail = f"~{n}"
        cand = (b[:8 - len(tail)] + tail).ljust(8) + e.ljust(3)
        raw = cand.encode("ascii")
        if raw not in taken:
            return raw
    raise Errno(EINVAL)


def lfn_entries(text: str, short: bytes) -> list[bytes]:
    """The 32-byte LFN entries for `text`, in on-disk order (last part first)."""
    units = text.encode("utf-16-le")
    n = len(units) // 2
    count = (n + LFN_CHARS - 1) // LFN_CHARS
    padded = units + (b"\0\0" if n % LFN_CHARS else b"")
    padded = padded.ljust(count * LFN_CHARS * 2, b"\xff")
    csum = checksum(short)
    out = []
    for i in range(count, 0, -1):
        part = padded[(i - 1) * 26:i * 26]
        seq = i | (LFN_LAST if i == count else 0)
        e = bytearray(32)
        e[0] = seq
        e[1:11] = part[0:10]
        e[11] = 0x0F
        e[13] = csum
        e[14:26] = part[10:22]
        e[28:32] = part[22:26]
        out.append(bytes(e))
    return out


def lfn_part(entry: bytes) -> bytes:
    """The 26 bytes of UTF-16 text one LFN entry holds."""
    return bytes(entry[1:11]) + bytes(entry[14:26]) + bytes(entry[28:32])


def lfn_text(parts: list[bytes]) -> str | None:
    """Join LFN parts given in name order; None if not valid UTF-16."""
    raw = b"".join(parts)
    for i in range(0, len(raw), 2):
        if raw[i:i + 2] == b"\0\0":
            raw = raw[:i]
            break
    try:
        return raw.decode("utf-16-le")
    except UnicodeDecodeError:
        return None
