/* The syscalls moss-py answers as a Linux kernel built without their feature (CONFIG_AIO,
 * CONFIG_BSD_PROCESS_ACCT, CONFIG_QUOTACTL, CONFIG_KEYS, CONFIG_SECURITY_LANDLOCK,
 * CONFIG_SWAP, CONFIG_KEXEC*, CONFIG_MODULES, CONFIG_BPF_SYSCALL, CONFIG_PERF_EVENTS,
 * CONFIG_USERFAULTFD, CONFIG_IO_URING, CONFIG_FANOTIFY, CONFIG_SECRETMEM, CONFIG_SECCOMP off),
 * and those Linux 6.1 on arm64 lacks itself (pkeys, lookup_dcookie, nfsservctl, number 244): each is ENOSYS,
 * whatever its arguments. Prints one line per call; with an argument, only the last group. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CALL(nr) show(#nr, syscall(nr, 0, 0, 0, 0, 0, 0))

static void show(const char *name, long r)
{
    printf("%s: %s\n", name + 4, r < 0 ? strerrorname_np(errno) : "succeeded");
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc < 2) {
        CALL(SYS_quotactl);
        CALL(SYS_quotactl_fd);
        CALL(SYS_add_key);
        CALL(SYS_request_key);
        CALL(SYS_keyctl);
        CALL(SYS_landlock_create_ruleset);
        CALL(SYS_landlock_add_rule);
        CALL(SYS_landlock_restrict_self);
        CALL(SYS_swapon);
        CALL(SYS_swapoff);
        CALL(SYS_kexec_load);
        CALL(SYS_kexec_file_load);
        CALL(SYS_init_module);
        CALL(SYS_finit_module);
        CALL(SYS_delete_module);
        CALL(SYS_bpf);
        CALL(SYS_perf_event_open);
        CALL(SYS_userfaultfd);
        CALL(SYS_io_uring_setup);
        CALL(SYS_io_uring_enter);
        CALL(SYS_io_uring_register);
        CALL(SYS_fanotify_init);
        CALL(SYS_fanotify_mark);
        CALL(SYS_memfd_secret);
    }
    CALL(SYS_pkey_mprotect);
    CALL(SYS_pkey_alloc);
    CALL(SYS_pkey_free);
    CALL(SYS_lookup_dcookie);
    CALL(SYS_nfsservctl);
    show("SYS_arch_specific_syscall", syscall(244, 0, 0, 0, 0, 0, 0));
    return 0;
}
