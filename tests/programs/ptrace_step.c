/* ptrace's single step, breakpoints and watchpoints, compared with Linux:
 *  - a `brk` in the tracee: SIGTRAP, si_code TRAP_BRKPT, pc at the brk (not past it);
 *  - PTRACE_SINGLESTEP through straight-line code, a branch and an svc: the pc after each
 *    step (as offsets from a label), SIGTRAP with TRAP_TRACE and si_addr the pc;
 *  - a step into a signal handler the tracer delivers: the tracee stops at its first
 *    instruction;
 *  - a breakpoint inserted by POKETEXT into code that already ran is hit;
 *  - NT_ARM_HW_BREAK / NT_ARM_HW_WATCH: dbg_info, a hardware breakpoint (TRAP_HWBKPT at
 *    the function), a store watchpoint (TRAP_HWBKPT with si_addr the data address, before
 *    the store), stepping over it with the watchpoint off;
 *  - process_vm_writev into a private writable+executable page whose code already ran.
 * Prints no addresses: only offsets within this binary and yes/no comparisons. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/ptrace.h>

#ifndef NT_ARM_HW_BREAK
#define NT_ARM_HW_BREAK 0x402
#define NT_ARM_HW_WATCH 0x403
#endif
#ifndef TRAP_HWBKPT
#define TRAP_HWBKPT 4
#endif

struct hwdebug {
    uint32_t dbg_info;
    uint32_t pad;
    struct { uint64_t addr; uint32_t ctrl; uint32_t pad; } regs[16];
};

volatile uint64_t watched __attribute__((aligned(8)));
extern char steps[], steps_svc[], steps_end[];

/* Straight-line code, a taken branch and an svc (getpid), stepped by the tracer. */
__attribute__((noinline)) void stepper(void) {
    __asm__ volatile(
        ".globl steps, steps_svc, steps_end\n"
        "brk #7\n"
        "steps:\n"
        "mov x9, #1\n"
        "add x9, x9, #2\n"
        "nop\n"
        "b 1f\n"
        "nop\n"
        "1: mov x8, #172\n"
        "steps_svc: svc #0\n"
        "nop\n"
        "nop\n"
        "steps_end: nop\n"
        ::: "x0", "x8", "x9", "memory");
}

__attribute__((noinline, aligned(16))) int poked(int x) { return x * 3 + 1; }
__attribute__((noinline, aligned(16))) int hwbp_target(int x) { return x + 100; }

static uint32_t *jit;                       /* RWX: mov w0, #1; ret */

static int call_jit(void) { return ((int (*)(void))jit)(); }

static volatile int handled;
static void on_usr1(int sig) { handled = sig; }

/* glibc's ptrace: PEEK* return the word. */
static long pt(long req, pid_t pid, long addr, long data) { return ptrace(req, pid, (void *)addr, (void *)data); }

static int child(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGUSR1, on_usr1);
    printf("child: poked(1) = %d\n", poked(1));          /* translated before the poke */
    jit[0] = 0x52800020;                                  /* its own frame now, not the parent's */
    __builtin___clear_cache((char *)jit, (char *)(jit + 1));
    printf("child: jit() = %d\n", call_jit());
    if (pt(PTRACE_TRACEME, 0, 0, 0)) return 1;
    raise(SIGSTOP);
    stepper();
    printf("child: handled %d\n", handled);
    printf("child: poked(2) = %d\n", poked(2));          /* hits the poked brk */
    printf("child: hwbp_target(1) = %d\n", hwbp_target(1));
    watched = 42;                                        /* the watchpoint */
    printf("child: watched = %llu\n", (unsigned long long)watched);
    printf("child: jit() = %d\n", call_jit());        /* rewritten by process_vm_writev */
    return 0;
}

static pid_t pid;

static void wait_trap(const char *what, struct user_regs_struct *regs, siginfo_t *si) {
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
        printf("%s: status %#x\n", what, status);
        exit(1);
    }
    struct iovec iov = { regs, sizeof *regs };
    if (pt(PTRACE_GETREGSET, pid, NT_PRSTATUS, (long)&iov) || pt(PTRACE_GETSIGINFO, pid, 0, (long)si))
        printf("%s: %s\n", what, strerrorname_np(errno));
    if (WSTOPSIG(status) != SIGTRAP)
        printf("%s: stopped by signal %d\n", what, WSTOPSIG(status));
}

static void set_regs(struct user_regs_struct *regs) {
    struct iovec iov = { regs, sizeof *regs };
    pt(PTRACE_SETREGSET, pid, NT_PRSTATUS, (long)&iov);
}

static void set_slot(int note, uint64_t addr, uint32_t ctrl, const char *what) {
    struct hwdebug d;
    memset(&d, 0, sizeof d);
    d.regs[0].addr = addr;
    d.regs[0].ctrl = ctrl;
    struct iovec iov = { &d, offsetof(struct hwdebug, regs) + sizeof d.regs[0] };
    long r = pt(PTRACE_SETREGSET, pid, note, (long)&iov);
    printf("%s: %s\n", what, r ? strerrorname_np(errno) : "ok");
}

static void show_info(int note, const char *what) {
    struct hwdebug d;
    memset(&d, 0xff, sizeof d);
    struct iovec iov = { &d, sizeof d };
    long r = pt(PTRACE_GETREGSET, pid, note, (long)&iov);
    printf("%s: %s len %zu dbg_info %#x slot0 %s ctrl %#x\n", what, r ? strerrorname_np(errno) : "ok",
           iov.iov_len, d.dbg_info, d.regs[0].addr ? "set" : "0", d.regs[0].ctrl);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    jit = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    jit[0] = 0x52800020;                                /* mov w0, #1 */
    jit[1] = 0xd65f03c0;                                /* ret */
    __builtin___clear_cache((char *)jit, (char *)(jit + 2));
    pid = fork();
    if (pid == 0) return child();
    struct user_regs_struct regs;
    siginfo_t si;
    int status;
    waitpid(pid, &status, 0);                           /* the SIGSTOP */
    printf("stopped by %d\n", WSTOPSIG(status));

    pt(PTRACE_CONT, pid, 0, 0);
    wait_trap("brk", &regs, &si);
    printf("brk: si_code %d pc steps%+ld si_addr==pc %s\n", si.si_code, (long)(regs.pc - (uint64_t)steps),
           (uint64_t)si.si_addr == regs.pc ? "yes" : "no");
    regs.pc += 4;                                       /* past the brk, as a debugger does */
    set_regs(&regs);
    for (int i = 0; i < 9 && regs.pc < (uint64_t)steps_end; i++) {
        pt(PTRACE_SINGLESTEP, pid, 0, 0);
        wait_trap("step", &regs, &si);
        printf("step %d: pc steps+%ld si_code %d si_addr==pc %s x9 %llu\n", i, (long)(regs.pc - (uint64_t)steps),
               si.si_code, (uint64_t)si.si_addr == regs.pc ? "yes" : "no", (unsigned long long)regs.regs[9]);
    }

    /* Single-step with SIGUSR1: the handler's first instruction is the next stop. */
    pt(PTRACE_SINGLESTEP, pid, 0, SIGUSR1);
    wait_trap("step into handler", &regs, &si);
    printf("step into handler: at on_usr1 %s si_code %d\n", regs.pc == (uint64_t)on_usr1 ? "yes" : "no",
           si.si_code);

    /* A brk poked into poked(), which already ran. */
    long orig = pt(PTRACE_PEEKTEXT, pid, (long)poked, 0);
    long brk = (orig & ~0xffffffffL) | 0xd4200000L;      /* brk #0 */
    long r = pt(PTRACE_POKETEXT, pid, (long)poked, brk);
    printf("poke brk: %s\n", r ? strerrorname_np(errno) : "ok");
    pt(PTRACE_CONT, pid, 0, 0);
    wait_trap("poked brk", &regs, &si);
    printf("poked brk: hit at poked %s si_code %d\n", regs.pc == (uint64_t)poked ? "yes" : "no", si.si_code);
    pt(PTRACE_POKETEXT, pid, (long)poked, orig);

    /* Hardware breakpoint on hwbp_target. */
    show_info(NT_ARM_HW_BREAK, "hw break");
    show_info(NT_ARM_HW_WATCH, "hw watch");
    set_slot(NT_ARM_HW_BREAK, (uint64_t)hwbp_target | 2, (0xf << 5) | (2 << 1) | 1, "misaligned breakpoint");
    set_slot(NT_ARM_HW_BREAK, (uint64_t)hwbp_target, (0xf << 5) | (2 << 1) | 1, "breakpoint");
    show_info(NT_ARM_HW_BREAK, "hw break set");
    pt(PTRACE_CONT, pid, 0, 0);
    wait_trap("hw breakpoint", &regs, &si);
    printf("hw breakpoint: at hwbp_target %s si_code %d si_addr==pc %s\n",
           regs.pc == (uint64_t)hwbp_target ? "yes" : "no", si.si_code, (uint64_t)si.si_addr == regs.pc ? "yes" : "no");
    set_slot(NT_ARM_HW_BREAK, 0, 0, "breakpoint off");

    /* A store watchpoint on `watched`: the trap comes before the store. */
    set_slot(NT_ARM_HW_WATCH, (uint64_t)&watched, (0xff << 5) | (2 << 3) | (2 << 1) | 1, "watchpoint");
    pt(PTRACE_CONT, pid, 0, 0);
    wait_trap("watchpoint", &regs, &si);
    errno = 0;
    long before = pt(PTRACE_PEEKDATA, pid, (long)&watched, 0);
    printf("watchpoint: si_code %d si_addr==&watched %s value before %ld\n", si.si_code,
           (uint64_t)si.si_addr == (uint64_t)&watched ? "yes" : "no", before);
    set_slot(NT_ARM_HW_WATCH, 0, 0, "watchpoint off");
    uint64_t at = regs.pc;
    pt(PTRACE_SINGLESTEP, pid, 0, 0);
    wait_trap("step over store", &regs, &si);
    printf("step over store: pc advanced by %ld value %ld\n", (long)(regs.pc - at),
           pt(PTRACE_PEEKDATA, pid, (long)&watched, 0));

    uint32_t mov2 = 0x52800040;                         /* mov w0, #2 */
    struct iovec local = { &mov2, 4 }, remote = { jit, 4 };
    printf("process_vm_writev into code: %zd\n", process_vm_writev(pid, &local, 1, &remote, 1, 0));
    pt(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &status, 0);
    printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
