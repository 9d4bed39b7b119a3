/* A shell-free exec, as the kernel starting pid 1 does it: execve(argv[1], argv + 1) with no
 * PATH search and no fallback. (glibc's execvp, and so busybox's env, runs a file that fails
 * with ENOEXEC as a /bin/sh script instead.) When execve fails: "execve PATH: ENAME (strerror)"
 * on stderr and the status a shell or busybox's env gives: 127 if there is no such file, 126
 * if there is one that cannot be executed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: exec_direct PROGRAM [ARG...]\n");
        return 2;
    }
    execve(argv[1], argv + 1, environ);
    int e = errno;
    fprintf(stderr, "execve %s: %s (%s)\n", argv[1], strerrorname_np(e), strerror(e));
    return e == ENOENT ? 127 : 126;
}
