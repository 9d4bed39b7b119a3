/* pipe_pingpong ITERS: parent and child bounce 1 byte over two pipes.
 * ns_per_op is one round trip (two writes, two reads, two wake-ups). */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

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
        for (;;) {
            ssize_t n = read(ping[0], &c, 1);
            if (n == 0)
                _exit(0);
            if (n != 1 || write(pong[1], &c, 1) != 1)
                _exit(1);
        }
    }
    close(ping[0]);
    close(pong[1]);
    /* one warm-up round trip so the child is surely running */
    if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
        DIE("warm-up");
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        if (write(ping[1], &c, 1) != 1)
            DIE("write");
        if (read(pong[0], &c, 1) != 1)
            DIE("read");
    }
    long long t1 = now_ns();
    close(ping[1]);
    int st;
    waitpid(pid, &st, 0);
    report("pipe_pingpong", iters, t1 - t0, NULL);
    return 0;
}
