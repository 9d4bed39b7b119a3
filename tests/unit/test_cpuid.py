"""EL0 `mrs` of the ID registers: the instructions Linux emulates (HWCAP_CPUID) and the values
it gives on QEMU's cortex-a72 (encodings from aarch64-linux-gnu-as)."""
from moss_host.arch.arm64.cpuid import XZR, emulated_read
from moss_host.arch.arm64.hwcap import HWCAP, HWCAP_CPUID, HWCAP_EVTSTRM


def test_midr_el1_reads_the_cortex_a72_into_xt():
    assert emulated_read(0xD5380000) == (0, 0x410FD083)            # mrs x0, midr_el1


def test_id_aa64isar0_shows_the_crypto_and_crc_fields():
    assert emulated_read(0xD5380603) == (3, 0x11120)               # mrs x3, id_aa64isar0_el1


def test_mpidr_and_revidr_read_as_linux_s_safe_values():
    assert emulated_read(0xD53800A2) == (2, 0x80000000)            # mrs x2, mpidr_el1
    assert emulated_read(0xD53800C2) == (2, 0)                     # mrs x2, revidr_el1


def test_untracked_id_registers_read_as_zero():
    assert emulated_read(0xD5380227) == (7, 0)                     # mrs x7, id_isar1_el1


def test_xzr_destination_is_still_emulated():
    assert emulated_read(0xD538001F) == (XZR, 0x410FD083)          # mrs xzr, midr_el1


def test_registers_linux_does_not_emulate_stay_undefined():
    assert emulated_read(0xD5380101) is None                       # mrs x1, id_pfr0_el1 (CRm 1)
    assert emulated_read(0xD5380025) is None                       # mrs x5, s3_0_c0_c0_1
    assert emulated_read(0xD53BD040) is None                       # mrs x0, tpidr_el0 (not ID space)
    assert emulated_read(0xD51BD040) is None                       # msr tpidr_el0, x0
    assert emulated_read(0xD503201F) is None                       # nop


def test_hwcap_announces_cpuid_and_the_event_stream():
    assert HWCAP & HWCAP_CPUID and HWCAP & HWCAP_EVTSTRM
    assert HWCAP == 0x8FF                                          # Linux's AT_HWCAP on this CPU
