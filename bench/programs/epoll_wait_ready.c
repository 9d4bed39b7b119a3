/* epoll_wait_ready ITERS: epoll_wait on an epoll set holding one eventfd that is always
 * readable (level-triggered, counter never drained), so every call returns that one event
 * at once. ns_per_op is one epoll_wait. */
#include "bench.h"
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 100000);
    int efd = eventfd(1, EFD_CLOEXEC);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (efd < 0 || ep < 0)
        DIE("eventfd/epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev))
        DIE("epoll_ctl");
    struct epoll_event out[4];
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        if (epoll_wait(ep, out, 4, -1) != 1 || out[0].data.u64 != 42)
            DIE("epoll_wait");
    }
    long long t1 = now_ns();
    report("epoll_wait_ready", iters, t1 - t0, NULL);
    return 0;
}
