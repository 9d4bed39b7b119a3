/* limit_stack: how far the stack grows, as Linux 6.1's acct_stack_growth allows it. A
 * RLIMIT_STACK lowered at run time bounds the growth from then on (the stack VMA's size
 * from its top); RLIMIT_AS bounds it too (may_expand_vm over every mapping). Past either
 * the fault is SIGSEGV, SEGV_MAPERR. Depths are reported in ranges: the stack's top holds
 * the environment, which differs between the two systems. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static uintptr_t base;              /* main's frame in the child */
static uintptr_t lo_kib, hi_kib;    /* where the fault is expected, KiB below base */
static char altstack[64 << 10];

static void say(const char *s)
{
    if (write(1, s, strlen(s)) < 0)
        _exit(3);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    uintptr_t kib = (base - (uintptr_t)si->si_addr) >> 10;
    say(si->si_code == SEGV_MAPERR ? "SIGSEGV SEGV_MAPERR" : "SIGSEGV, another si_code");
    say(kib > lo_kib && kib <= hi_kib ? ", where expected\n" : ", elsewhere\n");
    if (getenv("LIMIT_STACK_DEBUG")) { char b[64]; snprintf(b, sizeof b, "%lu KiB\n", (unsigned long)kib); say(b); }
    _exit(0);
}

/* Each frame touches 1 KiB more of stack, down to `left` frames. */
static int dig(int left)
{
    volatile char page[1024];
    page[0] = (char)left;
    page[sizeof page - 1] = (char)left;
    return left ? dig(left - 1) + page[0] : page[sizeof page - 1];
}

/* The address space's size now, from VmSize in /proc/self/status, read without malloc. */
static long vm_size_kib(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p = strstr(buf, "VmSize:");
    return p ? strtol(p + 7, NULL, 10) : -1;
}

static void child(const char *what, int resource, rlim_t limit_kib, int as_headroom_kib)
{
    pid_t c = fork();
    if (c == 0) {
        char here;
        base = (uintptr_t)&here;
        stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
        sigaltstack(&ss, NULL);
        struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK };
        sigaction(SIGSEGV, &sa, NULL);
        say(what);
        if (resource == RLIMIT_STACK) {
            lo_kib = limit_kib - 64, hi_kib = limit_kib + 4;   /* + the faulting page */
        } else {
            long vm = vm_size_kib();
            limit_kib = vm + as_headroom_kib;
            /* The stack VMA already reaches 128 KiB (stack_expand) below the arguments. */
            lo_kib = 128, hi_kib = 128 + as_headroom_kib + 64;
        }
        struct rlimit l = { limit_kib << 10, RLIM_INFINITY };
        if (setrlimit(resource, &l) < 0)
            say("setrlimit failed\n");
        dig(2048);                                  /* 2 MiB */
        say("2 MiB of stack and no fault\n");
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        printf("child ended %s\n", WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "with an error");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    child("STACK 256 KiB, lowered at run time: ", RLIMIT_STACK, 256, 0);
    child("STACK 1 MiB: ", RLIMIT_STACK, 1024, 0);
    child("AS 64 KiB above the address space now: ", RLIMIT_AS, 0, 64);
    child("AS 4 MiB above it: ", RLIMIT_AS, 0, 4096);
    return 0;
}
