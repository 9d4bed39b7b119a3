/* mremap(2) as Linux 6.1 does it: shrinking, growing in place, MREMAP_MAYMOVE moving the pages
 * (contents kept, the old range unmapped), MREMAP_FIXED over an existing mapping,
 * MREMAP_DONTUNMAP (old range stays mapped, empty), shared anonymous and file mappings, and
 * the EINVAL/EFAULT/ENOMEM cases. Prints facts, never addresses, so the output compares. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096L

static sigjmp_buf jb;

static volatile int armed;

static void on_segv(int sig)
{
    if (!armed) {
        printf("unexpected signal %d\n", sig);
        _exit(99);
    }
    armed = 0;
    siglongjmp(jb, sig);
}

/* 1 if reading p faults, else 0 */
static int faults(volatile char *p)
{
    if (sigsetjmp(jb, 1))
        return 1;
    armed = 1;
    (void)*p;
    armed = 0;
    return 0;
}

static void try(const char *what, void *r)
{
    if (r == MAP_FAILED)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: ok\n", what);
}

static char *anon(long len)
{
    return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void fill(char *p, long pages, char base)
{
    for (long i = 0; i < pages; i++)
        memset(p + i * PG, base + i, PG);
}

static int check(char *p, long pages, char base)
{
    for (long i = 0; i < pages; i++)
        for (long j = 0; j < PG; j += 512)
            if (p[i * PG + j] != (char)(base + i))
                return 0;
    return 1;
}

static void errors(void)
{
    char *p = anon(4 * PG);
    try("bad flags", mremap(p, PG, PG, 8));
    try("fixed without maymove", mremap(p, PG, 2 * PG, MREMAP_FIXED, p + 8 * PG));
    try("dontunmap without maymove", mremap(p, PG, PG, MREMAP_DONTUNMAP));
    try("dontunmap resize", mremap(p, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP));
    try("unaligned addr", mremap(p + 1, PG, PG, 0));
    try("zero new_len", mremap(p, PG, 0, 0));
    try("unmapped addr", mremap((char *)0x1000, PG, PG, 0));
    try("grow across vma end", mremap(p, 8 * PG, 9 * PG, MREMAP_MAYMOVE));
    try("zero old_len private", mremap(p, 0, PG, MREMAP_MAYMOVE));
    try("fixed unaligned target", mremap(p, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, p + 100));
    try("fixed overlapping", mremap(p, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, p + PG));
    try("fixed beyond user space", mremap(p, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)(1UL << 60)));
    try("same size", mremap(p, 4 * PG, 4 * PG, 0));
    try("same size, unaligned len", mremap(p, 4 * PG - 5, 4 * PG - 1, 0));
    munmap(p, 4 * PG);
    /* shrinking unmaps the whole tail, across a hole and into the next VMA */
    p = anon(16 * PG);
    munmap(p + 4 * PG, 4 * PG);
    try("shrink past vma end", mremap(p, 12 * PG, 2 * PG, 0));
    printf("after shrink: page 2 %s, page 11 %s, page 12 %s\n", faults(p + 2 * PG) ? "gone" : "mapped",
           faults(p + 11 * PG) ? "gone" : "mapped", faults(p + 12 * PG) ? "gone" : "mapped");
    munmap(p, 16 * PG);
}

static void grow_and_move(void)
{
    /* grow in place into free space */
    char *p = anon(8 * PG);
    munmap(p + 4 * PG, 4 * PG);
    fill(p, 4, 'a');
    char *q = mremap(p, 4 * PG, 8 * PG, 0);
    printf("grow in place: %s, same address %d, kept %d, new page zero %d\n", q == MAP_FAILED ? "fail" : "ok",
           q == p, check(p, 4, 'a'), p[6 * PG] == 0);

    /* blocked above: no MAYMOVE is ENOMEM, MAYMOVE moves */
    char *block = mmap(p + 8 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("blocker placed: %d\n", block == p + 8 * PG);
    try("grow blocked, no maymove", mremap(p, 8 * PG, 12 * PG, 0));
    q = mremap(p, 8 * PG, 12 * PG, MREMAP_MAYMOVE);
    printf("grow by moving: moved %d, kept %d, tail zero %d, old gone %d\n", q != p && q != MAP_FAILED,
           check(q, 4, 'a'), q[11 * PG] == 0 && q[11 * PG + PG - 1] == 0, faults(p));
    /* grow only part of a VMA: must move (old_len is not up to the VMA's end) */
    char *r = mremap(q, 2 * PG, 3 * PG, MREMAP_MAYMOVE);
    printf("grow a head: moved %d, kept %d, rest stays %d\n", r != q, check(r, 2, 'a'), check(q + 2 * PG, 2, 'c'));
    munmap(r, 3 * PG);
    munmap(q, 12 * PG);
    munmap(block, PG);

    /* MREMAP_FIXED replaces what is at the target */
    char *src = anon(2 * PG), *dst = anon(4 * PG);
    fill(src, 2, 'k');
    fill(dst, 4, 'x');
    q = mremap(src, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst + PG);
    printf("fixed: at target %d, kept %d, neighbours %d %d, src gone %d\n", q == dst + PG, check(q, 2, 'k'),
           dst[0] == 'x', dst[3 * PG] == 'x' + 3, faults(src));
    /* FIXED with a shrink */
    q = mremap(dst, 4 * PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, src);
    printf("fixed shrink: at target %d, kept %d, rest gone %d\n", q == src, q[0] == 'x', faults(dst + PG));
    munmap(src, PG);

    /* write after a move: the pages are still private and writable */
    p = anon(2 * PG);
    fill(p, 2, 'm');
    q = mremap(p, 2 * PG, 64 * PG, MREMAP_MAYMOVE);
    q[0] = 'z';
    q[63 * PG] = 'y';
    printf("moved then written: %c %c %c\n", q[0], q[PG], q[63 * PG]);
    munmap(q, 64 * PG);
}

static void dontunmap(void)
{
    char *p = anon(2 * PG);
    fill(p, 2, 'd');
    char *q = mremap(p, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    printf("dontunmap private: moved %d, kept %d, old mapped %d, old zero %d\n", q != p && q != MAP_FAILED,
           check(q, 2, 'd'), !faults(p), p[0] == 0 && p[PG] == 0);
    p[0] = 'w';
    printf("old writable again: %c, new unchanged %c\n", p[0], q[0]);
    munmap(p, 2 * PG);
    munmap(q, 2 * PG);

    /* shared anonymous: the old range refaults the shared pages */
    p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    fill(p, 2, 's');
    q = mremap(p, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    if (q == MAP_FAILED) {
        printf("dontunmap shared: %s\n", strerrorname_np(errno));
    } else {
        printf("dontunmap shared: kept %d, old sees %c\n", check(q, 2, 's'), p[0]);
        q[0] = 'Q';
        printf("shared after write: old sees %c\n", p[0]);
        munmap(q, 2 * PG);
    }
    munmap(p, 2 * PG);
}

static void shared(void)
{
    /* a shared anonymous mapping moved in the parent is still shared with the child */
    char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    p[0] = 'a';
    char *q = mremap(p, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
    printf("shared anon grown: kept %c\n", q[0]);
    pid_t pid = fork();
    if (pid == 0) {
        q[0] = 'c';
        q[PG] = 'd';
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("shared anon after child: %c %c\n", q[0], q[PG]);
    munmap(q, 4 * PG);

    /* a shared file mapping moved: stores reach the file, offsets kept */
    char path[] = "/tmp/mm_remapXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        printf("mkstemp: %s\n", strerrorname_np(errno));
    unlink(path);
    char buf[3 * PG];
    for (int i = 0; i < 3; i++)
        memset(buf + i * PG, 'A' + i, PG);
    if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
        printf("write: short\n");
    p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    try("shared file mmap", p);
    q = mremap(p + PG, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, p + 16 * PG);
    try("shared file move", q);
    if (p == MAP_FAILED || q == MAP_FAILED)
        return;
    printf("file mapping moved: %c %c, head stays %c\n", q[0], q[PG], p[0]);
    q[PG + 1] = 'z';
    msync(q, 2 * PG, MS_SYNC);
    char c = 0;
    pread(fd, &c, 1, 2 * PG + 1);
    printf("file sees store: %c\n", c);
    q = mremap(q, 2 * PG, 4 * PG, 0);
    printf("file mapping grown past EOF: %s\n", q == MAP_FAILED ? strerrorname_np(errno) : "ok");
    /* duplicate a shared mapping with old_len 0 */
    p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    p[5] = 'A';
    char *dup = mremap(p, 0, PG, MREMAP_MAYMOVE);
    printf("duplicate: %s", dup == MAP_FAILED ? strerrorname_np(errno) : "ok");
    if (dup != MAP_FAILED) {
        dup[5] = 'D';
        printf(", original sees %c", p[5]);
    }
    printf("\n");
    munmap(p, 2 * PG);
    close(fd);

    /* a private file mapping moved keeps the file's bytes and copies on write */
    fd = open("/proc/self/exe", O_RDONLY);
    p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    q = mremap(p, 2 * PG, 8 * PG, MREMAP_MAYMOVE);
    printf("private file moved: %s, ELF %d\n", q == MAP_FAILED ? "fail" : "ok", memcmp(q + 1, "ELF", 3) == 0);
    q[1] = 'X';
    char hdr[4];
    pread(fd, hdr, 4, 0);
    printf("file unchanged: %d\n", memcmp(hdr + 1, "ELF", 3) == 0);
    close(fd);
}

int main(void)
{
    signal(SIGSEGV, on_segv);
    setvbuf(stdout, NULL, _IONBF, 0);
    errors();
    grow_and_move();
    dontunmap();
    shared();
    return 0;
}
