/* thread_create_join ITERS: pthread_create of a thread that returns at once,
 * then pthread_join.  ns_per_op is one create+join (clone with CLONE_THREAD
 * and CLONE_CHILD_CLEARTID, the thread's exit, the futex wake of the join). */
#include "bench.h"
#include <pthread.h>

static void *noop(void *arg)
{
    return arg;
}

static void create_join(void)
{
    pthread_t t;
    int err = pthread_create(&t, NULL, noop, NULL);
    if (err) {
        errno = err;
        DIE("pthread_create");
    }
    err = pthread_join(t, NULL);
    if (err) {
        errno = err;
        DIE("pthread_join");
    }
}

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 1000);
    /* one warm-up so glibc's stack cache and the first thread setup are
     * outside the timed loop */
    create_join();
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++)
        create_join();
    long long t1 = now_ns();
    report("thread_create_join", iters, t1 - t0, NULL);
    return 0;
}
