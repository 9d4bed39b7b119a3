"""The stub's C header and the host's Python mirror must describe the same mailbox."""
import re
from pathlib import Path

import moss_host.machine.layout as layout

HEADER = Path(__file__).resolve().parents[2] / "guest_stub" / "layout.h"


def header_constants() -> dict[str, int]:
    consts = {}
    for name, expr in re.findall(r"^#define (\w+)\s+([^/\n]+?)\s*(?:/\*.*)?$", HEADER.read_text(), re.M):
        if name != "MOSS_LAYOUT_H":
            consts[name] = eval(expr, {}, dict(consts))  # constants only refer to earlier ones
    return consts


def test_every_header_constant_has_the_same_value_in_python():
    consts = header_constants()
    assert len(consts) > 40
    for name, value in consts.items():
        assert getattr(layout, name) == value, name


def test_mailbox_regions_do_not_overlap():
    assert layout.MB_CONTEXT_END <= layout.MB_ESR < layout.MB_Q0
    assert layout.MB_Q0 + 32 * 16 == layout.MB_Q_END <= layout.MB_SEQ_REQ
    assert layout.MB_TLBI_VA + 8 * layout.MB_MAX_TLBI_VA <= layout.MB_SCRUB
    assert layout.MB_SCRUB + 8 * layout.MB_MAX_SCRUB <= layout.MAILBOX_SIZE
