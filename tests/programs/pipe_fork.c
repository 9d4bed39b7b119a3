/* Pipes between processes: a child writes and the parent reads to EOF, blocking both ways,
 * PIPE_BUF atomicity with two concurrent writers, SIGPIPE killing a writer with no reader. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAIL"); fflush(stdout); }

static void writer(int fd, char c, int blocks)
{
    char block[4096];
    memset(block, c, sizeof block);
    for (int i = 0; i < blocks; i++)
        if (write(fd, block, sizeof block) != sizeof block)
            _exit(1);
    _exit(0);
}

int main(void)
{
    int p[2];
    char buf[8192];
    int status;

    /* 1. Child writes 300 KiB (more than the pipe holds: it blocks), parent reads to EOF. */
    pipe(p);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        for (int i = 0; i < 300; i++) {
            memset(buf, 'a' + i % 26, 1024);
            if (write(p[1], buf, 1024) != 1024)
                _exit(1);
        }
        _exit(0);
    }
    close(p[1]);
    long total = 0, bad = 0;
    ssize_t n;
    while ((n = read(p[0], buf, 3000)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != 'a' + ((total + i) / 1024) % 26)
                bad++;
        total += n;
    }
    close(p[0]);
    waitpid(pid, &status, 0);
    printf("child to parent: %ld bytes, %ld out of order, eof %s, child exit %d\n", total, bad,
           n == 0 ? "yes" : "no", WEXITSTATUS(status));

    /* 2. Parent writes, child blocked in read wakes up; the child echoes back the count. */
    int back[2];
    pipe(p);
    pipe(back);
    pid = fork();
    if (pid == 0) {
        close(p[1]);
        close(back[0]);
        long got = 0;
        while ((n = read(p[0], buf, sizeof buf)) > 0)
            got += n;
        dprintf(back[1], "%ld", got);
        _exit(0);
    }
    close(p[0]);
    close(back[1]);
    usleep(20000);                      /* let the child block in read */
    for (int i = 0; i < 100; i++)
        write(p[1], buf, 1000);
    close(p[1]);
    n = read(back[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    waitpid(pid, &status, 0);
    printf("parent to child: child read %s bytes\n", buf);
    close(back[0]);

    /* 3. PIPE_BUF atomicity: two writers of 4096-byte blocks never interleave within a block. */
    pipe(p);
    pid_t w1 = fork();
    if (w1 == 0) { close(p[0]); writer(p[1], 'X', 64); }
    pid_t w2 = fork();
    if (w2 == 0) { close(p[0]); writer(p[1], 'Y', 64); }
    close(p[1]);
    static char all[2 * 64 * 4096 + 1];
    total = 0;
    while ((n = read(p[0], all + total, sizeof all - total)) > 0)
        total += n;
    long mixed = 0, xs = 0;
    for (long b = 0; b + 4096 <= total; b += 4096) {
        for (int i = 1; i < 4096; i++)
            if (all[b + i] != all[b]) { mixed++; break; }
        xs += all[b] == 'X';
    }
    waitpid(w1, &status, 0);
    waitpid(w2, &status, 0);
    printf("atomic blocks: total %ld, mixed blocks %ld, X blocks %ld\n", total, mixed, xs);
    close(p[0]);

    /* 4. Writing with no reader: EPIPE, and SIGPIPE kills the writer (default action). */
    pipe(p);
    close(p[0]);
    pid = fork();
    if (pid == 0) {
        write(p[1], "x", 1);
        _exit(99);                      /* not reached: SIGPIPE kills first */
    }
    waitpid(pid, &status, 0);
    check("writer killed by SIGPIPE", WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE);

    /* 5. A reader that goes away while the writer is blocked on a full pipe. */
    int r2[2];
    pipe(r2);
    pid = fork();
    if (pid == 0) {
        close(r2[0]);
        char big[100000];
        memset(big, 'b', sizeof big);
        for (;;)
            write(r2[1], big, sizeof big);  /* blocks when full, then SIGPIPE */
    }
    close(r2[1]);
    usleep(50000);
    n = read(r2[0], buf, 10);
    close(r2[0]);
    waitpid(pid, &status, 0);
    check("blocked writer killed by SIGPIPE when the reader closes", n == 10 && WIFSIGNALED(status)
          && WTERMSIG(status) == SIGPIPE);
    close(p[1]);
    return 0;
}
