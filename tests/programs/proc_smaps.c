/* /proc/self/smaps, smaps_rollup and pagemap for mappings whose state the program knows
 * (pages touched, shared with a forked child, locked, a file's pages), compared with Linux.
 * Only the lines and bits that depend on the program itself are printed. Every page of a
 * mapping is touched, or none: how many neighbours a fault maps is the kernel's choice. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

#define PAGE 4096
static const char *KEYS[] = {"Size:", "Rss:", "Pss:", "Pss_Dirty:", "Shared_Clean:", "Shared_Dirty:",
                             "Private_Clean:", "Private_Dirty:", "Referenced:", "Anonymous:", "Swap:",
                             "Locked:", "VmFlags:", NULL};

/* The smaps block of the VMA that starts at addr: the lines of KEYS. */
static void smaps(const char *what, void *addr)
{
    char line[512], head[32];
    FILE *f = fopen("/proc/self/smaps", "r");
    int in = 0;
    snprintf(head, sizeof head, "%lx-", (unsigned long)addr);
    printf("-- %s\n", what);
    while (fgets(line, sizeof line, f)) {
        if (strchr(line, '-') && strncmp(line, head, strlen(head)) == 0) {
            in = 1;
            continue;
        }
        if (!in)
            continue;
        for (const char **k = KEYS; *k; k++)
            if (strncmp(line, *k, strlen(*k)) == 0)
                fputs(line, stdout);
        if (strncmp(line, "VmFlags:", 8) == 0)
            break;
    }
    fclose(f);
}

/* pagemap bits of n pages from addr: present, swapped, file, exclusive, soft-dirty, and
 * whether a frame number is shown. */
static void pagemap(const char *what, char *addr, int n)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    printf("-- pagemap %s:", what);
    for (int i = 0; i < n; i++) {
        uint64_t e = 0;
        pread(fd, &e, 8, (uintptr_t)(addr + i * PAGE) / PAGE * 8);
        printf(" %c%c%c%c%c%c", e >> 63 & 1 ? 'p' : '-', e >> 62 & 1 ? 's' : '-', e >> 61 & 1 ? 'f' : '-',
               e >> 56 & 1 ? 'x' : '-', e >> 55 & 1 ? 'd' : '-', e & ((1ULL << 55) - 1) ? 'N' : '0');
    }
    printf("\n");
    close(fd);
}

int main(void)
{
    char *a = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *none = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(a + 4 * PAGE, PAGE);          /* a hole after it */
    smaps("anon 4 pages, none touched", none);
    pagemap("untouched", none, 2);
    for (int i = 0; i < 4; i++)
        a[i * PAGE] = 1;
    smaps("anon 4 pages written", a);
    pagemap("anon and the hole", a, 5);

    /* a partial or misaligned read of pagemap */
    int fd = open("/proc/self/pagemap", O_RDONLY);
    char buf[16];
    printf("pagemap read 7: %s\n", err(pread(fd, buf, 7, 0)));
    printf("pagemap read at 4: %s\n", err(pread(fd, buf, 8, 4)));
    printf("pagemap read past the end: %ld\n", (long)pread(fd, buf, 8, 1ULL << 40));
    close(fd);

    /* after fork the written pages are shared copy-on-write until one side writes */
    int go[2];
    pipe(go);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(go[0], &c, 1);
        _exit(0);
    }
    smaps("after fork", a);
    pagemap("after fork", a, 4);
    a[0] = 2;                           /* this one is ours again */
    pagemap("after a write", a, 2);
    write(go[1], "x", 1);
    status_of(child);

    char *ro = mmap(NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    smaps("read-only", ro);
    char *l = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mlock: %s\n", err(mlock(l, 4 * PAGE)));
    smaps("locked", l);
    munlock(l, 4 * PAGE);
    smaps("unlocked", l);

    int file = open("/tmp/smaps.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(file, 2 * PAGE);
    char *s = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
    s[0] = 1;
    s[PAGE] = 1;
    smaps("shared file, both pages written", s);
    pagemap("shared file", s, 2);
    char *pf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0);
    (void)*(volatile char *)pf;
    pf[PAGE] = 1;
    smaps("private file, one page read, one written", pf);
    pagemap("private file", pf, 2);
    unlink("/tmp/smaps.txt");

    /* smaps_rollup: its head line and its keys */
    FILE *r = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    printf("-- rollup\n");
    while (fgets(line, sizeof line, r)) {
        char *colon = strchr(line, ':');
        if (strstr(line, "[rollup]"))
            printf("head: %s", strstr(line, " ---p 00000000 00:00 0 ") ? "ok\n" : line);
        else if (colon) {
            *colon = 0;
            printf("%s ", line);
        }
    }
    printf("\n");
    fclose(r);
    return 0;
}
