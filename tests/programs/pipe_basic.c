/* Pipes inside one process: data, EOF, O_NONBLOCK, capacity, stat, FIONREAD, pipe2 errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAIL"); }

int main(void)
{
    int p[2], q[2];
    char buf[70000];

    check("pipe2", pipe2(p, 0) == 0);
    printf("fds: %d %d\n", p[0], p[1]);
    check("write 5", write(p[1], "hello", 5) == 5);
    int avail = -1;
    check("FIONREAD 5", ioctl(p[0], FIONREAD, &avail) == 0 && avail == 5);
    check("read 3", read(p[0], buf, 3) == 3 && memcmp(buf, "hel", 3) == 0);
    check("read rest", read(p[0], buf, sizeof buf) == 2 && memcmp(buf, "lo", 2) == 0);
    check("zero read", read(p[0], buf, 0) == 0);
    check("read end not writable", write(p[0], "x", 1) == -1 && errno == EBADF);
    check("write end not readable", read(p[1], buf, 1) == -1 && errno == EBADF);
    check("lseek ESPIPE", lseek(p[0], 0, SEEK_SET) == -1 && errno == ESPIPE);
    check("pread ESPIPE", pread(p[0], buf, 1, 0) == -1 && errno == ESPIPE);

    struct stat st, st2;
    check("fstat", fstat(p[0], &st) == 0);
    check("S_ISFIFO", S_ISFIFO(st.st_mode));
    printf("mode: %o\n", st.st_mode & 07777);
    check("fstat write end same inode", fstat(p[1], &st2) == 0 && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev);
    check("pipe2 O_NONBLOCK|O_CLOEXEC", pipe2(q, O_NONBLOCK | O_CLOEXEC) == 0);
    check("second pipe distinct inode", fstat(q[0], &st2) == 0 && st2.st_ino != st.st_ino);
    check("F_GETFD cloexec", fcntl(q[0], F_GETFD) == FD_CLOEXEC && fcntl(q[1], F_GETFD) == FD_CLOEXEC);
    check("F_GETFL nonblock rdonly", (fcntl(q[0], F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_RDONLY));
    check("F_GETFL nonblock wronly", (fcntl(q[1], F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_WRONLY));

    /* O_NONBLOCK: empty read is EAGAIN; fill to capacity; then EAGAIN. */
    check("empty read EAGAIN", read(q[0], buf, 1) == -1 && errno == EAGAIN);
    printf("F_GETPIPE_SZ: %d\n", fcntl(q[1], F_GETPIPE_SZ));
    long total = 0;
    for (;;) {
        ssize_t n = write(q[1], buf, 1000);
        if (n < 0) { check("full write EAGAIN", errno == EAGAIN); break; }
        total += n;
    }
    printf("filled with 1000-byte writes: %ld\n", total);
    memset(buf, 'z', sizeof buf);
    check("1-byte write still merges into the last page", write(q[1], buf, 1) == 1);
    check("then a 100-byte write EAGAIN", write(q[1], buf, 100) == -1 && errno == EAGAIN);
    long drained = 0;
    for (;;) {
        ssize_t n = read(q[0], buf, sizeof buf);
        if (n <= 0) { check("drained then EAGAIN", n == -1 && errno == EAGAIN); break; }
        drained += n;
    }
    printf("drained: %ld\n", drained);
    check("large nonblocking write takes what fits", write(q[1], buf, sizeof buf) == 65536);
    check("F_SETPIPE_SZ below content EBUSY", fcntl(q[1], F_SETPIPE_SZ, 4096) == -1 && errno == EBUSY);
    while (read(q[0], buf, sizeof buf) > 0) {}
    printf("F_SETPIPE_SZ 5000: %d\n", fcntl(q[1], F_SETPIPE_SZ, 5000));
    printf("F_GETPIPE_SZ after: %d\n", fcntl(q[0], F_GETPIPE_SZ));
    int dir = open("/", O_RDONLY);
    check("F_GETPIPE_SZ on a non-pipe EBADF", fcntl(dir, F_GETPIPE_SZ) == -1 && errno == EBADF);
    close(dir);

    /* EOF once every writer is gone, including a dup. */
    int d = dup(p[1]);
    check("write via dup", write(d, "ab", 2) == 2);
    close(p[1]);
    check("data still there", read(p[0], buf, 10) == 2);
    check("fcntl O_NONBLOCK on read end", fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    check("dup keeps pipe open: EAGAIN", read(p[0], buf, 10) == -1 && errno == EAGAIN);
    close(d);
    check("EOF after last writer", read(p[0], buf, 10) == 0);

    /* pipe2 argument errors. */
    check("pipe2 bad flags EINVAL", pipe2(q, O_APPEND) == -1 && errno == EINVAL);
    int before = dup(0);
    close(before);
    check("pipe2 bad pointer EFAULT", syscall(SYS_pipe2, (void *)8, 0) == -1 && errno == EFAULT);
    int after = dup(0);
    check("EFAULT installed no fds", after == before);
    close(after);

    /* close_range. */
    int r[2];
    pipe2(r, 0);
    check("close_range CLOEXEC", syscall(SYS_close_range, r[0], r[1], 4 /* CLOSE_RANGE_CLOEXEC */) == 0
          && fcntl(r[0], F_GETFD) == FD_CLOEXEC && fcntl(r[1], F_GETFD) == FD_CLOEXEC);
    check("close_range", syscall(SYS_close_range, r[0], ~0U, 0) == 0 && fcntl(r[0], F_GETFD) == -1
          && errno == EBADF);
    check("close_range first > last EINVAL", syscall(SYS_close_range, 5, 4, 0) == -1 && errno == EINVAL);
    return 0;
}
