/* SIGPIPE caught or ignored: the write fails with EPIPE and the writer lives on. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t pipes;
static void on_pipe(int sig) { (void)sig; pipes++; }

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAIL"); fflush(stdout); }

int main(void)
{
    int p[2];
    pipe(p);
    close(p[0]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_pipe;
    sigaction(SIGPIPE, &sa, NULL);
    check("caught: write EPIPE", write(p[1], "x", 1) == -1 && errno == EPIPE);
    check("handler ran once", pipes == 1);
    check("empty write still succeeds", write(p[1], "", 0) == 0 && pipes == 1);
    signal(SIGPIPE, SIG_IGN);
    check("ignored: write EPIPE", write(p[1], "x", 1) == -1 && errno == EPIPE && pipes == 1);
    return 0;
}
