/* System V semaphores: semget's checks, SETVAL/GETVAL/SETALL/GETALL/GETPID, semop's atomic
 * all-or-nothing, IPC_NOWAIT's EAGAIN, a sleeper woken by another process (GETNCNT/GETZCNT
 * while it sleeps), semtimedop's timeout, EINTR from a signal, EIDRM at IPC_RMID, E2BIG,
 * EFBIG, ERANGE, SEM_UNDO applied at exit, IPC_STAT/IPC_SET/IPC_INFO, another user's EACCES
 * and EPERM, /proc/sysvipc/sem. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

#define KEY 0x5e3a0001

union semun { int val; struct semid_ds *buf; unsigned short *array; struct seminfo *__buf; };

static int op(int id, unsigned short num, short sop, short flg)
{
    struct sembuf b = {num, sop, flg};
    return semop(id, &b, 1);
}

static void show(int id, const char *what)
{
    unsigned short v[3];
    union semun a = {.array = v};
    semctl(id, 0, GETALL, a);
    printf("%s: %d %d %d\n", what, v[0], v[1], v[2]);
}

static void on_alarm(int sig) { (void)sig; }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    union semun a;
    printf("nsems 0 new: %s\n", err(semget(IPC_PRIVATE, 0, 0600)));
    printf("nsems too many: %s\n", err(semget(IPC_PRIVATE, 32001, 0600)));
    printf("nsems negative: %s\n", err(semget(IPC_PRIVATE, -1, 0600)));
    printf("missing key: %s\n", err(semget(KEY, 3, 0600)));
    int id = semget(KEY, 3, IPC_CREAT | IPC_EXCL | 0600);
    printf("create: %s\n", err(id));
    printf("again EXCL: %s, more sems: %s, fewer: %d, zero: %d\n", err(semget(KEY, 3, IPC_CREAT | IPC_EXCL)),
           err(semget(KEY, 4, 0)), semget(KEY, 2, 0) == id, semget(KEY, 0, 0) == id);
    show(id, "initial");

    struct semid_ds ds;
    a.buf = &ds;
    semctl(id, 0, IPC_STAT, a);
    printf("stat: key %x mode %o nsems %lu otime %ld ctime set %d\n", ds.sem_perm.__key, ds.sem_perm.mode,
           ds.sem_nsems, (long)ds.sem_otime, ds.sem_ctime != 0);

    a.val = 5;
    printf("SETVAL 5: %s\n", err(semctl(id, 0, SETVAL, a)));
    a.val = 32768;
    printf("SETVAL 32768: %s\n", err(semctl(id, 0, SETVAL, a)));
    a.val = -1;
    printf("SETVAL -1: %s\n", err(semctl(id, 0, SETVAL, a)));
    a.val = 1;
    printf("SETVAL semnum 3: %s\n", err(semctl(id, 3, SETVAL, a)));
    printf("GETVAL: %d, GETPID self %d, GETVAL semnum -1: %s\n", semctl(id, 0, GETVAL),
           semctl(id, 0, GETPID) == getpid(), err(semctl(id, -1, GETVAL)));
    unsigned short all[3] = {1, 2, 3};
    a.array = all;
    printf("SETALL: %s\n", err(semctl(id, 0, SETALL, a)));
    show(id, "after SETALL");
    unsigned short bad[3] = {1, 40000, 3};
    a.array = bad;
    printf("SETALL 40000: %s\n", err(semctl(id, 0, SETALL, a)));
    show(id, "unchanged");

    /* all or nothing */
    struct sembuf two[2] = {{0, -1, 0}, {1, -5, IPC_NOWAIT}};
    printf("semop partly impossible NOWAIT: %s\n", err(semop(id, two, 2)));
    show(id, "unchanged");
    struct sembuf three[3] = {{0, -1, 0}, {1, 1, 0}, {2, -3, 0}};
    printf("semop three: %s\n", err(semop(id, three, 3)));
    show(id, "after");
    printf("wait-for-zero NOWAIT on 1: %s\n", err(op(id, 1, 0, IPC_NOWAIT)));
    printf("wait-for-zero on 0: %s\n", err(op(id, 0, 0, 0)));
    printf("EFBIG: %s\n", err(op(id, 3, 1, 0)));
    printf("ERANGE: %s\n", err(op(id, 1, 32767, 0)));
    printf("nsops 0: %s\n", err(semop(id, two, 0)));
    static struct sembuf many[501];
    printf("nsops 501: %s\n", err(semop(id, many, 501)));
    printf("bad id: %s %s\n", err(op(-1, 0, 1, 0)), err(op(id + 1, 0, 1, 0)));
    struct timespec bad_ts = {0, 1000000000};
    printf("bad timeout: %s\n", err(semtimedop(id, two, 1, &bad_ts)));
    struct timespec ts = {0, 50000000};
    struct sembuf dec = {2, -1, 0};
    printf("semtimedop timeout: %s\n", err(semtimedop(id, &dec, 1, &ts)));
    semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
    printf("otime set %d\n", ds.sem_otime != 0);

    /* a sleeper woken by another process */
    pid_t pid = fork();
    if (pid == 0) {
        int r = op(id, 2, -2, 0);
        printf("child: woke %s, sem 2 = %d\n", err(r), semctl(id, 2, GETVAL));
        _exit(0);
    }
    msleep(200);
    printf("GETNCNT 2: %d GETZCNT 2: %d\n", semctl(id, 2, GETNCNT), semctl(id, 2, GETZCNT));
    op(id, 2, 3, 0);
    status_of(pid);
    show(id, "after wake");

    pid = fork();
    if (pid == 0) {
        int r = op(id, 1, 0, 0);
        printf("child: zero reached %s\n", err(r));
        _exit(0);
    }
    msleep(200);
    printf("GETZCNT 1: %d\n", semctl(id, 1, GETZCNT));
    op(id, 1, -3, 0);
    status_of(pid);

    /* EINTR */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    printf("semop interrupted (SA_RESTART): %s\n", err(op(id, 2, -5, 0)));

    /* SEM_UNDO */
    a.val = 2;
    semctl(id, 0, SETVAL, a);
    pid = fork();
    if (pid == 0) {
        op(id, 0, -2, SEM_UNDO);
        op(id, 1, 4, SEM_UNDO);
        op(id, 1, -1, SEM_UNDO);
        show(id, "child before exit");
        _exit(0);
    }
    status_of(pid);
    show(id, "after the child's exit");
    printf("GETPID is the child %d\n", semctl(id, 1, GETPID) == pid);
    pid = fork();
    if (pid == 0) {
        op(id, 1, 5, SEM_UNDO);
        a.val = 1;
        semctl(id, 1, SETVAL, a);           /* clears the adjustment */
        _exit(0);
    }
    status_of(pid);
    show(id, "SETVAL cleared the undo");
    pid = fork();
    if (pid == 0) {
        op(id, 1, 3, SEM_UNDO);             /* adj -3 */
        a.val = 0;
        semctl(id, 1, SETVAL, a);
        op(id, 1, 1, 0);
        _exit(0);
    }
    status_of(pid);
    show(id, "undo after SETVAL clamps");

    /* another user */
    pid = fork();
    if (pid == 0) {
        setgid(1000);
        setuid(1000);
        printf("user 1000: get %s, GETVAL %s, op %s, stat %s, rmid %s\n", err(semget(KEY, 0, 0600)),
               err(semctl(id, 0, GETVAL)), err(op(id, 0, 1, 0)), err(semctl(id, 0, IPC_STAT, (union semun){.buf = &ds})),
               err(semctl(id, 0, IPC_RMID)));
        _exit(0);
    }
    status_of(pid);
    semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
    ds.sem_perm.mode = 0666;
    printf("IPC_SET: %s\n", err(semctl(id, 0, IPC_SET, (union semun){.buf = &ds})));
    semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
    printf("mode %o\n", ds.sem_perm.mode);

    FILE *f = fopen("/proc/sysvipc/sem", "r");
    char line[256];
    fgets(line, sizeof line, f);
    printf("header: %s", line);
    while (fgets(line, sizeof line, f)) {
        int key, sid;
        unsigned perms, nsems, uid;
        sscanf(line, "%d %d %o %u %u", &key, &sid, &perms, &nsems, &uid);
        if (sid == id)
            printf("sysvipc: key %x perms %o nsems %u uid %u\n", key, perms, nsems, uid);
    }
    fclose(f);

    /* EIDRM to a sleeper */
    pid = fork();
    if (pid == 0) {
        int r = op(id, 2, -10, 0);
        printf("child: %s\n", err(r));
        _exit(0);
    }
    msleep(200);
    const char *rm = err(semctl(id, 0, IPC_RMID));
    status_of(pid);
    printf("IPC_RMID: %s\n", rm);
    printf("after rmid: %s %s\n", err(semctl(id, 0, GETVAL)), err(semget(KEY, 1, 0)));

    struct seminfo si;
    int r = semctl(0, 0, IPC_INFO, (union semun){.__buf = &si});
    printf("IPC_INFO: %s semmsl %d semmns %d semopm %d semmni %d semvmx %d semaem %d semusz %d\n", err(r),
           si.semmsl, si.semmns, si.semopm, si.semmni, si.semvmx, si.semaem, si.semusz);
    printf("bad cmd: %s\n", err(semctl(0, 0, 99)));
    printf("done\n");
    return 0;
}
