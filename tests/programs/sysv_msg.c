/* System V message queues: msgget, msgsnd/msgrcv by type (0, > 0, < 0, MSG_EXCEPT), MSG_NOERROR
 * and E2BIG, MSG_COPY, IPC_NOWAIT's EAGAIN and ENOMSG, a sender blocked on a full queue and a
 * receiver blocked on an empty one (woken by another process), EIDRM at IPC_RMID, the argument
 * checks, IPC_STAT/IPC_SET (msg_qbytes), IPC_INFO/MSG_INFO, another user's EACCES and EPERM,
 * /proc/sysvipc/msg. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

#define KEY 0x3e5a0001

struct msg { long mtype; char mtext[64]; };

static int send(int id, long type, const char *text, int flg)
{
    struct msg m = {type, ""};
    strcpy(m.mtext, text);
    return msgsnd(id, &m, strlen(text), flg);
}

static void recv(int id, size_t size, long type, int flg)
{
    struct msg m = {0, ""};
    ssize_t n = msgrcv(id, &m, size, type, flg);
    if (n < 0)
        printf("  rcv(%zu, %ld, %#o): %s\n", size, type, flg, strerrorname_np(errno));
    else
        printf("  rcv(%zu, %ld, %#o): %zd type %ld \"%.*s\"\n", size, type, flg, n, m.mtype, (int)n, m.mtext);
}

static void on_alarm(int sig) { (void)sig; }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("missing key: %s\n", err(msgget(KEY, 0600)));
    int id = msgget(KEY, IPC_CREAT | IPC_EXCL | 0600);
    printf("create: %s, again EXCL: %s, again: %d\n", err(id), err(msgget(KEY, IPC_CREAT | IPC_EXCL)),
           msgget(KEY, 0) == id);

    printf("send type 0: %s\n", err(send(id, 0, "x", 0)));
    printf("send type -1: %s\n", err(send(id, -1, "x", 0)));
    static struct msg big;
    big.mtype = 1;
    printf("send 8193 bytes: %s\n", err(msgsnd(id, &big, 8193, 0)));
    printf("send bad id: %s %s\n", err(send(-1, 1, "x", 0)), err(send(id + 1, 1, "x", 0)));
    printf("send bad pointer: %s\n", err(msgsnd(id, (void *)8, 1, 0)));

    send(id, 3, "three", 0);
    send(id, 1, "one", 0);
    send(id, 2, "two", 0);
    send(id, 1, "uno", 0);
    send(id, 5, "five", 0);
    struct msqid_ds ds;
    msgctl(id, IPC_STAT, &ds);
    printf("stat: key %x mode %o qnum %lu cbytes %lu qbytes %lu lspid self %d lrpid %d stime set %d\n",
           ds.msg_perm.__key, ds.msg_perm.mode, ds.msg_qnum, ds.__msg_cbytes, ds.msg_qbytes,
           ds.msg_lspid == getpid(), ds.msg_lrpid, ds.msg_stime != 0);
    printf("MSG_COPY:\n");
    recv(id, 64, 1, MSG_COPY | IPC_NOWAIT);
    recv(id, 64, 7, MSG_COPY | IPC_NOWAIT);
    recv(id, 64, 0, MSG_COPY);
    recv(id, 64, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT);
    recv(id, 2, 0, MSG_COPY | IPC_NOWAIT);
    printf("by type:\n");
    recv(id, 64, 2, 0);
    recv(id, 64, -2, 0);
    recv(id, 64, 1, MSG_EXCEPT);
    recv(id, 2, 0, 0);
    recv(id, 2, 0, MSG_NOERROR);
    recv(id, 64, 4, IPC_NOWAIT);
    recv(id, 64, -4, IPC_NOWAIT);
    recv(id, 64, 0, 0);
    recv(id, 64, 0, IPC_NOWAIT);
    recv(id, -1, 0, IPC_NOWAIT);
    recv(-1, 64, 0, IPC_NOWAIT);
    msgctl(id, IPC_STAT, &ds);
    printf("stat: qnum %lu cbytes %lu lrpid self %d rtime set %d\n", ds.msg_qnum, ds.__msg_cbytes,
           ds.msg_lrpid == getpid(), ds.msg_rtime != 0);

    /* a receiver woken by a sender */
    pid_t pid = fork();
    if (pid == 0) {
        printf("child waits for type 9\n");
        recv(id, 64, 9, 0);
        _exit(0);
    }
    msleep(200);
    send(id, 8, "eight", 0);
    send(id, 9, "nine", 0);
    status_of(pid);
    recv(id, 64, 0, IPC_NOWAIT);

    /* a full queue */
    ds.msg_qbytes = 10;
    printf("IPC_SET qbytes 10: %s\n", err(msgctl(id, IPC_SET, &ds)));
    printf("send 6: %s, send 5 NOWAIT: %s, send 4: %s\n", err(send(id, 1, "aaaaaa", 0)),
           err(send(id, 1, "bbbbb", IPC_NOWAIT)), err(send(id, 1, "cccc", 0)));
    printf("send 0 bytes NOWAIT: %s\n", err(send(id, 1, "", IPC_NOWAIT)));
    pid = fork();
    if (pid == 0) {
        int r = send(id, 2, "dddd", 0);
        printf("child: sent after room %s\n", err(r));
        _exit(0);
    }
    msleep(200);
    recv(id, 64, 1, 0);
    status_of(pid);
    recv(id, 64, 0, IPC_NOWAIT);
    recv(id, 64, 0, IPC_NOWAIT);

    /* interrupted: restarted without a handler's SA_RESTART?  msgrcv returns EINTR */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    printf("interrupted receive:\n");
    recv(id, 64, 0, 0);
    recv(id, 64, 0, 0);

    /* another user */
    pid = fork();
    if (pid == 0) {
        setgid(1000);
        setuid(1000);
        printf("user 1000: get %s, send %s, stat %s, rmid %s\n", err(msgget(KEY, 0600)), err(send(id, 1, "x", 0)),
               err(msgctl(id, IPC_STAT, &ds)), err(msgctl(id, IPC_RMID, NULL)));
        _exit(0);
    }
    status_of(pid);
    msgctl(id, IPC_STAT, &ds);
    ds.msg_qbytes = 16385;
    printf("root qbytes above msgmnb: %s\n", err(msgctl(id, IPC_SET, &ds)));

    FILE *f = fopen("/proc/sysvipc/msg", "r");
    char line[256];
    fgets(line, sizeof line, f);
    printf("header: %s", line);
    while (fgets(line, sizeof line, f)) {
        int key, mid;
        unsigned perms;
        unsigned long cbytes, qnum;
        sscanf(line, "%d %d %o %lu %lu", &key, &mid, &perms, &cbytes, &qnum);
        if (mid == id)
            printf("sysvipc: key %x perms %o cbytes %lu qnum %lu\n", key, perms, cbytes, qnum);
    }
    fclose(f);

    /* EIDRM to a sleeper */
    pid = fork();
    if (pid == 0) {
        recv(id, 64, 77, 0);
        _exit(0);
    }
    msleep(200);
    const char *rm = err(msgctl(id, IPC_RMID, NULL));
    status_of(pid);
    printf("IPC_RMID: %s, after: %s %s\n", rm, err(msgctl(id, IPC_STAT, &ds)), err(msgget(KEY, 0)));

    struct msginfo mi;
    int r = msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
    printf("IPC_INFO: %s msgmax %d msgmnb %d msgmni %d msgpool %d msgmap %d msgtql %d msgssz %d msgseg %d\n",
           err(r), mi.msgmax, mi.msgmnb, mi.msgmni, mi.msgpool, mi.msgmap, mi.msgtql, mi.msgssz, mi.msgseg);
    printf("bad cmd: %s\n", err(msgctl(0, 99, &ds)));
    printf("done\n");
    return 0;
}
