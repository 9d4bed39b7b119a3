/* sync_file_range, readahead and vhangup as Linux 6.1 answers them: their checks on
 * descriptors, flags and ranges, for regular files, directories, pipes, O_PATH and
 * write-only descriptors; vhangup's privilege check. Prints results and errno names. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

static long sfr(int fd, long off, long n, unsigned flags)
{
    return syscall(SYS_sync_file_range, fd, off, n, flags);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = open("/tmp/ranges", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "some data", 9);
    int p[2];
    pipe(p);
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    int path = open("/tmp/ranges", O_PATH);
    int wo = open("/tmp/ranges", O_WRONLY);
    int null = open("/dev/null", O_RDWR);

    show("sfr file", sfr(fd, 0, 0, SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER));
    show("sfr all flags", sfr(fd, 0, 4096, 7));
    show("sfr no flags", sfr(fd, 100, 4096, 0));
    show("sfr bad flags", sfr(fd, 0, 0, 8));
    show("sfr bad fd", sfr(99, 0, 0, 8));
    show("sfr O_PATH", sfr(path, 0, 0, 0));
    show("sfr negative offset", sfr(fd, -1, 0, 0));
    show("sfr negative nbytes", sfr(fd, 0, -1, 0));
    show("sfr past LLONG_MAX", sfr(fd, INT64_MAX - 10, 100, 0));
    show("sfr up to LLONG_MAX", sfr(fd, INT64_MAX - 10, 10, 0));
    show("sfr pipe", sfr(p[0], 0, 0, 0));
    show("sfr pipe bad flags", sfr(p[0], 0, 0, 8));
    show("sfr directory", sfr(dir, 0, 0, 0));
    show("sfr write-only", sfr(wo, 0, 0, 0));
    show("sfr /dev/null", sfr(null, 0, 0, 0));

    show("readahead file", readahead(fd, 0, 4096));
    show("readahead past EOF", readahead(fd, 1 << 20, 4096));
    show("readahead negative offset", readahead(fd, -4096, 4096));
    show("readahead huge count", readahead(fd, 0, (size_t)-1));
    show("readahead zero count", readahead(fd, 0, 0));
    show("readahead bad fd", readahead(99, 0, 1));
    show("readahead O_PATH", readahead(path, 0, 1));
    show("readahead write-only", readahead(wo, 0, 1));
    show("readahead pipe", readahead(p[0], 0, 1));
    show("readahead pipe write end", readahead(p[1], 0, 1));
    show("readahead directory", readahead(dir, 0, 1));
    show("readahead /dev/null", readahead(null, 0, 1));
    int proc = open("/proc/self/status", O_RDONLY);
    show("readahead /proc/self/status", readahead(proc, 0, 1));

    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        show("vhangup without a terminal", syscall(SYS_vhangup));
        setuid(65534);
        show("vhangup as a user", syscall(SYS_vhangup));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    unlink("/tmp/ranges");
    return 0;
}
