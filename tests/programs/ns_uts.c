/* UTS and mount namespaces through unshare(2) and clone(2): a child with CLONE_NEWUTS sets its
 * own host and domain names (sethostname, setdomainname, /proc/sys/kernel/hostname) and its own
 * children inherit them, while the parent's stay; clone(CLONE_NEWNS) gives the child its own
 * mounts; the flag checks (EINVAL) and EPERM without CAP_SYS_ADMIN. Prints comparisons, never
 * the names themselves (the two kernels' differ). Everything it changes dies with its children. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static char parent_host[65], parent_domain[65];

static long raw_clone(unsigned long flags)
{
    return syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

/* A clone expected to fail: a child it made anyway ends at once. */
static long failing_clone(unsigned long flags)
{
    long r = raw_clone(flags);
    if (r == 0)
        _exit(0);
    if (r > 0)
        waitpid(r, NULL, 0);
    return r;
}

static const char *res(long r)
{
    static char buf[32];
    if (r >= 0)
        return "ok";
    snprintf(buf, sizeof buf, "%s", strerrorname_np(errno));
    return buf;
}

static void show_names(const char *who, const char *host, const char *domain)
{
    struct utsname u;
    uname(&u);
    printf("%s: uname host=%s domain=%s", who, strcmp(u.nodename, host) ? "other" : "expected",
           strcmp(u.domainname, domain) ? "other" : "expected");
    char buf[80] = "";
    int fd = open("/proc/sys/kernel/hostname", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && buf[n - 1] == '\n')
        buf[n - 1] = 0;
    printf(" proc=%s\n", strcmp(buf, host) ? "other" : "expected");
}

static int wait_child(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int in_new_uts(void)
{
    printf("sethostname: %s\n", res(sethostname("ns-child", 8)));
    printf("setdomainname: %s\n", res(setdomainname("ns-domain", 9)));
    show_names("child", "ns-child", "ns-domain");
    pid_t g = fork();
    if (g == 0) {
        show_names("grandchild", "ns-child", "ns-domain");
        int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
        printf("grandchild write proc: %s\n", res(write(fd, "via-proc\n", 9)));
        close(fd);
        show_names("grandchild", "via-proc", "ns-domain");
        _exit(0);
    }
    printf("grandchild: %d\n", wait_child(g));
    show_names("child after grandchild", "via-proc", "ns-domain");
    return 0;
}

int main(void)
{
    struct utsname u;
    setvbuf(stdout, NULL, _IONBF, 0);
    uname(&u);
    strcpy(parent_host, u.nodename);
    strcpy(parent_domain, u.domainname);

    pid_t pid = fork();
    if (pid == 0) {
        printf("unshare(CLONE_NEWUTS): %s\n", res(unshare(CLONE_NEWUTS)));
        _exit(in_new_uts());
    }
    printf("unshare child: %d\n", wait_child(pid));
    show_names("parent", parent_host, parent_domain);

    pid = raw_clone(CLONE_NEWUTS);
    if (pid == 0)
        _exit(in_new_uts());
    printf("clone(CLONE_NEWUTS): %s\n", res(pid));
    printf("clone child: %d\n", wait_child(pid));
    show_names("parent", parent_host, parent_domain);

    /* setns through a pidfd: a second child joins the first one's UTS namespace */
    int ready[2], done[2];
    pipe(ready);
    pipe(done);
    pid = fork();
    if (pid == 0) {
        char c;
        unshare(CLONE_NEWUTS);
        sethostname("joined", 6);
        write(ready[1], "x", 1);
        read(done[0], &c, 1);
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    pid_t joiner = fork();
    if (joiner == 0) {
        int pidfd = syscall(SYS_pidfd_open, pid, 0);
        printf("setns(pidfd, CLONE_NEWUTS): %s\n", res(setns(pidfd, CLONE_NEWUTS)));
        show_names("joiner", "joined", parent_domain);
        _exit(0);
    }
    printf("joiner: %d\n", wait_child(joiner));
    write(done[1], "x", 1);
    printf("joined child: %d\n", wait_child(pid));
    show_names("parent", parent_host, parent_domain);

    /* clone(CLONE_NEWNS): the child's tmpfs on a directory is not the parent's */
    mkdir("/tmp/ns_uts.d", 0755);
    pid = raw_clone(CLONE_NEWNS);
    if (pid == 0) {
        printf("child private: %s\n", res(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)));
        printf("child mount: %s\n", res(mount("none", "/tmp/ns_uts.d", "tmpfs", 0, NULL)));
        int fd = open("/tmp/ns_uts.d/inner", O_CREAT | O_WRONLY, 0644);
        close(fd);
        printf("child sees inner: %s\n", res(access("/tmp/ns_uts.d/inner", F_OK)));
        _exit(0);
    }
    printf("clone(CLONE_NEWNS): %s\n", res(pid));
    printf("clone newns child: %d\n", wait_child(pid));
    printf("parent sees inner: %s\n", res(access("/tmp/ns_uts.d/inner", F_OK)));
    printf("rmdir: %s\n", res(rmdir("/tmp/ns_uts.d")));

    /* copy_process's flag checks */
    printf("clone(NEWNS|FS): %s\n", res(failing_clone(CLONE_NEWNS | CLONE_FS)));
    printf("clone(NEWUSER|FS): %s\n", res(failing_clone(CLONE_NEWUSER | CLONE_FS)));
    printf("clone(THREAD|SIGHAND|VM|NEWPID): %s\n",
           res(raw_clone(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWPID)));

    /* without CAP_SYS_ADMIN */
    pid = fork();
    if (pid == 0) {
        if (setuid(65534) != 0)
            _exit(9);
        printf("nobody unshare(NEWUTS): %s\n", res(unshare(CLONE_NEWUTS)));
        printf("nobody unshare(NEWNS): %s\n", res(unshare(CLONE_NEWNS)));
        printf("nobody clone(NEWUTS): %s\n", res(failing_clone(CLONE_NEWUTS)));
        printf("nobody clone(NEWIPC): %s\n", res(failing_clone(CLONE_NEWIPC)));
        printf("nobody clone(NEWNS): %s\n", res(failing_clone(CLONE_NEWNS)));
        printf("nobody sethostname: %s\n", res(sethostname("x", 1)));
        _exit(0);
    }
    printf("nobody child: %d\n", wait_child(pid));
    show_names("parent at end", parent_host, parent_domain);
    return 0;
}
