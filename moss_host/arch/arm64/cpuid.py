"""EL0 reads of the ID registers, as Linux emulates them (HWCAP_CPUID; arch/arm64/kernel/
cpufeature.c emulate_mrs).

On this CPU (no FEAT_IDST) an `mrs Xt, <ID register>` at EL0 is an undefined instruction.
Linux answers the ones in the ID space, op0=3 op1=0 CRn=0 with CRm 0 or 2..7: it writes
the register's user-visible value to Xt and steps over the instruction. Anything else
there (CRm 1, the other CRm 0 registers) stays undefined: SIGILL.

The values are what Linux 6.1 gives user space on QEMU's cortex-a72, read there register
by register: MIDR_EL1 as the CPU has it, MPIDR_EL1 only bit 31 (SYS_MPIDR_SAFE_VAL),
REVIDR_EL1 0, and each ID_* register with only the fields Linux shows user space (the
hidden ones at their safe values); the registers Linux does not track read as 0.
"""
from __future__ import annotations

from typing import Optional

MRS_MASK, MRS_BITS = 0xFFF0_0000, 0xD530_0000     # MRS Xt, S3_<op1>_C<n>_C<m>_<op2>
XZR = 31                                          # Rt 31: the result is discarded
MIDR_EL1 = 0x410FD083               # QEMU's cortex-a72: Arm (0x41), part 0xd08, r0p3

# (CRm, op2) -> value, for op0=3 op1=0 CRn=0.
_CRM0 = {
    (0, 0): MIDR_EL1,
    (0, 5): 0x8000_0000,            # MPIDR_EL1: SYS_MPIDR_SAFE_VAL
    (0, 6): 0,                      # REVIDR_EL1: IMPLEMENTATION DEFINED, emulated as 0
}
_USER_VALUES = {
    (2, 5): 0x11120,                # ID_ISAR5_EL1: AES+PMULL, SHA1, SHA2, CRC32 (AArch32)
    (3, 0): 0x200,                  # MVFR0_EL1
    (3, 1): 0x10011100,             # MVFR1_EL1
    (4, 0): 0x11,                   # ID_AA64PFR0_EL1: EL0, EL1 AArch64; FP, AdvSIMD
    (5, 0): 0x6,                    # ID_AA64DFR0_EL1: DebugVer's safe value
    (6, 0): 0x11120,                # ID_AA64ISAR0_EL1: AES+PMULL, SHA1, SHA2, CRC32
    (7, 0): 0x111FF000000,          # ID_AA64MMFR0_EL1: the 4K/64K/16K granule fields
}


def decode_mrs(insn: int) -> Optional[tuple[tuple[int, int, int, int, int], int]]:
    """((op0, op1, CRn, CRm, op2), Rt) of an MRS instruction; None for any other."""
    if insn & MRS_MASK != MRS_BITS:
        return None
    op0 = 2 | (insn >> 19) & 1
    return (op0, (insn >> 16) & 7, (insn >> 12) & 0xF, (insn >> 8) & 0xF, (insn >> 5) & 7), insn & 0x1F


def emulated_read(insn: int) -> Optional[tuple[int, int]]:
    """(Rt, value) for an EL0 `mrs` of an ID register Linux emulates; None: SIGILL as before."""
    decoded = decode_mrs(insn)
    if decoded is None:
        return None
    (op0, op1, crn, crm, op2), rt = decoded
    if (op0, op1, crn) != (3, 0, 0):
        return None
    if crm == 0:
        value = _CRM0.get((crm, op2))
        return None if value is None else (rt, value)
    if 2 <= crm <= 7:
        return rt, _USER_VALUES.get((crm, op2), 0)
    return None
