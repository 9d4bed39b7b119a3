/* FIFOs (mkfifo): opening rules (ENXIO, O_NONBLOCK, O_RDWR, blocking opens that wait for the
 * other side), data through the node, EOF, and stat of the node. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAIL"); fflush(stdout); }

int main(void)
{
    const char *path = "/tmp/moss_fifo_test";
    char buf[64];
    unlink(path);
    umask(022);
    check("mkfifo", mkfifo(path, 0666) == 0);
    check("mkfifo again EEXIST", mkfifo(path, 0666) == -1 && errno == EEXIST);
    struct stat st;
    check("stat S_ISFIFO 0644", stat(path, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0644);

    check("nonblocking write open without reader ENXIO", open(path, O_WRONLY | O_NONBLOCK) == -1 && errno == ENXIO);
    int r = open(path, O_RDONLY | O_NONBLOCK);
    check("nonblocking read open without writer", r >= 0);
    struct pollfd pf = {r, POLLIN, 0};
    check("no POLLHUP before any writer", poll(&pf, 1, 0) == 0);
    check("read with no writer yet: EOF", read(r, buf, sizeof buf) == 0);
    int w = open(path, O_WRONLY | O_NONBLOCK);
    check("nonblocking write open with a reader", w >= 0);
    check("write through the fifo", write(w, "fifo data", 9) == 9);
    check("read it back", read(r, buf, sizeof buf) == 9 && memcmp(buf, "fifo data", 9) == 0);
    struct stat fst;
    check("fstat of an open end is the node", fstat(w, &fst) == 0 && fst.st_ino == st.st_ino && S_ISFIFO(fst.st_mode));
    close(w);
    check("POLLHUP after the writer left", poll(&pf, 1, 0) == 1 && pf.revents == POLLHUP);
    close(r);

    int rw = open(path, O_RDWR);
    check("O_RDWR open never waits", rw >= 0);
    check("O_RDWR end talks to itself", write(rw, "x", 1) == 1 && read(rw, buf, 1) == 1 && buf[0] == 'x');
    close(rw);

    /* Blocking opens meet: the child opens for writing, the parent for reading. */
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_WRONLY);        /* waits for the reader */
        usleep(20000);
        write(fd, "hello through a fifo", 20);
        close(fd);
        _exit(0);
    }
    r = open(path, O_RDONLY);                 /* waits for the writer */
    check("blocking read open met the writer", r >= 0);
    int n, total = 0;
    while ((n = read(r, buf + total, sizeof buf - total)) > 0)
        total += n;
    buf[total] = 0;
    printf("read %d bytes: %s\n", total, buf);
    close(r);
    int status;
    waitpid(pid, &status, 0);
    check("writer exited 0", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* Data does not outlive the last open end. */
    rw = open(path, O_RDWR);
    write(rw, "stale", 5);
    close(rw);
    r = open(path, O_RDONLY | O_NONBLOCK);
    check("buffer gone with the last end", read(r, buf, sizeof buf) == 0);
    close(r);
    check("unlink", unlink(path) == 0);
    return 0;
}
