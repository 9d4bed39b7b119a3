/* An event loop as selectors/asyncio programs run one: epoll over three children's pipes
 * (edge-triggered, non-blocking, each read until EAGAIN), a periodic timerfd, a signalfd for
 * SIGCHLD (children reaped with WNOHANG as they exit) and an eventfd the loop signals itself
 * with to stop. Prints what arrived per child, checked for order and completeness. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 3
#define MESSAGES 40

int main(void)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    int stop = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct itimerspec tick = {{0, 20000000}, {0, 20000000}};
    timerfd_settime(tfd, 0, &tick, NULL);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 100};
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &e);
    e.data.u64 = 101;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &e);
    e.data.u64 = 102;
    epoll_ctl(ep, EPOLL_CTL_ADD, stop, &e);

    int fds[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        int p[2];
        pipe2(p, O_CLOEXEC);
        fflush(stdout);
        if (fork() == 0) {
            for (int j = 0; j < MESSAGES; j++) {
                char msg[64];
                int n = snprintf(msg, sizeof msg, "child %d message %02d|", i, j);
                write(p[1], msg, n);
                if (j % (i + 2) == 0)
                    usleep(2000 * (i + 1));
            }
            _exit(i);
        }
        close(p[1]);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        fds[i] = p[0];
        e.events = EPOLLIN | EPOLLET | EPOLLRDHUP;
        e.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
    }

    static char got[CHILDREN][4096];
    size_t len[CHILDREN] = {0};
    int open_pipes = CHILDREN, reaped = 0, statuses = 0, ticks_seen = 0, wakeups = 0, running = 1;
    while (running) {
        struct epoll_event ev[8];
        int n = epoll_wait(ep, ev, 8, 5000);
        if (n <= 0) {
            printf("epoll_wait: %d %s\n", n, n < 0 ? strerrorname_np(errno) : "timeout");
            break;
        }
        wakeups++;
        for (int k = 0; k < n; k++) {
            uint64_t id = ev[k].data.u64;
            if (id < CHILDREN) {
                for (;;) {
                    ssize_t r = read(fds[id], got[id] + len[id], sizeof got[id] - len[id]);
                    if (r > 0) {
                        len[id] += r;
                        continue;
                    }
                    if (r == 0) {
                        epoll_ctl(ep, EPOLL_CTL_DEL, fds[id], NULL);
                        close(fds[id]);
                        if (--open_pipes == 0) {
                            uint64_t one = 1;
                            write(stop, &one, 8);
                        }
                    } else if (errno != EAGAIN) {
                        printf("read: %s\n", strerrorname_np(errno));
                    }
                    break;
                }
            } else if (id == 100) {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof si) == sizeof si) {
                    int status;
                    while (waitpid(-1, &status, WNOHANG) > 0) {
                        reaped++;
                        statuses += WEXITSTATUS(status);
                    }
                }
            } else if (id == 101) {
                uint64_t t;
                if (read(tfd, &t, 8) == 8)
                    ticks_seen += t;
            } else if (id == 102) {
                running = reaped < CHILDREN;         /* the pipes are done; wait for the reaping */
                if (!running) {
                    uint64_t v;
                    read(stop, &v, 8);
                }
            }
        }
        if (!running || (open_pipes == 0 && reaped == CHILDREN))
            running = 0;
    }
    for (int i = 0; i < CHILDREN; i++) {
        int in_order = 1, count = 0;
        char *s = got[i];
        for (int j = 0; j < MESSAGES; j++) {
            char want[64];
            int n = snprintf(want, sizeof want, "child %d message %02d|", i, j);
            if (strncmp(s, want, n) != 0) {
                in_order = 0;
                break;
            }
            s += n;
            count++;
        }
        printf("child %d: %zu bytes, %d messages in order%s\n", i, len[i], count,
               in_order && s == got[i] + len[i] ? "" : " (FAIL)");
    }
    printf("reaped %d children, exit statuses sum %d\n", reaped, statuses);
    printf("timer ticked: %s\n", ticks_seen > 0 ? "ok" : "FAIL");
    printf("loop woke more than once: %s\n", wakeups > 1 ? "ok" : "FAIL");
    return 0;
}
