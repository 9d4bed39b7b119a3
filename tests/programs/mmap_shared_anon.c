/* MAP_SHARED | MAP_ANONYMOUS: parent and children see each other's stores, pages first
 * touched after the fork included; MAP_PRIVATE memory stays private; munmap in the child
 * leaves the parent's view alone. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    size_t size = 64 * 4096;
    volatile char *shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    volatile char *private = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    shared[0] = 'a';
    private[0] = 'a';
    pid_t child = fork();
    if (child == 0) {
        shared[0] = 'b';
        shared[40 * 4096] = 'c';          /* untouched before the fork */
        private[0] = 'x';
        munmap((void *)shared, size);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    printf("shared page touched before fork: %c\n", shared[0]);
    printf("shared page first touched by the child: %c\n", shared[40 * 4096]);
    printf("private page: %c\n", private[0]);
    for (int i = 0; i < 3; i++) {
        if (fork() == 0) { shared[100 + i] = '0' + i; _exit(0); }
    }
    while (wait(NULL) > 0) {}
    printf("three children wrote: %.3s\n", (const char *)shared + 100);
    printf("fresh shared memory is zero: %s\n", shared[63 * 4096 + 7] == 0 ? "yes" : "no");
    return 0;
}
