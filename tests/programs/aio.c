/* Linux native AIO as libaio drives it, through the raw syscalls: io_setup's checks and the
 * ring header user space reads, io_submit of reads, writes, vectors, syncs and polls with
 * each check's errno (and how many of a batch it took), events read from the ring by hand as
 * libaio does and through io_getevents (min_nr, timeouts, a signal), IOCB_FLAG_RESFD's
 * eventfd, io_cancel of a poll, io_destroy, a fork's child (no context), /proc/self/maps.
 * Prints outcomes, never addresses or ring sizes (they depend on the CPU count). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct ring {
    unsigned id, nr, head, tail, magic, compat, incompat, header_length;
    struct io_event events[];
};

static long io_setup(unsigned n, aio_context_t *ctx) { return syscall(SYS_io_setup, n, ctx); }
static long io_destroy(aio_context_t ctx) { return syscall(SYS_io_destroy, ctx); }
static long io_submit(aio_context_t ctx, long n, struct iocb **v) { return syscall(SYS_io_submit, ctx, n, v); }
static long io_cancel(aio_context_t ctx, struct iocb *cb, struct io_event *ev)
{
    return syscall(SYS_io_cancel, ctx, cb, ev);
}
static long io_getevents(aio_context_t ctx, long min, long max, struct io_event *ev, struct timespec *t)
{
    return syscall(SYS_io_getevents, ctx, min, max, ev, t);
}

static const char *err(long r)
{
    static char buf[48];
    if (r >= 0)
        snprintf(buf, sizeof buf, "%ld", r);
    else
        snprintf(buf, sizeof buf, "-1 %s", strerrorname_np(errno));
    return buf;
}

static const char *res(long long r)
{
    static char buf[48];
    if (r >= 0)
        snprintf(buf, sizeof buf, "%lld", r);
    else
        snprintf(buf, sizeof buf, "-%s", strerrorname_np((int)-r));
    return buf;
}

static struct iocb cb(int op, int fd, void *buf, size_t n, long long off, unsigned long long data)
{
    struct iocb c;
    memset(&c, 0, sizeof c);
    c.aio_lio_opcode = op;
    c.aio_fildes = fd;
    c.aio_buf = (uintptr_t)buf;
    c.aio_nbytes = n;
    c.aio_offset = off;
    c.aio_data = data;
    return c;
}

static long submit1(aio_context_t ctx, struct iocb *c)
{
    struct iocb *v[1] = {c};
    return io_submit(ctx, 1, v);
}

/* Events straight from the ring, as libaio's io_getevents does when the magic is right. */
static int reap_ring(aio_context_t ctx, struct iocb *base)
{
    struct ring *r = (struct ring *)ctx;
    int n = 0;
    while (r->head != r->tail) {
        struct io_event *e = &r->events[r->head];
        printf("  ring event data %llu iocb #%ld res %s\n", (unsigned long long)e->data,
               (long)((struct iocb *)(uintptr_t)e->obj - base), res(e->res));
        __atomic_store_n(&r->head, (r->head + 1) % r->nr, __ATOMIC_RELEASE);
        n++;
    }
    return n;
}

static void on_usr1(int s) { (void)s; }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    aio_context_t ctx = 0, bad = 1;
    printf("setup 0 events: %s\n", err(io_setup(0, &ctx)));
    printf("setup ctx not 0: %s\n", err(io_setup(8, &bad)));
    printf("setup NULL: %s\n", err(io_setup(8, NULL)));
    printf("setup too many: %s\n", err(io_setup(70000, &ctx)));
    printf("setup: %s\n", err(io_setup(8, &ctx)));
    struct ring *r = (struct ring *)ctx;
    printf("ring: magic %#x compat %u incompat %u header %u head %u tail %u nr>=8 %d\n", r->magic, r->compat,
           r->incompat, r->header_length, r->head, r->tail, r->nr >= 8);
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    while (maps && fgets(line, sizeof line, maps))
        if (strstr(line, "[aio]"))
            printf("maps: %s", strchr(line, '/') ? strchr(line, '/') : line);
    fclose(maps);

    char path[] = "/tmp/aioXXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    static char wbuf[8192], rbuf[8192], v1[5], v2[7];
    for (int i = 0; i < 8192; i++)
        wbuf[i] = 'a' + i % 26;
    struct iocb c[8];
    struct iocb *v[8];
    c[0] = cb(IOCB_CMD_PWRITE, fd, wbuf, 8192, 0, 100);
    c[1] = cb(IOCB_CMD_PREAD, fd, rbuf, 100, 26, 101);
    c[2] = cb(IOCB_CMD_FSYNC, fd, NULL, 0, 0, 102);
    c[3] = cb(IOCB_CMD_PREAD, fd, rbuf, 100, 9000, 103);     /* past the end: 0 */
    for (int i = 0; i < 4; i++)
        v[i] = &c[i];
    printf("submit 4: %s\n", err(io_submit(ctx, 4, v)));
    printf("  tail-head %u, key %u\n", (r->tail - r->head) % r->nr, c[0].aio_key);
    struct io_event ev[16];
    long n = io_getevents(ctx, 4, 16, ev, NULL);
    printf("getevents: %s\n", err(n));
    for (long i = 0; i < n; i++)
        printf("  event data %llu iocb #%ld res %s res2 %lld\n", (unsigned long long)ev[i].data,
               (long)((struct iocb *)(uintptr_t)ev[i].obj - c), res(ev[i].res), (long long)ev[i].res2);
    printf("  read back: %.5s\n", rbuf);

    struct iovec iov[2] = {{v1, sizeof v1}, {v2, sizeof v2}};
    c[4] = cb(IOCB_CMD_PREADV, fd, iov, 2, 1, 104);
    c[5] = cb(IOCB_CMD_FDSYNC, fd, NULL, 0, 0, 105);
    v[0] = &c[4];
    v[1] = &c[5];
    printf("submit preadv+fdsync: %s\n", err(io_submit(ctx, 2, v)));
    printf("  reaped from the ring: %d, vec %.5s|%.7s\n", reap_ring(ctx, c), v1, v2);
    struct timespec zero = {0, 0}, short_wait = {0, 20 * 1000 * 1000};
    printf("getevents none ready, zero timeout: %s\n", err(io_getevents(ctx, 1, 4, ev, &zero)));
    printf("getevents none ready, 20 ms: %s\n", err(io_getevents(ctx, 1, 4, ev, &short_wait)));
    printf("getevents min 0: %s\n", err(io_getevents(ctx, 0, 4, ev, NULL)));
    printf("getevents min > nr: %s\n", err(io_getevents(ctx, 3, 2, ev, NULL)));
    printf("getevents bad ctx: %s\n", err(io_getevents(12345, 0, 4, ev, NULL)));
    printf("getevents bad timeout ptr: %s\n", err(io_getevents(ctx, 0, 4, ev, (void *)8)));

    /* the checks, in Linux's order */
    printf("submit nr -1: %s\n", err(io_submit(ctx, -1, v)));
    printf("submit bad ctx: %s\n", err(io_submit(12345, 1, v)));
    printf("submit nr 0: %s\n", err(io_submit(ctx, 0, v)));
    printf("submit bad vector: %s\n", err(io_submit(ctx, 1, (void *)8)));
    struct iocb *badp[1] = {(void *)8};
    printf("submit bad iocb: %s\n", err(io_submit(ctx, 1, badp)));
    struct iocb t = cb(IOCB_CMD_PREAD, fd, rbuf, 10, 0, 0);
    t.aio_reserved2 = 1;
    printf("reserved2: %s\n", err(submit1(ctx, &t)));
    t = cb(IOCB_CMD_PREAD, 999, rbuf, 10, 0, 0);
    printf("bad fd: %s\n", err(submit1(ctx, &t)));
    t = cb(99, fd, rbuf, 10, 0, 0);
    printf("bad opcode: %s\n", err(submit1(ctx, &t)));
    t = cb(IOCB_CMD_PREAD, fd, rbuf, 10, -1, 0);
    printf("negative offset: %s\n", err(submit1(ctx, &t)));
    t = cb(IOCB_CMD_PREAD, fd, (void *)-4096L, 10, 0, 0);
    printf("kernel buffer: %s\n", err(submit1(ctx, &t)));
    t = cb(IOCB_CMD_PREAD, fd, rbuf, 10, 0, 0);
    t.aio_rw_flags = 0x1000;
    printf("bad rw_flags: %s\n", err(submit1(ctx, &t)));
    t = cb(IOCB_CMD_FSYNC, fd, rbuf, 0, 0, 0);
    printf("fsync with buf: %s\n", err(submit1(ctx, &t)));
    int wr = open("/proc/self/exe", O_RDONLY);
    t = cb(IOCB_CMD_PWRITE, wr, wbuf, 10, 0, 0);
    printf("write to read-only fd: %s\n", err(submit1(ctx, &t)));
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    t = cb(IOCB_CMD_PREAD, dir, rbuf, 10, 0, 0);
    printf("read a directory: %s\n", err(submit1(ctx, &t)));
    t = cb(IOCB_CMD_FSYNC, dir, NULL, 0, 0, 0);
    printf("fsync a directory: %s\n", err(submit1(ctx, &t)));
    t = cb(IOCB_CMD_PREAD, fd, rbuf, 10, 0, 0);
    t.aio_flags = IOCB_FLAG_RESFD;
    t.aio_resfd = fd;
    printf("resfd not an eventfd: %s\n", err(submit1(ctx, &t)));
    c[6] = cb(IOCB_CMD_PREAD, fd, rbuf, 10, 0, 106);
    c[7] = cb(IOCB_CMD_PREAD, 999, rbuf, 10, 0, 107);
    v[0] = &c[6];
    v[1] = &c[7];
    printf("batch with a bad second: %s\n", err(io_submit(ctx, 2, v)));
    printf("  reaped %d\n", reap_ring(ctx, c));
    t = cb(IOCB_CMD_PREAD, fd, (void *)4096, 10, 0, 108);     /* mapped nowhere: the event says */
    printf("unmapped buffer: %s\n", err(submit1(ctx, &t)));
    io_getevents(ctx, 1, 1, ev, NULL);
    printf("  event res %s\n", res(ev[0].res));

    /* eventfd and polls */
    int efd = eventfd(0, EFD_NONBLOCK);
    int p[2];
    pipe(p);
    struct iocb pc = cb(IOCB_CMD_POLL, p[0], (void *)(uintptr_t)POLLIN, 0, 0, 200);
    pc.aio_flags = IOCB_FLAG_RESFD;
    pc.aio_resfd = efd;
    printf("poll an empty pipe: %s\n", err(submit1(ctx, &pc)));
    uint64_t count = 0;
    printf("  eventfd before: %s\n", err(read(efd, &count, 8)));
    printf("  nothing yet: %s\n", err(io_getevents(ctx, 1, 1, ev, &zero)));
    write(p[1], "x", 1);
    printf("  after a write: %s", err(io_getevents(ctx, 1, 1, ev, NULL)));
    printf(" data %llu res %s\n", (unsigned long long)ev[0].data, res(ev[0].res));
    printf("  eventfd after: %s count %llu\n", err(read(efd, &count, 8)), (unsigned long long)count);
    struct iocb pc2 = cb(IOCB_CMD_POLL, p[1], (void *)(uintptr_t)POLLOUT, 0, 0, 201);
    printf("poll a writable pipe: %s\n", err(submit1(ctx, &pc2)));
    printf("  at once: %s res %s\n", err(io_getevents(ctx, 1, 1, ev, &zero)), res(ev[0].res));
    char drain;
    read(p[0], &drain, 1);
    struct iocb pc3 = cb(IOCB_CMD_POLL, p[0], (void *)(uintptr_t)POLLIN, 0, 0, 202);
    printf("poll again: %s\n", err(submit1(ctx, &pc3)));
    printf("  cancel: %s\n", err(io_cancel(ctx, &pc3, ev)));
    printf("  cancelled event: %s", err(io_getevents(ctx, 1, 1, ev, NULL)));
    printf(" data %llu res %s\n", (unsigned long long)ev[0].data, res(ev[0].res));
    printf("  cancel again: %s\n", err(io_cancel(ctx, &pc3, ev)));
    struct iocb done = c[0];
    done.aio_key = 7;
    printf("  cancel bad key: %s\n", err(io_cancel(ctx, &done, ev)));
    struct iocb pcbad = cb(IOCB_CMD_POLL, p[0], (void *)0x10000, 0, 0, 203);
    printf("poll bad events: %s\n", err(submit1(ctx, &pcbad)));

    /* a signal ends a wait with no events: EINTR even with SA_RESTART */
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    sigaction(SIGUSR1, &sa, NULL);
    pid_t parent = getpid();
    if (fork() == 0) {
        usleep(200 * 1000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    printf("getevents interrupted: %s\n", err(io_getevents(ctx, 1, 1, ev, NULL)));
    wait(NULL);

    if (fork() == 0) {
        printf("child: submit %s, destroy %s\n", err(io_submit(ctx, 1, v)), err(io_destroy(ctx)));
        _exit(0);
    }
    wait(NULL);
    printf("destroy: %s\n", err(io_destroy(ctx)));
    printf("destroy again: %s\n", err(io_destroy(ctx)));
    printf("submit after destroy: %s\n", err(io_submit(ctx, 1, v)));
    maps = fopen("/proc/self/maps", "r");
    int left = 0;
    while (maps && fgets(line, sizeof line, maps))
        left += strstr(line, "[aio]") != NULL;
    printf("aio maps left: %d\n", left);
    return 0;
}
