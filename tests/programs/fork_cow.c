/* fork with copy-on-write: the child rewrites every page of a large buffer and the
 * parent still sees its own bytes; the child sees the parent's bytes until it writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (4 << 20)
#define PAGE 4096

static int check(const unsigned char *buf, unsigned char want) {
    for (size_t i = 0; i < SIZE; i += PAGE)
        if (buf[i] != want || buf[i + PAGE - 1] != want)
            return 0;
    return 1;
}

int main(void) {
    unsigned char *buf = malloc(SIZE);
    static int counter = 100;            /* a .data page: CoW too */
    memset(buf, 0xAA, SIZE);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        int saw_parent = check(buf, 0xAA);
        memset(buf, 0x55, SIZE);
        counter += 1;
        printf("child: saw parent's data %s, own writes %s, counter %d\n",
               saw_parent ? "yes" : "no", check(buf, 0x55) ? "ok" : "BAD", counter);
        fflush(stdout);
        _exit(7);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) { perror("waitpid"); return 1; }
    printf("parent: child exited %d, parent's data %s, counter %d\n",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1, check(buf, 0xAA) ? "intact" : "CORRUPTED", counter);
    memset(buf, 0x11, SIZE);             /* the parent now owns every page alone: writes in place */
    printf("parent: own writes %s\n", check(buf, 0x11) ? "ok" : "BAD");
    return 0;
}
