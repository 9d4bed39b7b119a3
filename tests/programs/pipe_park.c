/* A read asleep on an empty pipe, and who ends its sleep: one write of several pages
   arrives whole, the last writer's close is end of file, vmsplice and splice feed it, a
   writer blocked on a full pipe goes on once the reader frees a page, a 1-byte ping-pong
   keeps every byte in order, and a signal without SA_RESTART is EINTR. Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char big[70000];

static void later(void) { usleep(50000); }

static void reap(const char *what) {
    int st;
    wait(&st);
    printf("%s: child %s %d\n", what, WIFEXITED(st) ? "exit" : "signal",
           WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

static void on_alarm(int sig) { (void)sig; }

int main(void) {
    int p[2], q[2];
    memset(big, 'x', sizeof big);
    setvbuf(stdout, NULL, _IONBF, 0);

    pipe(p);
    if (fork() == 0) { close(p[0]); later(); _exit(write(p[1], big, 10000) == 10000 ? 0 : 1); }
    close(p[1]);
    printf("one write of 10000: read %zd\n", read(p[0], big + 20000, sizeof big - 20000));
    printf("then eof: %zd\n", read(p[0], big + 20000, 10));
    close(p[0]);
    reap("big write");

    pipe(p);
    if (fork() == 0) { close(p[0]); later(); _exit(0); }
    close(p[1]);
    printf("last writer gone: %zd\n", read(p[0], big, 10));
    close(p[0]);
    reap("close");

    pipe(p);
    if (fork() == 0) {
        close(p[0]); later();
        struct iovec v = { "abc", 3 };
        _exit(vmsplice(p[1], &v, 1, 0) == 3 ? 0 : 1);
    }
    close(p[1]);
    printf("vmsplice: %zd\n", read(p[0], big, 100));
    close(p[0]);
    reap("vmsplice");

    pipe(p); pipe(q);
    if (fork() == 0) {      /* the reader of q, asleep until the splice */
        close(p[0]); close(p[1]); close(q[1]);
        _exit((int)read(q[0], big, 100));
    }
    close(q[0]);
    write(p[1], "spl", 3);
    later();
    printf("splice from p to q: %zd\n", splice(p[0], NULL, q[1], NULL, 100, 0));
    close(p[0]); close(p[1]); close(q[1]);
    reap("splice (the child exits with what it read)");

    pipe(p);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    ssize_t filled = 0, n;
    while ((n = write(p[1], big, 1000)) > 0) filled += n;
    printf("filled %zd then %s\n", filled, n < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    fcntl(p[1], F_SETFL, 0);
    if (fork() == 0) { close(p[0]); _exit(write(p[1], big, 100) == 100 ? 0 : 1); }
    later();
    printf("reader frees a page: %zd\n", read(p[0], big + 20000, 4000));
    reap("blocked writer");
    close(p[1]);
    ssize_t rest = 0;
    while ((n = read(p[0], big + 20000, sizeof big - 20000)) > 0) rest += n;
    printf("rest %zd\n", rest);
    close(p[0]);

    pipe(p); pipe(q);
    if (fork() == 0) {
        close(p[1]); close(q[0]);
        char c;
        while (read(p[0], &c, 1) == 1) { c++; write(q[1], &c, 1); }
        _exit(0);
    }
    close(p[0]); close(q[1]);
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        char c = (char)i, r = 0;
        write(p[1], &c, 1);
        if (read(q[0], &r, 1) != 1 || r != (char)(i + 1)) bad++;
    }
    close(p[1]);
    printf("ping-pong 200: %d wrong, then eof %zd\n", bad, read(q[0], big, 1));
    close(q[0]);
    reap("ping-pong");

    pipe(p);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    ualarm(50000, 0);
    n = read(p[0], big, 10);
    printf("signal without SA_RESTART: %zd %s\n", n, n < 0 && errno == EINTR ? "EINTR" : "?");
    write(p[1], "z", 1);
    printf("data after the signal: %zd\n", read(p[0], big, 10));
    return 0;
}
