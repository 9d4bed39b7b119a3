"""Auxiliary-vector keys and arm64 hardware-capability bits, as Linux defines them.

AT_* come from include/uapi/linux/auxvec.h plus arch/arm64/include/uapi/asm/auxvec.h;
HWCAP_* from arch/arm64/include/uapi/asm/hwcap.h (tests compare both against the
cross toolchain's copies in /usr/aarch64-linux-gnu/include).
"""

# include/uapi/linux/auxvec.h
AT_NULL = 0            # end of vector
AT_IGNORE = 1          # entry should be ignored
AT_EXECFD = 2          # file descriptor of program
AT_PHDR = 3            # program headers for program
AT_PHENT = 4           # size of program header entry
AT_PHNUM = 5           # number of program headers
AT_PAGESZ = 6          # system page size
AT_BASE = 7            # base address of interpreter
AT_FLAGS = 8           # flags
AT_ENTRY = 9           # entry point of program
AT_NOTELF = 10         # program is not ELF
AT_UID = 11            # real uid
AT_EUID = 12           # effective uid
AT_GID = 13            # real gid
AT_EGID = 14           # effective gid
AT_PLATFORM = 15       # string identifying CPU for optimizations
AT_HWCAP = 16          # arch dependent hints at CPU capabilities
AT_CLKTCK = 17         # frequency at which times() increments
AT_SECURE = 23         # secure mode boolean
AT_BASE_PLATFORM = 24  # string identifying real platform
AT_RANDOM = 25         # address of 16 random bytes
AT_HWCAP2 = 26         # extension of AT_HWCAP
AT_RSEQ_FEATURE_SIZE = 27  # rseq supported feature size (Linux 6.3+)
AT_RSEQ_ALIGN = 28     # rseq allocation alignment (Linux 6.3+)
AT_HWCAP3 = 29         # extension of AT_HWCAP (Linux 6.13+)
AT_HWCAP4 = 30         # extension of AT_HWCAP (Linux 6.13+)
AT_EXECFN = 31         # filename of program

# arch/arm64/include/uapi/asm/auxvec.h
AT_SYSINFO_EHDR = 33   # vDSO location
AT_MINSIGSTKSZ = 51    # stack needed for signal delivery

AT_FLAGS_PRESERVE_ARGV0 = 1   # AT_FLAGS bit set by binfmt_misc's P flag

AT_NAMES = {v: k for k, v in globals().items() if k.startswith("AT_") and k != "AT_FLAGS_PRESERVE_ARGV0"}

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
# feature but a kernel promise: EL0 `mrs` of MIDR_EL1 / ID_AA64*_EL1 traps (ESR
# EC 0x18) and the kernel emulates it.  glibc reads MIDR_EL1 at start-up when this
# bit is set, so the trap handler must implement that emulation (Linux's
# emulate_mrs) or every glibc program dies with SIGILL.
# EVTSTRM is left out on purpose: it promises that the generic-timer event stream
# (CNTKCTL_EL1.EVNTEN) is on, so WFE-based spin loops wake up; set it only if the
# guest stub enables the event stream.
CORTEX_A72_HWCAP = (HWCAP_FP | HWCAP_ASIMD | HWCAP_AES | HWCAP_PMULL | HWCAP_SHA1
                    | HWCAP_SHA2 | HWCAP_CRC32 | HWCAP_CPUID)
CORTEX_A72_HWCAP2 = 0

# AT_MINSIGSTKSZ as Linux's minsigstksz_setup() computes it for a CPU with FP/SIMD
# and neither SVE nor SME: sigframe_size() = round_up(sizeof(struct rt_sigframe), 16)
# = 128 (siginfo) + 4560 (ucontext: 176-byte header + 4384-byte sigcontext with its
# 4096-byte __reserved) = 4688, plus round_up(sizeof(struct frame_record), 16) = 16,
# plus 16 of alignment padding.
ARM64_MINSIGSTKSZ = 4720
