/* remap_file_pages as Linux 6.1 emulates it: a page of a shared file mapping (or of shared
 * anonymous memory) shows another page of the file; EINVAL for prot, private or missing
 * mappings, wrapping ranges and spans over a hole. Prints results and what the pages hold. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

#define PG 4096L

static void pages(const char *what, char *p, int n)
{
    printf("%s:", what);
    for (int i = 0; i < n; i++)
        printf(" %c", p[i * PG]);
    printf("\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = open("/tmp/remap", O_RDWR | O_CREAT | O_TRUNC, 0644);
    char page[PG];
    for (int i = 0; i < 4; i++) {
        memset(page, 'A' + i, sizeof page);
        write(fd, page, sizeof page);
    }
    char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    pages("before", p, 4);
    show("remap page 0 to file page 3", remap_file_pages(p, PG, 0, 3, 0));
    pages("after", p, 4);
    show("remap pages 1-2 to file pages 0-1", remap_file_pages(p + PG, 2 * PG, 0, 0, MAP_NONBLOCK));
    pages("after", p, 4);
    p[PG] = 'z';
    char c;
    pread(fd, &c, 1, 0);
    printf("a store through the remapped page reaches file page 0: %c\n", c);
    show("unaligned start and size", remap_file_pages(p + 10, PG + 10, 0, 2, 0));
    pages("after", p, 4);
    show("prot", remap_file_pages(p, PG, PROT_READ, 1, 0));
    show("size 0", remap_file_pages(p, 0, 0, 1, 0));
    show("wrapping", remap_file_pages(p, -PG, 0, 1, 0));
    show("pgoff wraps", remap_file_pages(p, 2 * PG, 0, -1UL, 0));
    show("past the mapping", remap_file_pages(p + 3 * PG, 2 * PG, 0, 0, 0));
    show("unmapped", remap_file_pages((void *)0x10000, PG, 0, 0, 0));
    char *priv = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    show("private mapping", remap_file_pages(priv, PG, 0, 1, 0));
    munmap(p + PG, PG);
    show("over a hole", remap_file_pages(p, 3 * PG, 0, 0, 0));
    show("past the file's end", remap_file_pages(p, PG, 0, 100, 0));
    char *s = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    s[0] = '0'; s[PG] = '1'; s[2 * PG] = '2';
    show("shared anonymous", remap_file_pages(s, PG, 0, 2, 0));
    pages("shared anonymous after", s, 3);
    unlink("/tmp/remap");
    return 0;
}
