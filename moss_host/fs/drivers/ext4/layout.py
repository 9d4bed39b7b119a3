"""A tiny helper for on-disk structures: a table of (field, offset, struct format) read from and
written back into a raw buffer, so fields we do not understand survive a rewrite untouched."""
from __future__ import annotations

import struct


class Layout:
    def __init__(self, fields: list[tuple[str, int, str]]):
        self.fields = [(name, off, struct.Struct("<" + fmt)) for name, off, fmt in fields]

    def unpack(self, obj: object, buf: bytes | bytearray, base: int = 0) -> None:
        """Set obj.<field> from buf (single values unpacked, arrays as tuples)."""
        for name, off, st in self.fields:
            vals = st.unpack_from(buf, base + off)
            setattr(obj, name, vals[0] if len(vals) == 1 else vals)

    def pack(self, obj: object, buf: bytearray, base: int = 0) -> None:
        for name, off, st in self.fields:
            val = getattr(obj, name)
            if isinstance(val, tuple):
                st.pack_into(buf, base + off, *val)
            else:
                st.pack_into(buf, base + off, val)
