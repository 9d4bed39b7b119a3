/* write(2) to the memory devices as Linux 6.1 answers it: /dev/null and /dev/zero take the
 * count without reading the buffer (write_null: an unmapped user buffer is no EFAULT, only
 * one outside user space is), /dev/full is ENOSPC, a read-only descriptor EBADF, the count
 * is capped at MAX_RW_COUNT; a write reports IN_MODIFY to an inotify watch (vfs_write). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int null = open("/dev/null", O_WRONLY), zero = open("/dev/zero", O_RDWR);
    int full = open("/dev/full", O_WRONLY), ronly = open("/dev/null", O_RDONLY);
    char *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    show("null 5 bytes", write(null, "hello", 5));
    show("null zero bytes", write(null, "hello", 0));
    show("null unmapped buffer", write(null, gone, 4096));
    show("null NULL buffer", write(null, NULL, 10));
    show("null kernel address", write(null, (void *)(1UL << 63), 10));
    show("null huge count", write(null, gone, 1L << 40));
    show("null read-only fd", write(ronly, "x", 1));
    show("zero unmapped buffer", write(zero, gone, 100));
    show("full", write(full, "x", 1));
    show("bad fd", write(999, "x", 1));
    int in = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(in, "/dev/null", IN_MODIFY);
    write(null, "x", 1);
    write(null, "x", 0);
    char ev[256];
    long n = read(in, ev, sizeof ev);
    if (n > 0)
        printf("inotify: %ld bytes, mask %#x\n", n, ((struct inotify_event *)ev)->mask);
    else
        show("inotify", n);
    return 0;
}
