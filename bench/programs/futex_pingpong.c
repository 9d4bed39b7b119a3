/* futex_pingpong ITERS: the main thread and a second thread hand a token back
 * and forth through one futex word with raw FUTEX_WAIT/FUTEX_WAKE (PRIVATE).
 * ns_per_op is one round trip: two hand-overs, each a store, a FUTEX_WAKE
 * and (when the other side is asleep) a FUTEX_WAIT and its wake-up. */
#include "bench.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

/* whose turn it is: 0 = main thread, 1 = second thread, 2 = stop */
static int turn;

static void futex_wait(int *addr, int val)
{
    if (syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0) < 0
            && errno != EAGAIN && errno != EINTR)
        DIE("FUTEX_WAIT");
}

static void futex_wake(int *addr)
{
    if (syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0)
        DIE("FUTEX_WAKE");
}

/* Wait for my turn; returns the word's value (me, or 2 to stop). */
static int await_turn(int me)
{
    int v;
    while ((v = __atomic_load_n(&turn, __ATOMIC_ACQUIRE)) != me && v != 2)
        futex_wait(&turn, v);
    return v;
}

static void hand_to(int other)
{
    __atomic_store_n(&turn, other, __ATOMIC_RELEASE);
    futex_wake(&turn);
}

static void *partner(void *arg)
{
    (void)arg;
    while (await_turn(1) == 1)
        hand_to(0);
    return NULL;
}

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 10000);
    pthread_t t;
    int err = pthread_create(&t, NULL, partner, NULL);
    if (err) {
        errno = err;
        DIE("pthread_create");
    }
    /* one warm-up round trip so the partner is surely running */
    hand_to(1);
    await_turn(0);
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        hand_to(1);
        await_turn(0);
    }
    long long t1 = now_ns();
    hand_to(2);
    pthread_join(t, NULL);
    report("futex_pingpong", iters, t1 - t0, NULL);
    return 0;
}
