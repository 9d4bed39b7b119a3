/* The program Debian's gdb debugs in tests/qemu/test_gdb_inside.py (built there with -g -O0,
 * dynamically linked against the image's glibc): a call chain to break in and step through,
 * globals to print, set and watch, a fork and an exec of itself to catch ("f"), threads to
 * list ("t").
 * Run alone it prints its result. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int counter = 5;
long watched_total;
static pthread_barrier_t barrier;

static int add(int a, int b)
{
    int sum = a + b;
    return sum;
}

int compute(int n)
{
    int total = 0;
    for (int i = 0; i < n; i++)
        total = add(total, i);
    watched_total = total;
    return total;
}

void threads_ready(void)
{
    puts("threads ready");
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&barrier);     /* main passes once threads_ready() is done */
    pthread_barrier_wait(&barrier);
    return NULL;
}

static void with_threads(void)
{
    pthread_t t[2];
    pthread_barrier_init(&barrier, NULL, 3);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    pthread_barrier_wait(&barrier);
    threads_ready();
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
}

static void fork_and_exec(const char *self)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "x", (char *)NULL);      /* itself again: gdb finds a non-PIE's symbols */
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);           /* silent: gdb, following the child, reports it as it likes */
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && argv[1][0] == 't')
        with_threads();
    if (argc > 1 && argv[1][0] == 'f') {
        fork_and_exec(argv[0]);
        return 0;
    }
    int r = compute(counter);
    printf("result %d counter %d\n", r, counter);
    return 0;
}
