/* AF_UNIX errors in Linux's order: socket/socketpair argument checks, bind (lengths, family,
 * already bound, existing and missing paths), listen/accept4/connect on the wrong kinds of
 * socket, EACCES for a socket file one may not write, send/recv without a connection,
 * option errors, msghdr and control-buffer errors, ENOTSOCK/EBADF. Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

#define T(what, call) printf("%s: %s\n", what, err(call))

static socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

int main(void)
{
    int sv[2];
    setvbuf(stdout, NULL, _IONBF, 0);
    T("socket bad flags", socket(AF_UNIX, SOCK_STREAM | 0x100000, 0));
    T("socket family 99", socket(99, SOCK_STREAM, 0));
    T("socket family -1", socket(-1, SOCK_STREAM, 0));
    T("socket family 45 bad type", socket(45, 99, 0));
    T("socket type 11", socket(AF_UNIX, 11, 0));
    T("socket type 11 protocol 5", socket(AF_UNIX, 11, 5));
    T("socket SOCK_RDM", socket(AF_UNIX, SOCK_RDM, 0));
    T("socket SOCK_PACKET", socket(AF_UNIX, SOCK_PACKET, 0));
    T("socket protocol 2", socket(AF_UNIX, SOCK_STREAM, 2));
    T("socket protocol 2 SOCK_RDM", socket(AF_UNIX, SOCK_RDM, 2));
    int p1 = socket(AF_UNIX, SOCK_DGRAM, PF_UNIX);
    int v = -1;
    socklen_t len = sizeof v;
    getsockopt(p1, SOL_SOCKET, SO_PROTOCOL, &v, &len);
    printf("protocol PF_UNIX: %s SO_PROTOCOL %d\n", err(p1), v);
    int raw = socket(AF_UNIX, SOCK_RAW, 0);
    getsockopt(raw, SOL_SOCKET, SO_TYPE, &v, &len);
    printf("SOCK_RAW: %s SO_TYPE %d\n", err(raw), v);
    T("socketpair SOCK_RDM", socketpair(AF_UNIX, SOCK_RDM, 0, sv));
    T("socketpair bad flags", socketpair(AF_UNIX, SOCK_STREAM | 0x100000, 0, sv));
    T("socketpair family 99", socketpair(99, SOCK_STREAM, 0, sv));
    int *volatile nowhere = (int *)8;
    T("socketpair bad pointer", socketpair(AF_UNIX, SOCK_STREAM, 0, nowhere));
    int s = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
    printf("socketpair NONBLOCK|CLOEXEC: %s nonblock %d cloexec %d\n", err(s), !!(fcntl(sv[0], F_GETFL) & O_NONBLOCK),
           fcntl(sv[1], F_GETFD));

    /* bind */
    struct sockaddr_un sa;
    socklen_t salen;
    int b = socket(AF_UNIX, SOCK_STREAM, 0);
    int file = open("/tmp/unix_errors.file", O_RDWR | O_CREAT | O_TRUNC, 0644);
    salen = path_addr(&sa, "/tmp/unix_errors.sock");
    unlink(sa.sun_path);
    T("bind bad fd", bind(99, (struct sockaddr *)&sa, salen));
    T("bind a file", bind(file, (struct sockaddr *)&sa, salen));
    T("bind addrlen 129", bind(b, (struct sockaddr *)&sa, 129));
    T("bind addrlen 111", bind(b, (struct sockaddr *)&sa, 111));
    T("bind addrlen 1", bind(b, (struct sockaddr *)&sa, 1));
    T("bind addrlen 0", bind(b, (struct sockaddr *)&sa, 0));
    T("bind bad address", bind(b, (struct sockaddr *)8, salen));
    sa.sun_family = AF_INET;
    T("bind family AF_INET", bind(b, (struct sockaddr *)&sa, salen));
    sa.sun_family = AF_UNIX;
    struct sockaddr_un missing;
    socklen_t mlen = path_addr(&missing, "/tmp/no/such/dir/sock");
    T("bind in a missing directory", bind(b, (struct sockaddr *)&missing, mlen));
    struct sockaddr_un fileaddr;
    socklen_t flen = path_addr(&fileaddr, "/tmp/unix_errors.file");
    T("bind over a file", bind(b, (struct sockaddr *)&fileaddr, flen));
    struct sockaddr_un under;
    socklen_t ulen = path_addr(&under, "/tmp/unix_errors.file/x");
    T("bind below a file", bind(b, (struct sockaddr *)&under, ulen));
    T("bind", bind(b, (struct sockaddr *)&sa, salen));
    T("bind again, same path", bind(b, (struct sockaddr *)&sa, salen));
    struct sockaddr_un other;
    socklen_t olen = path_addr(&other, "/tmp/unix_errors.other");
    unlink(other.sun_path);
    T("bind again, new path", bind(b, (struct sockaddr *)&other, olen));
    struct stat st;
    T("  ... and the new path", stat(other.sun_path, &st));
    memset(&other, 0, sizeof other);
    other.sun_family = AF_UNIX;
    memcpy(other.sun_path, "\0errors", 7);
    T("bind again, abstract", bind(b, (struct sockaddr *)&other, offsetof(struct sockaddr_un, sun_path) + 7));

    /* listen and accept */
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    T("listen dgram", listen(d, 1));
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    T("listen unbound", listen(u, 1));
    T("listen a pair", listen(sv[0], 1));
    T("listen a file", listen(file, 1));
    T("listen bad fd", listen(99, 1));
    T("listen -1", listen(b, -1));
    T("listen again", listen(b, 5));
    T("accept not listening", accept(u, NULL, NULL));
    T("accept dgram", accept(d, NULL, NULL));
    T("accept4 bad flags", accept4(b, NULL, NULL, 0x100000));
    T("accept4 bad fd and flags", accept4(99, NULL, NULL, 0x100000));
    T("accept4 a file, bad flags", accept4(file, NULL, NULL, 0x100000));
    T("accept a file", accept(file, NULL, NULL));
    socklen_t neg = -1;
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&sa, salen);
    struct sockaddr_un peer;
    fcntl(b, F_SETFL, O_NONBLOCK);
    T("accept with addrlen -1", accept(b, (struct sockaddr *)&peer, &neg));
    T("accept after that", accept4(b, NULL, NULL, SOCK_NONBLOCK));
    T("accept bad addrlen pointer", accept(b, (struct sockaddr *)&peer, (socklen_t *)8));

    /* connect */
    int e = socket(AF_UNIX, SOCK_STREAM, 0);
    T("connect addrlen 2", connect(e, (struct sockaddr *)&sa, 2));
    T("connect addrlen 129", connect(e, (struct sockaddr *)&sa, 129));
    T("connect missing", connect(e, (struct sockaddr *)&missing, mlen));
    T("connect a file", connect(e, (struct sockaddr *)&fileaddr, flen));
    T("connect a listening socket", connect(b, (struct sockaddr *)&sa, salen));
    T("connect connected to missing", connect(c, (struct sockaddr *)&missing, mlen));
    T("connect connected", connect(c, (struct sockaddr *)&sa, salen));
    T("connect dgram to stream", connect(d, (struct sockaddr *)&sa, salen));
    int seq = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    T("connect seqpacket to stream", connect(seq, (struct sockaddr *)&sa, salen));
    T("connect dgram addrlen 1", connect(d, (struct sockaddr *)&sa, 1));
    T("connect a file fd", connect(file, (struct sockaddr *)&sa, salen));
    chmod(sa.sun_path, 0755);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        setgid(65534);
        setuid(65534);
        int x = socket(AF_UNIX, SOCK_STREAM, 0);
        long r = connect(x, (struct sockaddr *)&sa, salen);
        _exit(r < 0 ? errno : 0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("connect as nobody to a 0755 socket: %s\n", strerrorname_np(WEXITSTATUS(status)));

    /* names */
    T("getpeername unconnected", getpeername(u, (struct sockaddr *)&peer, &(socklen_t){sizeof peer}));
    T("getsockname a file", getsockname(file, (struct sockaddr *)&peer, &(socklen_t){sizeof peer}));
    T("getsockname addrlen -1", getsockname(b, (struct sockaddr *)&peer, &neg));
    T("getsockname bad addrlen pointer", getsockname(b, (struct sockaddr *)&peer, (socklen_t *)8));
    len = 4;
    memset(&peer, 0, sizeof peer);
    getsockname(b, (struct sockaddr *)&peer, &len);
    printf("getsockname into 4 bytes: len %u, copied '%.2s' then %d\n", len, peer.sun_path, peer.sun_path[2]);

    /* shutdown */
    T("shutdown 3", shutdown(u, 3));
    T("shutdown -1", shutdown(u, -1));
    T("shutdown unconnected", shutdown(u, SHUT_RDWR));
    T("shutdown a file", shutdown(file, SHUT_RD));

    /* data without a connection */
    char buf[8];
    int u2 = socket(AF_UNIX, SOCK_STREAM, 0);
    T("send unconnected stream", send(u2, "x", 1, 0));
    T("write unconnected stream", write(u2, "x", 1));
    T("recv unconnected stream", recv(u2, buf, 1, 0));
    T("read listening", read(b, buf, 1));
    T("write listening", write(b, "x", 1));
    T("sendto unconnected stream with address", sendto(u2, "x", 1, 0, (struct sockaddr *)&sa, salen));
    T("sendto connected stream with address", sendto(c, "x", 1, 0, (struct sockaddr *)&sa, salen));
    int d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    T("send unconnected dgram", send(d2, "x", 1, 0));
    T("sendto dgram bad addrlen", sendto(d2, "x", 1, 0, (struct sockaddr *)&sa, 2));
    T("sendto dgram to a stream socket", sendto(d2, "x", 1, 0, (struct sockaddr *)&sa, salen));
    T("sendto dgram missing", sendto(d2, "x", 1, 0, (struct sockaddr *)&missing, mlen));
    T("send MSG_OOB dgram", sendto(d2, "x", 1, MSG_OOB, (struct sockaddr *)&sa, salen));
    T("recv MSG_OOB dgram", recv(d2, buf, 1, MSG_OOB | MSG_DONTWAIT));
    T("send seqpacket unconnected", send(seq, "x", 1, 0));
    T("recv seqpacket unconnected", recv(seq, buf, 1, MSG_DONTWAIT));
    T("send a file", send(file, "x", 1, 0));
    T("recv bad fd", recv(99, buf, 1, 0));
    T("send bad buffer", send(sv[0], (void *)8, 1, 0));

    /* options */
    v = 1;
    T("setsockopt level 99", setsockopt(c, 99, SO_SNDBUF, &v, sizeof v));
    T("setsockopt unknown", setsockopt(c, SOL_SOCKET, 999, &v, sizeof v));
    T("setsockopt SO_SNDBUF optlen 2", setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, 2));
    T("setsockopt optlen -1", setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, -1));
    T("setsockopt SO_TYPE", setsockopt(c, SOL_SOCKET, SO_TYPE, &v, sizeof v));
    T("setsockopt a file", setsockopt(file, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    struct timeval tv = {1, -1};
    T("SO_SNDTIMEO usec -1", setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    T("SO_SNDTIMEO short", setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, 8));
    tv.tv_sec = 2;
    tv.tv_usec = 500000;
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct timeval back;
    len = sizeof back;
    getsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &back, &len);
    printf("SO_SNDTIMEO: %ld.%06ld\n", (long)back.tv_sec, (long)back.tv_usec);
    T("getsockopt level 99", getsockopt(c, 99, SO_TYPE, &v, &len));
    len = sizeof v;
    T("getsockopt unknown", getsockopt(c, SOL_SOCKET, 999, &v, &len));
    int neglen = -1;
    T("getsockopt optlen -1", getsockopt(c, SOL_SOCKET, SO_TYPE, &v, (socklen_t *)&neglen));
    len = 2;
    v = 0;
    getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &len);
    printf("SO_TYPE into 2 bytes: len %u value %d\n", len, v);
    struct ucred uc;
    len = sizeof uc;
    getsockopt(u, SOL_SOCKET, SO_PEERCRED, &uc, &len);
    printf("SO_PEERCRED unconnected: len %u pid %d uid %d gid %d\n", len, uc.pid, (int)uc.uid, (int)uc.gid);
    len = sizeof uc;
    getsockopt(b, SOL_SOCKET, SO_PEERCRED, &uc, &len);
    printf("SO_PEERCRED of a listener is its own: %d\n", uc.pid == getpid());
    len = 64;
    char big[64];
    getsockopt(c, SOL_SOCKET, SO_PEERCRED, big, &len);
    printf("SO_PEERCRED into 64 bytes: len %u\n", len);
    len = sizeof v;
    T("getsockopt a file", getsockopt(file, SOL_SOCKET, SO_TYPE, &v, &len));

    /* msghdr and control errors */
    struct iovec iov = {"x", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1025};
    T("sendmsg 1025 iovecs", sendmsg(sv[0], &m, 0));
    T("recvmsg 1025 iovecs", recvmsg(sv[0], &m, 0));
    m.msg_iovlen = 1;
    char ctl[CMSG_SPACE(sizeof(int) * 2)];
    memset(ctl, 0, sizeof ctl);
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = sizeof ctl + 8;
    T("cmsg_len past the buffer", sendmsg(sv[0], &m, 0));
    cm->cmsg_len = 8;
    T("cmsg_len below a header", sendmsg(sv[0], &m, 0));
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    cm->cmsg_type = 99;
    T("unknown SOL_SOCKET cmsg", sendmsg(sv[0], &m, 0));
    cm->cmsg_level = 99;
    T("a cmsg of another level", sendmsg(sv[0], &m, 0));
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_CREDENTIALS;
    T("SCM_CREDENTIALS of a wrong length", sendmsg(sv[0], &m, 0));
    cm->cmsg_type = SCM_RIGHTS;
    *(int *)CMSG_DATA(cm) = -1;
    T("SCM_RIGHTS fd -1", sendmsg(sv[0], &m, 0));
    m.msg_controllen = 8;
    T("a control buffer shorter than a header", sendmsg(sv[0], &m, 0));
    m.msg_control = (void *)8;
    m.msg_controllen = 32;
    T("a bad control pointer", sendmsg(sv[0], &m, 0));
    m.msg_control = NULL;
    m.msg_controllen = 0;
    m.msg_name = &sa;
    m.msg_namelen = salen;
    T("sendmsg with a name on a pair", sendmsg(sv[0], &m, 0));
    T("sendmsg bad msghdr", sendmsg(sv[0], (struct msghdr *)8, 0));
    while (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
    unlink("/tmp/unix_errors.sock");
    unlink("/tmp/unix_errors.file");
    printf("done\n");
    return 0;
}
