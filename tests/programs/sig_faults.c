/* Faults become signals a handler can catch, with Linux's si_code and si_addr:
 * SIGSEGV (SEGV_MAPERR on a null write, SEGV_ACCERR on a read-only or PROT_NONE page),
 * SIGTRAP (brk #0 and __builtin_trap: TRAP_BRKPT at the brk), SIGILL (udf: ILL_ILLOPC),
 * SIGBUS (an unaligned exclusive load: BUS_ADRALN). A fault whose signal is blocked or
 * ignored, or that happens inside its own handler, kills (checked in forked children), as
 * do rt_sigreturn from a bogus frame and a handler frame that cannot be written.
 * With the argument "esr", also prints the esr_context record Linux adds for aborts and
 * checks the two bad-frame cases (which qemu-aarch64 7.2 cannot run). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile int got_sig, got_code;
static volatile uintptr_t got_addr, got_pc, got_fault_address;
static volatile uint64_t got_esr;
static volatile int have_esr;
static int show_esr;
static volatile int trap_jumps;        /* SIGTRAP: leave by siglongjmp instead of stepping over */

static void catcher(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = (uintptr_t)si->si_addr;
    got_pc = uc->uc_mcontext.pc;
    got_fault_address = uc->uc_mcontext.fault_address;
    have_esr = 0;
    struct _aarch64_ctx *h = (struct _aarch64_ctx *)uc->uc_mcontext.__reserved;
    while (h->magic) {
        if (h->magic == ESR_MAGIC) {
            have_esr = 1;
            got_esr = ((struct esr_context *)h)->esr;
        }
        h = (struct _aarch64_ctx *)((char *)h + h->size);
    }
    if (sig == SIGTRAP && !trap_jumps) {
        uc->uc_mcontext.pc += 4;        /* step over the brk and carry on */
        return;
    }
    siglongjmp(env, 1);
}

static void show(const char *what, uintptr_t expect_addr)
{
    printf("%s: %s si_code=%d si_addr %s\n", what, strsignal(got_sig), got_code,
           got_addr == expect_addr ? "as expected" : "WRONG");
    if (show_esr)
        printf("  esr_context %s EC=%#x, fault_address %s\n", have_esr ? "present" : "absent",
               have_esr ? (unsigned)(got_esr >> 26) : 0u,
               got_fault_address == expect_addr ? "= si_addr" : "not si_addr");
}

static void install(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = catcher;
    sa.sa_flags = SA_SIGINFO;
    sigaction(sig, &sa, NULL);
}

static void child_status(const char *what, void (*body)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        body();
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
        printf("%s: killed by %s\n", what, strsignal(WTERMSIG(st)));
    else
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
}

static void segv_blocked(void)
{
    install(SIGSEGV);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSEGV);
    sigprocmask(SIG_BLOCK, &s, NULL);
    *(volatile int *)0 = 1;
}

static void segv_ignored(void)
{
    signal(SIGSEGV, SIG_IGN);
    *(volatile int *)0 = 1;
}

static void fault_in_handler(int sig)
{
    (void)sig;
    volatile int *volatile p = (int *)8;
    *p = 1;                             /* SIGSEGV while SIGSEGV is blocked: no second chance */
}

static void segv_in_handler(void)
{
    signal(SIGSEGV, fault_in_handler);
    *(volatile int *)0 = 1;
}

static void trap_blocked(void)
{
    install(SIGTRAP);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTRAP);
    sigprocmask(SIG_BLOCK, &s, NULL);
    __asm__ volatile("brk #0");
}

static void bad_sigreturn(void)
{
    static uint64_t junk[1200] __attribute__((aligned(16)));
    signal(SIGSEGV, SIG_DFL);           /* (the inherited catcher would longjmp into main) */
    for (unsigned i = 0; i < sizeof junk / sizeof junk[0]; i++)
        junk[i] = 0x5a5a5a5a5a5a5a5aull;
    /* rt_sigreturn with sp at a frame of junk: no valid pstate, no fpsimd_context */
    __asm__ volatile("mov sp, %0\n mov x8, #139\n svc #0" :: "r"(junk) : "memory");
}

static void usr1_handler(int sig) { (void)sig; }

static void frame_unwritable(void)
{
    signal(SIGSEGV, SIG_DFL);
    char *ro = mmap(NULL, 65536, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    stack_t ss = { .ss_sp = ro, .ss_size = 65536, .ss_flags = 0 };
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = usr1_handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
}

int main(int argc, char **argv)
{
    show_esr = argc > 1 && strcmp(argv[1], "esr") == 0;
    install(SIGSEGV);
    install(SIGTRAP);
    install(SIGILL);
    install(SIGBUS);

    if (!sigsetjmp(env, 1))
        *(volatile int *)0 = 42;
    show("null write", 0);

    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!sigsetjmp(env, 1))
        ((volatile char *)ro)[100] = 1;
    show("write to a read-only page", (uintptr_t)ro + 100);

    char *none = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!sigsetjmp(env, 1))
        (void)((volatile char *)none)[4097];
    show("read of a PROT_NONE page", (uintptr_t)none + 4097);

    munmap(none, 8192);
    if (!sigsetjmp(env, 1))
        (void)((volatile char *)none)[5];
    show("read after munmap", (uintptr_t)none + 5);

    uintptr_t brk_at;
    __asm__ volatile("adr %0, 1f\n1: brk #0" : "=r"(brk_at));
    show("brk #0", brk_at);
    printf("  handler saw pc at the brk: %d, and execution went on after it\n", got_pc == brk_at);

    got_sig = 0;
    trap_jumps = 1;
    if (!sigsetjmp(env, 1))
        __builtin_trap();               /* noreturn: leave the handler by siglongjmp */
    trap_jumps = 0;
    printf("__builtin_trap: %s si_code=%d\n", strsignal(got_sig), got_code);

    uintptr_t udf_at = 0;
    if (!sigsetjmp(env, 1))
        __asm__ volatile("adr %0, 1f\n str %0, [%1]\n1: udf #0" : "+r"(udf_at) : "r"(&udf_at) : "memory");
    show("udf #0", udf_at);

    static uint64_t words[4];
    uintptr_t odd = (uintptr_t)words + 1;
    if (!sigsetjmp(env, 1)) {
        uint64_t v;
        __asm__ volatile("ldxr %0, [%1]" : "=r"(v) : "r"(odd) : "memory");
    }
    show("unaligned ldxr", odd);

    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("mask after siglongjmp out of handlers: SEGV %d ILL %d BUS %d\n", sigismember(&now, SIGSEGV),
           sigismember(&now, SIGILL), sigismember(&now, SIGBUS));

    child_status("SIGSEGV blocked when the fault happens", segv_blocked);
    child_status("SIGSEGV ignored when the fault happens", segv_ignored);
    child_status("SIGSEGV inside the SIGSEGV handler", segv_in_handler);
    child_status("SIGTRAP blocked at a brk", trap_blocked);
    if (show_esr) {                     /* qemu-aarch64 7.2 aborts on these two */
        child_status("rt_sigreturn with a bad frame", bad_sigreturn);
        child_status("handler frame on a read-only alternate stack", frame_unwritable);
    }
    return 0;
}
