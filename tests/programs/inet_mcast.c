/* UDP broadcast and multicast on the loopback, compared with Linux (a machine whose only
 * interface is lo): SO_BROADCAST (EACCES without it), who receives a broadcast, the limited
 * broadcast with no route; IP_ADD_MEMBERSHIP/IP_DROP_MEMBERSHIP and their errors,
 * IP_MULTICAST_IF/IP_MULTICAST_LOOP, each member socket's copy; IPV6_JOIN_GROUP.
 * Fixed ports are 44xx. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

static int udp(int family, const char *addr, int port)
{
    int s = socket(family, SOCK_DGRAM, 0);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
    if (family == AF_INET) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
        inet_pton(AF_INET, addr, &a.sin_addr);
        if (bind(s, (void *)&a, sizeof a) < 0)
            printf("bind %s: %s\n", addr, strerrorname_np(errno));
    } else {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
        inet_pton(AF_INET6, addr, &a.sin6_addr);
        if (bind(s, (void *)&a, sizeof a) < 0)
            printf("bind %s: %s\n", addr, strerrorname_np(errno));
    }
    return s;
}

static long send4(int s, const char *addr, int port, const char *msg)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, addr, &a.sin_addr);
    return sendto(s, msg, strlen(msg), 0, (void *)&a, sizeof a);
}

static long send6(int s, const char *addr, int port, const char *msg)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    inet_pton(AF_INET6, addr, &a.sin6_addr);
    return sendto(s, msg, strlen(msg), 0, (void *)&a, sizeof a);
}

/* Everything queued on each socket: its datagrams, in order. */
static void drain(const char *names[], int fds[], int n)
{
    msleep(50);
    for (int i = 0; i < n; i++) {
        char buf[64];
        printf("  %s:", names[i]);
        long r;
        while ((r = recv(fds[i], buf, sizeof buf - 1, MSG_DONTWAIT)) >= 0) {
            buf[r] = 0;
            printf(" [%s]", buf);
        }
        printf("\n");
    }
}

static int join4(int s, const char *group, const char *ifaddr, int opt)
{
    struct ip_mreq m;
    inet_pton(AF_INET, group, &m.imr_multiaddr);
    inet_pton(AF_INET, ifaddr, &m.imr_interface);
    return setsockopt(s, IPPROTO_IP, opt, &m, sizeof m);
}

int main(void)
{
    /* broadcast */
    int any1 = udp(AF_INET, "0.0.0.0", 4400), any2 = udp(AF_INET, "0.0.0.0", 4400);
    int one = udp(AF_INET, "127.0.0.1", 4400), bc = udp(AF_INET, "127.255.255.255", 4400);
    int tx = socket(AF_INET, SOCK_DGRAM, 0);
    const char *bnames[] = {"any1", "any2", "127.0.0.1", "127.255.255.255"};
    int bfds[] = {any1, any2, one, bc};
    show("send 127.255.255.255 without SO_BROADCAST", send4(tx, "127.255.255.255", 4400, "b0"));
    show("send 255.255.255.255 without SO_BROADCAST", send4(tx, "255.255.255.255", 4400, "b1"));
    show("SO_BROADCAST", setsockopt(tx, SOL_SOCKET, SO_BROADCAST, &(int){1}, sizeof(int)));
    show("send 127.255.255.255", send4(tx, "127.255.255.255", 4400, "b2"));
    show("send 255.255.255.255", send4(tx, "255.255.255.255", 4400, "b3"));
    show("send 127.0.0.1", send4(tx, "127.0.0.1", 4400, "u1"));
    drain(bnames, bfds, 4);
    int ctx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in bca = {.sin_family = AF_INET, .sin_port = htons(4400)};
    inet_pton(AF_INET, "127.255.255.255", &bca.sin_addr);
    show("connect to 127.255.255.255 without SO_BROADCAST", connect(ctx, (void *)&bca, sizeof bca));
    close(ctx);

    /* multicast */
    int m1 = udp(AF_INET, "0.0.0.0", 4410), m2 = udp(AF_INET, "0.0.0.0", 4410);
    int m3 = udp(AF_INET, "239.1.2.3", 4410), nonmember = udp(AF_INET, "0.0.0.0", 4410);
    const char *mnames[] = {"m1", "m2", "m3 (bound to the group)", "not a member"};
    int mfds[] = {m1, m2, m3, nonmember};
    show("join 239.1.2.3 on any interface", join4(m1, "239.1.2.3", "0.0.0.0", IP_ADD_MEMBERSHIP));
    show("join 239.1.2.3 on 127.0.0.1", join4(m1, "239.1.2.3", "127.0.0.1", IP_ADD_MEMBERSHIP));
    show("join it again", join4(m1, "239.1.2.3", "127.0.0.1", IP_ADD_MEMBERSHIP));
    show("join 10.1.2.3", join4(m1, "10.1.2.3", "127.0.0.1", IP_ADD_MEMBERSHIP));
    show("join on 10.9.9.9", join4(m1, "239.1.2.4", "10.9.9.9", IP_ADD_MEMBERSHIP));
    show("drop 239.1.2.5 (not joined)", join4(m1, "239.1.2.5", "127.0.0.1", IP_DROP_MEMBERSHIP));
    show("short ip_mreq", setsockopt(m1, IPPROTO_IP, IP_ADD_MEMBERSHIP, "abc", 3));
    show("m2 joins", join4(m2, "239.1.2.3", "127.0.0.1", IP_ADD_MEMBERSHIP));
    show("m3 joins", join4(m3, "239.1.2.3", "127.0.0.1", IP_ADD_MEMBERSHIP));
    int mtx = socket(AF_INET, SOCK_DGRAM, 0);
    show("send to the group with no route", send4(mtx, "239.1.2.3", 4410, "g0"));
    struct in_addr lo = {htonl(INADDR_LOOPBACK)};
    show("IP_MULTICAST_IF 127.0.0.1", setsockopt(mtx, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo));
    struct in_addr got;
    socklen_t gl = sizeof got;
    show("getsockopt IP_MULTICAST_IF", getsockopt(mtx, IPPROTO_IP, IP_MULTICAST_IF, &got, &gl));
    printf("  %s len %d\n", inet_ntoa(got), (int)gl);
    show("send to the group", send4(mtx, "239.1.2.3", 4410, "g1"));
    drain(mnames, mfds, 4);
    show("m2 drops", join4(m2, "239.1.2.3", "127.0.0.1", IP_DROP_MEMBERSHIP));
    show("IP_MULTICAST_LOOP 0", setsockopt(mtx, IPPROTO_IP, IP_MULTICAST_LOOP, &(int){0}, sizeof(int)));
    show("send to the group", send4(mtx, "239.1.2.3", 4410, "g2"));
    drain(mnames, mfds, 4);
    show("IP_MULTICAST_LOOP 1", setsockopt(mtx, IPPROTO_IP, IP_MULTICAST_LOOP, &(int){1}, sizeof(int)));
    show("send to the group", send4(mtx, "239.1.2.3", 4410, "g3"));
    drain(mnames, mfds, 4);
    show("IP_MULTICAST_ALL 0 on the non-member and on m2",
         setsockopt(nonmember, IPPROTO_IP, IP_MULTICAST_ALL, &(int){0}, sizeof(int)) |
         setsockopt(m2, IPPROTO_IP, IP_MULTICAST_ALL, &(int){0}, sizeof(int)));
    show("send to the group", send4(mtx, "239.1.2.3", 4410, "g4"));
    drain(mnames, mfds, 4);

    /* IPv6 */
    int s1 = udp(AF_INET6, "::", 4420), s2 = udp(AF_INET6, "::", 4420);
    const char *snames[] = {"v6 member", "v6 not a member"};
    int sfds[] = {s1, s2};
    struct ipv6_mreq m6 = {.ipv6mr_interface = 1};
    inet_pton(AF_INET6, "ff15::1234", &m6.ipv6mr_multiaddr);
    show("IPV6_JOIN_GROUP ff15::1234 on lo", setsockopt(s1, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m6, sizeof m6));
    show("join it again", setsockopt(s1, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m6, sizeof m6));
    struct ipv6_mreq bad = {.ipv6mr_interface = 1, .ipv6mr_multiaddr = in6addr_loopback};
    show("join ::1", setsockopt(s1, IPPROTO_IPV6, IPV6_JOIN_GROUP, &bad, sizeof bad));
    int tx6 = socket(AF_INET6, SOCK_DGRAM, 0);
    show("IPV6_MULTICAST_IF 1", setsockopt(tx6, IPPROTO_IPV6, IPV6_MULTICAST_IF, &(int){1}, sizeof(int)));
    show("send to ff15::1234", send6(tx6, "ff15::1234", 4420, "s1"));
    drain(snames, sfds, 2);
    show("IPV6_LEAVE_GROUP", setsockopt(s1, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &m6, sizeof m6));
    show("leave it again", setsockopt(s1, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &m6, sizeof m6));
    show("send to ff15::1234", send6(tx6, "ff15::1234", 4420, "s2"));
    drain(snames, sfds, 2);
    printf("done\n");
    return 0;
}
