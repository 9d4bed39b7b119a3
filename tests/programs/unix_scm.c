/* Ancillary data over AF_UNIX: SCM_RIGHTS between processes (a file, a pipe end, a socket),
 * several descriptors with too little control room (MSG_CTRUNC), no control buffer,
 * MSG_CMSG_CLOEXEC, MSG_PEEK, 253 descriptors and 254 (EINVAL), a bad descriptor, files in
 * flight closed when the message is dropped, stream reads that stop at a message with
 * files; SCM_CREDENTIALS with SO_PASSCRED (from another process, explicit, forged as root and
 * as nobody), SO_PEERCRED across fork. Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

static long send_fds(int s, const char *data, size_t len, const int *fds, int nfds, int flags)
{
    char ctl[CMSG_SPACE(sizeof(int) * 300)];
    struct iovec iov = {(void *)data, len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds) {
        memset(ctl, 0, sizeof ctl);
        m.msg_control = ctl;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    return sendmsg(s, &m, flags);
}

/* recvmsg with `room` bytes of control buffer; the descriptors received go to fds (count returned) */
static long recv_fds(int s, char *buf, size_t len, int *fds, int *nfds, size_t room, int flags, int *mflags,
                     size_t *ctllen)
{
    char ctl[CMSG_SPACE(sizeof(int) * 300)];
    struct iovec iov = {buf, len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = room ? ctl : NULL, .msg_controllen = room};
    long r = recvmsg(s, &m, flags);
    *nfds = 0;
    *mflags = m.msg_flags;
    *ctllen = m.msg_controllen;
    if (r < 0)
        return r;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds + *nfds, CMSG_DATA(c), n * sizeof(int));
            *nfds += n;
        }
    return r;
}

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

static void rights(void)
{
    int sv[2], fds[300], n, mflags;
    size_t ctllen;
    char buf[64];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int f = open("/tmp/unix_scm.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(f, "contents of the file", 20);
    lseek(f, 9, SEEK_SET);

    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        close(sv[0]);
        long r = recv_fds(sv[1], buf, sizeof buf, fds, &n, CMSG_SPACE(sizeof(int)), 0, &mflags, &ctllen);
        char got[64] = "";
        long k = n == 1 ? read(fds[0], got, sizeof got - 1) : -1;
        char reply[160];
        int len = snprintf(reply, sizeof reply, "child got %ld bytes '%.*s', %d fd, ctllen %zu, reads '%.*s'",
                           r, (int)r, buf, n, ctllen, (int)(k > 0 ? k : 0), got);
        write(sv[1], reply, len);
        read(sv[1], got, 1);                /* the parent has read the reply */
        /* send back a pipe's read end */
        int p[2];
        pipe(p);
        write(p[1], "through a pipe", 14);
        close(p[1]);
        send_fds(sv[1], "P", 1, &p[0], 1, 0);
        _exit(0);
    }
    close(sv[1]);
    printf("sendmsg with a file: %ld\n", send_fds(sv[0], "file", 4, &f, 1, 0));
    long r = read(sv[0], buf, sizeof buf);
    printf("%.*s\n", (int)r, buf);
    write(sv[0], "k", 1);
    printf("our offset moved with it: %ld\n", (long)lseek(f, 0, SEEK_CUR));
    r = recv_fds(sv[0], buf, sizeof buf, fds, &n, CMSG_SPACE(sizeof(int)), 0, &mflags, &ctllen);
    char got[32] = "";
    long k = n == 1 ? read(fds[0], got, sizeof got) : -1;
    printf("pipe end from the child: %ld byte, %d fd, reads %ld '%.*s'\n", r, n, k, (int)(k > 0 ? k : 0), got);
    int status;
    waitpid(child, &status, 0);
    close(sv[0]);

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int three[3] = {f, f, f};
    int before = open_fds();
    send_fds(sv[0], "3", 1, three, 3, 0);
    r = recv_fds(sv[1], buf, sizeof buf, fds, &n, CMSG_SPACE(sizeof(int)), 0, &mflags, &ctllen);
    printf("3 fds into room for 1: %ld, got %d, flags %x, ctllen %zu, open fds +%d\n", r, n, mflags, ctllen,
           open_fds() - before);
    send_fds(sv[0], "3", 1, three, 3, 0);
    r = recv_fds(sv[1], buf, sizeof buf, fds, &n, 0, 0, &mflags, &ctllen);
    printf("no control buffer: %ld, got %d, flags %x\n", r, n, mflags);
    send_fds(sv[0], "3", 1, three, 3, 0);
    r = recv_fds(sv[1], buf, sizeof buf, fds, &n, 20, 0, &mflags, &ctllen);
    printf("control room of 20: %ld, got %d, flags %x, ctllen %zu\n", r, n, mflags, ctllen);
    send_fds(sv[0], "c", 1, &f, 1, 0);
    r = recv_fds(sv[1], buf, sizeof buf, fds, &n, 64, MSG_CMSG_CLOEXEC, &mflags, &ctllen);
    printf("MSG_CMSG_CLOEXEC: got %d, FD_CLOEXEC %d, msg_flags %x\n", n, fcntl(fds[0], F_GETFD), mflags);
    send_fds(sv[0], "p", 1, &f, 1, 0);
    r = recv_fds(sv[1], buf, sizeof buf, fds, &n, 64, MSG_PEEK, &mflags, &ctllen);
    int peeked = n;
    r = recv_fds(sv[1], buf, sizeof buf, fds, &n, 64, 0, &mflags, &ctllen);
    printf("MSG_PEEK gives the fd too: %d then %d\n", peeked, n);

    /* a stream read stops after a message that carries files */
    write(sv[0], "ab", 2);
    send_fds(sv[0], "cd", 2, &f, 1, 0);
    write(sv[0], "ef", 2);
    r = recv_fds(sv[1], buf, sizeof buf, fds, &n, 64, 0, &mflags, &ctllen);
    printf("read across: %ld '%.*s' with %d fd", r, (int)r, buf, n);
    r = recv_fds(sv[1], buf, sizeof buf, fds, &n, 64, 0, &mflags, &ctllen);
    printf(", then %ld '%.*s' with %d fd\n", r, (int)r, buf, n);

    for (int i = 0; i < 254; i++)
        fds[i] = f;
    before = open_fds();
    r = send_fds(sv[0], "x", 1, fds, 253, 0);
    printf("253 fds: %ld", r);
    r = recv_fds(sv[1], buf, sizeof buf, fds, &n, sizeof(int) * 300, 0, &mflags, &ctllen);
    printf(", received %d flags %x", n, mflags);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    for (int i = 0; i < 254; i++)
        fds[i] = f;
    r = send_fds(sv[0], "x", 1, fds, 254, 0);
    printf("; 254 fds: %s; open fds +%d\n", err(r), open_fds() - before);
    int bad[2] = {f, 999};
    printf("a bad fd: %s\n", err(send_fds(sv[0], "x", 1, bad, 2, 0)));
    printf("zero bytes with a fd on a stream: %ld", send_fds(sv[0], "", 0, &f, 1, 0));
    printf(", queued: %ld %s\n", (long)recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), err(-1));

    /* files in flight close with the message: a pipe's writer gone when the receiver closes */
    int p[2];
    pipe(p);
    send_fds(sv[0], "w", 1, &p[1], 1, 0);
    close(p[1]);
    struct pollfd pf = {p[0], POLLIN, 0};
    poll(&pf, 1, 0);
    printf("pipe writer in flight: poll %x", pf.revents);
    close(sv[1]);
    poll(&pf, 1, 0);
    printf(", after the receiver closed: poll %x\n", pf.revents);
    close(sv[0]);

    /* a socket in flight */
    int a[2], b[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, a);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, b);
    send_fds(a[0], "s", 1, &b[1], 1, 0);
    close(b[1]);
    recv_fds(a[1], buf, sizeof buf, fds, &n, 64, 0, &mflags, &ctllen);
    send(fds[0], "via passed socket", 17, 0);
    r = recv(b[0], buf, sizeof buf, 0);
    printf("socket passed: %ld '%.*s'\n", r, (int)r, buf);
    close(f);
    unlink("/tmp/unix_scm.txt");
}

static pid_t helper = -1;

static void show_creds(const char *what, int s)
{
    char buf[32], ctl[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    long r = recvmsg(s, &m, 0);
    struct cmsghdr *c = r >= 0 ? CMSG_FIRSTHDR(&m) : NULL;
    if (!c) {
        printf("%s: %ld %s, no credentials, flags %x\n", what, r, err(r), m.msg_flags);
        return;
    }
    struct ucred uc;
    memcpy(&uc, CMSG_DATA(c), sizeof uc);
    printf("%s: %ld bytes, level %d type %d len %zu, pid %s uid %u gid %u, ctllen %zu\n", what, r, c->cmsg_level,
           c->cmsg_type, (size_t)c->cmsg_len, uc.pid == getpid() ? "self" : uc.pid == helper ? "helper" : uc.pid ? "other" : "0",
           uc.uid, uc.gid, (size_t)m.msg_controllen);
}

static long send_creds(int s, pid_t pid, uid_t uid, gid_t gid)
{
    char ctl[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = {"c", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred uc = {pid, uid, gid};
    memcpy(CMSG_DATA(c), &uc, sizeof uc);
    return sendmsg(s, &m, 0);
}

static void credentials(void)
{
    int sv[2], one = 1;
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    send(sv[0], "before", 6, 0);
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    show_creds("sent before SO_PASSCRED", sv[1]);
    send(sv[0], "mine", 4, 0);
    show_creds("own", sv[1]);
    printf("explicit own: %s\n", err(send_creds(sv[0], getpid(), 0, 0)));
    show_creds("explicit", sv[1]);
    printf("a pid that does not exist, as root: %s\n", err(send_creds(sv[0], 4242, 5, 6)));
    fflush(stdout);
    helper = fork();
    if (helper == 0) {
        pause();
        _exit(0);
    }
    printf("forged pid as root: %s\n", err(send_creds(sv[0], helper, 5, 6)));
    show_creds("forged", sv[1]);
    kill(helper, SIGKILL);
    waitpid(helper, NULL, 0);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        setgid(65534);
        setuid(65534);
        long r = send_creds(sv[0], getppid(), 65534, 65534);
        long r2 = send_creds(sv[0], getpid(), 0, 65534);
        long r3 = write(sv[0], "plain", 5);
        struct ucred uc;
        socklen_t len = sizeof uc;
        getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &len);
        _exit((r < 0 && errno == EPERM) | (r2 < 0 && errno == EPERM) << 1 | (r3 == 5) << 2 | (uc.pid == getppid()) << 3);
    }
    int status;
    waitpid(child, &status, 0);
    printf("as nobody: forged pid EPERM %d, uid 0 EPERM %d, plain write %d, SO_PEERCRED names the parent %d\n",
           WEXITSTATUS(status) & 1, !!(WEXITSTATUS(status) & 2), !!(WEXITSTATUS(status) & 4),
           !!(WEXITSTATUS(status) & 8));
    char buf[32], ctl[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    long r = recvmsg(sv[1], &m, 0);
    struct ucred uc;
    memcpy(&uc, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof uc);
    printf("the child's write: %ld bytes, pid is the child %d, uid %u gid %u\n", r, uc.pid == child, uc.uid, uc.gid);
    send(sv[0], "x", 1, 0);
    m.msg_controllen = 20;
    r = recvmsg(sv[1], &m, 0);
    printf("credentials into 20 bytes: %ld, flags %x, ctllen %zu\n", r, m.msg_flags, (size_t)m.msg_controllen);
    send(sv[0], "x", 1, 0);
    m.msg_control = NULL;
    m.msg_controllen = 0;
    r = recvmsg(sv[1], &m, 0);
    printf("credentials without a buffer: %ld, flags %x\n", r, m.msg_flags);
    close(sv[0]);
    close(sv[1]);

    /* a stream reader with SO_PASSCRED does not glue two writers' bytes */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    write(sv[0], "parent", 6);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        write(sv[0], "child", 5);
        _exit(0);
    }
    waitpid(child, &status, 0);
    write(sv[0], "again", 5);
    show_creds("stream 1", sv[1]);
    show_creds("stream 2", sv[1]);
    show_creds("stream 3", sv[1]);
}

/* sockets whose only references are messages queued on themselves or on each other: Linux
 * 6.1 does not collect them (nor close the files queued with them) when the last
 * descriptors close, its garbage collector runs only with very many files in flight */
static void cycles(void)
{
    int a[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, a);
    pipe(p);
    send_fds(a[0], "p", 1, &p[1], 1, 0);
    send_fds(a[0], "s", 1, &a[1], 1, 0);
    close(p[1]);
    close(a[1]);
    struct pollfd pf = {p[0], POLLIN, 0};
    poll(&pf, 1, 0);
    printf("a socket in flight in its own queue: pipe poll %x", pf.revents);
    close(a[0]);
    poll(&pf, 1, 0);
    printf(", after its peer closed: %x\n", pf.revents);
    close(p[0]);

    int b[2], c[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, b);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, c);
    pipe(p);
    send_fds(b[0], "p", 1, &p[1], 1, 0);
    send_fds(b[0], "c", 1, &c[0], 1, 0);
    send_fds(c[1], "b", 1, &b[1], 1, 0);
    close(p[1]);
    close(b[1]);
    close(c[0]);
    close(b[0]);
    pf.fd = p[0];
    poll(&pf, 1, 0);
    printf("two sockets in flight in each other's queues: pipe poll %x", pf.revents);
    close(c[1]);
    poll(&pf, 1, 0);
    printf(", after closing the last other socket: %x\n", pf.revents);
    close(p[0]);
}

/* RLIMIT_NOFILE bounds the files a user has in flight: past it, ETOOMANYREFS (not for root) */
static void inflight_limit(void)
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        int sv[2];
        socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
        int f = open("/tmp", O_RDONLY);
        struct rlimit rl = {16, 16};
        setrlimit(RLIMIT_NOFILE, &rl);
        setgid(65534);
        setuid(65534);
        int sent = 0;
        long r;
        while ((r = send_fds(sv[0], "f", 1, &f, 1, MSG_DONTWAIT)) == 1 && sent < 100)
            sent++;
        printf("as nobody with RLIMIT_NOFILE 16: %d sent, then %s\n", sent, err(r));
        _exit(0);
    }
    waitpid(child, NULL, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    rights();
    credentials();
    cycles();
    inflight_limit();
    printf("done\n");
    return 0;
}
