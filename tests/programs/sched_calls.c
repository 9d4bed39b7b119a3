/* The sched_* family, getcpu and membarrier: results and errnos for valid and invalid
 * arguments, printed so that moss-py and Linux 6.1 (one CPU) print the same.
 * Raw syscalls throughout: glibc's wrappers reshape some results (sched_getaffinity). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

#define BAD ((void *)1)
#define NOPID 999999

static long setsched(pid_t pid, int policy, int prio)
{
    struct sched_param p = { .sched_priority = prio };
    return syscall(SYS_sched_setscheduler, pid, policy, &p);
}

static long setparam(pid_t pid, int prio)
{
    struct sched_param p = { .sched_priority = prio };
    return syscall(SYS_sched_setparam, pid, &p);
}

static void show_policy(const char *what, pid_t pid)
{
    struct sched_param p = { .sched_priority = -1 };
    long pol = syscall(SYS_sched_getscheduler, pid);
    long r = syscall(SYS_sched_getparam, pid, &p);
    printf("%s: policy %#lx, param %ld prio %d\n", what, pol, r, p.sched_priority);
}

/* /proc/self/stat's priority, nice, rt_priority and policy (fields 18, 19, 40, 41). */
static void show_stat(const char *what)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f || !fgets(buf, sizeof buf, f))
        exit(1);
    fclose(f);
    char *p = strrchr(buf, ')') + 4;            /* past ") S ": field 4 on */
    long v[64];
    int n = 0;
    for (char *tok = strtok(p, " "); tok && n < 64; tok = strtok(NULL, " "))
        v[n++] = strtol(tok, NULL, 10);         /* v[0] is field 4 */
    printf("%s stat: priority %ld nice %ld rt_priority %ld policy %ld\n", what, v[14], v[15], v[36], v[37]);
}

static void affinity_calls(void)
{
    unsigned long mask[16];
    size_t lens[] = { 8, 16, 64, 128, 4, 0, 12 };
    char what[64];
    for (unsigned i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memset(mask, 0xAA, sizeof mask);
        long r = syscall(SYS_sched_getaffinity, 0, lens[i], mask);
        snprintf(what, sizeof what, "getaffinity len %zu", lens[i]);
        show(what, r);
        if (r > 0)
            printf("  mask %#lx, byte after %#x\n", mask[0], ((unsigned char *)mask)[r]);
    }
    show("getaffinity nopid", syscall(SYS_sched_getaffinity, NOPID, sizeof mask, mask));
    show("getaffinity nopid short", syscall(SYS_sched_getaffinity, NOPID, 4, mask));
    show("getaffinity bad buf", syscall(SYS_sched_getaffinity, 0, sizeof mask, BAD));
    show("getaffinity parent", syscall(SYS_sched_getaffinity, getppid(), 8, mask));

    unsigned long m = 3;
    show("setaffinity 3", syscall(SYS_sched_setaffinity, 0, sizeof m, &m));
    mask[0] = 0;
    show("getaffinity after", syscall(SYS_sched_getaffinity, 0, 8, mask));
    printf("  mask %#lx\n", mask[0]);
    m = 2;
    show("setaffinity 2", syscall(SYS_sched_setaffinity, 0, sizeof m, &m));
    m = 0;
    show("setaffinity 0", syscall(SYS_sched_setaffinity, 0, sizeof m, &m));
    m = 1;
    show("setaffinity len 4", syscall(SYS_sched_setaffinity, 0, 4, &m));
    show("setaffinity len 0", syscall(SYS_sched_setaffinity, 0, 0, &m));
    show("setaffinity bad", syscall(SYS_sched_setaffinity, 0, 8, BAD));
    show("setaffinity nopid", syscall(SYS_sched_setaffinity, NOPID, 8, &m));
    show("setaffinity nopid bad", syscall(SYS_sched_setaffinity, NOPID, 8, BAD));
    m = 1;
    show("setaffinity 1", syscall(SYS_sched_setaffinity, 0, sizeof m, &m));

    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        mask[0] = 0;
        show("child getaffinity", syscall(SYS_sched_getaffinity, 0, 8, mask));
        setuid(65534);
        m = 1;
        show("user setaffinity self", syscall(SYS_sched_setaffinity, 0, 8, &m));
        show("user setaffinity root's", syscall(SYS_sched_setaffinity, parent, 8, &m));
        show("user getaffinity root's", syscall(SYS_sched_getaffinity, parent, 8, mask));
        m = 2;
        show("user setaffinity root's none", syscall(SYS_sched_setaffinity, parent, 8, &m));
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void priority_range_calls(void)
{
    int policies[] = { SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, 4, SCHED_IDLE, 6, 7, -1,
                       SCHED_FIFO | SCHED_RESET_ON_FORK };
    char what[64];
    for (unsigned i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        snprintf(what, sizeof what, "priority max %#x", policies[i]);
        show(what, syscall(SYS_sched_get_priority_max, policies[i]));
        snprintf(what, sizeof what, "priority min %#x", policies[i]);
        show(what, syscall(SYS_sched_get_priority_min, policies[i]));
    }
}

/* fair: the policy is a CFS one, whose slice Linux rounds down to whole jiffies of a share of
   the scheduler latency: zero whenever another task happens to be runnable on the CPU (a
   kworker, the shell), so both answers are Linux's and are reported alike. */
static void interval_of(const char *what, pid_t pid, int fair)
{
    struct timespec ts = { -1, -1 };
    long r = syscall(SYS_sched_rr_get_interval, pid, &ts);
    int small = ts.tv_sec == 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 100000000;
    if (r < 0)
        show(what, r);
    else
        printf("%s: %ld, %s\n", what, r,
               fair && small ? "a fair share under 100 ms" :
               ts.tv_sec == 0 && ts.tv_nsec == 0 ? "zero" :
               ts.tv_sec == 0 && ts.tv_nsec == 100000000 ? "100 ms" :
               small ? "under 100 ms" : "other");
}

static void show_interval(const char *what, pid_t pid) { interval_of(what, pid, 0); }
static void show_fair_interval(const char *what, pid_t pid) { interval_of(what, pid, 1); }

static void policy_calls(void)
{
    struct sched_param p = { 0 };
    show_policy("start", 0);
    show_stat("start");
    show("getscheduler -1", syscall(SYS_sched_getscheduler, -1));
    show("getscheduler nopid", syscall(SYS_sched_getscheduler, NOPID));
    show("getparam NULL", syscall(SYS_sched_getparam, 0, NULL));
    show("getparam -1", syscall(SYS_sched_getparam, -1, &p));
    show("getparam nopid", syscall(SYS_sched_getparam, NOPID, &p));
    show("getparam bad", syscall(SYS_sched_getparam, 0, BAD));
    show_fair_interval("interval other", 0);
    show("interval -1", syscall(SYS_sched_rr_get_interval, -1, &p));
    show("interval nopid", syscall(SYS_sched_rr_get_interval, NOPID, &p));
    show("interval bad", syscall(SYS_sched_rr_get_interval, 0, BAD));

    show("setscheduler NULL", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL));
    show("setscheduler -1 policy", setsched(0, -1, 0));
    show("setscheduler pid -1", setsched(-1, SCHED_OTHER, 0));
    show("setscheduler bad param", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, BAD));
    show("setscheduler nopid", setsched(NOPID, SCHED_OTHER, 0));
    show("setscheduler nopid policy 4", setsched(NOPID, 4, 0));
    show("setscheduler policy 4", setsched(0, 4, 0));
    show("setscheduler deadline", setsched(0, SCHED_DEADLINE, 0));
    show("setscheduler other prio 1", setsched(0, SCHED_OTHER, 1));
    show("setscheduler fifo prio 0", setsched(0, SCHED_FIFO, 0));
    show("setscheduler fifo prio 100", setsched(0, SCHED_FIFO, 100));
    show("setscheduler fifo prio -1", setsched(0, SCHED_FIFO, -1));
    show("setscheduler bad flag", setsched(0, SCHED_OTHER | 0x20000000, 0));
    show("setscheduler fifo 10", setsched(0, SCHED_FIFO, 10));
    show_policy("fifo", 0);
    show_stat("fifo");
    show_interval("interval fifo", 0);
    show("setparam 20", setparam(0, 20));
    show("setparam 0", setparam(0, 0));
    show("setparam 100", setparam(0, 100));
    show("setparam NULL", syscall(SYS_sched_setparam, 0, NULL));
    show("setparam -1 pid", setparam(-1, 5));
    show("setparam nopid", setparam(NOPID, 5));
    show_policy("fifo 20", 0);
    show("setscheduler rr 99", setsched(0, SCHED_RR, 99));
    show_policy("rr", 0);
    show_interval("interval rr", 0);

    pid_t c = fork();
    if (c == 0) {
        show_policy("child of rr", 0);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    show("setscheduler rr reset", setsched(0, SCHED_RR | SCHED_RESET_ON_FORK, 7));
    show_policy("rr reset", 0);
    c = fork();
    if (c == 0) {
        show_policy("child of rr reset", 0);
        pid_t g = fork();
        if (g == 0) {
            show_policy("grandchild", 0);
            _exit(0);
        }
        waitpid(g, NULL, 0);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    show_policy("parent after fork", 0);

    show("setscheduler batch reset", setsched(0, SCHED_BATCH | SCHED_RESET_ON_FORK, 0));
    show_fair_interval("interval batch", 0);
    show("setpriority -5", setpriority(PRIO_PROCESS, 0, -5));
    c = fork();
    if (c == 0) {
        show_policy("child of batch reset", 0);
        errno = 0;
        printf("child nice: %d\n", getpriority(PRIO_PROCESS, 0));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("parent nice: %d\n", getpriority(PRIO_PROCESS, 0));
    setpriority(PRIO_PROCESS, 0, 0);
    show("setscheduler idle", setsched(0, SCHED_IDLE, 0));
    show_policy("idle", 0);
    show_stat("idle");
    show_fair_interval("interval idle", 0);
    show("setparam idle 0", setparam(0, 0));
    show("setparam idle 1", setparam(0, 1));
    show("setscheduler other", setsched(0, SCHED_OTHER, 0));
    show_policy("other", 0);

    pid_t parent = getpid();
    c = fork();
    if (c == 0) {
        show("child sets parent fifo 3", setsched(parent, SCHED_FIFO, 3));
        show_policy("parent seen by child", parent);
        show("child sets parent other", setsched(parent, SCHED_OTHER, 0));
        setuid(65534);
        show("user fifo", setsched(0, SCHED_FIFO, 1));
        show("user rr", setsched(0, SCHED_RR, 1));
        show("user sets root's other", setsched(parent, SCHED_OTHER, 0));
        show("user setparam root's", setparam(parent, 0));
        show_policy("user reads root's", parent);
        show("user batch", setsched(0, SCHED_BATCH, 0));
        show("user other", setsched(0, SCHED_OTHER, 0));
        show("user idle", setsched(0, SCHED_IDLE, 0));
        show("user other from idle", setsched(0, SCHED_OTHER, 0));
        show("user batch from idle", setsched(0, SCHED_BATCH, 0));
        show("user idle again", setsched(0, SCHED_IDLE, 0));
        show("user reset on fork", setsched(0, SCHED_IDLE | SCHED_RESET_ON_FORK, 0));
        show("user clear reset on fork", setsched(0, SCHED_IDLE, 0));
        show_policy("user at end", 0);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    c = fork();
    if (c == 0) {
        struct rlimit rl = { 5, 5 };
        show("set rtprio limit", setrlimit(RLIMIT_RTPRIO, &rl));
        setuid(65534);
        show("user fifo 3 under limit 5", setsched(0, SCHED_FIFO, 3));
        show("user setparam 5", setparam(0, 5));
        show("user setparam 6", setparam(0, 6));
        show("user setparam 2", setparam(0, 2));
        show("user rr 5", setsched(0, SCHED_RR, 5));
        show("user rr 9", setsched(0, SCHED_RR, 9));
        show("user other from rr", setsched(0, SCHED_OTHER, 0));
        show_policy("user under rtprio", 0);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    show_policy("parent at end", 0);
}

static void yield_and_getcpu_calls(void)
{
    unsigned cpu = 7, node = 7;
    show("sched_yield", syscall(SYS_sched_yield));
    show("getcpu", syscall(SYS_getcpu, &cpu, &node, NULL));
    printf("  cpu %u node %u\n", cpu, node);
    cpu = 7;
    show("getcpu cpu only", syscall(SYS_getcpu, &cpu, NULL, NULL));
    printf("  cpu %u\n", cpu);
    show("getcpu none", syscall(SYS_getcpu, NULL, NULL, NULL));
    show("getcpu bad cpu", syscall(SYS_getcpu, BAD, &node, NULL));
    show("getcpu bad node", syscall(SYS_getcpu, &cpu, BAD, NULL));
    show("getcpu bad cache", syscall(SYS_getcpu, &cpu, &node, BAD));

    /* Two processes taking turns through sched_yield: each yield lets the other run. */
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < 3; i++) {
            write(fds[1], "c", 1);
            syscall(SYS_sched_yield);
        }
        _exit(0);
    }
    for (int i = 0; i < 3; i++)
        syscall(SYS_sched_yield);
    waitpid(c, NULL, 0);
    char buf[8];
    close(fds[1]);
    printf("yield child wrote %zd\n", read(fds[0], buf, sizeof buf));
    close(fds[0]);
}

static long membarrier(int cmd, unsigned flags, int cpu)
{
    return syscall(SYS_membarrier, cmd, flags, cpu);
}

static void membarrier_calls(void)
{
    show("query", membarrier(MEMBARRIER_CMD_QUERY, 0, 0));
    show("query flags", membarrier(MEMBARRIER_CMD_QUERY, 1, 0));
    show("unknown cmd", membarrier(0x400, 0, 0));
    show("two cmds", membarrier(MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0));
    show("get registrations", membarrier(512, 0, 0));
    show("global", membarrier(MEMBARRIER_CMD_GLOBAL, 0, 0));
    show("global flags", membarrier(MEMBARRIER_CMD_GLOBAL, 1, 0));
    show("global expedited", membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0));
    show("private expedited", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0));
    show("sync core", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0));
    show("rseq", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0));
    show("rseq cpu flag", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, 0));
    show("register global", membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0));
    show("register private", membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0));
    show("register private again", membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0));
    show("private expedited now", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0));
    show("private expedited cpu flag", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_FLAG_CPU, 0));
    show("sync core still", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0));
    show("register sync core", membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0));
    show("sync core now", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0));
    show("register rseq", membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0));
    show("rseq now", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0));
    show("rseq cpu 0", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, 0));
    show("rseq cpu 5", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, 5));
    show("rseq cpu -1", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, -1));
    show("rseq bad flag", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 2, 0));
    pid_t c = fork();
    if (c == 0) {
        show("child private expedited", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0));
        show("child sync core", membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0));
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    affinity_calls();
    priority_range_calls();
    policy_calls();
    yield_and_getcpu_calls();
    membarrier_calls();
    return 0;
}
