/* The vDSO's clock calls, as Linux's arm64 vDSO answers them: which symbols it exports (an
 * ELF walk from AT_SYSINFO_EHDR), that they agree with the syscalls (no clock goes backwards
 * over a mix of vDSO and syscall(SYS_clock_gettime) reads), clock_getres through both, an
 * unserved clock falling back to the kernel, and a settimeofday seen through the vDSO.
 * Prints only what both kernels must agree on.
 *
 *   vdso_clocks [reads]     (reads: the mixed reads per clock, default 1,000,000 in total)
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, struct timezone *);
typedef int (*getres_fn)(clockid_t, struct timespec *);

static const char *vdso_strtab;
static const Elf64_Sym *vdso_symtab;
static const Elf64_Versym *vdso_versym;
static const Elf64_Verdef *vdso_verdef;
static size_t vdso_nsyms;
static uintptr_t vdso_load_offset;

static void vdso_init(void)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
    if (!eh) {
        printf("no AT_SYSINFO_EHDR\n");
        exit(1);
    }
    const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
    const Elf64_Dyn *dyn = NULL;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD)
            vdso_load_offset = (uintptr_t)eh + ph[i].p_offset - ph[i].p_vaddr;
        else if (ph[i].p_type == PT_DYNAMIC)
            dyn = (const Elf64_Dyn *)((const char *)eh + ph[i].p_offset);
    }
    const Elf64_Word *hash = NULL;
    for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
        uintptr_t p = dyn->d_un.d_ptr + vdso_load_offset;
        switch (dyn->d_tag) {
        case DT_STRTAB: vdso_strtab = (const char *)p; break;
        case DT_SYMTAB: vdso_symtab = (const Elf64_Sym *)p; break;
        case DT_HASH: hash = (const Elf64_Word *)p; break;
        case DT_VERSYM: vdso_versym = (const Elf64_Versym *)p; break;
        case DT_VERDEF: vdso_verdef = (const Elf64_Verdef *)p; break;
        }
    }
    vdso_nsyms = hash ? hash[1] : 0;
}

static const char *version_of(size_t i)
{
    if (!vdso_versym || !vdso_verdef)
        return "";
    unsigned idx = vdso_versym[i] & 0x7fff;
    const Elf64_Verdef *d = vdso_verdef;
    for (;;) {
        if (d->vd_ndx == idx) {
            const Elf64_Verdaux *a = (const Elf64_Verdaux *)((const char *)d + d->vd_aux);
            return vdso_strtab + a->vda_name;
        }
        if (!d->vd_next)
            return "";
        d = (const Elf64_Verdef *)((const char *)d + d->vd_next);
    }
}

static void *vdso_sym(const char *name, const char *version)
{
    for (size_t i = 0; i < vdso_nsyms; i++) {
        const Elf64_Sym *s = &vdso_symtab[i];
        if (s->st_shndx == SHN_UNDEF)
            continue;
        if (!strcmp(vdso_strtab + s->st_name, name) && !strcmp(version_of(i), version))
            return (void *)(s->st_value + vdso_load_offset);
    }
    return NULL;
}

static int64_t ns_of(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static gettime_fn vdso_gettime;

/* reads alternating vDSO and syscall reads of clock: the number of times one went backwards */
static long mixed(clockid_t clock, long reads)
{
    struct timespec t;
    int64_t last = 0;
    long backwards = 0;
    for (long i = 0; i < reads; i++) {
        if ((i & 3) == 3)
            syscall(SYS_clock_gettime, clock, &t);
        else
            vdso_gettime(clock, &t);
        int64_t now = ns_of(&t);
        if (now < last)
            backwards++;
        last = now;
    }
    return backwards;
}

int main(int argc, char **argv)
{
    long reads = argc > 1 ? atol(argv[1]) : 1000000;
    vdso_init();
    static const char *const names[] = {"__kernel_rt_sigreturn", "__kernel_clock_gettime",
                                        "__kernel_gettimeofday", "__kernel_clock_getres"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
        printf("%s@LINUX_2.6.39: %s\n", names[i], vdso_sym(names[i], "LINUX_2.6.39") ? "yes" : "no");
    vdso_gettime = (gettime_fn)vdso_sym("__kernel_clock_gettime", "LINUX_2.6.39");
    gettimeofday_fn vdso_tod = (gettimeofday_fn)vdso_sym("__kernel_gettimeofday", "LINUX_2.6.39");
    getres_fn vdso_getres = (getres_fn)vdso_sym("__kernel_clock_getres", "LINUX_2.6.39");
    if (!vdso_gettime || !vdso_tod || !vdso_getres)
        return 1;

    /* monotonicity over mixed reads, clock by clock */
    static const struct { clockid_t id; const char *name; } clocks[] = {
        {CLOCK_REALTIME, "REALTIME"}, {CLOCK_MONOTONIC, "MONOTONIC"},
        {CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"}, {CLOCK_REALTIME_COARSE, "REALTIME_COARSE"},
        {CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE"}, {CLOCK_BOOTTIME, "BOOTTIME"},
        {CLOCK_TAI, "TAI"},
    };
    int n = sizeof clocks / sizeof *clocks;
    for (int c = 0; c < n; c++)
        printf("%s backwards: %ld\n", clocks[c].name, mixed(clocks[c].id, reads / n));

    /* the vDSO and the kernel agree to within a few ms */
    for (int c = 0; c < n; c++) {
        struct timespec a, b;
        vdso_gettime(clocks[c].id, &a);
        syscall(SYS_clock_gettime, clocks[c].id, &b);
        int64_t d = ns_of(&b) - ns_of(&a);
        printf("%s vdso vs syscall within 10 ms: %s\n", clocks[c].name,
               d > -10000000 && d < 10000000 ? "yes" : "no");
    }

    /* clock_getres through the vDSO and the kernel; NULL res; an unserved and an invalid clock */
    static const clockid_t res_clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW,
                                           CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE,
                                           CLOCK_BOOTTIME, CLOCK_TAI, CLOCK_PROCESS_CPUTIME_ID,
                                           CLOCK_REALTIME_ALARM, 10, 12, -1};
    for (unsigned i = 0; i < sizeof res_clocks / sizeof *res_clocks; i++) {
        struct timespec v = {-1, -1}, s = {-1, -1};
        int rv = vdso_getres(res_clocks[i], &v);
        long rs = syscall(SYS_clock_getres, res_clocks[i], &s);
        printf("getres %d: vdso %d %lld.%09ld syscall %ld %lld.%09ld null %d\n", res_clocks[i],
               rv, (long long)v.tv_sec, v.tv_nsec, rs, (long long)s.tv_sec, s.tv_nsec,
               vdso_getres(res_clocks[i], NULL));
    }

    /* unserved clocks through the vDSO's clock_gettime: the kernel answers */
    struct timespec t;
    printf("gettime CPUTIME via vdso: %d\n", vdso_gettime(CLOCK_PROCESS_CPUTIME_ID, &t));
    printf("gettime 10 via vdso: %d\n", vdso_gettime(10, &t));
    printf("gettime -1 via vdso: %d\n", vdso_gettime(-1, &t));

    /* gettimeofday: tz and tv may be NULL; tv against the syscall */
    struct timeval tv;
    struct timezone tz = {-1, -1};
    printf("gettimeofday NULL NULL: %d\n", vdso_tod(NULL, NULL));
    printf("gettimeofday: %d tz %d %d\n", vdso_tod(&tv, &tz), tz.tz_minuteswest, tz.tz_dsttime);
    struct timeval sv;
    syscall(SYS_gettimeofday, &sv, NULL);
    long long dus = (sv.tv_sec - tv.tv_sec) * 1000000LL + (sv.tv_usec - tv.tv_usec);
    printf("gettimeofday vdso then syscall: %s\n", dus >= 0 && dus < 10000 ? "in order" : "out of order");

    /* settimeofday (root): a new time and zone seen through the vDSO at once */
    if (geteuid() == 0) {
        struct timeval saved;
        gettimeofday(&saved, NULL);
        struct timeval want = {.tv_sec = 2000000000, .tv_usec = 0};
        struct timezone zone = {-60, 0};
        /* (glibc refuses both at once: EINVAL) */
        int r = settimeofday(NULL, &zone) || settimeofday(&want, NULL);
        struct timespec now;
        vdso_gettime(CLOCK_REALTIME, &now);
        vdso_tod(&tv, &tz);
        printf("settimeofday %d: vdso realtime %s, tod %s, tz %d %d\n", r,
               now.tv_sec >= 2000000000 && now.tv_sec < 2000000002 ? "moved" : "not moved",
               tv.tv_sec >= 2000000000 && tv.tv_sec < 2000000002 ? "moved" : "not moved",
               tz.tz_minuteswest, tz.tz_dsttime);
        struct timezone utc = {0, 0};
        settimeofday(NULL, &utc);
        settimeofday(&saved, NULL);
        vdso_gettime(CLOCK_REALTIME, &now);
        printf("restored: %s\n", now.tv_sec < 2000000000 ? "yes" : "no");
    }
    return 0;
}
