/* AF_UNIX SOCK_STREAM: socketpair I/O, MSG_PEEK/DONTWAIT/WAITALL, half-close with EOF and
 * EPIPE+SIGPIPE, ECONNRESET after a close with unread data, a path-bound server with
 * listen/accept4/connect across fork, the backlog, names (path, abstract, autobind) and their
 * lengths, SO_PEERCRED, buffer options, SO_RCVTIMEO, poll/epoll readiness, readv/writev,
 * fstat and /proc/self/fd. Prints what it sees; compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
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

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void pair_basics(void)
{
    int sv[2];
    char buf[64];
    printf("socketpair: %s\n", err(socketpair(AF_UNIX, SOCK_STREAM, 0, sv)));
    printf("fresh poll: %x %x\n", revents(sv[0]), revents(sv[1]));
    write(sv[0], "abc", 3);
    write(sv[0], "defg", 4);
    int avail = -1;
    ioctl(sv[1], FIONREAD, &avail);
    printf("after two writes: poll %x FIONREAD %d\n", revents(sv[1]), avail);
    long n = recv(sv[1], buf, sizeof buf, MSG_PEEK);
    printf("peek: %ld '%.*s'\n", n, (int)n, buf);
    n = read(sv[1], buf, 5);
    printf("read 5: %ld '%.*s'\n", n, (int)n, buf);
    n = read(sv[1], buf, sizeof buf);
    printf("read rest: %ld '%.*s'\n", n, (int)n, buf);
    n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
    printf("empty DONTWAIT: %ld %s\n", n, err(n));

    struct iovec w[3] = {{"one ", 4}, {"two ", 4}, {"three", 5}};
    printf("writev: %ld\n", (long)writev(sv[1], w, 3));
    char a[3], b[20];
    struct iovec r[2] = {{a, 3}, {b, sizeof b}};
    n = readv(sv[0], r, 2);
    printf("readv: %ld '%.3s' '%.*s'\n", n, a, (int)n - 3, b);

    struct stat st;
    fstat(sv[0], &st);
    char link[64], want[64];
    snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", sv[0]);
    n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    printf("fstat: sock %d mode %o size %ld; fd link matches ino: %d\n", S_ISSOCK(st.st_mode),
           st.st_mode, (long)st.st_size, strcmp(link, want) == 0);
    printf("lseek: %s\n", err(lseek(sv[0], 0, SEEK_SET)));
    struct statfs sfs;
    fstatfs(sv[0], &sfs);
    printf("fstatfs: type %lx bsize %ld blocks %ld namelen %ld\n", (long)sfs.f_type, (long)sfs.f_bsize,
           (long)sfs.f_blocks, (long)sfs.f_namelen);

    int type = 0, dom = 0, acc = -1;
    socklen_t len = sizeof type;
    getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len);
    len = sizeof dom;
    getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &dom, &len);
    len = sizeof acc;
    getsockopt(sv[0], SOL_SOCKET, SO_ACCEPTCONN, &acc, &len);
    struct ucred uc;
    len = sizeof uc;
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &len);
    printf("SO_TYPE %d SO_DOMAIN %d SO_ACCEPTCONN %d; SO_PEERCRED len %u self %d uid %u gid %u\n",
           type, dom, acc, len, uc.pid == getpid(), uc.uid, uc.gid);
    struct sockaddr_un sa;
    len = sizeof sa;
    getsockname(sv[0], (struct sockaddr *)&sa, &len);
    printf("getsockname of a pair: len %u family %d\n", len, sa.sun_family);
    len = sizeof sa;
    printf("getpeername of a pair: %s len %u\n", err(getpeername(sv[0], (struct sockaddr *)&sa, &len)), len);

    /* epoll: readable after a write, RDHUP after the peer's SHUT_WR */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.u32 = 7}, got[2];
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
    printf("epoll idle: %d\n", epoll_wait(ep, got, 2, 0));
    write(sv[0], "x", 1);
    n = epoll_wait(ep, got, 2, 100);
    printf("epoll after write: %ld events %x\n", n, n > 0 ? got[0].events : 0);
    shutdown(sv[0], SHUT_WR);
    n = epoll_wait(ep, got, 2, 100);
    printf("epoll after SHUT_WR: %ld events %x\n", n, n > 0 ? got[0].events : 0);
    close(ep);

    /* half-close: the reader drains then sees EOF; the writer gets EPIPE and SIGPIPE */
    n = read(sv[1], buf, sizeof buf);
    printf("read after SHUT_WR: %ld, then %ld\n", n, (long)read(sv[1], buf, sizeof buf));
    printf("poll half-closed reader %x writer %x\n", revents(sv[1]), revents(sv[0]));
    n = write(sv[0], "y", 1);
    printf("write after SHUT_WR: %ld %s sigpipes %d\n", n, err(n), sigpipes);
    n = send(sv[0], "y", 1, MSG_NOSIGNAL);
    printf("send MSG_NOSIGNAL: %ld %s sigpipes %d\n", n, err(n), sigpipes);
    n = write(sv[1], "back", 4);
    printf("the other way still works: %ld, read %ld\n", n, (long)read(sv[0], buf, sizeof buf));
    close(sv[0]);
    close(sv[1]);

    /* close with unread data: ECONNRESET once, then EOF */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "unread", 6);
    write(sv[1], "left", 4);
    close(sv[1]);
    printf("peer closed with unread data: poll %x\n", revents(sv[0]));
    n = read(sv[0], buf, sizeof buf);
    printf("read: %ld '%.*s'\n", n, (int)(n > 0 ? n : 0), buf);
    n = read(sv[0], buf, sizeof buf);
    printf("read: %ld %s\n", n, err(n));
    n = read(sv[0], buf, sizeof buf);
    printf("read: %ld %s\n", n, err(n));
    n = write(sv[0], "z", 1);
    printf("write: %ld %s sigpipes %d\n", n, err(n), sigpipes);
    close(sv[0]);

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[1], "x", 1);
    close(sv[1]);
    int e = -1;
    len = sizeof e;
    getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &e, &len);
    printf("SO_ERROR after a clean close: %d\n", e);
    close(sv[0]);

    /* a full send buffer: no POLLOUT until the reader drains it, then EPOLLOUT (edge) */
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    static char chunk[4096];
    long filled = 0;
    while ((n = write(sv[0], chunk, sizeof chunk)) > 0)
        filled += n;
    printf("filled: %s after more than 64 KiB %d, poll %x\n", strerrorname_np(errno), filled > 65536,
           revents(sv[0]));
    ep = epoll_create1(0);
    ev.events = EPOLLOUT | EPOLLET;
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev);
    printf("epoll while full: %d\n", epoll_wait(ep, got, 2, 0));
    long drained = 0;
    while ((n = read(sv[1], chunk, sizeof chunk)) > 0)
        drained += n;
    n = epoll_wait(ep, got, 2, 100);
    printf("drained all %d: epoll %ld events %x, poll %x\n", drained == filled, n, n > 0 ? got[0].events : 0,
           revents(sv[0]));
    printf("epoll again (edge): %d\n", epoll_wait(ep, got, 2, 0));
    close(ep);
    close(sv[0]);
    close(sv[1]);
}

static void server(void)
{
    const char *path = "/tmp/unix_stream.sock";
    struct sockaddr_un sa, got;
    socklen_t salen = path_addr(&sa, path), len;
    unlink(path);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    umask(022);
    printf("bind: %s\n", err(bind(ls, (struct sockaddr *)&sa, salen)));
    struct stat st;
    stat(path, &st);
    printf("node: sock %d mode %o\n", S_ISSOCK(st.st_mode), st.st_mode & 07777);
    len = sizeof got;
    getsockname(ls, (struct sockaddr *)&got, &len);
    printf("getsockname: len %u path %s\n", len, got.sun_path);
    printf("open the node: %s\n", err(open(path, O_RDWR)));
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind it again: %s\n", err(bind(other, (struct sockaddr *)&sa, salen)));
    printf("connect before listen: %s\n", err(connect(other, (struct sockaddr *)&sa, salen)));
    printf("listen: %s\n", err(listen(ls, 1)));
    int acc = 0;
    len = sizeof acc;
    getsockopt(ls, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len);
    printf("SO_ACCEPTCONN %d, listener poll %x\n", acc, revents(ls));

    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&sa, salen) < 0)
            _exit(10);
        struct ucred uc;
        socklen_t l = sizeof uc;
        getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &l);
        if (uc.pid != getppid())
            _exit(11);
        write(c, "hello ", 6);
        msleep(50);
        write(c, "from ", 5);
        msleep(50);
        write(c, "child", 5);
        char buf[16];
        long n = read(c, buf, sizeof buf);
        if (n != 5 || memcmp(buf, "reply", 5))
            _exit(12);
        /* a megabyte through the socket, to be counted by the parent */
        static char big[65536];
        memset(big, 'm', sizeof big);
        for (int i = 0; i < 16; i++)
            if (write(c, big, sizeof big) != sizeof big)
                _exit(13);
        close(c);
        _exit(0);
    }
    struct sockaddr_un peer;
    len = sizeof peer;
    memset(&peer, 0x55, sizeof peer);
    int s = accept4(ls, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    printf("accept4: %s addrlen %u family %d cloexec %d\n", err(s), len, peer.sun_family,
           fcntl(s, F_GETFD) & FD_CLOEXEC);
    len = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &len);
    printf("accepted getsockname: len %u path %s\n", len, got.sun_path);
    len = sizeof got;
    printf("accepted getpeername: %s len %u\n", err(getpeername(s, (struct sockaddr *)&got, &len)), len);
    struct ucred uc;
    len = sizeof uc;
    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &len);
    printf("accepted SO_PEERCRED is the child: %d\n", uc.pid == child);
    char buf[64];
    long n = recv(s, buf, 16, MSG_WAITALL);
    printf("MSG_WAITALL 16: %ld '%.*s'\n", n, (int)n, buf);
    write(s, "reply", 5);
    long total = 0;
    int bad = 0;
    static char rbuf[30000];
    while ((n = read(s, rbuf, sizeof rbuf)) > 0) {
        for (long i = 0; i < n; i++)
            bad += rbuf[i] != 'm';
        total += n;
    }
    printf("bulk: %ld bytes, %d wrong, last read %ld\n", total, bad, n);
    int status;
    waitpid(child, &status, 0);
    printf("child: %d\n", WEXITSTATUS(status));
    close(s);

    /* the backlog: listen(1) takes two connections before a non-blocking connect fails */
    for (int i = 0; i < 3; i++) {
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        printf("connect %d to a backlog of 1: %s\n", i, err(connect(c, (struct sockaddr *)&sa, salen)));
    }
    printf("listener poll with pending: %x\n", revents(ls));
    int a1 = accept(ls, NULL, NULL);
    printf("accept: %s; connect again: ", err(a1));
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    printf("%s\n", err(connect(c, (struct sockaddr *)&sa, salen)));
    printf("connect a connected socket: %s\n", err(connect(c, (struct sockaddr *)&sa, salen)));
    int nb = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
    printf("accept4 NONBLOCK: O_NONBLOCK %d\n", (fcntl(nb, F_GETFL) & O_NONBLOCK) != 0);
    accept(ls, NULL, NULL);
    int lsnb = fcntl(ls, F_GETFL);
    fcntl(ls, F_SETFL, lsnb | O_NONBLOCK);
    printf("accept on an empty queue: %s\n", err(accept(ls, NULL, NULL)));
    close(ls);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("connect after the listener closed: %s\n", err(connect(c, (struct sockaddr *)&sa, salen)));
    unlink(path);
    printf("connect after unlink: %s\n", err(connect(c, (struct sockaddr *)&sa, salen)));
    close(c);
}

static void names(void)
{
    struct sockaddr_un sa, got;
    socklen_t len;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, "\0unix_stream_abstract", 21);
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 21;
    printf("abstract bind: %s\n", err(bind(s, (struct sockaddr *)&sa, alen)));
    len = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &len);
    printf("abstract getsockname: len %u first %d name %.20s\n", len, got.sun_path[0], got.sun_path + 1);
    listen(s, 5);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("abstract connect: %s\n", err(connect(c, (struct sockaddr *)&sa, alen)));
    printf("abstract connect, name one byte shorter: %s\n", err(connect(c, (struct sockaddr *)&sa, alen - 1)));
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    printf("the same abstract name for a datagram socket: %s\n", err(bind(d, (struct sockaddr *)&sa, alen)));
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("and for a second stream socket: %s\n", err(bind(s2, (struct sockaddr *)&sa, alen)));
    int seq = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    printf("seqpacket connect to the stream name: %s\n", err(connect(seq, (struct sockaddr *)&sa, alen)));
    int acc = accept(s, NULL, NULL);
    len = sizeof got;
    getpeername(c, (struct sockaddr *)&got, &len);
    printf("client getpeername: len %u\n", len);
    len = sizeof got;
    getpeername(acc, (struct sockaddr *)&got, &len);
    printf("accepted getpeername (unbound client): len %u\n", len);

    int ab = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    printf("autobind: %s", err(bind(ab, (struct sockaddr *)&fam, sizeof(sa_family_t))));
    len = sizeof got;
    getsockname(ab, (struct sockaddr *)&got, &len);
    int hex = 1;
    for (int i = 1; i < 6; i++)
        hex &= strchr("0123456789abcdef", got.sun_path[i]) != NULL;
    printf(" len %u first %d five hex %d\n", len, got.sun_path[0], hex);
    printf("autobind again: %s\n", err(bind(ab, (struct sockaddr *)&fam, sizeof(sa_family_t))));

    /* SO_PASSCRED autobinds on connect */
    int pc = socket(AF_UNIX, SOCK_STREAM, 0), one = 1;
    setsockopt(pc, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    connect(pc, (struct sockaddr *)&sa, alen);
    len = sizeof got;
    getsockname(pc, (struct sockaddr *)&got, &len);
    printf("SO_PASSCRED connect autobinds: len %u\n", len);
    int acc2 = accept(s, (struct sockaddr *)&got, &(socklen_t){sizeof got});
    (void)acc2;

    /* buffer sizes and timeouts */
    int v;
    len = sizeof v;
    getsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, &len);
    printf("SO_SNDBUF default %d", v);
    getsockopt(c, SOL_SOCKET, SO_RCVBUF, &v, &len);
    printf(" SO_RCVBUF default %d", v);
    v = 10000;
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    getsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, &len);
    printf("; set 10000: %d", v);
    v = 1;
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    getsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, &len);
    printf("; set 1: %d", v);
    v = 1 << 30;
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    getsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, &len);
    printf("; set 1<<30: %d", v);
    v = 1;
    setsockopt(c, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    getsockopt(c, SOL_SOCKET, SO_RCVBUF, &v, &len);
    printf("; SO_RCVBUF 1: %d\n", v);
    v = 1;
    printf("SO_REUSEADDR: %s", err(setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v)));
    v = 0;
    getsockopt(c, SOL_SOCKET, SO_REUSEADDR, &v, &len);
    printf(" reads %d\n", v);
    struct timeval tv = {0, 200000}, back;
    setsockopt(acc, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    len = sizeof back;
    getsockopt(acc, SOL_SOCKET, SO_RCVTIMEO, &back, &len);
    printf("SO_RCVTIMEO: len %u %ld.%06ld\n", len, (long)back.tv_sec, (long)back.tv_usec);
    char buf[8];
    double t0 = now();
    long n = read(acc, buf, sizeof buf);
    double waited = now() - t0;
    printf("read with a timeout: %ld %s waited %s\n", n, err(n), waited > 0.15 && waited < 2 ? "ok" : "FAIL");
    tv.tv_usec = 1000000;
    printf("SO_RCVTIMEO usec 1000000: %s\n", err(setsockopt(acc, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)));
    write(c, "ab", 2);
    printf("recv of 0 bytes with data queued: %ld\n", (long)recv(acc, buf, 0, 0));
    v = 4;
    setsockopt(acc, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v);
    len = sizeof v;
    getsockopt(acc, SOL_SOCKET, SO_RCVLOWAT, &v, &len);
    n = recv(acc, buf, sizeof buf, MSG_DONTWAIT);
    printf("SO_RCVLOWAT %d: a DONTWAIT read of 2 queued bytes: %ld\n", v, n);
    close(s);
    close(c);
}

static void on_alarm(int s) { (void)s; }

/* a signal during a blocking read: EINTR without SA_RESTART, a restart with it, and EINTR even
 * with it once SO_RCVTIMEO is set (sock_intr_errno) */
static void interrupted(void)
{
    int sv[2];
    char buf[8];
    struct itimerval it = {{0, 0}, {0, 100000}};
    for (int round = 0; round < 3; round++) {
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = round ? SA_RESTART : 0};
        sigaction(SIGALRM, &sa, NULL);
        if (round == 2) {
            struct timeval tv = {5, 0};
            setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        }
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            msleep(400);
            write(sv[0], "late", 4);
            _exit(0);
        }
        setitimer(ITIMER_REAL, &it, NULL);
        long n = read(sv[1], buf, sizeof buf);
        printf("read interrupted (%s): %ld %s\n", round == 0 ? "no SA_RESTART" : round == 1 ? "SA_RESTART" :
               "SA_RESTART, SO_RCVTIMEO", n, err(n));
        waitpid(child, NULL, 0);
        close(sv[0]);
        close(sv[1]);
    }
}

int main(void)
{
    signal(SIGPIPE, on_pipe);
    interrupted();
    pair_basics();
    server();
    names();
    printf("done\n");
    return 0;
}
