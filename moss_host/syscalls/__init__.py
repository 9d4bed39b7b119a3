"""The syscall layer: handlers grouped by family, registered in table.SYSCALLS on import."""
import importlib

FAMILIES = ("process", "wait", "memory", "time", "info", "fs", "poll", "signal", "pipe", "reboot", "fsattr", "xattr", "mount", "creds", "futex", "sched", "eventfd",
            "timerfd", "signalfd", "epoll", "posix_timers", "copy_range", "inotify", "socket", "ptrace", "ipc", "mqueue",
            "pidfd", "splice", "kcmp", "not_configured", "not_yet", "caps",
            "file_ranges", "tty", "remap_file_pages", "process_madvise", "clock_set",
            "rw_vec", "ioprio", "mempolicy", "sched_attr", "ns", "chroot", "mrelease", "openat2", "fsmount",
            "seccomp", "aio", "acct", "fhandle")


def load_all() -> None:
    for family in FAMILIES:
        importlib.import_module(f"{__name__}.{family}")
