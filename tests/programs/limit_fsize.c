/* RLIMIT_FSIZE: writes to a regular file stop at the limit; one at or past it fails with
 * EFBIG and raises SIGXFSZ (caught here, counted), as does a truncate above it; a pipe is
 * not limited; with SIGXFSZ's default action the writer dies of it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

#define PATH "/tmp/limit_fsize.tmp"

static volatile int xfsz;

static void on_xfsz(int sig) { xfsz++; }

static void seen(const char *what, long r)
{
    rc(what, r);
    printf("  SIGXFSZ so far: %d\n", xfsz);
}

int main(void)
{
    static char buf[4096];
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(buf, 'x', sizeof buf);
    signal(SIGXFSZ, on_xfsz);
    struct rlimit rl = {1000, 1000};
    rc("setrlimit", setrlimit(RLIMIT_FSIZE, &rl));
    int fd = open(PATH, O_RDWR | O_CREAT | O_TRUNC, 0600);
    seen("write 1500", write(fd, buf, 1500));
    seen("write past", write(fd, buf, 10));
    seen("write 0 past", write(fd, buf, 0));
    seen("pwrite 20 at 990", pwrite(fd, buf, 20, 990));
    seen("pwrite at 1000", pwrite(fd, buf, 1, 1000));
    lseek(fd, 400, SEEK_SET);
    struct iovec iov[2] = {{buf, 500}, {buf, 500}};
    seen("writev 1000 at 400", writev(fd, iov, 2));
    seen("ftruncate 2000", ftruncate(fd, 2000));
    seen("ftruncate 1000", ftruncate(fd, 1000));
    seen("truncate 1001", truncate(PATH, 1001));
    seen("ftruncate 10", ftruncate(fd, 10));
    int ap = open(PATH, O_WRONLY | O_APPEND);
    seen("append 2000", write(ap, buf, 2000));
    close(ap);
    int p[2];
    pipe(p);
    seen("pipe write 2000", write(p[1], buf, 2000));
    close(p[0]);
    close(p[1]);

    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_DFL);
        lseek(fd, 1000, SEEK_SET);
        write(fd, buf, 1);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("default action: killed by %s%s\n", strsignal(WTERMSIG(status)), WCOREDUMP(status) ? " (core)" : "");
    else
        printf("default action: exited %d\n", WEXITSTATUS(status));
    close(fd);
    unlink(PATH);
    return 0;
}
