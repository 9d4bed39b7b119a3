/* setfsuid/setfsgid decide who file operations act as, apart from the effective ids. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

static void try_open(const char *what, const char *path) {
    int fd = open(path, O_RDONLY);
    printf("%-34s %s\n", what, fd >= 0 ? "opened" : strerror(errno));
    if (fd >= 0) close(fd);
}

int main(void) {
    char dir[64], secret[96];
    snprintf(dir, sizeof dir, "/tmp/creds_fsuid.%d", (int)getpid());
    mkdir(dir, 0755);
    snprintf(secret, sizeof secret, "%s/secret", dir);
    int fd = open(secret, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    close(fd);
    try_open("as root:", secret);
    printf("setfsuid(1000) returns the old: %d\n", setfsuid(1000));
    try_open("fsuid 1000, euid still 0:", secret);
    printf("euid: %d\n", geteuid());
    int made = open("/tmp/creds_fsuid.owner", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    struct stat st;
    fstat(made, &st);
    printf("a new file is owned by the fsuid: %s\n", st.st_uid == 1000 ? "yes" : "no");
    close(made);
    unlink("/tmp/creds_fsuid.owner");
    printf("setfsuid(0) returns the old: %d\n", setfsuid(0));
    try_open("back to fsuid 0:", secret);
    printf("setfsgid(50) returns the old: %d\n", setfsgid(50));
    setfsgid(0);
    unlink(secret);
    rmdir(dir);
    return 0;
}
