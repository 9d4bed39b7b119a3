/* mount(2) of ext2/3/4: the errnos Linux gives for bad sources, then an ext4 image mounted on
 * DIR: statfs, reading, writing, fsync, remounting read-only and read-write, two mounts sharing
 * one superblock, /proc/mounts, umount.
 * Usage: mount_ext4 IMG DIR               moss: there are no loop devices, so the "loop" data
 *                                         option asks moss to read the image file directly;
 *        mount_ext4 IMG DIR DEV NOTEXT4   Linux: DEV is a loop device on IMG, NOTEXT4 one on a
 *                                         file that is no ext4 image (/tests/hello), no "loop".
 * Both print the same; /proc/mounts's source shows as <source> when it is the one mounted.
 * Leaves DIR/new.txt (and DIR/second.txt) on the image for the caller. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include "report.h"

static void cat(const char *what, const char *path)
{
    char buf[128] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
        return;
    }
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s: %d %s", what, n, buf);
    fflush(stdout);
}

static void put(const char *what, const char *path, const char *data)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        rc(what, -1);
        return;
    }
    write(fd, data, strlen(data));
    rc(what, fsync(fd));
    close(fd);
}

static const char *source;          /* what the image is mounted from: IMG or DEV */

static void mounts_line(const char *what, const char *dir)
{
    FILE *f = fopen("/proc/mounts", "r");
    char src[256], mp[256], type[64], opts[512];
    while (f && fscanf(f, "%255s %255s %63s %511s %*d %*d", src, mp, type, opts) == 4)
        if (strcmp(mp, dir) == 0) {
            strtok(opts, ",");
            printf("%s: %s %s %s %s\n", what, strcmp(src, source) ? src : "<source>", mp, type, opts);
        }
    if (f)
        fclose(f);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 5)
        return 2;
    const char *img = argv[1], *dir = argv[2];
    const char *loop = argc == 5 ? NULL : "loop";
    const char *not_ext4 = argc == 5 ? argv[4] : "/tests/hello";
    source = argc == 5 ? argv[3] : img;
    char path[512], path2[512], dir2[200];
    snprintf(dir2, sizeof dir2, "%s2", dir);
    mkdir(dir, 0755);
    mkdir(dir2, 0755);

    rc("ext4 from a regular file", mount(img, dir, "ext4", 0, NULL));
    rc("ext4 from a missing path", mount("/no/such/dev", dir, "ext4", 0, NULL));
    rc("ext4 without a source", mount(NULL, dir, "ext4", 0, NULL));
    rc("ext4 from a directory", mount("/tmp", dir, "ext4", 0, loop));
    rc("ext4 from a non-ext4 image", mount(not_ext4, dir, "ext4", MS_RDONLY, loop));

    rc("mount image", mount(source, dir, "ext4", 0, loop));
    struct statfs s;
    rc("statfs", statfs(dir, &s));
    printf("ext4: type=%#lx bsize=%ld blocks=%ld files=%ld namelen=%ld frsize=%ld flags=%#lx bavail<bfree=%d\n",
           (long)s.f_type, (long)s.f_bsize, (long)s.f_blocks, (long)s.f_files, (long)s.f_namelen,
           (long)s.f_frsize, (long)s.f_flags, s.f_bavail < s.f_bfree);
    long free_before = s.f_bfree;
    mounts_line("mounts", dir);
    snprintf(path, sizeof path, "%s/hello.txt", dir);
    cat("hello.txt", path);
    snprintf(path, sizeof path, "%s/new.txt", dir);
    char big[8192];
    memset(big, 'e', sizeof big);
    big[sizeof big - 1] = 0;
    put("write new.txt", path, big);
    statfs(dir, &s);
    printf("blocks used by new.txt: %ld\n", free_before - (long)s.f_bfree);
    put("rewrite new.txt", path, "written by moss\n");
    rc("chmod", chmod(path, 0600));
    rc("chown", chown(path, 42, 43));
    struct timespec ts[2] = {{1000000000, 0}, {1100000000, 0}};
    rc("utimensat", utimensat(AT_FDCWD, path, ts, 0));
    snprintf(path2, sizeof path2, "%s/link.txt", dir);
    rc("link", link(path, path2));
    int dfd = open(dir, O_RDONLY);
    rc("syncfs", syncfs(dfd));
    close(dfd);
    sync();

    rc("second mount of the same image", mount(source, dir2, "ext4", 0, loop));
    snprintf(path2, sizeof path2, "%s/new.txt", dir2);
    cat("new.txt through the second mount", path2);
    snprintf(path2, sizeof path2, "%s/second.txt", dir2);
    put("write through the second mount", path2, "second\n");
    snprintf(path2, sizeof path2, "%s/second.txt", dir);
    cat("seen through the first", path2);
    rc("umount the second", umount(dir2));

    rc("remount ro", mount(source, dir, "ext4", MS_REMOUNT | MS_RDONLY, NULL));
    snprintf(path2, sizeof path2, "%s/ro.txt", dir);
    rc("create on ro", open(path2, O_WRONLY | O_CREAT, 0644));
    statfs(dir, &s);
    printf("ro flags: %#lx\n", (long)s.f_flags);
    mounts_line("mounts ro", dir);
    rc("remount rw", mount(source, dir, "ext4", MS_REMOUNT, NULL));
    int fd = open(path2, O_WRONLY | O_CREAT, 0644);
    rc("create on rw", fd >= 0 ? 0 : -1);
    close(fd);
    rc("unlink it", unlink(path2));
    rc("chdir into it", chdir(dir));
    rc("umount while it is the cwd", umount(dir));
    rc("chdir out", chdir("/"));
    rc("umount", umount(dir));

    rc("mount read-only", mount(source, dir, "ext4", MS_RDONLY, loop));
    cat("new.txt after remount", path);
    struct stat st;
    stat(path, &st);
    printf("new.txt: mode=%o uid=%u gid=%u nlink=%lu mtime=%lld\n", st.st_mode, st.st_uid, st.st_gid,
           (unsigned long)st.st_nlink, (long long)st.st_mtime);
    rc("umount", umount(dir));
    rmdir(dir2);
    rmdir(dir);
    return 0;
}
