/* /proc/PID/ns/{mnt,uts}: readlink shows "kind:[N]", stat through the link and fstat of an
 * open one give st_ino N (how tools compare namespaces), a child that unshares gets a new
 * number, setns with an opened file joins that namespace again (nstype 0 or its kind; another
 * kind is EINVAL), /proc/PID/root and cwd lead into the task's mount namespace, and a user
 * who may not inspect the process gets EACCES / EPERM. Prints
 * comparisons, not the numbers (the two kernels' differ). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *res(long r)
{
    static char buf[32];
    if (r >= 0)
        return "ok";
    snprintf(buf, sizeof buf, "%s", strerrorname_np(errno));
    return buf;
}

/* The number in /proc/<pid>/ns/<kind>'s link, or 0 (and the errno printed) if unreadable. */
static unsigned long link_ino(const char *pid, const char *kind)
{
    char path[64], buf[64], want[32];
    snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, kind);
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n < 0) {
        printf("readlink %s: %s\n", kind, strerrorname_np(errno));
        return 0;
    }
    buf[n] = 0;
    snprintf(want, sizeof want, "%s:[", kind);
    if (strncmp(buf, want, strlen(want)) != 0 || buf[n - 1] != ']') {
        printf("readlink %s: bad format\n", kind);
        return 0;
    }
    return strtoul(buf + strlen(want), NULL, 10);
}

static void check_stat(const char *kind)
{
    char path[64];
    struct stat st, lst, fst;
    unsigned long ino = link_ino("self", kind);
    snprintf(path, sizeof path, "/proc/self/ns/%s", kind);
    printf("%s: lstat %s link=%d", kind, res(lstat(path, &lst)), S_ISLNK(lst.st_mode));
    printf(" stat %s reg=%d mode=%o ino=link:%d", res(stat(path, &st)), S_ISREG(st.st_mode),
           st.st_mode & 07777, st.st_ino == ino);
    int fd = open(path, O_RDONLY);
    printf(" open %s fstat %s ino=link:%d same dev:%d\n", res(fd), res(fstat(fd, &fst)), fst.st_ino == ino,
           fst.st_dev == st.st_dev);
    char c, fdpath[64], a[64] = "", b[64] = "";
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
    readlink(fdpath, a, sizeof a - 1);
    readlink(path, b, sizeof b - 1);
    printf("%s: fd link is the ns link: %d\n", kind, strcmp(a, b) == 0);
    printf("%s: read %s\n", kind, res(read(fd, &c, 1)));
    close(fd);
}

static int wait_child(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The nsfs ioctls lsns and nsenter use: the type, the owning user namespace (the initial one,
 * whose inode number is fixed), the parent, the owner uid. */
static void ns_ioctls(void)
{
    int fd = open("/proc/self/ns/uts", O_RDONLY);
    printf("uts NS_GET_NSTYPE is CLONE_NEWUTS: %d\n", ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWUTS);
    printf("uts NS_GET_PARENT: %s\n", res(ioctl(fd, NS_GET_PARENT)));
    uid_t uid = 7;
    printf("uts NS_GET_OWNER_UID: %s\n", res(ioctl(fd, NS_GET_OWNER_UID, &uid)));
    printf("uts unknown ioctl: %s\n", res(ioctl(fd, _IO(0xb7, 0x9))));
    int user = ioctl(fd, NS_GET_USERNS);
    struct stat st;
    printf("uts NS_GET_USERNS: %s", res(user));
    printf(" fstat %s init ino=%d reg=%d cloexec=%d\n", res(fstat(user, &st)), st.st_ino == 0xEFFFFFFDul,
           S_ISREG(st.st_mode), fcntl(user, F_GETFD) == FD_CLOEXEC);
    printf("user NS_GET_NSTYPE is CLONE_NEWUSER: %d\n", ioctl(user, NS_GET_NSTYPE) == CLONE_NEWUSER);
    printf("user NS_GET_USERNS: %s\n", res(ioctl(user, NS_GET_USERNS)));
    printf("user NS_GET_PARENT: %s\n", res(ioctl(user, NS_GET_PARENT)));
    printf("user NS_GET_OWNER_UID: %s", res(ioctl(user, NS_GET_OWNER_UID, &uid)));
    printf(" uid=%d\n", (int)uid);
    printf("setns(user fd, 0): %s\n", res(setns(user, 0)));
    close(user);
    close(fd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    check_stat("uts");
    check_stat("mnt");
    ns_ioctls();
    unsigned long uts0 = link_ino("self", "uts"), mnt0 = link_ino("self", "mnt");
    char me[16];
    snprintf(me, sizeof me, "%d", getpid());
    printf("self and pid agree: %d %d\n", link_ino(me, "uts") == uts0, link_ino(me, "mnt") == mnt0);

    pid_t pid = fork();
    if (pid == 0) {
        printf("child same uts: %d mnt: %d\n", link_ino("self", "uts") == uts0, link_ino("self", "mnt") == mnt0);
        int uts_fd = open("/proc/self/ns/uts", O_RDONLY), mnt_fd = open("/proc/self/ns/mnt", O_RDONLY);
        printf("unshare uts: %s\n", res(unshare(CLONE_NEWUTS)));
        unsigned long uts1 = link_ino("self", "uts");
        printf("after unshare uts: new=%d mnt same=%d\n", uts1 != uts0 && uts1 != 0, link_ino("self", "mnt") == mnt0);
        sethostname("links-child", 11);
        printf("unshare mnt: %s\n", res(unshare(CLONE_NEWNS)));
        unsigned long mnt1 = link_ino("self", "mnt");
        printf("after unshare mnt: new=%d\n", mnt1 != mnt0 && mnt1 != 0);
        check_stat("uts");
        printf("setns(uts fd, CLONE_NEWNS): %s\n", res(setns(uts_fd, CLONE_NEWNS)));
        printf("setns(mnt fd, CLONE_NEWUTS): %s\n", res(setns(mnt_fd, CLONE_NEWUTS)));
        printf("setns(uts fd, CLONE_NEWUTS): %s\n", res(setns(uts_fd, CLONE_NEWUTS)));
        printf("back in uts: %d\n", link_ino("self", "uts") == uts0);
        printf("setns(mnt fd, 0): %s\n", res(setns(mnt_fd, 0)));
        printf("back in mnt: %d\n", link_ino("self", "mnt") == mnt0);
        struct utsname u;
        uname(&u);
        printf("hostname is the parent's: %d\n", strcmp(u.nodename, "links-child") != 0);
        _exit(0);
    }
    printf("child: %d\n", wait_child(pid));

    /* /proc/PID/root and cwd lead to the task's very directories, in its mount namespace */
    int ready[2], done[2];
    char c, path[96];
    pipe(ready);
    pipe(done);
    mkdir("/tmp/ns_links.d", 0755);
    pid = fork();
    if (pid == 0) {
        unshare(CLONE_NEWNS);
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        mount("none", "/tmp/ns_links.d", "tmpfs", 0, NULL);
        close(open("/tmp/ns_links.d/inside", O_CREAT | O_WRONLY, 0644));
        chdir("/tmp/ns_links.d");
        write(ready[1], "x", 1);
        read(done[0], &c, 1);
        _exit(0);
    }
    read(ready[0], &c, 1);
    printf("own view: %s\n", res(access("/tmp/ns_links.d/inside", F_OK)));
    snprintf(path, sizeof path, "/proc/%d/root/tmp/ns_links.d/inside", pid);
    printf("through its root: %s\n", res(access(path, F_OK)));
    snprintf(path, sizeof path, "/proc/%d/cwd/inside", pid);
    printf("through its cwd: %s\n", res(access(path, F_OK)));
    write(done[1], "x", 1);
    printf("mount child: %d\n", wait_child(pid));
    printf("rmdir: %s\n", res(rmdir("/tmp/ns_links.d")));

    int uts_fd = open("/proc/self/ns/uts", O_RDONLY);
    pid = fork();
    if (pid == 0) {
        char parent[16];
        snprintf(parent, sizeof parent, "%d", getppid());
        if (setuid(65534) != 0)
            _exit(9);
        link_ino(parent, "uts");
        link_ino(parent, "mnt");
        char path[64];
        snprintf(path, sizeof path, "/proc/%s/ns/uts", parent);
        printf("nobody open parent's: %s\n", res(open(path, O_RDONLY) >= 0 ? 0 : -1));
        printf("nobody setns(uts fd): %s\n", res(setns(uts_fd, CLONE_NEWUTS)));
        printf("nobody own uts readable: %d\n", link_ino("self", "uts") == uts0);
        _exit(0);
    }
    printf("nobody child: %d\n", wait_child(pid));
    printf("parent unchanged: %d %d\n", link_ino("self", "uts") == uts0, link_ino("self", "mnt") == mnt0);
    return 0;
}
