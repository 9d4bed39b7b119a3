/* AF_UNIX SOCK_DGRAM and SOCK_SEQPACKET: message boundaries, truncation (MSG_TRUNC both as
 * a result flag and as a request), MSG_PEEK, senders' addresses, the queue limit of an
 * unconnected receiver, connect/disconnect (AF_UNSPEC), ECONNREFUSED then ENOTCONN after the
 * peer closes, EPERM to a socket connected elsewhere, EMSGSIZE, shutdown, poll; seqpacket
 * listen/accept, EOF and EPIPE after the peer closes. Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

static volatile int sigpipes;
static void on_pipe(int s) { (void)s; sigpipes++; }

static int revents(int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    return p.revents;
}

static socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

/* recvmsg into a buffer of n bytes: prints the count, the bytes, msg_flags and the name length */
static void show_recvmsg(const char *what, int fd, size_t n, int flags)
{
    char buf[256];
    struct sockaddr_un from;
    struct iovec iov = {buf, n};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    long r = recvmsg(fd, &m, flags);
    printf("%s: %ld %s '%.*s' flags %x namelen %u\n", what, r, err(r), (int)(r > 0 && (size_t)r <= n ? r : r > 0 ? (long)n : 0),
           buf, m.msg_flags, m.msg_namelen);
}

static void dgram_pair(void)
{
    int sv[2];
    printf("dgram socketpair: %s, poll %x %x\n", err(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv)), revents(sv[0]),
           revents(sv[1]));
    send(sv[0], "one", 3, 0);
    send(sv[0], "three", 5, 0);
    send(sv[0], "seventeen", 9, 0);
    send(sv[0], "", 0, 0);
    printf("poll with messages: %x\n", revents(sv[1]));
    show_recvmsg("peek", sv[1], 100, MSG_PEEK);
    show_recvmsg("whole", sv[1], 100, 0);
    show_recvmsg("cut to 2", sv[1], 2, 0);
    char buf[8];
    long r = recv(sv[1], buf, 4, MSG_TRUNC);
    printf("recv 4 with MSG_TRUNC: %ld\n", r);
    r = read(sv[1], buf, sizeof buf);
    printf("empty datagram: %ld\n", r);
    r = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
    printf("none left: %ld %s\n", r, err(r));
    int type = 0;
    socklen_t len = sizeof type;
    getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len);
    printf("SO_TYPE %d\n", type);

    static char big[300000];
    r = send(sv[0], big, 212992 - 32 + 1, 0);
    printf("send sndbuf-31 bytes: %ld %s\n", r, err(r));
    r = send(sv[0], big, 100000, 0);
    printf("send 100000: %ld; recv 200000 gets %ld\n", r, (long)recv(sv[1], big, 200000, 0));

    shutdown(sv[1], SHUT_RD);
    printf("after SHUT_RD: poll %x, recv %ld", revents(sv[1]), (long)recv(sv[1], buf, sizeof buf, 0));
    r = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
    printf(", DONTWAIT %ld %s", r, err(r));
    r = send(sv[0], "x", 1, 0);
    printf(", peer sends: %ld %s sigpipes %d\n", r, err(r), sigpipes);
    close(sv[0]);
    close(sv[1]);
}

static void dgram_named(void)
{
    const char *spath = "/tmp/unix_dgram.srv", *cpath = "/tmp/unix_dgram.cli";
    struct sockaddr_un sa, ca, from;
    socklen_t salen = path_addr(&sa, spath), calen = path_addr(&ca, cpath), len;
    unlink(spath);
    unlink(cpath);
    int srv = socket(AF_UNIX, SOCK_DGRAM, 0);
    printf("bind server: %s\n", err(bind(srv, (struct sockaddr *)&sa, salen)));
    int anon = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    char buf[64];
    long r = sendto(anon, "anonymous", 9, 0, (struct sockaddr *)&sa, salen);
    len = sizeof from;
    memset(&from, 0, sizeof from);
    long got = recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    printf("unbound sender: sent %ld, got %ld, addrlen %u\n", r, got, len);
    int cli = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(cli, (struct sockaddr *)&ca, calen);
    sendto(cli, "named", 5, 0, (struct sockaddr *)&sa, salen);
    len = sizeof from;
    got = recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    printf("bound sender: got %ld, addrlen %u path %s\n", got, len, from.sun_path);
    sendto(srv, "reply", 5, 0, (struct sockaddr *)&from, len);
    got = recv(cli, buf, sizeof buf, 0);
    printf("reply to the sender's address: %ld '%.*s'\n", got, (int)got, buf);

    /* the queue of an unconnected receiver holds max_dgram_qlen + 1 = 11 */
    int n = 0;
    while (sendto(anon, "q", 1, 0, (struct sockaddr *)&sa, salen) == 1 && n < 100)
        n++;
    printf("queued before %s: %d; sender poll %x\n", strerrorname_np(errno), n, revents(anon));
    recv(srv, buf, sizeof buf, 0);
    printf("after one recv: %s\n", err(sendto(anon, "q", 1, 0, (struct sockaddr *)&sa, salen)));
    while (recv(srv, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;

    /* connected: the queue limit does not apply when the receiver is connected back */
    connect(anon, (struct sockaddr *)&sa, salen);
    n = 0;
    while (send(anon, "q", 1, 0) == 1 && n < 100)
        n++;
    printf("connected sender queued before %s: %d, poll %x\n", n < 100 ? strerrorname_np(errno) : "-", n, revents(anon));
    while (recv(srv, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
    len = sizeof from;
    printf("getpeername: %s len %u\n", err(getpeername(anon, (struct sockaddr *)&from, &len)), len);

    /* EPERM: cli is connected to srv; a third socket may not send to cli */
    connect(cli, (struct sockaddr *)&sa, salen);
    int third = socket(AF_UNIX, SOCK_DGRAM, 0);
    r = sendto(third, "x", 1, 0, (struct sockaddr *)&ca, calen);
    printf("send to a socket connected elsewhere: %s\n", err(r));
    printf("connect to it: %s\n", err(connect(third, (struct sockaddr *)&ca, calen)));
    r = sendto(srv, "ok", 2, 0, (struct sockaddr *)&ca, calen);
    printf("its peer may: %s\n", err(r));
    recv(cli, buf, sizeof buf, 0);
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    printf("disconnect with AF_UNSPEC: %s", err(connect(cli, &unspec, sizeof unspec)));
    len = sizeof from;
    printf(", getpeername %s, send %s\n", err(getpeername(cli, (struct sockaddr *)&from, &len)),
           err(send(cli, "x", 1, 0)));

    /* the peer closes: ECONNREFUSED once, then ENOTCONN */
    close(srv);
    r = send(anon, "x", 1, 0);
    printf("send after the peer closed: %s", err(r));
    r = send(anon, "x", 1, 0);
    printf(", then %s", err(r));
    r = sendto(anon, "x", 1, 0, (struct sockaddr *)&sa, salen);
    printf(", sendto its path %s\n", err(r));
    close(anon);
    close(cli);
    close(third);
    unlink(spath);
    unlink(cpath);
}

static void seqpacket(void)
{
    int sv[2];
    char buf[64];
    printf("seqpacket socketpair: %s, poll %x\n", err(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv)), revents(sv[0]));
    send(sv[0], "first", 5, 0);
    send(sv[0], "second", 6, 0);
    show_recvmsg("seq cut to 3", sv[1], 3, 0);
    show_recvmsg("seq next", sv[1], 64, 0);
    struct sockaddr_un sa;
    socklen_t salen = path_addr(&sa, "/tmp/unix_seq.sock");
    unlink("/tmp/unix_seq.sock");
    int ls = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    bind(ls, (struct sockaddr *)&sa, salen);
    printf("seq listen: %s, poll %x\n", err(listen(ls, 4)), revents(ls));
    int fresh = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    printf("fresh seqpacket poll %x, send %s, recv %s\n", revents(fresh), err(send(fresh, "x", 1, 0)),
           err(recv(fresh, buf, 1, MSG_DONTWAIT)));
    int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    printf("seq connect: %s\n", err(connect(c, (struct sockaddr *)&sa, salen)));
    send(c, "before accept", 13, 0);
    int s = accept(ls, NULL, NULL);
    long r = recv(s, buf, sizeof buf, 0);
    printf("seq accept: %s, then recv %ld '%.*s'\n", err(s), r, (int)r, buf);
    send(s, "a", 1, 0);
    send(s, "bb", 2, 0);
    close(s);
    printf("peer closed: poll %x\n", revents(c));
    r = recv(c, buf, sizeof buf, 0);
    printf("recv %ld", r);
    r = recv(c, buf, sizeof buf, 0);
    printf(", recv %ld", r);
    r = recv(c, buf, sizeof buf, 0);
    printf(", recv %ld %s", r, err(r));
    r = recv(c, buf, sizeof buf, MSG_DONTWAIT);
    printf(", DONTWAIT %ld %s\n", r, err(r));
    r = send(c, "x", 1, 0);
    printf("send after the peer closed: %ld %s sigpipes %d\n", r, err(r), sigpipes);
    shutdown(sv[0], SHUT_WR);
    r = recv(sv[1], buf, sizeof buf, 0);
    printf("seq after SHUT_WR: recv %ld, poll %x\n", r, revents(sv[1]));
    r = send(sv[0], "x", 1, MSG_NOSIGNAL);
    printf("seq send after own SHUT_WR: %ld %s sigpipes %d\n", r, err(r), sigpipes);
    close(ls);
    unlink("/tmp/unix_seq.sock");
}

static void mmsg(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    char bufs[5][16];
    struct iovec iov[5];
    struct mmsghdr mm[5];
    const char *words[3] = {"a", "bb", "ccc"};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = (void *)words[i];
        iov[i].iov_len = strlen(words[i]);
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    printf("sendmmsg: %d, msg_len %u %u %u\n", sendmmsg(sv[0], mm, 3, 0), mm[0].msg_len, mm[1].msg_len,
           mm[2].msg_len);
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 5; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(sv[1], mm, 5, MSG_DONTWAIT, NULL);
    printf("recvmmsg DONTWAIT: %d, msg_len %u %u %u '%.3s'\n", n, mm[0].msg_len, mm[1].msg_len, mm[2].msg_len,
           bufs[2]);
    n = recvmmsg(sv[1], mm, 5, MSG_DONTWAIT, NULL);
    printf("recvmmsg empty: %d %s\n", n, err(n));
    send(sv[0], "x", 1, 0);
    send(sv[0], "yy", 2, 0);
    n = recvmmsg(sv[1], mm, 5, MSG_WAITFORONE, NULL);
    printf("recvmmsg MSG_WAITFORONE: %d\n", n);
    printf("sendmmsg to no one: %s\n", err(sendmmsg(socket(AF_UNIX, SOCK_DGRAM, 0), mm, 1, 0)));
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    signal(SIGPIPE, on_pipe);
    mmsg();
    dgram_pair();
    dgram_named();
    seqpacket();
    printf("done\n");
    return 0;
}
