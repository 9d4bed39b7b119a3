"""strace's syscall classes for --trace=%file and friends (the arm64 syscalls in each)."""
from __future__ import annotations

_SOCKET = {"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname",
           "getpeername", "sendto", "recvfrom", "setsockopt", "getsockopt", "shutdown", "sendmsg",
           "recvmsg", "sendmmsg", "recvmmsg"}

CLASSES: dict[str, frozenset[str]] = {
    # takes a file name
    "file": frozenset({
        "openat", "openat2", "open_by_handle_at", "name_to_handle_at", "execve", "execveat",
        "chdir", "chroot", "mknodat", "mkdirat", "unlinkat", "symlinkat", "linkat", "renameat",
        "renameat2", "faccessat", "faccessat2", "fchmodat", "fchownat", "newfstatat", "statx",
        "statfs", "truncate", "readlinkat", "utimensat", "setxattr", "lsetxattr", "getxattr",
        "lgetxattr", "listxattr", "llistxattr", "removexattr", "lremovexattr", "mount", "umount2",
        "pivot_root", "swapon", "swapoff", "acct", "inotify_add_watch", "fanotify_mark",
        "quotactl", "open_tree", "move_mount", "fspick", "mount_setattr", "getcwd"}),
    "process": frozenset({"clone", "clone3", "execve", "execveat", "exit", "exit_group", "wait4",
                          "waitid", "kill", "tkill", "tgkill", "rt_sigqueueinfo",
                          "rt_tgsigqueueinfo", "unshare", "pidfd_send_signal"}),
    "network": frozenset(_SOCKET),
    "signal": frozenset({"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend",
                         "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo",
                         "rt_tgsigqueueinfo", "kill", "tkill", "tgkill", "sigaltstack",
                         "signalfd4", "pidfd_send_signal"}),
    "ipc": frozenset({"msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop",
                      "semctl", "shmget", "shmat", "shmdt", "shmctl"}),
    # takes or returns a file descriptor
    "desc": frozenset({
        "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
        "pwritev2", "close", "close_range", "dup", "dup3", "fcntl", "ioctl", "lseek", "fstat",
        "fstatfs", "fsync", "fdatasync", "ftruncate", "fallocate", "fchmod", "fchown", "fchdir",
        "flock", "getdents64", "openat", "openat2", "pipe2", "eventfd2", "epoll_create1",
        "epoll_ctl", "epoll_pwait", "epoll_pwait2", "ppoll", "pselect6", "signalfd4",
        "timerfd_create", "timerfd_settime", "timerfd_gettime", "inotify_init1",
        "inotify_add_watch", "inotify_rm_watch", "splice", "tee", "vmsplice", "sendfile",
        "copy_file_range", "readahead", "sync_file_range", "fadvise64", "mmap", "memfd_create",
        "pidfd_open", "pidfd_getfd", "mknodat", "mkdirat", "unlinkat", "symlinkat", "linkat",
        "renameat", "renameat2", "faccessat", "faccessat2", "fchmodat", "fchownat", "newfstatat",
        "statx", "readlinkat", "utimensat", "fsetxattr", "fgetxattr", "flistxattr",
        "fremovexattr", "syncfs", "execveat", "fanotify_init", "fanotify_mark", "userfaultfd",
        "perf_event_open", "bpf", "open_by_handle_at", "name_to_handle_at", "open_tree",
        "move_mount", "fsopen", "fsmount", "fspick", "fsconfig", "process_madvise",
        "mq_open", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
        *_SOCKET}),
    "memory": frozenset({"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mlock",
                         "mlock2", "munlock", "mlockall", "munlockall", "mincore", "msync",
                         "remap_file_pages", "mbind", "set_mempolicy", "get_mempolicy",
                         "migrate_pages", "move_pages", "pkey_mprotect", "shmat", "shmdt",
                         "process_madvise", "memfd_secret", "process_mrelease"}),
    "creds": frozenset({"getuid", "geteuid", "getgid", "getegid", "setuid", "setgid", "setreuid",
                        "setregid", "setresuid", "setresgid", "getresuid", "getresgid",
                        "setfsuid", "setfsgid", "getgroups", "setgroups", "capget", "capset",
                        "prctl"}),
    "clock": frozenset({"clock_gettime", "clock_settime", "clock_getres", "clock_adjtime",
                        "clock_nanosleep", "gettimeofday", "settimeofday", "adjtimex", "times"}),
}
