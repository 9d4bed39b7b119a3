/* gdb_fork: the parent forks, the child calls child_work(42) (a breakpoint target for
 * tests/qemu/test_gdb_follow.py), the parent waits for it. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) int child_work(int n)
{
    printf("child %d\n", n);
    fflush(stdout);
    return n;
}

int main(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_work(42) == 42 ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    printf("parent done %d\n", WEXITSTATUS(status));
    return 0;
}
