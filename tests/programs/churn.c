/* churn DIR SEED [OPS]: a file-churn workload for the kill -9 crash test (test_ext4_crash.py).
 *
 * Creates, appends to, renames and unlinks files in DIR (and makes and removes
 * directories, and writes files it never syncs), OPS operations or forever. It reports on
 * stdout, one whole line per write(2):
 *   "X name"            before an operation that changes file `name` starts;
 *   "W name len seed"   after fsync of the file (or its O_SYNC/O_DSYNC writes) and of DIR
 *                       for a new name returned:
 *                       `name` now holds len bytes of pattern(seed) durably.
 * A crash checker keeps, for each name, its last W unless an X came after it: those files
 * must have exactly their content after recovery. A run first removes what DIR holds. Byte i of pattern(seed) is
 * (seed * 7 + i * 13 + (i >> 8)) & 0xff, so an append continues the same pattern. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILES 48

struct file { char name[32]; long len; unsigned seed; int live; };

static struct file files[MAX_FILES];
static int dirfd_;
static unsigned long long rng;
static unsigned counter;

static unsigned rnd(unsigned n)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng >> 33) % n;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void say(const char *fmt, ...)
{
    char line[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (write(1, line, n) != n)
        _exit(3);
}

static void die(const char *what)
{
    say("FAIL %s: %s\n", what, strerror(errno));
    _exit(1);
}

static void fill(unsigned seed, long from, long n, unsigned char *buf)
{
    for (long k = 0; k < n; k++) {
        long i = from + k;
        buf[k] = (unsigned char)((seed * 7 + i * 13 + (i >> 8)) & 0xff);
    }
}

static unsigned char buf[65536];

static void write_pattern(int fd, unsigned seed, long from, long n)
{
    while (n > 0) {
        long chunk = n > (long)sizeof buf ? (long)sizeof buf : n;
        fill(seed, from, chunk, buf);
        if (write(fd, buf, chunk) != chunk)
            die("write");
        from += chunk;
        n -= chunk;
    }
}

static int free_slot(void)
{
    for (int i = 0; i < MAX_FILES; i++)
        if (!files[i].live)
            return i;
    return -1;
}

static int live_slot(void)
{
    int start = rnd(MAX_FILES);
    for (int k = 0; k < MAX_FILES; k++) {
        int i = (start + k) % MAX_FILES;
        if (files[i].live)
            return i;
    }
    return -1;
}

static void create(void)
{
    int s = free_slot();
    if (s < 0)
        return;
    struct file *f = &files[s];
    snprintf(f->name, sizeof f->name, "f%u", counter++);
    f->seed = rnd(1000000);
    f->len = rnd(4) == 0 ? rnd(200000) : rnd(6000);
    say("X %s\n", f->name);
    int osync = rnd(4) == 0 ? (rnd(2) ? O_SYNC : O_DSYNC) : 0;   /* then each write is durable */
    int fd = openat(dirfd_, f->name, O_CREAT | O_WRONLY | O_TRUNC | osync, 0644);
    if (fd < 0)
        die("open");
    write_pattern(fd, f->seed, 0, f->len);
    if (!osync && fsync(fd) < 0)
        die("fsync");
    close(fd);
    if (fsync(dirfd_) < 0)
        die("fsync dir");
    f->live = 1;
    say("W %s %ld %u\n", f->name, f->len, f->seed);
}

static void append(void)
{
    int s = live_slot();
    if (s < 0)
        return;
    struct file *f = &files[s];
    long more = rnd(10000);
    say("X %s\n", f->name);
    int fd = openat(dirfd_, f->name, O_WRONLY | O_APPEND);
    if (fd < 0)
        die("open append");
    write_pattern(fd, f->seed, f->len, more);
    f->len += more;
    if (rnd(2) ? fdatasync(fd) < 0 : fsync(fd) < 0)
        die("fsync append");
    close(fd);
    say("W %s %ld %u\n", f->name, f->len, f->seed);
}

static void rename_one(void)
{
    int s = live_slot();
    if (s < 0)
        return;
    struct file *f = &files[s];
    char to[32];
    snprintf(to, sizeof to, "f%u", counter++);
    say("X %s\nX %s\n", f->name, to);
    if (renameat(dirfd_, f->name, dirfd_, to) < 0)
        die("rename");
    if (fsync(dirfd_) < 0)
        die("fsync dir");
    strcpy(f->name, to);
    say("W %s %ld %u\n", f->name, f->len, f->seed);
}

static void remove_one(void)
{
    int s = live_slot();
    if (s < 0)
        return;
    struct file *f = &files[s];
    say("X %s\n", f->name);
    if (unlinkat(dirfd_, f->name, 0) < 0)
        die("unlink");
    f->live = 0;
    if (rnd(2) == 0)
        sync();
}

static void noise(void)
{
    /* Changes never synced: a directory made and removed, a scratch file rewritten. */
    char d[32];
    snprintf(d, sizeof d, "d%u", rnd(8));
    if (mkdirat(dirfd_, d, 0755) < 0 && errno != EEXIST)
        die("mkdir");
    int fd = openat(dirfd_, "scratch", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        die("open scratch");
    write_pattern(fd, 1, 0, rnd(30000));
    close(fd);
    if (rnd(2) && unlinkat(dirfd_, d, AT_REMOVEDIR) < 0)
        die("rmdir");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: churn DIR SEED [OPS]\n");
        return 2;
    }
    rng = strtoull(argv[2], NULL, 0) + 1;
    long ops = argc > 3 ? atol(argv[3]) : -1;
    mkdir(argv[1], 0755);
    dirfd_ = open(argv[1], O_RDONLY | O_DIRECTORY);
    if (dirfd_ < 0)
        die("open dir");
    /* An earlier run's files (checked by then) go first, announced, so the disk never fills. */
    for (int found = 1; found;) {
        DIR *dir = fdopendir(dup(dirfd_));
        struct dirent *e;
        found = 0;
        while (dir && (e = readdir(dir)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            say("X %s\n", e->d_name);
            if (unlinkat(dirfd_, e->d_name, 0) < 0 && unlinkat(dirfd_, e->d_name, AT_REMOVEDIR) < 0)
                die("clean up");
            found = 1;
        }
        if (dir)
            closedir(dir);
    }
    counter = (unsigned)rnd(1000000) * 1000;
    say("START\n");
    for (long n = 0; ops < 0 || n < ops; n++) {
        unsigned r = rnd(100);
        if (r < 35)
            create();
        else if (r < 60)
            append();
        else if (r < 72)
            rename_one();
        else if (r < 87)
            remove_one();
        else
            noise();
    }
    say("DONE\n");
    return 0;
}
