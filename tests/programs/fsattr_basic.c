/* File attributes: chmod/fchmod/fchmodat, chown/lchown/fchown/fchownat, utimensat/futimens,
 * truncate/ftruncate, fallocate, link/linkat, fsync/fdatasync/syncfs/sync -- results and errnos.
 *
 * Safe to run on a real Linux (the differential oracle runs it under qemu-aarch64 on the host):
 * everything happens in a fresh directory under /tmp that is removed at the end. Run as root;
 * a forked child drops to uid 1000 for the unprivileged rules (EPERM/EACCES).
 * Output is deterministic: times are printed only as set or as "recent". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include "report.h"

static char dir[64];
int syscall_utimensat_fd_flags(int fd);

static const char *p(const char *name)
{
    static char buf[4][128];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static void show(const char *what, const char *name, int nofollow)
{
    struct stat st;
    int r = nofollow ? lstat(p(name), &st) : stat(p(name), &st);
    if (r < 0) {
        printf("%s: stat -1 %s\n", what, strerrorname_np(errno));
        return;
    }
    /* a directory's size depends on the filesystem (tmpfs: 20 bytes an entry; ext4: blocks) */
    printf("%s: mode=%o uid=%u gid=%u size=%lld nlink=%lu\n", what, st.st_mode, st.st_uid, st.st_gid,
           S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size, (unsigned long)st.st_nlink);
    fflush(stdout);
}

static void show_times(const char *what, const char *name, int nofollow)
{
    struct stat st;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if ((nofollow ? lstat(p(name), &st) : stat(p(name), &st)) < 0) {
        printf("%s: stat -1 %s\n", what, strerrorname_np(errno));
        return;
    }
    char a[64], m[64];
    if (now.tv_sec - st.st_atim.tv_sec < 100 && now.tv_sec >= st.st_atim.tv_sec)
        strcpy(a, "recent");
    else
        snprintf(a, sizeof a, "%lld.%09ld", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
    if (now.tv_sec - st.st_mtim.tv_sec < 100 && now.tv_sec >= st.st_mtim.tv_sec)
        strcpy(m, "recent");
    else
        snprintf(m, sizeof m, "%lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    printf("%s: atime=%s mtime=%s\n", what, a, m);
    fflush(stdout);
}

static void make(const char *name, mode_t mode, const char *data)
{
    int fd = open(p(name), O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (data)
        write(fd, data, strlen(data));
    close(fd);
    chmod(p(name), mode);
}

static void test_chmod(void)
{
    make("f", 0644, "hello");
    rc("chmod 0755", chmod(p("f"), 0755));
    show("after chmod", "f", 0);
    rc("chmod 07777 keeps the type", chmod(p("f"), 0177777));
    show("after chmod 07777", "f", 0);
    symlink("f", p("lnk"));
    rc("chmod through a symlink", chmod(p("lnk"), 0600));
    show("target", "f", 0);
    show("link itself", "lnk", 1);
    int fd = open(p("f"), O_RDONLY);
    rc("fchmod", fchmod(fd, 0640));
    show("after fchmod", "f", 0);
    int pfd = open(p("f"), O_PATH);
    rc("fchmod O_PATH", fchmod(pfd, 0600));
    rc("fchmod bad fd", fchmod(999, 0600));
    rc("fchmodat dirfd", fchmodat(open(dir, O_RDONLY | O_DIRECTORY), "f", 0604, 0));
    show("after fchmodat", "f", 0);
    rc("chmod missing", chmod(p("nope"), 0600));
    rc("chmod f/x", chmod(p("f/x"), 0600));
    rc("chmod empty", chmod("", 0600));
    int fds[2];
    pipe(fds);
    rc("fchmod pipe", fchmod(fds[0], 0600));
    close(fds[0]);
    close(fds[1]);
    close(fd);
    close(pfd);
}

static void test_chown(void)
{
    make("c", 06755, NULL);
    show("before chown", "c", 0);
    rc("chown 1234:5678", chown(p("c"), 1234, 5678));
    show("chown cleared setuid+setgid", "c", 0);
    rc("chown -1 -1", chown(p("c"), -1, -1));
    show("after chown -1 -1", "c", 0);
    chmod(p("c"), 04755);
    rc("chown -1 -1 again", chown(p("c"), -1, -1));
    show("chown -1 -1 clears setuid", "c", 0);
    chmod(p("c"), 02745);
    rc("chown gid only", chown(p("c"), -1, 42));
    show("setgid without group exec stays", "c", 0);
    mkdir(p("d"), 0755);
    chmod(p("d"), 02755);
    rc("chown dir", chown(p("d"), 7, 8));
    show("dir keeps setgid", "d", 0);
    symlink("c", p("cl"));
    rc("lchown", lchown(p("cl"), 11, 12));
    show("link owner", "cl", 1);
    show("target untouched", "c", 0);
    rc("fchownat NOFOLLOW", fchownat(AT_FDCWD, p("cl"), 13, 14, AT_SYMLINK_NOFOLLOW));
    show("link owner 2", "cl", 1);
    rc("fchownat follow", fchownat(AT_FDCWD, p("cl"), 15, 16, 0));
    show("target owner", "c", 0);
    int fd = open(p("c"), O_RDONLY);
    rc("fchown", fchown(fd, 17, 18));
    show("after fchown", "c", 0);
    int pfd = open(p("c"), O_PATH);
    rc("fchown O_PATH", fchown(pfd, 1, 1));
    rc("fchownat AT_EMPTY_PATH on O_PATH fd", fchownat(pfd, "", 19, 20, AT_EMPTY_PATH));
    show("after AT_EMPTY_PATH", "c", 0);
    rc("fchownat empty without flag", fchownat(pfd, "", 1, 1, 0));
    rc("fchownat bad flags", fchownat(AT_FDCWD, p("c"), 1, 1, 0x4));
    rc("chown missing", chown(p("nope"), 1, 1));
    close(fd);
    close(pfd);
}

static void test_utimensat(void)
{
    make("t", 0644, "x");
    struct timespec ts[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
    rc("utimensat explicit", utimensat(AT_FDCWD, p("t"), ts, 0));
    show_times("explicit", "t", 0);
    struct timespec omit[2] = {{5, UTIME_OMIT}, {1300000000, 5}};
    rc("utimensat atime omitted", utimensat(AT_FDCWD, p("t"), omit, 0));
    show_times("atime omitted", "t", 0);
    struct timespec now_m[2] = {{0, 0}, {0, UTIME_NOW}};
    rc("utimensat mtime now", utimensat(AT_FDCWD, p("t"), now_m, 0));
    show_times("atime 0, mtime now", "t", 0);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    rc("utimensat bad nsec", utimensat(AT_FDCWD, p("t"), bad, 0));
    struct timespec neg[2] = {{0, -1}, {0, 0}};
    rc("utimensat negative nsec", utimensat(AT_FDCWD, p("t"), neg, 0));
    struct timespec both_omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    rc("utimensat both omitted, missing file", utimensat(AT_FDCWD, p("nope"), both_omit, 0));
    rc("utimensat both omitted, bad flags", utimensat(AT_FDCWD, p("t"), both_omit, 0x8));
    rc("utimensat bad flags", utimensat(AT_FDCWD, p("t"), ts, 0x8));
    rc("utimensat NULL times", utimensat(AT_FDCWD, p("t"), NULL, 0));
    show_times("NULL times", "t", 0);
    symlink("t", p("tl"));
    rc("utimensat NOFOLLOW", utimensat(AT_FDCWD, p("tl"), ts, AT_SYMLINK_NOFOLLOW));
    show_times("link times", "tl", 1);
    show_times("target times", "t", 0);
    int fd = open(p("t"), O_RDONLY);
    rc("futimens", futimens(fd, ts));
    show_times("futimens", "t", 0);
    rc("utimensat(fd, NULL) with flags", syscall_utimensat_fd_flags(fd));
    int pfd = open(p("t"), O_PATH);
    rc("futimens O_PATH", futimens(pfd, ts));
    rc("utimensat AT_EMPTY_PATH O_PATH", utimensat(pfd, "", omit, AT_EMPTY_PATH));
    show_times("AT_EMPTY_PATH", "t", 0);
    rc("utimensat missing", utimensat(AT_FDCWD, p("nope"), ts, 0));
    rc("futimens bad fd", futimens(999, ts));
    close(fd);
    close(pfd);
}

static void test_truncate(void)
{
    make("r", 0644, "0123456789");
    rc("truncate 4", truncate(p("r"), 4));
    show("shrunk", "r", 0);
    rc("truncate 8", truncate(p("r"), 8));
    char buf[16] = {0};
    int fd = open(p("r"), O_RDWR);
    int n = read(fd, buf, sizeof buf);
    printf("grown content: %d bytes, tail zero: %d\n", n, buf[4] == 0 && buf[7] == 0 && memcmp(buf, "0123", 4) == 0);
    rc("truncate negative", truncate(p("r"), -1));
    rc("truncate dir", truncate(dir, 0));
    rc("truncate missing", truncate(p("nope"), 0));
    symlink("r", p("rl"));
    rc("truncate through symlink", truncate(p("rl"), 2));
    show("after symlink truncate", "r", 0);
    mkfifo(p("fifo"), 0644);
    rc("truncate fifo", truncate(p("fifo"), 0));
    rc("ftruncate 100", ftruncate(fd, 100));
    show("ftruncated", "r", 0);
    rc("ftruncate negative", ftruncate(fd, -5));
    rc("ftruncate bad fd", ftruncate(999, 0));
    int ro = open(p("r"), O_RDONLY);
    rc("ftruncate read-only fd", ftruncate(ro, 0));
    int pfd = open(p("r"), O_PATH);
    rc("ftruncate O_PATH", ftruncate(pfd, 0));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    rc("ftruncate dir", ftruncate(dfd, 0));
    int fds[2];
    pipe(fds);
    rc("ftruncate pipe", ftruncate(fds[1], 0));
    ftruncate(fd, 0);
    close(fds[0]);
    close(fds[1]);
    close(fd);
    close(ro);
    close(pfd);
    close(dfd);
}

static void test_fallocate(void)
{
    make("a", 0644, "abcdefgh");
    int fd = open(p("a"), O_RDWR);
    rc("fallocate 0 extends", fallocate(fd, 0, 0, 4096));
    show("extended", "a", 0);
    rc("fallocate 0 inside", fallocate(fd, 0, 0, 10));
    show("unchanged", "a", 0);
    rc("fallocate KEEP_SIZE", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 100000));
    show("kept size", "a", 0);
    rc("fallocate PUNCH_HOLE|KEEP_SIZE", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 3));
    char buf[8];
    pread(fd, buf, 8, 0);
    printf("after punch: %c%c %d%d%d %c%c%c\n", buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6], buf[7]);
    show("punch keeps size", "a", 0);
    rc("fallocate PUNCH_HOLE alone", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 1));
    rc("fallocate unknown mode", fallocate(fd, 0x100, 0, 1));
    rc("fallocate len 0", fallocate(fd, 0, 0, 0));
    rc("fallocate negative offset", fallocate(fd, 0, -1, 1));
    rc("fallocate too far", fallocate(fd, 0, 0x7fffffffffffffffLL, 2));
    int ro = open(p("a"), O_RDONLY);
    rc("fallocate read-only fd", fallocate(ro, 0, 0, 1));
    rc("fallocate bad fd", fallocate(999, 0, 0, 1));
    int fds[2];
    pipe(fds);
    rc("fallocate pipe", fallocate(fds[1], 0, 0, 1));
    int null = open("/dev/null", O_WRONLY);
    rc("fallocate /dev/null", fallocate(null, 0, 0, 1));
    close(fds[0]);
    close(fds[1]);
    close(null);
    close(ro);
    close(fd);
}

static void test_link(void)
{
    make("l1", 0644, "data");
    struct stat a, b;
    rc("link", link(p("l1"), p("l2")));
    stat(p("l1"), &a);
    stat(p("l2"), &b);
    printf("same inode: %d nlink=%lu\n", a.st_ino == b.st_ino, (unsigned long)a.st_nlink);
    rc("link onto existing", link(p("l1"), p("l2")));
    rc("link dir", link(dir, p("dirlink")));
    rc("link missing", link(p("nope"), p("l3")));
    rc("link into missing dir", link(p("l1"), p("nodir/l3")));
    rc("link trailing slash", link(p("l1"), p("l3/")));
    symlink("l1", p("sl"));
    rc("linkat symlink itself", linkat(AT_FDCWD, p("sl"), AT_FDCWD, p("sl2"), 0));
    show("new name is a symlink", "sl2", 1);
    rc("linkat AT_SYMLINK_FOLLOW", linkat(AT_FDCWD, p("sl"), AT_FDCWD, p("l4"), AT_SYMLINK_FOLLOW));
    show("new name is the file", "l4", 1);
    rc("linkat bad flags", linkat(AT_FDCWD, p("l1"), AT_FDCWD, p("l5"), 0x1));
    int fd = open(p("l1"), O_RDONLY);
    rc("linkat AT_EMPTY_PATH (root)", linkat(fd, "", AT_FDCWD, p("l6"), AT_EMPTY_PATH));
    show("AT_EMPTY_PATH link", "l1", 0);
    int t = open(p("gone"), O_RDWR | O_CREAT, 0644);
    unlink(p("gone"));
    rc("linkat an unlinked file", linkat(t, "", AT_FDCWD, p("back"), AT_EMPTY_PATH));
    rc("link across mounts", link(p("l1"), "/dev/shm/fsattr_xdev"));
    rc("link . name", link(p("l1"), dir));
    close(fd);
    close(t);
}

static void test_sync(void)
{
    int fd = open(p("l1"), O_RDWR);
    rc("fsync", fsync(fd));
    rc("fdatasync", fdatasync(fd));
    rc("syncfs", syncfs(fd));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    rc("fsync dir", fsync(dfd));
    int fds[2];
    pipe(fds);
    rc("fsync pipe", fsync(fds[0]));
    rc("fdatasync pipe", fdatasync(fds[1]));
    rc("syncfs pipe", syncfs(fds[0]));
    int null = open("/dev/null", O_WRONLY);
    rc("fsync /dev/null", fsync(null));
    rc("fsync bad fd", fsync(999));
    int pfd = open(p("l1"), O_PATH);
    rc("fsync O_PATH", fsync(pfd));
    rc("syncfs O_PATH", syncfs(pfd));
    sync();
    printf("sync: done\n");
    close(fd);
    close(dfd);
    close(fds[0]);
    close(fds[1]);
    close(null);
    close(pfd);
}

/* The unprivileged rules, in a child running as uid 1000 (groups 100, 200). */
static void unprivileged(void)
{
    make("rootfile", 0644, "root's");
    make("rootwritable", 0666, "anyone's");
    make("mine", 0644, "x");
    chown(p("mine"), 1000, 300);                 /* ours, but a group we are not in */
    make("suid", 04755, "x");
    chown(p("suid"), 1000, 100);
    chmod(p("suid"), 06775);
    chmod(dir, 0777);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        gid_t groups[2] = {100, 200};
        if (setgroups(2, groups) || setresgid(100, 100, 100) || setresuid(1000, 1000, 1000)) {
            printf("could not drop privileges\n");
            _exit(1);
        }
        struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
        rc("user: chmod root's file", chmod(p("rootfile"), 0777));
        rc("user: chown root's file", chown(p("rootfile"), 1000, -1));
        rc("user: chown root's file -1 -1", chown(p("rootfile"), -1, -1));
        rc("user: utimensat explicit on root's writable file", utimensat(AT_FDCWD, p("rootwritable"), ts, 0));
        rc("user: utimensat NULL on root's writable file", utimensat(AT_FDCWD, p("rootwritable"), NULL, 0));
        struct timespec nows[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
        rc("user: utimensat NOW,NOW on root's writable file", utimensat(AT_FDCWD, p("rootwritable"), nows, 0));
        struct timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
        rc("user: utimensat NOW,OMIT on root's writable file", utimensat(AT_FDCWD, p("rootwritable"), now_omit, 0));
        rc("user: utimensat NULL on root's read-only file", utimensat(AT_FDCWD, p("rootfile"), NULL, 0));
        rc("user: truncate root's file", truncate(p("rootfile"), 0));
        rc("user: truncate root's writable file", truncate(p("rootwritable"), 3));
        rc("user: chmod own file g+s, not in group", chmod(p("mine"), 02755));
        show("user: setgid dropped", "mine", 0);
        rc("user: chown own file to self", chown(p("mine"), 1000, -1));
        rc("user: chown own file to another user", chown(p("mine"), 1001, -1));
        rc("user: chgrp own file to a group we are in", chown(p("mine"), -1, 200));
        show("user: group changed", "mine", 0);
        rc("user: chgrp own file to a group we are not in", chown(p("mine"), -1, 300));
        rc("user: utimensat explicit on own file", utimensat(AT_FDCWD, p("mine"), ts, 0));
        rc("user: chmod own file g+s, in group", chmod(p("mine"), 02755));
        show("user: setgid kept", "mine", 0);
        int fd = open(p("suid"), O_RDWR);
        rc("user: ftruncate set-id file", ftruncate(fd, 1));
        show("user: set-id bits cleared by truncate", "suid", 0);
        close(fd);
        rc("user: link to own file", link(p("mine"), p("mine2")));
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child status %d\n", WEXITSTATUS(status));
}

int main(void)
{
    umask(0);
    strcpy(dir, "/tmp/fsattr.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_chmod();
    test_chown();
    test_utimensat();
    test_truncate();
    test_fallocate();
    test_link();
    test_sync();
    unprivileged();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "%s", dir);
    /* remove the directory without a shell (the program must not exec) */
    const char *names[] = {"f", "lnk", "c", "cl", "t", "tl", "r", "rl", "fifo", "a", "l1", "l2", "sl", "sl2", "l4",
                           "l6", "rootfile", "rootwritable", "mine", "mine2", "suid", NULL};
    for (int i = 0; names[i]; i++)
        unlink(p(names[i]));
    rmdir(p("d"));
    printf("cleanup: %d\n", rmdir(cmd));
    return 0;
}

#include <sys/syscall.h>
int syscall_utimensat_fd_flags(int fd)
{
    return syscall(SYS_utimensat, fd, NULL, NULL, AT_SYMLINK_NOFOLLOW);
}
