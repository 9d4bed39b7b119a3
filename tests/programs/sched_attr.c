/* sched_setattr and sched_getattr: struct sched_attr sizes (E2BIG with the size written
 * back), policies and their parameters, the flags (RESET_ON_FORK, KEEP_POLICY, KEEP_PARAMS),
 * SCHED_DEADLINE's parameter rules, nice values, and what an unprivileged user may not do. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

struct attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
    uint64_t extra[2];
};

#define F_RESET_ON_FORK 0x01
#define F_RECLAIM 0x02
#define F_DL_OVERRUN 0x04
#define F_KEEP_POLICY 0x08
#define F_KEEP_PARAMS 0x10
#define F_UTIL_CLAMP_MIN 0x20
#define DEADLINE 6

static long setattr(pid_t pid, struct attr *a, unsigned flags) { return syscall(SYS_sched_setattr, pid, a, flags); }
static long getattr(pid_t pid, struct attr *a, unsigned size, unsigned flags)
{
    return syscall(SYS_sched_getattr, pid, a, size, flags);
}

static void show_attr(const char *what, pid_t pid)
{
    struct attr a;
    memset(&a, 0xee, sizeof a);
    long r = getattr(pid, &a, sizeof a, 0);
    if (r < 0) {
        printf("%s: %s\n", what, strerrorname_np(errno));
        return;
    }
    printf("%s: size %u policy %u flags %#llx nice %d prio %u dl %llu/%llu/%llu util %u..%u tail %llx\n",
           what, a.size, a.policy, (unsigned long long)a.flags, a.nice, a.priority,
           (unsigned long long)a.runtime, (unsigned long long)a.deadline, (unsigned long long)a.period,
           a.util_min, a.util_max, (unsigned long long)a.extra[0]);
}

static long set(int policy, uint64_t flags, int nice, unsigned prio)
{
    struct attr a = {.size = 48, .policy = policy, .flags = flags, .nice = nice, .priority = prio};
    return setattr(0, &a, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct attr a;
    show_attr("initial", 0);

    memset(&a, 0xee, sizeof a);
    show("getattr size 48", getattr(0, &a, 48, 0));
    printf("  size %u, byte 48 %#x\n", a.size, ((unsigned char *)&a)[48]);
    show("getattr size 47", getattr(0, &a, 47, 0));
    show("getattr size 4097", getattr(0, &a, 4097, 0));
    show("getattr size 4096", getattr(0, &a, 4096, 0));
    show("getattr flags", getattr(0, &a, sizeof a, 1));
    show("getattr NULL", getattr(0, NULL, sizeof a, 0));
    show("getattr pid -1", getattr(-1, &a, sizeof a, 0));
    show("getattr no such pid", getattr(999999, &a, sizeof a, 0));
    show("getattr bad pointer", getattr(0, (void *)8, sizeof a, 0));

    show("setattr NULL", setattr(0, NULL, 0));
    show("setattr flags", setattr(0, &a, 1));
    show("setattr pid -1", setattr(-1, &a, 0));
    show("setattr bad pointer", setattr(0, (void *)8, 0));
    memset(&a, 0, sizeof a);
    a.size = 40;
    show("setattr size 40", setattr(0, &a, 0));
    printf("  size written back %u\n", a.size);
    memset(&a, 0, sizeof a);
    a.size = 0;
    a.nice = 3;
    show("setattr size 0 (VER0)", setattr(0, &a, 0));
    show_attr("  now", 0);
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    show("setattr size 72, zero tail", setattr(0, &a, 0));
    a.extra[1] = 1;
    show("setattr size 72, non-zero tail", setattr(0, &a, 0));
    printf("  size written back %u\n", a.size);
    memset(&a, 0, sizeof a);
    a.size = 5000;
    show("setattr size 5000", setattr(0, &a, 0));
    printf("  size written back %u\n", a.size);
    memset(&a, 0, sizeof a);
    a.size = 48;
    a.policy = -1;
    show("setattr policy -1", setattr(0, &a, 0));
    a.policy = 4;
    show("setattr policy 4", setattr(0, &a, 0));
    a.policy = 0;
    show("setattr no such pid", setattr(999999, &a, 0));

    show("SCHED_OTHER nice 30 (clamped)", set(SCHED_OTHER, 0, 30, 0));
    show_attr("  now", 0);
    printf("  getpriority %d\n", getpriority(PRIO_PROCESS, 0));
    show("SCHED_OTHER nice -30", set(SCHED_OTHER, 0, -30, 0));
    show_attr("  now", 0);
    show("SCHED_OTHER prio 1", set(SCHED_OTHER, 0, 0, 1));
    show("SCHED_FIFO prio 0", set(SCHED_FIFO, 0, 0, 0));
    show("SCHED_FIFO prio 100", set(SCHED_FIFO, 0, 0, 100));
    show("SCHED_FIFO prio 10 nice 5", set(SCHED_FIFO, 0, 5, 10));
    show_attr("  now", 0);
    printf("  getpriority %d\n", getpriority(PRIO_PROCESS, 0));
    show("KEEP_POLICY prio 20", set(7, F_KEEP_POLICY, 0, 20));
    show_attr("  now", 0);
    show("KEEP_PARAMS SCHED_RR", set(SCHED_RR, F_KEEP_PARAMS, 0, 0));
    show_attr("  now", 0);
    show("unknown flag", set(SCHED_OTHER, 0x80, 0, 0));
    show("SUGOV flag", set(SCHED_OTHER, 0x10000000, 0, 0));
    show("util clamp, size 48", set(SCHED_OTHER, F_UTIL_CLAMP_MIN, 0, 0));
    struct attr u = {.size = 56, .policy = SCHED_OTHER, .flags = F_UTIL_CLAMP_MIN, .util_min = 100};
    show("util clamp, size 56", setattr(0, &u, 0));
    show("SCHED_BATCH RESET_ON_FORK", set(SCHED_BATCH, F_RESET_ON_FORK, 2, 0));
    show_attr("  now", 0);
    printf("  sched_getscheduler %#x\n", sched_getscheduler(0));
    show("SCHED_IDLE", set(SCHED_IDLE, 0, 0, 0));
    show_attr("  now", 0);

    struct attr dl = {.size = 48, .policy = DEADLINE, .runtime = 10000000, .deadline = 30000000,
                      .period = 100000000};
    show("DEADLINE 10/30/100 ms", setattr(0, &dl, 0));
    show_attr("  now", 0);
    printf("  sched_getscheduler %d\n", sched_getscheduler(0));
    struct attr dl2 = dl;
    dl2.period = 0;
    show("DEADLINE period 0 (= deadline)", setattr(0, &dl2, 0));
    show_attr("  now", 0);
    dl2 = dl; dl2.deadline = 0;
    show("DEADLINE deadline 0", setattr(0, &dl2, 0));
    dl2 = dl; dl2.runtime = 1000;
    show("DEADLINE runtime 1000 ns", setattr(0, &dl2, 0));
    dl2 = dl; dl2.runtime = 40000000;
    show("DEADLINE runtime above deadline", setattr(0, &dl2, 0));
    dl2 = dl; dl2.period = 20000000;
    show("DEADLINE period below deadline", setattr(0, &dl2, 0));
    dl2 = dl; dl2.runtime = 20000; dl2.deadline = 50000; dl2.period = 50000;
    show("DEADLINE period 50 us", setattr(0, &dl2, 0));
    dl2 = dl; dl2.period = 5000000000ULL;
    show("DEADLINE period 5 s", setattr(0, &dl2, 0));
    dl2 = dl; dl2.priority = 1;
    show("DEADLINE prio 1", setattr(0, &dl2, 0));
    dl2 = dl; dl2.flags = F_KEEP_PARAMS; dl2.runtime = 0;
    show("DEADLINE KEEP_PARAMS", setattr(0, &dl2, 0));
    show_attr("  now", 0);
    show("back to SCHED_OTHER", set(SCHED_OTHER, 0, 0, 0));
    show_attr("  now", 0);

    pid_t pid = fork();
    if (pid == 0) {
        setuid(1000);
        show("user: nice 5", set(SCHED_OTHER, 0, 5, 0));
        show("user: nice 4", set(SCHED_OTHER, 0, 4, 0));
        show("user: nice 10", set(SCHED_OTHER, 0, 10, 0));
        show("user: SCHED_FIFO", set(SCHED_FIFO, 0, 0, 1));
        show("user: DEADLINE", setattr(0, &dl, 0));
        show("user: root's parent", setattr(getppid(), &(struct attr){.size = 48}, 0));
        show_attr("user reads its parent", getppid());
        show("user: SCHED_IDLE", set(SCHED_IDLE, 0, 0, 0));
        show("user: SCHED_OTHER from IDLE", set(SCHED_OTHER, 0, 10, 0));
        show("user: RESET_ON_FORK", set(SCHED_IDLE, F_RESET_ON_FORK, 0, 0));
        show("user: clear RESET_ON_FORK", set(SCHED_IDLE, 0, 0, 0));
        show_attr("user now", 0);
        exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}
