"""The syscalls moss-py answers as a Linux kernel built without their feature: -ENOSYS, the
answer of sys_ni_syscall behind each cond_syscall(). Nothing here is registered in the table;
the declarations only give docs/syscalls.md the reason. Programs probe these and carry on
(glibc's aio falls back to threads, systemd works without keys, fhandles and landlock)."""
from .table import not_configured

not_configured("without CONFIG_AIO (Linux AIO: use io_uring or threads)",
               "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents")
not_configured("without CONFIG_BSD_PROCESS_ACCT (process accounting)", "acct")
not_configured("without CONFIG_QUOTACTL (disk quotas)", "quotactl", "quotactl_fd")
not_configured("without CONFIG_KEYS (the key retention service)", "add_key", "request_key", "keyctl")
not_configured("without CONFIG_SECURITY_LANDLOCK", "landlock_create_ruleset", "landlock_add_rule",
               "landlock_restrict_self")
not_configured("without CONFIG_FHANDLE (file handles)", "name_to_handle_at", "open_by_handle_at")
