/* The pthread matrix: every mutex type (normal, recursive, error-checking), robust mutexes
 * (EOWNERDEAD, pthread_mutex_consistent, ENOTRECOVERABLE), priority-inheritance mutexes
 * (glibc takes them with FUTEX_LOCK_PI), condition variables with timeouts on both clocks,
 * barriers, 64 threads alive at once, pthread_join of a thread ending while another calls
 * exit, and a PI mutex under contention while SIGALRM arrives. Only what does not depend
 * on scheduling is printed: a thread that must be asleep in the kernel is waited for by
 * watching FUTEX_WAITERS appear in the mutex word. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(int r) { return r == 0 ? "0" : strerrorname_np(r); }

static void mutex_init(pthread_mutex_t *m, int type, int protocol, int robust)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, type);
    pthread_mutexattr_setprotocol(&a, protocol);
    pthread_mutexattr_setrobust(&a, robust);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

static struct timespec in_ms(clockid_t clock, long ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

/* glibc marks a contended plain mutex 2, a robust or PI one with FUTEX_WAITERS. */
static void wait_for_sleeper(pthread_mutex_t *m)
{
    unsigned w;
    while ((w = __atomic_load_n((unsigned *)&m->__data.__lock, __ATOMIC_SEQ_CST)) != 2 && !(w & FUTEX_WAITERS))
        usleep(1000);
    usleep(50000);
}

/* -- a thread that holds a mutex until told, then unlocks it or dies holding it ------- */

static pthread_mutex_t *held;
static volatile int holding, release_it, die_holding;

static void *holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(held);
    holding = 1;
    while (!release_it)
        usleep(1000);
    if (!die_holding)
        pthread_mutex_unlock(held);
    return NULL;
}

static pthread_t hold(pthread_mutex_t *m, int die)
{
    pthread_t t;
    held = m;
    holding = release_it = 0;
    die_holding = die;
    pthread_create(&t, NULL, holder, NULL);
    while (!holding)
        usleep(1000);
    return t;
}

static void *release_when_waited_for(void *arg)
{
    wait_for_sleeper(arg);
    release_it = 1;
    return NULL;
}

/* Lock m while the holder has it: it lets go (or dies) once we sleep in the kernel. */
static int lock_contended(pthread_mutex_t *m, int die)
{
    pthread_t t = hold(m, die), r;
    pthread_create(&r, NULL, release_when_waited_for, m);
    int ret = pthread_mutex_lock(m);
    pthread_join(r, NULL);
    pthread_join(t, NULL);
    return ret;
}

static int unlock_result;
static void *unlock_other(void *arg) { unlock_result = pthread_mutex_unlock(arg); return NULL; }
static int unlock_from_another_thread(pthread_mutex_t *m)
{
    pthread_t t;
    pthread_create(&t, NULL, unlock_other, m);
    pthread_join(t, NULL);
    return unlock_result;
}

static void kinds(const char *name, int protocol)
{
    pthread_mutex_t m;
    struct timespec ts;
    printf("-- %s\n", name);

    mutex_init(&m, PTHREAD_MUTEX_NORMAL, protocol, PTHREAD_MUTEX_STALLED);
    pthread_mutex_lock(&m);
    printf("normal trylock held: %s\n", err(pthread_mutex_trylock(&m)));
    ts = in_ms(CLOCK_REALTIME, 20);
    printf("normal timedlock held: %s\n", err(pthread_mutex_timedlock(&m, &ts)));
    ts = in_ms(CLOCK_MONOTONIC, 20);
    printf("normal clocklock monotonic held: %s\n", err(pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &ts)));
    printf("normal unlock: %s\n", err(pthread_mutex_unlock(&m)));
    printf("normal lock while another thread holds it: %s\n", err(lock_contended(&m, 0)));
    pthread_mutex_unlock(&m);
    pthread_t t = hold(&m, 0);
    printf("normal trylock held by another: %s\n", err(pthread_mutex_trylock(&m)));
    ts = in_ms(CLOCK_REALTIME, 20);
    printf("normal timedlock held by another: %s\n", err(pthread_mutex_timedlock(&m, &ts)));
    release_it = 1;
    pthread_join(t, NULL);
    printf("normal unlock: %s\n", err(pthread_mutex_unlock(&m)));
    pthread_mutex_destroy(&m);

    mutex_init(&m, PTHREAD_MUTEX_RECURSIVE, protocol, PTHREAD_MUTEX_STALLED);
    int a = pthread_mutex_lock(&m), b = pthread_mutex_lock(&m), c = pthread_mutex_trylock(&m);
    printf("recursive lock, lock, trylock: %s %s %s\n", err(a), err(b), err(c));
    printf("recursive unlock from another thread: %s\n", err(unlock_from_another_thread(&m)));
    a = pthread_mutex_unlock(&m), b = pthread_mutex_unlock(&m), c = pthread_mutex_unlock(&m);
    printf("recursive unlock x3: %s %s %s, once more: %s\n", err(a), err(b), err(c), err(pthread_mutex_unlock(&m)));
    printf("recursive lock while another thread holds it: %s\n", err(lock_contended(&m, 0)));
    pthread_mutex_unlock(&m);
    pthread_mutex_destroy(&m);

    mutex_init(&m, PTHREAD_MUTEX_ERRORCHECK, protocol, PTHREAD_MUTEX_STALLED);
    printf("errorcheck unlock unlocked: %s\n", err(pthread_mutex_unlock(&m)));
    pthread_mutex_lock(&m);
    printf("errorcheck relock: %s\n", err(pthread_mutex_lock(&m)));
    ts = in_ms(CLOCK_REALTIME, 20);
    printf("errorcheck timedlock own: %s\n", err(pthread_mutex_timedlock(&m, &ts)));
    printf("errorcheck trylock own: %s\n", err(pthread_mutex_trylock(&m)));
    printf("errorcheck unlock from another thread: %s\n", err(unlock_from_another_thread(&m)));
    printf("errorcheck unlock: %s\n", err(pthread_mutex_unlock(&m)));
    printf("errorcheck lock while another thread holds it: %s\n", err(lock_contended(&m, 0)));
    pthread_mutex_unlock(&m);
    pthread_mutex_destroy(&m);
}

static void robust(const char *name, int protocol)
{
    pthread_mutex_t m;
    printf("-- %s\n", name);
    mutex_init(&m, PTHREAD_MUTEX_NORMAL, protocol, PTHREAD_MUTEX_ROBUST);
    pthread_t t = hold(&m, 1);
    release_it = 1;
    pthread_join(t, NULL);
    printf("lock after the owner died: %s\n", err(pthread_mutex_lock(&m)));
    printf("unlock without consistent: %s\n", err(pthread_mutex_unlock(&m)));
    printf("lock: %s\n", err(pthread_mutex_lock(&m)));
    printf("trylock: %s\n", err(pthread_mutex_trylock(&m)));
    pthread_mutex_destroy(&m);

    mutex_init(&m, PTHREAD_MUTEX_ERRORCHECK, protocol, PTHREAD_MUTEX_ROBUST);
    printf("lock while the owner dies: %s\n", err(lock_contended(&m, 1)));
    printf("consistent: %s\n", err(pthread_mutex_consistent(&m)));
    printf("consistent again: %s\n", err(pthread_mutex_consistent(&m)));
    printf("unlock: %s\n", err(pthread_mutex_unlock(&m)));
    printf("lock: %s\n", err(pthread_mutex_lock(&m)));
    printf("unlock: %s\n", err(pthread_mutex_unlock(&m)));
    t = hold(&m, 1);
    release_it = 1;
    pthread_join(t, NULL);
    printf("trylock after the owner died: %s\n", err(pthread_mutex_trylock(&m)));
    pthread_mutex_consistent(&m);
    pthread_mutex_unlock(&m);
    pthread_mutex_destroy(&m);
}

/* -- condition variables ----------------------------------------------------------------- */

static pthread_mutex_t cm;
static pthread_cond_t cv;
static int ready, woken;

static void *consumer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cm);
    while (!ready)
        pthread_cond_wait(&cv, &cm);
    woken++;
    pthread_mutex_unlock(&cm);
    return NULL;
}

static void condvars(const char *name, int protocol, clockid_t clock)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, clock);
    pthread_cond_init(&cv, &ca);
    mutex_init(&cm, PTHREAD_MUTEX_NORMAL, protocol, PTHREAD_MUTEX_STALLED);
    printf("-- %s\n", name);
    pthread_mutex_lock(&cm);
    struct timespec ts = in_ms(clock, 30);
    printf("timedwait, nobody signals: %s\n", err(pthread_cond_timedwait(&cv, &cm, &ts)));
    ts = in_ms(CLOCK_MONOTONIC, 30);
    printf("clockwait monotonic: %s\n", err(pthread_cond_clockwait(&cv, &cm, CLOCK_MONOTONIC, &ts)));
    ts = in_ms(CLOCK_REALTIME, 30);
    printf("clockwait realtime: %s\n", err(pthread_cond_clockwait(&cv, &cm, CLOCK_REALTIME, &ts)));
    pthread_mutex_unlock(&cm);
    pthread_t t[6];
    ready = woken = 0;
    for (int i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, consumer, NULL);
    usleep(50000);
    pthread_mutex_lock(&cm);
    ready = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&cm);
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    printf("broadcast woke: %d\n", woken);
    ready = 0;
    pthread_create(&t[0], NULL, consumer, NULL);
    pthread_mutex_lock(&cm);
    ready = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&cm);
    pthread_join(t[0], NULL);
    printf("signal, then the consumer ran: %d\n", woken);
    pthread_cond_destroy(&cv);
    pthread_mutex_destroy(&cm);
}

/* -- barriers and many threads ----------------------------------------------------------- */

static pthread_barrier_t bar;
static int serial;
static void *rounds(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        if (pthread_barrier_wait(&bar) == PTHREAD_BARRIER_SERIAL_THREAD)
            __atomic_add_fetch(&serial, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static int alive_at_once;
static void *meet(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&alive_at_once, 1, __ATOMIC_SEQ_CST);
    pthread_barrier_wait(&bar);
    return (void *)(long)pthread_self();
}

static void barriers(void)
{
    pthread_t t[64];
    pthread_barrier_init(&bar, NULL, 8);
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, rounds, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    printf("8 threads x 3 barrier rounds, serial threads: %d\n", serial);
    pthread_barrier_destroy(&bar);
    pthread_barrier_init(&bar, NULL, 65);
    int created = 0;
    for (int i = 0; i < 64; i++)
        created += pthread_create(&t[i], NULL, meet, NULL) == 0;
    pthread_barrier_wait(&bar);
    printf("64 threads alive at once: created %d, at the barrier %d\n", created, alive_at_once);
    int distinct = 0;
    for (int i = 0; i < 64; i++) {
        void *r;
        pthread_join(t[i], &r);
        distinct += (pthread_t)(long)r == t[i];
    }
    printf("joined 64, each returned its own id: %d\n", distinct);
    pthread_barrier_destroy(&bar);
}

/* -- pthread_join of a thread that ends while another calls exit -------------------------- */

static pthread_barrier_t both;
static void *ends(void *arg) { (void)arg; pthread_barrier_wait(&both); return (void *)7; }
static void *exits(void *arg) { (void)arg; pthread_barrier_wait(&both); exit(5); }

static void join_while_exit(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t a, b;
        pthread_barrier_init(&both, NULL, 2);
        pthread_create(&a, NULL, ends, NULL);
        pthread_create(&b, NULL, exits, NULL);
        pthread_join(a, NULL);
        for (;;)
            pause();                /* only exit(5) ends the process */
    }
    int st;
    waitpid(pid, &st, 0);
    printf("join while another thread calls exit: %s %d\n", WIFEXITED(st) ? "exited" : "signalled",
           WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* -- a PI mutex under contention while SIGALRM arrives ------------------------------------ */

static pthread_mutex_t pim;
static long counter;
static void *inc(void *arg)
{
    (void)arg;
    for (int i = 0; i < 25000; i++) {
        pthread_mutex_lock(&pim);
        counter++;
        pthread_mutex_unlock(&pim);
    }
    return NULL;
}
static void on_alrm(int s) { (void)s; }

static void pi_stress(void)
{
    pthread_t t[4];
    mutex_init(&pim, PTHREAD_MUTEX_NORMAL, PTHREAD_PRIO_INHERIT, PTHREAD_MUTEX_STALLED);
    struct sigaction sa = {0};
    sa.sa_handler = on_alrm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &it, NULL);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, inc, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("PI mutex, 4 x 25000 with SIGALRM: %ld\n", counter);
}

/* -- RLIMIT_NPROC counts threads; PR_SET_PDEATHSIG follows the parent thread; CPU time ---- */

static void *idle(void *arg) { (void)arg; pause(); return NULL; }

static void nproc(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {3, 3};
        pthread_t t[4];
        setrlimit(RLIMIT_NPROC, &rl);
        int r = pthread_create(&t[0], NULL, idle, NULL);
        printf("RLIMIT_NPROC 3 as root: thread %s", err(r));
        r = pthread_create(&t[1], NULL, idle, NULL);
        printf(", thread %s", err(r));
        r = pthread_create(&t[2], NULL, idle, NULL);
        printf(", thread %s (root is exempt)\n", err(r));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    pid = fork();
    if (pid == 0) {
        struct rlimit rl = {3, 3};
        pthread_t t[4];
        setrlimit(RLIMIT_NPROC, &rl);
        if (setuid(4321) != 0)
            _exit(1);
        printf("RLIMIT_NPROC 3 as uid 4321:");
        for (int i = 0; i < 3; i++)
            printf(" thread %s", err(pthread_create(&t[i], NULL, idle, NULL)));
        pid_t c = fork();
        printf(", fork %s\n", c < 0 ? strerrorname_np(errno) : "ok");
        if (c == 0)
            _exit(0);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static int pdeath_pipe[2];
static void on_usr1(int s) { (void)s; }
static void *forks_then_exits(void *arg)
{
    (void)arg;
    pid_t c = fork();
    if (c == 0) {
        sigset_t usr1, old;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        sigprocmask(SIG_BLOCK, &usr1, &old);
        signal(SIGUSR1, on_usr1);
        prctl(PR_SET_PDEATHSIG, SIGUSR1);
        pid_t parent = getppid();
        write(pdeath_pipe[1], "x", 1);
        struct timespec ts = {10, 0};
        int got = sigtimedwait(&usr1, NULL, &ts);
        _exit(got == SIGUSR1 ? (getppid() == parent ? 42 : 43) : 44);
    }
    char x;
    read(pdeath_pipe[0], &x, 1);
    return (void *)(long)c;             /* this thread ends; the process lives on */
}

static void pdeathsig(void)
{
    pthread_t t;
    void *r;
    pipe(pdeath_pipe);
    pthread_create(&t, NULL, forks_then_exits, NULL);
    pthread_join(t, &r);
    int st;
    pid_t w = waitpid((pid_t)(long)r, &st, 0);
    printf("PR_SET_PDEATHSIG when the forking thread exits: waited %s, exit %d\n",
           w == (pid_t)(long)r ? "yes" : "no", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* The process of the thread that forked a child ends with exit_group: the child is told by the
   thread that forked it, and by the main thread if it was reparented to it first. */
static volatile int pdeaths;
static int report[2], ready_pipe[2];
static void count_pdeath(int s) { (void)s; pdeaths++; }
static void *forks_then_waits(void *arg)
{
    (void)arg;
    if (fork() == 0) {
        signal(SIGUSR1, count_pdeath);
        prctl(PR_SET_PDEATHSIG, SIGUSR1);
        write(ready_pipe[1], "x", 1);
        while (!pdeaths)
            usleep(1000);
        usleep(200000);                 /* a second signal would have come by now */
        char n = '0' + pdeaths;
        write(report[1], &n, 1);
        _exit(0);
    }
    for (;;)
        pause();
}

static void pdeathsig_exit_group(void)
{
    pipe(report);
    pipe(ready_pipe);
    pid_t m = fork();
    if (m == 0) {
        pthread_t t;
        char x;
        pthread_create(&t, NULL, forks_then_waits, NULL);
        read(ready_pipe[0], &x, 1);
        exit(0);                        /* every thread ends; the child's parent thread too */
    }
    waitpid(m, NULL, 0);
    char n = '?';
    read(report[0], &n, 1);
    /* The forking thread's death signals the child; if that thread ends before the main
       thread, the child is reparented to the main thread first and its death signals again:
       once or twice on Linux too, as exit_group's threads happen to end. */
    printf("PR_SET_PDEATHSIG when a threaded parent calls exit: signalled %s\n",
           n == '1' || n == '2' ? "once or twice, by thread" : (char[]){n, 0});
}

static void *burn(void *arg)
{
    (void)arg;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do
        clock_gettime(CLOCK_MONOTONIC, &now);
    while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 400);
    return NULL;
}

static long cpu_ticks(const char *path)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof buf, f))
        return -1;
    fclose(f);
    char *p = strrchr(buf, ')') + 2;
    long utime = 0, stime = 0;
    for (int field = 3; field <= 15; field++) {
        if (field == 14)
            utime = strtol(p, NULL, 10);
        if (field == 15)
            stime = strtol(p, NULL, 10);
        p = strchr(p, ' ') + 1;
    }
    return utime + stime;
}

static void stat_times(void)
{
    pthread_t t;
    char own[64];
    snprintf(own, sizeof own, "/proc/self/task/%d/stat", (int)syscall(SYS_gettid));
    long whole = cpu_ticks("/proc/self/stat"), mine = cpu_ticks(own);
    pthread_create(&t, NULL, burn, NULL);
    pthread_join(t, NULL);
    whole = cpu_ticks("/proc/self/stat") - whole;
    mine = cpu_ticks(own) - mine;
    printf("/proc/self/stat counts the exited thread's CPU time: %s; the main thread's own stat does not: %s\n",
           whole >= 20 ? "yes" : "no", mine < 20 ? "yes" : "no");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    kinds("plain mutexes", PTHREAD_PRIO_NONE);
    kinds("priority-inheritance mutexes", PTHREAD_PRIO_INHERIT);
    robust("robust mutexes", PTHREAD_PRIO_NONE);
    robust("robust priority-inheritance mutexes", PTHREAD_PRIO_INHERIT);
    condvars("condvar on CLOCK_REALTIME", PTHREAD_PRIO_NONE, CLOCK_REALTIME);
    condvars("condvar on CLOCK_MONOTONIC with a PI mutex", PTHREAD_PRIO_INHERIT, CLOCK_MONOTONIC);
    barriers();
    join_while_exit();
    nproc();
    pdeathsig();
    pdeathsig_exit_group();
    stat_times();
    pi_stress();
    return 0;
}
