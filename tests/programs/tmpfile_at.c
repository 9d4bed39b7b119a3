/* O_TMPFILE in the directory argv[1] (an ext4 mount in the test): an unnamed file that is
 * written, named by linkat through /proc/self/fd and by AT_EMPTY_PATH, an O_EXCL one that
 * cannot be named, and one closed unnamed (freed). Prints results, contents and link counts.
 * With argv[2], first mounts that ext4 image file there with moss-py's "loop" data option
 * (moss-py has no loop devices; in Linux the caller mounts it with `mount -o loop`), and
 * unmounts it at the end. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    char path[256], named[256], second[256];
    snprintf(named, sizeof named, "%s/named", argv[1]);
    snprintf(second, sizeof second, "%s/second", argv[1]);
    if (argc > 2 && mount(argv[2], argv[1], "ext4", 0, "loop") < 0)
        return 3;
    umask(022);
    int fd = open(argv[1], O_TMPFILE | O_RDWR, 0666);
    show("O_TMPFILE", fd < 0 ? -1 : 0);
    struct stat st;
    fstat(fd, &st);
    printf("mode %o nlink %ld size %ld\n", st.st_mode, (long)st.st_nlink, (long)st.st_size);
    char big[10000];
    memset(big, 't', sizeof big);
    show("write", write(fd, big, sizeof big));
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    show("linkat via /proc/self/fd", linkat(AT_FDCWD, path, AT_FDCWD, named, AT_SYMLINK_FOLLOW));
    show("linkat AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, second, AT_EMPTY_PATH));
    fstat(fd, &st);
    printf("nlink %ld size %ld blocks>0 %d\n", (long)st.st_nlink, (long)st.st_size, st.st_blocks > 0);
    close(fd);
    stat(named, &st);
    printf("named: nlink %ld size %ld\n", (long)st.st_nlink, (long)st.st_size);
    int ex = open(argv[1], O_TMPFILE | O_WRONLY | O_EXCL, 0600);
    write(ex, "x", 1);
    show("linkat of O_EXCL", linkat(ex, "", AT_FDCWD, "/nowhere", AT_EMPTY_PATH));
    snprintf(path, sizeof path, "%s/never", argv[1]);
    show("linkat of O_EXCL into the dir", linkat(ex, "", AT_FDCWD, path, AT_EMPTY_PATH));
    close(ex);
    int gone = open(argv[1], O_TMPFILE | O_WRONLY, 0600);
    show("unnamed write", write(gone, big, sizeof big));
    close(gone);
    DIR *d = opendir(argv[1]);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    printf("entries %d\n", n);
    unlink(second);
    if (argc > 2 && umount(argv[1]) < 0)
        return 4;
    return 0;
}
