/* inet_udp_echo PORT COUNT: bind UDP 0.0.0.0:PORT, print "ready", then answer COUNT datagrams
 * with "echo:" + the datagram, to its sender; prints each sender's address. For the host-side
 * tests of port forwards and outbound datagrams (tests/qemu/test_inet.py). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 9000, count = argc > 2 ? atoi(argv[2]) : 1;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (bind(s, (void *)&a, sizeof a) < 0) {
        perror("bind");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < count; i++) {
        char buf[2048], out[2100];
        struct sockaddr_in from;
        socklen_t n = sizeof from;
        ssize_t r = recvfrom(s, buf, sizeof buf, 0, (void *)&from, &n);
        if (r < 0) {
            perror("recvfrom");
            return 1;
        }
        memcpy(out, "echo:", 5);
        memcpy(out + 5, buf, r);
        sendto(s, out, r + 5, 0, (void *)&from, n);
        printf("from %s\n", inet_ntoa(from.sin_addr));
        fflush(stdout);
    }
    return 0;
}
