/* The syscalls moss-py answers as a Linux kernel built without their feature (CONFIG_AIO,
 * CONFIG_BSD_PROCESS_ACCT, CONFIG_QUOTACTL, CONFIG_KEYS, CONFIG_SECURITY_LANDLOCK,
 * CONFIG_FHANDLE off): each is ENOSYS, whatever its arguments. Prints one line per call. */
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

int main(void)
{
    CALL(SYS_io_setup);
    CALL(SYS_io_destroy);
    CALL(SYS_io_submit);
    CALL(SYS_io_cancel);
    CALL(SYS_io_getevents);
    CALL(SYS_io_pgetevents);
    CALL(SYS_acct);
    CALL(SYS_quotactl);
    CALL(SYS_quotactl_fd);
    CALL(SYS_add_key);
    CALL(SYS_request_key);
    CALL(SYS_keyctl);
    CALL(SYS_landlock_create_ruleset);
    CALL(SYS_landlock_add_rule);
    CALL(SYS_landlock_restrict_self);
    CALL(SYS_name_to_handle_at);
    CALL(SYS_open_by_handle_at);
    return 0;
}
