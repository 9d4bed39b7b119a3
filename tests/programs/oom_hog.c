/* Memory hogs and the OOM killer: a child touches memory 1 MiB at a time until it is
 * killed (by SIGKILL, as Linux's OOM killer kills), while its parent -- small, and with
 * "oom_score_adj" argument -1000 protected outright -- lives on and reports. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

static void set_adj(const char *value)
{
    int fd = open("/proc/self/oom_score_adj", O_WRONLY);
    if (fd < 0 || write(fd, value, strlen(value)) < 0)
        printf("oom_score_adj %s: %s\n", value, strerrorname_np(errno));
    if (fd >= 0)
        close(fd);
}

static void hog(void)
{
    for (;;) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            _exit(3);           /* ENOMEM before the OOM killer: not what this checks */
        for (int i = 0; i < 1 << 20; i += 4096)
            p[i] = 1;
    }
}

int main(int argc, char **argv)
{
    if (argc > 1)
        set_adj(argv[1]);
    for (int round = 0; round < 2; round++) {    /* twice: the memory of the first came back */
        pid_t pid = fork();
        if (pid == 0) {
            if (argc > 1)
                set_adj("0");       /* unprivileged-looking child: back to the default */
            hog();
        }
        int status;
        waitpid(pid, &status, 0);
        if (WIFSIGNALED(status))
            printf("round %d: child killed by %s\n", round, strsignal(WTERMSIG(status)));
        else
            printf("round %d: child exited %d\n", round, WEXITSTATUS(status));
        fflush(stdout);
    }
    char *again = malloc(8 << 20);
    memset(again, 1, 8 << 20);
    printf("parent alive, 8 MiB allocated after\n");
    return 0;
}
