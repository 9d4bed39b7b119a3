/* More of what pthreads rest on: pthread_cancel of a thread asleep in pause and in sleep,
 * 64 threads at once with TLS and key destructors, pthread_kill, rwlocks, semaphores, fork
 * from a threaded process, and 8 threads x 100000 increments under one mutex while
 * SIGALRM arrives every 2 ms. Only results that do not depend on scheduling are printed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void *forever(void *a) { (void)a; for (;;) pause(); return NULL; }
static void *sleeper(void *a) { (void)a; for (;;) sleep(1); return NULL; }
static __thread int tls = 5;
static pthread_key_t key;
static int destructed;
static void dtor(void *p) { (void)p; __atomic_add_fetch(&destructed, 1, __ATOMIC_SEQ_CST); }
static void *tlsuser(void *a) { tls += (int)(long)a; pthread_setspecific(key, (void *)1); return (void *)(long)tls; }
static volatile int got;
static void on_usr2(int s) { (void)s; got = 1; }
static void *waiter(void *a) { (void)a; while (!got) usleep(1000); return NULL; }
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long shared;
static void *writer(void *a) { (void)a; for (int i = 0; i < 1000; i++) { pthread_rwlock_wrlock(&rw); shared++; pthread_rwlock_unlock(&rw);} return NULL; }
static sem_t sem;
static void *poster(void *a) { (void)a; for (int i = 0; i < 100; i++) sem_post(&sem); return NULL; }
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static void *inc(void *a) { (void)a; for (int i = 0; i < 100000; i++) { pthread_mutex_lock(&m); counter++; pthread_mutex_unlock(&m);} return NULL; }
static void on_alrm(int s) { (void)s; }

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t t, ts[64];
    void *r;
    pthread_create(&t, NULL, forever, NULL);
    pthread_cancel(t);
    pthread_join(t, &r);
    printf("cancel in pause: %s\n", r == PTHREAD_CANCELED ? "canceled" : "no");
    pthread_create(&t, NULL, sleeper, NULL);
    pthread_cancel(t);
    pthread_join(t, &r);
    printf("cancel in sleep: %s\n", r == PTHREAD_CANCELED ? "canceled" : "no");
    pthread_key_create(&key, dtor);
    long sum = 0;
    for (int i = 0; i < 64; i++) pthread_create(&ts[i], NULL, tlsuser, (void *)(long)i);
    for (int i = 0; i < 64; i++) { pthread_join(ts[i], &r); sum += (long)r; }
    printf("64 threads tls sum %ld main tls %d destructors %d\n", sum, tls, destructed);
    signal(SIGUSR2, on_usr2);
    pthread_create(&t, NULL, waiter, NULL);
    pthread_kill(t, SIGUSR2);
    pthread_join(t, NULL);
    printf("pthread_kill got %d\n", got);
    for (int i = 0; i < 4; i++) pthread_create(&ts[i], NULL, writer, NULL);
    for (int i = 0; i < 4; i++) pthread_join(ts[i], NULL);
    printf("rwlock %ld\n", shared);
    sem_init(&sem, 0, 0);
    pthread_create(&t, NULL, poster, NULL);
    for (int i = 0; i < 100; i++) sem_wait(&sem);
    pthread_join(t, NULL);
    printf("sem ok\n");
    pthread_create(&t, NULL, forever, NULL);
    pid_t pid = fork();
    if (pid == 0) { printf("child of threaded process runs\n"); _exit(4); }
    int st; waitpid(pid, &st, 0);
    printf("fork child exit %d\n", WEXITSTATUS(st));
    struct sigaction sa = {0}; sa.sa_handler = on_alrm; sa.sa_flags = SA_RESTART; sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 2000}, {0, 2000}}; setitimer(ITIMER_REAL, &it, NULL);
    for (int i = 0; i < 8; i++) pthread_create(&ts[i], NULL, inc, NULL);
    for (int i = 0; i < 8; i++) pthread_join(ts[i], NULL);
    printf("8 x 100000 with SIGALRM: %ld\n", counter);
    return 0;
}
