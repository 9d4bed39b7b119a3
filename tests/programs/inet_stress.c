/* Loopback stress: N concurrent TCP connections over 127.0.0.1 each moving BYTES bytes
 * (default 100 x 1 MiB), every byte checked. One process, one poll loop: the clients write
 * a pattern that depends on the connection and the offset, the accepted ends read and check
 * it, then each client half-closes and its reader must see EOF exactly at BYTES.
 * Usage: inet_stress [N [BYTES]]. Prints totals and "ok" or what went wrong. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 512

static unsigned char pattern(int conn, long off) { return (unsigned char)(off * 7 + conn * 13 + (off >> 12)); }

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100;
    long bytes = argc > 2 ? atol(argv[2]) : 1 << 20;
    if (n > MAXC)
        n = MAXC;
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (void *)&a, sizeof a) < 0 || listen(ls, n) < 0) {
        perror("listen");
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(ls, (void *)&a, &al);

    static int cfd[MAXC], sfd[MAXC], owner[MAXC];
    static long sent[MAXC], got[MAXC];
    static int eof[MAXC];
    for (int i = 0; i < n; i++) {
        cfd[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(cfd[i], (void *)&a, sizeof a) < 0) {
            perror("connect");
            return 1;
        }
        fcntl(cfd[i], F_SETFL, O_NONBLOCK);
        /* the client tells which connection it is in its first byte's place: accepted order
           is connect order on both kernels, but do not rely on it */
    }
    for (int i = 0; i < n; i++) {
        sfd[i] = accept(ls, NULL, NULL);
        if (sfd[i] < 0) {
            perror("accept");
            return 1;
        }
        fcntl(sfd[i], F_SETFL, O_NONBLOCK);
        owner[i] = -1;
    }
    /* Match accepted sockets to clients by port. */
    for (int i = 0; i < n; i++) {
        struct sockaddr_in p;
        socklen_t pl = sizeof p;
        getpeername(sfd[i], (void *)&p, &pl);
        for (int j = 0; j < n; j++) {
            struct sockaddr_in c;
            socklen_t cl = sizeof c;
            getsockname(cfd[j], (void *)&c, &cl);
            if (c.sin_port == p.sin_port)
                owner[i] = j;
        }
        if (owner[i] < 0) {
            printf("accepted socket %d matches no client\n", i);
            return 1;
        }
    }
    static unsigned char buf[65536];
    static struct pollfd pf[2 * MAXC];
    long wrong = 0, total = 0;
    int done = 0;
    while (done < n) {
        for (int i = 0; i < n; i++) {
            pf[i] = (struct pollfd){sent[i] < bytes ? cfd[i] : -1, POLLOUT, 0};
            pf[n + i] = (struct pollfd){eof[i] ? -1 : sfd[i], POLLIN, 0};
        }
        if (poll(pf, 2 * n, 20000) <= 0) {
            printf("stalled: poll timed out, %d of %d done\n", done, n);
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (pf[i].revents & POLLOUT) {
                long len = bytes - sent[i] < (long)sizeof buf ? bytes - sent[i] : (long)sizeof buf;
                for (long k = 0; k < len; k++)
                    buf[k] = pattern(i, sent[i] + k);
                ssize_t w = write(cfd[i], buf, len);
                if (w > 0)
                    sent[i] += w;
                else if (w < 0 && errno != EAGAIN) {
                    perror("write");
                    return 1;
                }
                if (sent[i] == bytes)
                    shutdown(cfd[i], SHUT_WR);
            }
            if (pf[n + i].revents & (POLLIN | POLLHUP)) {
                int c = owner[i];
                ssize_t r = read(sfd[i], buf, sizeof buf);
                if (r < 0 && errno != EAGAIN) {
                    perror("read");
                    return 1;
                }
                for (ssize_t k = 0; k < r; k++)
                    wrong += buf[k] != pattern(c, got[i] + k);
                if (r > 0) {
                    got[i] += r;
                    total += r;
                }
                if (r == 0) {
                    eof[i] = 1;
                    done++;
                    if (got[i] != bytes)
                        printf("connection %d: EOF after %ld bytes\n", c, got[i]);
                }
            }
        }
    }
    printf("%d connections, %ld bytes, %ld wrong: %s\n", n, total, wrong,
           wrong == 0 && total == (long)n * bytes ? "ok" : "FAIL");
    return 0;
}
