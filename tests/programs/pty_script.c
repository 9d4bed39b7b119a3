/* A tiny `script -c CMD`: run CMD on a new pseudo-terminal and copy what it writes.
 * Usage: pty_script [CMD [KEYS]]: KEYS, if given, are typed on the terminal (written to the
 * master) at once, before CMD reads them: the slave's line discipline edits them as they come.
 *
 * posix_openpt + grantpt + unlockpt + ptsname as glibc does them (TIOCGPTN, TIOCSPTLCK),
 * the child in a session of its own with the slave as controlling terminal, the parent
 * polling the master and reading it until EIO (slave side closed). Prints what it checks:
 *   pty: /dev/pts/N
 *   ...the command's output, as the master read it (ONLCR: \r\n)...
 *   pty: eof errno=EIO status=0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "echo hi; tty";
    const char *keys = argc > 2 ? argv[2] : NULL;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0) { perror("posix_openpt"); return 1; }
    if (grantpt(master) || unlockpt(master)) { perror("grantpt/unlockpt"); return 1; }
    const char *name = ptsname(master);
    if (!name) { perror("ptsname"); return 1; }
    printf("pty: %s\n", name);
    fflush(stdout);

    pid_t pid = fork();
    if (pid == 0) {
        close(master);
        setsid();
        int slave = open(name, O_RDWR);         /* becomes our controlling terminal */
        if (slave < 0) { perror("open slave"); _exit(126); }
        dup2(slave, 0); dup2(slave, 1); dup2(slave, 2);
        if (slave > 2) close(slave);
        execl("/bin/sh", "sh", "-c", cmd, (char *)0);
        _exit(127);
    }

    if (keys && write(master, keys, strlen(keys)) < 0) { perror("write keys"); return 1; }

    char buf[4096];
    int err = 0;
    for (;;) {
        struct pollfd p = { .fd = master, .events = POLLIN };
        if (poll(&p, 1, 20000) <= 0) { err = -1; break; }
        ssize_t n = read(master, buf, sizeof buf);
        if (n < 0) { err = errno; break; }
        if (n == 0) break;
        fwrite(buf, 1, n, stdout);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    printf("pty: eof errno=%s status=%d\n", err == EIO ? "EIO" : err ? strerror(err) : "0",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
