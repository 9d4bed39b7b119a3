/* NUMA memory policies on a one-node machine: set_mempolicy/get_mempolicy (modes, mode flags,
 * node masks and their sizes), mbind's checks, migrate_pages, move_pages and
 * set_mempolicy_home_node, each result and errno printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

#define MPOL_DEFAULT 0
#define MPOL_PREFERRED 1
#define MPOL_BIND 2
#define MPOL_INTERLEAVE 3
#define MPOL_LOCAL 4
#define MPOL_PREFERRED_MANY 5
#define F_STATIC (1 << 15)
#define F_RELATIVE (1 << 14)
#define F_BALANCING (1 << 13)
#define F_NODE 1
#define F_ADDR 2
#define F_MEMS_ALLOWED 4
#define MF_STRICT 1
#define MF_MOVE 2
#define MF_MOVE_ALL 4

static unsigned long mask[8];

static long setpol(int mode, unsigned long m, unsigned long maxnode)
{
    mask[0] = m;
    return syscall(SYS_set_mempolicy, mode, &mask, maxnode);
}

static void showpol(const char *what, void *addr, int flags, unsigned long maxnode)
{
    int mode = -7;
    unsigned long out[3] = {~0UL, ~0UL, ~0UL};
    long r = syscall(SYS_get_mempolicy, &mode, out, maxnode, addr, flags);
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: mode %#x mask %lx %lx %lx\n", what, mode, out[0], out[1], out[2]);
}

static long mbind_(void *start, unsigned long len, int mode, unsigned long m, unsigned long maxnode, int flags)
{
    mask[0] = m;
    return syscall(SYS_mbind, start, len, mode, &mask, maxnode, flags);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    showpol("initial", NULL, 0, 64);
    showpol("maxnode 0", NULL, 0, 0);
    showpol("maxnode 1", NULL, 0, 1);
    showpol("maxnode 2", NULL, 0, 2);
    showpol("maxnode 129", NULL, 0, 129);
    int mode = -7;
    show("no mask, maxnode 0", syscall(SYS_get_mempolicy, &mode, NULL, 0, NULL, 0));
    showpol("maxnode 40000", NULL, 0, 40000);
    showpol("bad flag", NULL, 8, 64);
    showpol("MEMS_ALLOWED", NULL, F_MEMS_ALLOWED, 64);
    showpol("MEMS_ALLOWED|NODE", NULL, F_MEMS_ALLOWED | F_NODE, 64);
    showpol("addr without F_ADDR", (void *)main, 0, 64);
    showpol("F_NODE of the default", NULL, F_NODE, 64);
    char *page = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page[0] = 1;
    showpol("F_ADDR", page, F_ADDR, 64);
    showpol("F_ADDR|F_NODE", page, F_ADDR | F_NODE, 64);
    showpol("F_ADDR unmapped", (void *)4096, F_ADDR, 64);
    show("get bad policy pointer", syscall(SYS_get_mempolicy, (void *)8, NULL, 0, NULL, 0));

    show("BIND {0}", setpol(MPOL_BIND, 1, 64));
    showpol("  now", NULL, 0, 64);
    showpol("  F_ADDR ignores it", page, F_ADDR, 64);
    show("BIND {1}", setpol(MPOL_BIND, 2, 64));
    show("BIND {0,1}", setpol(MPOL_BIND, 3, 64));
    showpol("  now", NULL, 0, 64);
    show("BIND {}", setpol(MPOL_BIND, 0, 64));
    show("BIND {0} maxnode 1 (no bits)", setpol(MPOL_BIND, 1, 1));
    show("BIND {20}", setpol(MPOL_BIND, 1 << 20, 64));
    show("BIND {0,20} static", setpol(MPOL_BIND | F_STATIC, 1 | 1 << 20, 64));
    show("BIND {0,20} maxnode 20 (bit 20 cut)", setpol(MPOL_BIND, 1 | 1 << 20, 21));
    show("BIND {0,5} static", setpol(MPOL_BIND | F_STATIC, 0x21, 64));
    showpol("  now", NULL, 0, 64);
    show("BIND {3} relative", setpol(MPOL_BIND | F_RELATIVE, 8, 64));
    showpol("  now", NULL, 0, 64);
    show("BIND static|relative", setpol(MPOL_BIND | F_STATIC | F_RELATIVE, 1, 64));
    show("BIND numa balancing", setpol(MPOL_BIND | F_BALANCING, 1, 64));
    showpol("  now", NULL, 0, 64);
    show("INTERLEAVE numa balancing", setpol(MPOL_INTERLEAVE | F_BALANCING, 1, 64));
    show("INTERLEAVE {0}", setpol(MPOL_INTERLEAVE, 1, 64));
    showpol("  now", NULL, 0, 64);
    showpol("  F_NODE", NULL, F_NODE, 64);
    show("PREFERRED {}", setpol(MPOL_PREFERRED, 0, 64));
    showpol("  now", NULL, 0, 64);
    show("PREFERRED {} static", setpol(MPOL_PREFERRED | F_STATIC, 0, 64));
    show("PREFERRED {0}", setpol(MPOL_PREFERRED, 1, 64));
    showpol("  now", NULL, 0, 64);
    show("PREFERRED_MANY {0}", setpol(MPOL_PREFERRED_MANY, 1, 64));
    showpol("  now", NULL, 0, 64);
    show("LOCAL {0}", setpol(MPOL_LOCAL, 1, 64));
    show("LOCAL {}", setpol(MPOL_LOCAL, 0, 64));
    showpol("  now", NULL, 0, 64);
    show("mode 6", setpol(6, 1, 64));
    show("mode -1", setpol(-1, 1, 64));
    show("DEFAULT {0}", setpol(MPOL_DEFAULT, 1, 64));
    show("BIND maxnode 32769", setpol(MPOL_BIND, 1, 32769));
    show("BIND maxnode 32768", setpol(MPOL_BIND, 1, 32768));
    show("BIND bad mask pointer", syscall(SYS_set_mempolicy, MPOL_BIND, (void *)8, 64));
    show("BIND NULL mask", syscall(SYS_set_mempolicy, MPOL_BIND, NULL, 64));
    show("INTERLEAVE {0} again", setpol(MPOL_INTERLEAVE, 1, 64));
    pid_t pid = fork();
    if (pid == 0) {
        showpol("child inherits", NULL, 0, 64);
        exit(0);
    }
    waitpid(pid, NULL, 0);
    show("DEFAULT {}", setpol(MPOL_DEFAULT, 0, 64));
    showpol("  now", NULL, 0, 64);

    show("mbind BIND {0}", mbind_(page, 3 * 4096, MPOL_BIND, 1, 64, 0));
    show("mbind BIND {0} strict", mbind_(page, 4096, MPOL_BIND, 1, 64, MF_STRICT));
    show("mbind BIND {0} move", mbind_(page, 4096, MPOL_BIND, 1, 64, MF_MOVE));
    show("mbind bad flag", mbind_(page, 4096, MPOL_BIND, 1, 64, 8));
    show("mbind unaligned", mbind_(page + 1, 4096, MPOL_BIND, 1, 64, 0));
    show("mbind length 0", mbind_(page, 0, MPOL_BIND, 0, 64, 0));
    show("mbind wraps", mbind_(page, -4096UL, MPOL_BIND, 1, 64, 0));
    show("mbind BIND {}", mbind_(page, 4096, MPOL_BIND, 0, 64, 0));
    show("mbind BIND {1}", mbind_(page, 4096, MPOL_BIND, 2, 64, 0));
    show("mbind mode 9", mbind_(page, 4096, 9, 1, 64, 0));
    show("mbind unmapped", mbind_((void *)0x10000, 4096, MPOL_BIND, 1, 64, 0));
    show("mbind unmapped, DEFAULT", mbind_((void *)0x10000, 4096, MPOL_DEFAULT, 0, 64, 0));
    munmap(page + 4096, 4096);
    show("mbind over a hole", mbind_(page, 3 * 4096, MPOL_BIND, 1, 64, 0));
    show("mbind over a hole, DEFAULT", mbind_(page, 3 * 4096, MPOL_DEFAULT, 0, 64, 0));
    show("mbind DEFAULT {0}", mbind_(page, 4096, MPOL_DEFAULT, 1, 64, 0));
    show("mbind LOCAL", mbind_(page, 4096, MPOL_LOCAL, 0, 64, 0));

    /* (no untouched page: Linux reports -EFAULT for one, moss-py's fault-around maps neighbours) */
    page[2 * 4096] = 1;
    void *pages[4] = {page, page + 4096, (void *)0x10000, page + 2 * 4096};
    int status[4] = {-99, -99, -99, -99}, nodes[4] = {0, 0, 0, 0};
    show("move_pages stat", syscall(SYS_move_pages, 0, 4, pages, NULL, status, 0));
    printf("  status %d %d %d %d\n", status[0], status[1], status[2], status[3]);
    show("move_pages to 0", syscall(SYS_move_pages, 0, 4, pages, nodes, status, MF_MOVE));
    printf("  status %d %d %d %d\n", status[0], status[1], status[2], status[3]);
    nodes[1] = 1;
    show("move_pages to node 1", syscall(SYS_move_pages, 0, 4, pages, nodes, status, 0));
    nodes[1] = -1;
    show("move_pages to node -1", syscall(SYS_move_pages, 0, 4, pages, nodes, status, 0));
    show("move_pages bad flags", syscall(SYS_move_pages, 0, 4, pages, nodes, status, 1));
    show("move_pages no such pid", syscall(SYS_move_pages, 999999, 4, pages, NULL, status, 0));
    show("move_pages of my parent", syscall(SYS_move_pages, getppid(), 0, pages, NULL, status, 0));

    mask[1] = 1;
    show("migrate_pages {0} -> {0}", syscall(SYS_migrate_pages, 0, 64, &mask[1], &mask[1]));
    mask[2] = 2;
    show("migrate_pages {0} -> {1}", syscall(SYS_migrate_pages, 0, 64, &mask[1], &mask[2]));
    mask[2] = 0;
    show("migrate_pages {0} -> {}", syscall(SYS_migrate_pages, 0, 64, &mask[1], &mask[2]));
    show("migrate_pages no such pid", syscall(SYS_migrate_pages, 999999, 64, &mask[1], &mask[1]));
    show("migrate_pages bad mask", syscall(SYS_migrate_pages, 0, 64, (void *)8, &mask[1]));

    /* page 2 carries no mapping policy any more (the MPOL_DEFAULT mbind over the hole);
     * moss-py records none (mempolicy.py) */
    show("home_node 0", syscall(SYS_set_mempolicy_home_node, page + 2 * 4096, 4096, 0, 0));
    show("home_node 1", syscall(SYS_set_mempolicy_home_node, page, 4096, 1, 0));
    show("home_node flags", syscall(SYS_set_mempolicy_home_node, page, 4096, 0, 1));
    show("home_node unaligned", syscall(SYS_set_mempolicy_home_node, page + 1, 4096, 0, 0));
    show("home_node length 0", syscall(SYS_set_mempolicy_home_node, page, 0, 0, 0));

    pid = fork();
    if (pid == 0) {
        setuid(1000);
        show("user mbind MOVE_ALL", mbind_(page, 4096, MPOL_BIND, 1, 64, MF_MOVE_ALL));
        show("user move_pages MOVE_ALL", syscall(SYS_move_pages, 0, 1, pages, nodes, status, MF_MOVE_ALL));
        show("user move_pages of root", syscall(SYS_move_pages, 1, 1, pages, NULL, status, 0));
        show("user migrate_pages of root", syscall(SYS_migrate_pages, 1, 64, &mask[1], &mask[1]));
        mask[2] = 3;
        show("user migrate_pages -> {0,1}", syscall(SYS_migrate_pages, 0, 64, &mask[1], &mask[2]));
        exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}
