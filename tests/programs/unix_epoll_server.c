/* An event-driven AF_UNIX server: one process accepts clients on a listening socket and
 * answers their requests through epoll (level-triggered, non-blocking sockets), the way
 * real servers do; four forked clients each make 50 request/response round trips over
 * their own connection, one datagram client reports on a second socket, and each client's
 * close ends its connection. Prints the totals; compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS 4
#define ROUNDS 50

static socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static int client(const struct sockaddr_un *sa, socklen_t salen, int id)
{
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c, (const struct sockaddr *)sa, salen) < 0)
        return 10;
    for (int i = 0; i < ROUNDS; i++) {
        char req[32], resp[64];
        int n = snprintf(req, sizeof req, "%d:%d", id, i);
        if (write(c, req, n) != n)
            return 11;
        long got = read(c, resp, sizeof resp);
        char want[64];
        int wn = snprintf(want, sizeof want, "ok %d:%d", id, i);
        if (got != wn || memcmp(resp, want, wn))
            return 12;
    }
    close(c);
    return 0;
}

int main(void)
{
    const char *path = "/tmp/unix_epoll_server.sock", *dpath = "/tmp/unix_epoll_server.dgram";
    struct sockaddr_un sa, da;
    socklen_t salen = path_addr(&sa, path), dalen = path_addr(&da, dpath);
    unlink(path);
    unlink(dpath);
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int ds = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (bind(ls, (struct sockaddr *)&sa, salen) || listen(ls, 2) || bind(ds, (struct sockaddr *)&da, dalen)) {
        perror("setup");
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    ev.data.fd = ds;
    epoll_ctl(ep, EPOLL_CTL_ADD, ds, &ev);

    fflush(stdout);
    pid_t kids[CLIENTS + 1];
    for (int i = 0; i < CLIENTS; i++)
        if ((kids[i] = fork()) == 0)
            _exit(client(&sa, salen, i));
    if ((kids[CLIENTS] = fork()) == 0) {
        int d = socket(AF_UNIX, SOCK_DGRAM, 0);
        for (int i = 0; i < 5; i++)
            sendto(d, "report", 6, 0, (struct sockaddr *)&da, dalen);
        _exit(0);
    }
    int accepted = 0, closed = 0, requests = 0, reports = 0, rdhup = 0;
    while (closed < CLIENTS || reports < 5) {
        struct epoll_event evs[8];
        int n = epoll_wait(ep, evs, 8, 5000);
        if (n <= 0) {
            printf("epoll_wait: %d %s\n", n, n ? strerrorname_np(errno) : "timeout");
            break;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int s;
                while ((s = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = s};
                    epoll_ctl(ep, EPOLL_CTL_ADD, s, &cev);
                    accepted++;
                }
            } else if (fd == ds) {
                char buf[16];
                while (recv(ds, buf, sizeof buf, 0) > 0)
                    reports++;
            } else {
                char buf[64];
                long got;
                while ((got = read(fd, buf, sizeof buf)) > 0) {
                    char resp[80];
                    int rn = snprintf(resp, sizeof resp, "ok %.*s", (int)got, buf);
                    write(fd, resp, rn);
                    requests++;
                }
                if (evs[i].events & EPOLLRDHUP)
                    rdhup++;
                if (got == 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                    close(fd);
                    closed++;
                }
            }
        }
    }
    int ok = 0;
    for (int i = 0; i <= CLIENTS; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    printf("accepted %d, requests %d, closed %d, reports %d, clients ok %d\n", accepted, requests, closed,
           reports, ok);
    (void)rdhup;                /* whether EOF comes with its own EPOLLRDHUP event depends on timing */
    unlink(path);
    unlink(dpath);
    return 0;
}
