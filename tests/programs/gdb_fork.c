/* gdb_fork: the parent forks, the child calls child_work(42) (a breakpoint target for
 * tests/qemu/test_gdb_follow.py), the parent waits for it.
 * gdb_fork sleep: main -> outer_call -> inner_call -> sleep(60), for a backtrace taken
 * while the process sleeps in the kernel.
 * gdb_fork pair: parent and child each put their own value in `marker` (one virtual
 * address, two address spaces) and wait; Ctrl-C makes each print it and exit. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

volatile int marker = 1;

static void report(int sig)
{
    (void)sig;
    printf("marker %x\n", marker);
    fflush(stdout);
    _exit(0);
}

static int pair(void)
{
    signal(SIGINT, report);
    pid_t pid = fork();
    marker = pid == 0 ? 0xc41d : 0x9a2e;
    printf("%s ready\n", pid == 0 ? "child" : "parent");
    fflush(stdout);
    for (;;)
        pause();
}

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
    if (argc > 1 && strcmp(argv[1], "pair") == 0)
        return pair();
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_work(42) == 42 ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    printf("parent done %d\n", WEXITSTATUS(status));
    return 0;
}
