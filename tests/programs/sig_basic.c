/* Dispositions, masks and the pending set: rt_sigaction, rt_sigprocmask, rt_sigpending,
 * rt_sigtimedwait, rt_sigqueueinfo, kill/tgkill/tkill to ourselves, SA_RESETHAND,
 * SA_NODEFER, sa_mask, nested handlers and the errors Linux gives. Prints what it checks;
 * the output is the same under any Linux (no addresses, no pids). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile int hits[65];
static volatile int depth, max_depth;
static volatile int last_code, last_pid_is_self, last_value, last_errno_field;
static char log_buf[256];
static volatile int log_len;

static void note(const char *s)
{
    size_t n = strlen(s);
    if (log_len + n < sizeof log_buf) {
        memcpy(log_buf + log_len, s, n);
        log_len += n;
    }
}

static void counter(int sig)
{
    hits[sig]++;
}

static void info_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    hits[sig]++;
    last_code = si->si_code;
    last_pid_is_self = si->si_pid == getpid();
    last_value = si->si_value.sival_int;
    last_errno_field = si->si_errno;
}

static void nodefer_handler(int sig)
{
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    if (hits[sig]++ == 0)
        raise(sig);                 /* with SA_NODEFER this nests at once */
    depth--;
}

static void outer_handler(int sig)
{
    (void)sig;
    note("outer-begin ");
    raise(SIGUSR2);                 /* not in sa_mask: runs nested right here */
    raise(SIGHUP);                  /* in sa_mask: waits until we return */
    note("outer-end ");
}

static void inner_handler(int sig)
{
    note(sig == SIGUSR2 ? "usr2 " : "hup ");
}

static const char *err(long r)
{
    return r == -1 ? strerrorname_np(errno) : "ok";
}

static void set(int sig, void (*fn)(int), int flags, const sigset_t *mask)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    if (mask)
        sa.sa_mask = *mask;
    sigaction(sig, &sa, NULL);
}

static int is_pending(int sig)
{
    sigset_t p;
    sigpending(&p);
    return sigismember(&p, sig);
}

int main(void)
{
    struct sigaction sa, old;
    sigset_t s, o;

    /* raise, kill and the two tkills reach a plain handler */
    set(SIGUSR1, counter, 0, NULL);
    raise(SIGUSR1);
    kill(getpid(), SIGUSR1);
    syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
    syscall(SYS_tkill, gettid(), SIGUSR1);
    printf("handler ran %d times for raise, kill, tgkill, tkill\n", hits[SIGUSR1]);

    /* SA_SIGINFO: si_code tells who sent it */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    kill(getpid(), SIGUSR2);
    printf("kill: si_code=%d (SI_USER=%d) si_pid is ours: %d\n", last_code, SI_USER, last_pid_is_self);
    raise(SIGUSR2);
    printf("raise: si_code=%d (SI_TKILL=%d) si_pid is ours: %d\n", last_code, SI_TKILL, last_pid_is_self);
    sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 4242 });
    printf("sigqueue: si_code=%d (SI_QUEUE=%d) value=%d errno=%d\n", last_code, SI_QUEUE, last_value,
           last_errno_field);
    siginfo_t q;
    memset(&q, 0, sizeof q);
    q.si_code = SI_QUEUE;
    q.si_value.sival_int = 99;
    syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR2, &q);
    printf("rt_tgsigqueueinfo: si_code=%d value=%d\n", last_code, last_value);

    /* oact reports what was installed, flags included */
    sigaction(SIGUSR2, NULL, &old);
    printf("oact: sigaction is ours: %d, SA_SIGINFO set: %d\n",
           old.sa_sigaction == info_handler, !!(old.sa_flags & SA_SIGINFO));

    /* errors */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = counter;
    printf("sigaction(SIGKILL) = %s\n", err(sigaction(SIGKILL, &sa, NULL)));
    printf("sigaction(SIGSTOP) = %s\n", err(sigaction(SIGSTOP, &sa, NULL)));
    printf("sigaction(SIGKILL, NULL, &old) = %s\n", err(sigaction(SIGKILL, NULL, &old)));
    printf("sigaction(0) = %s\n", err(sigaction(0, &sa, NULL)));
    printf("sigaction(65) = %s\n", err(sigaction(65, &sa, NULL)));
    printf("rt_sigaction sigsetsize 4 = %s\n", err(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4)));
    printf("rt_sigprocmask sigsetsize 16 = %s\n", err(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &o, 16)));
    sigemptyset(&s);
    printf("sigprocmask(how=7) = %s\n", err(syscall(SYS_rt_sigprocmask, 7, &s, NULL, 8)));
    printf("sigprocmask(how=7, NULL) = %s\n", err(syscall(SYS_rt_sigprocmask, 7, NULL, &o, 8)));
    printf("rt_sigaction bad act = %s\n", err(syscall(SYS_rt_sigaction, SIGUSR1, (void *)8, NULL, 8)));
    printf("kill(pid 999999, 0) = %s\n", err(kill(999999, 0)));
    printf("kill(self, 0) = %s\n", err(kill(getpid(), 0)));
    printf("kill(self, 99) = %s\n", err(kill(getpid(), 99)));
    printf("tgkill(0, tid, 0) = %s\n", err(syscall(SYS_tgkill, 0, gettid(), 0)));
    printf("tgkill(wrong tgid) = %s\n", err(syscall(SYS_tgkill, getpid() + 12345, gettid(), 0)));
    printf("tkill(-1) = %s\n", err(syscall(SYS_tkill, -1, SIGUSR1)));
    siginfo_t fake;
    memset(&fake, 0, sizeof fake);
    fake.si_code = SI_USER;
    printf("rt_sigqueueinfo(self, SI_USER) = %s\n", err(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR2, &fake)));
    printf("rt_tgsigqueueinfo(0, tid) = %s\n", err(syscall(SYS_rt_tgsigqueueinfo, 0, gettid(), SIGUSR2, &fake)));
    printf("rt_tgsigqueueinfo(wrong tgid) = %s\n",
           err(syscall(SYS_rt_tgsigqueueinfo, getpid() + 12345, gettid(), SIGUSR2, &fake)));

    /* masks: a blocked signal stays pending until unblocked; KILL and STOP never block */
    int before = hits[SIGUSR1];
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGKILL);
    sigaddset(&s, SIGSTOP);
    sigprocmask(SIG_BLOCK, &s, NULL);
    sigprocmask(SIG_BLOCK, NULL, &o);
    printf("blocked: USR1 %d KILL %d STOP %d\n", sigismember(&o, SIGUSR1), sigismember(&o, SIGKILL),
           sigismember(&o, SIGSTOP));
    raise(SIGUSR1);
    raise(SIGUSR1);
    printf("while blocked: ran %d, pending %d\n", hits[SIGUSR1] - before, is_pending(SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    printf("after unblock: ran %d (standard signals do not queue), pending %d\n", hits[SIGUSR1] - before,
           is_pending(SIGUSR1));

    /* real-time signals queue every instance, lowest first */
    set(SIGRTMIN + 1, counter, 0, NULL);
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &s, NULL);
    raise(SIGRTMIN + 1);
    raise(SIGRTMIN + 1);
    raise(SIGRTMIN + 1);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    printf("SIGRTMIN+1 queued 3, handler ran %d\n", hits[SIGRTMIN + 1]);

    /* SIG_IGN discards a pending signal, even a blocked one */
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, NULL);
    raise(SIGUSR1);
    printf("pending before SIG_IGN: %d\n", is_pending(SIGUSR1));
    signal(SIGUSR1, SIG_IGN);
    printf("pending after SIG_IGN: %d\n", is_pending(SIGUSR1));
    raise(SIGUSR1);
    printf("blocked and ignored, raised: pending %d\n", is_pending(SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    raise(SIGUSR1);
    printf("ignored and unblocked, raised: pending %d (still alive)\n", is_pending(SIGUSR1));
    raise(SIGCHLD);
    raise(SIGURG);
    raise(SIGWINCH);
    raise(SIGCONT);
    printf("default-ignored SIGCHLD, SIGURG, SIGWINCH, SIGCONT: still alive\n");

    /* SA_RESETHAND: one shot, then SIG_DFL (flags stay) */
    set(SIGUSR1, counter, SA_RESETHAND, NULL);
    before = hits[SIGUSR1];
    raise(SIGUSR1);
    sigaction(SIGUSR1, NULL, &old);
    printf("SA_RESETHAND: ran %d, handler now SIG_DFL: %d, SA_RESETHAND still in flags: %d\n",
           hits[SIGUSR1] - before, old.sa_handler == SIG_DFL, !!(old.sa_flags & SA_RESETHAND));

    /* SA_NODEFER: the handler can be re-entered; without it the second one waits */
    set(SIGPROF, nodefer_handler, SA_NODEFER, NULL);
    raise(SIGPROF);
    printf("SA_NODEFER: ran %d, max depth %d\n", hits[SIGPROF], max_depth);
    hits[SIGPROF] = 0;
    max_depth = 0;
    set(SIGPROF, nodefer_handler, 0, NULL);
    raise(SIGPROF);
    printf("without SA_NODEFER: ran %d, max depth %d\n", hits[SIGPROF], max_depth);

    /* inside a handler its own signal and sa_mask are blocked, the rest nests */
    sigemptyset(&s);
    sigaddset(&s, SIGHUP);
    set(SIGUSR1, outer_handler, 0, &s);
    set(SIGUSR2, inner_handler, 0, NULL);
    set(SIGHUP, inner_handler, 0, NULL);
    raise(SIGUSR1);
    printf("nesting: %.*s\n", log_len, log_buf);
    sigprocmask(SIG_BLOCK, NULL, &o);
    printf("mask restored after the handlers: USR1 %d HUP %d\n", sigismember(&o, SIGUSR1),
           sigismember(&o, SIGHUP));

    /* sigtimedwait: takes a pending blocked signal, EAGAIN on timeout */
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    sigaddset(&s, SIGALRM);
    sigprocmask(SIG_BLOCK, &s, NULL);
    sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 77 });
    siginfo_t si;
    struct timespec zero = { 0, 0 }, short_wait = { 0, 20 * 1000 * 1000 };
    int r = sigtimedwait(&s, &si, &zero);
    printf("sigtimedwait = %d (SIGUSR2=%d) code %d value %d, pending after %d\n", r, SIGUSR2, si.si_code,
           si.si_value.sival_int, is_pending(SIGUSR2));
    printf("sigtimedwait, nothing pending, zero timeout = %s\n", err(sigtimedwait(&s, &si, &zero)));
    printf("sigtimedwait, 20 ms = %s\n", err(sigtimedwait(&s, &si, &short_wait)));
    struct timespec bad = { 0, 1000 * 1000 * 1000 };
    printf("sigtimedwait, bad timespec = %s\n", err(sigtimedwait(&s, &si, &bad)));
    raise(SIGALRM);
    printf("sigwaitinfo = %d (SIGALRM=%d)\n", sigwaitinfo(&s, &si), SIGALRM);

    /* rt_sigpending with a short size, and the sigsetsize check */
    raise(SIGUSR2);
    unsigned char half[8] = { 0 };
    printf("rt_sigpending size 4 = %s, byte0 has USR2 bit: %d\n", err(syscall(SYS_rt_sigpending, half, 4)),
           !!(half[1] & (1 << (SIGUSR2 - 1 - 8))));
    printf("rt_sigpending size 9 = %s\n", err(syscall(SYS_rt_sigpending, half, 9)));
    sigtimedwait(&s, &si, &zero);

    printf("done\n");
    return 0;
}
