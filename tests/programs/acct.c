/* BSD process accounting: acct(2)'s checks, then a record per process that ends while it is
 * on -- one that exits 3, one killed by SIGTERM, one by SIGSEGV with a core, one that exec'd
 * -- read back from the file: version, flags (without ASU), exit code, ids, command name,
 * start time and elapsed time in range. acct(NULL) at the end leaves accounting off. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acct.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG "/tmp/acct.log"

static const char *err(long r)
{
    static char buf[48];
    if (r >= 0)
        snprintf(buf, sizeof buf, "%ld", r);
    else
        snprintf(buf, sizeof buf, "-1 %s", strerrorname_np(errno));
    return buf;
}

static double comp(comp_t c)
{
    return (double)(c & 0x1fff) * (1 << (3 * (c >> 13)));
}

static pid_t spawn(int how)
{
    pid_t p = fork();
    if (p)
        return p;
    if (how == 0)
        _exit(3);
    if (how == 1)
        raise(SIGTERM);
    if (how == 2) {
        struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
        setrlimit(RLIMIT_CORE, &r);
        chdir("/tmp");
        *(volatile int *)(uintptr_t)getpid() = 0;     /* an address nothing maps */
    }
    if (how == 3)
        execl("/bin/true", "true", (char *)NULL);
    _exit(9);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("dir: %s\n", err(acct("/tmp")));
    printf("device: %s\n", err(acct("/dev/null")));
    printf("missing: %s\n", err(acct("/tmp/no/such")));
    printf("empty: %s\n", err(acct("")));
    printf("fault: %s\n", err(acct((char *)8)));
    printf("off when off: %s\n", err(acct(NULL)));
    pid_t c = fork();
    if (c == 0) {
        setuid(65534);
        printf("unprivileged: %s\n", err(acct(LOG)));
        _exit(0);
    }
    waitpid(c, NULL, 0);

    unlink(LOG);
    close(open(LOG, O_CREAT | O_WRONLY, 0600));
    time_t start = time(NULL);
    printf("on: %s\n", err(acct(LOG)));
    pid_t pids[4];
    for (int i = 0; i < 4; i++) {
        pids[i] = spawn(i);
        int st;
        waitpid(pids[i], &st, 0);
    }
    printf("off: %s\n", err(acct(NULL)));
    unlink("/tmp/core");

    int fd = open(LOG, O_RDONLY);
    struct acct_v3 rec;
    const char *names[] = {"exit 3", "SIGTERM", "SIGSEGV", "exec"};
    int found[4] = {0};
    while (read(fd, &rec, sizeof rec) == sizeof rec) {
        for (int i = 0; i < 4; i++) {
            if (rec.ac_pid != (uint32_t)pids[i])
                continue;
            found[i] = 1;
            printf("%s: version %d flags %#x exitcode %#x uid %u gid %u ppid ok %d comm %.16s btime ok %d "
                   "etime ok %d utime ok %d\n",
                   names[i], rec.ac_version, rec.ac_flag & ~ASU, rec.ac_exitcode, rec.ac_uid, rec.ac_gid,
                   rec.ac_ppid == (uint32_t)getpid(), rec.ac_comm, rec.ac_btime >= start - 2 && rec.ac_btime <= time(NULL),
                   rec.ac_etime >= 0 && rec.ac_etime < 1000, comp(rec.ac_utime) < 1000);
        }
    }
    close(fd);
    for (int i = 0; i < 4; i++)
        if (!found[i])
            printf("%s: no record\n", names[i]);
    struct stat st;
    stat(LOG, &st);
    printf("record size %zu, file a whole number of records %d\n", sizeof rec, st.st_size % 64 == 0);
    unlink(LOG);
    return 0;
}
