/* Threads: pthread_create/join, a mutex counter, a condition variable ping-pong, a signal
 * to the process taken by the thread that does not block it, exit() from a thread, and
 * pthread_exit of main while another thread still runs, a fatal signal in a thread,
 * execve from a thread that is not the leader, and a stop and continue of a threaded
 * process. Only deterministic results are
 * printed (threads are scheduled differently on Linux and moss-py). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *square(void *arg)
{
    long i = (long)arg;
    return (void *)(i * i);
}

static void create_join(void)
{
    pthread_t t[8];
    long sum = 0;
    for (long i = 0; i < 8; i++)
        if (pthread_create(&t[i], NULL, square, (void *)i) != 0)
            printf("pthread_create failed\n");
    for (int i = 0; i < 8; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        sum += (long)ret;
    }
    printf("create/join 8: sum of squares %ld\n", sum);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *count(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void mutex_counter(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, count, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("mutex counter 4 x 20000: %ld\n", counter);
}

static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn, rounds;

static void *pong(void *arg)
{
    int me = (int)(long)arg;
    pthread_mutex_lock(&lock);
    while (rounds < 1000) {
        while (turn != me && rounds < 1000)
            pthread_cond_wait(&turn_changed, &lock);
        if (rounds < 1000) {
            rounds++;
            turn = !me;
            pthread_cond_broadcast(&turn_changed);
        }
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void cond_pingpong(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, pong, (void *)0L);
    pthread_create(&b, NULL, pong, (void *)1L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("condvar ping-pong: %d rounds, turn %d\n", rounds, turn);
}

static volatile pid_t handled_by;
static volatile int thread_tid;

static void on_usr1(int sig)
{
    (void)sig;
    handled_by = gettid();
}

static void *unblocked(void *arg)
{
    (void)arg;
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    thread_tid = gettid();
    while (!handled_by)
        usleep(1000);
    return NULL;
}

static void signal_to_process(void)
{
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    signal(SIGUSR1, on_usr1);
    pthread_t t;
    pthread_create(&t, NULL, unblocked, NULL);
    while (!thread_tid)
        usleep(1000);
    printf("kill(0) to a live thread's tid: %d\n", kill(thread_tid, 0));
    kill(getpid(), SIGUSR1);
    pthread_join(t, NULL);
    printf("kill to the process: handled by the thread that does not block it: %s\n",
           handled_by == thread_tid ? "yes" : "no");
    printf("thread tid differs from pid: %s\n", thread_tid != getpid() ? "yes" : "no");
}

static void *exits(void *arg)
{
    (void)arg;
    exit(7);
}

static void *sleeps_then_writes(void *arg)
{
    int fd = (int)(long)arg;
    usleep(50000);
    write(fd, "late thread done\n", 17);
    return NULL;
}

static void report(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by signal %d\n", what, WTERMSIG(status));
}

static void exit_from_thread(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        pthread_create(&t, NULL, exits, NULL);
        pause();
        _exit(1);
    }
    int status;
    waitpid(pid, &status, 0);
    report("exit(7) from a thread", status);
}

static void main_pthread_exit(void)
{
    int fds[2];
    pipe(fds);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        pthread_t t;
        pthread_create(&t, NULL, sleeps_then_writes, (void *)(long)fds[1]);
        pthread_exit(NULL);
    }
    close(fds[1]);
    char buf[64];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("after main's pthread_exit: %s", buf);
    int status;
    waitpid(pid, &status, 0);
    report("process whose main called pthread_exit", status);
}

static void *killed_by_signal(void *arg)
{
    (void)arg;
    raise(SIGTERM);
    pause();
    return NULL;
}

static void fatal_signal_in_thread(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        pthread_t t;
        pthread_create(&t, NULL, killed_by_signal, NULL);
        pthread_join(t, NULL);
        _exit(1);
    }
    int status;
    waitpid(pid, &status, 0);
    report("fatal signal in a thread", status);
}

static pthread_barrier_t ready, done;

static void *waits_at_barriers(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&done);
    return NULL;
}

static void proc_threads(void)
{
    pthread_t t[2];
    pthread_barrier_init(&ready, NULL, 3);
    pthread_barrier_init(&done, NULL, 3);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, waits_at_barriers, NULL);
    pthread_barrier_wait(&ready);
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0)
            printf("/proc/self/status %s", line);
    if (f)
        fclose(f);
    int entries = 0, own = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            entries++;
            own += atoi(e->d_name) == gettid();
        }
    if (d)
        closedir(d);
    printf("/proc/self/task: %d entries, the caller's among them: %d\n", entries, own);
    pthread_barrier_wait(&done);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
}

static pthread_mutex_t robust;

static void *dies_holding(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&robust);
    return NULL;                    /* ends without unlocking */
}

static void robust_mutex(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &attr);
    pthread_t t;
    pthread_create(&t, NULL, dies_holding, NULL);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(&robust);
    printf("robust mutex of a dead thread: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
    pthread_mutex_consistent(&robust);
    pthread_mutex_unlock(&robust);
    printf("locked again after consistent: %s\n", pthread_mutex_lock(&robust) == 0 ? "yes" : "no");
    pthread_mutex_unlock(&robust);
}

static const char *self;

static void *execs(void *arg)
{
    (void)arg;
    char pid[16];
    snprintf(pid, sizeof pid, "%d", getpid());
    execl(self, self, "after-exec", pid, (char *)NULL);
    printf("execve from a thread failed: %s\n", strerror(errno));
    exit(1);
}

static void exec_from_thread(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        pthread_create(&t, NULL, execs, NULL);
        pause();
        _exit(1);
    }
    int status;
    waitpid(pid, &status, 0);
    report("the process that exec'd from a thread", status);
}

static void *spins(void *arg)
{
    (void)arg;
    for (;;)
        usleep(1000);
    return NULL;
}

static void stop_and_continue(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t[2];
        pthread_create(&t[0], NULL, spins, NULL);
        pthread_create(&t[1], NULL, spins, NULL);
        spins(NULL);
    }
    usleep(20000);
    int status;
    kill(pid, SIGSTOP);
    waitpid(pid, &status, WUNTRACED);
    printf("threaded child stopped: %d by signal %d\n", WIFSTOPPED(status), WSTOPSIG(status));
    kill(pid, SIGCONT);
    waitpid(pid, &status, WCONTINUED);
    printf("threaded child continued: %d\n", WIFCONTINUED(status));
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    report("threaded child after SIGKILL", status);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    self = argv[0];
    if (argc > 2 && strcmp(argv[1], "after-exec") == 0) {
        printf("after execve from a thread: pid kept %s, it is the leader %s\n",
               getpid() == atoi(argv[2]) ? "yes" : "no", gettid() == getpid() ? "yes" : "no");
        return 3;
    }
    create_join();
    mutex_counter();
    cond_pingpong();
    signal_to_process();
    exit_from_thread();
    main_pthread_exit();
    fatal_signal_in_thread();
    robust_mutex();
    proc_threads();
    exec_from_thread();
    stop_and_continue();
    return 0;
}
