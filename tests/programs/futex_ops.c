/* futex(2) operations and their errors, clone/clone3 flag checks, and set_tid_address:
 * what a libc's threads stand on, each case printed with its result and errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static uint32_t word = 5, word2 = 0;
static volatile int sleepers;

static void *sleeper(void *arg)
{
    uint32_t *w = arg;
    __atomic_add_fetch(&sleepers, 1, __ATOMIC_SEQ_CST);
    fx(w, FUTEX_WAIT_PRIVATE, 5, NULL, NULL, 0);
    return NULL;
}

static void start_sleepers(pthread_t *t, int n, uint32_t *w)
{
    sleepers = 0;
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, sleeper, w);
    while (sleepers < n)
        usleep(1000);
    usleep(20000);                  /* every sleeper is in FUTEX_WAIT by now */
}

static void errors(void)
{
    struct timespec zero = {0, 0}, bad = {0, 1000000000}, short_ts = {0, 10000000};
    show("wait with a different value", fx(&word, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0));
    show("wait, zero timeout", fx(&word, FUTEX_WAIT_PRIVATE, 5, &zero, NULL, 0));
    show("wait, 10 ms timeout", fx(&word, FUTEX_WAIT_PRIVATE, 5, &short_ts, NULL, 0));
    show("wait, invalid timeout", fx(&word, FUTEX_WAIT_PRIVATE, 5, &bad, NULL, 0));
    show("wait, unaligned", fx((uint32_t *)((char *)&word + 1), FUTEX_WAIT_PRIVATE, 5, NULL, NULL, 0));
    show("wait, NULL address", fx(NULL, FUTEX_WAIT_PRIVATE, 5, NULL, NULL, 0));
    show("wait_bitset, bitset 0", fx(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, NULL, NULL, 0));
    show("wake_bitset, bitset 0", fx(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0));
    show("wait + CLOCK_REALTIME", fx(&word, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 4, NULL, NULL, 0));
    show("wake + CLOCK_REALTIME", fx(&word, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0));
    show("wake, nobody waits", fx(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    show("unknown op 99", fx(&word, 99, 1, NULL, NULL, 0));
    struct timespec past;
    clock_gettime(CLOCK_MONOTONIC, &past);
    show("wait_bitset, absolute deadline passed", fx(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, &past, NULL, ~0u));
    clock_gettime(CLOCK_REALTIME, &past);
    past.tv_nsec = (past.tv_nsec + 20000000) % 1000000000;
    if (past.tv_nsec < 20000000)
        past.tv_sec++;
    show("wait_bitset, realtime deadline in 20 ms",
         fx(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 5, &past, NULL, ~0u));
    show("cmp_requeue, value differs", fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &word2, 4));
    show("cmp_requeue, negative count", fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, -1, (void *)1L, &word2, 5));
}

static void wakes(void)
{
    pthread_t t[4];
    start_sleepers(t, 3, &word);
    show("wake 2 of 3", fx(&word, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0));
    show("wake the rest", fx(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);

    start_sleepers(t, 4, &word);
    show("requeue: wake 1, move 2", fx(&word, FUTEX_REQUEUE_PRIVATE, 1, (void *)2L, &word2, 0));
    show("wake on the second word", fx(&word2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
    show("wake on the first word", fx(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);

    start_sleepers(t, 2, &word);
    show("cmp_requeue: wake 0, move all", fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)10L, &word2, 5));
    show("wake_bitset on the second word", fx(&word2, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, ~0u));
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);

    start_sleepers(t, 2, &word);
    word2 = 1;
    /* *word2 += 3 (old 1); wake 1 on word, and 1 on word2 if old == 1 */
    show("wake_op add, cmp eq", fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &word2,
                                   FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 1)));
    printf("second word now %u\n", word2);
    show("wake_op set with shift, cmp gt", fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &word2,
                                              FUTEX_OP((FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT), 4, FUTEX_OP_CMP_GT, 100)));
    printf("second word now %u\n", word2);
    show("wake_op, unknown op", fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &word2, 7u << 28));
    show("wake_op, unknown cmp", fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &word2, 9u << 24));
    printf("second word now %u\n", word2);
    show("wake the last", fx(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
}

static int handled;
static void on_usr1(int sig) { (void)sig; handled = 1; }

static void interrupted(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec ts = {5, 0};
        alarm(10);
        long r = fx(&word, FUTEX_WAIT_PRIVATE, 5, &ts, NULL, 0);
        printf("timed wait interrupted by a handled signal: %ld %s handled=%d\n", r,
               r < 0 ? strerrorname_np(errno) : "", handled);
        fflush(stdout);
        _exit(0);
    }
    usleep(50000);
    kill(pid, SIGUSR1);
    int status;
    waitpid(pid, &status, 0);
}

static void clone_flags(void)
{
    char stack[256];
    show("clone THREAD without SIGHAND", syscall(SYS_clone, CLONE_THREAD | CLONE_VM, stack + sizeof stack, 0, 0, 0));
    show("clone SIGHAND without VM", syscall(SYS_clone, CLONE_SIGHAND, stack + sizeof stack, 0, 0, 0));
    struct clone_args args;
    memset(&args, 0, sizeof args);
    show("clone3, size 8", syscall(SYS_clone3, &args, 8));
    show("clone3, size 8192", syscall(SYS_clone3, &args, 8192));
    args.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    args.exit_signal = SIGCHLD;
    show("clone3 THREAD with an exit signal", syscall(SYS_clone3, &args, sizeof args));
    args.flags = CLONE_SIGHAND | CLONE_VM | CLONE_CLEAR_SIGHAND;
    args.exit_signal = 0;
    show("clone3 SIGHAND with CLEAR_SIGHAND", syscall(SYS_clone3, &args, sizeof args));
    args.flags = 0;
    args.exit_signal = 65;
    show("clone3 exit signal 65", syscall(SYS_clone3, &args, sizeof args));
    args.exit_signal = SIGCHLD;
    args.stack_size = 4096;
    show("clone3 stack size without a stack", syscall(SYS_clone3, &args, sizeof args));
    args.stack_size = 0;
    args.flags = SIGCHLD;
    show("clone3 flags with a signal number", syscall(SYS_clone3, &args, sizeof args));

    /* clone3 as fork, with handlers cleared in the child */
    signal(SIGUSR2, on_usr1);
    memset(&args, 0, sizeof args);
    args.flags = CLONE_CLEAR_SIGHAND;
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, 64);
    if (pid == 0) {
        struct sigaction old;
        sigaction(SIGUSR2, NULL, &old);
        _exit(old.sa_handler == SIG_DFL ? 3 : 4);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("clone3 CLEAR_SIGHAND child: exited %d\n", WEXITSTATUS(status));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int tid = syscall(SYS_set_tid_address, NULL);
    printf("set_tid_address returns the tid: %s\n", tid == gettid() ? "yes" : "no");
    errors();
    wakes();
    interrupted();
    clone_flags();
    return 0;
}
