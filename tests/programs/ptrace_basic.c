/* ptrace basics, compared with Linux: PTRACE_TRACEME and the SIGTRAP after exec,
 * PEEKDATA/POKEDATA, POKETEXT of code that already ran (a breakpoint-style patch),
 * GETREGSET (NT_PRSTATUS, NT_PRFPREG, NT_ARM_TLS, NT_ARM_SYSTEM_CALL), syscall stops with
 * TRACESYSGOOD (x7 = 0 at entry, 1 at exit; GET_SYSCALL_INFO; GETEVENTMSG), skipping a
 * syscall by setting its number to -1, changing x0 at exit, a signal-delivery stop whose
 * signal the tracer suppresses, another it replaces, and the exit.
 * Run with no argument (the tracer); it runs itself with "child" as the tracee. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/ptrace.h>

#ifndef NT_ARM_SYSTEM_CALL
#define NT_ARM_SYSTEM_CALL 0x404
#endif

volatile uint64_t magic = 0x1122334455667788ULL;

/* A function whose first instruction the tracer patches: "mov w0, #1; ret" becomes
 * "mov w0, #2; ret" (run once before the patch, so its code is already translated). */
__attribute__((noinline, aligned(16))) int patched(void) {
    int r;
    __asm__ volatile("mov %w0, #1" : "=r"(r));
    return r;
}

static long raw_ptrace(long req, long pid, long addr, long data) {
    return syscall(SYS_ptrace, req, pid, addr, data);
}

static int child(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("child: patched() before = %d\n", patched());
    raise(SIGUSR1);                         /* the tracer pokes here */
    printf("child: magic = %#llx\n", (unsigned long long)magic);
    printf("child: patched() after = %d\n", patched());
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);                         /* the tracer turns it into nothing */
    long r = syscall(SYS_getppid);          /* skipped by the tracer: 12345 */
    printf("child: skipped getppid = %ld\n", r);
    r = syscall(SYS_getpid);                /* x0 changed at exit: 777 */
    printf("child: getpid = %ld\n", r);
    r = syscall(SYS_getuid);                /* entry number changed to getgid: same here */
    printf("child: getuid->getgid = %ld\n", r);
    raise(SIGTERM);                         /* no handler... but the tracer hands back SIGTERM */
    printf("child: not reached\n");
    return 0;
}

static int wait_stop(pid_t pid, const char *what) {
    int status;
    if (waitpid(pid, &status, __WALL) != pid) { perror("waitpid"); exit(1); }
    if (WIFSTOPPED(status))
        printf("%s: stopped sig %d event %d\n", what, WSTOPSIG(status), status >> 16);
    else if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by %d\n", what, WTERMSIG(status));
    return status;
}

static void regs(pid_t pid, struct user_pt_regs *r) {
    struct iovec iov = { r, sizeof *r };
    if (raw_ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, (long)&iov)) perror("GETREGSET");
}

int main(int argc, char **argv) {
    if (argc > 1) return child();
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = fork();
    if (pid == 0) {
        if (raw_ptrace(PTRACE_TRACEME, 0, 0, 0)) perror("TRACEME");
        printf("TRACEME again: %ld errno %d\n", raw_ptrace(PTRACE_TRACEME, 0, 0, 0), errno);
        execl(argv[0], argv[0], "child", (char *)NULL);
        _exit(127);
    }
    int st = wait_stop(pid, "exec");
    struct user_pt_regs r;
    regs(pid, &r);
    printf("exec stop: sp aligned %d, x0 %llu\n", (int)(r.sp % 16 == 0), (unsigned long long)r.regs[0]);

    /* GETREGSET lengths: cut to the set's size, EINVAL for a partial unit */
    char big[1024];
    struct iovec iov = { big, sizeof big };
    printf("PRSTATUS len %ld -> %zu\n", raw_ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, (long)&iov), iov.iov_len);
    iov.iov_len = sizeof big;
    printf("PRFPREG len %ld -> %zu\n", raw_ptrace(PTRACE_GETREGSET, pid, NT_PRFPREG, (long)&iov), iov.iov_len);
    iov.iov_len = sizeof big;
    printf("TLS len %ld -> %zu\n", raw_ptrace(PTRACE_GETREGSET, pid, NT_ARM_TLS, (long)&iov), iov.iov_len);
    iov.iov_len = 5;
    long rc = raw_ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, (long)&iov);
    printf("PRSTATUS len 5: %ld errno %d\n", rc, rc ? errno : 0);
    iov.iov_len = 8;
    rc = raw_ptrace(PTRACE_GETREGSET, pid, 0x12345, (long)&iov);
    printf("unknown set: %ld errno %d\n", rc, rc ? errno : 0);
    rc = raw_ptrace(PTRACE_PEEKUSER, pid, 0, (long)big);
    printf("PEEKUSER: %ld errno %d\n", rc, rc ? errno : 0);
    rc = raw_ptrace(PTRACE_SYSCALL, pid, 0, 65);
    printf("SYSCALL with signal 65: %ld errno %d\n", rc, rc ? errno : 0);

    raw_ptrace(PTRACE_CONT, pid, 0, 0);
    st = wait_stop(pid, "raise");                 /* SIGUSR1's signal-delivery stop */
    siginfo_t si;
    raw_ptrace(PTRACE_GETSIGINFO, pid, 0, (long)&si);
    printf("siginfo: signo %d code %d pid ok %d\n", si.si_signo, si.si_code, si.si_pid == pid);
    uint64_t word = 0;
    printf("PEEKDATA rc %ld\n", raw_ptrace(PTRACE_PEEKDATA, pid, (long)&magic, (long)&word));
    printf("magic in child = %#llx\n", (unsigned long long)word);
    raw_ptrace(PTRACE_POKEDATA, pid, (long)&magic, 0xabcdefLL);
    rc = raw_ptrace(PTRACE_PEEKDATA, pid, 8, (long)&word);
    printf("PEEKDATA at 8: %ld errno %d\n", rc, rc ? errno : 0);
    uint64_t code;
    raw_ptrace(PTRACE_PEEKTEXT, pid, (long)patched, (long)&code);
    /* mov w<d>, #1 is 0x52800020|d; #2 is 0x52800040|d: find the mov among the first words */
    for (int i = 0; i < 4; i++) {
        uint64_t w;
        raw_ptrace(PTRACE_PEEKTEXT, pid, (long)patched + 8 * i, (long)&w);
        for (int half = 0; half < 2; half++) {
            uint32_t insn = (uint32_t)(w >> (32 * half));
            if ((insn & 0xffffffe0) == 0x52800020) {
                uint32_t patch = (insn & 0x1f) | 0x52800040;
                w = half ? (w & 0xffffffffULL) | ((uint64_t)patch << 32) : (w & ~0xffffffffULL) | patch;
                printf("POKETEXT rc %ld\n", raw_ptrace(PTRACE_POKETEXT, pid, (long)patched + 8 * i, (long)w));
                i = 4;
                break;
            }
        }
    }
    raw_ptrace(PTRACE_CONT, pid, 0, 0);            /* SIGUSR1 suppressed: the child goes on */

    st = wait_stop(pid, "ignored");               /* SIGUSR2, ignored, still seen by the tracer */
    raw_ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
    raw_ptrace(PTRACE_SYSCALL, pid, 0, 0);
    int entries = 0, changed = 0;
    for (;;) {
        if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) break;
        if (WSTOPSIG(st) != (SIGTRAP | 0x80)) {
            printf("signal stop %d\n", WSTOPSIG(st));
            raw_ptrace(PTRACE_CONT, pid, 0, WSTOPSIG(st));
            continue;
        }
        regs(pid, &r);
        int nr;
        struct iovec sc = { &nr, sizeof nr };
        raw_ptrace(PTRACE_GETREGSET, pid, NT_ARM_SYSTEM_CALL, (long)&sc);
        struct ptrace_syscall_info info;
        long isz = raw_ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, (long)&info);
        unsigned long msg = 0;
        raw_ptrace(PTRACE_GETEVENTMSG, pid, 0, (long)&msg);
        int entry = r.regs[7] == 0;
        if (nr == SYS_getppid || nr == SYS_getpid || nr == SYS_getuid || nr == SYS_getgid)
            printf("%s nr %d x7 %llu info op %d size %ld msg %lu\n", entry ? "entry" : "exit", nr,
                   (unsigned long long)r.regs[7], info.op, isz, msg);
        if (entry) {
            entries++;
            if (nr == SYS_getppid || nr == SYS_getuid) {
                int nnr = nr == SYS_getppid ? -1 : SYS_getgid;
                raw_ptrace(PTRACE_SETREGSET, pid, NT_ARM_SYSTEM_CALL, (long)&sc);
                sc.iov_base = &nnr;
                raw_ptrace(PTRACE_SETREGSET, pid, NT_ARM_SYSTEM_CALL, (long)&sc);
                if (nnr == -1) {
                    r.regs[0] = 12345;
                    struct iovec iv = { &r, sizeof r };
                    raw_ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, (long)&iv);
                }
            }
        } else if (nr == SYS_getpid && !changed++) {
            printf("exit x0 is the pid: %d\n", (pid_t)r.regs[0] == pid);
            r.regs[0] = 777;
            struct iovec iv = { &r, sizeof r };
            raw_ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, (long)&iv);
        } else if (nr == SYS_getppid) {
            printf("skipped exit x0 %llu\n", (unsigned long long)r.regs[0]);
        }
        raw_ptrace(PTRACE_SYSCALL, pid, 0, 0);
    }
    printf("syscall entries seen > 5: %d\n", entries > 5);
    if (WIFSIGNALED(st)) printf("child killed by %d\n", WTERMSIG(st));
    else if (WIFEXITED(st)) printf("child exited %d\n", WEXITSTATUS(st));
    rc = raw_ptrace(PTRACE_CONT, pid, 0, 0);
    printf("CONT after exit: %ld errno %d\n", rc, rc ? errno : 0);
    return 0;
}
