"""arm64 hardware capabilities: the AT_HWCAP bits (arch/arm64/include/uapi/asm/hwcap.h,
checked against the cross toolchain's copy by tests/unit/test_stack.py), what this kernel
announces for its CPU model (auxv at exec, /proc/cpuinfo's Features line), and the names
/proc/cpuinfo prints for them.
"""

# arch/arm64/include/uapi/asm/hwcap.h (AT_HWCAP bits)
HWCAP_FP = 1 << 0
HWCAP_ASIMD = 1 << 1
HWCAP_EVTSTRM = 1 << 2
HWCAP_AES = 1 << 3
HWCAP_PMULL = 1 << 4
HWCAP_SHA1 = 1 << 5
HWCAP_SHA2 = 1 << 6
HWCAP_CRC32 = 1 << 7
HWCAP_ATOMICS = 1 << 8
HWCAP_FPHP = 1 << 9
HWCAP_ASIMDHP = 1 << 10
HWCAP_CPUID = 1 << 11
HWCAP_ASIMDRDM = 1 << 12
HWCAP_JSCVT = 1 << 13
HWCAP_FCMA = 1 << 14
HWCAP_LRCPC = 1 << 15
HWCAP_DCPOP = 1 << 16
HWCAP_SHA3 = 1 << 17
HWCAP_SM3 = 1 << 18
HWCAP_SM4 = 1 << 19
HWCAP_ASIMDDP = 1 << 20
HWCAP_SHA512 = 1 << 21
HWCAP_SVE = 1 << 22
HWCAP_ASIMDFHM = 1 << 23
HWCAP_DIT = 1 << 24
HWCAP_USCAT = 1 << 25
HWCAP_ILRCPC = 1 << 26
HWCAP_FLAGM = 1 << 27
HWCAP_SSBS = 1 << 28
HWCAP_SB = 1 << 29
HWCAP_PACA = 1 << 30
HWCAP_PACG = 1 << 31

# What Linux reports for QEMU's `-cpu cortex-a72` (QEMU target/arm/cpu64.c,
# aarch64_a72_initfn): ID_AA64PFR0 = 0x2222 gives FP and AdvSIMD; ID_AA64ISAR0 =
# 0x11120 gives AES=2 (AES + PMULL), SHA1=1, SHA2=1, CRC32=1.  CPUID is not a CPU
# feature but a kernel promise: EL0 `mrs` of MIDR_EL1 / ID_AA64*_EL1 traps and the
# kernel emulates it (glibc reads MIDR_EL1 at start-up when this bit is set): the trap
# router answers with arch/arm64/cpuid.py's values, as Linux's emulate_mrs does.
CORTEX_A72_HWCAP = (HWCAP_FP | HWCAP_ASIMD | HWCAP_AES | HWCAP_PMULL | HWCAP_SHA1
                    | HWCAP_SHA2 | HWCAP_CRC32 | HWCAP_CPUID)
CORTEX_A72_HWCAP2 = 0

# What user space may rely on: the CPU's features and the kernel's. EVTSTRM promises the
# generic timer's event stream (WFE wakes regularly, every 131 us here): the guest stub turns it
# on at boot as Linux's arch_timer_configure_evtstream does (CNTKCTL_EL1.EVNTEN, EVNTI 12
# for the 62.5 MHz counter; guest_stub/start.S).
HWCAP = CORTEX_A72_HWCAP | HWCAP_EVTSTRM
HWCAP2 = CORTEX_A72_HWCAP2

# arch/arm64/kernel/cpuinfo.c hwcap_str, indexed by AT_HWCAP bit.
HWCAP_NAMES = ["fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics", "fphp",
               "asimdhp", "cpuid", "asimdrdm", "jscvt", "fcma", "lrcpc", "dcpop", "sha3", "sm3", "sm4",
               "asimddp", "sha512", "sve", "asimdfhm", "dit", "uscat", "ilrcpc", "flagm", "ssbs", "sb",
               "paca", "pacg"]
