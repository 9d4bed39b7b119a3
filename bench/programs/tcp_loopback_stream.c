/* tcp_loopback_stream MIB: a child writes MIB MiB in 64 KiB writes over a TCP connection on
 * 127.0.0.1, the parent reads it all. ns_per_op is per MiB; the extra says MiB/s. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>
#include "tcp_loopback.h"

static char buf[65536];

int main(int argc, char **argv)
{
    long mib = arg_long(argc, argv, 1, 64);
    int c, s;
    tcp_pair(&c, &s);
    long long total = (long long)mib << 20;
    long long t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0)
        DIE("fork");
    if (pid == 0) {
        close(s);
        memset(buf, 'x', sizeof buf);
        for (long long left = total; left > 0;) {
            ssize_t n = write(c, buf, left < (long long)sizeof buf ? left : (long long)sizeof buf);
            if (n <= 0)
                _exit(1);
            left -= n;
        }
        _exit(0);
    }
    close(c);
    long long got = 0;
    for (;;) {
        ssize_t n = read(s, buf, sizeof buf);
        if (n < 0)
            DIE("read");
        if (n == 0)
            break;
        got += n;
    }
    long long t1 = now_ns();
    int st;
    waitpid(pid, &st, 0);
    if (got != total)
        DIE("short stream");
    char extra[64];
    snprintf(extra, sizeof extra, "mib_per_s=%.1f", (double)mib * 1e9 / (double)(t1 - t0));
    report("tcp_loopback_stream", mib, t1 - t0, extra);
    return 0;
}
