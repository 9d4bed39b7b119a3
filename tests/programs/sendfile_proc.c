/* sendfile(2) from procfs files: Linux 6.1 refuses it (EINVAL) for the per-process seq files
 * without splice_read (maps, status, stat, cmdline, ...) and lets the proc_ops files with
 * proc_read_iter (meminfo, version, ...) and mounts/mountinfo splice.
 * Usage: sendfile_proc FILE...   prints "FILE: ok" or "FILE: ERRNO" for each. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int out = open("/dev/null", O_WRONLY);
    if (out < 0) {
        perror("/dev/null");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0) {
            printf("%s: open %s\n", argv[i], strerrorname_np(errno));
            continue;
        }
        ssize_t n = sendfile(out, fd, NULL, 65536);
        printf("%s: %s\n", argv[i], n < 0 ? strerrorname_np(errno) : "ok");
        close(fd);
    }
    return 0;
}
