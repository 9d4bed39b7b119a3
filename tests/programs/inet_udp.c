/* UDP over the loopback, compared with Linux: message boundaries, truncation, MSG_PEEK and
 * MSG_TRUNC, the sender's address, connected sockets (the filter on what they receive, the
 * port-unreachable ECONNREFUSED, AF_UNSPEC disconnect), sendto errors, IPv6 and IPv4-mapped
 * addresses, what socket(2) says to ping and unknown protocols. Fixed ports are 42xx. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

static struct sockaddr_in lo4(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static const char *name_of(struct sockaddr *sa, socklen_t n)
{
    static char buf[80];
    char ip[INET6_ADDRSTRLEN];
    if (n == 0)
        return "none";
    int port = ntohs(((struct sockaddr_in *)sa)->sin_port);
    const char *p = port >= 32768 && port <= 60999 ? "eph" : port ? "fixed" : "0";
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
    snprintf(buf, sizeof buf, "%s:%s/%d", ip, p, (int)n);
    return buf;
}

static void recv_one(const char *what, int fd, size_t room, int flags)
{
    char buf[128];
    struct sockaddr_storage from;
    socklen_t n = sizeof from;
    struct iovec iov = {buf, room};
    struct msghdr m = {.msg_name = &from, .msg_namelen = n, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t r = recvmsg(fd, &m, flags);
    if (r < 0) {
        printf("%s: %s\n", what, err(r));
        return;
    }
    int shown = r < (ssize_t)room ? (int)r : (int)room;
    printf("%s: %zd '%.*s' flags %#x from %s\n", what, r, shown, buf, m.msg_flags,
           name_of((void *)&from, m.msg_namelen));
}

static void names(const char *what, int fd)
{
    struct sockaddr_storage a;
    socklen_t n = sizeof a;
    int r = getsockname(fd, (void *)&a, &n);
    printf("%s: sock %s", what, r < 0 ? err(r) : name_of((void *)&a, n));
    n = sizeof a;
    r = getpeername(fd, (void *)&a, &n);
    printf(", peer %s\n", r < 0 ? err(r) : name_of((void *)&a, n));
}

static int pollev(int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    return p.revents;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int r = socket(AF_INET, SOCK_DGRAM, 0), s = socket(AF_INET, SOCK_DGRAM, 0), v;
    socklen_t vl = sizeof v;
    struct sockaddr_in ra = lo4(4201);
    show("bind", bind(r, (void *)&ra, sizeof ra));
    names("unbound sender", s);
    printf("poll empty %#x\n", pollev(r));
    show("send 'one'", sendto(s, "one", 3, 0, (void *)&ra, sizeof ra));
    show("send ''", sendto(s, "", 0, 0, (void *)&ra, sizeof ra));
    show("send 'three'", sendto(s, "three", 5, 0, (void *)&ra, sizeof ra));
    names("sender after sending", s);
    printf("poll %#x\n", pollev(r));
    int avail = -1;
    ioctl(r, FIONREAD, &avail);
    printf("FIONREAD %d\n", avail);
    recv_one("peek", r, 100, MSG_PEEK);
    recv_one("recv", r, 100, 0);
    recv_one("empty datagram", r, 100, 0);
    recv_one("cut to 2", r, 2, 0);
    recv_one("DONTWAIT on empty", r, 100, MSG_DONTWAIT);
    sendto(s, "truncated", 9, 0, (void *)&ra, sizeof ra);
    recv_one("MSG_TRUNC cut to 3", r, 3, MSG_TRUNC);
    getsockopt(r, SOL_SOCKET, SO_RCVBUF, &v, &vl);
    printf("SO_RCVBUF %d\n", v);

    show("sendto port 0", sendto(s, "x", 1, 0, (void *)&(struct sockaddr_in){.sin_family = AF_INET}, sizeof ra));
    show("send unconnected", send(s, "x", 1, 0));
    show("sendto short", sendto(s, "x", 1, 0, (void *)&ra, sizeof ra - 1));
    struct sockaddr_in un = ra;
    un.sin_family = AF_UNSPEC;
    show("sendto AF_UNSPEC", sendto(s, "unspec", 6, 0, (void *)&un, sizeof un));
    recv_one("got", r, 100, 0);
    un.sin_family = AF_INET6;
    show("sendto AF_INET6", sendto(s, "x", 1, 0, (void *)&un, sizeof un));
    static char big[70000];
    show("sendto 65507", sendto(s, big, 65507, 0, (void *)&ra, sizeof ra));
    show("sendto 65508", sendto(s, big, 65508, 0, (void *)&ra, sizeof ra));
    recv_one("big", r, 4, 0);
    show("shutdown unconnected", shutdown(s, SHUT_RD));

    /* Connected sockets. */
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in closed = lo4(4202), other = lo4(4203);
    show("connect to a closed port", connect(c, (void *)&closed, sizeof closed));
    names("connected", c);
    show("send", send(c, "x", 1, 0));
    msleep(20);
    printf("poll after %#x\n", pollev(c));
    show("send again", send(c, "x", 1, 0));
    show("send once more", send(c, "x", 1, 0));
    msleep(20);
    recv_one("recv", c, 10, MSG_DONTWAIT);
    recv_one("recv again", c, 10, MSG_DONTWAIT);
    show("connect to the receiver", connect(c, (void *)&ra, sizeof ra));
    show("send", send(c, "via connect", 11, 0));
    recv_one("receiver got", r, 100, 0);
    show("connect r to 127.0.0.1:4203", connect(r, (void *)&other, sizeof other));
    show("unconnected sender to it", sendto(s, "filtered", 8, 0, (void *)&ra, sizeof ra));
    recv_one("r", r, 100, MSG_DONTWAIT);
    show("disconnect r", connect(r, (void *)&(struct sockaddr){.sa_family = AF_UNSPEC}, sizeof(struct sockaddr)));
    names("r after disconnect", r);
    show("sendto again", sendto(s, "through", 7, 0, (void *)&ra, sizeof ra));
    recv_one("r", r, 100, MSG_DONTWAIT);
    show("disconnect c", connect(c, (void *)&(struct sockaddr){.sa_family = AF_UNSPEC}, sizeof(struct sockaddr)));
    names("c after disconnect", c);
    show("shutdown connected? no", shutdown(c, SHUT_WR));
    close(c);

    /* IPv6. */
    int r6 = socket(AF_INET6, SOCK_DGRAM, 0), s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(4204), .sin6_addr = in6addr_any};
    show("bind [::]:4204", bind(r6, (void *)&a6, sizeof a6));
    a6.sin6_addr = in6addr_loopback;
    show("send to [::1]", sendto(s6, "six", 3, 0, (void *)&a6, sizeof a6));
    recv_one("r6", r6, 100, 0);
    struct sockaddr_in to4 = lo4(4204);
    show("AF_INET sender to the v6 wildcard", sendto(s, "four", 4, 0, (void *)&to4, sizeof to4));
    recv_one("r6", r6, 100, 0);
    show("v6 socket sendto a sockaddr_in", sendto(s6, "plain4", 6, 0, (void *)&ra, sizeof ra));
    recv_one("r", r, 100, MSG_DONTWAIT);
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
    a6.sin6_port = htons(4201);
    show("v6 socket sendto ::ffff:127.0.0.1", sendto(s6, "mapped", 6, 0, (void *)&a6, sizeof a6));
    recv_one("r", r, 100, MSG_DONTWAIT);
    show("sendto 65527 over v6", sendto(s6, big, 65527, 0, (void *)&(struct sockaddr_in6){
        .sin6_family = AF_INET6, .sin6_port = htons(4204), .sin6_addr = in6addr_loopback}, sizeof a6));
    show("sendto 65528 over v6", sendto(s6, big, 65528, 0, (void *)&(struct sockaddr_in6){
        .sin6_family = AF_INET6, .sin6_port = htons(4204), .sin6_addr = in6addr_loopback}, sizeof a6));
    recv_one("r6", r6, 2, 0);

    /* socket(2) */
    show("ping socket", socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
    show("ping6 socket", socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6));
    show("SOCK_DGRAM IPPROTO_TCP", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
    show("SOCK_STREAM IPPROTO_UDP", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    show("SOCK_SEQPACKET", socket(AF_INET, SOCK_SEQPACKET, 0));
    show("protocol 300", socket(AF_INET, SOCK_STREAM, 300));
    int sv[2];
    show("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, sv));
    printf("done\n");
    return 0;
}
