"""The syscalls moss-py answers as a Linux kernel built without their feature: -ENOSYS, the
answer of sys_ni_syscall behind each cond_syscall(). Nothing here is registered in the table;
the declarations only give docs/syscalls.md the reason. Programs probe these and carry on
(systemd works without keys and landlock)."""
from .table import not_configured

not_configured("without CONFIG_QUOTACTL (disk quotas)", "quotactl", "quotactl_fd")
not_configured("without CONFIG_KEYS (the key retention service)", "add_key", "request_key", "keyctl")
not_configured("without CONFIG_SECURITY_LANDLOCK", "landlock_create_ruleset", "landlock_add_rule",
               "landlock_restrict_self")
not_configured("without CONFIG_SWAP (no swap devices)", "swapon", "swapoff")
not_configured("without CONFIG_KEXEC and CONFIG_KEXEC_FILE (no kernel to load and boot into)",
               "kexec_load", "kexec_file_load")
not_configured("without CONFIG_MODULES (nothing to load: the kernel is one Python program)",
               "init_module", "finit_module", "delete_module")
not_configured("without CONFIG_BPF_SYSCALL", "bpf")
not_configured("without CONFIG_PERF_EVENTS", "perf_event_open")
not_configured("without CONFIG_USERFAULTFD", "userfaultfd")
not_configured("without CONFIG_IO_URING", "io_uring_setup", "io_uring_enter", "io_uring_register")
not_configured("without CONFIG_FANOTIFY", "fanotify_init", "fanotify_mark")
not_configured("without CONFIG_SECRETMEM", "memfd_secret")
# Linux 6.1 on arm64 answers these ENOSYS itself, whatever its configuration.
not_configured("without CONFIG_ARCH_HAS_PKEYS (arm64 has no memory protection keys before 6.12)",
               "pkey_mprotect", "pkey_alloc", "pkey_free")
not_configured("without dcookies (removed in Linux 5.11)", "lookup_dcookie")
not_configured("without the NFS server control call (removed in Linux 3.1)", "nfsservctl")
not_configured("without any syscall at this number (arm64's arch_specific_syscall range is empty)",
               "arch_specific_syscall")
