/* epoll over a pseudo-terminal: the master readable once the slave writes (edge- and
 * level-triggered), the slave readable once a line is typed into the master in canonical
 * mode, both writable, and the master's EPOLLHUP when the slave closes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

static int show(const char *what, int ep)
{
    struct epoll_event ev[4];
    int n = epoll_wait(ep, ev, 4, 200);
    printf("%s: %d", what, n);
    for (int i = 0; i < n; i++)
        printf(" %llu:%x", (unsigned long long)ev[i].data.u64, ev[i].events);
    printf("\n");
    return n;
}

int main(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    struct termios t;
    tcgetattr(s, &t);
    t.c_lflag &= ~ECHO;
    tcsetattr(s, TCSANOW, &t);
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.u64 = 1};
    epoll_ctl(ep, EPOLL_CTL_ADD, m, &e);
    e.events = EPOLLIN;
    e.data.u64 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
    show("idle", ep);
    write(s, "out\n", 4);
    show("slave wrote", ep);
    show("edge: again", ep);
    char buf[64];
    int n = read(m, buf, sizeof buf);
    printf("master read %d\n", n);
    write(m, "partial", 7);
    show("master typed without newline", ep);
    write(m, " line\n", 6);
    show("master typed a line", ep);
    n = read(s, buf, sizeof buf);
    printf("slave read %d\n", n);
    show("slave drained", ep);
    int w = epoll_create1(0);
    e.events = EPOLLOUT;
    e.data.u64 = 3;
    epoll_ctl(w, EPOLL_CTL_ADD, m, &e);
    e.data.u64 = 4;
    epoll_ctl(w, EPOLL_CTL_ADD, s, &e);
    show("writable", w);
    epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL);
    close(s);
    e.events = EPOLLIN;
    e.data.u64 = 5;
    epoll_ctl(ep, EPOLL_CTL_MOD, m, &e);
    show("slave closed", ep);
    return 0;
}
