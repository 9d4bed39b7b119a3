/* futex_smp MODE T N: futex words the kernel changes while threads on other CPUs change them
 * with atomic instructions (tests/qemu/test_futex_smp.py). Every count is exact by
 * construction: a kernel update of a word that loses a user-space cmpxchg (or the other way
 * round) shows as a wrong count or a hang.
 *   pi T N        T threads lock and unlock one PI mutex N times each, bumping a counter
 *                 (FUTEX_LOCK_PI / FUTEX_UNLOCK_PI against user-space cmpxchg of the owner)
 *   pi_alarm T N  the same with SIGALRM every 2 ms (pthread_matrix's pi_stress)
 *   robust T N    T threads take a robust mutex and a robust PI mutex N times each while
 *                 T more threads, one after another, die holding them: every death is
 *                 seen once (EOWNERDEAD), every increment counted
 *   wakeop T N    T threads add 1 to a word N times with FUTEX_WAKE_OP (FUTEX_OP_ADD) while
 *                 T more add 1 with an atomic add until they are done, counting: the word
 *                 ends at T N plus their count
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static int threads, rounds;
static pthread_mutex_t pim;
static long counter;

static void init_mutex(pthread_mutex_t *m, int protocol, int robust)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setprotocol(&a, protocol);
    pthread_mutexattr_setrobust(&a, robust);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

static void run(void *(*fn)(void *), int n)
{
    pthread_t t[64];
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, fn, (void *)(long)i)) {
            printf("pthread_create failed\n");
            exit(1);
        }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* -- pi ------------------------------------------------------------------------------------ */

static void *pi_inc(void *arg)
{
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        int r = pthread_mutex_lock(&pim);
        if (r) {
            printf("lock: %s\n", strerror(r));
            exit(1);
        }
        counter++;
        pthread_mutex_unlock(&pim);
    }
    return NULL;
}

static void on_alrm(int sig) { (void)sig; }

static void pi(int alarm)
{
    init_mutex(&pim, PTHREAD_PRIO_INHERIT, PTHREAD_MUTEX_STALLED);
    if (alarm) {
        struct sigaction sa = {0};
        sa.sa_handler = on_alrm;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval it = {{0, 2000}, {0, 2000}};
        setitimer(ITIMER_REAL, &it, NULL);
    }
    run(pi_inc, threads);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("PI mutex, %d x %d%s: %ld\n", threads, rounds, alarm ? " with SIGALRM" : "", counter);
}

/* -- robust -------------------------------------------------------------------------------- */

static pthread_mutex_t robust_m[2];
static long robust_count[2];
static atomic_int deaths_seen[2];

static void take(int k)
{
    int r = pthread_mutex_lock(&robust_m[k]);
    if (r == EOWNERDEAD) {
        atomic_fetch_add(&deaths_seen[k], 1);
        pthread_mutex_consistent(&robust_m[k]);
    } else if (r) {
        printf("robust lock %d: %s\n", k, strerror(r));
        exit(1);
    }
    robust_count[k]++;
}

static void *robust_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        int k = i & 1;
        take(k);
        pthread_mutex_unlock(&robust_m[k]);
    }
    return NULL;
}

static void *robust_dier(void *arg)
{
    take((int)(long)arg & 1);
    return NULL;            /* exits holding it: the kernel marks FUTEX_OWNER_DIED */
}

static void *robust_killers(void *arg)
{
    (void)arg;
    for (int i = 0; i < threads; i++) {
        pthread_t t;
        pthread_create(&t, NULL, robust_dier, (void *)(long)i);
        pthread_join(t, NULL);
        usleep(200);
    }
    return NULL;
}

static void robust(void)
{
    init_mutex(&robust_m[0], PTHREAD_PRIO_NONE, PTHREAD_MUTEX_ROBUST);
    init_mutex(&robust_m[1], PTHREAD_PRIO_INHERIT, PTHREAD_MUTEX_ROBUST);
    pthread_t killers;
    pthread_create(&killers, NULL, robust_killers, NULL);
    run(robust_worker, threads);
    pthread_join(killers, NULL);
    for (int k = 0; k < 2; k++) {       /* one more lock: a death after the workers ended */
        take(k);
        pthread_mutex_unlock(&robust_m[k]);
    }
    long dying = threads, expected_plain = (long)threads * ((rounds + 1) / 2) + (dying + 1) / 2 + 1;
    long expected_pi = (long)threads * (rounds / 2) + dying / 2 + 1;
    printf("robust: %ld of %ld, deaths %d of %ld; robust PI: %ld of %ld, deaths %d of %ld\n",
           robust_count[0], expected_plain, atomic_load(&deaths_seen[0]), (dying + 1) / 2,
           robust_count[1], expected_pi, atomic_load(&deaths_seen[1]), dying / 2);
}

/* -- FUTEX_WAKE_OP ----------------------------------------------------------------------------- */

static _Atomic unsigned word, other;
static atomic_int adders_left;
static atomic_long atomic_adds;

static void *wakeop_adder(void *arg)
{
    (void)arg;
    int op = FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0);
    for (int i = 0; i < rounds; i++)
        if (syscall(SYS_futex, &other, FUTEX_WAKE_OP_PRIVATE, 0, 0, &word, op) < 0) {
            printf("FUTEX_WAKE_OP: %s\n", strerror(errno));
            exit(1);
        }
    atomic_fetch_sub(&adders_left, 1);
    return NULL;
}

static void *atomic_adder(void *arg)
{
    (void)arg;
    long n = 0;
    while (atomic_load(&adders_left)) {
        atomic_fetch_add(&word, 1);
        n++;
    }
    atomic_fetch_add(&atomic_adds, n);
    return NULL;
}

static void *wakeop_either(void *arg)
{
    return (long)arg & 1 ? atomic_adder(arg) : wakeop_adder(arg);
}

static void wakeop(void)
{
    atomic_store(&adders_left, threads);
    run(wakeop_either, 2 * threads);
    long lost = (long)threads * rounds + atomic_load(&atomic_adds) - atomic_load(&word);
    printf("FUTEX_WAKE_OP adds, %d x %d, and atomic adds meanwhile: %ld lost\n", threads, rounds, lost);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 4) {
        fprintf(stderr, "usage: futex_smp pi|pi_alarm|robust|wakeop THREADS ROUNDS\n");
        return 2;
    }
    threads = atoi(argv[2]);
    rounds = atoi(argv[3]);
    if (threads < 1 || threads > 32) {
        fprintf(stderr, "1-32 threads\n");
        return 2;
    }
    if (!strcmp(argv[1], "pi"))
        pi(0);
    else if (!strcmp(argv[1], "pi_alarm"))
        pi(1);
    else if (!strcmp(argv[1], "robust"))
        robust();
    else if (!strcmp(argv[1], "wakeop"))
        wakeop();
    else
        return 2;
    return 0;
}
