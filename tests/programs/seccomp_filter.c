/* seccomp(2) and prctl(PR_SET_SECCOMP): the checks a filter must pass (errno order), each
 * action (ERRNO capped at 4095, TRAP's SIGSYS with its siginfo and the call's registers,
 * KILL_PROCESS, KILL_THREAD of one thread or of a whole process, LOG, TRACE without a
 * tracer, an unknown action), which of several filters wins, what the filter sees
 * (nr, arch, args, RET A, scratch memory, a division by a zero X), inheritance over fork and
 * execve, TSYNC, the path-length limit, strict mode, /proc/self/status. Each case runs in a
 * child; prints outcomes, never addresses. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <unistd.h>

#define NR_OFF offsetof(struct seccomp_data, nr)
#define ARCH_OFF offsetof(struct seccomp_data, arch)
#define ARG0_LO offsetof(struct seccomp_data, args[0])
#define IP_LO offsetof(struct seccomp_data, instruction_pointer)

static long sys_seccomp(unsigned op, unsigned flags, void *args)
{
    return syscall(__NR_seccomp, op, flags, args);
}

static const char *err(long r)
{
    static char buf[40];
    if (r >= 0) {
        snprintf(buf, sizeof buf, "%ld", r);
        return buf;
    }
    snprintf(buf, sizeof buf, "-1 %s", strerrorname_np(errno));
    return buf;
}

/* A filter: `ret` for syscall `nr`, ALLOW for the rest. */
static long install_for(int nr, unsigned ret, unsigned flags)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, ret),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog p = {4, f};
    return sys_seccomp(SECCOMP_SET_MODE_FILTER, flags, &p);
}

static long install(struct sock_filter *f, unsigned short n, unsigned flags)
{
    struct sock_fprog p = {n, f};
    return sys_seccomp(SECCOMP_SET_MODE_FILTER, flags, &p);
}

static void report_status(const char *what, int st)
{
    if (WIFEXITED(st))
        printf("%s: exit %d\n", what, WEXITSTATUS(st));
    else
        printf("%s: signal %s core=%d\n", what, sigabbrev_np(WTERMSIG(st)), WCOREDUMP(st) ? 1 : 0);
}

#define CHILD(what) for (pid_t _p = fork(), _once = 1; _once; _once = 0) \
    if (_p) { int _st; waitpid(_p, &_st, 0); report_status(what, _st); } else

static void status_lines(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Seccomp", 7) || !strncmp(line, "NoNewPrivs", 10))
            printf("  %s", line);
    if (f)
        fclose(f);
}

static void checks(void)
{
    struct sock_filter ok[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog p0 = {0, ok};
    printf("len 0: %s\n", err(sys_seccomp(SECCOMP_SET_MODE_FILTER, 0, &p0)));
    struct sock_fprog pbig = {4097, ok};
    printf("len 4097: %s\n", err(sys_seccomp(SECCOMP_SET_MODE_FILTER, 0, &pbig)));
    printf("fprog NULL: %s\n", err(sys_seccomp(SECCOMP_SET_MODE_FILTER, 0, NULL)));
    struct sock_fprog pbad = {1, (void *)8};
    printf("insns bad: %s\n", err(sys_seccomp(SECCOMP_SET_MODE_FILTER, 0, &pbad)));
    printf("flags bad: %s\n", err(sys_seccomp(SECCOMP_SET_MODE_FILTER, 1u << 20, NULL)));
    printf("op bad: %s\n", err(sys_seccomp(77, 0, NULL)));
    printf("strict flags: %s\n", err(sys_seccomp(SECCOMP_SET_MODE_STRICT, 1, NULL)));
    printf("strict args: %s\n", err(sys_seccomp(SECCOMP_SET_MODE_STRICT, 0, ok)));
    struct sock_filter noret[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF)};
    printf("no ret: %s\n", err(install(noret, 1, 0)));
    struct sock_filter mod[] = {BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 3), BPF_STMT(BPF_RET | BPF_K, 0)};
    printf("mod: %s\n", err(install(mod, 2, 0)));
    struct sock_filter div0[] = {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), BPF_STMT(BPF_RET | BPF_K, 0)};
    printf("div 0: %s\n", err(install(div0, 2, 0)));
    struct sock_filter lsh[] = {BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32), BPF_STMT(BPF_RET | BPF_K, 0)};
    printf("lsh 32: %s\n", err(install(lsh, 2, 0)));
    struct sock_filter unal[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), BPF_STMT(BPF_RET | BPF_K, 0)};
    printf("unaligned: %s\n", err(install(unal, 2, 0)));
    struct sock_filter past[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), BPF_STMT(BPF_RET | BPF_K, 0)};
    printf("past data: %s\n", err(install(past, 2, 0)));
    struct sock_filter half[] = {BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0), BPF_STMT(BPF_RET | BPF_K, 0)};
    printf("half load: %s\n", err(install(half, 2, 0)));
    struct sock_filter jfar[] = {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), BPF_STMT(BPF_RET | BPF_K, 0)};
    printf("jump out: %s\n", err(install(jfar, 2, 0)));
    struct sock_filter jafar[] = {BPF_STMT(BPF_JMP | BPF_JA, 1), BPF_STMT(BPF_RET | BPF_K, 0)};
    printf("ja out: %s\n", err(install(jafar, 2, 0)));
    struct sock_filter mem[] = {BPF_STMT(BPF_LD | BPF_MEM, 3), BPF_STMT(BPF_RET | BPF_K, 0)};
    printf("mem unset: %s\n", err(install(mem, 2, 0)));
    struct sock_filter mem16[] = {BPF_STMT(BPF_ST, 16), BPF_STMT(BPF_RET | BPF_K, 0)};
    printf("mem 16: %s\n", err(install(mem16, 2, 0)));
    struct sock_filter memj[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
        BPF_STMT(BPF_ST, 2),
        BPF_STMT(BPF_LD | BPF_MEM, 2),
        BPF_STMT(BPF_RET | BPF_K, 0)};
    printf("mem on one path: %s\n", err(install(memj, 5, 0)));
    unsigned actions[] = {SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_ERRNO,
                          SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW, 0x12340000};
    for (unsigned i = 0; i < sizeof actions / sizeof *actions; i++)
        printf("action avail %#x: %s\n", actions[i], err(sys_seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &actions[i])));
    printf("action avail flags: %s\n", err(sys_seccomp(SECCOMP_GET_ACTION_AVAIL, 1, &actions[0])));
    printf("action avail NULL: %s\n", err(sys_seccomp(SECCOMP_GET_ACTION_AVAIL, 0, NULL)));
    printf("prctl mode 3: %s\n", err(prctl(PR_SET_SECCOMP, 3, 0, 0, 0)));
    printf("PR_GET_SECCOMP: %s\n", err(prctl(PR_GET_SECCOMP, 0, 0, 0, 0)));
}

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    printf("  SIGSYS: signo %d code %d errno %d syscall %d arch %#x call_addr %s x0 %lld\n", si->si_signo,
           si->si_code, si->si_errno, si->si_syscall, si->si_arch, si->si_call_addr ? "set" : "0",
           (long long)uc->uc_mcontext.regs[0]);
    uc->uc_mcontext.regs[0] = 4242;        /* what the skipped call returns */
}

static void *thread_getppid(void *arg)
{
    (void)arg;
    long r = syscall(__NR_getppid);
    printf("  thread getppid: %s\n", err(r));
    return NULL;
}

static void *thread_killed(void *arg)
{
    (void)arg;
    syscall(__NR_getppid);
    printf("  thread survived\n");
    return NULL;
}

static void *thread_wait(void *arg)
{
    sleep(1);
    return arg;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "exec")) {
        printf("  after exec: getppid %s, mode %d\n", err(syscall(__NR_getppid)), prctl(PR_GET_SECCOMP));
        return 0;
    }
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore);
    printf("PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    status_lines();
    CHILD("checks") { checks(); _exit(0); }

    CHILD("unprivileged") {
        if (setuid(65534) < 0)
            _exit(3);
        printf("  without no_new_privs: %s\n", err(install_for(__NR_getppid, SECCOMP_RET_ERRNO | 1, 0)));
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        printf("  with no_new_privs: %s\n", err(install_for(__NR_getppid, SECCOMP_RET_ERRNO | 1, 0)));
        printf("  getppid: %s\n", err(syscall(__NR_getppid)));
        _exit(0);
    }

    CHILD("errno") {
        printf("  install: %s\n", err(install_for(__NR_getppid, SECCOMP_RET_ERRNO | EPERM, 0)));
        printf("  getppid: %s, getpid ok: %d\n", err(syscall(__NR_getppid)), getpid() > 0);
        printf("  PR_GET_SECCOMP: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
        status_lines();
        printf("  strict now: %s\n", err(sys_seccomp(SECCOMP_SET_MODE_STRICT, 0, NULL)));
        install_for(__NR_getppid, SECCOMP_RET_ERRNO | 5000, 0);
        printf("  capped: %s (errno %d)\n", err(syscall(__NR_getppid)), errno);
        install_for(__NR_getppid, SECCOMP_RET_ERRNO | 0, 0);
        printf("  errno 0 newest: %s\n", err(syscall(__NR_getppid)));
        install_for(__NR_getppid, SECCOMP_RET_ERRNO | ENOENT, 0);
        printf("  newest of equals wins: %s\n", err(syscall(__NR_getppid)));
        install_for(__NR_getppid, SECCOMP_RET_LOG, 0);
        printf("  a weaker newer one does not: %s\n", err(syscall(__NR_getppid)));
        status_lines();
        fflush(stdout);
        char *args[] = {argv[0], "exec", NULL};
        execv("/proc/self/exe", args);
        _exit(9);
    }

    CHILD("fork inherits") {
        install_for(__NR_getppid, SECCOMP_RET_ERRNO | EACCES, 0);
        CHILD("  grandchild") { printf("    getppid: %s mode %d\n", err(syscall(__NR_getppid)), prctl(PR_GET_SECCOMP)); _exit(0); }
        _exit(0);
    }

    CHILD("what the filter sees") {
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARCH_OFF),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_AARCH64, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getpriority, 0, 9),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, IP_LO),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 7, 0),          /* pc's low half is never 0 here */
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO),
            BPF_STMT(BPF_ST, 5),
            BPF_STMT(BPF_LDX | BPF_MEM, 5),
            BPF_STMT(BPF_MISC | BPF_TXA, 0),
            BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 7),            /* errno = arg0 + 7 */
            BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
            BPF_STMT(BPF_RET | BPF_A, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        printf("  install: %s\n", err(install(f, sizeof f / sizeof *f, 0)));
        errno = 0;
        long r = syscall(__NR_getpriority, 3, 0);
        printf("  getpriority(3): %ld errno %d\n", r, errno);
        struct sock_filter nr_back[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
            BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 1000, 0, 3),
            BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xfff),
            BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
            BPF_STMT(BPF_RET | BPF_A, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        printf("  install 2: %s\n", err(install(nr_back, 6, 0)));
        printf("  syscall 1234: %s errno %d\n", err(syscall(1234)), errno);
        printf("  syscall -1: %s errno %d\n", err(syscall(-1)), errno);
        _exit(0);
    }

    CHILD("trap") {
        struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
        sigaction(SIGSYS, &sa, NULL);
        install_for(__NR_getppid, SECCOMP_RET_TRAP | 77, 0);
        printf("  getppid(11): %s\n", err(syscall(__NR_getppid, 11)));
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGSYS);
        sigprocmask(SIG_BLOCK, &set, NULL);
        printf("  blocked: %s\n", err(syscall(__NR_getppid, 12)));
        _exit(0);
    }

    CHILD("trap, no handler") {
        install_for(__NR_getppid, SECCOMP_RET_TRAP, 0);
        syscall(__NR_getppid);
        _exit(0);
    }

    CHILD("trace, no tracer") {
        install_for(__NR_getppid, SECCOMP_RET_TRACE | 3, 0);
        printf("  getppid: %s\n", err(syscall(__NR_getppid)));
        _exit(0);
    }

    CHILD("kill process, handler set") {
        struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
        sigaction(SIGSYS, &sa, NULL);
        install_for(__NR_getppid, SECCOMP_RET_KILL_PROCESS, 0);
        syscall(__NR_getppid);
        printf("  survived\n");
        _exit(0);
    }

    CHILD("kill thread, one thread") {
        install_for(__NR_getppid, SECCOMP_RET_KILL_THREAD, 0);
        syscall(__NR_getppid);
        _exit(0);
    }

    CHILD("kill thread, two threads") {
        pthread_t t, w;
        pthread_create(&w, NULL, thread_wait, NULL);
        install_for(__NR_getppid, SECCOMP_RET_KILL_THREAD, 0);
        pthread_create(&t, NULL, thread_killed, NULL);
        pthread_join(t, NULL);
        printf("  main goes on\n");
        _exit(0);
    }

    CHILD("unknown action") {
        install_for(__NR_getppid, 0x12340000, 0);
        syscall(__NR_getppid);
        _exit(0);
    }

    CHILD("div by X 0") {
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 3),
            BPF_STMT(BPF_LDX | BPF_IMM, 0),
            BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0),
            BPF_STMT(BPF_RET | BPF_A, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        printf("  install: %s\n", err(install(f, 6, 0)));
        syscall(__NR_getppid);
        _exit(0);
    }

    CHILD("tsync") {
        pthread_t t;
        install_for(__NR_getpriority, SECCOMP_RET_ERRNO | 1, 0);
        printf("  tsync: %s\n", err(install_for(__NR_getppid, SECCOMP_RET_ERRNO | EBUSY, SECCOMP_FILTER_FLAG_TSYNC)));
        pthread_create(&t, NULL, thread_getppid, NULL);
        pthread_join(t, NULL);
        status_lines();
        _exit(0);
    }

    CHILD("path length") {
        static struct sock_filter big[4096];
        for (int i = 0; i < 4095; i++)
            big[i] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, i);
        big[4095] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        int n = 0;
        long r;
        while ((r = install(big, 4096, 0)) == 0)
            n++;
        printf("  %d filters of 4096, then %s\n", n, err(r));
        printf("  a short one still: %s\n", err(install(big + 4095, 1, 0)));
        _exit(0);
    }

    CHILD("strict") {
        printf("  prctl strict: %s\n", err(prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 1, 2, 3)));
        static const char msg[] = "  write allowed\n";
        write(1, msg, sizeof msg - 1);
        syscall(__NR_getpid);
        static const char no[] = "  survived getpid\n";
        write(1, no, sizeof no - 1);
        syscall(__NR_exit, 0);
    }
    return 0;
}
