/* TCP over the loopback, compared with Linux: connect to a closed port, non-blocking connect
 * (EINPROGRESS, writable, SO_ERROR, the second connect), accept's addresses, half-close,
 * MSG_PEEK/WAITALL/DONTWAIT, a write to a closed peer (once, then EPIPE + SIGPIPE), close
 * with unread data (ECONNRESET), shutdown and listen corners, poll events, options as read
 * back, IPv6 and IPv4-mapped peers. Ports are fixed (41xx); automatic ones are printed as
 * "in range" only. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

static int sigpipes;
static void on_pipe(int s) { (void)s; sigpipes++; }

static struct sockaddr_in lo4(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int listener(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = lo4(port);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (void *)&a, sizeof a) < 0 || listen(s, 8) < 0)
        printf("listener %d: %s\n", port, err(-1));
    return s;
}

static int connected(int port)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(port);
    if (connect(c, (void *)&a, sizeof a) < 0)
        printf("connect %d: %s\n", port, err(-1));
    return c;
}

static const char *name_of(struct sockaddr *sa)
{
    static char buf[80];
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *s = (void *)sa;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
        int p = ntohs(s->sin_port);
        snprintf(buf, sizeof buf, "%s:%s", ip, p >= 32768 && p <= 60999 ? "eph" : p ? "fixed" : "0");
    } else {
        struct sockaddr_in6 *s = (void *)sa;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
        int p = ntohs(s->sin6_port);
        snprintf(buf, sizeof buf, "[%s]:%s", ip, p >= 32768 && p <= 60999 ? "eph" : p ? "fixed" : "0");
    }
    return buf;
}

static void names(const char *what, int fd)
{
    struct sockaddr_storage a;
    socklen_t n = sizeof a;
    int r = getsockname(fd, (void *)&a, &n);
    printf("%s: sock %s len %d", what, r < 0 ? err(r) : name_of((void *)&a), (int)n);
    n = sizeof a;
    r = getpeername(fd, (void *)&a, &n);
    printf(", peer %s\n", r < 0 ? err(r) : name_of((void *)&a));
}

static int pollev(int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    return p.revents;
}

static int so_error(int fd)
{
    int e = -1;
    socklen_t n = sizeof e;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &n);
    return e;
}

static int opt(int fd, int level, int name)
{
    int v = -1;
    socklen_t n = sizeof v;
    if (getsockopt(fd, level, name, &v, &n) < 0)
        return -errno;
    return v;
}

static void refused_and_nonblocking(void)
{
    struct sockaddr_in a = lo4(4101);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    show("connect to a closed port", connect(c, (void *)&a, sizeof a));
    show("again", connect(c, (void *)&a, sizeof a));
    close(c);

    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    show("non-blocking connect to a closed port", connect(c, (void *)&a, sizeof a));
    msleep(50);
    printf("poll %#x, SO_ERROR %s\n", pollev(c), strerrorname_np(so_error(c)) ?: "0");
    show("connect again", connect(c, (void *)&a, sizeof a));
    close(c);

    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    show("a second non-blocking connect after the refusal", connect(c, (void *)&a, sizeof a));
    msleep(50);
    show("then", connect(c, (void *)&a, sizeof a));
    show("and then", connect(c, (void *)&a, sizeof a));
    close(c);

    int s = listener(4102);
    a = lo4(4102);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    show("non-blocking connect to a listener", connect(c, (void *)&a, sizeof a));
    msleep(50);
    printf("poll %#x, SO_ERROR %d\n", pollev(c), so_error(c));
    show("connect again", connect(c, (void *)&a, sizeof a));
    show("and again", connect(c, (void *)&a, sizeof a));
    struct sockaddr_storage peer;
    socklen_t n = sizeof peer;
    int fd = accept4(s, (void *)&peer, &n, SOCK_CLOEXEC);
    printf("accepted: %s len %d, cloexec %d\n", name_of((void *)&peer), (int)n, fcntl(fd, F_GETFD));
    names("client", c);
    names("accepted", fd);
    names("listener", s);
    close(fd);
    close(c);
    close(s);
}

static void stream(void)
{
    int s = listener(4103), c = connected(4103);
    int a = accept(s, NULL, NULL);
    char buf[64] = {0};
    write(c, "hello", 5);
    write(c, " world", 6);
    msleep(20);
    int avail = -1;
    ioctl(a, FIONREAD, &avail);
    printf("FIONREAD %d\n", avail);
    ssize_t r = recv(a, buf, sizeof buf, MSG_PEEK);
    printf("peek: %zd '%.*s'\n", r, (int)r, buf);
    r = recv(a, buf, 3, 0);
    printf("read 3: %zd '%.*s'\n", r, (int)r, buf);
    r = recv(a, buf, sizeof buf, MSG_DONTWAIT);
    printf("rest: %zd '%.*s'\n", r, (int)r, buf);
    show("DONTWAIT on empty", recv(a, buf, sizeof buf, MSG_DONTWAIT));
    if (fork() == 0) {
        msleep(50);
        write(c, "ab", 2);
        msleep(50);
        write(c, "cd", 2);
        _exit(0);
    }
    r = recv(a, buf, 4, MSG_WAITALL);
    printf("WAITALL 4: %zd '%.*s'\n", r, (int)r, buf);
    wait(NULL);
    printf("poll before half-close %#x\n", pollev(a));
    show("shutdown SHUT_WR", shutdown(c, SHUT_WR));
    msleep(20);
    printf("poll after the peer's SHUT_WR %#x\n", pollev(a));
    show("read at EOF", read(a, buf, sizeof buf));
    show("write back", write(a, "back", 4));
    r = read(c, buf, sizeof buf);
    printf("half-closed end reads: %zd '%.*s'\n", r, (int)r, buf);
    sigpipes = 0;
    show("write after own SHUT_WR", write(c, "x", 1));
    printf("sigpipes %d\n", sigpipes);
    show("send MSG_NOSIGNAL", send(c, "x", 1, MSG_NOSIGNAL));
    printf("sigpipes %d\n", sigpipes);
    close(a);
    close(c);

    /* A write to a peer that closed: accepted once, then EPIPE with SIGPIPE. */
    c = connected(4103);
    a = accept(s, NULL, NULL);
    close(a);
    msleep(20);
    printf("poll after the peer closed %#x\n", pollev(c));
    show("read", read(c, buf, sizeof buf));
    sigpipes = 0;
    show("first write", write(c, "x", 1));
    msleep(20);
    printf("poll %#x\n", pollev(c));
    show("second write", write(c, "x", 1));
    show("third write", write(c, "x", 1));
    printf("sigpipes %d\n", sigpipes);
    show("read after", read(c, buf, sizeof buf));
    close(c);

    /* Closing with unread data resets the connection. */
    c = connected(4103);
    a = accept(s, NULL, NULL);
    write(c, "unread", 6);
    msleep(20);
    close(a);
    msleep(20);
    printf("poll after the reset %#x\n", pollev(c));
    sigpipes = 0;
    show("read after the reset", read(c, buf, sizeof buf));
    show("read again", read(c, buf, sizeof buf));
    show("write", write(c, "x", 1));
    printf("sigpipes %d, SO_ERROR %d\n", sigpipes, so_error(c));
    close(c);

    /* An unaccepted connection is reset when the listener closes. */
    c = connected(4103);
    close(s);
    msleep(20);
    show("read after the listener closed", read(c, buf, sizeof buf));
    close(c);
}

static void corners(void)
{
    char buf[8];
    int s = socket(AF_INET, SOCK_STREAM, 0);
    printf("fresh socket poll %#x\n", pollev(s));
    show("read unconnected", read(s, buf, 1));
    sigpipes = 0;
    show("write unconnected", write(s, "x", 1));
    printf("sigpipes %d\n", sigpipes);
    show("shutdown unconnected", shutdown(s, SHUT_RDWR));
    show("accept unlistening", accept(s, NULL, NULL));
    show("listen unbound", listen(s, 1));
    names("listening on an automatic port", s);
    show("read on a listener", read(s, buf, 1));
    int avail;
    show("FIONREAD on a listener", ioctl(s, FIONREAD, &avail));
    show("getsockopt SO_ACCEPTCONN", opt(s, SOL_SOCKET, SO_ACCEPTCONN));
    struct sockaddr_in a = lo4(4104);
    show("bind a listener", bind(s, (void *)&a, sizeof a));
    show("connect a listener", connect(s, (void *)&a, sizeof a));
    show("shutdown SHUT_RD a listener", shutdown(s, SHUT_RD));
    show("SO_ACCEPTCONN after", opt(s, SOL_SOCKET, SO_ACCEPTCONN));
    show("accept after", accept(s, NULL, NULL));
    close(s);

    /* Binding. */
    int b1 = socket(AF_INET, SOCK_STREAM, 0), b2 = socket(AF_INET, SOCK_STREAM, 0);
    a = lo4(4105);
    show("bind", bind(b1, (void *)&a, sizeof a));
    show("bind the same port", bind(b2, (void *)&a, sizeof a));
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    show("bind the wildcard on it", bind(b2, (void *)&a, sizeof a));
    a.sin_addr.s_addr = inet_addr("127.0.0.2");
    show("bind 127.0.0.2 on it", bind(b2, (void *)&a, sizeof a));
    a.sin_addr.s_addr = inet_addr("192.0.2.1");
    show("bind a foreign address", bind(b2, (void *)&a, sizeof a));
    show("bind short", bind(b2, (void *)&a, sizeof a - 1));
    a.sin_family = AF_INET6;
    show("bind AF_INET6 family", bind(b2, (void *)&a, sizeof a));
    a.sin_family = AF_UNSPEC;
    a.sin_addr.s_addr = 0;
    a.sin_port = 0;
    show("bind AF_UNSPEC any", bind(b2, (void *)&a, sizeof a));
    show("bind twice", bind(b2, (void *)&a, sizeof a));
    close(b1);
    close(b2);

    b1 = socket(AF_INET, SOCK_STREAM, 0);
    b2 = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(b1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(b2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    a = lo4(4106);
    show("REUSEADDR bind", bind(b1, (void *)&a, sizeof a));
    show("REUSEADDR bind the same", bind(b2, (void *)&a, sizeof a));
    show("listen the first", listen(b1, 1));
    show("listen the second", listen(b2, 1));
    close(b1);
    close(b2);

    b1 = socket(AF_INET, SOCK_STREAM, 0);
    b2 = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(b1, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    setsockopt(b2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    a = lo4(4107);
    show("REUSEPORT bind", bind(b1, (void *)&a, sizeof a));
    show("REUSEPORT bind the same", bind(b2, (void *)&a, sizeof a));
    show("listen both", listen(b1, 1) | listen(b2, 1));
    close(b1);
    close(b2);
}

static void options(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), v;
    printf("SO_TYPE %d SO_PROTOCOL %d SO_DOMAIN %d\n", opt(s, SOL_SOCKET, SO_TYPE),
           opt(s, SOL_SOCKET, SO_PROTOCOL), opt(s, SOL_SOCKET, SO_DOMAIN));
    printf("SO_SNDBUF %d SO_RCVBUF %d\n", opt(s, SOL_SOCKET, SO_SNDBUF), opt(s, SOL_SOCKET, SO_RCVBUF));
    v = 10000;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    printf("after 10000: SO_SNDBUF %d SO_RCVBUF %d\n", opt(s, SOL_SOCKET, SO_SNDBUF), opt(s, SOL_SOCKET, SO_RCVBUF));
    printf("TCP_NODELAY %d TCP_KEEPIDLE %d TCP_KEEPINTVL %d TCP_KEEPCNT %d TCP_MAXSEG %d\n",
           opt(s, IPPROTO_TCP, TCP_NODELAY), opt(s, IPPROTO_TCP, TCP_KEEPIDLE), opt(s, IPPROTO_TCP, TCP_KEEPINTVL),
           opt(s, IPPROTO_TCP, TCP_KEEPCNT), opt(s, IPPROTO_TCP, TCP_MAXSEG));
    v = 5;
    show("TCP_NODELAY 5", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v));
    show("TCP_KEEPIDLE 5", setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v));
    printf("TCP_NODELAY %d TCP_KEEPIDLE %d\n", opt(s, IPPROTO_TCP, TCP_NODELAY), opt(s, IPPROTO_TCP, TCP_KEEPIDLE));
    v = 0;
    show("TCP_KEEPIDLE 0", setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v));
    show("TCP_KEEPCNT 0", setsockopt(s, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof v));
    show("TCP_NODELAY short", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, 2));
    show("unknown TCP option", setsockopt(s, IPPROTO_TCP, 99, &v, sizeof v));
    printf("IP_TTL %d IP_TOS %d\n", opt(s, IPPROTO_IP, IP_TTL), opt(s, IPPROTO_IP, IP_TOS));
    v = 0;
    show("IP_TTL 0", setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof v));
    v = 200;
    show("IP_TTL 200", setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof v));
    v = -1;
    show("IP_TTL -1", setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof v));
    printf("IP_TTL %d\n", opt(s, IPPROTO_IP, IP_TTL));
    show("IPV6_V6ONLY on AF_INET", opt(s, IPPROTO_IPV6, IPV6_V6ONLY));
    struct linger l = {1, 7};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    socklen_t n = sizeof l;
    memset(&l, 0, sizeof l);
    getsockopt(s, SOL_SOCKET, SO_LINGER, &l, &n);
    printf("SO_LINGER %d %d len %d\n", l.l_onoff, l.l_linger, (int)n);
    v = 1;
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v);
    setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &v, sizeof v);
    setsockopt(s, SOL_SOCKET, SO_BROADCAST, &v, sizeof v);
    printf("SO_KEEPALIVE %d SO_REUSEPORT %d SO_BROADCAST %d\n", opt(s, SOL_SOCKET, SO_KEEPALIVE),
           opt(s, SOL_SOCKET, SO_REUSEPORT), opt(s, SOL_SOCKET, SO_BROADCAST));
    char cc[16] = {0};
    n = sizeof cc;
    getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, cc, &n);
    printf("TCP_CONGESTION %s\n", cc);
    close(s);
}

static void ipv6(void)
{
    int s6 = socket(AF_INET6, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(4110), .sin6_addr = in6addr_any};
    setsockopt(s6, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    printf("IPV6_V6ONLY %d\n", opt(s6, IPPROTO_IPV6, IPV6_V6ONLY));
    show("bind [::]", bind(s6, (void *)&a6, sizeof a6));
    show("IPV6_V6ONLY after bind", setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
    listen(s6, 4);
    int b4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a4 = lo4(4110);
    show("bind 127.0.0.1 on the v6 wildcard's port", bind(b4, (void *)&a4, sizeof a4));
    close(b4);

    int c4 = connected(4110);
    struct sockaddr_storage peer;
    socklen_t n = sizeof peer;
    int fd = accept(s6, (void *)&peer, &n);
    printf("v4 client accepted by v6: %s len %d\n", name_of((void *)&peer), (int)n);
    names("v6 side", fd);
    write(c4, "v4", 2);
    char buf[8];
    printf("read %zd\n", read(fd, buf, sizeof buf));
    close(fd);
    close(c4);

    int c6 = socket(AF_INET6, SOCK_STREAM, 0);
    a6.sin6_addr = in6addr_loopback;
    show("connect [::1]", connect(c6, (void *)&a6, sizeof a6));
    fd = accept(s6, NULL, NULL);
    names("v6 client", c6);
    names("v6 accepted", fd);
    close(fd);
    close(c6);

    c6 = socket(AF_INET6, SOCK_STREAM, 0);
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
    show("connect [::ffff:127.0.0.1]", connect(c6, (void *)&a6, sizeof a6));
    fd = accept(s6, NULL, NULL);
    names("mapped client", c6);
    close(fd);
    close(c6);

    c6 = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(c6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    show("v6only connect to a mapped address", connect(c6, (void *)&a6, sizeof a6));
    show("connect short", connect(c6, (void *)&a6, 20));
    close(c6);
    close(s6);

    s6 = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    a6.sin6_addr = in6addr_any;
    a6.sin6_port = htons(4111);
    bind(s6, (void *)&a6, sizeof a6);
    listen(s6, 1);
    b4 = socket(AF_INET, SOCK_STREAM, 0);
    a4 = lo4(4111);
    show("bind v4 beside a v6only wildcard", bind(b4, (void *)&a4, sizeof a4));
    c4 = socket(AF_INET, SOCK_STREAM, 0);
    show("v4 connect to a v6only listener", connect(c4, (void *)&a4, sizeof a4));
    close(c4);
    close(b4);
    close(s6);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, on_pipe);
    refused_and_nonblocking();
    stream();
    corners();
    options();
    ipv6();
    printf("done\n");
    return 0;
}
