/* Lock contention: 4 processes each append 150 fixed-size records to one file, taking a
 * whole-file F_SETLKW write lock and writing each record in two halves at the end they find.
 * Without working locks records interleave or overwrite each other; the parent checks that
 * every record is whole and that none is missing. argv[1]: the file (default /tmp). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROCS 4
#define RECORDS 150
#define RECLEN 32

static int lockw(int fd, short type)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET};
    return fcntl(fd, F_SETLKW, &fl);
}

static void writer(const char *path, int id)
{
    int fd = open(path, O_RDWR);
    for (int i = 0; i < RECORDS; i++) {
        char rec[RECLEN + 1];
        snprintf(rec, sizeof rec, "p%d record %06d ..............", id, i);
        rec[RECLEN - 1] = '\n';
        if (lockw(fd, F_WRLCK) < 0)
            _exit(2);
        off_t end = lseek(fd, 0, SEEK_END);
        pwrite(fd, rec, RECLEN / 2, end);
        if (i % 16 == 0)
            usleep(1000);                      /* hold the lock across a sleep now and then */
        pwrite(fd, rec + RECLEN / 2, RECLEN / 2, end + RECLEN / 2);
        lockw(fd, F_UNLCK);
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/locks_append.dat";
    close(open(path, O_RDWR | O_CREAT | O_TRUNC, 0644));
    for (int id = 0; id < PROCS; id++)
        if (fork() == 0)
            writer(path, id);
    int bad_exit = 0, status;
    while (wait(&status) > 0)
        bad_exit += !WIFEXITED(status) || WEXITSTATUS(status);
    FILE *f = fopen(path, "r");
    char line[128];
    int count[PROCS] = {0}, next[PROCS] = {0}, torn = 0, out_of_order = 0;
    while (fgets(line, sizeof line, f)) {
        int id, seq;
        if (strlen(line) != RECLEN || sscanf(line, "p%d record %d", &id, &seq) != 2 || id < 0 || id >= PROCS) {
            torn++;
            continue;
        }
        out_of_order += seq != next[id];
        next[id] = seq + 1;
        count[id]++;
    }
    fclose(f);
    unlink(path);
    for (int id = 0; id < PROCS; id++)
        printf("p%d: %d records\n", id, count[id]);
    printf("torn %d, out of order %d, failed writers %d\n", torn, out_of_order, bad_exit);
    return torn || out_of_order || bad_exit;
}
