/* vfork: the parent sleeps until the child exits or execs, and they share memory until then. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1) { printf("exec'd child says %s\n", argv[1]); return 5; }
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
        execl("/tests/vfork_order", "vfork_order", "hello", (char *)0);
        _exit(127);
    }
    printf("parent resumed after the child's exec\n");
    fflush(stdout);
    waitpid(pid, &status, 0);
    printf("exec'd child exited %d\n", WEXITSTATUS(status));
    return 0;
}
