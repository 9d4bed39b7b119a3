/* pivot_root(2): EPERM, ENOENT, ENOTDIR, EBUSY and EINVAL in Linux's order (the initramfs root,
 * which has no parent mount, refuses any pivot), then a pivot from a chroot into a tmpfs: the
 * new root with its submount, the old root under put_old, cwd and root moved, MS_MOVE of a
 * mount with submounts, the old root detached; and the pivot_root(".", ".") idiom.
 * Runs in a child in a new mount namespace (unshare), so the parent sees none of it.
 * Needs root; works under /tmp/pr. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "report.h"

static long pr(const char *new_root, const char *put_old)
{
    return syscall(SYS_pivot_root, new_root, put_old);
}

/* The sorted names in dir, on one line. */
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

static void cwd(const char *what)
{
    char buf[256];
    printf("%s: %s\n", what, getcwd(buf, sizeof buf) ? buf : strerrorname_np(errno));
    fflush(stdout);
}

static void mk(const char *path)
{
    close(open(path, O_WRONLY | O_CREAT, 0644));
}

static int child(void)
{
    rc("unshare CLONE_NEWNS", unshare(CLONE_NEWNS));
    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);  /* no propagation to the oracle's */

    pid_t p = fork();
    if (p == 0) {
        setuid(65534);
        rc("unprivileged", pr("/nonexistent", "/"));
        _exit(0);
    }
    waitpid(p, NULL, 0);
    rc("new_root missing", pr("/nonexistent", "/"));
    rc("put_old missing", pr("/", "/nonexistent"));
    rc("new_root a file", pr("/tests/pivot_root", "/"));
    rc("new_root empty", pr("", "/"));
    rc("/ on /", pr("/", "/"));

    mkdir("/tmp/pr", 0755);
    rc("mount R", mount("none", "/tmp/pr", "tmpfs", 0, NULL));
    mkdir("/tmp/pr/new", 0755);
    mkdir("/tmp/pr/elsewhere", 0755);
    mk("/tmp/pr/in_r");
    rc("mount new", mount("none", "/tmp/pr/new", "tmpfs", 0, NULL));
    mkdir("/tmp/pr/new/old", 0755);
    mkdir("/tmp/pr/new/sub", 0755);
    mkdir("/tmp/pr/new/plain", 0755);
    mk("/tmp/pr/new/in_new");
    mk("/tmp/pr/new/f");
    rc("mount new/sub", mount("none", "/tmp/pr/new/sub", "tmpfs", 0, NULL));
    mk("/tmp/pr/new/sub/in_sub");
    rc("root is rootfs", pr("/tmp/pr/new", "/tmp/pr/new/old"));

    rc("chdir R", chdir("/tmp/pr"));
    rc("chroot R", chroot("."));
    cwd("cwd in R");
    rc("new_root not a mount point", pr("/new/plain", "/new/old"));
    rc("new_root is the root", pr("/", "/new/old"));
    rc("put_old is the root", pr("/new", "/"));
    rc("put_old not under new_root", pr("/new", "/elsewhere"));
    rc("put_old a file", pr("/new", "/new/f"));
    rc("new_root . in R", pr(".", "/new/old"));
    rc("pivot", pr("/new", "/new/old"));
    cwd("cwd after");
    ls("/", "/");
    ls("/sub", "/sub");
    ls("/old", "/old");
    ls("/old/new", "/old/new");
    rc("chdir /old", chdir("/old"));
    cwd("cwd in /old");
    rc("chdir /", chdir("/"));
    mkdir("/moved", 0755);
    mkdir("/old/elsewhere/deeper", 0755);
    rc("mount under old", mount("none", "/old/elsewhere/deeper", "tmpfs", 0, NULL));
    mk("/old/elsewhere/deeper/in_deeper");
    rc("MS_MOVE old with submounts", mount("/old", "/moved", NULL, MS_MOVE, NULL));
    ls("/moved", "/moved");
    ls("/moved/elsewhere/deeper", "/moved/elsewhere/deeper");
    ls("/old", "/old");
    rc("MS_MOVE below itself", mount("/moved", "/moved/elsewhere", NULL, MS_MOVE, NULL));
    rc("umount /moved busy", umount("/moved"));
    rc("umount /moved detach", umount2("/moved", MNT_DETACH));
    ls("/ after detach", "/");

    /* pivot_root(".", "."): the old root stacked on the new, then detached */
    mkdir("/next", 0755);
    rc("mount next", mount("none", "/next", "tmpfs", 0, NULL));
    mk("/next/in_next");
    rc("chdir /next", chdir("/next"));
    rc("pivot . .", pr(".", "."));
    cwd("cwd after . .");
    ls("/ stacked", "/");
    rc("umount . detach", umount2(".", MNT_DETACH));
    ls("/ after", "/");
    ls(". after", ".");
    rc("chdir /", chdir("/"));
    ls("/ after chdir", "/");
    return 0;
}

int main(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(child());
    printf("child: %d\n", status_of(p));
    ls("/tmp/pr outside the child's namespace", "/tmp/pr");
    rc("rmdir /tmp/pr", rmdir("/tmp/pr"));      /* the directory stayed in the parent's /tmp */
    return 0;
}
