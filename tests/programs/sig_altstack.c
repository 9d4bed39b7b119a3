/* sigaltstack and SA_ONSTACK: the errors (ENOMEM below MINSIGSTKSZ, EINVAL for unknown
 * flags, EPERM while running on the stack), SS_DISABLE/SS_ONSTACK reporting, handlers that
 * run on the alternate stack (and nested ones that stay on it), uc_stack in the frame, and
 * handlers without SA_ONSTACK that stay on the normal stack. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define ALT_SIZE (64 * 1024)
#define KERNEL_MINSIGSTKSZ 5120         /* arm64 uapi; glibc's MINSIGSTKSZ asks sysconf */
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif
static char *alt;
static volatile int on_alt, nested_on_alt, nested_below, query_flags, set_errno, uc_stack_ok, uc_flags;
static volatile uintptr_t outer_local;

static int in_alt(uintptr_t p) { return p >= (uintptr_t)alt && p < (uintptr_t)alt + ALT_SIZE; }

static void inner(int sig)
{
    char here;
    (void)sig;
    nested_on_alt = in_alt((uintptr_t)&here);
    nested_below = (uintptr_t)&here < outer_local;
}

static void outer(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    char here;
    (void)sig;
    (void)si;
    outer_local = (uintptr_t)&here;
    on_alt = in_alt((uintptr_t)&here);
    stack_t q;
    sigaltstack(NULL, &q);
    query_flags = q.ss_flags;
    stack_t n = { .ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0 };
    set_errno = sigaltstack(&n, NULL) == -1 ? errno : 0;
    uc_stack_ok = uc->uc_stack.ss_sp == alt && uc->uc_stack.ss_size == ALT_SIZE;
    uc_flags = uc->uc_stack.ss_flags;
    raise(SIGUSR2);
}

static void plain(int sig)
{
    char here;
    (void)sig;
    on_alt = in_alt((uintptr_t)&here);
}

static const char *err(int r) { return r == -1 ? strerrorname_np(errno) : "ok"; }

static void overflow_caught(int sig, siginfo_t *si, void *uc)
{
    char here;
    (void)uc;
    printf("stack overflow: %s si_code %s, handler on the alternate stack %d\n", sigabbrev_np(sig),
           si->si_code == SEGV_MAPERR ? "SEGV_MAPERR" : si->si_code == SEGV_ACCERR ? "SEGV_ACCERR" : "?",
           in_alt((uintptr_t)&here));
    fflush(stdout);
    _exit(0);
}

static volatile int forever = 1;

static int recurse(int n)
{
    volatile char page[4096];
    if (!forever)
        return 0;
    page[0] = (char)n;
    return recurse(n + 1) + page[0];
}

int main(void)
{
    stack_t ss, old;
    alt = malloc(ALT_SIZE);

    sigaltstack(NULL, &old);
    printf("initially: flags %d (SS_DISABLE=%d) size %zu\n", old.ss_flags, SS_DISABLE, old.ss_size);

    ss.ss_sp = alt;
    ss.ss_flags = 0;
    ss.ss_size = KERNEL_MINSIGSTKSZ - 1;
    printf("size 5119: %s\n", err(sigaltstack(&ss, NULL)));
    ss.ss_size = KERNEL_MINSIGSTKSZ;
    printf("size 5120: %s\n", err(sigaltstack(&ss, NULL)));
    ss.ss_size = ALT_SIZE;
    ss.ss_flags = 4;
    printf("flags 4: %s\n", err(sigaltstack(&ss, NULL)));
    ss.ss_flags = SS_ONSTACK;            /* accepted and ignored, as Linux does */
    printf("flags SS_ONSTACK: %s\n", err(sigaltstack(&ss, NULL)));
    ss.ss_flags = 0;
    printf("set: %s\n", err(sigaltstack(&ss, &old)));
    printf("old one was: flags %d\n", old.ss_flags);
    sigaltstack(NULL, &old);
    printf("now: flags %d, sp is ours %d, size %zu\n", old.ss_flags, old.ss_sp == alt, old.ss_size);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = outer;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = inner;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR1);
    printf("SA_ONSTACK handler on the alternate stack: %d\n", on_alt);
    printf("  sigaltstack query inside: SS_ONSTACK %d\n", query_flags == SS_ONSTACK);
    printf("  changing it inside: %s\n", set_errno ? strerrorname_np(set_errno) : "ok");
    printf("  uc_stack describes it: %d, uc_stack.ss_flags %d\n", uc_stack_ok, uc_flags);
    printf("  nested SA_ONSTACK handler still on it: %d, below the outer frame: %d\n", nested_on_alt,
           nested_below);
    sigaltstack(NULL, &old);
    printf("after the handler: flags %d\n", old.ss_flags);

    signal(SIGHUP, plain);
    raise(SIGHUP);
    printf("handler without SA_ONSTACK on the alternate stack: %d\n", on_alt);

    ss.ss_flags = SS_DISABLE;
    ss.ss_size = 0;
    printf("disable: %s\n", err(sigaltstack(&ss, NULL)));
    sigaltstack(NULL, &old);
    printf("now: flags %d size %zu\n", old.ss_flags, old.ss_size);
    raise(SIGUSR2);
    printf("SA_ONSTACK with no alternate stack runs on the normal stack: %d\n", !nested_on_alt);

    ss.ss_sp = alt;
    ss.ss_size = ALT_SIZE;
    ss.ss_flags = (int)SS_AUTODISARM;
    printf("SS_AUTODISARM: %s\n", err(sigaltstack(&ss, NULL)));
    sigaltstack(NULL, &old);
    printf("now: flags %#x\n", (unsigned)old.ss_flags);
    raise(SIGUSR1);
    printf("SS_AUTODISARM handler on it: %d, query inside: flags %d, change inside: %s\n", on_alt, query_flags,
           set_errno ? strerrorname_np(set_errno) : "ok");

    /* the classic use: a SIGSEGV handler that can run when the stack itself overflowed */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        ss.ss_sp = alt;
        ss.ss_size = ALT_SIZE;
        ss.ss_flags = 0;
        sigaltstack(&ss, NULL);
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = overflow_caught;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigaction(SIGSEGV, &sa, NULL);
        return recurse(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("overflowing child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
