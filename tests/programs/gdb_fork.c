/* gdb_fork: the parent forks, the child calls child_work(42) (a breakpoint target for
 * tests/qemu/test_gdb_follow.py), the parent waits for it.
 * gdb_fork sleep: main -> outer_call -> inner_call -> sleep(60), for a backtrace taken
 * while the process sleeps in the kernel. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) int inner_call(int n)
{
    printf("sleeping\n");
    fflush(stdout);
    return sleep(n) + n;
}

__attribute__((noinline)) int outer_call(int n)
{
    return inner_call(n) + 1;
}

__attribute__((noinline)) int child_work(int n)
{
    printf("child %d\n", n);
    fflush(stdout);
    return n;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "sleep") == 0)
        return outer_call(60) == 61 ? 0 : 1;
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_work(42) == 42 ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    printf("parent done %d\n", WEXITSTATUS(status));
    return 0;
}
