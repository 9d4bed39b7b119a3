"""Auxiliary-vector keys, as Linux defines them.

AT_* come from include/uapi/linux/auxvec.h plus arch/arm64/include/uapi/asm/auxvec.h
(tests compare them against the cross toolchain's copies in /usr/aarch64-linux-gnu/include).
The values of AT_HWCAP* are arch/arm64/hwcap.py's, AT_MINSIGSTKSZ's arch/arm64/sigframe.py's.
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
