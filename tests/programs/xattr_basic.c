/* The extended-attribute syscalls and their errnos on the filesystem holding DIR:
 * set/get/list/remove in each namespace, XATTR_CREATE/XATTR_REPLACE, name and size limits,
 * symlinks (l*), O_PATH and pipe fds (f*), values that fill the inode and an xattr block,
 * an unprivileged caller (trusted.* hidden, user.* needs permission), /proc.
 * Usage: xattr_basic DIR                work in DIR (made if missing)
 *        xattr_basic --probe PATH...    each call once on each PATH (another filesystem's answers)
 *        xattr_basic --mount SRC DIR TYPE DATA PATH...   the same after mounting SRC on DIR
 *        xattr_basic DIR SRC DATA       first mount ext4 SRC on DIR with data DATA ("-": none)
 *                                       and leave DIR/keep (with xattrs) on it after umount.
 * Prints one line per call: the result or the errno name. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

static void get(const char *what, const char *path, const char *name)
{
    char buf[8192];
    ssize_t n = getxattr(path, name, buf, sizeof buf);
    if (n < 0) {
        rc(what, n);
        return;
    }
    unsigned sum = 0;
    for (ssize_t i = 0; i < n; i++)
        sum = sum * 31 + (unsigned char)buf[i];
    printf("%s: %zd %.*s sum=%u\n", what, n, (int)(n < 16 ? n : 16), buf, sum);
    fflush(stdout);
}

static void list(const char *what, const char *path, int follow)
{
    char buf[4096];
    ssize_t n = follow ? listxattr(path, buf, sizeof buf) : llistxattr(path, buf, sizeof buf);
    if (n < 0) {
        rc(what, n);
        return;
    }
    printf("%s: %zd", what, n);
    for (char *p = buf; p < buf + n; p += strlen(p) + 1)
        printf(" %s", p);
    printf("\n");
    fflush(stdout);
}

static void fill(char *buf, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = 'a' + (i * 7 + seed) % 26;
}

static void namespaces(const char *f)
{
    rc("set user.a", setxattr(f, "user.a", "1", 1, 0));
    rc("set trusted.t", setxattr(f, "trusted.t", "tt", 2, 0));
    rc("set security.s", setxattr(f, "security.s", "hello", 5, XATTR_CREATE));
    rc("set security.s create again", setxattr(f, "security.s", "x", 1, XATTR_CREATE));
    rc("set security.r replace missing", setxattr(f, "security.r", "x", 1, XATTR_REPLACE));
    rc("set bad flags", setxattr(f, "security.s", "x", 1, 4));
    rc("set empty name", setxattr(f, "", "x", 1, 0));
    rc("set bare prefix", setxattr(f, "security.", "x", 1, 0));
    rc("set unknown ns", setxattr(f, "foo.bar", "x", 1, 0));
    rc("set system.other", setxattr(f, "system.other", "x", 1, 0));
    char name[300];
    memset(name, 'n', sizeof name);
    memcpy(name, "security.", 9);
    name[256] = 0;
    rc("set 256-byte name", setxattr(f, name, "x", 1, 0));
    name[255] = 0;
    rc("set 255-byte name", setxattr(f, name, "x", 1, 0));
    rc("remove 255-byte name", removexattr(f, name));
    static char big[70000];
    rc("set 65537 bytes", setxattr(f, "security.big", big, 65537, 0));
    rc("set empty value", setxattr(f, "security.empty", "", 0, 0));
    get("get security.empty", f, "security.empty");
    get("get security.s", f, "security.s");
    rc("get size 0", getxattr(f, "security.s", NULL, 0));
    char small[2];
    rc("get too small", getxattr(f, "security.s", small, sizeof small));
    get("get missing", f, "security.nope");
    get("get user.a", f, "user.a");
    get("get trusted.t", f, "trusted.t");
    get("get acl", f, "system.posix_acl_access");
    get("get unknown ns", f, "foo.bar");
    void *volatile bad = (void *)16;      /* an address no process maps */
    rc("get bad buffer", getxattr(f, "security.s", bad, 64));
    rc("list size 0", listxattr(f, NULL, 0));
    rc("list too small", listxattr(f, small, sizeof small));
    list("list", f, 1);
    rc("set security.s replace", setxattr(f, "security.s", "world!", 6, XATTR_REPLACE));
    get("get security.s again", f, "security.s");
    rc("remove security.empty", removexattr(f, "security.empty"));
    rc("remove missing", removexattr(f, "security.empty"));
    rc("remove unknown ns", removexattr(f, "foo.bar"));
    list("list after remove", f, 1);
}

static void kinds(const char *dir)
{
    char f[256], l[256], p[256], d[256], missing[256];
    snprintf(f, sizeof f, "%s/file", dir);
    snprintf(l, sizeof l, "%s/link", dir);
    snprintf(p, sizeof p, "%s/fifo", dir);
    snprintf(d, sizeof d, "%s/sub", dir);
    snprintf(missing, sizeof missing, "%s/missing", dir);
    get("get via link", l, "security.s");
    rc("lget link", lgetxattr(l, "security.s", NULL, 0));
    rc("lget acl on link", lgetxattr(l, "system.posix_acl_access", NULL, 0));
    rc("lget default acl on dir", lgetxattr(d, "system.posix_acl_default", NULL, 0));
    rc("lset user on link", lsetxattr(l, "user.x", "1", 1, 0));
    rc("lget user on link", lgetxattr(l, "user.x", NULL, 0));
    rc("lset security on link", lsetxattr(l, "security.l", "L", 1, 0));
    list("llist link", l, 0);
    rc("lremove security on link", lremovexattr(l, "security.l"));
    list("llist link after", l, 0);
    rc("set user on fifo", setxattr(p, "user.x", "1", 1, 0));
    rc("get user on fifo", getxattr(p, "user.x", NULL, 0));
    rc("set user on dir", setxattr(d, "user.d", "dir", 3, 0));
    list("list dir", d, 1);
    rc("get missing file", getxattr(missing, "security.s", NULL, 0));
    rc("list missing file", listxattr(missing, NULL, 0));

    int fd = open(f, O_RDWR);
    rc("fset", fsetxattr(fd, "security.f", "fd", 2, 0));
    rc("fget", fgetxattr(fd, "security.f", NULL, 0));
    rc("flist", flistxattr(fd, NULL, 0));
    rc("fremove", fremovexattr(fd, "security.f"));
    close(fd);
    int pfd = open(f, O_PATH);
    rc("fget O_PATH", fgetxattr(pfd, "security.s", NULL, 0));
    rc("flist O_PATH", flistxattr(pfd, NULL, 0));
    rc("fset O_PATH", fsetxattr(pfd, "security.s", "x", 1, 0));
    close(pfd);
    rc("fget bad fd", fgetxattr(99, "security.s", NULL, 0));
    int pp[2];
    if (pipe(pp) == 0) {
        rc("fget pipe", fgetxattr(pp[0], "security.s", NULL, 0));
        rc("fget user pipe", fgetxattr(pp[0], "user.s", NULL, 0));
        rc("fset pipe", fsetxattr(pp[0], "security.s", "x", 1, 0));
        rc("flist pipe", flistxattr(pp[0], NULL, 0));
        close(pp[0]);
        close(pp[1]);
    }
}

static void sizes(const char *dir)
{
    /* Values that leave the inode body for an xattr block, and one too big for a block. */
    char f[256], buf[6000];
    snprintf(f, sizeof f, "%s/sizes", dir);
    close(open(f, O_CREAT | O_WRONLY, 0644));
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "security.k%d", i);
        fill(buf, 10 + i * 20, i);
        rc(name, setxattr(f, name, buf, 10 + i * 20, 0));
    }
    fill(buf, 3000, 7);
    rc("set 3000", setxattr(f, "security.large", buf, 3000, 0));
    fill(buf, 5000, 8);
    rc("set 5000", setxattr(f, "security.huge", buf, 5000, 0));
    list("list sizes", f, 1);
    get("get k5", f, "security.k5");
    get("get large", f, "security.large");
    rc("remove k0", removexattr(f, "security.k0"));
    rc("grow k1", setxattr(f, "security.k1", buf, 200, XATTR_REPLACE));
    list("list sizes after", f, 1);
    get("get k1", f, "security.k1");
}

static void unprivileged(const char *dir)
{
    char f[256];
    snprintf(f, sizeof f, "%s/file", dir);
    pid_t pid = fork();
    if (pid == 0) {
        if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
            _exit(2);
        get("user: get trusted.t", f, "trusted.t");
        list("user: list", f, 1);
        get("user: get user.a", f, "user.a");
        rc("user: set user.b", setxattr(f, "user.b", "1", 1, 0));
        rc("user: set trusted.b", setxattr(f, "trusted.b", "1", 1, 0));
        rc("user: set security.b", setxattr(f, "security.b", "1", 1, 0));
        rc("user: remove user.a", removexattr(f, "user.a"));
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child: %d\n", status);
    fflush(stdout);
}

static void ctime_changes(const char *f)
{
    /* Both changes within one second (a filesystem may keep whole seconds only). */
    struct stat before, after;
    struct timespec now, pause = {0, 20 * 1000 * 1000};
    do {
        nanosleep(&pause, NULL);
        clock_gettime(CLOCK_REALTIME, &now);
    } while (now.tv_nsec > 500 * 1000 * 1000);
    rc("set for ctime", setxattr(f, "security.when", "now", 3, 0));
    stat(f, &before);
    nanosleep(&pause, NULL);
    rc("set for ctime again", setxattr(f, "security.when", "later", 5, 0));
    stat(f, &after);
    printf("ctime changed: %d\n", after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
           after.st_ctim.tv_nsec != before.st_ctim.tv_nsec);
    fflush(stdout);
}

static void probe(const char *path)
{
    printf("%s\n", path);
    rc("  get security", lgetxattr(path, "security.s", NULL, 0));
    rc("  get user", lgetxattr(path, "user.s", NULL, 0));
    rc("  get acl", lgetxattr(path, "system.posix_acl_access", NULL, 0));
    rc("  set security", lsetxattr(path, "security.s", "1", 1, 0));
    rc("  set user", lsetxattr(path, "user.s", "1", 1, 0));
    list("  list", path, 0);
    rc("  remove security", lremovexattr(path, "security.s"));
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--probe")) {
        for (int i = 2; i < argc; i++)
            probe(argv[i]);
        return 0;
    }
    if (argc > 5 && !strcmp(argv[1], "--mount")) {
        mkdir(argv[3], 0755);
        rc("mount", mount(argv[2], argv[3], argv[4], 0, strcmp(argv[5], "-") ? argv[5] : NULL));
        for (int i = 6; i < argc; i++)
            probe(argv[i]);
        rc("umount", umount(argv[3]));
        return 0;
    }
    const char *dir = argc > 1 ? argv[1] : "/tmp/xattr";
    int on_ext4 = argc > 3;
    mkdir(dir, 0755);
    if (on_ext4)
        rc("mount", mount(argv[2], dir, "ext4", 0, strcmp(argv[3], "-") ? argv[3] : NULL));
    char f[256], path[256];
    snprintf(f, sizeof f, "%s/file", dir);
    close(open(f, O_CREAT | O_WRONLY, 0644));
    snprintf(path, sizeof path, "%s/link", dir);
    symlink("file", path);
    snprintf(path, sizeof path, "%s/fifo", dir);
    mkfifo(path, 0644);
    snprintf(path, sizeof path, "%s/sub", dir);
    mkdir(path, 0755);
    list("list new file", f, 1);
    namespaces(f);
    kinds(dir);
    sizes(dir);
    unprivileged(dir);
    ctime_changes(f);
    rc("get /proc", getxattr("/proc/self/status", "security.s", NULL, 0));
    rc("get user /proc", getxattr("/proc/self/status", "user.s", NULL, 0));
    rc("list /proc", listxattr("/proc/self/status", NULL, 0));
    if (on_ext4) {
        snprintf(path, sizeof path, "%s/keep", dir);
        close(open(path, O_CREAT | O_WRONLY, 0644));
        rc("keep user", setxattr(path, "user.comment", "kept", 4, 0));
        char buf[600];
        fill(buf, sizeof buf, 3);
        rc("keep block", setxattr(path, "user.block", buf, sizeof buf, 0));
        rc("umount", umount(dir));
    }
    return 0;
}
