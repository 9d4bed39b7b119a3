/* vfork: the parent sleeps until the child exits or execs, and they share memory until then. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1) return argv[1][0] == 'h' ? 5 : 1;    /* the exec'd child: silent, so output order is fixed */
    static volatile int shared = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        shared = 42;            /* visible to the parent: same address space */
        _exit(0);
    }
    printf("after vfork+_exit: shared=%d\n", shared);
    int status;
    waitpid(pid, &status, 0);
    fflush(stdout);
    pid = vfork();
    if (pid == 0) {
        shared = 7;             /* done before the parent may run again */
        execl("/tests/vfork_order", "vfork_order", "hello", (char *)0);
        _exit(127);
    }
    printf("parent resumed after the child's exec: shared=%d\n", shared);
    fflush(stdout);
    waitpid(pid, &status, 0);
    printf("exec'd child exited %d\n", WEXITSTATUS(status));
    return 0;
}
