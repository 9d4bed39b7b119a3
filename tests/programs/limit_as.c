/* RLIMIT_AS, RLIMIT_DATA and the overcommit heuristic for mmap: a private writable mapping
 * bigger than RAM is ENOMEM (not with MAP_NORESERVE, not read-only); RLIMIT_AS counts every
 * mapping, RLIMIT_DATA only private writable ones. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "report.h"

static void try_map(const char *what, size_t len, int prot, int flags)
{
    void *p = mmap(NULL, len, prot, flags, -1, 0);
    rc(what, p == MAP_FAILED ? -1 : 0);
    if (p != MAP_FAILED)
        munmap(p, len);
}

int main(void)
{
    const int anon = MAP_PRIVATE | MAP_ANONYMOUS;
    const size_t huge = 1UL << 40, mib = 1UL << 20;
    try_map("1 TiB private rw", huge, PROT_READ | PROT_WRITE, anon);
    try_map("1 TiB private rw noreserve", huge, PROT_READ | PROT_WRITE, anon | MAP_NORESERVE);
    try_map("1 TiB private ro", huge, PROT_READ, anon);
    try_map("1 TiB shared rw", huge, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);

    struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY}, as = {256 * mib, 256 * mib};
    rc("setrlimit AS 256 MiB", setrlimit(RLIMIT_AS, &as));
    try_map("AS: 512 MiB ro", 512 * mib, PROT_READ, anon);
    try_map("AS: 512 MiB noreserve", 512 * mib, PROT_READ | PROT_WRITE, anon | MAP_NORESERVE);
    try_map("AS: 16 MiB rw", 16 * mib, PROT_READ | PROT_WRITE, anon);
    rc("setrlimit AS back", setrlimit(RLIMIT_AS, &inf));

    struct rlimit data = {64 * mib, 64 * mib};
    rc("setrlimit DATA 64 MiB", setrlimit(RLIMIT_DATA, &data));
    try_map("DATA: 128 MiB private rw", 128 * mib, PROT_READ | PROT_WRITE, anon);
    try_map("DATA: 128 MiB private ro", 128 * mib, PROT_READ, anon);
    try_map("DATA: 128 MiB shared rw", 128 * mib, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    try_map("DATA: 8 MiB private rw", 8 * mib, PROT_READ | PROT_WRITE, anon);
    rc("setrlimit DATA back", setrlimit(RLIMIT_DATA, &inf));
    return 0;
}
