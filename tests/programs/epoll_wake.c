/* Who epoll wakes: the order of events for one file registered under two descriptors, and
 * EPOLLEXCLUSIVE: of two processes asleep in epoll_wait on their own epolls watching one
 * eventfd, an exclusive registration wakes one, a plain one wakes both. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

static void order(const char *what, int fd, int dup_fd, int write_fd, int is_eventfd)
{
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 1};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    e.data.u64 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, dup_fd, &e);
    struct epoll_event ev[4];
    printf("%s before: %d\n", what, epoll_wait(ep, ev, 4, 0));
    uint64_t one = 1;
    if (is_eventfd)
        write(write_fd, &one, 8);
    else
        write(write_fd, "x", 1);
    int n = epoll_wait(ep, ev, 4, 0);
    printf("%s: %d:", what, n);
    for (int i = 0; i < n; i++)
        printf(" %llu", (unsigned long long)ev[i].data.u64);
    printf("\n");
    close(ep);
}

static int woken(uint32_t extra)
{
    int efd = eventfd(0, 0);
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        fflush(stdout);
        kids[i] = fork();
        if (kids[i] == 0) {
            int ep = epoll_create1(0);
            struct epoll_event e = {.events = EPOLLIN | extra, .data.u64 = i};
            epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e);
            struct epoll_event ev;
            _exit(epoll_wait(ep, &ev, 1, 3000) == 1 ? 1 : 0);
        }
    }
    usleep(700000);                     /* both asleep in epoll_wait by now */
    uint64_t one = 1;
    write(efd, &one, 8);
    int count = 0;
    for (int i = 0; i < 2; i++) {
        int status;
        waitpid(kids[i], &status, 0);
        count += WEXITSTATUS(status);
    }
    close(efd);
    return count;
}

int main(void)
{
    int e = eventfd(0, 0);
    order("eventfd under two fds", e, dup(e), e, 1);
    int p[2];
    pipe(p);
    order("pipe under two fds", p[0], dup(p[0]), p[1], 0);
    printf("plain: %d of 2 woken\n", woken(0));
    printf("EPOLLEXCLUSIVE: %d of 2 woken\n", woken(EPOLLEXCLUSIVE));
    return 0;
}
