"""CRC32C (Castagnoli), table-driven, as ext4's metadata_csum uses it, and ext4's crc16 for gdt_csum.

ext4 calls the kernel's crc32c_le(crc, data) which applies NO initial or final
inversion: callers pass ~0 as the first seed and store the raw result. So
`crc32c(0xFFFFFFFF, data)` here equals the kernel's, and the "standard" CRC32C
of data is its bitwise complement.
"""
from __future__ import annotations

_POLY32C = 0x82F63B78     # reflected Castagnoli polynomial
_POLY16 = 0xA001          # reflected CRC-16/ANSI (x^16 + x^15 + x^2 + 1), lib/crc16.c


def _table(poly: int) -> tuple[int, ...]:
    out = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        out.append(c)
    return tuple(out)


_T32C = _table(_POLY32C)
_T16 = _table(_POLY16)


def crc32c(crc: int, data: bytes) -> int:
    """Continue a raw CRC32C over data (no pre/post inversion, like crc32c_le)."""
    t = _T32C
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def crc16(crc: int, data: bytes) -> int:
    """The kernel's crc16(crc, data) (ext4_group_desc_csum without metadata_csum)."""
    t = _T16
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc
