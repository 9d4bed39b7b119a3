/* poll/ppoll/select/pselect over pipes: readiness, timeouts, POLLNVAL/POLLHUP/POLLERR, EBADF,
 * and a sleeping poll woken by another process. Timings are printed as ok/FAIL only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAIL"); fflush(stdout); }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    int p[2];
    char buf[70000];
    pipe(p);

    struct pollfd fds[4] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {99, POLLIN, 0}, {-1, POLLIN, 0}};
    int n = poll(fds, 4, 0);
    printf("poll empty pipe: %d revents %x %x %x %x\n", n, fds[0].revents, fds[1].revents, fds[2].revents,
           fds[3].revents);
    write(p[1], "x", 1);
    fds[0].events = POLLIN | POLLRDNORM;
    n = poll(fds, 2, 0);
    printf("poll after write: %d revents %x %x\n", n, fds[0].revents, fds[1].revents);

    /* A full pipe is not writable. */
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    while (write(p[1], buf, sizeof buf) > 0) {}
    n = poll(&fds[1], 1, 0);
    printf("poll full pipe for POLLOUT: %d revents %x\n", n, fds[1].revents);
    while (read(p[0], buf, sizeof buf) == sizeof buf) {}

    /* Timeout: nothing ready, returns 0 after about the time asked. */
    double t0 = now();
    n = poll(fds, 1, 100);
    double took = now() - t0;
    check("poll timeout 100ms returns 0", n == 0);
    check("poll timeout took 100ms..2s", took >= 0.099 && took < 2.0);

    /* ppoll writes back the time left. */
    struct timespec tmo = {0, 50 * 1000 * 1000};
    n = ppoll(fds, 1, &tmo, NULL);
    /* (Linux writes back 0 left here; qemu-aarch64 leaves the timeout as it was.) */
    check("ppoll timeout returns 0, time left <= asked", n == 0 && tmo.tv_sec == 0 && tmo.tv_nsec <= 50000000);
    write(p[1], "y", 1);
    tmo.tv_sec = 5; tmo.tv_nsec = 0;
    n = ppoll(fds, 1, &tmo, NULL);
    check("ppoll ready at once leaves most of the time", n == 1 && tmo.tv_sec >= 4);
    read(p[0], buf, 1);
    tmo.tv_sec = 0; tmo.tv_nsec = 1000000000;
    check("ppoll bad timespec EINVAL", ppoll(fds, 1, &tmo, NULL) == -1 && errno == EINVAL);

    /* Writer closed: POLLHUP (and no POLLIN once empty). Reader closed: POLLERR on the writer. */
    int q[2];
    pipe(q);
    write(q[1], "z", 1);
    close(q[1]);
    struct pollfd h = {q[0], POLLIN, 0};
    n = poll(&h, 1, 0);
    printf("hup with data: %d revents %x\n", n, h.revents);
    read(q[0], buf, 1);
    n = poll(&h, 1, 0);
    printf("hup empty: %d revents %x\n", n, h.revents);
    h.events = 0;
    n = poll(&h, 1, 0);
    printf("hup with no events asked: %d revents %x\n", n, h.revents);
    close(q[0]);
    pipe(q);
    close(q[0]);
    struct pollfd e = {q[1], POLLOUT, 0};
    n = poll(&e, 1, 0);
    printf("writer without reader: %d revents %x\n", n, e.revents);
    close(q[1]);

    /* select */
    fd_set rd, wr;
    FD_ZERO(&rd); FD_ZERO(&wr);
    FD_SET(p[0], &rd); FD_SET(p[1], &wr); FD_SET(p[0], &wr);
    struct timeval tv = {0, 0};
    n = select(p[1] + 1, &rd, &wr, NULL, &tv);
    printf("select: %d rd %d wr0 %d wr1 %d\n", n, FD_ISSET(p[0], &rd), FD_ISSET(p[0], &wr), FD_ISSET(p[1], &wr));
    write(p[1], "w", 1);
    FD_ZERO(&rd); FD_ZERO(&wr);
    FD_SET(p[0], &rd); FD_SET(p[1], &wr);
    n = select(p[1] + 1, &rd, &wr, NULL, NULL);
    printf("select after write: %d rd %d wr %d\n", n, FD_ISSET(p[0], &rd), FD_ISSET(p[1], &wr));
    read(p[0], buf, 1);
    FD_ZERO(&rd);
    FD_SET(50, &rd);
    tv.tv_sec = 0; tv.tv_usec = 0;
    check("select bad fd EBADF", select(51, &rd, NULL, NULL, &tv) == -1 && errno == EBADF);
    check("select negative nfds EINVAL", select(-1, NULL, NULL, NULL, &tv) == -1 && errno == EINVAL);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    tv.tv_sec = 0; tv.tv_usec = 80000;
    t0 = now();
    n = select(p[0] + 1, &rd, NULL, NULL, &tv);
    took = now() - t0;
    check("select timeout returns 0 and clears the set", n == 0 && !FD_ISSET(p[0], &rd));
    check("select timeout took 80ms..2s", took >= 0.079 && took < 2.0);
    struct timespec ts = {0, 30000000};
    sigset_t none;
    sigemptyset(&none);
    FD_SET(p[0], &rd);
    n = pselect(p[0] + 1, &rd, NULL, NULL, &ts, &none);
    check("pselect with sigmask times out", n == 0);

    /* A sleeping poll woken by a child's write; a select woken the same way. */
    pid_t pid = fork();
    if (pid == 0) {
        usleep(50000);
        write(p[1], "c", 1);
        usleep(50000);
        write(p[1], "d", 1);
        _exit(0);
    }
    struct pollfd w = {p[0], POLLIN, 0};
    n = poll(&w, 1, -1);
    printf("poll woken by child: %d revents %x\n", n, w.revents);
    read(p[0], buf, 1);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    n = select(p[0] + 1, &rd, NULL, NULL, NULL);
    printf("select woken by child: %d rd %d\n", n, FD_ISSET(p[0], &rd));
    read(p[0], buf, 1);
    int status;
    waitpid(pid, &status, 0);

    /* A poll blocked forever ends when SIGALRM (default action) kills the process. */
    pid = fork();
    if (pid == 0) {
        alarm(1);
        poll(&w, 1, -1);
        _exit(3);
    }
    waitpid(pid, &status, 0);
    check("poll forever killed by SIGALRM", WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM);
    return 0;
}
