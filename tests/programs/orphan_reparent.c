/* Orphans are adopted by init: a grandchild whose parent exits sees getppid() == 1,
 * and its parent's SIGCHLD/wait goes to init, not to us. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int fds[2];
    pipe(fds);
    pid_t child = fork();
    if (child == 0) {
        if (fork() == 0) {                 /* the grandchild */
            char x;
            close(fds[1]);
            read(fds[0], &x, 1);           /* wait until its parent is gone */
            printf("grandchild: adopted by init: %s\n", getppid() == 1 ? "yes" : "no");
            fflush(stdout);
            _exit(0);
        }
        _exit(3);                          /* the middle process leaves its child behind */
    }
    int status;
    waitpid(child, &status, 0);
    printf("middle exited %d\n", WEXITSTATUS(status));
    fflush(stdout);
    close(fds[1]);                         /* let the grandchild look */
    close(fds[0]);
    usleep(300000);
    printf("no other children: %s\n", wait(NULL) < 0 ? "yes" : "no");
    return 0;
}
