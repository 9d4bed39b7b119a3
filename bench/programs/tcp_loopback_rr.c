/* tcp_loopback_rr ITERS: parent and child bounce 1 byte over a TCP connection on 127.0.0.1
 * (TCP_NODELAY). ns_per_op is one request/response round trip. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>
#include "tcp_loopback.h"

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 10000);
    int c, s;
    tcp_pair(&c, &s);
    pid_t pid = fork();
    if (pid < 0)
        DIE("fork");
    char b = 'p';
    if (pid == 0) {
        close(c);
        for (;;) {
            ssize_t n = read(s, &b, 1);
            if (n == 0)
                _exit(0);
            if (n != 1 || write(s, &b, 1) != 1)
                _exit(1);
        }
    }
    close(s);
    if (write(c, &b, 1) != 1 || read(c, &b, 1) != 1)
        DIE("warm-up");
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        if (write(c, &b, 1) != 1)
            DIE("write");
        if (read(c, &b, 1) != 1)
            DIE("read");
    }
    long long t1 = now_ns();
    shutdown(c, SHUT_WR);
    int st;
    waitpid(pid, &st, 0);
    report("tcp_loopback_rr", iters, t1 - t0, NULL);
    return 0;
}
