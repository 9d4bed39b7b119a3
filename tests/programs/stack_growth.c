/* The stack grows down on a fault below it, as Linux's does: within RLIMIT_STACK (8 MiB, or
 * less after setrlimit), keeping the stack guard gap (1 MiB) from a mapping below, also when
 * the kernel writes into a stack buffer the program never touched; far below is SIGSEGV.
 * Each probe runs in a child; prints the signal that killed it (0: none). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define KiB 1024L
#define MiB (1024L * 1024)

static long vm_stk_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmStk: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static unsigned long stack_start(void)
{
    char line[256];
    unsigned long lo = 0, hi;
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "[stack]"))
            sscanf(line, "%lx-%lx", &lo, &hi);
    if (f)
        fclose(f);
    return lo;
}

static int killed_by(pid_t pid)
{
    int st;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

/* Store one byte `bytes` below this frame, in a child. */
static __attribute__((noinline)) int touch_below(long bytes)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        volatile char *sp = __builtin_frame_address(0);
        sp[-bytes] = 1;
        _exit(0);
    }
    return killed_by(pid);
}

static __attribute__((noinline)) long deep(int n)
{
    volatile char pad[1000];
    pad[0] = n;
    if (!n)
        return 0;
    long below = deep(n - 1);           /* not a tail call: pad is read after it returns */
    return below + pad[0];
}

/* read(2) into a 3 MiB stack array the program never touched: the kernel's copy grows the stack. */
static __attribute__((noinline)) long read_into_fresh_stack(void)
{
    char big[3 * MiB];
    int fd = open("/proc/self/cmdline", O_RDONLY);
    long n = read(fd, big, 8);
    close(fd);
    return n == 8 && big[0] == '/' ? n : -1;
}

int main(void)
{
    long before = vm_stk_kb();
    printf("VmStk at start below 200 kB: %s\n", before < 200 ? "yes" : "no");
    printf("touch 100 KiB below: signal %d\n", touch_below(100 * KiB));
    printf("touch 1 MiB below: signal %d\n", touch_below(1 * MiB));
    printf("touch 6 MiB below: signal %d\n", touch_below(6 * MiB));
    printf("touch 9 MiB below: signal %d\n", touch_below(9 * MiB));
    printf("touch 64 MiB below: signal %d\n", touch_below(64 * MiB));
    deep(2000);
    printf("after 2000 KiB of recursion VmStk is at least 1900 kB: %s\n", vm_stk_kb() >= 1900 ? "yes" : "no");
    printf("read into a fresh 3 MiB stack array: %ld\n", read_into_fresh_stack());

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {6 * MiB, RLIM_INFINITY};
        setrlimit(RLIMIT_STACK, &rl);
        printf("RLIMIT_STACK 6 MiB, touch 512 KiB below the stack: signal %d\n",
               touch_below(512 * KiB + (long)(__builtin_frame_address(0) - (void *)stack_start())));
        printf("RLIMIT_STACK 6 MiB, touch 7 MiB below: signal %d\n", touch_below(7 * MiB));
        fflush(stdout);
        _exit(0);
    }
    killed_by(pid);

    pid = fork();
    if (pid == 0) {
        unsigned long lo = stack_start();
        void *want = (void *)(lo - 2 * MiB);
        void *m = mmap(want, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        printf("a page mapped 2 MiB below the stack: %s\n", m == want ? "yes" : "no");
        volatile char *s = (char *)lo;
        fflush(stdout);
        pid_t q = fork();
        if (q == 0) {
            s[-1 * MiB] = 1;            /* would leave 1 MiB - 4 KiB to that page */
            _exit(0);
        }
        printf("grow to less than the guard gap above it: signal %d\n", killed_by(q));
        fflush(stdout);
        q = fork();
        if (q == 0) {
            s[-1 * MiB + 8192] = 1;     /* leaves 1 MiB + 4 KiB */
            _exit(0);
        }
        printf("grow to more than the guard gap above it: signal %d\n", killed_by(q));
        fflush(stdout);
        _exit(0);
    }
    killed_by(pid);
    return 0;
}
