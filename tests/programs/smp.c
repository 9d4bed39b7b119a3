/* smp MODE ...: what several CPUs must get right (tests/qemu/test_smp.py).
 *   cpus              what the system says about its CPUs (sysconf, affinity, sysfs)
 *   spin MS N         N processes each burn MS ms of CPU time; prints the wall time and
 *                     the sum of their CPU times, in ms (the test compares the two)
 *   counter T N       T threads each take a futex lock N times to bump a counter, and add
 *                     to a shared array with atomics; prints the totals and how many CPUs ran them
 *   pin CPU           pins itself to CPU, spins with getcpu: does it stay?
 *   stop              a process with 3 spinning threads: SIGSTOP stops them all (their CPU
 *                     time stands still), SIGCONT resumes them, exit_group of one ends all
 *   munmap            one thread reads a page in a loop while another unmaps it: the
 *                     reader gets SIGSEGV, never another value
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int my_cpu(void)
{
    unsigned cpu = 0;
    syscall(SYS_getcpu, &cpu, NULL, NULL);
    return (int)cpu;
}

static void print_file(const char *path)
{
    char buf[128] = "";
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (n > 0)
        buf[n] = 0;
    printf("%s: %s", path, n > 0 ? buf : "(unreadable)\n");
    if (fd >= 0)
        close(fd);
}

static int cpus(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    printf("nprocessors_onln %ld conf %ld affinity %d\n", sysconf(_SC_NPROCESSORS_ONLN),
           sysconf(_SC_NPROCESSORS_CONF), CPU_COUNT(&set));
    print_file("/sys/devices/system/cpu/online");
    print_file("/sys/devices/system/cpu/possible");
    print_file("/sys/devices/system/cpu/present");
    unsigned cpu = 99, node = 99;
    printf("getcpu %ld cpu<ncpus %d node %u\n", syscall(SYS_getcpu, &cpu, &node, NULL),
           (long)cpu < sysconf(_SC_NPROCESSORS_ONLN), node);
    return 0;
}

static volatile unsigned long sink;

static void burn(long long ns)
{
    long long end = now_ns(CLOCK_THREAD_CPUTIME_ID) + ns;
    while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
        for (int i = 0; i < 100000; i++)
            sink = sink * 6364136223846793005UL + 1;
}

static int spin(int ms, int n)
{
    long long t0 = now_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < n; i++)
        if (fork() == 0) {
            burn(ms * 1000000LL);
            _exit(0);
        }
    for (int i = 0; i < n; i++)
        wait(NULL);
    long long wall = now_ns(CLOCK_MONOTONIC) - t0;
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    long long cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000LL +
                    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
    printf("wall_ms %lld cpu_ms %lld\n", wall / 1000000, cpu);
    return 0;
}

/* -- counter: a futex lock (Drepper's mutex, "Futexes are tricky", mutex2) ------------------ */

static atomic_int lock_word;
static long counter;
static atomic_long shared[64];
static atomic_int cpus_seen;
static long per_thread;

static void lock(void)
{
    int c = 0;
    if (atomic_compare_exchange_strong(&lock_word, &c, 1))
        return;
    if (c != 2)
        c = atomic_exchange(&lock_word, 2);
    while (c != 0) {
        syscall(SYS_futex, &lock_word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        c = atomic_exchange(&lock_word, 2);
    }
}

static void unlock(void)
{
    if (atomic_fetch_sub(&lock_word, 1) != 1) {
        atomic_store(&lock_word, 0);
        syscall(SYS_futex, &lock_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

static void *count(void *arg)
{
    (void)arg;
    for (long i = 0; i < per_thread; i++) {
        lock();
        long c = counter;       /* a torn increment shows if two CPUs get in at once */
        sink = c;
        counter = c + 1;
        unlock();
        atomic_fetch_add(&shared[i % 64], 1);
        if (i % 1024 == 0)
            atomic_fetch_or(&cpus_seen, 1 << (my_cpu() & 31));
    }
    return NULL;
}

static int counter_test(int t, long n)
{
    pthread_t th[16];
    per_thread = n;
    for (int i = 0; i < t; i++)
        pthread_create(&th[i], NULL, count, NULL);
    for (int i = 0; i < t; i++)
        pthread_join(th[i], NULL);
    long sum = 0;
    for (int i = 0; i < 64; i++)
        sum += shared[i];
    printf("counter %ld shared %ld cpus_used %d\n", counter, sum, __builtin_popcount(cpus_seen));
    return 0;
}

static int pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        perror("sched_setaffinity");
        return 1;
    }
    int moved = 0;
    for (int i = 0; i < 200; i++) {
        burn(200000);
        if (i % 20 == 0)
            sched_yield();
        moved += my_cpu() != cpu;
    }
    printf("pinned to %d: %s\n", cpu, moved ? "moved" : "stayed");
    return 0;
}

/* -- membarrier: PRIVATE_EXPEDITED while another thread runs user code on another CPU ------- */

static atomic_int mb_stop, mb_started;

static void *mb_spinner(void *arg)
{
    (void)arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(1, &set);
    sched_setaffinity(0, sizeof set, &set);
    atomic_store(&mb_started, 1);
    while (!atomic_load_explicit(&mb_stop, memory_order_relaxed))
        sink++;                 /* user code, no system call: only the barrier's IPI reaches it */
    return NULL;
}

static int membarrier_test(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    sched_setaffinity(0, sizeof set, &set);
    long reg = syscall(SYS_membarrier, 1 << 4 /* REGISTER_PRIVATE_EXPEDITED */, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, mb_spinner, NULL);
    while (!atomic_load(&mb_started))
        sched_yield();
    burn(20000000);             /* the spinner is on CPU 1 by now, in user code */
    int ok = 0;
    for (int i = 0; i < 100; i++)
        ok += syscall(SYS_membarrier, 1 << 3 /* PRIVATE_EXPEDITED */, 0, 0) == 0;
    long global = syscall(SYS_membarrier, 1 << 0 /* GLOBAL */, 0, 0);
    atomic_store(&mb_stop, 1);
    pthread_join(t, NULL);
    printf("register %ld, private expedited ok %d of 100, global %ld\n", reg, ok, global);
    return 0;
}

/* -- stop: SIGSTOP / SIGCONT / exit_group of threads on several CPUs ------------------------ */

static atomic_int go_exit;

static void *spinner(void *arg)
{
    (void)arg;
    for (;;) {
        sink++;
        if (atomic_load(&go_exit))
            exit(7);            /* exit_group from one thread ends them all */
    }
    return NULL;
}

static long long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')') + 2;
    long long utime = 0, stime = 0;
    /* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime */
    sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &utime, &stime);
    return utime + stime;
}

static void handle_usr1(int sig)
{
    (void)sig;
    atomic_store(&go_exit, 1);
}

static int stop_test(void)
{
    pid_t child = fork();
    if (child == 0) {
        signal(SIGUSR1, handle_usr1);
        pthread_t th[3];
        for (int i = 0; i < 3; i++)
            pthread_create(&th[i], NULL, spinner, NULL);
        spinner(NULL);
    }
    usleep(200000);
    kill(child, SIGSTOP);
    int status;
    waitpid(child, &status, WUNTRACED);
    printf("stopped %d\n", WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
    usleep(50000);
    long long a = cpu_ticks(child);
    usleep(300000);
    long long b = cpu_ticks(child);
    printf("cpu time while stopped: %s\n", b == a ? "unchanged" : "advanced");
    kill(child, SIGCONT);
    waitpid(child, &status, WCONTINUED);
    printf("continued %d\n", WIFCONTINUED(status));
    usleep(300000);
    long long c = cpu_ticks(child);
    printf("cpu time after SIGCONT: %s\n", c > b ? "advanced" : "unchanged");
    kill(child, SIGUSR1);
    waitpid(child, &status, 0);
    printf("exit_group status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
    return 0;
}

/* -- munmap while another thread reads ----------------------------------------------------- */

static volatile unsigned char *page;
static atomic_int reading;
static sigjmp_buf segv_jump;

static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(segv_jump, 1);
}

static void *reader(void *arg)
{
    (void)arg;
    signal(SIGSEGV, on_segv);
    if (sigsetjmp(segv_jump, 1)) {
        printf("reader: SIGSEGV\n");
        return NULL;
    }
    for (long i = 0;; i++) {
        unsigned char v = page[(i * 64) % 4096];
        if (v != 0x5a) {
            printf("reader: stale value %#x\n", v);
            return NULL;
        }
        if (i == 1000)
            atomic_store(&reading, 1);
    }
}

static int munmap_test(void)
{
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset((void *)page, 0x5a, 4096);
    pthread_t th;
    pthread_create(&th, NULL, reader, NULL);
    while (!atomic_load(&reading))
        ;
    usleep(20000);
    munmap((void *)page, 4096);
    /* Reuse frames at once (elsewhere: not at the address just unmapped): a frame the reader
     * could still reach would show other bytes. */
    for (int i = 0; i < 64; i++) {
        unsigned char *q = mmap((void *)(0x200000000UL + i * 4096UL), 4096, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (q != MAP_FAILED)
            memset(q, 0xa5, 4096);
    }
    pthread_join(th, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *mode = argc > 1 ? argv[1] : "cpus";
    if (!strcmp(mode, "cpus"))
        return cpus();
    if (!strcmp(mode, "spin") && argc > 3)
        return spin(atoi(argv[2]), atoi(argv[3]));
    if (!strcmp(mode, "counter") && argc > 3)
        return counter_test(atoi(argv[2]), atol(argv[3]));
    if (!strcmp(mode, "pin") && argc > 2)
        return pin(atoi(argv[2]));
    if (!strcmp(mode, "membarrier"))
        return membarrier_test();
    if (!strcmp(mode, "stop"))
        return stop_test();
    if (!strcmp(mode, "munmap"))
        return munmap_test();
    fprintf(stderr, "usage: smp cpus|spin MS N|counter T N|pin CPU|stop|munmap\n");
    return 2;
}
