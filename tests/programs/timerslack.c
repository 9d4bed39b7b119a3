/* prctl PR_GET/SET_TIMERSLACK: the default, a set value, what fork and threads inherit,
 * and what 0 restores (the creator's slack when the thread was made, not the system default). */
#include <pthread.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static long slack(void) { return prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0); }

static void *thread(void *arg)
{
    (void)arg;
    printf("thread inherits %ld\n", slack());
    prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0);
    printf("thread reset to %ld\n", slack());
    return NULL;
}

int main(void)
{
    printf("default %ld\n", slack());
    printf("set returns %d\n", prctl(PR_SET_TIMERSLACK, 12345, 0, 0, 0));
    printf("now %ld\n", slack());
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("child inherits %ld\n", slack());
        prctl(PR_SET_TIMERSLACK, 999, 0, 0, 0);
        printf("child set %ld\n", slack());
        prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0);
        printf("child reset to %ld\n", slack());
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    prctl(PR_SET_TIMERSLACK, 777, 0, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, thread, NULL);
    pthread_join(t, NULL);
    printf("main still %ld\n", slack());
    prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0);
    printf("main reset to %ld\n", slack());
    return 0;
}
