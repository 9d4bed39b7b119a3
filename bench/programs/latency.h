/* latency.h: the spread of single calls, timed with the virtual counter.
 *
 * A loop's mean hides the slow calls; the p99 target is about them. Each call is
 * timed on its own with CNTVCT_EL0, read at EL0 in both kernels (Linux lets EL0 read it
 * unless an erratum workaround traps it; moss-py's stub sets CNTKCTL_EL1.EL0VCTEN): no
 * clock_gettime, which would be another call to time. An `isb` before each read keeps
 * the read from moving across the call. One tick is 16 ns at QEMU's 62.5 MHz.
 *
 *     struct latency lat = latency_new(iters);
 *     for (...) { t0 = ticks(); call(); latency_add(&lat, ticks() - t0); }
 *     latency_extra(&lat, buf, sizeof buf);      -> "p50_ns=.. p99_ns=.. max_ns=.. timed=N"
 */
#ifndef LATENCY_H
#define LATENCY_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t ticks(void)
{
    uint64_t t;
    __asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(t) : : "memory");
    return t;
}

static inline uint64_t tick_hz(void)
{
    uint64_t f;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
    return f;
}

struct latency {
    uint32_t *t;            /* ticks per call */
    long n, cap;
};

static inline struct latency latency_new(long cap)
{
    struct latency l = { malloc(sizeof(uint32_t) * (size_t)cap), 0, cap };
    if (!l.t) {
        fprintf(stderr, "latency: out of memory\n");
        exit(1);
    }
    memset(l.t, 0, sizeof(uint32_t) * (size_t)cap);   /* its page faults before the timing */
    return l;
}

static inline void latency_add(struct latency *l, uint64_t dt)
{
    if (l->n < l->cap)
        l->t[l->n++] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
}

static int latency_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* " p50_ns=.. p99_ns=.. max_ns=.. timed=N" (appended at buf's end) */
static inline void latency_extra(struct latency *l, char *buf, size_t size)
{
    if (l->n == 0)
        return;
    qsort(l->t, (size_t)l->n, sizeof(uint32_t), latency_cmp);
    double ns = 1e9 / (double)tick_hz();
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, "%sp50_ns=%.0f p99_ns=%.0f max_ns=%.0f timed=%ld",
             used ? " " : "", l->t[l->n / 2] * ns, l->t[l->n * 99 / 100] * ns,
             l->t[l->n - 1] * ns, l->n);
}

#endif
