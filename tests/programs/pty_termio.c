/* The System V terminal ioctls stress-ng's pty stressor makes on a pseudo-terminal: TCGETA
 * (struct termio: the low 16 bits of each flag word, c_line, c_cc[8]), TCSETA/TCSETAW/TCSETAF
 * (which replace those bits and keep the rest), and TIOCGLCKTRMIOS (nothing locked). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termio.h>
#include <termios.h>
#include <unistd.h>

#include "report.h"

static void show_termio(const char *what, int fd)
{
    struct termio io;
    memset(&io, 0xee, sizeof io);
    long r = ioctl(fd, TCGETA, &io);
    if (r < 0) {
        rc(what, r);
        return;
    }
    printf("%s: iflag %#o oflag %#o cflag %#o lflag %#o line %d cc", what, io.c_iflag, io.c_oflag,
           io.c_cflag, io.c_lflag, io.c_line);
    for (int i = 0; i < NCC; i++)
        printf(" %d", io.c_cc[i]);
    printf(" pad %#x\n", ((unsigned char *)&io)[17]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    show_termio("TCGETA follower", s);
    show_termio("TCGETA leader", m);

    struct termio io;
    ioctl(s, TCGETA, &io);
    io.c_lflag &= ~(ECHO | ICANON);
    io.c_cc[VMIN] = 3;
    rc("TCSETA", ioctl(s, TCSETA, &io));
    show_termio("after TCSETA", s);
    struct termios t;
    tcgetattr(s, &t);
    printf("TCGETS: lflag %#o VMIN %d VEOL2 %d speed %d\n", t.c_lflag, t.c_cc[VMIN], t.c_cc[VEOL2],
           (int)cfgetospeed(&t));
    io.c_oflag = 0;
    rc("TCSETAW", ioctl(s, TCSETAW, &io));
    io.c_iflag = IGNBRK;
    rc("TCSETAF", ioctl(s, TCSETAF, &io));
    show_termio("after TCSETAW, TCSETAF", s);

    struct termios locked;
    memset(&locked, 0xee, sizeof locked);
    rc("TIOCGLCKTRMIOS follower", ioctl(s, TIOCGLCKTRMIOS, &locked));
    int zero = 1;
    for (size_t i = 0; i < 36; i++)         /* the kernel's struct termios: 4 words, c_line, c_cc[19] */
        zero &= ((unsigned char *)&locked)[i] == 0;
    printf("  locked bits all zero: %s\n", zero ? "yes" : "no");
    rc("TIOCGLCKTRMIOS leader", ioctl(m, TIOCGLCKTRMIOS, &locked));

    int p[2];
    pipe(p);
    rc("TCGETA on a pipe", ioctl(p[0], TCGETA, &io));
    rc("TCSETA on a pipe", ioctl(p[0], TCSETA, &io));
    rc("TCGETA bad address", ioctl(s, TCGETA, (void *)8));
    return 0;
}
