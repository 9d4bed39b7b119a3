/* openat2(2): struct open_how size rules (EINVAL, E2BIG, EFAULT), flag, mode and resolve checks
 * in Linux's order, and every RESOLVE_* flag: NO_XDEV (down into and up out of a mount, absolute
 * symlinks), NO_MAGICLINKS and NO_SYMLINKS (/proc/self/fd links, ordinary links, O_NOFOLLOW),
 * BENEATH and IN_ROOT (absolute paths, "..", symlinks leaving the directory, magic links),
 * CACHED (what the dentry cache holds, cold names, O_CREAT/O_TRUNC). Each open prints the
 * path the new fd names (/proc/self/fd) or the errno.
 * Needs root (a tmpfs mount); works under /tmp/oa2 and removes it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "report.h"

#define D "/tmp/oa2"

static long oa2(int dirfd, const char *path, void *how, size_t size)
{
    return syscall(SYS_openat2, dirfd, path, how, size);
}

/* What fd names, as /proc/self/fd says; then close it. */
static void named(const char *what, long fd, int show_path)
{
    if (fd < 0) {
        printf("%s: %s\n", what, strerrorname_np(errno));
    } else if (show_path) {
        char link[64], target[256];
        snprintf(link, sizeof link, "/proc/self/fd/%ld", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = 0;
        char mine[32];                  /* the pid differs between kernels: say "self" */
        int len = snprintf(mine, sizeof mine, "/proc/%d/", getpid());
        if (strncmp(target, mine, len) == 0)
            printf("%s: ok /proc/self/%s\n", what, target + len);
        else
            printf("%s: ok %s\n", what, target);
        close(fd);
    } else {
        printf("%s: ok\n", what);
        close(fd);
    }
    fflush(stdout);
}

static void try_(const char *what, int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
    struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
    named(what, oa2(dirfd, path, &how, sizeof how), 1);
}

static void sizes(void)
{
    struct { struct open_how how; uint64_t extra[4]; } big;
    memset(&big, 0, sizeof big);
    named("size 0", oa2(AT_FDCWD, D "/d/f", &big, 0), 1);
    named("size 23", oa2(AT_FDCWD, D "/d/f", &big, 23), 1);
    named("size 24", oa2(AT_FDCWD, D "/d/f", &big, 24), 1);
    named("size 56 zero tail", oa2(AT_FDCWD, D "/d/f", &big, sizeof big), 1);
    big.extra[3] = 1;
    named("size 56 non-zero tail", oa2(AT_FDCWD, D "/d/f", &big, sizeof big), 1);
    big.extra[3] = 0;
    named("size 4096 zero tail", oa2(AT_FDCWD, D "/d/f", calloc(1, 8192), 4096), 1);
    named("how NULL", oa2(AT_FDCWD, D "/d/f", NULL, 24), 1);
    struct open_how bad = {.flags = 1ULL << 32};
    named("flags bit 32 and a bad path", oa2(AT_FDCWD, (char *)8, &bad, sizeof bad), 1);
}

static void checks(void)
{
    try_("flags bit 32", AT_FDCWD, D "/d/f", 1ULL << 32, 0, 0);
    try_("flags bit 31", AT_FDCWD, D "/d/f", 1ULL << 31, 0, 0);
    try_("flags bit 26 (FMODE_NONOTIFY)", AT_FDCWD, D "/d/f", 1ULL << 26, 0, 0);
    try_("resolve 0x40", AT_FDCWD, D "/d/f", 0, 0, 0x40);
    try_("BENEATH|IN_ROOT", AT_FDCWD, D "/d/f", 0, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT);
    try_("mode without O_CREAT", AT_FDCWD, D "/d/f", 0, 0644, 0);
    try_("O_CREAT mode 010000", AT_FDCWD, D "/d/f", O_CREAT, 010000, 0);
    try_("O_CREAT mode 1<<40", AT_FDCWD, D "/d/f", O_CREAT, 1ULL << 40, 0);
    try_("O_CREAT mode 07777", AT_FDCWD, D "/d/made", O_CREAT | O_WRONLY, 07777, 0);
    struct stat st;
    stat(D "/d/made", &st);
    printf("made mode %o\n", st.st_mode & 07777);
    try_("O_PATH|O_RDWR", AT_FDCWD, D "/d/f", O_PATH | O_RDWR, 0, 0);
    try_("O_PATH|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC", AT_FDCWD, D "/d", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
         0, 0);
    try_("O_TMPFILE read-only", AT_FDCWD, D "/d", O_TMPFILE | O_RDONLY, 0600, 0);
    try_("__O_TMPFILE without O_DIRECTORY", AT_FDCWD, D "/d", 020000000 | O_RDWR, 0600, 0);
    struct open_how how = {.flags = O_TMPFILE | O_RDWR, .mode = 0600};
    named("O_TMPFILE|O_RDWR", oa2(AT_FDCWD, D "/d", &how, sizeof how), 0);
    try_("CACHED|O_CREAT", AT_FDCWD, D "/d/f", O_CREAT, 0600, RESOLVE_CACHED);
    try_("CACHED|O_TRUNC", AT_FDCWD, D "/d/f", O_TRUNC | O_WRONLY, 0, RESOLVE_CACHED);
    try_("CACHED|O_TMPFILE", AT_FDCWD, D "/d", O_TMPFILE | O_RDWR, 0600, RESOLVE_CACHED);
    try_("bad flags beat a bad dirfd", 12345, "f", 1ULL << 40, 0, 0);
    try_("empty path", AT_FDCWD, "", 0, 0, 0);
    try_("bad dirfd", 12345, "f", 0, 0, 0);

    how = (struct open_how){.flags = O_RDONLY};
    long fd = oa2(AT_FDCWD, D "/d/f", &how, sizeof how);
    printf("F_GETFL %#x\n", fcntl(fd, F_GETFL));
    close(fd);
    how = (struct open_how){.flags = O_PATH};
    fd = oa2(AT_FDCWD, D "/d/f", &how, sizeof how);
    printf("F_GETFL O_PATH %#x\n", fcntl(fd, F_GETFL));
    close(fd);
    how = (struct open_how){.flags = O_RDONLY | O_CLOEXEC};
    fd = oa2(AT_FDCWD, D "/d/f", &how, sizeof how);
    printf("F_GETFD O_CLOEXEC %d F_GETFL %#x\n", fcntl(fd, F_GETFD), fcntl(fd, F_GETFL));
    close(fd);
    fflush(stdout);
}

static void no_xdev(int d, int mnt)
{
    try_("NO_XDEV f", d, "f", 0, 0, RESOLVE_NO_XDEV);
    try_("NO_XDEV mnt/m", d, "mnt/m", 0, 0, RESOLVE_NO_XDEV);
    try_("NO_XDEV mnt", d, "mnt", O_PATH, 0, RESOLVE_NO_XDEV);
    try_("NO_XDEV m from mnt", mnt, "m", 0, 0, RESOLVE_NO_XDEV);
    try_("NO_XDEV .. from mnt", mnt, "..", O_PATH, 0, RESOLVE_NO_XDEV);
    try_("NO_XDEV ../f from mnt", mnt, "../f", 0, 0, RESOLVE_NO_XDEV);
    try_("NO_XDEV absolute", AT_FDCWD, D "/d/f", 0, 0, RESOLVE_NO_XDEV);
    try_("NO_XDEV lnk_abs", d, "lnk_abs", 0, 0, RESOLVE_NO_XDEV);
    try_("NO_XDEV lnk_rel", d, "lnk_rel", 0, 0, RESOLVE_NO_XDEV);
    try_("NO_XDEV lnk_mnt", d, "lnk_mnt", 0, 0, RESOLVE_NO_XDEV);
    try_("NO_XDEV /", AT_FDCWD, "/", O_PATH, 0, RESOLVE_NO_XDEV);
    try_("NO_XDEV /proc/self/fd/d", AT_FDCWD, "/proc/self/fd/3", O_PATH, 0, RESOLVE_NO_XDEV);
}

static void symlinks(int d)
{
    char magic[64];
    snprintf(magic, sizeof magic, "/proc/self/fd/%d", d);
    try_("NO_SYMLINKS lnk_rel", d, "lnk_rel", 0, 0, RESOLVE_NO_SYMLINKS);
    try_("NO_SYMLINKS lnk_rel O_NOFOLLOW", d, "lnk_rel", O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS);
    try_("NO_SYMLINKS lnk_rel O_PATH|O_NOFOLLOW", d, "lnk_rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS);
    try_("NO_SYMLINKS lnk_dotdot/d/f", d, "lnk_dotdot/d/f", 0, 0, RESOLVE_NO_SYMLINKS);
    try_("NO_SYMLINKS sub/g", d, "sub/g", 0, 0, RESOLVE_NO_SYMLINKS);
    try_("NO_SYMLINKS magic", AT_FDCWD, magic, O_PATH, 0, RESOLVE_NO_SYMLINKS);
    try_("NO_SYMLINKS /proc/self/fd", AT_FDCWD, "/proc/self/fd", O_PATH, 0, RESOLVE_NO_SYMLINKS);
    try_("NO_SYMLINKS dangle O_CREAT", d, "dangle", O_CREAT | O_WRONLY, 0600, RESOLVE_NO_SYMLINKS);
    try_("no flags dangle O_CREAT", d, "dangle", O_CREAT | O_WRONLY, 0600, 0);
    try_("NO_MAGICLINKS magic", AT_FDCWD, magic, O_PATH, 0, RESOLVE_NO_MAGICLINKS);
    try_("NO_MAGICLINKS magic/f", AT_FDCWD, strcat(strcpy((char[80]){0}, magic), "/f"), 0, 0,
         RESOLVE_NO_MAGICLINKS);
    try_("NO_MAGICLINKS magic O_PATH|O_NOFOLLOW", AT_FDCWD, magic, O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_MAGICLINKS);
    try_("NO_MAGICLINKS /proc/self/fd", AT_FDCWD, "/proc/self/fd", O_PATH, 0, RESOLVE_NO_MAGICLINKS);
    try_("NO_MAGICLINKS lnk_rel", d, "lnk_rel", 0, 0, RESOLVE_NO_MAGICLINKS);
    try_("no flags magic/f", AT_FDCWD, strcat(strcpy((char[80]){0}, magic), "/f"), 0, 0, 0);
}

static void scoped(int d, int f)
{
    int fdd = open("/proc/self/fd", O_PATH | O_DIRECTORY);
    char n[16];
    snprintf(n, sizeof n, "%d", d);
    static const struct { const char *what; uint64_t flag; } scopes[] = {
        {"BENEATH", RESOLVE_BENEATH}, {"IN_ROOT", RESOLVE_IN_ROOT}};
    static const char *paths[] = {"f", ".", "..", "sub/../f", "../d/f", "/f", D "/d/f", "lnk_rel", "lnk_abs",
                                  "lnk_up", "lnk_dotdot", "lnk_root", "lnk_root/f", "sub/../../d/f", "/",
                                  "../../..", "lnk_mnt", "mnt/m", "mnt/../f"};
    for (int s = 0; s < 2; s++) {
        for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++) {
            char what[80];
            snprintf(what, sizeof what, "%s %s", scopes[s].what, paths[i]);
            try_(what, d, paths[i], O_PATH, 0, scopes[s].flag);
        }
        char what[80];
        snprintf(what, sizeof what, "%s magic from /proc/self/fd", scopes[s].what);
        try_(what, fdd, n, O_PATH, 0, scopes[s].flag);
        snprintf(what, sizeof what, "%s file dirfd", scopes[s].what);
        try_(what, f, "x", O_PATH, 0, scopes[s].flag);
        snprintf(what, sizeof what, "%s file dirfd /", scopes[s].what);
        try_(what, f, "/", O_PATH, 0, scopes[s].flag);
        snprintf(what, sizeof what, "%s O_CREAT ../new", scopes[s].what);
        try_(what, d, "../new", O_CREAT | O_WRONLY, 0600, scopes[s].flag);
        snprintf(what, sizeof what, "%s O_CREAT /new", scopes[s].what);
        try_(what, d, "/new", O_CREAT | O_WRONLY, 0600, scopes[s].flag);
        snprintf(what, sizeof what, "%s AT_FDCWD f", scopes[s].what);
        try_(what, AT_FDCWD, "f", O_PATH, 0, scopes[s].flag);
    }
    unlink(D "/d/new");
    unlink(D "/new");
    close(fdd);
}

static void cached(int d)
{
    try_("CACHED f", d, "f", 0, 0, RESOLVE_CACHED);
    try_("CACHED sub/g", d, "sub/g", 0, 0, RESOLVE_CACHED);
    try_("CACHED .", d, ".", O_PATH, 0, RESOLVE_CACHED);
    try_("CACHED mnt/m", d, "mnt/m", 0, 0, RESOLVE_CACHED);
    try_("CACHED missing", d, "missing", 0, 0, RESOLVE_CACHED);
    try_("CACHED missing/x", d, "missing/x", 0, 0, RESOLVE_CACHED);
    try_("CACHED fresh symlink", d, "lnk_cached", 0, 0, RESOLVE_CACHED);
    try_("CACHED O_PATH", d, "f", O_PATH, 0, RESOLVE_CACHED);
}

static void mk(const char *path, const char *data)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, data, strlen(data));
    close(fd);
}

int main(void)
{
    mkdir(D, 0755);
    mkdir(D "/d", 0755);
    mkdir(D "/d/sub", 0755);
    mkdir(D "/d/mnt", 0755);
    mk(D "/d/f", "f\n");
    mk(D "/d/sub/g", "g\n");
    mk(D "/outside", "outside\n");
    symlink("f", D "/d/lnk_rel");
    symlink(D "/d/f", D "/d/lnk_abs");
    symlink("../outside", D "/d/lnk_up");
    symlink("..", D "/d/lnk_dotdot");
    symlink("/", D "/d/lnk_root");
    symlink("mnt/m", D "/d/lnk_mnt");
    symlink("f", D "/d/lnk_cached");
    symlink("newfile", D "/d/dangle");
    rc("mount tmpfs", mount("none", D "/d/mnt", "tmpfs", 0, NULL));
    mk(D "/d/mnt/m", "m\n");
    int d = open(D "/d", O_PATH | O_DIRECTORY);     /* fd 3 */
    int mnt = open(D "/d/mnt", O_RDONLY | O_DIRECTORY);
    int f = open(D "/d/f", O_RDONLY);
    printf("fds %d %d %d\n", d, mnt, f);
    cached(d);
    sizes();
    checks();
    no_xdev(d, mnt);
    symlinks(d);
    scoped(d, f);
    close(mnt);
    rc("umount", umount(D "/d/mnt"));
    system("rm -rf " D);
    return 0;
}
