/* unix_stream_pingpong ITERS: parent and child bounce 1 byte over an AF_UNIX stream socketpair.
 * ns_per_op is one round trip (two writes, two reads, two wake-ups). */
#include "bench.h"
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 10000);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        DIE("socketpair");
    pid_t pid = fork();
    if (pid < 0)
        DIE("fork");
    char c = 'p';
    if (pid == 0) {
        close(sv[0]);
        for (;;) {
            ssize_t n = read(sv[1], &c, 1);
            if (n == 0)
                _exit(0);
            if (n != 1 || write(sv[1], &c, 1) != 1)
                _exit(1);
        }
    }
    close(sv[1]);
    /* one warm-up round trip so the child is surely running */
    if (write(sv[0], &c, 1) != 1 || read(sv[0], &c, 1) != 1)
        DIE("warm-up");
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        if (write(sv[0], &c, 1) != 1)
            DIE("write");
        if (read(sv[0], &c, 1) != 1)
            DIE("read");
    }
    long long t1 = now_ns();
    shutdown(sv[0], SHUT_WR);
    int st;
    waitpid(pid, &st, 0);
    report("unix_stream_pingpong", iters, t1 - t0, NULL);
    return 0;
}
