/* The small memory and process calls Debian's programs make, as Linux 6.1 answers them:
 * madvise advice values, the mlock family, mincore, fadvise64, getpriority/setpriority,
 * personality and syslog. Prints each call's result or errno name, never addresses. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

#define PG 4096L

static char *anon(long pages)
{
    return mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static int resident(char *p, long pages)
{
    unsigned char vec[256];
    if (mincore(p, pages * PG, vec) < 0)
        return -errno;
    int n = 0;
    for (long i = 0; i < pages; i++)
        n += vec[i] & 1;
    return n;
}

static void madvise_calls(void)
{
    char *p = anon(8);
    static const int ok[] = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE,
                             MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP,
                             MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD,
                             MADV_PAGEOUT, MADV_REMOVE, 22, 23, 24, 25, 7, 26, 99, -1};
    for (unsigned i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char what[40];
        snprintf(what, sizeof what, "madvise %d", ok[i]);
        show(what, madvise(p, 8 * PG, ok[i]));
    }
    show("madvise unaligned", madvise(p + 1, PG, MADV_NORMAL));
    show("madvise zero length", madvise(p, 0, MADV_NORMAL));
    show("madvise bad advice zero length", madvise(p, 0, 99));
    show("madvise wraps", madvise(p, -PG, MADV_NORMAL));
    munmap(p + 4 * PG, 2 * PG);
    show("madvise over a hole", madvise(p, 8 * PG, MADV_NORMAL));
    show("madvise dontneed over a hole", madvise(p, 8 * PG, MADV_DONTNEED));

    /* MADV_DONTNEED: private anonymous pages read as zero again */
    char *q = anon(64);
    memset(q, 'x', 64 * PG);
    madvise(q + 16 * PG, 32 * PG, MADV_DONTNEED);
    int n = resident(q, 64);
    printf("after dontneed: resident %d, %c %d %c\n", n, q[0], q[20 * PG], q[60 * PG]);
    /* MADV_FREE: the data may stay until memory is short (it does here) or read as zero */
    q[0] = 'y';
    madvise(q, PG, MADV_FREE);
    printf("after free: %s\n", q[0] == 'y' || q[0] == 0 ? "ok" : "garbage");
    /* shared and file mappings */
    char *s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    s[0] = 's';
    show("madvise free shared", madvise(s, PG, MADV_FREE));
    show("madvise dontneed shared", madvise(s, PG, MADV_DONTNEED));
    printf("shared after dontneed: %c\n", s[0]);
    show("madvise wipeonfork shared", madvise(s, PG, MADV_WIPEONFORK));
    int fd = open("/proc/self/exe", O_RDONLY);
    char *f = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
    show("madvise free file", madvise(f, PG, MADV_FREE));
    show("madvise remove private file", madvise(f, PG, MADV_REMOVE));
    show("madvise willneed file", madvise(f, PG, MADV_WILLNEED));
    close(fd);
    munmap(q, 64 * PG);
}

static void mincore_calls(void)
{
    char *p = anon(64);
    unsigned char vec[64];
    printf("untouched: %d\n", resident(p, 64));
    memset(p, 1, 64 * PG);
    printf("touched: %d\n", resident(p, 64));
    show("mincore unaligned", mincore(p + 1, PG, vec));
    show("mincore bad vec", mincore(p, PG, (unsigned char *)8));
    show("mincore beyond user space", mincore((char *)(1UL << 62), PG, vec));
    show("mincore zero length", mincore(p, 0, vec));
    munmap(p + 8 * PG, PG);
    show("mincore over a hole", mincore(p, 64 * PG, vec));
    show("mincore unmapped", mincore(p + 8 * PG, PG, vec));
    show("mincore partial page length", mincore(p, 100, vec));
    /* a file's pages count as cached; past its end there are none */
    int fd = open("/proc/self/exe", O_RDONLY);
    off_t size = lseek(fd, 0, SEEK_END);
    long fpages = (size + PG - 1) / PG;
    char *f = mmap(NULL, (fpages + 2) * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    unsigned char fvec[1024];
    if (fpages + 2 <= 1024 && mincore(f, (fpages + 2) * PG, fvec) == 0) {
        int in = 0;
        for (long i = 0; i < fpages; i++)
            in += fvec[i] & 1;
        printf("file pages cached: %d of %d, past the end: %d %d\n", in == fpages, fpages > 0, fvec[fpages],
               fvec[fpages + 1]);
    } else {
        printf("file mincore: %s\n", strerrorname_np(errno));
    }
    close(fd);
    munmap(p, 64 * PG);
}

static void mlock_calls(void)
{
    char *p = anon(8);
    show("mlock", mlock(p, 2 * PG));
    show("mlock unaligned", mlock(p + 10, 100));
    show("munlock", munlock(p, 2 * PG));
    show("mlock2", syscall(SYS_mlock2, p, PG, 1));
    show("mlock2 bad flags", syscall(SYS_mlock2, p, PG, 2));
    show("munlock all", munlock(p, 8 * PG));
    munmap(p + 4 * PG, PG);
    show("mlock over a hole", mlock(p, 8 * PG));
    show("munlock over a hole", munlock(p, 8 * PG));
    show("mlock zero length", mlock(p, 0));
    show("mlock wraps", mlock(p, -PG));
    show("mlockall 0", mlockall(0));
    show("mlockall bad", mlockall(8));
    show("mlockall onfault alone", mlockall(MCL_ONFAULT));
    show("mlockall current", mlockall(MCL_CURRENT));
    show("munlockall", munlockall());
    show("mlockall future|onfault", mlockall(MCL_FUTURE | MCL_ONFAULT));
    show("munlockall again", munlockall());
    /* as a user without CAP_IPC_LOCK: RLIMIT_MEMLOCK applies */
    pid_t pid = fork();
    if (pid == 0) {
        setuid(65534);
        show("user mlock", mlock(p, PG));
        show("user munlock", munlock(p, PG));
        struct rlimit rl = {0, 0};
        setrlimit(RLIMIT_MEMLOCK, &rl);
        show("user mlock no limit", mlock(p, PG));
        show("user mlockall no limit", mlockall(MCL_CURRENT));
        show("user munlockall", munlockall());
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static long vmlck_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static sigjmp_buf jb;

static void on_segv(int sig) { siglongjmp(jb, sig); }

static void lock_semantics(void)
{
    char *p = anon(16);
    printf("VmLck before: %ld\n", vmlck_kb());
    mlock(p + 2 * PG, 4 * PG);
    printf("VmLck after mlock: %ld\n", vmlck_kb());
    show("dontneed locked", madvise(p, 16 * PG, MADV_DONTNEED));
    char *l = anon(1);
    mlock(l, PG);
    show("dontneed_locked locked", madvise(l, PG, 24));
    munlock(l, PG);
    show("free locked", madvise(p + 2 * PG, PG, MADV_FREE));
    show("pageout locked", madvise(p + 2 * PG, PG, MADV_PAGEOUT));
    char *q = mremap(p + 2 * PG, 4 * PG, 8 * PG, MREMAP_MAYMOVE);
    printf("locked grown: resident %d, VmLck %ld\n", resident(q, 8), vmlck_kb());
    char *u = mremap(q, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    printf("locked dontunmap: %s, VmLck %ld\n", u == MAP_FAILED ? strerrorname_np(errno) : "ok", vmlck_kb());
    if (u != MAP_FAILED)
        munmap(u, 8 * PG);
    munlock(q, 8 * PG);
    mlock(p, 2 * PG);
    mlock(p, 2 * PG);
    printf("VmLck mlock twice: %ld\n", vmlck_kb());
    munmap(p, 2 * PG);
    printf("VmLck after munmap: %ld\n", vmlck_kb());
    mlockall(MCL_FUTURE);
    char *r = anon(4);
    printf("VmLck after mlockall future + mmap: %ld, resident %d\n", vmlck_kb(), resident(r, 4));
    char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
    printf("MAP_LOCKED: VmLck %ld, resident %d\n", vmlck_kb(), resident(m, 3));
    munlockall();
    printf("VmLck after munlockall: %ld\n", vmlck_kb());
    /* a user with a 4-page limit: what is already locked counts */
    pid_t pid = fork();
    if (pid == 0) {
        printf("child VmLck: %ld\n", vmlck_kb());
        mlock(r, 2 * PG);
        setuid(65534);
        struct rlimit rl = {4 * PG, 4 * PG};
        setrlimit(RLIMIT_MEMLOCK, &rl);
        show("user mlock within", mlock(r, 4 * PG));
        show("user mlock over", mlock(p + 8 * PG, PG));
        show("user mlockall current", mlockall(MCL_CURRENT));
        munlock(r, 4 * PG);
        void *big = mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
        printf("user MAP_LOCKED over: %s\n", big == MAP_FAILED ? strerrorname_np(errno) : "ok");
        void *one = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
        printf("user MAP_LOCKED within: %s\n", one == MAP_FAILED ? strerrorname_np(errno) : "ok");
        void *grown = mremap(one, 2 * PG, 8 * PG, MREMAP_MAYMOVE);
        printf("user mremap grow locked: %s\n", grown == MAP_FAILED ? strerrorname_np(errno) : "ok");
        rl.rlim_cur = rl.rlim_max = 0;
        setrlimit(RLIMIT_MEMLOCK, &rl);
        big = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
        printf("user MAP_LOCKED no limit: %s\n", big == MAP_FAILED ? strerrorname_np(errno) : "ok");
        _exit(0);
    }
    waitpid(pid, NULL, 0);

    /* MADV_DONTFORK: the child has no such mapping; MADV_WIPEONFORK: the child's reads zero */
    char *d = anon(2), *w = anon(2);
    d[0] = 'd';
    w[0] = 'w';
    show("dontfork", madvise(d, 2 * PG, MADV_DONTFORK));
    show("wipeonfork", madvise(w, 2 * PG, MADV_WIPEONFORK));
    pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, on_segv);
        int sig = sigsetjmp(jb, 1);
        if (!sig)
            printf("child reads dontfork: %c\n", d[0]);
        else
            printf("child dontfork: signal %d\n", sig);
        printf("child wipeonfork: %d\n", w[0]);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    show("dofork", madvise(d, 2 * PG, MADV_DOFORK));
    show("keeponfork", madvise(w, 2 * PG, MADV_KEEPONFORK));
    pid = fork();
    if (pid == 0) {
        printf("child after dofork: %c, after keeponfork: %c\n", d[0], w[0]);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void fadvise_calls(void)
{
    int fd = open("/proc/self/exe", O_RDONLY), pfd[2];
    pipe(pfd);
    for (int a = 0; a <= 6; a++) {
        char what[40];
        snprintf(what, sizeof what, "fadvise %d", a);
        show(what, syscall(SYS_fadvise64, fd, 0, 0, a));
    }
    show("fadvise negative len", syscall(SYS_fadvise64, fd, 0L, -1L, 0));
    show("fadvise negative offset", syscall(SYS_fadvise64, fd, -5L, 10L, 0));
    show("fadvise pipe", syscall(SYS_fadvise64, pfd[0], 0, 0, 0));
    show("fadvise pipe bad advice", syscall(SYS_fadvise64, pfd[0], 0, 0, 9));
    show("fadvise bad fd", syscall(SYS_fadvise64, 99, 0, 0, 0));
    show("fadvise dev null", syscall(SYS_fadvise64, open("/dev/null", O_RDONLY), 0, 0, 3));
    show("fadvise dev null bad", syscall(SYS_fadvise64, open("/dev/null", O_RDONLY), 0, 0, 9));
    show("fadvise dir", syscall(SYS_fadvise64, open("/", O_RDONLY), 0, 0, 4));
    close(fd);
}

static void priority_calls(void)
{
    setpgid(0, 0);      /* a process group of our own (the caller's may hold kernel threads) */
    show("getpriority self", syscall(SYS_getpriority, PRIO_PROCESS, 0));
    show("getpriority pid", syscall(SYS_getpriority, PRIO_PROCESS, getpid()));
    show("getpriority pgrp", syscall(SYS_getpriority, PRIO_PGRP, 0));
    show("getpriority bad which", syscall(SYS_getpriority, 3, 0));
    show("getpriority no such pid", syscall(SYS_getpriority, PRIO_PROCESS, 99999));
    show("getpriority no such user", syscall(SYS_getpriority, PRIO_USER, 4242));
    show("setpriority 5", setpriority(PRIO_PROCESS, 0, 5));
    show("getpriority after", syscall(SYS_getpriority, PRIO_PROCESS, 0));
    show("libc getpriority", getpriority(PRIO_PROCESS, 0));
    show("setpriority clamp 100", setpriority(PRIO_PROCESS, 0, 100));
    show("getpriority clamped", syscall(SYS_getpriority, PRIO_PROCESS, 0));
    show("setpriority bad which", setpriority(7, 0, 1));
    show("setpriority no such pid", setpriority(PRIO_PROCESS, 99999, 1));
    show("setpriority no such user", setpriority(PRIO_USER, 4242, 1));
    show("setpriority 3", setpriority(PRIO_PROCESS, 0, 3));
    pid_t pid = fork();
    if (pid == 0) {
        show("child inherits", syscall(SYS_getpriority, PRIO_PROCESS, 0));
        show("child setpriority -2 as root", setpriority(PRIO_PROCESS, 0, -2));
        setuid(65534);
        show("user setpriority 4", setpriority(PRIO_PROCESS, 0, 4));
        show("user lowering nice", setpriority(PRIO_PROCESS, 0, 2));
        show("user other process", setpriority(PRIO_PROCESS, getppid(), 10));
        show("user pgrp", setpriority(PRIO_PGRP, 0, 6));
        show("user getpriority pgrp", syscall(SYS_getpriority, PRIO_PGRP, 0));
        show("user own user", setpriority(PRIO_USER, 0, 7));
        show("user getpriority self", syscall(SYS_getpriority, PRIO_PROCESS, 0));
        show("user getpriority user", syscall(SYS_getpriority, PRIO_USER, 0));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    show("parent keeps", syscall(SYS_getpriority, PRIO_PROCESS, 0));
    show("setpriority -20", setpriority(PRIO_PROCESS, 0, -20));
    show("getpriority -20", syscall(SYS_getpriority, PRIO_PROCESS, 0));
    setpriority(PRIO_PROCESS, 0, 0);
}

static void personality_calls(void)
{
    show("personality query", personality(0xffffffff));
    show("personality set addr_no_randomize", personality(PER_LINUX | ADDR_NO_RANDOMIZE));
    show("personality query again", personality(0xffffffff));
    pid_t pid = fork();
    if (pid == 0) {
        show("child personality", personality(0xffffffff));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    show("personality back to linux", personality(PER_LINUX));
    show("personality query last", personality(0xffffffff));
}

static void syslog_calls(void)
{
    char buf[4096];
    show("syslog size buffer", syscall(SYS_syslog, 10, NULL, 0) > 0);
    show("syslog read all some", syscall(SYS_syslog, 3, buf, sizeof buf) > 0);
    printf("syslog line starts with '<': %d\n", buf[0] == '<');
    show("syslog read all zero", syscall(SYS_syslog, 3, buf, 0));
    show("syslog read all null", syscall(SYS_syslog, 3, NULL, 10));
    show("syslog read all negative", syscall(SYS_syslog, 3, buf, -1));
    show("syslog read all bad buf", syscall(SYS_syslog, 3, (void *)(1UL << 60), 10));
    show("syslog open", syscall(SYS_syslog, 1, NULL, 0));
    show("syslog close", syscall(SYS_syslog, 0, NULL, 0));
    show("syslog console level 0", syscall(SYS_syslog, 8, NULL, 0));
    show("syslog console level 9", syscall(SYS_syslog, 8, NULL, 9));
    show("syslog read null", syscall(SYS_syslog, 2, NULL, 10));
    show("syslog bad type", syscall(SYS_syslog, 11, NULL, 0));
    show("syslog size unread nonneg", syscall(SYS_syslog, 9, NULL, 0) >= 0);
    pid_t pid = fork();
    if (pid == 0) {
        setuid(65534);
        show("user syslog clear", syscall(SYS_syslog, 5, NULL, 0));
        show("user syslog bad type", syscall(SYS_syslog, 11, NULL, 0));
        show("user syslog console off", syscall(SYS_syslog, 6, NULL, 0));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    madvise_calls();
    mincore_calls();
    mlock_calls();
    lock_semantics();
    fadvise_calls();
    priority_calls();
    personality_calls();
    syslog_calls();
    return 0;
}
