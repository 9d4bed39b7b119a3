"""proc/hwdebug.py: the NT_ARM_HW_BREAK/NT_ARM_HW_WATCH regsets' layout and checks, and the
register values the stub loads (tests/qemu/test_ptrace.py runs them against Linux)."""
import struct
from types import SimpleNamespace

import pytest

from moss_host.errors import EINVAL, ENOSPC, Errno
from moss_host.proc import hwdebug as H
from moss_host.proc.ptrace_state import PtraceState

BREAK_CTRL = (0xF << 5) | (2 << 1) | 1
STORE_WATCH = (0xFF << 5) | (2 << 3) | (2 << 1) | 1


def task():
    return SimpleNamespace(ptrace=PtraceState())


def slots(*pairs):
    raw = bytearray(8)
    for addr, ctrl in pairs:
        raw += struct.pack("<QII", addr, ctrl, 0)
    return bytes(raw).ljust(H.REGSET_SIZE, b"\0"), 8 + 16 * len(pairs)


def test_an_untouched_task_reads_dbg_info_and_empty_slots_as_on_cortex_a72():
    raw = H.read_regset(task(), H.NT_ARM_HW_BREAK)
    assert len(raw) == H.REGSET_SIZE == 264
    assert struct.unpack_from("<I", raw)[0] == 0x606
    assert struct.unpack_from("<I", H.read_regset(task(), H.NT_ARM_HW_WATCH))[0] == 0x604
    assert raw[8:] == bytes(256)


def test_a_breakpoint_is_stored_enables_mde_and_goes_away_again():
    t = task()
    H.write_regset(t, H.NT_ARM_HW_BREAK, *slots((0x400100, BREAK_CTRL)))
    hw = t.ptrace.hwdebug
    assert hw.uses_registers and hw.mdscr() == H.MDSCR_MDE
    bps, wps = hw.registers()
    assert bps[:2] == [0x400100, BREAK_CTRL] and len(bps) == 12 and wps == [0] * 8
    H.write_regset(t, H.NT_ARM_HW_BREAK, *slots((0, 0)))
    assert t.ptrace.hwdebug is None          # nothing left: the fast path's None again


def test_an_unaligned_watchpoint_is_aligned_down_with_its_byte_mask_moved():
    t = task()
    H.write_regset(t, H.NT_ARM_HW_WATCH, *slots((0x1003, (0x1 << 5) | (2 << 3) | (2 << 1) | 1)))
    _, wps = t.ptrace.hwdebug.registers()
    assert wps[0] == 0x1000 and (wps[1] >> 5) & 0xFF == 0x8


@pytest.mark.parametrize("note, ctrl, errno", [
    (H.NT_ARM_HW_BREAK, (0xF << 5) | (1 << 3) | (2 << 1) | 1, EINVAL),     # a load "breakpoint"
    (H.NT_ARM_HW_WATCH, (0xFF << 5) | (2 << 1) | 1, EINVAL),               # a watchpoint of no kind
    (H.NT_ARM_HW_WATCH, (0 << 5) | (2 << 3) | (2 << 1) | 1, EINVAL),       # of no bytes
])
def test_bad_controls_are_einval(note, ctrl, errno):
    with pytest.raises(Errno) as e:
        H.write_regset(task(), note, *slots((0x1000, ctrl)))
    assert e.value.code == errno


def test_a_slot_the_cpu_lacks_is_enospc():
    with pytest.raises(Errno) as e:
        H.write_regset(task(), H.NT_ARM_HW_WATCH, *slots(*[(0, 0)] * 5))
    assert e.value.code == ENOSPC


def test_stepping_sets_mdscr_ss():
    assert H.HwDebug(step=True).mdscr() == H.MDSCR_SS
    assert not H.HwDebug(step=True).uses_registers
