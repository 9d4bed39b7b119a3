/* CLONE_PIDFD through clone and clone3 as Linux 6.1 answers it: the pidfd (close-on-exec,
 * not inherited by the child) polls readable at the child's exit and waits with P_PIDFD;
 * EINVAL with CLONE_PARENT_SETTID (clone) or CLONE_THREAD, EFAULT and no child for a bad
 * pointer. Prints results and errno names, never pids. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
}

static void reap(const char *how, int pidfd)
{
    struct pollfd p = { .fd = pidfd, .events = POLLIN };
    printf("%s poll: %d revents %x\n", how, poll(&p, 1, 5000), p.revents);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    show("waitid P_PIDFD", waitid(P_PIDFD, pidfd, &si, WEXITED));
    printf("code %d status %d\n", si.si_code, si.si_status);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int pidfd = -1;
    long pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
    if (pid == 0)
        _exit(fcntl(pidfd, F_GETFD) < 0 && errno == EBADF ? 3 : 4);
    printf("clone pidfd set: %d, F_GETFD %d\n", pidfd >= 0, fcntl(pidfd, F_GETFD));
    reap("clone", pidfd);
    close(pidfd);

    show("CLONE_PIDFD with CLONE_PARENT_SETTID",
         syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &pidfd, 0, 0));
    show("CLONE_PIDFD with CLONE_THREAD",
         syscall(SYS_clone, CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0, &pidfd, 0, 0));
    show("CLONE_PIDFD bad pointer", syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, (void *)8, 0, 0));
    show("no child left", wait(NULL));
    int lowest = dup(0);
    close(lowest);
    pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
    if (pid == 0)
        _exit(0);
    printf("pidfd is the lowest free fd: %d\n", pidfd == lowest);
    reap("second clone", pidfd);
    close(pidfd);

    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0)
        _exit(5);
    printf("clone3 pidfd set: %d, F_GETFD %d\n", pidfd >= 0, fcntl(pidfd, F_GETFD));
    reap("clone3", pidfd);
    args.flags = CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    args.exit_signal = 0;
    show("clone3 CLONE_PIDFD with CLONE_THREAD", syscall(SYS_clone3, &args, sizeof args));
    args.flags = CLONE_PIDFD | CLONE_PARENT_SETTID;
    args.exit_signal = SIGCHLD;
    args.parent_tid = (uint64_t)(uintptr_t)&lowest;
    pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0)
        _exit(6);
    printf("clone3 with CLONE_PARENT_SETTID: tid stored %d\n", pid == lowest);
    reap("clone3 settid", pidfd);
    return 0;
}
