/* Forks in a loop, the children writing the same globals and stack words every time (the
 * pages a fork may copy at once instead of sharing copy-on-write): each side sees only its
 * own stores, before and after the other's, for a child that exits and one that waits. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long counter = 100;
static char big[3 * 4096] = "data";

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int round = 0; round < 6; round++) {
        volatile long local = round * 10;
        int go[2];
        pipe(go);
        pid_t pid = fork();
        if (pid == 0) {
            char c;
            counter += 1000;
            local += 1;
            big[4096] = 'c';
            if (round % 2)
                read(go[0], &c, 1);     /* the parent writes first this time */
            printf("round %d child: counter %ld local %ld big %c%c\n", round, counter, local,
                   big[0], big[4096] ? big[4096] : '-');
            _exit(0);
        }
        counter += 1;
        local += 2;
        big[4096] = 'p';
        write(go[1], "x", 1);
        int st;
        waitpid(pid, &st, 0);
        printf("round %d parent: counter %ld local %ld big %c%c status %d\n", round, counter, local,
               big[0], big[4096], WEXITSTATUS(st));
        big[4096] = 0;
        close(go[0]);
        close(go[1]);
    }
    return 0;
}
