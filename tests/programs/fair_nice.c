/* Fair scheduling by nice value on one CPU (EEVDF on Linux >= 6.6, CFS on 6.1: both share a
 * CPU in proportion to sched_prio_to_weight).
 *
 *   fair_nice ratio [-v]   two CPU-bound loops at nice 0 and nice 5 share the CPU ~1024:335
 *   fair_nice echo [-v]    a nice 19 CPU-bound loop adds little to a pipe ping-pong's round trip
 *
 * Everything is pinned to CPU 0. The output says which category the measurement falls in
 * (never the raw figures, which depend on the machine's load), except when it falls
 * outside: then the figures follow, for the failing comparison to show.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK_EVERY 20000        /* loop iterations between two looks at the clock */

static long long now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pin_to_cpu0(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) {
		perror("sched_setaffinity");
		exit(1);
	}
}

static volatile unsigned long sink;
static int verbose;               /* -v: the figures too (for people; tests compare categories) */

/* CPU time of the calling thread, user and system (getrusage: the thread's accounted time). */
static long long cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

/* Spin until the monotonic clock passes `end`; returns the CPU time this thread used. */
static long long spin_until(long long end)
{
	long long start = cpu_ns();
	unsigned long x = 0;
	for (;;) {
		for (int i = 0; i < CHECK_EVERY; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
		sink = x;
		if (now_ns(CLOCK_MONOTONIC) >= end)
			break;
	}
	return cpu_ns() - start;
}

/* The start record: one each, in one atomic pipe write, read whole. */
struct start {
	char c;
	long long end;          /* CLOCK_MONOTONIC ns at which both stop */
} __attribute__((packed));

/* A child at `nice` that waits for its start record, spins until its end and writes the
 * CPU time it got. */
static pid_t spinner(int nice, int go, int report)
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		if (setpriority(PRIO_PROCESS, 0, nice) != 0) {
			perror("setpriority");
			_exit(1);
		}
		struct start start;
		if (read(go, &start, sizeof start) != sizeof start)
			_exit(1);
		long long cpu = spin_until(start.end);
		if (write(report, &cpu, sizeof cpu) != sizeof cpu)
			_exit(1);
		_exit(0);
	}
	return pid;
}

static int ratio(void)
{
	int go[2], report[2];
	if (pipe(go) || pipe(report)) {
		perror("pipe");
		return 1;
	}
	pid_t a = spinner(0, go[0], report[1]);
	pid_t b = spinner(5, go[0], report[1]);
	usleep(200000);                   /* both have reniced themselves and wait */
	struct start start = { 'g', now_ns(CLOCK_MONOTONIC) + 2500000000LL };
	for (int i = 0; i < 2; i++)
		if (write(go[1], &start, sizeof start) != sizeof start) {
			perror("write");
			return 1;
		}
	int status;
	waitpid(a, &status, 0);
	waitpid(b, &status, 0);
	long long cpu[2];
	if (read(report[0], &cpu[0], sizeof cpu[0]) != sizeof cpu[0] ||
	    read(report[0], &cpu[1], sizeof cpu[1]) != sizeof cpu[1]) {
		perror("read");
		return 1;
	}
	/* The reports come in exit order, not in fork order: the larger share is nice 0's. */
	long long hi = cpu[0] > cpu[1] ? cpu[0] : cpu[1];
	long long lo = cpu[0] > cpu[1] ? cpu[1] : cpu[0];
	double r = lo ? (double)hi / lo : 0;
	double want = 1024.0 / 335.0;
	if (verbose)
		printf("ratio %.3f (%lld ns, %lld ns)\n", r, hi, lo);
	if (r > want * 0.9 && r < want * 1.1)
		printf("nice 0 : nice 5 CPU time ratio within 10%% of 1024:335\n");
	else
		printf("nice 0 : nice 5 CPU time ratio %.2f, not within 10%% of %.2f (%lld ns, %lld ns)\n",
		       r, want, hi, lo);
	return 0;
}

static int cmp_ll(const void *x, const void *y)
{
	long long a = *(const long long *)x, b = *(const long long *)y;
	return a < b ? -1 : a > b;
}

/* Round trips through a pipe to an echoing child, one every 3 ms; the median and 90th
 * percentile of ROUNDS of them, in ns. */
#define ROUNDS 60
static void ping(int to, int from, long long *median, long long *p90)
{
	long long rtt[ROUNDS];
	struct timespec gap = { 0, 3000000 };
	for (int i = 0; i < ROUNDS + 5; i++) {
		nanosleep(&gap, NULL);
		long long t0 = now_ns(CLOCK_MONOTONIC);
		char c = 'p';
		if (write(to, &c, 1) != 1 || read(from, &c, 1) != 1) {
			perror("ping");
			exit(1);
		}
		if (i >= 5)             /* the first ones warm up */
			rtt[i - 5] = now_ns(CLOCK_MONOTONIC) - t0;
	}
	qsort(rtt, ROUNDS, sizeof rtt[0], cmp_ll);
	*median = rtt[ROUNDS / 2];
	*p90 = rtt[ROUNDS * 9 / 10];
}

static int echo(void)
{
	int down[2], up[2];
	if (pipe(down) || pipe(up)) {
		perror("pipe");
		return 1;
	}
	pid_t echoer = fork();
	if (echoer == 0) {
		close(down[1]);          /* the parent's close is then the end of the input */
		close(up[0]);
		char c;
		while (read(down[0], &c, 1) == 1)
			if (write(up[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	long long quiet_median, quiet_p90, busy_median, busy_p90;
	ping(down[1], up[0], &quiet_median, &quiet_p90);
	pid_t hog = fork();
	if (hog == 0) {
		if (setpriority(PRIO_PROCESS, 0, 19) != 0)
			_exit(1);
		spin_until(now_ns(CLOCK_MONOTONIC) + 60000000000LL);
		_exit(0);
	}
	usleep(50000);                   /* the hog runs */
	ping(down[1], up[0], &busy_median, &busy_p90);
	kill(hog, SIGKILL);
	waitpid(hog, NULL, 0);
	close(down[1]);
	waitpid(echoer, NULL, 0);
	long long added = busy_median - quiet_median;
	if (verbose)
		printf("median %lld -> %lld ns, p90 %lld -> %lld ns\n", quiet_median, busy_median, quiet_p90, busy_p90);
	if (added < 3000000 && busy_p90 < quiet_p90 + 10000000)
		printf("a nice 19 CPU-bound loop adds under 3 ms to the median echo round trip, under 10 ms to the 90th percentile\n");
	else
		printf("a nice 19 loop delays the echo: median %lld -> %lld ns, p90 %lld -> %lld ns\n",
		       quiet_median, busy_median, quiet_p90, busy_p90);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	pin_to_cpu0();
	verbose = argc > 2 && !strcmp(argv[2], "-v");
	if (argc > 1 && !strcmp(argv[1], "ratio"))
		return ratio();
	if (argc > 1 && !strcmp(argv[1], "echo"))
		return echo();
	fprintf(stderr, "usage: fair_nice ratio|echo\n");
	return 2;
}
