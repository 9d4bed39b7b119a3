/* Process groups and sessions: setpgid/getpgid/setsid/getsid and their errors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHOW(expr) do { errno = 0; long r_ = (long)(expr); printf("%-34s -> %s\n", #expr, \
    r_ < 0 ? strerror(errno) : "ok"); } while (0)

int main(void) {
    pid_t me = getpid();
    SHOW(setsid());                                 /* we are not a group leader: ok */
    printf("leader of session and group: %s\n", getsid(0) == me && getpgid(0) == me ? "yes" : "no");
    SHOW(setsid());                                 /* now we lead a group: EPERM */
    SHOW(setpgid(0, 0));                            /* a session leader: EPERM */
    SHOW(setpgid(-1, 0));
    SHOW(setpgid(0, -1));
    SHOW(getpgid(99999));
    int fds[2];
    pipe(fds);
    pid_t child = fork();
    if (child == 0) {
        char x;
        close(fds[1]);
        read(fds[0], &x, 1);
        _exit(0);
    }
    SHOW(setpgid(child, child));                    /* a new group for the child */
    printf("child's group is its pid: %s\n", getpgid(child) == child ? "yes" : "no");
    SHOW(setpgid(child, me));                       /* back into ours */
    printf("child's group is ours: %s\n", getpgid(child) == me ? "yes" : "no");
    SHOW(setpgid(child, 12345));                    /* no such group in the session */
    SHOW(setpgid(99999, 0));                        /* no such process */
    printf("child's session is ours: %s\n", getsid(child) == me ? "yes" : "no");
    close(fds[1]);
    waitpid(child, NULL, 0);
    return 0;
}
