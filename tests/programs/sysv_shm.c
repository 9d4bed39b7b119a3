/* System V shared memory: shmget's key lookup and errno order, attach/detach (SHM_RDONLY,
 * SHM_RND, SHM_REMAP), IPC_STAT's fields and the attach count across fork, exec and exit,
 * IPC_RMID while attached (key freed at once, destroyed at the last detach), IPC_SET, the
 * permission checks of another user, SHM_LOCK, IPC_INFO, /proc/pid/maps and /proc/sysvipc/shm. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/futex.h>
#include "report.h"

#define KEY 0x5157ab01

static long nattch(int id)
{
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) < 0)
        return -errno;
    return (long)ds.shm_nattch;
}

static void maps_line(void *addr)
{
    char want[32], line[512];
    snprintf(want, sizeof want, "%lx-", (unsigned long)addr);
    FILE *f = fopen("/proc/self/maps", "r");
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, want, strlen(want))) {
            /* perms, offset, device and the name; not the inode (the shm id) */
            char range[64], perms[8], off[16], dev[16], name[128] = "";
            unsigned long ino;
            sscanf(line, "%63s %7s %15s %15s %lu %127[^\n]", range, perms, off, dev, &ino, name);
            char *n = name;
            while (*n == ' ')
                n++;
            printf("maps: %s %s %s %s\n", perms, off, dev, n);
        }
    fclose(f);
}

static void sysvipc_line(int id)
{
    char line[512];
    FILE *f = fopen("/proc/sysvipc/shm", "r");
    if (!f) {
        printf("/proc/sysvipc/shm: %s\n", strerrorname_np(errno));
        return;
    }
    fgets(line, sizeof line, f);
    printf("header: %s", line);
    while (fgets(line, sizeof line, f)) {
        int key, sid;
        unsigned perms, cpid, lpid, uid, gid, cuid, cgid;
        unsigned long size, natt;
        sscanf(line, "%d %d %o %lu %u %u %lu %u %u %u %u", &key, &sid, &perms, &size, &cpid, &lpid, &natt,
               &uid, &gid, &cuid, &cgid);
        if (sid == id)
            printf("sysvipc: key %x perms %o size %lu cpid self %d nattch %lu uid %u gid %u cuid %u cgid %u\n",
                   key, perms, size, cpid == (unsigned)getpid(), natt, uid, gid, cuid, cgid);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "nattch")) {          /* after exec: the attach is gone */
        printf("after exec: nattch %ld\n", nattch(atoi(argv[2])));
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);

    printf("private size 0: %s\n", err(shmget(IPC_PRIVATE, 0, 0600)));
    printf("missing key: %s\n", err(shmget(KEY, 4096, 0600)));
    int id = shmget(KEY, 10000, IPC_CREAT | IPC_EXCL | 0640);
    printf("create: %s\n", err(id));
    printf("create again EXCL: %s\n", err(shmget(KEY, 10000, IPC_CREAT | IPC_EXCL | 0640)));
    printf("bigger size: %s\n", err(shmget(KEY, 20000, 0)));
    printf("bigger size EXCL: %s\n", err(shmget(KEY, 20000, IPC_CREAT | IPC_EXCL)));
    printf("smaller size same id: %d\n", shmget(KEY, 100, 0) == id);
    printf("same with CREAT: %d\n", shmget(KEY, 0, IPC_CREAT | 0600) == id);

    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    printf("stat: key %x segsz %zu mode %o nattch %lu cpid self %d lpid %d atime %d uid %u cuid %u\n",
           ds.shm_perm.__key, ds.shm_segsz, ds.shm_perm.mode, (unsigned long)ds.shm_nattch,
           ds.shm_cpid == getpid(), ds.shm_lpid, ds.shm_atime != 0, ds.shm_perm.uid, ds.shm_perm.cuid);

    char *p = shmat(id, NULL, 0);
    printf("attach: %s aligned %d\n", p == (void *)-1 ? strerrorname_np(errno) : "ok", ((long)p & 4095) == 0);
    maps_line(p);
    printf("zeroed: %d %d\n", p[0], p[9999]);
    strcpy(p, "parent");
    shmctl(id, IPC_STAT, &ds);
    printf("after attach: nattch %lu lpid self %d atime set %d\n", (unsigned long)ds.shm_nattch,
           ds.shm_lpid == getpid(), ds.shm_atime != 0);

    pid_t pid = fork();
    if (pid == 0) {
        printf("child: nattch %ld sees \"%s\"\n", nattch(id), p);
        strcpy(p, "child");
        char *q = shmat(id, NULL, SHM_RDONLY);
        printf("child: second attach ro, nattch %ld same data %d\n", nattch(id), !strcmp(q, "child"));
        printf("child: mprotect ro attach writable: %s\n", err(mprotect(q, 4096, PROT_READ | PROT_WRITE)));
        _exit(0);
    }
    status_of(pid);
    printf("parent sees \"%s\", nattch %ld after the child's exit\n", p, nattch(id));

    pid = fork();
    if (pid == 0) {
        char *q = shmat(id, NULL, SHM_RDONLY);
        q[0] = 'x';
        _exit(0);
    }
    printf("store to SHM_RDONLY attach: status %d\n", status_of(pid));

    pid = fork();
    if (pid == 0) {
        char ids[16];
        snprintf(ids, sizeof ids, "%d", id);
        execl("/proc/self/exe", argv[0], "nattch", ids, (char *)NULL);
        _exit(99);
    }
    status_of(pid);

    /* addresses */
    char *area = mmap(NULL, 8 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(area, 8 * 4096);
    printf("unaligned: %s\n", err((long)shmat(id, area + 100, 0)));
    char *r = shmat(id, area + 100, SHM_RND);
    printf("SHM_RND: %s at base %d\n", r == (void *)-1 ? strerrorname_np(errno) : "ok", r == area);
    printf("over a mapping without SHM_REMAP: %s\n", err((long)shmat(id, area, 0)));
    char *r2 = shmat(id, area, SHM_REMAP);
    printf("SHM_REMAP: %s same %d\n", r2 == (void *)-1 ? strerrorname_np(errno) : "ok", r2 == area);
    printf("SHM_REMAP without address: %s\n", err((long)shmat(id, NULL, SHM_REMAP)));
    printf("nattch %ld\n", nattch(id));
    printf("shmdt unaligned: %s\n", err(shmdt(area + 8)));
    printf("shmdt: %s\n", err(shmdt(area)));
    printf("shmdt again: %s\n", err(shmdt(area)));
    printf("shmdt not shm: %s\n", err(shmdt(&ds)));
    printf("nattch %ld\n", nattch(id));
    printf("bad id: %s %s\n", err((long)shmat(-1, NULL, 0)), err((long)shmat(id + 1, NULL, 0)));

    /* another user */
    pid = fork();
    if (pid == 0) {
        setuid(1000);
        printf("user 1000: get %s, attach %s, stat %s, rmid %s, set %s, lock %s\n",
               err(shmget(KEY, 0, 0600)), err((long)shmat(id, NULL, SHM_RDONLY)), err(shmctl(id, IPC_STAT, &ds)),
               err(shmctl(id, IPC_RMID, NULL)), err(shmctl(id, IPC_SET, &ds)), err(shmctl(id, SHM_LOCK, NULL)));
        printf("user 1000: get for read %s\n", err(shmget(KEY, 0, 0)));
        _exit(0);
    }
    status_of(pid);

    shmctl(id, IPC_STAT, &ds);
    ds.shm_perm.mode = 0604;
    printf("IPC_SET: %s\n", err(shmctl(id, IPC_SET, &ds)));
    printf("SHM_LOCK: %s\n", err(shmctl(id, SHM_LOCK, NULL)));
    shmctl(id, IPC_STAT, &ds);
    printf("mode %o\n", ds.shm_perm.mode);
    printf("SHM_UNLOCK: %s\n", err(shmctl(id, SHM_UNLOCK, NULL)));
    sysvipc_line(id);

    /* removal while attached */
    printf("IPC_RMID attached: %s\n", err(shmctl(id, IPC_RMID, NULL)));
    printf("key after rmid: %s\n", err(shmget(KEY, 0, 0)));
    shmctl(id, IPC_STAT, &ds);
    printf("stat after rmid: key %x mode %o nattch %lu data \"%s\"\n", ds.shm_perm.__key, ds.shm_perm.mode,
           (unsigned long)ds.shm_nattch, p);
    maps_line(p);
    int id2 = shmget(KEY, 4096, IPC_CREAT | 0600);
    printf("new segment on the key: %s differs %d\n", err(id2), id2 != id);
    char *again = shmat(id, NULL, 0);
    printf("attach removed: %s nattch %ld\n", err((long)again), nattch(id));
    shmdt(again);
    shmdt(p);
    printf("after last detach: %s\n", err(shmctl(id, IPC_STAT, &ds)));
    printf("rmid unattached: %s then %s\n", err(shmctl(id2, IPC_RMID, NULL)), err(shmctl(id2, IPC_STAT, &ds)));

    struct shminfo info;
    long maxidx = shmctl(0, IPC_INFO, (struct shmid_ds *)&info);
    printf("IPC_INFO: %s shmmax %lu shmmin %lu shmmni %lu shmseg %lu shmall %lu\n", err(maxidx), info.shmmax,
           info.shmmin, info.shmmni, info.shmseg, info.shmall);
    printf("bad cmd: %s, negative id: %s\n", err(shmctl(0, 99, &ds)), err(shmctl(-1, IPC_STAT, &ds)));
    /* a shared futex in a segment: the child sleeps on its own attach, the parent wakes it through
     * another attach at another address */
    int fid = shmget(IPC_PRIVATE, 8192, 0600);
    int *word = (int *)((char *)shmat(fid, NULL, 0) + 4096);
    pid = fork();
    if (pid == 0) {
        int *mine = (int *)((char *)shmat(fid, NULL, 0) + 4096);
        long r = syscall(SYS_futex, mine, FUTEX_WAIT, 0, NULL, NULL, 0);
        printf("child: futex wait %s, word %d, other address %d\n", err(r), *mine, mine != word);
        _exit(0);
    }
    usleep(200000);
    *word = 1;
    long woke = syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
    status_of(pid);
    printf("futex wake in shm: woke %ld\n", woke);
    shmctl(fid, IPC_RMID, NULL);
    shmdt((char *)word - 4096);

    int id3 = shmget(IPC_PRIVATE, 4096, 0600);
    struct shm_info si;
    shmctl(0, SHM_INFO, (struct shmid_ds *)&si);
    printf("SHM_INFO: used_ids >= 1 %d\n", si.used_ids >= 1);
    int idx = shmctl(id3 & 0x7fff, SHM_STAT, &ds);
    printf("SHM_STAT by index: %s\n", idx == id3 ? "the id" : err(idx));
    shmctl(id3, IPC_RMID, NULL);
    printf("done\n");
    return 0;
}
