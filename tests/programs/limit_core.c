/* limit_core: when a core-dumping signal's wait status says "core dumped" (WCOREDUMP), as
 * Linux 6.1's do_coredump decides it: only when a core was written -- RLIMIT_CORE at least
 * a page (binfmt_elf's min_coredump) and a dumpable process (core_pattern "core"), even when
 * the limit cuts the core short. What the file holds is coredump.c's business. Each case runs
 * in a fresh directory under /tmp, removed afterwards. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void remove_tree(const char *dir)
{
    char path[512];
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) < 0)
            rmdir(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void one(const char *what, rlim_t limit, int undumpable)
{
    char dir[] = "/tmp/limit_core.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return;
    }
    pid_t c = fork();
    if (c == 0) {
        if (chdir(dir) < 0)
            _exit(2);
        struct rlimit l = { limit, RLIM_INFINITY };
        setrlimit(RLIMIT_CORE, &l);
        if (undumpable)
            prctl(PR_SET_DUMPABLE, 0);
        abort();
    }
    int st;
    waitpid(c, &st, 0);
    printf("%-28s %s, WCOREDUMP %d\n", what,
           WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "not signalled", WIFSIGNALED(st) && WCOREDUMP(st) ? 1 : 0);
    remove_tree(dir);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char pattern[256] = "";
    int fd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, pattern, sizeof pattern - 1);
        pattern[n > 0 ? n : 0] = 0;
        close(fd);
    }
    printf("core_pattern: %s", pattern);
    one("limit 0", 0, 0);
    one("limit 1", 1, 0);
    one("limit 4095", 4095, 0);
    one("limit 4096", 4096, 0);
    one("limit 64 KiB", 64 << 10, 0);
    one("unlimited", RLIM_INFINITY, 0);
    one("unlimited, not dumpable", RLIM_INFINITY, 1);
    return 0;
}
