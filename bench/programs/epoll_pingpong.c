/* epoll_pingpong ITERS: parent and child bounce 1 byte over two pipes, each waiting in
 * epoll_wait for its pipe to be readable before it reads (an event loop's wake-up).
 * ns_per_op is one round trip (two writes, two epoll_waits that sleep, two reads). */
#include "bench.h"
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

static int watch(int fd)
{
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
        DIE("epoll");
    return ep;
}

/* wait for fd (watched by ep) to be readable, then read its byte; 0 at end of file */
static int await_byte(int ep, int fd, char *c)
{
    struct epoll_event ev;
    if (epoll_wait(ep, &ev, 1, -1) != 1)
        DIE("epoll_wait");
    ssize_t n = read(fd, c, 1);
    if (n < 0)
        DIE("read");
    return (int)n;
}

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 10000);
    int ping[2], pong[2];
    if (pipe(ping) || pipe(pong))
        DIE("pipe");
    pid_t pid = fork();
    if (pid < 0)
        DIE("fork");
    char c = 'p';
    if (pid == 0) {
        close(ping[1]);
        close(pong[0]);
        int ep = watch(ping[0]);
        for (;;) {
            if (await_byte(ep, ping[0], &c) == 0)
                _exit(0);
            if (write(pong[1], &c, 1) != 1)
                _exit(1);
        }
    }
    close(ping[0]);
    close(pong[1]);
    int ep = watch(pong[0]);
    /* one warm-up round trip so the child is surely waiting */
    if (write(ping[1], &c, 1) != 1 || await_byte(ep, pong[0], &c) != 1)
        DIE("warm-up");
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        if (write(ping[1], &c, 1) != 1)
            DIE("write");
        if (await_byte(ep, pong[0], &c) != 1)
            DIE("read");
    }
    long long t1 = now_ns();
    close(ping[1]);
    int st;
    waitpid(pid, &st, 0);
    report("epoll_pingpong", iters, t1 - t0, NULL);
    return 0;
}
