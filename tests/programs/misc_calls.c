/* Small process calls, each checked against Linux: ids, prctl names, sendfile offsets,
 * madvise(MADV_DONTNEED), getrandom, gettimeofday, get_robust_list, and exit(2) of the
 * only thread. Works in a fresh directory under /tmp. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    printf("pid == tid: %s\n", getpid() == (pid_t)syscall(SYS_gettid) ? "yes" : "no");
    printf("ids: uid=%d euid=%d gid=%d egid=%d\n", getuid(), geteuid(), getgid(), getegid());
    pid_t me = getpid();
    fflush(stdout);                        /* or the child would print our buffered lines again */
    pid_t child = fork();
    if (child == 0) {
        printf("child's parent is us: %s\n", getppid() == me ? "yes" : "no");
        fflush(stdout);
        syscall(SYS_exit, 7);              /* exit(2), not exit_group: the only thread ends the process */
    }
    int status;
    waitpid(child, &status, 0);
    printf("exit(2) status: %d\n", WEXITSTATUS(status));

    char name[16] = {0};
    prctl(PR_SET_NAME, "renamed-process-long");
    prctl(PR_GET_NAME, name);
    printf("PR_GET_NAME: %s\n", name);
    printf("PR_SET_NAME to 16 bytes keeps 15: %zu\n", strlen(name));
    printf("PR_SET_PDEATHSIG 99: %s\n", prctl(PR_SET_PDEATHSIG, 99) == -1 ? strerror(errno) : "ok");
    prctl(PR_SET_PDEATHSIG, 9);
    int sig = 0;
    prctl(PR_GET_PDEATHSIG, &sig);
    printf("PR_GET_PDEATHSIG: %d\n", sig);
    printf("PR_GET_DUMPABLE: %d\n", prctl(PR_GET_DUMPABLE));
    errno = 0;
    printf("unknown option: %d %s\n", prctl(0x7fff0000), strerror(errno));

    char dir[64], src[96], dst[96];
    snprintf(dir, sizeof dir, "/tmp/misc_calls.%d", (int)me);
    mkdir(dir, 0700);
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(dst, sizeof dst, "%s/dst", dir);
    int in = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(in, "0123456789abcdef", 16);
    int out = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0600);
    off_t off = 4;
    printf("sendfile at offset 4: %zd, offset now %ld, in's position %ld\n",
           sendfile(out, in, &off, 6), (long)off, (long)lseek(in, 0, SEEK_CUR));
    lseek(in, 10, SEEK_SET);
    printf("sendfile from position: %zd, position now %ld\n", sendfile(out, in, NULL, 100),
           (long)lseek(in, 0, SEEK_CUR));
    char buf[32] = {0};
    pread(out, buf, sizeof buf - 1, 0);
    printf("copied: %s\n", buf);
    int app = open(dst, O_WRONLY | O_APPEND);
    errno = 0;
    printf("sendfile to O_APPEND: %zd %s\n", sendfile(app, in, &off, 1), strerror(errno));
    unlink(src); unlink(dst); rmdir(dir);

    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 'x', 8192);
    madvise(p, 4096, MADV_DONTNEED);
    printf("MADV_DONTNEED zeroes: %s, keeps the rest: %s\n", p[0] == 0 ? "yes" : "no", p[4096] == 'x' ? "yes" : "no");

    unsigned char rnd[32];
    printf("getrandom: %zd\n", getrandom(rnd, sizeof rnd, 0));
    struct timeval tv;
    printf("gettimeofday: %s\n", gettimeofday(&tv, NULL) == 0 && tv.tv_sec > 1600000000 ? "plausible" : "WRONG");
    void *head; size_t len;
    printf("get_robust_list: %ld len %zu\n", syscall(SYS_get_robust_list, 0, &head, &len), len);
    struct utsname u;
    uname(&u);
    char old_domain[sizeof u.domainname];
    memcpy(old_domain, u.domainname, sizeof old_domain);   /* the oracle VM is shared: put it back */
    printf("setdomainname: %d\n", setdomainname("moss.test", 9));
    uname(&u);
    printf("domainname: %s\n", u.domainname);
    errno = 0;
    char long_name[80];
    memset(long_name, 'x', sizeof long_name);
    printf("setdomainname too long: %d %s\n", setdomainname(long_name, 65), strerror(errno));
    setdomainname(old_domain, strlen(old_domain));
    return 0;
}
