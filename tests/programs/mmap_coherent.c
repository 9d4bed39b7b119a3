/* One page cache for everyone: a file's pages are the same memory for every MAP_SHARED
 * mapping (in this process, a forked child and an exec'd one), for read(2)/write(2), and
 * for MAP_PRIVATE mappings until they write; ftruncate drops what lies past the end;
 * shared futexes in a file mapping and in MAP_SHARED|MAP_ANONYMOUS memory meet across
 * processes. Nothing is msync'ed unless the output says so.
 *   mmap_coherent [DIR]    works in DIR (default /tmp); leaves DIR/coherent behind for
 *                          the caller to check on disk (it is fsync'ed at the end). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096

static long futex(uint32_t *w, int op, uint32_t val, const struct timespec *t)
{
    return syscall(SYS_futex, w, op, val, t, NULL, 0);
}

/* Sleep on a shared futex (the word stays 0) until woken: 0, or 1 if that did not happen. */
static int wait_shared(uint32_t *w)
{
    struct timespec t = { 10, 0 };
    return futex(w, FUTEX_WAIT, 0, &t) == 0 ? 0 : 1;
}

/* Once the waiter has announced itself in *ready, wake until one sleeper was woken (it may
 * not be asleep yet on the first tries); how many were. */
static long wake_shared(uint32_t *w, volatile uint32_t *ready)
{
    while (!*ready)
        usleep(1000);
    long woken = 0;
    for (int i = 0; i < 5000 && woken == 0; i++) {
        woken = futex(w, FUTEX_WAKE, 1, NULL);
        if (!woken)
            usleep(1000);
    }
    return woken;
}

static sigjmp_buf on_fault;

static void fault_handler(int sig)
{
    siglongjmp(on_fault, sig);
}

/* Touch *p: which signal that raises, if any. */
static const char *touch(volatile char *p)
{
    struct sigaction sa = { .sa_handler = fault_handler };
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    int sig = sigsetjmp(on_fault, 1);
    if (sig == 0)
        (void)*p;
    signal(SIGBUS, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    return sig == 0 ? "none" : sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : "other";
}

static void show(const char *what, const char *p, size_t n)
{
    printf("%-44s \"", what);
    for (size_t i = 0; i < n; i++)
        putchar(p[i] >= 32 && p[i] < 127 ? p[i] : '.');
    printf("\"\n");
}

static void file_shows(int fd, const char *what, off_t off, size_t n)
{
    char buf[64] = {0};
    ssize_t r = pread(fd, buf, n, off);
    show(what, buf, r < 0 ? 0 : (size_t)r);
}

/* The exec'd child: map the file, store through the mapping, write(2) next to it, tell
 * the parent, then wait on the futex in the file for the parent to let it go. */
static int child(const char *path, int to_parent)
{
    int fd = open(path, O_RDWR);
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd < 0 || p == MAP_FAILED)
        return 2;
    memcpy(p + 100, "child-store", 11);
    if (pwrite(fd, "child-write", 11, 200) != 11)
        return 2;
    char seen[16] = {0};
    memcpy(seen, p + 300, 12);              /* the parent's store before the exec */
    write(to_parent, seen, 12);
    uint32_t *word = (uint32_t *)(p + PG + 64), *ready = word + 1;
    __atomic_store_n(ready, 1, __ATOMIC_RELEASE);
    return wait_shared(word) ? 3 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return child(argv[2], 1);
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[256];
    snprintf(path, sizeof path, "%s/coherent", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char init[2 * PG];
    memset(init, '.', sizeof init);
    if (fd < 0 || write(fd, init, sizeof init) != sizeof init) {
        perror("create");
        return 2;
    }
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *q = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *priv = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED || q == MAP_FAILED || priv == MAP_FAILED) {
        perror("mmap");
        return 2;
    }

    /* In one process: two mappings, read(2), write(2). */
    memcpy(p + 10, "store-p", 7);
    show("second mapping sees the first's store:", q + 10, 7);
    file_shows(fd, "read(2) sees it without msync:", 10, 7);
    pwrite(fd, "pwrite", 6, 20);
    show("both mappings see a pwrite:", p + 20, 6);
    show("", q + 20, 6);
    show("untouched private page sees it too:", priv + 20, 6);
    priv[0] = 'X';                              /* copy-on-write from here on */
    pwrite(fd, "later", 5, 30);
    show("private page after its own store:", priv, 1);
    show("and misses later writes:", priv + 30, 5);
    show("the other private page still follows:", priv + PG + 30, 5);
    pwrite(fd, "page2", 5, PG + 30);
    show("", priv + PG + 30, 5);
    file_shows(fd, "private stores stay private:", 0, 1);

    /* An exec'd child maps the file itself, stores and writes; we see both while it
     * still runs (nothing is written back at its exit yet). */
    memcpy(p + 300, "before-exec", 11);
    memset(p + PG + 64, 0, 8);                  /* the futex word and the child's ready flag */
    int up[2];
    pipe(up);
    pid_t c = fork();
    if (c == 0) {
        dup2(up[1], 1);
        execl(argv[0], argv[0], "--child", path, (char *)NULL);
        _exit(127);
    }
    close(up[1]);
    char seen[16] = {0};
    read(up[0], seen, 12);
    show("exec'd child saw the parent's store:", seen, 11);
    show("parent sees the child's store:", p + 100, 11);
    show("parent sees the child's write(2):", q + 200, 11);
    file_shows(fd, "and read(2) does:", 100, 11);
    uint32_t *word = (uint32_t *)(p + PG + 64);
    printf("%-44s %ld\n", "futex in the file wakes the exec'd child:", wake_shared(word, word + 1));
    int status;
    waitpid(c, &status, 0);
    printf("%-44s %d\n", "child exit status:", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

    /* A forked child waits on a futex in MAP_SHARED|MAP_ANONYMOUS memory. */
    uint32_t *anon = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    c = fork();
    if (c == 0) {
        __atomic_store_n(anon + 1, 1, __ATOMIC_RELEASE);
        _exit(wait_shared(anon) ? 3 : 0);
    }
    printf("%-44s %ld\n", "futex in shared anonymous memory wakes:", wake_shared(anon, anon + 1));
    waitpid(c, &status, 0);
    printf("%-44s %d\n", "child exit status:", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

    /* ftruncate: shrinking drops the tail; growing again shows zeros, not old bytes. */
    memcpy(p + PG + 100, "tail", 4);
    ftruncate(fd, PG + 102);
    ftruncate(fd, 2 * PG);
    show("after shrink and regrow, the mapping:", p + PG + 100, 4);
    file_shows(fd, "and the file:", PG + 100, 4);
    ftruncate(fd, PG);
    printf("%-44s %s\n", "touching a page past the end:", touch(p + PG));
    printf("%-44s %s\n", "and inside the last page:", touch(p + PG - 1));
    int pp[2];
    pipe(pp);
    errno = 0;
    printf("%-44s %zd %s\n", "write(2) to a pipe from past the end:", write(pp[1], p + PG, 4), strerror(errno));
    close(pp[0]);
    close(pp[1]);
    ftruncate(fd, 2 * PG);
    printf("%-44s %s\n", "after growing again:", touch(p + PG));
    pwrite(fd, "regrown", 7, PG + 200);
    show("a write after regrowing shows:", q + PG + 200, 7);
    struct stat st;
    fstat(fd, &st);
    printf("%-44s %lld\n", "size:", (long long)st.st_size);

    /* Stores reach the disk at fsync. */
    memcpy(p + 400, "synced", 6);
    printf("%-44s %s\n", "fsync:", fsync(fd) == 0 ? "ok" : strerror(errno));
    msync(p, 2 * PG, MS_SYNC);
    munmap(p, 2 * PG);
    munmap(q, 2 * PG);
    munmap(priv, 2 * PG);
    close(fd);
    fd = open(path, O_RDONLY);
    file_shows(fd, "reopened:", 0, 40);
    file_shows(fd, "", 100, 20);
    file_shows(fd, "", 200, 11);
    file_shows(fd, "", 300, 11);
    file_shows(fd, "", 400, 6);
    close(fd);

    /* A file unlinked and closed while mapped keeps its data for the mapping, even when a
     * new file is written right after (and could get its blocks). */
    char gone[300], big[3 * PG];
    snprintf(gone, sizeof gone, "%s/unlinked", dir);
    int u = open(gone, O_RDWR | O_CREAT | O_TRUNC, 0600);
    memset(big, 'u', sizeof big);
    write(u, big, sizeof big);
    char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, u, 0);
    close(u);
    unlink(gone);
    u = open(gone, O_RDWR | O_CREAT | O_TRUNC, 0600);
    memset(big, 'n', sizeof big);
    write(u, big, sizeof big);
    close(u);
    show("an unlinked, closed mapped file still has:", m + 2 * PG + 5, 4);
    memcpy(m + PG, "kept", 4);
    show("and takes stores:", m + PG, 4);
    munmap(m, 3 * PG);
    u = open(gone, O_RDONLY);
    file_shows(u, "the new file is its own:", PG, 4);
    close(u);
    unlink(gone);
    if (argc <= 1)
        unlink(path);
    return 0;
}
