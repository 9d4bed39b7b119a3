"""The 32-byte short directory entry, and FAT dates and times (local time taken as UTC,
2-second resolution for the modification time, days for the access date)."""
from __future__ import annotations

import calendar
import struct
import time
from dataclasses import dataclass

ATTR_RO, ATTR_HIDDEN, ATTR_SYS, ATTR_VOLUME, ATTR_DIR, ATTR_ARCH = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
ATTR_LFN = 0x0F
DELETED = 0xE5
ENTRY = struct.Struct("<11sBBBHHHHHHHI")
NS = 1_000_000_000
FAT_EPOCH = 315532800           # 1980-01-01 00:00:00 UTC
FAT_MAX = 4354819198            # 2107-12-31 23:59:58 UTC


def unpack_datetime(date: int, tm: int, centis: int = 0) -> int:
    """A FAT date/time -> ns since the epoch (UTC); 0 for an unset date."""
    if date == 0:
        return FAT_EPOCH * NS
    y, mo, d = 1980 + (date >> 9), (date >> 5) & 0xF, date & 0x1F
    h, mi, s = tm >> 11, (tm >> 5) & 0x3F, (tm & 0x1F) * 2
    try:
        secs = calendar.timegm((y, max(mo, 1), max(d, 1), h, mi, s, 0, 0, 0))
    except (ValueError, OverflowError):
        secs = FAT_EPOCH
    return secs * NS + centis * 10_000_000


def pack_datetime(ns: int) -> tuple[int, int, int]:
    """ns since the epoch -> (date, time, centiseconds 0..199), clamped to FAT's range."""
    secs = min(max(ns // NS, FAT_EPOCH), FAT_MAX)
    t = time.gmtime(secs)
    date = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    tm = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    centis = (t.tm_sec % 2) * 100 + (ns % NS) // 10_000_000 if ns // NS == secs else 0
    return date, tm, centis


def fat_time_ns(ns: int) -> int:
    """What a time reads back as after a round trip through the modification-time field."""
    d, t, _ = pack_datetime(ns)
    return unpack_datetime(d, t)


@dataclass
class ShortEntry:
    name: bytes                 # 11 bytes
    attr: int
    case: int                   # NT flags byte (lower-case base/extension)
    ctime_cs: int
    ctime: int
    cdate: int
    adate: int
    cluster_hi: int
    mtime: int
    mdate: int
    cluster_lo: int
    size: int

    @classmethod
    def unpack(cls, raw: bytes) -> "ShortEntry":
        return cls(*ENTRY.unpack(raw))

    def pack(self) -> bytes:
        return ENTRY.pack(self.name, self.attr, self.case, self.ctime_cs, self.ctime, self.cdate, self.adate,
                          self.cluster_hi, self.mtime, self.mdate, self.cluster_lo, self.size)

    @property
    def cluster(self) -> int:
        return self.cluster_hi << 16 | self.cluster_lo

    @cluster.setter
    def cluster(self, c: int) -> None:
        self.cluster_hi, self.cluster_lo = c >> 16, c & 0xFFFF

    @classmethod
    def new(cls, name: bytes, attr: int, case: int, ns: int) -> "ShortEntry":
        d, t, cs = pack_datetime(ns)
        return cls(name, attr, case, cs, t, d, d, 0, t, d, 0, 0)
