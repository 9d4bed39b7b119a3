/* Garbage collection of AF_UNIX sockets in flight (Linux's unix_gc): sockets whose only
 * references are descriptors in flight on each other's queues (a cycle closed by the
 * program) are freed, and leave /proc/net/unix; one still reachable from an open socket
 * stays, and can be received and used. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report.h"

static int send_fds(int via, int *fds, int n)
{
    char data = 'x';
    struct iovec iov = {&data, 1};
    char buf[CMSG_SPACE(4 * sizeof(int))];
    memset(buf, 0, sizeof buf);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
                       .msg_controllen = CMSG_SPACE(n * sizeof(int))};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(n * sizeof(int));
    memcpy(CMSG_DATA(c), fds, n * sizeof(int));
    return sendmsg(via, &m, 0);
}

static int recv_fd(int via)
{
    char data;
    struct iovec iov = {&data, 1};
    char buf[CMSG_SPACE(sizeof(int))];
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf};
    if (recvmsg(via, &m, 0) < 0)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    int fd = -1;
    if (c && c->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static unsigned long ino_of(int fd)
{
    struct stat st;
    fstat(fd, &st);
    return st.st_ino;
}

/* Whether /proc/net/unix lists a socket of this inode number. */
static int listed(unsigned long ino)
{
    FILE *f = fopen("/proc/net/unix", "r");
    char line[512];
    int found = 0;
    fgets(line, sizeof line, f);
    while (fgets(line, sizeof line, f)) {
        unsigned long i;
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu", &i) == 1 && i == ino)
            found = 1;
    }
    fclose(f);
    return found;
}

static void settle(void)
{
    /* a close of any unix socket runs the collector; later kernels run it in a worker */
    int t[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, t);
    close(t[0]);
    close(t[1]);
    msleep(200);
}

int main(void)
{
    /* a cycle: both ends of a pair in flight on the pair itself, then closed */
    int s[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    unsigned long a = ino_of(s[0]), b = ino_of(s[1]);
    rc("send both ends over the pair", send_fds(s[0], s, 2));
    close(s[0]);
    close(s[1]);
    settle();
    printf("cycle: listed %d %d\n", listed(a), listed(b));

    /* a socket sent to itself */
    int d[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
    unsigned long c = ino_of(d[1]);
    rc("send an end to itself", send_fds(d[0], &d[1], 1));
    close(d[1]);
    settle();
    printf("self after the sender closed its end: listed %d\n", listed(c));
    close(d[0]);
    settle();
    printf("self after both closed: listed %d\n", listed(c));

    /* reachable: in flight on a queue whose socket is still open */
    int r[2], q[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, r);
    socketpair(AF_UNIX, SOCK_STREAM, 0, q);
    unsigned long e = ino_of(q[0]);
    rc("send q0 to r1", send_fds(r[0], &q[0], 1));
    close(q[0]);
    settle();
    printf("reachable: listed %d\n", listed(e));
    int got = recv_fd(r[1]);
    printf("received: %s\n", got >= 0 ? "a descriptor" : strerrorname_np(errno));
    rc("send through it", send(got, "hi", 2, 0));
    char buf[4] = {0};
    rc("its peer reads", recv(q[1], buf, sizeof buf, 0));

    /* a cycle through two pairs: each holds the other's end */
    int x[2], y[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, x);
    socketpair(AF_UNIX, SOCK_STREAM, 0, y);
    unsigned long x1 = ino_of(x[1]), y1 = ino_of(y[1]);
    send_fds(x[0], &y[1], 1);          /* y1 waits on x1's queue */
    send_fds(y[0], &x[1], 1);          /* x1 waits on y1's queue */
    close(x[1]);
    close(y[1]);
    settle();
    printf("two pairs, senders open: listed %d %d\n", listed(x1), listed(y1));
    close(x[0]);
    close(y[0]);
    settle();
    printf("two pairs, all closed: listed %d %d\n", listed(x1), listed(y1));
    return 0;
}
