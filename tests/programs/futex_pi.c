/* Priority-inheritance futexes and futex_waitv by raw syscalls: the word protocol (owner TID,
 * FUTEX_WAITERS, FUTEX_OWNER_DIED), handover to the waiter at unlock and at the owner's exit,
 * requeue-PI, absolute timeouts on either clock, and every errno case, each printed with its
 * result. Only what does not depend on scheduling is printed: helper threads are waited for
 * by polling the word, then given time to fall asleep. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX_32
#define FUTEX_32 2
#endif
#ifndef FUTEX_WAITV_MAX
#define FUTEX_WAITV_MAX 128
struct futex_waitv { uint64_t val; uint64_t uaddr; uint32_t flags; uint32_t __reserved; };
#endif
#define FUTEX2_PRIVATE FUTEX_PRIVATE_FLAG

static long fx(uint32_t *uaddr, int op, uint32_t val, const void *timeout_or_val2, uint32_t *uaddr2, uint32_t val3)
{
    return syscall(SYS_futex, uaddr, op, val, timeout_or_val2, uaddr2, val3);
}

static void show(const char *what, long ret)
{
    if (ret < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, ret);
}

static pid_t tid(void) { return (pid_t)syscall(SYS_gettid); }

/* The word as owner/flags, the owner named relative to the threads we know. */
static pid_t main_tid, helper_tid;
static void show_word(const char *what, uint32_t w)
{
    uint32_t owner = w & FUTEX_TID_MASK;
    const char *who = owner == 0 ? "none" : owner == (uint32_t)main_tid ? "main"
                    : owner == (uint32_t)helper_tid ? "helper" : "other";
    printf("%s: owner %s%s%s\n", what, who, w & FUTEX_WAITERS ? " WAITERS" : "",
           w & FUTEX_OWNER_DIED ? " OWNER_DIED" : "");
}

static struct timespec at(clockid_t clock, long ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static void wait_for_waiters(uint32_t *w)
{
    while (!(__atomic_load_n(w, __ATOMIC_SEQ_CST) & FUTEX_WAITERS))
        usleep(1000);
    usleep(50000);              /* the waiter that set the bit is asleep by now */
}

/* -- a helper thread that takes a lock, then does what it is told ----------------------- */

static uint32_t lock, lock2, cond;
static volatile int helper_has_lock, helper_go;
enum { UNLOCK, EXIT_HOLDING };
static int helper_then;

static void *holder(void *arg)
{
    uint32_t *l = arg;
    helper_tid = tid();
    fx(l, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    helper_has_lock = 1;
    while (!helper_go)
        usleep(1000);
    if (helper_then == UNLOCK)
        fx(l, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    return NULL;                /* EXIT_HOLDING: dies with the lock */
}

static pthread_t start_holder(uint32_t *l, int then)
{
    pthread_t t;
    helper_has_lock = helper_go = 0;
    helper_then = then;
    pthread_create(&t, NULL, holder, l);
    while (!helper_has_lock)
        usleep(1000);
    return t;
}

static void *go_later(void *arg)
{
    (void)arg;
    wait_for_waiters(&lock);
    helper_go = 1;
    return NULL;
}

static void uncontended(void)
{
    struct timespec bad = {0, 1000000000};
    lock = 0;
    show("lock_pi free word", fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show_word("  word", lock);
    show("lock_pi again", fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("trylock_pi own lock", fx(&lock, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("unlock_pi", fx(&lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show_word("  word", lock);
    show("unlock_pi not owner", fx(&lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("trylock_pi free word", fx(&lock, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show_word("  word", lock);
    show("unlock_pi unaligned", fx((uint32_t *)((char *)&lock + 1), FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("unlock_pi", fx(&lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("lock_pi unaligned", fx((uint32_t *)((char *)&lock + 2), FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("lock_pi NULL", fx(NULL, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("lock_pi invalid timeout", fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, &bad, NULL, 0));
    show("lock_pi with CLOCK_REALTIME flag", fx(&lock, FUTEX_LOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0));
    show("trylock_pi with CLOCK_REALTIME flag", fx(&lock, FUTEX_TRYLOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0));
    struct timespec past = {1, 0};
    show("lock_pi2 free word, deadline passed", fx(&lock, FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG, 0, &past, NULL, 0));
    show("unlock_pi", fx(&lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    lock = FUTEX_OWNER_DIED;
    show("lock_pi word with OWNER_DIED only", fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show_word("  word", lock);
    show("unlock_pi", fx(&lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show_word("  word", lock);
    lock = 0x3ffffff0;
    show("lock_pi owner TID names nobody", fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show_word("  word", lock);
    show("trylock_pi owner TID names nobody", fx(&lock, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    lock = 0;
}

static void contended(void)
{
    pthread_t t = start_holder(&lock, UNLOCK), g;
    show("trylock_pi held by helper", fx(&lock, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show_word("  word", lock);
    struct timespec rt = at(CLOCK_REALTIME, 30), mono = at(CLOCK_MONOTONIC, 30), mono_as_rt = at(CLOCK_MONOTONIC, 30);
    show("lock_pi realtime deadline", fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, &rt, NULL, 0));
    show("lock_pi2 monotonic deadline", fx(&lock, FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG, 0, &mono, NULL, 0));
    rt = at(CLOCK_REALTIME, 30);
    show("lock_pi2 realtime deadline", fx(&lock, FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME, 0, &rt, NULL, 0));
    /* a CLOCK_MONOTONIC time is long past on CLOCK_REALTIME: LOCK_PI gives up at once */
    show("lock_pi monotonic time taken as realtime", fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, &mono_as_rt, NULL, 0));
    show("unlock_pi of the helper's lock", fx(&lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("wake on a PI word without waiters", fx(&lock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    lock &= ~FUTEX_WAITERS;     /* nobody waits now: go_later watches for the bit again */
    pthread_create(&g, NULL, go_later, NULL);
    show("lock_pi until the helper unlocks", fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show_word("  word", lock);
    pthread_join(t, NULL);
    pthread_join(g, NULL);
    show("unlock_pi", fx(&lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show_word("  word", lock);

    t = start_holder(&lock, EXIT_HOLDING);
    pthread_create(&g, NULL, go_later, NULL);
    show("lock_pi until the owner exits", fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show_word("  word", lock);
    pthread_join(t, NULL);
    pthread_join(g, NULL);
    show("unlock_pi", fx(&lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));

    t = start_holder(&lock, EXIT_HOLDING);
    helper_go = 1;
    pthread_join(t, NULL);
    show("lock_pi owner exited holding it", fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show_word("  word", lock);
    lock = 0;
}

/* -- mixing PI and plain operations, requeue-PI ----------------------------------------- */

static volatile int waiting;

static void *plain_waiter(void *arg)
{
    (void)arg;
    waiting = 1;
    fx(&lock, FUTEX_WAIT_PRIVATE, lock, NULL, NULL, 0);
    return NULL;
}

static long requeue_result[2];
static void *requeue_waiter(void *arg)
{
    long i = (long)arg;
    __atomic_add_fetch(&waiting, 1, __ATOMIC_SEQ_CST);
    requeue_result[i] = fx(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, &lock2, 0);
    if (requeue_result[i] == 0) {
        requeue_result[i] = (lock2 & FUTEX_TID_MASK) == (uint32_t)tid() ? 1 : 2;
        fx(&lock2, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    }
    return NULL;
}

static void mixing(void)
{
    pthread_t t;
    lock = 7;           /* a plain futex word: a thread sleeps on it */
    waiting = 0;
    pthread_create(&t, NULL, plain_waiter, NULL);
    while (!waiting)
        usleep(1000);
    usleep(50000);
    lock = 0;
    show("lock_pi of a word with a plain waiter (free)", fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    lock = main_tid;
    show("unlock_pi of a word with a plain waiter", fx(&lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    lock = 7;
    show("wake 0 of the plain waiter (Linux wakes one)", fx(&lock, FUTEX_WAKE_PRIVATE, 0, NULL, NULL, 0));
    pthread_join(t, NULL);
    lock = 0;

    struct timespec abs_mono = at(CLOCK_MONOTONIC, 20), abs_rt = at(CLOCK_REALTIME, 20);
    show("wait_requeue_pi same address", fx(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, &cond, 0));
    show("wait_requeue_pi value differs", fx(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 1, NULL, &lock2, 0));
    show("wait_requeue_pi unaligned target", fx(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, (uint32_t *)((char *)&lock2 + 1), 0));
    show("wait_requeue_pi monotonic deadline", fx(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, &abs_mono, &lock2, 0));
    show("wait_requeue_pi realtime deadline", fx(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &abs_rt, &lock2, 0));
    show("cmp_requeue_pi nr_wake 2", fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 2, (void *)1, &lock2, 0));
    show("cmp_requeue_pi same address", fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &cond, 0));
    show("cmp_requeue_pi value differs", fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &lock2, 1));
    show("cmp_requeue_pi nobody waiting", fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &lock2, 0));
    show("cmp_requeue_pi negative count", fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)-1L, &lock2, 0));

    pthread_t w[2];
    waiting = 0;
    for (long i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, requeue_waiter, (void *)i);
    while (waiting < 2)
        usleep(1000);
    usleep(50000);
    show("wake on a requeue-PI waiter", fx(&cond, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    show("cmp_requeue (not PI) of requeue-PI waiters", fx(&cond, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &lock2, 0));
    show("cmp_requeue_pi to another futex", fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &lock, 0));
    show("lock_pi the target", fx(&lock2, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    show("cmp_requeue_pi: both onto the held lock", fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)5, &lock2, 0));
    show_word("  lock word", lock2);
    show("unlock_pi to the first", fx(&lock2, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    pthread_join(w[0], NULL);
    pthread_join(w[1], NULL);
    printf("requeued waiters returned owning the lock: %ld %ld\n", requeue_result[0], requeue_result[1]);
    show_word("  lock word", lock2);

    waiting = 0;
    for (long i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, requeue_waiter, (void *)i);
    while (waiting < 2)
        usleep(1000);
    usleep(50000);
    show("cmp_requeue_pi to a free lock: wake 1, move 1", fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &lock2, 0));
    pthread_join(w[0], NULL);
    pthread_join(w[1], NULL);
    printf("requeued waiters returned owning the lock: %ld %ld\n", requeue_result[0], requeue_result[1]);
    show_word("  lock word", lock2);
}

/* -- ABBA between two threads --------------------------------------------------------- */

static uint32_t a_lock, b_lock;
static void *abba(void *arg)
{
    (void)arg;
    fx(&b_lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    helper_has_lock = 1;
    fx(&a_lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);      /* sleeps: main holds it */
    fx(&a_lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    fx(&b_lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void deadlock(void)
{
    pthread_t t;
    helper_has_lock = 0;
    fx(&a_lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    pthread_create(&t, NULL, abba, NULL);
    while (!helper_has_lock)
        usleep(1000);
    wait_for_waiters(&a_lock);
    show("lock_pi closing a cycle of owners", fx(&b_lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    fx(&a_lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    pthread_join(t, NULL);
    show_word("  a", a_lock);
    show_word("  b", b_lock);
}

/* -- real-time sleepers go first: the PI handover and FUTEX_WAKE take the highest priority -- */

static uint32_t rt_word;
static const char *order[2];
static int ordered;
static volatile int rt_started;
struct rt_arg { const char *name; int pi; };

static void *rt_sleeper(void *arg)
{
    struct rt_arg *a = arg;
    rt_started = 1;
    if (a->pi) {
        fx(&rt_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
        order[__atomic_fetch_add(&ordered, 1, __ATOMIC_SEQ_CST)] = a->name;
        fx(&rt_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    } else {
        fx(&rt_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        order[__atomic_fetch_add(&ordered, 1, __ATOMIC_SEQ_CST)] = a->name;
    }
    return NULL;
}

static pthread_t start_rt(struct rt_arg *a, int priority)
{
    pthread_attr_t attr;
    struct sched_param sp = {.sched_priority = priority};
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
    pthread_attr_setschedparam(&attr, &sp);
    rt_started = 0;
    if (pthread_create(&t, &attr, rt_sleeper, a) != 0)
        printf("cannot create a SCHED_FIFO thread\n");
    while (!rt_started)
        usleep(1000);
    usleep(50000);              /* asleep in the kernel by now */
    return t;
}

static void priorities(int pi)
{
    struct rt_arg low = {"fifo 10", pi}, high = {"fifo 20", pi};
    rt_word = 0;
    ordered = 0;
    if (pi)
        fx(&rt_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    pthread_t a = start_rt(&low, 10), b = start_rt(&high, 20);
    if (pi) {
        fx(&rt_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    } else {
        fx(&rt_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        while (__atomic_load_n(&ordered, __ATOMIC_SEQ_CST) < 1)
            usleep(1000);
        fx(&rt_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%s: the later, higher-priority sleeper first: %s, then %s\n",
           pi ? "unlock_pi handover" : "wake", order[0], order[1]);
}

/* -- signals: LOCK_PI is never interrupted (ERESTARTNOINTR), futex_waitv is (EINTR) ------ */

static volatile int handled;
static void on_usr1(int s) { (void)s; handled++; }
static long sig_result;
static pid_t sleeper_tid;
static volatile int sleeper_ready;

static void *pi_sleeper(void *arg)
{
    (void)arg;
    sleeper_tid = tid();
    sleeper_ready = 1;
    sig_result = fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    if (sig_result < 0)
        sig_result = -errno;
    else
        fx(&lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void *waitv_sleeper(void *arg)
{
    uint32_t word = 0;
    struct futex_waitv w = {.val = 0, .uaddr = (uintptr_t)&word, .flags = FUTEX_32 | FUTEX2_PRIVATE};
    (void)arg;
    sleeper_tid = tid();
    sleeper_ready = 1;
    sig_result = syscall(SYS_futex_waitv, &w, 1, 0, NULL, 0);
    if (sig_result < 0)
        sig_result = -errno;
    return NULL;
}

static void interrupt(void *(*fn)(void *), const char *what)
{
    pthread_t t;
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;            /* no SA_RESTART */
    sigaction(SIGUSR1, &sa, NULL);
    handled = 0;
    sleeper_ready = 0;
    pthread_create(&t, NULL, fn, NULL);
    while (!sleeper_ready)
        usleep(1000);
    usleep(50000);
    syscall(SYS_tgkill, getpid(), sleeper_tid, SIGUSR1);
    usleep(50000);
    if (fn == pi_sleeper)
        fx(&lock, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    else if (!handled)
        printf("the handler did not run\n");
    pthread_join(t, NULL);
    printf("%s, a handler without SA_RESTART ran %d time(s): %s\n", what, handled,
           sig_result == 0 ? "0" : strerrorname_np((int)-sig_result));
}

static void *requeued_sleeper(void *arg)
{
    struct timespec *deadline = arg;
    sleeper_tid = tid();
    sleeper_ready = 1;
    sig_result = fx(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, deadline, &lock2, 0);
    if (sig_result < 0)
        sig_result = -errno;
    return NULL;
}

/* A FUTEX_WAIT_REQUEUE_PI sleeper moved onto a held lock, then timed out or signalled. */
static void requeued_then(int signal_it)
{
    pthread_t t;
    struct timespec deadline = at(CLOCK_MONOTONIC, 300);
    cond = 0;
    lock2 = 0;
    handled = 0;
    sleeper_ready = 0;
    fx(&lock2, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    pthread_create(&t, NULL, requeued_sleeper, signal_it ? NULL : &deadline);
    while (!sleeper_ready)
        usleep(1000);
    usleep(50000);
    long moved = fx(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &lock2, 0);
    if (signal_it) {
        usleep(50000);
        syscall(SYS_tgkill, getpid(), sleeper_tid, SIGUSR1);
    }
    pthread_join(t, NULL);
    printf("wait_requeue_pi requeued (%ld) onto a held lock, then %s: %s\n", moved,
           signal_it ? "a signal" : "its deadline", sig_result == 0 ? "0" : strerrorname_np((int)-sig_result));
    show_word("  lock word", lock2);
    fx(&lock2, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    show_word("  after unlock_pi", lock2);
}

static void *lock_forever(void *arg) { (void)arg; fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0); return NULL; }

static void signals_and_exit(void)
{
    lock = 0;
    fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    interrupt(pi_sleeper, "lock_pi interrupted");
    lock = 0;
    interrupt(waitv_sleeper, "futex_waitv interrupted");
    requeued_then(0);
    requeued_then(1);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        fx(&lock, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
        pthread_create(&t, NULL, lock_forever, NULL);
        wait_for_waiters(&lock);
        exit(3);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("exit while a thread sleeps in lock_pi: exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    lock = 0;
}

/* -- futex_waitv ------------------------------------------------------------------------- */

static uint32_t v[3];
static void *wake_second(void *arg)
{
    (void)arg;
    while (!waiting)
        usleep(1000);
    usleep(50000);
    fx(&v[1], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    return NULL;
}

static long waitv(struct futex_waitv *w, unsigned n, unsigned flags, struct timespec *ts, clockid_t clock)
{
    return syscall(SYS_futex_waitv, w, n, flags, ts, clock);
}

static void futex_waitv_calls(void)
{
    struct futex_waitv w[3], big[FUTEX_WAITV_MAX + 1];
    for (int i = 0; i < 3; i++) {
        v[i] = i + 1;
        w[i] = (struct futex_waitv){.val = i + 1, .uaddr = (uintptr_t)&v[i], .flags = FUTEX_32 | FUTEX2_PRIVATE};
    }
    struct timespec ts = at(CLOCK_MONOTONIC, 20), bad = {0, 1000000000};
    show("waitv flags", waitv(w, 3, 1, NULL, 0));
    show("waitv none", waitv(w, 0, 0, NULL, 0));
    show("waitv NULL", waitv(NULL, 3, 0, NULL, 0));
    show("waitv too many", waitv(big, FUTEX_WAITV_MAX + 1, 0, NULL, 0));
    show("waitv bad clock", waitv(w, 3, 0, &ts, CLOCK_BOOTTIME));
    v[0] = 99;          /* the clock is only looked at with a timeout: the values are */
    show("waitv bad clock, no timeout", waitv(w, 3, 0, NULL, CLOCK_BOOTTIME));
    v[0] = 1;
    show("waitv invalid timeout", waitv(w, 3, 0, &bad, CLOCK_MONOTONIC));
    show("waitv timeout pointer bad", waitv(w, 3, 0, (struct timespec *)8, CLOCK_MONOTONIC));
    show("waitv array pointer bad", waitv((struct futex_waitv *)8, 3, 0, NULL, 0));
    w[2].flags = 0 | FUTEX2_PRIVATE;
    show("waitv 8-bit word", waitv(w, 3, 0, &ts, CLOCK_MONOTONIC));
    w[2].flags = 1 | FUTEX2_PRIVATE;
    show("waitv 16-bit word", waitv(w, 3, 0, &ts, CLOCK_MONOTONIC));
    w[2].flags = 3 | FUTEX2_PRIVATE;
    show("waitv 64-bit word", waitv(w, 3, 0, &ts, CLOCK_MONOTONIC));
    w[2].flags = FUTEX_32 | 4;
    show("waitv unknown flag", waitv(w, 3, 0, &ts, CLOCK_MONOTONIC));
    w[2].flags = FUTEX_32;
    w[2].__reserved = 1;
    show("waitv reserved set", waitv(w, 3, 0, &ts, CLOCK_MONOTONIC));
    w[2].__reserved = 0;
    w[2].uaddr += 1;
    show("waitv unaligned", waitv(w, 3, 0, &ts, CLOCK_MONOTONIC));
    w[2].uaddr = 8;
    show("waitv unmapped word", waitv(w, 3, 0, &ts, CLOCK_MONOTONIC));
    w[2].uaddr = (uintptr_t)&v[2];
    w[1].val = 9;
    show("waitv a value differs", waitv(w, 3, 0, &ts, CLOCK_MONOTONIC));
    w[1].val = 2 | (7ULL << 32);
    show("waitv upper half of val ignored, monotonic deadline", waitv(w, 3, 0, &ts, CLOCK_MONOTONIC));
    ts = at(CLOCK_REALTIME, 20);
    show("waitv realtime deadline", waitv(w, 3, 0, &ts, CLOCK_REALTIME));
    ts = at(CLOCK_MONOTONIC, 20);
    show("waitv monotonic time as realtime", waitv(w, 3, 0, &ts, CLOCK_REALTIME));
    pthread_t t;
    waiting = 0;
    pthread_create(&t, NULL, wake_second, NULL);
    waiting = 1;
    show("waitv woken on the second word", waitv(w, 3, 0, NULL, 0));
    pthread_join(t, NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    main_tid = tid();
    uncontended();
    contended();
    mixing();
    deadlock();
    priorities(1);
    priorities(0);
    signals_and_exit();
    futex_waitv_calls();
    return 0;
}
