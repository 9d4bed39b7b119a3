/* execveat: a program run relative to a directory fd, through its own fd (AT_EMPTY_PATH, as
 * fexecve), through a symlink with and without AT_SYMLINK_NOFOLLOW, and the errors in Linux's order. Each run prints the AT_EXECFN, comm, /proc/self/exe and
 * argv the new program sees. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

static char *child_argv[] = {"ea-argv0", "child", NULL};
static char *child_env[] = {"X=1", NULL};

static void report(void)
{
    char comm[32] = {0}, exe[256] = {0};
    int fd = open("/proc/self/comm", O_RDONLY);
    read(fd, comm, sizeof comm - 1);
    close(fd);
    comm[strcspn(comm, "\n")] = 0;
    readlink("/proc/self/exe", exe, sizeof exe - 1);
    printf("  execfn %s comm %s exe %s\n", (char *)getauxval(AT_EXECFN), comm, exe);
}

static void run(const char *what, int dirfd, const char *path, int flags)
{
    pid_t pid = fork();
    if (pid == 0) {
        long r = syscall(SYS_execveat, dirfd, path, child_argv, child_env, flags);
        printf("%s: %s\n", what, strerrorname_np(errno));
        exit(r < 0 ? 3 : 4);
    }
    int st = status_of(pid);
    if (st != 3)
        printf("%s: ran, status %d\n", what, st);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        report();
        return 0;
    }
    int dir = open("/tests", O_RDONLY | O_DIRECTORY);
    int self = open("/tests/execveat", O_RDONLY);
    int path = open("/tests/execveat", O_PATH);
    int cloexec = open("/tests/execveat", O_RDONLY | O_CLOEXEC);
    printf("fds %d %d %d %d\n", dir, self, path, cloexec);
    symlink("/tests/execveat", "/tmp/ea_link");

    run("absolute", AT_FDCWD, "/tests/execveat", 0);
    run("relative to a directory fd", dir, "execveat", 0);
    run("absolute, with a directory fd", dir, "/tests/execveat", 0);
    run("absolute, bad dirfd", 99, "/tests/execveat", 0);
    run("AT_EMPTY_PATH", self, "", AT_EMPTY_PATH);
    run("AT_EMPTY_PATH, O_PATH fd", path, "", AT_EMPTY_PATH);
    run("AT_EMPTY_PATH, close-on-exec fd", cloexec, "", AT_EMPTY_PATH);
    run("AT_EMPTY_PATH with a name", dir, "execveat", AT_EMPTY_PATH);
    run("symlink", AT_FDCWD, "/tmp/ea_link", 0);
    run("symlink, AT_SYMLINK_NOFOLLOW", AT_FDCWD, "/tmp/ea_link", AT_SYMLINK_NOFOLLOW);
    run("empty path", self, "", 0);
    run("bad flag", AT_FDCWD, "/tests/execveat", 0x2);
    run("bad flag, bad path pointer", AT_FDCWD, (char *)8, 0x2);
    run("bad dirfd", 99, "execveat", 0);
    run("a file as dirfd", self, "execveat", 0);
    run("a directory, AT_EMPTY_PATH", dir, "", AT_EMPTY_PATH);
    run("AT_FDCWD, empty, AT_EMPTY_PATH", AT_FDCWD, "", AT_EMPTY_PATH);
    run("missing", dir, "nope", 0);
    unlink("/tmp/ea_link");
    return 0;
}
