/* chroot (lookups, `..` at the new root, getcwd outside it, permissions), unshare of the fd
 * table, the fs context and semaphore adjustments, and setns through a pidfd into the one
 * mount namespace. With the argument "namespaces": the answers to new namespaces, which
 * moss-py gives as a Linux built without them (not compared with Debian's kernel). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

static void cwd(const char *what)
{
    char buf[256];
    long r = syscall(SYS_getcwd, buf, sizeof buf);
    printf("%s: %s\n", what, r < 0 ? strerrorname_np(errno) : buf);
}

static void exists(const char *what, const char *path)
{
    struct stat st;
    printf("%s: %s\n", what, stat(path, &st) < 0 ? strerrorname_np(errno) : "yes");
}

static void chroots(void)
{
    mkdir("/tmp/jail", 0755);
    mkdir("/tmp/jail/inner", 0755);
    mkdir("/tmp/jail/locked", 0700);
    close(open("/tmp/jail/marker", O_CREAT | O_WRONLY, 0644));
    close(open("/tmp/jail/file", O_CREAT | O_WRONLY, 0644));
    symlink("/inner", "/tmp/jail/abs_link");

    show("chroot missing", chroot("/tmp/jail/nope"));
    show("chroot a file", chroot("/tmp/jail/file"));
    show("chroot a file/", chroot("/tmp/jail/file/x"));
    show("chroot empty", chroot(""));
    show("chroot bad pointer", syscall(SYS_chroot, (void *)8));
    pid_t pid = fork();
    if (pid == 0) {
        setuid(1000);
        show("user chroot", chroot("/tmp/jail"));
        show("user chroot missing", chroot("/tmp/jail/nope"));
        show("user chroot unsearchable", chroot("/tmp/jail/locked/x"));
        exit(0);
    }
    waitpid(pid, NULL, 0);

    pid = fork();
    if (pid == 0) {
        chdir("/tmp");
        show("chroot /tmp/jail", chroot("/tmp/jail"));
        cwd("  cwd stays outside");
        exists("  /marker", "/marker");
        exists("  /tmp/jail", "/tmp/jail");
        exists("  /../../marker", "/../../marker");
        show("  chdir /", chdir("/"));
        cwd("  cwd");
        show("  chdir ..", chdir(".."));
        cwd("  cwd after ..");
        show("  chdir /abs_link", chdir("/abs_link"));
        cwd("  cwd via absolute link");
        show("  chroot again, relative", chroot(".."));
        exists("  /marker after", "/marker");
        show("  chroot /inner", chroot("/inner"));
        exists("  /marker in inner", "/marker");
        cwd("  cwd beside the root");
        exit(0);
    }
    waitpid(pid, NULL, 0);
    exists("parent still sees /tmp/jail/marker", "/tmp/jail/marker");
}

static void unshares(void)
{
    show("unshare 0", unshare(0));
    show("unshare bad flag", unshare(0x1000));
    show("unshare CLONE_FILES alone", unshare(CLONE_FILES));
    show("unshare CLONE_FS alone", unshare(CLONE_FS));
    show("unshare CLONE_SYSVSEM", unshare(CLONE_SYSVSEM));
    show("unshare CLONE_THREAD alone", unshare(CLONE_THREAD));
    show("unshare CLONE_VM alone", unshare(CLONE_VM));
    show("unshare CLONE_SIGHAND alone", unshare(CLONE_SIGHAND));

    /* a vfork child shares files and memory: unshare(CLONE_FILES) gives it its own table */
    int fd = open("/tmp/jail/marker", O_RDONLY);
    pid_t pid = vfork();
    if (pid == 0) {
        long r = unshare(CLONE_FILES);
        close(fd);
        _exit(r == 0 ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("vfork child unshared files: %d; fd still open in the parent: %s\n", WEXITSTATUS(st),
           fcntl(fd, F_GETFD) < 0 ? strerrorname_np(errno) : "yes");
    close(fd);

    /* a CLONE_FS child: unshare(CLONE_FS) stops the umask and cwd changes reaching the parent */
    static char stack[65536];
    umask(022);
    chdir("/");
    int child_fn(void *arg);
    pid = clone(child_fn, stack + sizeof stack, CLONE_FS | SIGCHLD, NULL);
    waitpid(pid, NULL, 0);
    cwd("parent cwd after the CLONE_FS child");
    mode_t m = umask(022);
    printf("parent umask after the CLONE_FS child: %03o\n", m);

    /* semaphore adjustments apply at unshare(CLONE_SYSVSEM), as at exit */
    int id = semget(IPC_PRIVATE, 1, 0600);
    pid = fork();
    if (pid == 0) {
        struct sembuf op = {0, 5, SEM_UNDO};
        semop(id, &op, 1);
        printf("child raised the semaphore to %d\n", semctl(id, 0, GETVAL));
        show("child unshare CLONE_SYSVSEM", unshare(CLONE_SYSVSEM));
        printf("  value after: %d\n", semctl(id, 0, GETVAL));
        exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("value after the child exited: %d\n", semctl(id, 0, GETVAL));
    semctl(id, 0, IPC_RMID);
}

int child_fn(void *arg)
{
    (void)arg;
    chdir("/tmp");
    show("CLONE_FS child unshare CLONE_FS", unshare(CLONE_FS));
    chdir("/tmp/jail");
    umask(077);
    return 0;
}

static void setnses(void)
{
    int fd = open("/tmp/jail/marker", O_RDONLY);
    show("setns bad fd", setns(99, 0));
    show("setns a plain file", setns(fd, 0));
    close(fd);
    int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
    show("setns pidfd 0", setns(pidfd, 0));
    show("setns pidfd bad flag", setns(pidfd, 0x1000));
    pid_t pid = fork();
    if (pid == 0) {
        chdir("/tmp");
        show("setns pidfd CLONE_NEWNS", setns(pidfd, CLONE_NEWNS));
        cwd("  cwd");
        setuid(1000);
        show("user setns pidfd CLONE_NEWNS", setns(pidfd, CLONE_NEWNS));
        exit(0);
    }
    waitpid(pid, NULL, 0);
    close(pidfd);
}

static void namespaces(void)
{
    static const struct { const char *name; int flag; } ns[] = {
        {"CLONE_NEWNS", CLONE_NEWNS}, {"CLONE_NEWUTS", CLONE_NEWUTS}, {"CLONE_NEWIPC", CLONE_NEWIPC},
        {"CLONE_NEWPID", CLONE_NEWPID}, {"CLONE_NEWNET", CLONE_NEWNET}, {"CLONE_NEWUSER", CLONE_NEWUSER},
        {"CLONE_NEWCGROUP", CLONE_NEWCGROUP}, {"CLONE_NEWTIME", 0x80},
    };
    int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
    for (unsigned i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "unshare %s", ns[i].name);
        show(what, unshare(ns[i].flag));
        snprintf(what, sizeof what, "setns pidfd %s", ns[i].name);
        show(what, setns(pidfd, ns[i].flag));
    }
    pid_t pid = fork();
    if (pid == 0) {
        setuid(1000);
        show("user unshare CLONE_NEWUTS", unshare(CLONE_NEWUTS));
        show("user unshare CLONE_NEWUSER", unshare(CLONE_NEWUSER));
        exit(0);
    }
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "namespaces") == 0) {
        namespaces();
        return 0;
    }
    chroots();
    unshares();
    setnses();
    unlink("/tmp/jail/marker");
    unlink("/tmp/jail/file");
    unlink("/tmp/jail/abs_link");
    rmdir("/tmp/jail/inner");
    rmdir("/tmp/jail/locked");
    rmdir("/tmp/jail");
    return 0;
}
