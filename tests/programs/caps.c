/* Capabilities as Linux 6.1 keeps them, run as root: capget/capset (versions 1-3, the version
 * written back, EPERM rules), dropping CAP_CHOWN then chown, setuid/seteuid/setfsuid moving the
 * sets, keepcaps, ambient capabilities across exec, the bounding set, no_new_privs, set-user-ID
 * and file-capability programs, /proc/self/status's Cap lines. Each scenario runs in a forked
 * child, so the next starts as root again. "caps child" prints what an exec'ed program holds
 * (and AT_SECURE). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static char self[256];

static long capget_(unsigned version, int pid, struct __user_cap_data_struct *d, unsigned *back)
{
    struct __user_cap_header_struct h = { version, pid };
    long r = syscall(SYS_capget, &h, d);
    if (back)
        *back = h.version;
    return r;
}

static long capset_(unsigned long long eff, unsigned long long prm, unsigned long long inh)
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2] = {
        { (unsigned)eff, (unsigned)prm, (unsigned)inh },
        { (unsigned)(eff >> 32), (unsigned)(prm >> 32), (unsigned)(inh >> 32) },
    };
    return syscall(SYS_capset, &h, d);
}

static void res(const char *what, long r)
{
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
}

static void sets(const char *tag)
{
    struct __user_cap_data_struct d[2] = { 0 };
    long r = capget_(_LINUX_CAPABILITY_VERSION_3, 0, d, NULL);
    printf("%s: capget=%ld eff=%x%08x prm=%x%08x inh=%x%08x\n", tag, r, d[1].effective, d[0].effective,
           d[1].permitted, d[0].permitted, d[1].inheritable, d[0].inheritable);
}

static void status(const char *tag)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) || !strncmp(line, "Uid", 3))
            printf("%s %s", tag, line);
    if (f)
        fclose(f);
}

static void run_child(const char *prog)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(prog, prog, "child", (char *)NULL);
        printf("exec %s: %s\n", prog, strerrorname_np(errno));
        _exit(1);
    }
    waitpid(pid, NULL, 0);
}

#define CAPBIT(c) (1ULL << (c))

static void versions(void)
{
    struct __user_cap_data_struct d[2] = { 0 };
    unsigned back;
    long r = capget_(_LINUX_CAPABILITY_VERSION_1, 0, d, NULL);
    printf("v1: %ld eff=%x/%x\n", r, d[0].effective, d[1].effective);
    memset(d, 0, sizeof d);
    r = capget_(_LINUX_CAPABILITY_VERSION_2, 0, d, NULL);
    printf("v2: %ld eff=%x/%x\n", r, d[0].effective, d[1].effective);
    r = capget_(_LINUX_CAPABILITY_VERSION_3, getpid(), d, NULL);
    printf("v3 own pid: %ld eff=%x/%x\n", r, d[0].effective, d[1].effective);
    r = capget_(0x12345678, 0, d, &back);
    printf("bad version: %ld %s back=%x\n", r, r < 0 ? strerrorname_np(errno) : "-", back);
    struct __user_cap_header_struct h = { 0x1, 0 };
    r = syscall(SYS_capget, &h, NULL);
    printf("bad version, NULL data: %ld back=%x\n", r, h.version);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    res("v3 NULL data", syscall(SYS_capget, &h, NULL));
    res("capget pid -1", capget_(_LINUX_CAPABILITY_VERSION_3, -1, d, NULL));
    res("capget no such pid", capget_(_LINUX_CAPABILITY_VERSION_3, 4000000, d, NULL));
    res("capget of parent", capget_(_LINUX_CAPABILITY_VERSION_3, getppid(), d, NULL));
    struct __user_cap_header_struct hs = { _LINUX_CAPABILITY_VERSION_3, getppid() };
    res("capset of parent", syscall(SYS_capset, &hs, d));
    hs.version = 7;
    res("capset bad version", syscall(SYS_capset, &hs, d));
    printf("capset wrote back %x\n", hs.version);
}

static void drop_chown(void)
{
    unsigned long long all = (1ULL << (CAP_LAST_CAP + 1)) - 1;
    int fd = open("/tmp/caps_file", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    close(fd);
    res("chown as root", chown("/tmp/caps_file", 1000, 1000));
    res("capset eff without CAP_CHOWN", capset_(all & ~CAPBIT(CAP_CHOWN), all, 0));
    sets("dropped");
    res("chown without CAP_CHOWN", chown("/tmp/caps_file", 0, 0));
    res("capset eff back", capset_(all, all, 0));
    res("chown with it again", chown("/tmp/caps_file", 0, 0));
    res("capset prm without CAP_CHOWN", capset_(all & ~CAPBIT(CAP_CHOWN), all & ~CAPBIT(CAP_CHOWN), 0));
    res("capset eff not in prm", capset_(all, all & ~CAPBIT(CAP_CHOWN), 0));
    res("capset prm grows", capset_(0, all, 0));
    res("capset inh", capset_(0, all & ~CAPBIT(CAP_CHOWN), CAPBIT(CAP_KILL)));
    res("capset drop SETPCAP", capset_(0, CAPBIT(CAP_KILL), CAPBIT(CAP_KILL)));
    res("capset inh outside prm", capset_(0, CAPBIT(CAP_KILL), CAPBIT(CAP_KILL) | CAPBIT(CAP_CHOWN)));
    sets("after");
    status("after");
    unlink("/tmp/caps_file");
}

static void uid_changes(void)
{
    res("seteuid 1000", seteuid(1000));
    sets("euid 1000");
    res("seteuid 0", seteuid(0));
    sets("euid 0");
    res("setfsuid 1000 (old)", setfsuid(1000));
    sets("fsuid 1000");
    res("setfsuid 0 (old)", setfsuid(0));
    sets("fsuid 0");
    res("setuid 1000", setuid(1000));
    sets("uid 1000");
    status("uid 1000");
    res("setuid 0", setuid(0));
}

static void keepcaps(void)
{
    res("get keepcaps", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    res("set keepcaps 2", prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0));
    res("set keepcaps", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
    res("get keepcaps", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    res("get securebits", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    res("setresuid 1000", setresuid(1000, 1000, 1000));
    sets("kept");
    res("get keepcaps", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    run_child(self);        /* exec clears keepcaps and, with no uid 0, every set */
}

static void ambient(void)
{
    unsigned long long two = CAPBIT(CAP_NET_RAW) | CAPBIT(CAP_NET_BIND_SERVICE);
    res("raise without inheritable", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0));
    res("raise bad cap", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 99, 0, 0));
    res("bad op", prctl(PR_CAP_AMBIENT, 9, CAP_NET_RAW, 0, 0));
    res("clear all with arg", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0));
    res("keepcaps", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
    res("setresuid 1000", setresuid(1000, 1000, 1000));
    res("capset", capset_(two, two, two));
    res("raise NET_RAW", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0));
    res("raise NET_BIND", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));
    res("is set", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0));
    res("lower NET_BIND", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_BIND_SERVICE, 0, 0));
    res("is set", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0));
    status("before exec");
    run_child(self);
    res("capset drops inheritable", capset_(two, two, 0));
    res("is set", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0));
}

static void bounding(void)
{
    res("read 0", prctl(PR_CAPBSET_READ, 0, 0, 0, 0));
    res("read 40", prctl(PR_CAPBSET_READ, 40, 0, 0, 0));
    res("read 41", prctl(PR_CAPBSET_READ, 41, 0, 0, 0));
    res("drop SYS_BOOT", prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT, 0, 0, 0));
    res("drop 64", prctl(PR_CAPBSET_DROP, 64, 0, 0, 0));
    res("read SYS_BOOT", prctl(PR_CAPBSET_READ, CAP_SYS_BOOT, 0, 0, 0));
    sets("still effective");
    run_child(self);        /* root's exec: permitted is the bounding set */
    unsigned long long all = (1ULL << (CAP_LAST_CAP + 1)) - 1;
    res("capset without SETPCAP", capset_(all & ~CAPBIT(CAP_SETPCAP), all, 0));
    res("drop without SETPCAP", prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0));
    res("securebits without SETPCAP", prctl(PR_SET_SECUREBITS, 0x10, 0, 0, 0));
}

static void no_new_privs(void)
{
    res("get nnp", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    res("set nnp", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    res("get nnp", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    run_child(self);        /* root keeps its capabilities: nothing is gained */
}

/* A copy of this program owned by `uid` with mode `mode` (and file capabilities `fcaps`). */
static void copy_self(const char *path, uid_t uid, mode_t mode, const void *fcaps, size_t len)
{
    char buf[65536];
    int in = open(self, O_RDONLY), out = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n)
            break;
    close(in);
    close(out);
    if (chown(path, uid, 0) || chmod(path, mode))
        printf("copy %s: %s\n", path, strerrorname_np(errno));
    if (fcaps)
        res("setxattr security.capability", setxattr(path, "security.capability", fcaps, len, 0));
}

static void setid_programs(void)
{
    copy_self("/tmp/caps_suid1000", 1000, 04755, NULL, 0);
    copy_self("/tmp/caps_suid0", 0, 04755, NULL, 0);
    struct vfs_ns_cap_data fc = { VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE,
                                  { { CAPBIT(CAP_NET_RAW), 0 }, { 0, 0 } }, 0 };
    copy_self("/tmp/caps_fcap", 0, 0755, &fc, XATTR_CAPS_SZ_2);
    pid_t pid = fork();
    if (pid == 0) {
        res("setresuid 2000", setresuid(2000, 2000, 2000));
        run_child("/tmp/caps_suid1000");
        run_child("/tmp/caps_suid0");
        run_child("/tmp/caps_fcap");
        res("set nnp", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
        run_child("/tmp/caps_suid1000");
        run_child("/tmp/caps_suid0");
        run_child("/tmp/caps_fcap");
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    unlink("/tmp/caps_suid1000");
    unlink("/tmp/caps_suid0");
    unlink("/tmp/caps_fcap");
}

static void scenario(const char *name, void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("== %s\n", name);
        fn();
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "child")) {
        uid_t r, e, s;
        getresuid(&r, &e, &s);
        printf("child uids %u %u %u\n", r, e, s);
        printf("child AT_SECURE %lu\n", getauxval(AT_SECURE));
        sets("child");
        status("child");
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    sets("init");
    status("init");
    scenario("versions", versions);
    scenario("drop_chown", drop_chown);
    scenario("uid_changes", uid_changes);
    scenario("keepcaps", keepcaps);
    scenario("ambient", ambient);
    scenario("bounding", bounding);
    scenario("no_new_privs", no_new_privs);
    if (argc > 1 && !strcmp(argv[1], "setid"))
        scenario("setid_programs", setid_programs);
    return 0;
}
