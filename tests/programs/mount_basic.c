/* mount(2), umount2(2), statfs(2), fstatfs(2): tmpfs with options, remount ro/rw, bind mounts and
 * bind remounts, MS_MOVE, propagation flags, proc and devtmpfs, the EBUSY/EINVAL/EPERM/ENODEV/...
 * rules, /proc/mounts, and statfs figures that do not depend on the machine.
 * Needs root (run in moss-py and in Linux booted in QEMU); works under /tmp/mnt_test. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

#define D "/tmp/mnt_test"

/* statfs figures; the block and inode counts only where they do not depend on the machine
 * (a tmpfs without size= gets half of the RAM, the rootfs holds whatever the image holds). */
static void fs_(const char *what, const char *path, int counts)
{
    struct statfs s;
    if (statfs(path, &s) < 0) {
        printf("%s: statfs -1 %s\n", what, strerrorname_np(errno));
        return;
    }
    printf("%s: type=%#lx bsize=%ld namelen=%ld frsize=%ld flags=%#lx", what, (long)s.f_type, (long)s.f_bsize,
           (long)s.f_namelen, (long)s.f_frsize, (long)s.f_flags);
    if (counts)
        printf(" blocks=%ld bfree=%ld bavail=%ld inodes_used=%ld\n", (long)s.f_blocks, (long)s.f_bfree,
               (long)s.f_bavail, (long)(s.f_files - s.f_ffree));
    else
        printf(" has blocks=%d bavail<=blocks=%d\n", s.f_blocks > 0, s.f_bavail <= s.f_blocks);
    fflush(stdout);
}
#define fs(what, path) fs_(what, path, 1)
#define fs_shape(what, path) fs_(what, path, 0)

/* The /proc/mounts line of a mount point: source, type and the first option (rw/ro). */
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

static void touch(const char *what, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    rc(what, fd < 0 ? -1 : 0);
    if (fd >= 0)
        close(fd);
}

static void mode_of(const char *what, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        printf("%s: stat -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: mode=%o uid=%u\n", what, st.st_mode, st.st_uid);
    fflush(stdout);
}

static void test_tmpfs(void)
{
    mkdir(D "/a", 0755);
    rc("mount tmpfs", mount("none", D "/a", "tmpfs", 0, "size=1m,nr_inodes=100,mode=750"));
    mode_of("mount point now", D "/a");
    fs("fresh tmpfs", D "/a");
    mounts_line("mounts", D "/a");
    int fd = open(D "/a/data", O_WRONLY | O_CREAT, 0644);
    char buf[5000];
    memset(buf, 'x', sizeof buf);
    write(fd, buf, sizeof buf);
    close(fd);
    fs("after writing 5000 bytes", D "/a");
    int made = 0;
    char name[64];
    for (;;) {
        snprintf(name, sizeof name, D "/a/n%d", made);
        int nfd = open(name, O_WRONLY | O_CREAT, 0644);
        if (nfd < 0)
            break;
        close(nfd);
        made++;
    }
    printf("files until nr_inodes ran out: %d (%s)\n", made, strerrorname_np(errno));
    rc("mkdir with no inodes left", mkdir(D "/a/nodir", 0755));
    for (int i = 0; i < made; i++) {
        snprintf(name, sizeof name, D "/a/n%d", i);
        unlink(name);
    }
    fs("after removing them", D "/a");
    rc("remount ro", mount("none", D "/a", "tmpfs", MS_REMOUNT | MS_RDONLY, NULL));
    touch("create on ro", D "/a/new");
    rc("mkdir on ro", mkdir(D "/a/dir", 0755));
    rc("unlink on ro", unlink(D "/a/data"));
    rc("open for write on ro", open(D "/a/data", O_WRONLY));
    rc("chmod on ro", chmod(D "/a/data", 0600));
    rc("utimensat on ro", utimensat(AT_FDCWD, D "/a/data", NULL, 0));
    rc("truncate on ro", truncate(D "/a/data", 0));
    rc("access W_OK on ro", access(D "/a/data", W_OK));
    fs("ro tmpfs", D "/a");
    mounts_line("mounts ro", D "/a");
    rc("remount rw", mount("none", D "/a", "tmpfs", MS_REMOUNT, NULL));
    touch("create on rw", D "/a/new");
    fs("rw again", D "/a");
    rc("remount a non-mount-point", mount("none", D, "tmpfs", MS_REMOUNT, NULL));

    /* busy */
    rc("chdir into it", chdir(D "/a"));
    rc("umount with cwd inside", umount(D "/a"));
    rc("chdir out", chdir("/"));
    fd = open(D "/a/data", O_RDONLY);
    rc("umount with an open file", umount(D "/a"));
    struct statfs s;
    rc("fstatfs on it", fstatfs(fd, &s));
    printf("fstatfs type=%#lx\n", (long)s.f_type);
    close(fd);
    mkdir(D "/a/sub", 0755);
    rc("mount on a subdirectory", mount("none", D "/a/sub", "tmpfs", MS_NOSUID | MS_NODEV, NULL));
    fs_shape("nosuid,nodev", D "/a/sub");
    rc("umount with a submount", umount(D "/a"));
    rc("umount the submount", umount(D "/a/sub"));
    rc("umount", umount(D "/a"));
    mounts_line("mounts after umount", D "/a");
    rc("umount again", umount(D "/a"));
    mode_of("mount point back", D "/a");
}

static void test_detach_and_expire(void)
{
    mkdir(D "/b", 0755);
    mount("none", D "/b", "tmpfs", 0, NULL);
    int fd = open(D "/b/kept", O_RDWR | O_CREAT, 0644);
    write(fd, "still here", 10);
    rc("MNT_DETACH while busy", umount2(D "/b", MNT_DETACH));
    char buf[16] = {0};
    rc("read after detach", pread(fd, buf, 10, 0));
    printf("data: %s\n", buf);
    struct stat st;
    rc("the file is no longer reachable", stat(D "/b/kept", &st));
    close(fd);

    mount("none", D "/b", "tmpfs", 0, NULL);
    rc("umount2 bad flags", umount2(D "/b", 0x10));
    rc("MNT_EXPIRE|MNT_DETACH", umount2(D "/b", MNT_EXPIRE | MNT_DETACH));
    rc("MNT_EXPIRE first", umount2(D "/b", MNT_EXPIRE));
    rc("MNT_EXPIRE second", umount2(D "/b", MNT_EXPIRE));
    mount("none", D "/b", "tmpfs", 0, NULL);
    symlink(D "/b", D "/blink");
    rc("UMOUNT_NOFOLLOW on a symlink", umount2(D "/blink", UMOUNT_NOFOLLOW));
    rc("umount through a symlink", umount(D "/blink"));
    rc("MNT_FORCE of a non-mount", umount2(D "/b", MNT_FORCE));
    unlink(D "/blink");
}

static void test_bind_move(void)
{
    mkdir(D "/src", 0755);
    mkdir(D "/src/inner", 0755);
    touch("file in source", D "/src/inner/f");
    mkdir(D "/dst", 0755);
    rc("bind mount", mount(D "/src/inner", D "/dst", NULL, MS_BIND, NULL));
    mode_of("seen through the bind", D "/dst/f");
    touch("create through the bind", D "/dst/g");
    mode_of("seen in the source", D "/src/inner/g");
    rc("bind remount ro", mount(NULL, D "/dst", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
    touch("create in the ro bind", D "/dst/h");
    touch("create in the source still", D "/src/inner/h");
    fs_shape("ro bind", D "/dst");
    rc("bind of a missing source", mount(D "/nope", D "/dst", NULL, MS_BIND, NULL));
    rc("bind with an empty source", mount("", D "/dst", NULL, MS_BIND, NULL));
    rc("umount the bind", umount(D "/dst"));
    mode_of("source file after umount", D "/src/inner/h");

    mkdir(D "/src/inner/sub", 0755);
    mount("none", D "/src/inner/sub", "tmpfs", 0, "mode=700");
    touch("file in the submount", D "/src/inner/sub/deep");
    rc("plain bind", mount(D "/src", D "/dst", NULL, MS_BIND, NULL));
    mode_of("plain bind leaves the submount out", D "/dst/inner/sub");
    rc("umount plain bind", umount(D "/dst"));
    rc("recursive bind", mount(D "/src", D "/dst", NULL, MS_BIND | MS_REC, NULL));
    mode_of("rbind shows the submount", D "/dst/inner/sub");
    mode_of("and its file", D "/dst/inner/sub/deep");
    mounts_line("mounts rbind child", D "/dst/inner/sub");
    rc("umount rbind with its child", umount(D "/dst"));
    rc("detach rbind", umount2(D "/dst", MNT_DETACH));
    mounts_line("mounts after detach", D "/dst/inner/sub");
    mode_of("original submount still there", D "/src/inner/sub/deep");
    rc("umount original submount", umount(D "/src/inner/sub"));
    rmdir(D "/src/inner/sub");

    mkdir(D "/m1", 0755);
    mkdir(D "/m2", 0755);
    mount("none", D "/m1", "tmpfs", 0, NULL);
    touch("file in m1", D "/m1/moved");
    rc("MS_MOVE", mount(D "/m1", D "/m2", NULL, MS_MOVE, NULL));
    mode_of("moved file", D "/m2/moved");
    rc("old place is no mount", umount(D "/m1"));
    rc("MS_MOVE of a non-mount", mount(D "/m1", D "/m2", NULL, MS_MOVE, NULL));
    rc("MS_PRIVATE", mount(NULL, D "/m2", NULL, MS_PRIVATE, NULL));
    rc("MS_PRIVATE|MS_REC", mount(NULL, D "/m2", NULL, MS_PRIVATE | MS_REC, NULL));
    rc("MS_PRIVATE|MS_SHARED", mount(NULL, D "/m2", NULL, MS_PRIVATE | MS_SHARED, NULL));
    rc("MS_SHARED on a non-mount", mount(NULL, D "/m1", NULL, MS_SHARED, NULL));
    rc("umount moved", umount(D "/m2"));
}

static void test_other_types(void)
{
    mkdir(D "/p", 0755);
    rc("mount proc", mount("proc", D "/p", "proc", 0, NULL));
    fs("proc", D "/p");
    rc("proc has self", access(D "/p/self/status", R_OK));
    mounts_line("mounts proc", D "/p");
    rc("umount proc", umount(D "/p"));
    rc("mount devtmpfs", mount("devtmpfs", D "/p", "devtmpfs", 0, NULL));
    struct stat st;
    rc("devtmpfs has null", stat(D "/p/null", &st));
    printf("null: char=%d %u:%u\n", S_ISCHR(st.st_mode), major(st.st_rdev), minor(st.st_rdev));
    fs_shape("devtmpfs", D "/p");
    rc("umount devtmpfs", umount(D "/p"));
    rc("mount ramfs", mount("rd", D "/p", "ramfs", 0, "mode=711,whatever=1"));
    fs("ramfs", D "/p");
    mode_of("ramfs root", D "/p");
    touch("file on ramfs", D "/p/f");
    mounts_line("mounts ramfs", D "/p");
    rc("umount ramfs", umount(D "/p"));
}

static void test_errors(void)
{
    mkdir(D "/e", 0755);
    touch("a file", D "/file");
    rc("unknown type", mount("none", D "/e", "nosuchfs", 0, NULL));
    rc("NULL type", mount("none", D "/e", NULL, 0, NULL));
    rc("missing target", mount("none", D "/nope", "tmpfs", 0, NULL));
    rc("target below a file", mount("none", D "/file/x", "tmpfs", 0, NULL));
    rc("tmpfs on a file", mount("none", D "/file", "tmpfs", 0, NULL));
    rc("bad tmpfs option", mount("none", D "/e", "tmpfs", 0, "bogus=1"));
    rc("bad tmpfs size", mount("none", D "/e", "tmpfs", 0, "size=lots"));
    rc("MS_NOUSER", mount("none", D "/e", "tmpfs", 1UL << 31, NULL));
    rc("umount a plain directory", umount(D "/e"));
    rc("umount a missing path", umount(D "/nope"));
    rc("umount a file", umount(D "/file"));
    struct statfs s;
    rc("statfs missing", statfs(D "/nope", &s));
    rc("statfs below a file", statfs(D "/file/x", &s));
    rc("statfs bad buffer", statfs(D, (struct statfs *)8));
    rc("fstatfs bad fd", fstatfs(999, &s));
    int fds[2];
    pipe(fds);
    rc("fstatfs pipe", fstatfs(fds[0], &s));
    printf("pipe: type=%#lx bsize=%ld namelen=%ld\n", (long)s.f_type, (long)s.f_bsize, (long)s.f_namelen);
    int pfd = open(D "/file", O_PATH);
    rc("fstatfs O_PATH", fstatfs(pfd, &s));
    close(pfd);
    close(fds[0]);
    close(fds[1]);
    fs("proc", "/proc");
    fs_shape("/tmp", "/tmp");

    mount("none", D "/e", "tmpfs", 0, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setresuid(1000, 1000, 1000);
        rc("user: mount", mount("none", D "/a", "tmpfs", 0, NULL));
        rc("user: mount on a missing target", mount("none", D "/nope", "tmpfs", 0, NULL));
        rc("user: umount", umount(D "/e"));
        rc("user: umount a missing path", umount(D "/nope"));
        rc("user: umount a plain directory", umount(D "/a"));
        fs_shape("user: statfs", D "/e");
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    rc("umount", umount(D "/e"));
}

int main(void)
{
    umask(022);
    mkdir(D, 0755);
    test_tmpfs();
    test_detach_and_expire();
    test_bind_move();
    test_other_types();
    test_errors();
    const char *files[] = {D "/src/inner/f", D "/src/inner/g", D "/src/inner/h", D "/file", NULL};
    for (int i = 0; files[i]; i++)
        unlink(files[i]);
    const char *dirs[] = {D "/a/sub", D "/a", D "/b", D "/src/inner", D "/src", D "/dst", D "/m1", D "/m2",
                          D "/p", D "/e", D, NULL};
    for (int i = 0; dirs[i]; i++)
        rmdir(dirs[i]);
    printf("cleanup: %d\n", access(D, F_OK));
    return 0;
}
