/* Little report helpers the test programs share: each prints or returns what the program
 * compares with Linux, so their output must stay the same to the byte.
 * Include after the system headers, with _GNU_SOURCE defined (strerrorname_np). */
#ifndef REPORT_H
#define REPORT_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

/* "ok", or the name of errno (EINVAL, ...) when the call that returned r failed. */
static inline const char *err(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

/* "what: -1 ENAME" for a failed call, "what: r" otherwise; flushed, so that the lines of a
 * parent and its children stay in order. */
static inline void rc(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
    fflush(stdout);
}

static inline void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The exit status of child pid, or 128 + the signal that killed it (as a shell says). */
static inline int status_of(pid_t pid)
{
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* "what: ENAME" for a failed call, "what: r" otherwise.  Opt in with #define REPORT_SHOW
 * before the #include: other programs have a show() of their own. */
#ifdef REPORT_SHOW
static inline void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
}
#endif

#endif
