/* TIME_WAIT over the loopback, compared with Linux: the side that closes first keeps its
 * address and port (a bind of the port without SO_REUSEADDR is EADDRINUSE; with it, allowed
 * when the closed socket had set it too); the side that closes second keeps nothing;
 * /proc/net/tcp shows the connection in state 06. Fixed ports are 43xx. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

static struct sockaddr_in lo4(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int bound(int port, int reuse)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    struct sockaddr_in a = lo4(port);
    if (bind(s, (void *)&a, sizeof a) < 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    return s;
}

static void try_bind(const char *what, int port, int reuse)
{
    int s = bound(port, reuse);
    show(what, s < 0 ? -1 : 0);
    if (s >= 0)
        close(s);
}

/* The states /proc/net/tcp shows for the local port. */
static void states(int port)
{
    char line[256], want[16];
    snprintf(want, sizeof want, ":%04X ", port);
    FILE *f = fopen("/proc/net/tcp", "r");
    printf("port %d:", port);
    fgets(line, sizeof line, f);
    while (fgets(line, sizeof line, f)) {
        char *local = strchr(line, ':') + 2;
        if (!strncmp(local + 8, want, 6))
            printf(" %.2s", local + 28);
    }
    fclose(f);
    printf("\n");
}

/* A connection from client_port to server_port; `server_first`: the accepted end closes first. */
static void exchange(int server_port, int client_port, int reuse, int server_first)
{
    int l = bound(server_port, reuse);
    show("listen", listen(l, 1));
    int c = bound(client_port, 0);
    struct sockaddr_in a = lo4(server_port);
    show("connect", connect(c, (void *)&a, sizeof a));
    int s = accept(l, NULL, NULL);
    close(l);
    char b;
    if (server_first) {
        close(s);
        show("client reads EOF", read(c, &b, 1));
        close(c);
    } else {
        close(c);
        show("server reads EOF", read(s, &b, 1));
        close(s);
    }
    msleep(100);
    states(server_port);
    states(client_port);
}

int main(void)
{
    printf("-- the server closes first, its listener without SO_REUSEADDR\n");
    exchange(4310, 4311, 0, 1);
    try_bind("bind server port", 4310, 0);
    try_bind("bind server port, SO_REUSEADDR", 4310, 1);
    try_bind("bind client port", 4311, 0);

    printf("-- the server closes first, its listener with SO_REUSEADDR\n");
    exchange(4320, 4321, 1, 1);
    try_bind("bind server port", 4320, 0);
    try_bind("bind server port, SO_REUSEADDR", 4320, 1);
    int again = bound(4320, 1);
    show("listen again on it", listen(again, 1));
    close(again);

    printf("-- the client closes first\n");
    exchange(4330, 4331, 1, 0);
    try_bind("bind server port", 4330, 0);
    try_bind("bind client port", 4331, 0);
    try_bind("bind client port, SO_REUSEADDR", 4331, 1);
    printf("done\n");
    return 0;
}
