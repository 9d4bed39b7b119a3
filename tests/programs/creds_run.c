/* creds_run UID GID [GROUP,...|-] PROG ARGS...: become UID/GID (real, effective, saved) with the given
 * supplementary groups ("-" for none) and exec PROG -- a tiny setpriv --reuid/--regid for tests. */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: creds_run UID GID GROUPS|- PROG ARGS...\n");
        return 2;
    }
    gid_t groups[64];
    int n = 0;
    if (strcmp(argv[3], "-") != 0)
        for (char *tok = strtok(argv[3], ","); tok && n < 64; tok = strtok(NULL, ","))
            groups[n++] = (gid_t)strtoul(tok, NULL, 10);
    uid_t uid = (uid_t)strtoul(argv[1], NULL, 10);
    gid_t gid = (gid_t)strtoul(argv[2], NULL, 10);
    if (setgroups(n, groups) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
        perror("creds_run");
        return 1;
    }
    execv(argv[4], argv + 4);
    perror("creds_run: exec");
    return 127;
}
