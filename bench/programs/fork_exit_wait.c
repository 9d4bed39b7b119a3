/* fork_exit_wait ITERS: fork(); child _exit(0); parent waitpid(). */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 1000);
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        pid_t pid = fork();
        if (pid < 0)
            DIE("fork");
        if (pid == 0)
            _exit(0);
        int st;
        if (waitpid(pid, &st, 0) != pid)
            DIE("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "child status %#x\n", st);
            return 1;
        }
    }
    long long t1 = now_ns();
    report("fork_exit_wait", iters, t1 - t0, NULL);
    return 0;
}
