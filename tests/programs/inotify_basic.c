/* inotify: argument checks, then a watcher on a directory (and on files in it) while a child
 * process creates, writes, renames, changes and deletes there; the events are printed with
 * watch descriptors and rename cookies named, not numbered. Also coalescing, IN_MASK_ADD /
 * IN_MASK_CREATE, IN_ONESHOT, IN_EXCL_UNLINK, rm_watch's IN_IGNORED, FIONREAD, a too-small
 * read buffer, poll, a blocking read woken by another process, and IN_Q_OVERFLOW.
 * argv[1]: the directory to work in (made and removed; default /tmp/inotify_basic);
 * argv[2], argv[3] [, argv[4]]: first mount the ext4 image or device argv[2] on argv[3] (with
 * argv[4] as the mount data: moss-py's "loop"), and unmount it at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

static char dir[256];
static int wds[8];
static const char *wd_names[8];
static int nwds;
static unsigned cookies[16];
static int ncookies;

static char *at(const char *name)
{
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static void name_wd(int wd, const char *name)
{
    wds[nwds] = wd;
    wd_names[nwds++] = name;
}

static const char *wd_name(int wd)
{
    for (int i = nwds - 1; i >= 0; i--)
        if (wds[i] == wd)
            return wd_names[i];
    return wd == -1 ? "-1" : "?";
}

static void print_mask(unsigned m)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"}, {IN_CLOSE_WRITE, "CLOSE_WRITE"},
        {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"},
        {IN_MOVED_TO, "MOVED_TO"}, {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"},
        {IN_MOVE_SELF, "MOVE_SELF"}, {IN_UNMOUNT, "UNMOUNT"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"},
        {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"}};
    const char *sep = "";
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (m & names[i].bit) {
            printf("%s%s", sep, names[i].name);
            sep = "|";
            m &= ~names[i].bit;
        }
    if (m)
        printf("%s%#x", sep, m);
}

static const char *cookie_name(unsigned c)
{
    static char buf[16];
    if (!c)
        return "0";
    int i;
    for (i = 0; i < ncookies && cookies[i] != c; i++)
        ;
    if (i == ncookies && ncookies < 16)
        cookies[ncookies++] = c;
    snprintf(buf, sizeof buf, "c%d", i + 1);
    return buf;
}

/* Print every queued event (the queue is read without blocking). */
static int drain(int fd, const char *label)
{
    char buf[65536] __attribute__((aligned(8)));
    int count = 0;
    printf("-- %s\n", label);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno != EAGAIN)
                printf("read: %s\n", strerrorname_np(errno));
            break;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            printf("  %s ", wd_name(e->wd));
            print_mask(e->mask);
            printf(" cookie %s", cookie_name(e->cookie));
            if (e->len)
                printf(" name '%s' len %u", e->name, e->len);
            printf("\n");
            p += sizeof *e + e->len;
            count++;
        }
    }
    return count;
}

static void child_changes(void)
{
    int fd = open(at("a"), O_CREAT | O_WRONLY, 0644);
    write(fd, "12345", 5);
    write(fd, "67890", 5);                  /* coalesced with the first */
    close(fd);
    mkdir(at("sub"), 0755);
    rename(at("a"), at("sub/b"));
    chmod(at("sub/b"), 0600);
    rename(at("sub/b"), at("b"));
    fd = open(at("b"), O_RDONLY);
    char buf[16];
    read(fd, buf, sizeof buf);
    close(fd);
    truncate(at("b"), 2);
    link(at("b"), at("c"));
    unlink(at("b"));
    unlink(at("c"));
    rmdir(at("sub"));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(dir, sizeof dir, "%s", argc > 1 ? argv[1] : "/tmp/inotify_basic");
    if (argc > 3) {
        mkdir(argv[3], 0755);
        if (mount(argv[2], argv[3], "ext4", 0, argc > 4 ? argv[4] : NULL) < 0) {
            printf("mount: %s\n", strerrorname_np(errno));
            return 1;
        }
    }
    mkdir(dir, 0755);

    printf("init1 bad flags: %s\n", err(inotify_init1(1)));
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    printf("init1: %s cloexec %d nonblock %d\n", err(in), fcntl(in, F_GETFD), !!(fcntl(in, F_GETFL) & O_NONBLOCK));
    char link[64], target[64] = {0};
    snprintf(link, sizeof link, "/proc/self/fd/%d", in);
    readlink(link, target, sizeof target - 1);
    printf("fd link: %s\n", target);
    printf("mask 0: %s\n", err(inotify_add_watch(in, dir, 0)));
    printf("MASK_ADD|MASK_CREATE: %s\n", err(inotify_add_watch(in, dir, IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE)));
    printf("bad fd: %s\n", err(inotify_add_watch(99, dir, IN_MODIFY)));
    printf("not inotify: %s\n", err(inotify_add_watch(1, dir, IN_MODIFY)));
    printf("missing path: %s\n", err(inotify_add_watch(in, at("nope"), IN_MODIFY)));
    close(open(at("file"), O_CREAT | O_WRONLY, 0644));
    printf("ONLYDIR on a file: %s\n", err(inotify_add_watch(in, at("file"), IN_MODIFY | IN_ONLYDIR)));
    printf("rm_watch 7: %s\n", err(inotify_rm_watch(in, 7)));
    printf("rm_watch on a non-inotify fd: %s\n", err(inotify_rm_watch(1, 1)));
    printf("read with nothing queued: %s\n", err(read(in, target, sizeof target)));
    unlink(at("file"));

    /* the watcher and the child */
    int wd_dir = inotify_add_watch(in, dir, IN_ALL_EVENTS);
    printf("watch dir: %s first wd %d\n", err(wd_dir), wd_dir);
    name_wd(wd_dir, "dir");
    struct pollfd pfd = {in, POLLIN, 0};
    printf("poll empty: %d revents %#x\n", poll(&pfd, 1, 0), pfd.revents);
    pid_t pid = fork();
    if (pid == 0) {
        child_changes();
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("poll after: %d revents %#x\n", poll(&pfd, 1, 0), pfd.revents);
    int queued = 0;
    printf("FIONREAD: %s", err(ioctl(in, FIONREAD, &queued)));
    printf(" %s\n", queued > 0 ? "bytes queued" : "nothing");
    char small[16];
    printf("read into 16 bytes (first event has a name): %s\n", err(read(in, small, sizeof small)));
    drain(in, "child's changes");

    /* a file's own watch: modify, attrib, move_self, delete_self, ignored */
    int fd = open(at("self"), O_CREAT | O_RDWR, 0644);
    int wd_self = inotify_add_watch(in, at("self"), IN_ALL_EVENTS);
    name_wd(wd_self, "self");
    printf("same inode again: %s\n", inotify_add_watch(in, at("self"), IN_MODIFY) == wd_self ? "same wd" : "other wd");
    printf("MASK_CREATE on it: %s\n", err(inotify_add_watch(in, at("self"), IN_MODIFY | IN_MASK_CREATE)));
    printf("MASK_ADD: %s\n", inotify_add_watch(in, at("self"), IN_ALL_EVENTS | IN_MASK_ADD) == wd_self ? "same wd" : "?");
    write(fd, "x", 1);
    rename(at("self"), at("self2"));
    unlink(at("self2"));
    drain(in, "unlinked while open");
    close(fd);
    drain(in, "last close");

    /* IN_ONESHOT and rm_watch */
    close(open(at("once"), O_CREAT | O_WRONLY, 0644));
    int wd_once = inotify_add_watch(in, at("once"), IN_OPEN | IN_ONESHOT);
    name_wd(wd_once, "once");
    close(open(at("once"), O_RDONLY));
    close(open(at("once"), O_RDONLY));
    drain(in, "oneshot");
    printf("rm_watch of the oneshot's wd: %s\n", err(inotify_rm_watch(in, wd_once)));
    int wd_rm = inotify_add_watch(in, at("once"), IN_OPEN);
    name_wd(wd_rm, "rm");
    printf("new wd is above the old: %s\n", wd_rm > wd_once ? "yes" : "no");
    printf("rm_watch: %s\n", err(inotify_rm_watch(in, wd_rm)));
    printf("rm_watch again: %s\n", err(inotify_rm_watch(in, wd_rm)));
    unlink(at("once"));
    drain(in, "rm_watch");

    /* IN_EXCL_UNLINK: no events for a child after it was unlinked */
    int wd_excl = inotify_add_watch(in, dir, IN_MODIFY | IN_DELETE | IN_EXCL_UNLINK);
    printf("re-watch dir: %s\n", wd_excl == wd_dir ? "same wd" : "other wd");
    fd = open(at("gone"), O_CREAT | O_RDWR, 0644);
    write(fd, "1", 1);
    unlink(at("gone"));
    write(fd, "2", 1);
    close(fd);
    drain(in, "excl_unlink");

    /* IN_DONT_FOLLOW watches the symlink itself, without it the target */
    close(open(at("tgt"), O_CREAT | O_WRONLY, 0644));
    symlink("tgt", at("lnk"));
    int wd_lnk = inotify_add_watch(in, at("lnk"), IN_ATTRIB | IN_DONT_FOLLOW);
    int wd_tgt = inotify_add_watch(in, at("lnk"), IN_ATTRIB);
    name_wd(wd_lnk, "lnk");
    name_wd(wd_tgt, "tgt");
    printf("DONT_FOLLOW: %s\n", wd_lnk != wd_tgt && wd_lnk > 0 && wd_tgt > 0 ? "two watches" : "one watch");
    printf("ONLYDIR on a directory: %s\n", err(inotify_add_watch(in, dir, IN_DELETE | IN_ONLYDIR | IN_MASK_ADD)));
    chmod(at("tgt"), 0600);
    unlink(at("lnk"));
    unlink(at("tgt"));
    drain(in, "dont_follow");

    /* a blocking read woken by another process */
    int blocking = inotify_init1(0);
    int wd_b = inotify_add_watch(blocking, dir, IN_CREATE);
    pid = fork();
    if (pid == 0) {
        msleep(200);
        close(open(at("wake"), O_CREAT | O_WRONLY, 0644));
        _exit(0);
    }
    char buf[256] __attribute__((aligned(8)));
    ssize_t n = read(blocking, buf, sizeof buf);
    struct inotify_event *e = (struct inotify_event *)buf;
    printf("blocking read: %zd wd %s mask %#x name %s\n", n, e->wd == wd_b ? "b" : "?", e->mask, e->name);
    waitpid(pid, NULL, 0);
    unlink(at("wake"));
    close(blocking);

    /* overflow: 16384 queued, then one IN_Q_OVERFLOW */
    int over = inotify_init1(IN_NONBLOCK);
    fd = open(at("many"), O_CREAT | O_RDWR, 0644);
    inotify_add_watch(over, at("many"), IN_MODIFY | IN_ACCESS);
    for (int i = 0; i < 8300; i++) {
        pwrite(fd, "x", 1, 0);
        pread(fd, buf, 1, 0);
    }
    int total = 0, overflows = 0, last_overflow = 0;
    for (;;) {
        n = read(over, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n; p += sizeof(struct inotify_event) + ((struct inotify_event *)p)->len) {
            e = (struct inotify_event *)p;
            total++;
            if (e->mask & IN_Q_OVERFLOW) {
                overflows++;
                last_overflow = total;
                printf("overflow event: wd %d mask %#x\n", e->wd, e->mask);
            }
        }
    }
    printf("overflow: %d events, %d overflow, at %d\n", total, overflows, last_overflow);
    close(fd);
    unlink(at("many"));
    close(over);
    close(in);
    rmdir(dir);
    if (argc > 3) {
        int um = inotify_init1(IN_NONBLOCK);
        nwds = 0;
        name_wd(inotify_add_watch(um, argv[3], IN_CREATE), "mnt");
        printf("umount: %s\n", err(umount(argv[3])));
        drain(um, "after umount");
        close(um);
    }
    printf("done\n");
    return 0;
}
