/* ptrace's errors in Linux's order: ESRCH for no such task, a task not traced by the
 * caller or not stopped; EPERM for the caller's own group, a tracee already traced, a
 * different uid, a non-dumpable task; EIO for bad requests, signals and a non-seized
 * INTERRUPT; EINVAL for options and sigset sizes; KILL without a stop; what SYSEMU and
 * SYSEMU_SINGLESTEP do on arm64. Prints no pids. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long pt(long req, long pid, long addr, long data) {
    return syscall(SYS_ptrace, req, pid, addr, data);
}

static void show(const char *what, long rc) {
    printf("%-36s %ld %s\n", what, rc, rc < 0 ? (errno == ESRCH ? "ESRCH" : errno == EPERM ? "EPERM"
           : errno == EIO ? "EIO" : errno == EINVAL ? "EINVAL" : errno == EFAULT ? "EFAULT" : "other") : "");
    errno = 0;
}

static pid_t sleeper(int uid, int dumpable) {
    pid_t p = fork();
    if (p == 0) {
        if (uid >= 0 && setresuid(uid, uid, uid)) _exit(2);
        prctl(PR_SET_DUMPABLE, dumpable);
        for (;;) pause();
    }
    return p;
}

static int reap(pid_t p) {
    int st;
    waitpid(p, &st, __WALL);
    return st;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    long word;
    show("CONT no such pid", pt(PTRACE_CONT, 999999, 0, 0));
    show("ATTACH no such pid", pt(PTRACE_ATTACH, 999999, 0, 0));
    show("ATTACH self", pt(PTRACE_ATTACH, getpid(), 0, 0));
    show("SEIZE self with addr", pt(PTRACE_SEIZE, getpid(), 1, 0));
    show("ATTACH pid 0", pt(PTRACE_ATTACH, 0, 0, 0));

    pid_t a = sleeper(-1, 1);
    usleep(50000);
    show("PEEKDATA not traced", pt(PTRACE_PEEKDATA, a, 0, (long)&word));
    show("unknown request not traced", pt(12345, a, 0, 0));
    show("SEIZE", pt(PTRACE_SEIZE, a, 0, 0));
    show("ATTACH again", pt(PTRACE_ATTACH, a, 0, 0));
    show("PEEKDATA running", pt(PTRACE_PEEKDATA, a, 0, (long)&word));
    show("SETOPTIONS running", pt(PTRACE_SETOPTIONS, a, 0, 0));
    show("INTERRUPT", pt(PTRACE_INTERRUPT, a, 0, 0));
    printf("stopped: %d\n", WIFSTOPPED(reap(a)));
    show("unknown request", pt(12345, a, 0, 0));
    show("PEEKUSR", pt(PTRACE_PEEKUSER, a, 0, (long)&word));
    show("POKEUSR", pt(PTRACE_POKEUSER, a, 0, 0));
    show("CONT signal 65", pt(PTRACE_CONT, a, 0, 65));
    show("DETACH signal -1", pt(PTRACE_DETACH, a, 0, -1));
    show("SETOPTIONS bad", pt(PTRACE_SETOPTIONS, a, 0, 1 << 30));
    show("GETSIGMASK size 4", pt(PTRACE_GETSIGMASK, a, 4, (long)&word));
    show("GETSIGMASK", pt(PTRACE_GETSIGMASK, a, 8, (long)&word));
    show("SETSIGMASK size 16", pt(PTRACE_SETSIGMASK, a, 16, (long)&word));
    show("PEEKDATA unmapped", pt(PTRACE_PEEKDATA, a, 16, (long)&word));
    show("POKEDATA unmapped", pt(PTRACE_POKEDATA, a, 16, 0));
    show("PEEKDATA to a bad buffer", pt(PTRACE_PEEKDATA, a, (long)&word, 16));
    show("GETREGSET bad iovec", pt(PTRACE_GETREGSET, a, 1, 16));
    show("GETEVENTMSG", pt(PTRACE_GETEVENTMSG, a, 0, (long)&word));
    show("KILL", pt(PTRACE_KILL, a, 0, 0));
    int st = reap(a);
    printf("killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    show("CONT reaped", pt(PTRACE_CONT, a, 0, 0));

    pid_t b = sleeper(-1, 1);
    show("ATTACH", pt(PTRACE_ATTACH, b, 0, 0));
    show("INTERRUPT not seized", pt(PTRACE_INTERRUPT, b, 0, 0));
    st = reap(b);
    printf("attach stop: sig %d\n", WSTOPSIG(st));
    show("LISTEN not seized", pt(PTRACE_LISTEN, b, 0, 0));
    /* PTRACE_SYSEMU (31) and SYSEMU_SINGLESTEP (32): what arm64 answers, and if it resumes,
     * where the tracee stops (its pause() restarts into the emulated syscall's entry). */
    for (long req = 31; req <= 32; req++) {
        long rc = pt(req, b, 0, 0);
        show(req == 31 ? "SYSEMU" : "SYSEMU_SINGLESTEP", rc);
        if (rc == 0) {
            st = reap(b);
            printf("  stopped: sig %d\n", WIFSTOPPED(st) ? WSTOPSIG(st) : -1);
        }
    }
    show("KILL", pt(PTRACE_KILL, b, 0, 0));
    reap(b);

    /* another uid; a task that is not dumpable */
    pid_t root_owned = sleeper(-1, 1);
    pid_t mine = sleeper(1000, 0);
    pid_t mine_dumpable = sleeper(1000, 1);
    usleep(50000);
    pid_t t = fork();
    if (t == 0) {
        if (setresuid(1000, 1000, 1000)) _exit(2);
        show("uid 1000: ATTACH root's", pt(PTRACE_ATTACH, root_owned, 0, 0));
        show("uid 1000: ATTACH non-dumpable", pt(PTRACE_ATTACH, mine, 0, 0));
        show("uid 1000: SEIZE dumpable", pt(PTRACE_SEIZE, mine_dumpable, 0, 0));
        show("uid 1000: ATTACH no such pid", pt(PTRACE_ATTACH, 999999, 0, 0));
        _exit(0);
    }
    reap(t);
    show("root: SEIZE non-dumpable", pt(PTRACE_SEIZE, mine, 0, 0));
    kill(root_owned, SIGKILL);
    kill(mine, SIGKILL);
    kill(mine_dumpable, SIGKILL);
    reap(root_owned);
    reap(mine);
    reap(mine_dumpable);
    t = fork();
    if (t == 0) {
        show("TRACEME", pt(PTRACE_TRACEME, 0, 0, 0));
        show("TRACEME again", pt(PTRACE_TRACEME, 0, 0, 0));
        _exit(0);
    }
    st = reap(t);
    printf("traced child exited %d\n", WEXITSTATUS(st));
    printf("done\n");
    return 0;
}
