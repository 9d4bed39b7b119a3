/* --trace golden lines (tests/qemu/test_trace.py): pipe2, poll, timespec, ioctl, sockets
 * and msghdr, utsname, rlimit, umask's octal, stack_t, getcwd. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    int p[2], sv[2];
    char buf[16];
    struct termios tio;
    pipe2(p, O_CLOEXEC);
    write(p[1], "x", 1);
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    poll(&pfd, 1, 0);
    read(p[0], buf, sizeof buf);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    ioctl(p[0], TCGETS, &tio);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct iovec iov = {"hi there", 8};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    sendmsg(sv[0], &msg, 0);
    recvfrom(sv[1], buf, sizeof buf, MSG_DONTWAIT, NULL, NULL);
    shutdown(sv[0], SHUT_WR);
    struct rlimit rl = {256, 512};
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    struct utsname u;
    uname(&u);
    umask(027);
    umask(022);
    stack_t ss;
    sigaltstack(NULL, &ss);
    char cwd[64];
    getcwd(cwd, sizeof cwd);
    getpid();
    getuid();
    write(1, "done\n", 5);
    return 0;
}
