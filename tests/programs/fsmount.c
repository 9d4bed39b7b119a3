/* The file-descriptor mount API: fsopen, fsconfig (flags, strings, fds, create, reconfigure,
 * the argument shapes and the phases), fsmount (a detached tmpfs, its attributes), move_mount
 * (attaching a detached tree, moving an attached mount), open_tree (O_PATH, a clone, a
 * recursive clone, a clone of a subdirectory), fspick (ro and back), mount_setattr (set and
 * clear, atime, AT_RECURSIVE, idmap refusals), each errno in Linux's order.
 * Needs root; works under /tmp/fm and unmounts and removes all it made. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

#define D "/tmp/fm"

static long fsopen_(const char *name, unsigned flags) { return syscall(SYS_fsopen, name, flags); }
static long fsconfig_(int fd, unsigned cmd, const char *key, const void *value, int aux)
{
    return syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}
static long fsmount_(int fd, unsigned flags, unsigned attr) { return syscall(SYS_fsmount, fd, flags, attr); }
static long move_mount_(int fd, const char *p, int tfd, const char *tp, unsigned flags)
{
    return syscall(SYS_move_mount, fd, p, tfd, tp, flags);
}
static long open_tree_(int fd, const char *p, unsigned flags) { return syscall(SYS_open_tree, fd, p, flags); }
static long fspick_(int fd, const char *p, unsigned flags) { return syscall(SYS_fspick, fd, p, flags); }
static long setattr_(int fd, const char *p, unsigned flags, struct mount_attr *a, size_t size)
{
    return syscall(SYS_mount_setattr, fd, p, flags, a, size);
}

static void flags_of(const char *what, const char *path)
{
    struct statfs s;
    if (statfs(path, &s) < 0)
        printf("%s: statfs %s\n", what, strerrorname_np(errno));
    else
        printf("%s: type=%#lx flags=%#lx\n", what, (long)s.f_type, (long)s.f_flags);
    fflush(stdout);
}

static void mounts_line(const char *what, const char *dir)
{
    FILE *f = fopen("/proc/mounts", "r");
    char src[256], mp[256], type[64], opts[512];
    int found = 0;
    while (f && fscanf(f, "%255s %255s %63s %511s %*d %*d", src, mp, type, opts) == 4) {
        if (strcmp(mp, dir) == 0) {
            strtok(opts, ",");
            printf("%s: %s %s %s %s\n", what, src, mp, type, opts);
            found++;
        }
    }
    if (!found)
        printf("%s: not in /proc/mounts\n", what);
    if (f)
        fclose(f);
    fflush(stdout);
}

static void ls(const char *what, const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    printf("%s:", what);
    if (n < 0)
        printf(" %s", strerrorname_np(errno));
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
            printf(" %s", names[i]->d_name);
        free(names[i]);
    }
    printf("\n");
    fflush(stdout);
}

static void touch(const char *what, int dirfd, const char *path)
{
    int fd = openat(dirfd, path, O_WRONLY | O_CREAT, 0644);
    rc(what, fd < 0 ? -1 : 0);
    if (fd >= 0)
        close(fd);
}

static void link_of(const char *what, int fd)
{
    char p[64], t[256];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, t, sizeof t - 1);
    t[n < 0 ? 0 : n] = 0;
    printf("%s: %s F_GETFD=%d\n", what, t, fcntl(fd, F_GETFD));
    fflush(stdout);
}

static void unprivileged(void)
{
    pid_t p = fork();
    if (p == 0) {
        setuid(65534);
        rc("unprivileged fsopen", fsopen_("tmpfs", 0));
        rc("unprivileged fspick", fspick_(AT_FDCWD, "/", 0));
        rc("unprivileged fsmount", fsmount_(0, 0, 0));
        rc("unprivileged move_mount", move_mount_(AT_FDCWD, "/nonexistent", AT_FDCWD, "/", 0));
        long t = open_tree_(AT_FDCWD, "/tmp", 0);
        rc("unprivileged open_tree", t < 0 ? t : 0);
        rc("unprivileged open_tree clone", open_tree_(AT_FDCWD, "/tmp", OPEN_TREE_CLONE));
        struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
        rc("unprivileged mount_setattr", setattr_(AT_FDCWD, "/tmp", 0, &a, sizeof a));
        _exit(0);
    }
    waitpid(p, NULL, 0);
}

static int fs_fd;

static void contexts(void)
{
    int pipefd[2];
    pipe(pipefd);
    rc("fsopen bad flag", fsopen_("tmpfs", 2));
    rc("fsopen unknown type", fsopen_("nosuchfs", 0));
    rc("fsopen bad pointer", fsopen_((char *)8, 0));
    fs_fd = fsopen_("tmpfs", FSOPEN_CLOEXEC);
    rc("fsopen tmpfs", fs_fd < 0 ? -1 : 0);
    link_of("fs fd", fs_fd);
    rc("fsconfig fd -1", fsconfig_(-1, FSCONFIG_SET_FLAG, "ro", NULL, 0));
    rc("fsconfig cmd 99", fsconfig_(fs_fd, 99, "ro", NULL, 0));
    rc("fsconfig cmd 99 bad fd", fsconfig_(999, 99, NULL, NULL, 0));
    rc("SET_FLAG with a value", fsconfig_(fs_fd, FSCONFIG_SET_FLAG, "ro", "x", 0));
    rc("SET_FLAG without a key", fsconfig_(fs_fd, FSCONFIG_SET_FLAG, NULL, NULL, 0));
    rc("SET_STRING without a value", fsconfig_(fs_fd, FSCONFIG_SET_STRING, "size", NULL, 0));
    rc("SET_STRING with aux", fsconfig_(fs_fd, FSCONFIG_SET_STRING, "size", "1m", 1));
    rc("CMD_CREATE with a key", fsconfig_(fs_fd, FSCONFIG_CMD_CREATE, "size", NULL, 0));
    rc("SET_BINARY aux 0", fsconfig_(fs_fd, FSCONFIG_SET_BINARY, "size", "1m", 0));
    rc("SET_FD with a value", fsconfig_(fs_fd, FSCONFIG_SET_FD, "size", "x", 3));
    rc("SET_PATH aux -5", fsconfig_(fs_fd, FSCONFIG_SET_PATH, "size", "/", -5));
    rc("fsconfig on a pipe", fsconfig_(pipefd[0], FSCONFIG_SET_FLAG, "ro", NULL, 0));
    rc("fsconfig on a bad fd", fsconfig_(999, FSCONFIG_SET_FLAG, "ro", NULL, 0));
    rc("fsconfig bad key pointer", fsconfig_(fs_fd, FSCONFIG_SET_FLAG, (char *)8, NULL, 0));
    rc("size=abc", fsconfig_(fs_fd, FSCONFIG_SET_STRING, "size", "abc", 0));
    rc("bogus=1", fsconfig_(fs_fd, FSCONFIG_SET_STRING, "bogus", "1", 0));
    rc("flag bogus", fsconfig_(fs_fd, FSCONFIG_SET_FLAG, "bogus", NULL, 0));
    rc("SET_FD bad fd", fsconfig_(fs_fd, FSCONFIG_SET_FD, "size", NULL, 999));
    rc("SET_FD size", fsconfig_(fs_fd, FSCONFIG_SET_FD, "size", NULL, pipefd[0]));
    rc("SET_BINARY size", fsconfig_(fs_fd, FSCONFIG_SET_BINARY, "size", "1m", 2));
    rc("SET_PATH sync", fsconfig_(fs_fd, FSCONFIG_SET_PATH, "sync", "/tmp", AT_FDCWD));
    rc("SET_PATH_EMPTY sync \"\"", fsconfig_(fs_fd, FSCONFIG_SET_PATH_EMPTY, "sync", "", AT_FDCWD));
    rc("SET_PATH sync \"\"", fsconfig_(fs_fd, FSCONFIG_SET_PATH, "sync", "", AT_FDCWD));
    rc("SET_FD sync", fsconfig_(fs_fd, FSCONFIG_SET_FD, "sync", NULL, 0));
    rc("SET_BINARY sync", fsconfig_(fs_fd, FSCONFIG_SET_BINARY, "sync", "ab", 2));
    rc("SET_BINARY bad pointer", fsconfig_(fs_fd, FSCONFIG_SET_BINARY, "sync", (char *)8, 2));
    rc("SET_PATH source", fsconfig_(fs_fd, FSCONFIG_SET_PATH, "source", "/tmp", AT_FDCWD));
    rc("SET_PATH bogus", fsconfig_(fs_fd, FSCONFIG_SET_PATH, "bogus", "/tmp", AT_FDCWD));
    rc("SET_FLAG async", fsconfig_(fs_fd, FSCONFIG_SET_FLAG, "async", NULL, 0));
    rc("size=1m", fsconfig_(fs_fd, FSCONFIG_SET_STRING, "size", "1m", 0));
    rc("mode=0750", fsconfig_(fs_fd, FSCONFIG_SET_STRING, "mode", "0750", 0));
    rc("source=mysrc", fsconfig_(fs_fd, FSCONFIG_SET_STRING, "source", "mysrc", 0));
    rc("source again", fsconfig_(fs_fd, FSCONFIG_SET_STRING, "source", "other", 0));
    rc("flag rw", fsconfig_(fs_fd, FSCONFIG_SET_FLAG, "rw", NULL, 0));
    rc("fsmount before create", fsmount_(fs_fd, 0, 0));
    rc("CMD_CREATE", fsconfig_(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    rc("CMD_CREATE again", fsconfig_(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    rc("size after create", fsconfig_(fs_fd, FSCONFIG_SET_STRING, "size", "2m", 0));
    rc("RECONFIGURE before fsmount", fsconfig_(fs_fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    rc("fsmount bad flags", fsmount_(fs_fd, 2, 0));
    rc("fsmount atime 0x40", fsmount_(fs_fd, 0, 0x40));
    rc("fsmount attr 0x1000", fsmount_(fs_fd, 0, 0x1000));
    rc("fsmount idmap", fsmount_(fs_fd, 0, MOUNT_ATTR_IDMAP));
    rc("fsmount a pipe", fsmount_(pipefd[0], 0, 0));
    rc("fsmount a bad fd", fsmount_(999, 0, 0));
    close(pipefd[0]);
    close(pipefd[1]);
}

static void mounting(void)
{
    int mfd = fsmount_(fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
    rc("fsmount", mfd < 0 ? -1 : 0);
    printf("fsmount F_GETFL %#x F_GETFD %d\n", fcntl(mfd, F_GETFL), fcntl(mfd, F_GETFD));
    rc("fsmount again", fsmount_(fs_fd, 0, 0));
    touch("create in the detached mount", mfd, "hello");
    mkdirat(mfd, "sub", 0755);
    mkdirat(mfd, "dir2", 0755);
    touch("create in dir2", mfd, "dir2/in_dir2");
    struct statfs s;
    fstatfs(mfd, &s);
    printf("detached: flags=%#lx\n", (long)s.f_flags);
    struct stat st;
    fstat(mfd, &st);
    printf("detached root mode %o\n", st.st_mode & 07777);
    mkdir(D "/a", 0755);
    mkdir(D "/b", 0755);
    int f = open(D "/file", O_WRONLY | O_CREAT, 0644);
    close(f);
    rc("move_mount \"\" without F_EMPTY_PATH", move_mount_(mfd, "", AT_FDCWD, D "/a", 0));
    rc("move_mount bad flags", move_mount_(mfd, "", AT_FDCWD, D "/a", 0x200));
    rc("move_mount dir onto a file", move_mount_(mfd, "", AT_FDCWD, D "/file", MOVE_MOUNT_F_EMPTY_PATH));
    rc("move_mount SET_GROUP", move_mount_(mfd, "", AT_FDCWD, D "/a", MOVE_MOUNT_SET_GROUP | MOVE_MOUNT_F_EMPTY_PATH));
    rc("move_mount a detached subdir", move_mount_(mfd, "sub", AT_FDCWD, D "/a", 0));
    rc("move_mount attach", move_mount_(mfd, "", AT_FDCWD, D "/a", MOVE_MOUNT_F_EMPTY_PATH));
    ls(D "/a", D "/a");
    mounts_line("mounts a", D "/a");
    flags_of("a", D "/a");
    rc("move_mount attached to b", move_mount_(mfd, "", AT_FDCWD, D "/b", MOVE_MOUNT_F_EMPTY_PATH));
    ls(D "/a after", D "/a");
    ls(D "/b", D "/b");
    rc("move_mount below itself", move_mount_(AT_FDCWD, D "/b", AT_FDCWD, D "/b/sub", 0));
    rc("move_mount a non-mount-root", move_mount_(AT_FDCWD, D "/b/sub", AT_FDCWD, D "/a", 0));
    rc("move_mount by path back to a", move_mount_(AT_FDCWD, D "/b", AT_FDCWD, D "/a", 0));
    rc("move_mount by path to b", move_mount_(AT_FDCWD, D "/a", AT_FDCWD, D "/b", 0));
    mounts_line("mounts b", D "/b");
    close(mfd);
    /* the fs fd after fsmount takes reconfiguration */
    rc("fs fd: flag ro", fsconfig_(fs_fd, FSCONFIG_SET_FLAG, "ro", NULL, 0));
    rc("fs fd: CMD_CREATE", fsconfig_(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    rc("fs fd: RECONFIGURE", fsconfig_(fs_fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    flags_of("b after fs fd ro", D "/b");
    close(fs_fd);
}

static void picking(void)
{
    rc("fspick bad flags", fspick_(AT_FDCWD, D "/b", 0x10));
    rc("fspick a non-mount-root", fspick_(AT_FDCWD, D "/b/sub", 0));
    rc("fspick missing", fspick_(AT_FDCWD, D "/nonexistent", 0));
    int p = fspick_(AT_FDCWD, D "/b", FSPICK_CLOEXEC);
    rc("fspick", p < 0 ? -1 : 0);
    link_of("fspick fd", p);
    rc("fspick: CMD_CREATE", fsconfig_(p, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    rc("fspick: fsmount", fsmount_(p, 0, 0));
    rc("fspick: rw", fsconfig_(p, FSCONFIG_SET_FLAG, "rw", NULL, 0));
    rc("fspick: RECONFIGURE", fsconfig_(p, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    flags_of("b rw", D "/b");
    touch("create in b", AT_FDCWD, D "/b/new");
    rc("fspick: ro", fsconfig_(p, FSCONFIG_SET_FLAG, "ro", NULL, 0));
    rc("fspick: RECONFIGURE ro", fsconfig_(p, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    flags_of("b ro", D "/b");
    touch("create in ro b", AT_FDCWD, D "/b/new2");
    rc("fspick: rw again", fsconfig_(p, FSCONFIG_SET_FLAG, "rw", NULL, 0));
    rc("fspick: RECONFIGURE rw", fsconfig_(p, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0));
    touch("create in b again", AT_FDCWD, D "/b/new3");
    close(p);
}

static void trees(void)
{
    rc("open_tree AT_RECURSIVE alone", open_tree_(AT_FDCWD, D "/b", AT_RECURSIVE));
    rc("open_tree bad flag", open_tree_(AT_FDCWD, D "/b", 2));
    rc("open_tree missing", open_tree_(AT_FDCWD, D "/nonexistent", 0));
    int t = open_tree_(AT_FDCWD, D "/b", 0);
    rc("open_tree", t < 0 ? -1 : 0);
    printf("open_tree F_GETFL %#x\n", fcntl(t, F_GETFL));
    close(t);
    rc("mount b/sub", mount("none", D "/b/sub", "tmpfs", 0, NULL));
    touch("create in b/sub", AT_FDCWD, D "/b/sub/insub");
    int c = open_tree_(AT_FDCWD, D "/b", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    rc("open_tree clone", c < 0 ? -1 : 0);
    printf("clone F_GETFD %d\n", fcntl(c, F_GETFD));
    int cc = open_tree_(c, "", OPEN_TREE_CLONE | AT_EMPTY_PATH);
    rc("clone of a detached clone", cc);
    mkdir(D "/c", 0755);
    rc("attach clone", move_mount_(c, "", AT_FDCWD, D "/c", MOVE_MOUNT_F_EMPTY_PATH));
    ls(D "/c", D "/c");
    ls(D "/c/sub (no submount)", D "/c/sub");
    close(c);
    int r = open_tree_(AT_FDCWD, D "/b", OPEN_TREE_CLONE | AT_RECURSIVE);
    rc("open_tree recursive clone", r < 0 ? -1 : 0);
    rc("move_mount a submount of a detached tree", move_mount_(r, "sub", AT_FDCWD, D "/a", 0));
    mkdir(D "/d", 0755);
    rc("attach recursive clone", move_mount_(r, "", AT_FDCWD, D "/d", MOVE_MOUNT_F_EMPTY_PATH));
    ls(D "/d/sub", D "/d/sub");
    close(r);
    int s = open_tree_(AT_FDCWD, D "/b/dir2", OPEN_TREE_CLONE);
    mkdir(D "/e", 0755);
    rc("attach a clone of a subdirectory", move_mount_(s, "", AT_FDCWD, D "/e", MOVE_MOUNT_F_EMPTY_PATH));
    ls(D "/e", D "/e");
    mounts_line("mounts e", D "/e");
    close(s);
    touch("write through the clone", AT_FDCWD, D "/e/via_e");
    ls(D "/b/dir2", D "/b/dir2");
}

static void setattr(void)
{
    struct mount_attr a = {0};
    struct { struct mount_attr a; char extra[8]; } big = {0};
    rc("setattr size 0", setattr_(AT_FDCWD, D "/b", 0, &a, 0));
    rc("setattr size 4097", setattr_(AT_FDCWD, D "/b", 0, &a, 4097));
    rc("setattr bad flag", setattr_(AT_FDCWD, D "/b", 1, &a, sizeof a));
    rc("setattr nothing on a missing path", setattr_(AT_FDCWD, D "/nonexistent", 0, &a, sizeof a));
    big.extra[3] = 1;
    big.a.attr_set = MOUNT_ATTR_RDONLY;
    rc("setattr non-zero tail", setattr_(AT_FDCWD, D "/b", 0, &big.a, sizeof big));
    rc("setattr bad pointer", setattr_(AT_FDCWD, D "/b", 0, (void *)8, sizeof a));
    a = (struct mount_attr){.attr_set = 1ULL << 40};
    rc("attr_set bit 40", setattr_(AT_FDCWD, D "/b", 0, &a, sizeof a));
    a = (struct mount_attr){.attr_set = 0x400};
    rc("attr_set 0x400", setattr_(AT_FDCWD, D "/b", 0, &a, sizeof a));
    a = (struct mount_attr){.attr_set = MOUNT_ATTR_NOATIME};
    rc("NOATIME without clearing _ATIME", setattr_(AT_FDCWD, D "/b", 0, &a, sizeof a));
    a = (struct mount_attr){.attr_clr = MOUNT_ATTR_NOATIME};
    rc("clear part of _ATIME", setattr_(AT_FDCWD, D "/b", 0, &a, sizeof a));
    a = (struct mount_attr){.propagation = 3};
    rc("propagation 3", setattr_(AT_FDCWD, D "/b", 0, &a, sizeof a));
    a = (struct mount_attr){.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = 999};
    rc("idmap bad fd", setattr_(AT_FDCWD, D "/b", 0, &a, sizeof a));
    a = (struct mount_attr){.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = 0};
    rc("idmap not a userns", setattr_(AT_FDCWD, D "/b", 0, &a, sizeof a));
    a = (struct mount_attr){.attr_clr = MOUNT_ATTR_IDMAP};
    rc("clear idmap", setattr_(AT_FDCWD, D "/b", 0, &a, sizeof a));
    a = (struct mount_attr){.attr_set = MOUNT_ATTR_RDONLY};
    rc("setattr a non-mount-root", setattr_(AT_FDCWD, D "/b/dir2", 0, &a, sizeof a));
    rc("setattr missing", setattr_(AT_FDCWD, D "/nonexistent", 0, &a, sizeof a));
    a = (struct mount_attr){.attr_set = MOUNT_ATTR_NOSUID};     /* and back: the oracle is shared */
    rc("setattr the namespace root nosuid", setattr_(AT_FDCWD, "/", 0, &a, sizeof a));
    struct statfs rs;
    statfs("/", &rs);
    printf("/ nosuid: %d\n", !!(rs.f_flags & 2 /* ST_NOSUID */));
    a = (struct mount_attr){.attr_clr = MOUNT_ATTR_NOSUID};
    rc("setattr the namespace root back", setattr_(AT_FDCWD, "/", 0, &a, sizeof a));
    a = (struct mount_attr){.attr_set = MOUNT_ATTR_RDONLY};
    rc("setattr ro", setattr_(AT_FDCWD, D "/b", 0, &a, sizeof a));
    flags_of("b", D "/b");
    flags_of("b/sub", D "/b/sub");
    touch("create in ro b", AT_FDCWD, D "/b/x");
    a = (struct mount_attr){.attr_clr = MOUNT_ATTR_RDONLY};
    rc("setattr clear ro", setattr_(AT_FDCWD, D "/b", 0, &a, sizeof a));
    touch("create in b", AT_FDCWD, D "/b/x");
    a = (struct mount_attr){.attr_set = MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOATIME,
                            .attr_clr = MOUNT_ATTR__ATIME};
    rc("setattr noexec nodev noatime", setattr_(AT_FDCWD, D "/b", 0, &a, sizeof a));
    flags_of("b", D "/b");
    a = (struct mount_attr){.attr_set = MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW,
                            .attr_clr = MOUNT_ATTR__ATIME | MOUNT_ATTR_NOEXEC};
    rc("setattr strictatime nodiratime nosymfollow", setattr_(AT_FDCWD, D "/b", 0, &a, sizeof a));
    flags_of("b", D "/b");
    a = (struct mount_attr){.attr_set = MOUNT_ATTR_RDONLY, .propagation = MS_PRIVATE};
    rc("setattr recursive ro", setattr_(AT_FDCWD, D "/b", AT_RECURSIVE, &a, sizeof a));
    flags_of("b", D "/b");
    flags_of("b/sub", D "/b/sub");
    a = (struct mount_attr){.attr_clr = MOUNT_ATTR_RDONLY};
    rc("setattr recursive clear ro", setattr_(AT_FDCWD, D "/b", AT_RECURSIVE, &a, sizeof a));
    flags_of("b/sub", D "/b/sub");
    int c = open_tree_(AT_FDCWD, D "/b", OPEN_TREE_CLONE);
    a = (struct mount_attr){.attr_set = MOUNT_ATTR_RDONLY};
    rc("setattr a detached clone", setattr_(c, "", AT_EMPTY_PATH, &a, sizeof a));
    struct statfs s;
    fstatfs(c, &s);
    printf("clone flags=%#lx\n", (long)s.f_flags);
    close(c);
    flags_of("b after the clone's", D "/b");
}

/* Other types through the same calls: each created, mounted at D/t, its statfs type, gone. */
static void other_types(void)
{
    static const char *types[] = {"proc", "sysfs", "ramfs", "mqueue"};
    mkdir(D "/t", 0755);
    for (unsigned i = 0; i < sizeof types / sizeof *types; i++) {
        char what[64];
        int fd = fsopen_(types[i], 0);
        snprintf(what, sizeof what, "%s: bogus key", types[i]);
        rc(what, fsconfig_(fd, FSCONFIG_SET_STRING, "bogus", "1", 0));
        snprintf(what, sizeof what, "%s: SET_FD bogus", types[i]);
        rc(what, fsconfig_(fd, FSCONFIG_SET_FD, "bogus", NULL, 0));
        if (strcmp(types[i], "proc") == 0)
            rc("proc: hidepid=0", fsconfig_(fd, FSCONFIG_SET_STRING, "hidepid", "0", 0));
        snprintf(what, sizeof what, "%s: create", types[i]);
        rc(what, fsconfig_(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
        int m = fsmount_(fd, 0, MOUNT_ATTR_NOEXEC);
        snprintf(what, sizeof what, "%s: attach", types[i]);
        rc(what, move_mount_(m, "", AT_FDCWD, D "/t", MOVE_MOUNT_F_EMPTY_PATH));
        flags_of(types[i], D "/t");
        snprintf(what, sizeof what, "%s: umount while its fd is open", types[i]);
        rc(what, umount(D "/t"));
        close(m);
        close(fd);
        snprintf(what, sizeof what, "%s: umount", types[i]);
        rc(what, umount(D "/t"));
    }
    rmdir(D "/t");
}

int main(void)
{
    mkdir(D, 0755);
    unprivileged();
    contexts();
    mounting();
    picking();
    trees();
    setattr();
    other_types();
    const char *gone[] = {D "/e", D "/d", D "/c", D "/b/sub", D "/b"};
    for (unsigned i = 0; i < sizeof gone / sizeof *gone; i++)
        umount2(gone[i], MNT_DETACH);
    system("rm -rf " D);
    return 0;
}
