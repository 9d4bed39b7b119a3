/* O_TMPFILE as Linux 6.1 answers it on tmpfs: the flag checks, an unnamed file that reads
 * and writes, is not in its directory, and gets a name by linkat through /proc/self/fd or
 * AT_EMPTY_PATH unless opened with O_EXCL; filesystems without it say EOPNOTSUPP.
 * Prints results and errno names. */
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

static void yes(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: ok\n", what);
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    umask(022);
    mkdir("/tmp/tmpf", 0755);
    mount("tmpfs", "/tmp/tmpf", "tmpfs", 0, "size=1m");
    show("O_TMPFILE read-only", open("/tmp/tmpf", O_TMPFILE | O_RDONLY, 0600));
    show("O_TMPFILE with O_CREAT", open("/tmp/tmpf", O_TMPFILE | O_CREAT | O_RDWR, 0600));
    show("__O_TMPFILE without O_DIRECTORY", open("/tmp/tmpf", 020000000 | O_RDWR, 0600));
    show("O_TMPFILE of a missing dir", open("/tmp/tmpf/nope", O_TMPFILE | O_RDWR, 0600));
    int plain = open("/tmp/tmpf/plain", O_CREAT | O_RDWR, 0644);
    close(plain);
    show("O_TMPFILE of a file", open("/tmp/tmpf/plain", O_TMPFILE | O_RDWR, 0600));
    show("O_TMPFILE O_PATH", open("/tmp/tmpf", O_TMPFILE | O_PATH | O_RDWR, 0600) >= 0);

    int fd = open("/tmp/tmpf", O_TMPFILE | O_RDWR, 0666);
    yes("O_TMPFILE", fd);
    struct stat st;
    fstat(fd, &st);
    printf("mode %o nlink %ld size %ld\n", st.st_mode, (long)st.st_nlink, (long)st.st_size);
    show("write", write(fd, "temporary", 9));
    char buf[16] = "";
    show("pread", pread(fd, buf, sizeof buf, 0));
    printf("read %s\n", buf);
    printf("entries in dir: %d\n", entries("/tmp/tmpf"));
    char link[64], name[128] = "";
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    readlink(link, name, sizeof name - 1);
    printf("link starts with /tmp/tmpf/#: %d, deleted: %d\n", strncmp(name, "/tmp/tmpf/#", 11) == 0,
           strstr(name, " (deleted)") != NULL);
    show("linkat via /proc/self/fd", linkat(AT_FDCWD, link, AT_FDCWD, "/tmp/tmpf/named", AT_SYMLINK_FOLLOW));
    fstat(fd, &st);
    printf("nlink now %ld\n", (long)st.st_nlink);
    int again = open("/tmp/tmpf/named", O_RDONLY);
    memset(buf, 0, sizeof buf);
    read(again, buf, sizeof buf);
    printf("named holds %s\n", buf);
    close(again);
    show("linkat AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, "/tmp/tmpf/second", AT_EMPTY_PATH));
    fstat(fd, &st);
    printf("nlink now %ld, entries %d\n", (long)st.st_nlink, entries("/tmp/tmpf"));
    close(fd);

    int ex = open("/tmp/tmpf", O_TMPFILE | O_WRONLY | O_EXCL, 0600);
    yes("O_TMPFILE O_EXCL", ex);
    show("linkat of O_EXCL tmpfile", linkat(ex, "", AT_FDCWD, "/tmp/tmpf/never", AT_EMPTY_PATH));
    close(ex);
    int gone = open("/tmp/tmpf/plain", O_RDWR);
    unlink("/tmp/tmpf/plain");
    show("linkat of an unlinked file", linkat(gone, "", AT_FDCWD, "/tmp/tmpf/back", AT_EMPTY_PATH));
    close(gone);

    int dirfd = open("/tmp/tmpf", O_DIRECTORY | O_RDONLY);
    int rel = openat(dirfd, ".", O_TMPFILE | O_WRONLY, 0640);
    fstat(rel, &st);
    printf("openat tmpfile mode %o\n", st.st_mode);
    close(rel);
    close(dirfd);
    show("O_TMPFILE in /proc", open("/proc", O_TMPFILE | O_RDWR, 0600));
    mkdir("/tmp/tmpf/ro", 0755);
    mount("tmpfs", "/tmp/tmpf/ro", "tmpfs", MS_RDONLY, NULL);
    show("O_TMPFILE on a read-only mount", open("/tmp/tmpf/ro", O_TMPFILE | O_RDWR, 0600));
    umount("/tmp/tmpf/ro");
    umount("/tmp/tmpf");
    return 0;
}
