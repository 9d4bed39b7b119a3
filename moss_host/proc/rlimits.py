"""Resource limits (getrlimit/setrlimit/prlimit64): the resource numbers and Linux's
defaults for init, which every process inherits unless it changes them."""
from __future__ import annotations

RLIM_INFINITY = (1 << 64) - 1
RLIMIT_CPU = 0
RLIMIT_FSIZE = 1
RLIMIT_DATA = 2
RLIMIT_STACK = 3
RLIMIT_CORE = 4
RLIMIT_NPROC = 6
RLIMIT_AS = 9
RLIMIT_NOFILE = 7
RLIMIT_SIGPENDING = 11
RLIMIT_NLIMITS = 16

# (soft, hard), indexed by resource number.
DEFAULT_RLIMITS: list[tuple[int, int]] = [
    (RLIM_INFINITY, RLIM_INFINITY),   # CPU
    (RLIM_INFINITY, RLIM_INFINITY),   # FSIZE
    (RLIM_INFINITY, RLIM_INFINITY),   # DATA
    (8 << 20, RLIM_INFINITY),         # STACK
    (0, RLIM_INFINITY),               # CORE
    (RLIM_INFINITY, RLIM_INFINITY),   # RSS
    (3935, 3935),                     # NPROC
    (1024, 4096),                     # NOFILE
    (8 << 20, 8 << 20),               # MEMLOCK
    (RLIM_INFINITY, RLIM_INFINITY),   # AS
    (RLIM_INFINITY, RLIM_INFINITY),   # LOCKS
    (3935, 3935),                     # SIGPENDING
    (819200, 819200),                 # MSGQUEUE
    (0, 0),                           # NICE
    (0, 0),                           # RTPRIO
    (RLIM_INFINITY, RLIM_INFINITY),   # RTTIME
]
