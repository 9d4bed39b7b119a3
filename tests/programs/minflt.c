/* Page faults counted as Linux counts them: ru_minflt/ru_majflt of getrusage (SELF, THREAD,
 * CHILDREN), wait4's rusage, /proc/PID/stat minflt/cminflt/majflt (fields 10-13) and
 * /proc/PID/task/TID/stat. One minor fault per anonymous page touched (THP off for the
 * buffer), one per 16-page fault-around window of a cached file, one per copy-on-write page
 * after fork. Prints categories both kernels fall into, never exact counts. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096L

static long minflt(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return ru.ru_minflt;
}

static long majflt(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return ru.ru_majflt;
}

/* fields 10..13 of a stat file: minflt cminflt majflt cmajflt */
static void stat_faults(const char *path, long f[4])
{
    char buf[1024];
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char *p = strrchr(buf, ')') + 2;        /* field 3 */
    for (int field = 3; field < 10; field++)
        p = strchr(p, ' ') + 1;
    sscanf(p, "%ld %ld %ld %ld", &f[0], &f[1], &f[2], &f[3]);
}

static char *fresh(long bytes)
{
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    madvise(p, bytes, MADV_NOHUGEPAGE);     /* a page per fault, as without THP */
    return p;
}

static void touch(char *p, long bytes)
{
    for (long off = 0; off < bytes; off += PAGE)
        p[off] = 1;
}

static const char *range(long d, long lo, long hi)
{
    static char out[64];
    if (d < lo)
        snprintf(out, sizeof out, "< %ld", lo);
    else if (d >= hi)
        snprintf(out, sizeof out, ">= %ld", hi);
    else
        snprintf(out, sizeof out, ">= %ld and < %ld", lo, hi);
    return out;
}

static long thread_delta;

static void *toucher(void *arg)
{
    (void)arg;
    char *p = fresh(1 << 20);
    long before = minflt(RUSAGE_THREAD);
    touch(p, 1 << 20);
    thread_delta = minflt(RUSAGE_THREAD) - before;
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    long s[4], t[4];

    /* 16 MiB of fresh anonymous memory: 4096 pages, a fault each */
    char *big = fresh(16 << 20);
    long before = minflt(RUSAGE_SELF);
    touch(big, 16 << 20);
    printf("anon 16 MiB: minflt %s\n", range(minflt(RUSAGE_SELF) - before, 4096, 4400));
    munmap(big, 16 << 20);

    /* a cached file read through a mapping: 256 pages, one fault per 16 */
    char path[] = "/tmp/minflt.XXXXXX";
    int fd = mkstemp(path);
    char *data = malloc(1 << 20);
    memset(data, 'f', 1 << 20);
    if (write(fd, data, 1 << 20) != 1 << 20)
        return 1;
    char *map = mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE, fd, 0);
    volatile long sum = 0;
    before = minflt(RUSAGE_SELF);
    for (long off = 0; off < 1 << 20; off += PAGE)
        sum += map[off];
    printf("file 1 MiB by mmap: minflt %s\n", range(minflt(RUSAGE_SELF) - before, 16, 48));

    /* read(2) into fresh memory: the kernel's copy faults each page in */
    char *buf = fresh(1 << 20);
    before = minflt(RUSAGE_SELF);
    if (pread(fd, buf, 1 << 20, 0) != 1 << 20)
        return 1;
    printf("read 1 MiB into fresh memory: minflt %s\n", range(minflt(RUSAGE_SELF) - before, 256, 300));
    munmap(map, 1 << 20);
    close(fd);
    unlink(path);

    /* a thread's faults are its own (RUSAGE_THREAD) and the process's */
    long self_before = minflt(RUSAGE_SELF), main_before = minflt(RUSAGE_THREAD);
    pthread_t th;
    pthread_create(&th, NULL, toucher, NULL);
    pthread_join(th, NULL);
    printf("thread touching 1 MiB: its minflt %s\n", range(thread_delta, 256, 300));
    printf("main thread meanwhile: %s\n", range(minflt(RUSAGE_THREAD) - main_before, 0, 64));
    printf("process meanwhile: %s\n", range(minflt(RUSAGE_SELF) - self_before, 256, 400));

    /* fork: the child's writes to 4 MiB written before are copy-on-write faults */
    char *cow = fresh(4 << 20);
    touch(cow, 4 << 20);
    pid_t pid = fork();
    if (pid == 0) {
        long start = minflt(RUSAGE_SELF);
        printf("child starts at: %s\n", range(start, 0, 200));
        touch(cow, 4 << 20);
        printf("child after writing 4 MiB: %s\n", range(minflt(RUSAGE_SELF) - start, 1024, 1200));
        _exit(0);
    }
    struct rusage ru;
    int status;
    wait4(pid, &status, 0, &ru);
    printf("wait4 rusage minflt: %s\n", range(ru.ru_minflt, 1024, 1400));
    long children = minflt(RUSAGE_CHILDREN);
    printf("RUSAGE_CHILDREN minflt: %s, same as wait4's: %s\n", range(children, 1024, 1400),
           children == ru.ru_minflt ? "yes" : "no");

    stat_faults("/proc/self/stat", s);
    long self_now = minflt(RUSAGE_SELF);
    printf("stat minflt: %s of getrusage's\n", range(self_now - s[0], 0, 32));
    printf("stat cminflt: %s\n", s[1] == children ? "RUSAGE_CHILDREN's" : "other");
    char tpath[64];
    snprintf(tpath, sizeof tpath, "/proc/self/task/%ld/stat", (long)syscall(SYS_gettid));
    stat_faults(tpath, t);
    long thread_now = minflt(RUSAGE_THREAD);
    printf("task stat minflt: %s of RUSAGE_THREAD's\n", range(thread_now - t[0], 0, 32));
    printf("task stat below process stat: %s\n", t[0] < s[0] ? "yes" : "no");
    printf("majflt: self %ld children %ld stat %ld %ld\n", majflt(RUSAGE_SELF), majflt(RUSAGE_CHILDREN),
           s[2], s[3]);
    return 0;
}
