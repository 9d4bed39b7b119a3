/* Churn the memory manager: brk grow/shrink, many anonymous mmap/munmap of different
 * sizes (with partial unmaps that split mappings), and mprotect RW -> RO -> RW.
 * Every page is touched and verified; the checksums depend only on the data written,
 * not on addresses, so they are the same under any correct kernel. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096ul
#define SLOTS 8
#define ROUNDS 100

static int failures;

static void fail(const char *what, long detail)
{
    printf("memchurn FAILED: %s (%ld)\n", what, detail);
    failures++;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}

static unsigned char pat(size_t i, unsigned seed)
{
    return (unsigned char)(i * 31 + seed * 7 + (i >> 12));
}

static uint64_t phase_brk(void)
{
    uint64_t h = 0xcbf29ce484222325ull;
    char *base = sbrk(0);
    for (unsigned r = 0; r < 20; r++) {
        size_t n = (r + 1) * 12345ul + (r % 3) * PAGE * 16;
        char *p = sbrk(n);
        if (p == (void *)-1) {
            fail("sbrk grow", errno);
            return h;
        }
        for (size_t i = 0; i < n; i++)
            p[i] = pat(i, r);
        for (size_t i = 0; i < n; i++)
            if (p[i] != (char)pat(i, r)) {
                fail("brk data", i);
                break;
            }
        h = fnv(h, p, n);
        /* Shrink by half, keep the rest and check it survived. */
        if (sbrk(-(long)(n / 2)) == (void *)-1)
            fail("sbrk shrink", errno);
        h = fnv(h, p, n - n / 2);
        if (brk(base) != 0)
            fail("brk back to base", errno);
    }
    /* One large grow, touching every page; then back again. */
    size_t big = 8ul << 20;
    char *p = sbrk(big);
    if (p == (void *)-1) {
        fail("sbrk 8M", errno);
        return h;
    }
    for (size_t i = 0; i < big; i += PAGE)
        p[i] = pat(i, 99);
    for (size_t i = 0; i < big; i += PAGE) {
        if (p[i] != (char)pat(i, 99)) {
            fail("brk 8M data", i);
            break;
        }
        h = fnv(h, p + i, 1);
    }
    if (brk(base) != 0)
        fail("brk back to base", errno);
    if (sbrk(0) != base)
        fail("brk end differs from start", (long)((char *)sbrk(0) - base));
    return h;
}

struct slot {
    char *p;
    size_t len;
    unsigned seed;
    size_t hole;       /* page index unmapped in the middle, or 0 for none */
};

static uint64_t check_slot(uint64_t h, struct slot *s)
{
    size_t pages = s->len / PAGE;
    for (size_t pg = 0; pg < pages; pg++) {
        if (s->hole && pg == s->hole)
            continue;
        char *q = s->p + pg * PAGE;
        if (q[0] != (char)pat(pg, s->seed) || q[PAGE - 1] != (char)pat(pg + 1, s->seed)) {
            fail("mmap data", (long)pg);
            return h;
        }
        h = fnv(h, q, 1);
        h = fnv(h, q + PAGE - 1, 1);
    }
    return h;
}

static void unmap_slot(struct slot *s)
{
    if (!s->p)
        return;
    if (s->hole) {
        /* Two pieces remain around the hole. */
        if (munmap(s->p, s->hole * PAGE) != 0)
            fail("munmap low piece", errno);
        if (munmap(s->p + (s->hole + 1) * PAGE, s->len - (s->hole + 1) * PAGE) != 0)
            fail("munmap high piece", errno);
    } else if (munmap(s->p, s->len) != 0) {
        fail("munmap", errno);
    }
    s->p = NULL;
}

static uint64_t phase_mmap(void)
{
    static const size_t sizes[] = {
        PAGE, 2 * PAGE, 5 * PAGE, 64 << 10, 256 << 10, 1 << 20, (2 << 20) + PAGE, 3 * PAGE,
    };
    struct slot slots[SLOTS] = {0};
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned r = 0; r < ROUNDS; r++) {
        struct slot *s = &slots[(r * 5) % SLOTS];
        if (s->p) {
            h = check_slot(h, s);
            unmap_slot(s);
        }
        size_t len = sizes[(r * 3 + r / SLOTS) % (sizeof sizes / sizeof sizes[0])];
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            fail("mmap", errno);
            continue;
        }
        size_t pages = len / PAGE;
        /* Fresh anonymous memory reads as zero, on every page. */
        for (size_t pg = 0; pg < pages; pg++)
            if (p[pg * PAGE] != 0 || p[pg * PAGE + PAGE - 1] != 0) {
                fail("mmap not zeroed", (long)pg);
                break;
            }
        for (size_t pg = 0; pg < pages; pg++) {
            p[pg * PAGE] = pat(pg, r);
            p[pg * PAGE + PAGE - 1] = pat(pg + 1, r);
        }
        *s = (struct slot){ p, len, r, 0 };
        /* Every third multi-page mapping loses a page in the middle: a VMA split. */
        if (pages >= 3 && r % 3 == 0) {
            s->hole = pages / 2;
            if (munmap(p + s->hole * PAGE, PAGE) != 0)
                fail("munmap middle page", errno);
        }
        h = check_slot(h, s);
    }
    for (unsigned i = 0; i < SLOTS; i++) {
        if (slots[i].p)
            h = check_slot(h, &slots[i]);
        unmap_slot(&slots[i]);
    }
    return h;
}

static uint64_t phase_mprotect(void)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t len = 4 * PAGE;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fail("mmap for mprotect", errno);
        return h;
    }
    for (size_t i = 0; i < len; i++)
        p[i] = pat(i, 42);
    if (mprotect(p, len, PROT_READ) != 0)
        fail("mprotect PROT_READ", errno);
    h = fnv(h, p, len);                  /* reads still work */
    if (mprotect(p + PAGE, PAGE, PROT_READ | PROT_WRITE) != 0)   /* split: RO RW RO RO */
        fail("mprotect one page RW", errno);
    p[PAGE] = 'x';
    if (mprotect(p, len, PROT_READ | PROT_WRITE) != 0)
        fail("mprotect back to RW", errno);
    for (size_t i = 0; i < len; i += 512)
        p[i] ^= 0x5a;
    h = fnv(h, p, len);
    if (munmap(p, len) != 0)
        fail("munmap after mprotect", errno);
    return h;
}

int main(void)
{
    uint64_t b = phase_brk();
    printf("brk checksum=%016llx\n", (unsigned long long)b);
    uint64_t m = phase_mmap();
    printf("mmap checksum=%016llx\n", (unsigned long long)m);
    uint64_t p = phase_mprotect();
    printf("mprotect checksum=%016llx\n", (unsigned long long)p);
    if (failures) {
        printf("memchurn FAILED (%d failures)\n", failures);
        return 1;
    }
    printf("memchurn ok\n");
    return 0;
}
