/* MSG_OOB on AF_UNIX stream sockets (Linux's CONFIG_AF_UNIX_OOB): one byte of urgent data,
 * the mark (SIOCATMARK), reads stopping at it, recv(MSG_OOB), SO_OOBINLINE, POLLPRI, a
 * second urgent byte replacing the first; datagram and seqpacket sockets refuse it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "report.h"

static int s[2];

static void pair(void)
{
    close(s[0]);
    close(s[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
}

static void mark(const char *what)
{
    int at = -1;
    int r = ioctl(s[1], SIOCATMARK, &at);
    printf("%s: atmark %s %d\n", what, err(r), at);
}

static void pri(const char *what)
{
    struct pollfd p = {.fd = s[1], .events = POLLIN | POLLPRI};
    poll(&p, 1, 0);
    printf("%s: poll%s%s\n", what, p.revents & POLLIN ? " IN" : "", p.revents & POLLPRI ? " PRI" : "");
}

static void recv_(const char *what, int flags)
{
    char buf[64];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    long n = recvmsg(s[1], &m, flags | MSG_DONTWAIT);
    if (n < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld \"%.*s\"%s\n", what, n, (int)n, buf, m.msg_flags & MSG_OOB ? " MSG_OOB" : "");
}

static void inq(const char *what)
{
    int n = -1;
    ioctl(s[1], FIONREAD, &n);
    printf("%s: inq %d\n", what, n);
}

int main(void)
{
    s[0] = s[1] = -1;
    pair();
    printf("send oob empty: %s\n", err(send(s[0], "", 0, MSG_OOB)));
    recv_("recv oob of nothing", MSG_OOB);
    mark("empty");
    pri("empty");

    rc("send abc oob", send(s[0], "abc", 3, MSG_OOB));
    rc("send def", send(s[0], "def", 3, 0));
    mark("before");
    pri("before");
    inq("before");
    recv_("peek", MSG_PEEK);
    recv_("read to the mark", 0);
    mark("at the mark");
    recv_("peek oob", MSG_OOB | MSG_PEEK);
    recv_("recv oob", MSG_OOB);
    recv_("recv oob again", MSG_OOB);
    pri("after oob");
    inq("after oob");
    mark("after oob");
    recv_("rest", 0);

    pair();
    send(s[0], "xy", 2, MSG_OOB);
    send(s[0], "z", 1, 0);
    recv_("read x", 0);
    recv_("read past the mark", 0);
    recv_("oob after it went by", MSG_OOB);

    pair();
    send(s[0], "1", 1, MSG_OOB);
    send(s[0], "2", 1, MSG_OOB);
    mark("two oob");
    recv_("oob of two", MSG_OOB);
    recv_("then", 0);
    recv_("then more", 0);

    pair();
    int on = 1;
    rc("SO_OOBINLINE", setsockopt(s[1], SOL_SOCKET, SO_OOBINLINE, &on, sizeof on));
    socklen_t len = sizeof on;
    on = -1;
    getsockopt(s[1], SOL_SOCKET, SO_OOBINLINE, &on, &len);
    printf("getsockopt SO_OOBINLINE: %d\n", on);
    send(s[0], "ab", 2, MSG_OOB);
    send(s[0], "c", 1, 0);
    recv_("inline oob", MSG_OOB);
    mark("inline before");
    recv_("inline read", 0);
    mark("inline at");
    recv_("inline read 2", 0);

    int d[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
    printf("dgram send oob: %s\n", err(send(d[0], "a", 1, MSG_OOB)));
    send(d[0], "a", 1, 0);
    char c;
    printf("dgram recv oob: %s\n", err(recv(d[1], &c, 1, MSG_OOB)));
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, d);
    printf("seqpacket send oob: %s\n", err(send(d[0], "a", 1, MSG_OOB)));
    return 0;
}
