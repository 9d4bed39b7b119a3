/* Signal-driven I/O on pipes and FIFOs at exactly the points Linux 6.1 raises it
 * (fs/pipe.c kill_fasync): POLL_IN to the read ends' owners on every write that got past
 * the null-write check (data, EAGAIN on a full pipe), POLL_OUT to the write ends' owners on
 * every read that did (data, EAGAIN on an empty pipe, EOF), both when the last end of one
 * side closes while the other side is open, nothing when a FIFO end is opened; the F_SETSIG
 * signal queued once per event (a real-time one) or at most once (a standard one), and plain
 * SIGIO instead of a real-time signal the queue has no room for (send_sigio_to_task's
 * fallback; RLIMIT_SIGPENDING). Every signal is blocked and collected with sigtimedwait, so
 * what is printed is what was queued, in dequeue order. Run as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RT (SIGRTMIN + 1)

static const char *signame(int sig)
{
    static char buf[32];
    if (sig == SIGIO) return "SIGIO";
    if (sig == SIGUSR1) return "SIGUSR1";
    snprintf(buf, sizeof buf, "RTMIN+%d", sig - SIGRTMIN);
    return buf;
}

static void drain(const char *what)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGIO);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, RT);
    struct timespec zero = {0, 0};
    printf("%s:", what);
    int n = 0;
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int sig = sigtimedwait(&set, &si, &zero);
        if (sig < 0)
            break;
        if (sig == SIGIO && si.si_code == SI_KERNEL)
            printf(" %s(kernel)", signame(sig));
        else
            printf(" %s(code %d band %#lx fd %d)", signame(sig), si.si_code, (long)si.si_band, si.si_fd);
        n++;
    }
    printf(n ? "\n" : " none\n");
}

static void async_owner(int fd, int sig)
{
    fcntl(fd, F_SETOWN, getpid());
    fcntl(fd, F_SETSIG, sig);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
}

static const char *res(long r)
{
    static char buf[32];
    if (r >= 0)
        snprintf(buf, sizeof buf, "%ld", r);
    else
        snprintf(buf, sizeof buf, "%s", errno == EAGAIN ? "EAGAIN" : errno == EPIPE ? "EPIPE" : strerror(errno));
    return buf;
}

/* The write end's owner hears of every read of the other end. */
static void reads_signal_the_writer(void)
{
    int p[2];
    char buf[65536];
    pipe2(p, O_NONBLOCK);
    async_owner(p[1], RT);
    drain("write end async");
    write(p[1], "ab", 2);
    drain("write (the writer's own)");
    printf("read 1: %s\n", res(read(p[0], buf, 1)));
    drain("read from a pipe that was not full");
    printf("read 1: %s\n", res(read(p[0], buf, 1)));
    printf("read: %s\n", res(read(p[0], buf, sizeof buf)));
    drain("a read, then an EAGAIN read");
    printf("read 0: %s\n", res(read(p[0], buf, 0)));
    drain("zero-length read");
    memset(buf, 'x', sizeof buf);
    while (write(p[1], buf, 4096) == 4096)
        ;
    drain("filled");
    printf("read 4096: %s\n", res(read(p[0], buf, 4096)));
    printf("read 4096: %s\n", res(read(p[0], buf, 4096)));
    drain("two page reads from a full pipe");
    close(p[0]);
    drain("read end closed");
    printf("write: %s\n", res(write(p[1], "c", 1)));
    drain("write without a reader");
    close(p[1]);
}

/* The read end's owner hears of every write to the other end, a refused one too. */
static void writes_signal_the_reader(void)
{
    int p[2];
    char buf[4096];
    pipe2(p, O_NONBLOCK);
    async_owner(p[0], RT);
    printf("write 0: %s\n", res(write(p[1], "", 0)));
    drain("zero-length write");
    memset(buf, 'y', sizeof buf);
    int pages = 0;
    while (write(p[1], buf, sizeof buf) == sizeof buf)
        pages++;
    drain("writes until full");
    printf("write 1: %s\n", res(write(p[1], "z", 1)));
    drain("EAGAIN write to the full pipe");
    printf("read: %s\n", res(read(p[0], buf, sizeof buf)));
    drain("the reader's own read");
    close(p[1]);
    drain("write end closed");
    close(p[0]);
    printf("pages %d\n", pages);

    /* one signal per write call, not per pipe buffer it fills */
    static char big[65536];
    pipe2(p, O_NONBLOCK);
    async_owner(p[0], RT);
    printf("write 65536: %s\n", res(write(p[1], big, sizeof big)));
    drain("one write of 16 pages");
    printf("write 40000: %s\n", res(write(p[1], big, 40000)));
    drain("a write refused for want of room");
    close(p[0]);
    close(p[1]);
}

/* A standard F_SETSIG signal is pending at most once: no SIGIO for the ones it absorbs. */
static void standard_signal_coalesces(void)
{
    int p[2];
    pipe2(p, O_NONBLOCK);
    async_owner(p[0], SIGUSR1);
    write(p[1], "a", 1);
    write(p[1], "b", 1);
    write(p[1], "c", 1);
    drain("SIGUSR1 as F_SETSIG, three writes");
    close(p[0]);
    close(p[1]);
}

/* A real-time signal the queue has no room for becomes a plain SIGIO. */
static void full_queue_falls_back_to_sigio(void)
{
    struct rlimit old, lim = {3, 3};
    getrlimit(RLIMIT_SIGPENDING, &old);
    int p[2];
    pipe2(p, O_NONBLOCK);
    async_owner(p[0], RT);
    setrlimit(RLIMIT_SIGPENDING, &lim);
    for (int i = 0; i < 6; i++)
        write(p[1], "q", 1);
    setrlimit(RLIMIT_SIGPENDING, &old);
    drain("six writes, RLIMIT_SIGPENDING 3");
    close(p[0]);
    close(p[1]);
}

/* FIFO opens raise nothing; the last writer's close does. An O_RDWR end is on both sides. */
static void fifo_ends(void)
{
    const char *path = "/tmp/fasync_pipe_fifo";
    unlink(path);
    mkfifo(path, 0600);
    int r = open(path, O_RDONLY | O_NONBLOCK);
    async_owner(r, RT);
    int w = open(path, O_WRONLY | O_NONBLOCK);
    drain("FIFO writer opened");
    write(w, "x", 1);
    drain("FIFO write");
    close(w);
    drain("FIFO last writer closed");
    int w2 = open(path, O_WRONLY | O_NONBLOCK);
    int w3 = open(path, O_WRONLY | O_NONBLOCK);
    close(w2);
    drain("FIFO one of two writers closed");
    close(w3);
    drain("FIFO the other closed");
    close(r);

    int rw = open(path, O_RDWR | O_NONBLOCK);
    async_owner(rw, RT);
    char c;
    write(rw, "y", 1);
    drain("O_RDWR FIFO end wrote");
    read(rw, &c, 1);
    drain("O_RDWR FIFO end read");
    int r2 = open(path, O_RDONLY | O_NONBLOCK);
    close(r2);
    drain("O_RDWR FIFO: a reader came and went");
    close(rw);
    unlink(path);
}

static char proc_state(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] ? close_paren[2] : '?';
}

/* A reader that has to sleep signals the writers before it sleeps, and again once it read. */
static void sleeping_reader(void)
{
    int p[2];
    pipe(p);
    async_owner(p[1], RT);
    pid_t child = fork();
    if (child == 0) {
        char c;
        _exit(read(p[0], &c, 1) == 1 ? 0 : 1);
    }
    while (proc_state(child) != 'S')
        usleep(1000);
    drain("a reader went to sleep");
    write(p[1], "r", 1);
    int status;
    waitpid(child, &status, 0);
    drain("it read the byte");
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGIO);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, RT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    reads_signal_the_writer();
    writes_signal_the_reader();
    standard_signal_coalesces();
    full_queue_falls_back_to_sigio();
    fifo_ends();
    sleeping_reader();
    printf("done\n");
    return 0;
}
