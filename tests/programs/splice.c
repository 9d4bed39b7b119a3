/* splice, tee and vmsplice as Linux 6.1 answers them: argument errors in Linux's order,
 * file <-> pipe with and without an offset pointer, pipe -> pipe, page-sized pipe buffers
 * (a spliced page is never topped up by a later write), non-blocking and end-of-file
 * answers, EPIPE with SIGPIPE. Prints results and errno names. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
}

static volatile sig_atomic_t sigpipes;
static void on_pipe(int sig) { (void)sig; sigpipes++; }

static int make_file(const char *path, long n)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char buf[4096];
    for (long done = 0; done < n;) {
        int k = n - done < (long)sizeof buf ? (int)(n - done) : (int)sizeof buf;
        for (int i = 0; i < k; i++)
            buf[i] = 'a' + (done + i) % 26;
        done += write(fd, buf, k);
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static long drain(int fd)
{
    char buf[65536];
    long total = 0, n;
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += n;
    fcntl(fd, F_SETFL, fl);
    return total;
}

static int fill_count(int wfd)    /* how many 4096-byte non-blocking writes still fit */
{
    char page[4096] = { 0 };
    int fl = fcntl(wfd, F_GETFL), n = 0;
    fcntl(wfd, F_SETFL, fl | O_NONBLOCK);
    while (write(wfd, page, sizeof page) == sizeof page)
        n++;
    fcntl(wfd, F_SETFL, fl);
    return n;
}

static void errors(void)
{
    int p[2], q[2];
    pipe(p);
    pipe(q);
    int fd = make_file("/tmp/splice_a", 100);
    int fd2 = make_file("/tmp/splice_b", 0);
    loff_t off = 0;
    show("splice len 0 bad fds", splice(-1, NULL, -1, NULL, 0, 0));
    show("splice len 0 bad flags", splice(-1, NULL, -1, NULL, 0, 0x10));
    show("splice bad flags", splice(p[0], NULL, q[1], NULL, 1, 0x10));
    show("splice bad fd in", splice(-1, NULL, q[1], NULL, 1, 0));
    show("splice bad fd out", splice(p[0], NULL, 99, NULL, 1, 0));
    show("splice file to file", splice(fd, NULL, fd2, NULL, 10, 0));
    show("splice pipe with off_in", splice(p[0], &off, fd, NULL, 10, 0));
    show("splice pipe with off_out", splice(fd, NULL, q[1], &off, 10, 0));
    show("splice bad off pointer", splice(fd, (loff_t *)8, q[1], NULL, 10, 0));
    show("splice from a write end", splice(p[1], NULL, q[1], NULL, 10, 0));
    show("splice to a read end", splice(fd, NULL, q[0], NULL, 10, 0));
    show("splice same pipe", splice(p[0], NULL, p[1], NULL, 10, SPLICE_F_NONBLOCK));
    off = -5;
    show("splice negative off_in", splice(fd, &off, q[1], NULL, 10, 0));
    write(p[1], "xy", 2);
    show("splice negative off_out", splice(p[0], NULL, fd2, &off, 10, 0));
    int app = open("/tmp/splice_b", O_WRONLY | O_APPEND);
    show("splice to O_APPEND", splice(p[0], NULL, app, NULL, 10, 0));
    int path = open("/tmp/splice_a", O_PATH);
    show("splice from O_PATH", splice(path, NULL, q[1], NULL, 10, 0));
    show("tee len 0 bad flags", tee(-1, -1, 0, 0x10));
    show("tee len 0", tee(-1, -1, 0, 0));
    show("tee bad fd", tee(-1, q[1], 1, 0));
    show("tee file", tee(fd, q[1], 1, 0));
    show("tee same pipe", tee(p[0], p[1], 1, 0));
    show("tee read end to read end", tee(p[0], q[0], 1, 0));
    struct iovec v = { "abc", 3 };
    show("vmsplice bad flags", vmsplice(q[1], &v, 1, 0x10));
    show("vmsplice file", vmsplice(fd, &v, 1, 0));
    show("vmsplice bad fd", vmsplice(-1, &v, 1, 0));
    show("vmsplice O_PATH", vmsplice(path, &v, 1, 0));
    show("vmsplice too many segs", vmsplice(q[1], &v, 1025, 0));
    show("vmsplice zero segs", vmsplice(q[1], &v, 0, 0));
    show("vmsplice file zero segs", vmsplice(fd, &v, 0, 0));
    show("vmsplice bad iov", vmsplice(q[1], (struct iovec *)8, 1, 0));
    close(path);
    close(app);
    close(fd);
    close(fd2);
    close(p[0]); close(p[1]); close(q[0]); close(q[1]);
}

static void file_and_pipe(void)
{
    int p[2];
    pipe(p);
    int fd = make_file("/tmp/splice_a", 10000);
    loff_t off = 100;
    show("file to pipe at off 100", splice(fd, &off, p[1], NULL, 20000, 0));
    printf("off now %ld, pos %ld, drained %ld\n", (long)off, (long)lseek(fd, 0, SEEK_CUR), drain(p[0]));
    lseek(fd, 9000, SEEK_SET);
    show("file to pipe at pos 9000", splice(fd, NULL, p[1], NULL, 20000, SPLICE_F_MORE | SPLICE_F_MOVE));
    printf("pos now %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    show("file to pipe at EOF", splice(fd, NULL, p[1], NULL, 20000, 0));
    char buf[16] = "";
    read(p[0], buf, 5);
    printf("pipe starts %.5s\n", buf);
    drain(p[0]);

    fcntl(p[1], F_SETPIPE_SZ, 4 * 4096);
    off = 100;
    show("4-page pipe from off 100", splice(fd, &off, p[1], NULL, 16384, 0));
    show("full pipe nonblock", splice(fd, &off, p[1], NULL, 1, SPLICE_F_NONBLOCK));
    drain(p[0]);
    off = 0;
    show("10 bytes spliced", splice(fd, &off, p[1], NULL, 10, 0));
    write(p[1], "abc", 3);
    printf("pages that still fit after a write: %d\n", fill_count(p[1]));
    drain(p[0]);
    write(p[1], "abc", 3);
    write(p[1], "def", 3);
    printf("pages that fit after two writes: %d\n", fill_count(p[1]));
    drain(p[0]);

    int out = make_file("/tmp/splice_b", 20);
    write(p[1], "hello world", 11);
    off = 5;
    show("pipe to file at off 5", splice(p[0], NULL, out, &off, 6, 0));
    printf("off now %ld pos %ld\n", (long)off, (long)lseek(out, 0, SEEK_CUR));
    show("pipe to file at pos", splice(p[0], NULL, out, NULL, 100, 0));
    printf("pos now %ld\n", (long)lseek(out, 0, SEEK_CUR));
    char got[32] = "";
    pread(out, got, 20, 0);
    printf("file: %.20s\n", got);
    show("empty pipe nonblock", splice(p[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK));
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    show("empty O_NONBLOCK pipe", splice(p[0], NULL, out, NULL, 10, 0));
    fcntl(p[0], F_SETFL, 0);
    int null = open("/dev/null", O_WRONLY);
    write(p[1], "zzzz", 4);
    show("pipe to /dev/null", splice(p[0], NULL, null, NULL, 100, 0));
    close(null);
    close(p[1]);
    show("pipe without writers", splice(p[0], NULL, out, NULL, 10, 0));
    close(p[0]);
    close(out);
    close(fd);

    pipe(p);
    close(p[0]);
    fd = make_file("/tmp/splice_a", 100);
    sigpipes = 0;
    show("file to pipe without readers", splice(fd, NULL, p[1], NULL, 10, 0));
    printf("sigpipes %d\n", sigpipes);
    close(p[1]);
    close(fd);
}

static void pipes(void)
{
    int p[2], q[2];
    pipe(p);
    pipe(q);
    write(p[1], "0123456789", 10);
    show("pipe to pipe 4", splice(p[0], NULL, q[1], NULL, 4, 0));
    show("tee 3", tee(p[0], q[1], 3, 0));
    show("pipe to pipe rest", splice(p[0], NULL, q[1], NULL, 100, 0));
    char buf[32] = "";
    long n = read(q[0], buf, sizeof buf);
    printf("q holds %ld: %.*s\n", n, (int)n, buf);
    show("empty pipe to pipe nonblock", splice(p[0], NULL, q[1], NULL, 4, SPLICE_F_NONBLOCK));
    show("tee from empty nonblock", tee(p[0], q[1], 4, SPLICE_F_NONBLOCK));
    fcntl(q[1], F_SETPIPE_SZ, 4096);
    write(q[1], "x", 1);
    fill_count(q[1]);
    write(p[1], "abc", 3);
    show("to full pipe nonblock", splice(p[0], NULL, q[1], NULL, 3, SPLICE_F_NONBLOCK));
    show("tee to full pipe nonblock", tee(p[0], q[1], 3, SPLICE_F_NONBLOCK));
    drain(q[0]);
    show("tee after drain", tee(p[0], q[1], 100, 0));
    show("p still holds", drain(p[0]));
    show("q got", drain(q[0]));
    close(q[0]);
    write(p[1], "abc", 3);
    sigpipes = 0;
    show("to pipe without readers", splice(p[0], NULL, q[1], NULL, 3, 0));
    show("tee to pipe without readers", tee(p[0], q[1], 3, 0));
    printf("sigpipes %d\n", sigpipes);
    close(q[1]);
    pipe(q);
    close(p[1]);
    drain(p[0]);
    show("pipe to pipe no writers", splice(p[0], NULL, q[1], NULL, 3, 0));
    show("tee no writers", tee(p[0], q[1], 3, 0));
    close(p[0]); close(q[0]); close(q[1]);
}

static void user_memory(void)
{
    int p[2];
    pipe(p);
    fcntl(p[1], F_SETPIPE_SZ, 4 * 4096);
    static char area[3 * 4096] __attribute__((aligned(4096)));
    memset(area, 'u', sizeof area);
    struct iovec v[2] = { { area + 4000, 200 }, { area + 8192, 10 } };
    show("vmsplice two segments", vmsplice(p[1], v, 2, 0));
    printf("pages that fit now: %d\n", fill_count(p[1]));
    drain(p[0]);
    struct iovec big = { area, sizeof area };
    show("vmsplice 3 pages", vmsplice(p[1], &big, 1, 0));
    struct iovec odd = { area + 1, 8192 };
    show("vmsplice unaligned into 1 slot", vmsplice(p[1], &odd, 1, SPLICE_F_NONBLOCK));
    show("vmsplice full nonblock", vmsplice(p[1], &odd, 1, SPLICE_F_NONBLOCK));
    drain(p[0]);
    write(p[1], "readme", 6);
    char a[4] = "", b[8] = "";
    struct iovec r[2] = { { a, 4 }, { b, 8 } };
    show("vmsplice to user", vmsplice(p[0], r, 2, 0));
    printf("got %.4s %.2s\n", a, b);
    show("vmsplice to user empty nonblock", vmsplice(p[0], r, 2, SPLICE_F_NONBLOCK));
    close(p[0]);
    sigpipes = 0;
    show("vmsplice without readers", vmsplice(p[1], v, 1, 0));
    printf("sigpipes %d\n", sigpipes);
    close(p[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, on_pipe);
    errors();
    file_and_pipe();
    pipes();
    user_memory();
    unlink("/tmp/splice_a");
    unlink("/tmp/splice_b");
    return 0;
}
