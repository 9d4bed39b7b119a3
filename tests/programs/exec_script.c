/* execve of #! scripts (with an interpreter argument) and execve's errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void put(const char *path, const char *text, int mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    write(fd, text, strlen(text));
    close(fd);
    chmod(path, mode);
}

static int run(char *const argv[]) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        printf("execv %s: %s\n", argv[0], strerror(errno));
        fflush(stdout);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return WEXITSTATUS(status);
}

int main(void) {
    mkdir("/tmp", 0777);
    put("/tmp/s1", "#!/bin/sh\necho \"script: $0 $1 $2\"\nexit 6\n", 0755);
    put("/tmp/s2", "#! /bin/sh -e  \necho with -e: $0\nfalse\necho not reached\n", 0755);
    put("/tmp/s3", "#!/tmp/s1 nested\n", 0755);
    put("/tmp/noexec", "#!/bin/sh\necho no\n", 0644);
    put("/tmp/garbage", "this is not a program\n", 0755);
    put("/tmp/empty", "#!\n", 0755);
    put("/tmp/nointerp", "#!/no/such/interpreter\n", 0755);

    printf("s1 -> %d\n", run((char *[]){"/tmp/s1", "a", "b", NULL}));
    printf("s2 -> %d\n", run((char *[]){"/tmp/s2", NULL}));
    printf("s3 -> %d\n", run((char *[]){"/tmp/s3", "x", NULL}));
    printf("noexec -> %d\n", run((char *[]){"/tmp/noexec", NULL}));
    printf("garbage -> %d\n", run((char *[]){"/tmp/garbage", NULL}));
    printf("empty -> %d\n", run((char *[]){"/tmp/empty", NULL}));
    printf("nointerp -> %d\n", run((char *[]){"/tmp/nointerp", NULL}));
    printf("missing -> %d\n", run((char *[]){"/tmp/missing", NULL}));
    printf("directory -> %d\n", run((char *[]){"/tmp", NULL}));

    size_t big = 3 << 20;
    char *huge = malloc(big);
    memset(huge, 'x', big - 1);
    huge[big - 1] = 0;
    printf("huge argument -> %d\n", run((char *[]){"/tmp/s1", huge, NULL}));
    return 0;
}
