/* limit_misc: resource limits that the other limit_* programs leave out, as Linux checks them:
 * prlimit64 on another process, RLIMIT_DATA and RLIMIT_AS for brk and mremap,
 * RLIMIT_SIGPENDING for queued real-time signals (sigqueue), and the setrlimit/getrlimit
 * errors (bad resource, soft above hard, raising a hard limit without CAP_SYS_RESOURCE). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(long r)
{
    return r < 0 ? strerror(errno) : "ok";
}

static long raw_prlimit(pid_t pid, int res, const struct rlimit *new, struct rlimit *old)
{
    return syscall(SYS_prlimit64, pid, res, new, old);
}

static void other_process(void)
{
    int go[2], back[2];
    if (pipe(go) < 0 || pipe(back) < 0)
        return;
    pid_t c = fork();
    if (c == 0) {
        char b;
        if (read(go[0], &b, 1) != 1)
            _exit(1);
        struct rlimit r;
        getrlimit(RLIMIT_NOFILE, &r);
        if (write(back[1], &r, sizeof r) != sizeof r)
            _exit(1);
        _exit(0);
    }
    struct rlimit new = { 100, 200 }, old;
    long r = raw_prlimit(c, RLIMIT_NOFILE, &new, &old);
    printf("prlimit(child, NOFILE, {100, 200}): %s, old soft %lu\n", err(r), (unsigned long)old.rlim_cur);
    r = raw_prlimit(c, RLIMIT_NOFILE, NULL, &old);
    printf("prlimit(child, NOFILE, NULL): %s, {%lu, %lu}\n", err(r), (unsigned long)old.rlim_cur,
           (unsigned long)old.rlim_max);
    if (write(go[1], "x", 1) != 1 || read(back[0], &old, sizeof old) != sizeof old)
        return;
    printf("the child sees {%lu, %lu}\n", (unsigned long)old.rlim_cur, (unsigned long)old.rlim_max);
    waitpid(c, NULL, 0);
    r = raw_prlimit(c, RLIMIT_NOFILE, NULL, &old);
    printf("prlimit(reaped child): %s\n", err(r));
    r = raw_prlimit(0, RLIMIT_NOFILE, NULL, NULL);
    printf("prlimit(0, NOFILE, NULL, NULL): %s\n", err(r));
}

static void errors(void)
{
    struct rlimit r = { 10, 5 };
    printf("getrlimit(99): %s\n", err(getrlimit(99, &r)));
    printf("setrlimit(NOFILE, soft > hard): %s\n", err(setrlimit(RLIMIT_NOFILE, &r)));
    printf("prlimit(0, 16, NULL, &old): %s\n", err(raw_prlimit(0, 16, NULL, &r)));
    printf("setrlimit(NOFILE, bad pointer): %s\n", err(syscall(SYS_setrlimit, RLIMIT_NOFILE, (void *)8)));
    printf("setrlimit(99, bad pointer): %s\n", err(syscall(SYS_setrlimit, 99, (void *)8)));
    pid_t c = fork();
    if (c == 0) {
        struct rlimit l = { 64, 128 };
        setrlimit(RLIMIT_NOFILE, &l);
        if (setresuid(65534, 65534, 65534) < 0)
            _exit(1);
        l.rlim_max = 100;
        printf("nobody lowers the hard limit: %s\n", err(setrlimit(RLIMIT_NOFILE, &l)));
        l.rlim_max = 128;
        printf("nobody raises it again: %s\n", err(setrlimit(RLIMIT_NOFILE, &l)));
        printf("nobody sets init's: %s\n", err(raw_prlimit(1, RLIMIT_NOFILE, &l, NULL)));
        printf("nobody reads its parent's: %s\n", err(raw_prlimit(getppid(), RLIMIT_NOFILE, NULL, &l)));
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void data_and_as(void)
{
    pid_t c = fork();
    if (c == 0) {               /* a child: the limits stay there */
        struct rlimit l = { 4 << 20, RLIM_INFINITY };
        setrlimit(RLIMIT_DATA, &l);
        char *base = sbrk(0);
        printf("DATA 4 MiB: sbrk(1 MiB) %s\n", sbrk(1 << 20) == (void *)-1 ? strerror(errno) : "ok");
        printf("DATA 4 MiB: sbrk(8 MiB) %s\n", sbrk(8 << 20) == (void *)-1 ? strerror(errno) : "ok");
        printf("the break moved by %ld KiB\n", (long)((char *)sbrk(0) - base) / 1024);
        void *m = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("DATA 4 MiB: mmap 8 MiB private writable %s\n", m == MAP_FAILED ? strerror(errno) : "ok");
        m = mmap(NULL, 8 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("DATA 4 MiB: mmap 8 MiB read-only %s\n", m == MAP_FAILED ? strerror(errno) : "ok");
        l.rlim_cur = RLIM_INFINITY;
        setrlimit(RLIMIT_DATA, &l);
        l.rlim_cur = 1UL << 30;
        setrlimit(RLIMIT_AS, &l);
        printf("AS 1 GiB: sbrk(1 MiB) %s\n", sbrk(1 << 20) == (void *)-1 ? strerror(errno) : "ok");
        printf("AS 1 GiB: sbrk(2 GiB) %s\n", sbrk(2UL << 30) == (void *)-1 ? strerror(errno) : "ok");
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        void *q = mremap(p, 1 << 20, 2 << 20, MREMAP_MAYMOVE);
        printf("AS 1 GiB: mremap 1 -> 2 MiB %s\n", q == MAP_FAILED ? strerror(errno) : "ok");
        if (q != MAP_FAILED)
            p = q;
        q = mremap(p, 2 << 20, 3UL << 30, MREMAP_MAYMOVE);
        printf("AS 1 GiB: mremap 2 MiB -> 3 GiB %s\n", q == MAP_FAILED ? strerror(errno) : "ok");
        l.rlim_cur = RLIM_INFINITY;
        setrlimit(RLIMIT_AS, &l);
        l.rlim_cur = 4 << 20;
        setrlimit(RLIMIT_DATA, &l);
        q = mremap(p, 2 << 20, 16 << 20, MREMAP_MAYMOVE);
        printf("DATA 4 MiB: mremap private writable 2 -> 16 MiB %s\n", q == MAP_FAILED ? strerror(errno) : "ok");
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void queue_limit(void)
{
    pid_t c = fork();
    if (c == 0) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGRTMIN);
        sigaddset(&s, SIGUSR1);
        sigprocmask(SIG_BLOCK, &s, NULL);
        struct rlimit l = { 3, 3 };
        setrlimit(RLIMIT_SIGPENDING, &l);
        union sigval v = { 0 };
        for (int i = 0; i < 5; i++)
            printf("SIGPENDING 3: sigqueue(SIGRTMIN) %d: %s\n", i, err(sigqueue(getpid(), SIGRTMIN, v)));
        printf("SIGPENDING 3: kill(SIGUSR1): %s\n", err(kill(getpid(), SIGUSR1)));
        siginfo_t si;
        struct timespec zero = { 0, 0 };
        int n = 0, got;
        while ((got = sigtimedwait(&s, &si, &zero)) > 0)
            n += got == SIGRTMIN;
        printf("SIGRTMIN instances received: %d\n", n);
        printf("after draining: sigqueue %s\n", err(sigqueue(getpid(), SIGRTMIN, v)));
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

/* RLIMIT_MSGQUEUE: each queue charges maxmsg * (msgsize + sizeof(struct msg_msg)) plus a
 * tree node per possible priority (82880 bytes for the default 10 x 8192). */
static void msgqueue(void)
{
    pid_t c = fork();
    if (c == 0) {
        struct rlimit l = { 200000, 200000 };
        setrlimit(RLIMIT_MSGQUEUE, &l);
        char name[32];
        mqd_t q[4];
        for (int i = 0; i < 3; i++) {
            snprintf(name, sizeof name, "/limit_misc%d", i);
            mq_unlink(name);
            q[i] = mq_open(name, O_CREAT | O_RDWR, 0600, NULL);
            printf("MSGQUEUE 200000: default queue %d: %s\n", i, q[i] < 0 ? strerror(errno) : "ok");
        }
        struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16000 };
        q[3] = mq_open("/limit_misc3", O_CREAT | O_RDWR, 0600, &a);
        printf("MSGQUEUE 200000: a 2 x 16000 queue: %s\n", q[3] < 0 ? strerror(errno) : "ok");
        mq_unlink("/limit_misc0");
        printf("unlinked but open, then: %s\n", mq_open("/limit_misc4", O_CREAT | O_RDWR, 0600, NULL) < 0 ? strerror(errno) : "ok");
        mq_close(q[0]);
        mqd_t r = mq_open("/limit_misc4", O_CREAT | O_RDWR, 0600, NULL);
        printf("closed too, then: %s\n", r < 0 ? strerror(errno) : "ok");
        for (int i = 0; i < 5; i++) {
            snprintf(name, sizeof name, "/limit_misc%d", i);
            mq_unlink(name);
        }
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    other_process();
    errors();
    data_and_as();
    queue_limit();
    msgqueue();
    return 0;
}
