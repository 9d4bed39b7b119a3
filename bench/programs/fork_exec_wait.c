/* fork_exec_wait ITERS [PROG=/bench/true_static]: fork(); child execve(PROG);
 * parent waitpid(). */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long iters = arg_long(argc, argv, 1, 500);
    const char *prog = arg_str(argc, argv, 2, "/bench/true_static");
    char *cargv[] = { (char *)prog, NULL };
    char *cenvp[] = { NULL };
    long long t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        pid_t pid = fork();
        if (pid < 0)
            DIE("fork");
        if (pid == 0) {
            execve(prog, cargv, cenvp);
            _exit(127);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid)
            DIE("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "child %s: status %#x\n", prog, st);
            return 1;
        }
    }
    long long t1 = now_ns();
    report("fork_exec_wait", iters, t1 - t0, NULL);
    return 0;
}
