/* Credentials: setuid/setgid, setreuid/setregid, setresuid/setresgid, getresuid/getresgid,
 * getgroups/setgroups, setfsuid/setfsgid -- Linux's rules for root and for everyone else,
 * /proc/self/status's Uid/Gid lines, and file permission checks after dropping privileges.
 * Starts as root; each scenario runs in a forked child so the next one starts as root again.
 * Safe under qemu-aarch64 on the host: files only in a fresh /tmp directory, removed at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64], secret[96];

static void rc(const char *what, long r)
{
    if (r < 0)
        printf("  %s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("  %s: %ld\n", what, r);
    fflush(stdout);
}

static void ids(const char *what)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("  %s: uid %u %u %u gid %u %u %u fsuid %d fsgid %d\n", what, r, e, s, gr, ge, gs,
           setfsuid(-1), setfsgid(-1));
    fflush(stdout);
}

static void status_lines(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) || !strncmp(line, "Groups:", 7))
            printf("  status %s", line);
    if (f)
        fclose(f);
    fflush(stdout);
}

/* Raw syscalls: glibc's wrappers would broadcast to threads, which is fine, but these also let us
 * pass values glibc would not. */
static long raw_setresuid(long r, long e, long s) { return syscall(SYS_setresuid, r, e, s); }

static void run(const char *name, void (*fn)(void))
{
    printf("%s\n", name);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        printf("  child failed: %#x\n", status);
}

static void s_setuid_root(void)
{
    ids("start");
    rc("setuid(-1)", setuid(-1));
    rc("setgid(-1)", setgid(-1));
    rc("setuid(1000)", setuid(1000));
    ids("after setuid(1000)");
    rc("setuid(0) now", setuid(0));
    rc("setuid(1000) again", setuid(1000));
    rc("setgid(5) unprivileged", setgid(5));
    rc("open 0600 root file", open(secret, O_RDONLY));
    char path[128];
    snprintf(path, sizeof path, "%s/new", dir);
    rc("create in a 0755 root dir", open(path, O_WRONLY | O_CREAT, 0644));
}

static void s_seteuid(void)
{
    rc("seteuid(1000)", seteuid(1000));
    ids("after seteuid(1000)");
    status_lines();
    rc("open 0600 root file", open(secret, O_RDONLY));
    rc("access R_OK (real uid 0)", access(secret, R_OK));
    rc("faccessat AT_EACCESS", faccessat(AT_FDCWD, secret, R_OK, AT_EACCESS));
    rc("setgroups unprivileged", setgroups(0, NULL));
    rc("setuid(2000) unprivileged", setuid(2000));
    rc("setuid(0) back (real uid)", setuid(0));
    ids("after setuid(0)");
    int fd = open(secret, O_RDONLY);
    rc("open 0600 root file again", fd >= 0 ? 0 : -1);
}

static void s_setreuid(void)
{
    rc("setreuid(1000, 2000)", setreuid(1000, 2000));
    ids("after");
    rc("setreuid(-1, 1000)", setreuid(-1, 1000));
    ids("after");
    rc("setreuid(-1, 2000) (saved)", setreuid(-1, 2000));
    ids("after");
    rc("setreuid(3000, -1)", setreuid(3000, -1));
    rc("setreuid(-1, 3000)", setreuid(-1, 3000));
    rc("setreuid(2000, -1) (effective)", setreuid(2000, -1));
    ids("after");
    rc("setreuid(-1, -1)", setreuid(-1, -1));
    ids("after");
}

static void s_setresuid(void)
{
    rc("setresuid(1, 2, 3)", setresuid(1, 2, 3));
    ids("after");
    rc("setresuid(3, 1, 2)", setresuid(3, 1, 2));
    ids("after");
    rc("setresuid(4, -1, -1)", setresuid(4, -1, -1));
    rc("setresuid(-1, -1, -1)", setresuid(-1, -1, -1));
    rc("setresuid(3, 1, 2) no-op", setresuid(3, 1, 2));
    rc("raw setresuid(0x1_00000002, -1, -1)", raw_setresuid(0x100000002L, -1, -1));
    ids("after");
    rc("setresuid(0, 0, 0)", setresuid(0, 0, 0));
}

static void s_setresuid_keep_root(void)
{
    rc("setresuid(1000, 1000, 0)", setresuid(1000, 1000, 0));
    ids("after");
    rc("setresuid(-1, 0, -1) (saved is root)", setresuid(-1, 0, -1));
    ids("after");
    rc("setuid(0) as euid 0", setuid(0));
    ids("after");
}

static void s_gids(void)
{
    rc("setregid(10, 20)", setregid(10, 20));
    ids("after");
    rc("setresgid(30, -1, 40)", setresgid(30, -1, 40));
    ids("after");
    rc("setgid(50) as root", setgid(50));
    ids("after");
    rc("setuid(1000)", setuid(1000));
    rc("setgid(50) same", setgid(50));
    rc("setgid(60)", setgid(60));
    rc("setregid(-1, 60)", setregid(-1, 60));
    rc("setresgid(50, 50, 50) no-op", setresgid(50, 50, 50));
    rc("setresgid(60, -1, -1)", setresgid(60, -1, -1));
    ids("after");
    status_lines();
}

static void s_groups(void)
{
    gid_t g[8] = {30, 10, 20, 10};
    rc("getgroups(0)", getgroups(0, NULL));
    rc("setgroups(4, {30,10,20,10})", setgroups(4, g));
    gid_t out[8] = {0};
    int n = getgroups(8, out);
    printf("  getgroups: %d:", n);
    for (int i = 0; i < n; i++)
        printf(" %u", out[i]);
    printf("\n");
    rc("getgroups(2, buf) too small", getgroups(2, out));
    rc("getgroups(-1)", syscall(SYS_getgroups, -1, out));
    rc("setgroups(-1)", syscall(SYS_setgroups, -1, g));
    rc("setgroups(65537)", syscall(SYS_setgroups, 65537, g));
    rc("setgroups bad pointer", syscall(SYS_setgroups, 2, (void *)8));
    rc("getgroups bad pointer", syscall(SYS_getgroups, 8, (void *)8));
    rc("getresuid bad pointer", syscall(SYS_getresuid, (void *)8, (void *)8, (void *)8));
    status_lines();
    rc("setgroups(0)", setgroups(0, NULL));
    rc("getgroups(0) after", getgroups(0, NULL));
}

static void s_fsuid(void)
{
    printf("  setfsuid(1234) -> %d\n", setfsuid(1234));
    printf("  setfsuid(-1) -> %d\n", setfsuid(-1));
    printf("  setfsgid(77) -> %d\n", setfsgid(77));
    status_lines();
    printf("  setfsuid(0) -> %d\n", setfsuid(0));
    rc("setuid(1000)", setuid(1000));
    printf("  setfsuid(-1) after setuid -> %d\n", setfsuid(-1));
    printf("  setfsuid(5) unprivileged -> %d\n", setfsuid(5));
    printf("  setfsuid(-1) -> %d\n", setfsuid(-1));
    printf("  setfsgid(-1) -> %d\n", setfsgid(-1));
}

int main(void)
{
    strcpy(dir, "/tmp/creds.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    chmod(dir, 0755);
    snprintf(secret, sizeof secret, "%s/secret", dir);
    int fd = open(secret, O_WRONLY | O_CREAT, 0600);
    write(fd, "s", 1);
    close(fd);
    run("setuid as root", s_setuid_root);
    run("seteuid and back", s_seteuid);
    run("setreuid", s_setreuid);
    run("setresuid", s_setresuid);
    run("setresuid keeping a root saved uid", s_setresuid_keep_root);
    run("gids", s_gids);
    run("groups", s_groups);
    run("fsuid", s_fsuid);
    unlink(secret);
    printf("cleanup: %d\n", rmdir(dir));
    return 0;
}
