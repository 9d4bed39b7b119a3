/* ICMP echo over the loopback, compared with Linux: ping sockets (SOCK_DGRAM + IPPROTO_ICMP
 * and ICMPV6) under net.ipv4.ping_group_range (EACCES by default, allowed once the range
 * holds the caller's group; the range is put back at the end), their checks of the header
 * and the address, the ident the kernel puts in, IP_RECVTTL/IPV6_RECVHOPLIMIT; raw ICMP
 * sockets (root: allowed; without CAP_NET_RAW: EPERM): the request and the reply behind
 * their IP header, ICMP_FILTER; the Icmp counters of /proc/net/snmp (as differences). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#define REPORT_SHOW
#include "report.h"

#define RANGE "/proc/sys/net/ipv4/ping_group_range"

static void set_range(const char *v)
{
    int fd = open(RANGE, O_WRONLY);
    show("write ping_group_range", write(fd, v, strlen(v)));
    close(fd);
}

static void show_range(void)
{
    char buf[64] = {0};
    int fd = open(RANGE, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    for (char *p = buf; *p; p++)
        if (*p == '\t')
            *p = ' ';
    printf("ping_group_range (%zd): %s", n, buf);
}

static uint16_t csum(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += p[i] << 8 | p[i + 1];
    if (n & 1)
        s += p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xFFFF) + (s >> 16);
    return htons(~s & 0xFFFF);
}

static size_t echo(uint8_t *buf, int type, uint16_t id, uint16_t seq, size_t payload)
{
    memset(buf, 0, 8);
    buf[0] = type;
    memcpy(buf + 4, &(uint16_t){htons(id)}, 2);
    memcpy(buf + 6, &(uint16_t){htons(seq)}, 2);
    for (size_t i = 0; i < payload; i++)
        buf[8 + i] = 'a' + i % 26;
    uint16_t c = csum(buf, 8 + payload);
    memcpy(buf + 2, &c, 2);
    return 8 + payload;
}

static int ready(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 2000);
}

/* Receive one message: its ICMP type, code, id (as "mine" or not), sequence, length, the
 * cmsgs asked for and whether the checksum holds. */
static void recv_icmp(const char *what, int fd, int hdr, uint16_t mine)
{
    uint8_t buf[2048], ctl[256];
    struct sockaddr_storage from;
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = ctl, .msg_controllen = sizeof ctl};
    if (ready(fd) <= 0) {
        printf("%s: nothing\n", what);
        return;
    }
    ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
    if (n < 0) {
        printf("%s: %s\n", what, strerrorname_np(errno));
        return;
    }
    char ip[INET6_ADDRSTRLEN];
    if (from.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, ip, sizeof ip);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, ip, sizeof ip);
    printf("%s: %zd bytes from %s port %d namelen %d", what, n, ip,
           ntohs(((struct sockaddr_in *)&from)->sin_port), (int)m.msg_namelen);
    if (hdr) {
        int ihl = (buf[0] & 15) * 4;
        printf(" ip v%d ihl %d len %d ttl %d proto %d", buf[0] >> 4, ihl, buf[2] << 8 | buf[3], buf[8], buf[9]);
        printf(" hdrsum %s", csum(buf, ihl) == 0 ? "ok" : "bad");
    }
    uint8_t *icmp = buf + (hdr ? (buf[0] & 15) * 4 : 0);
    uint16_t id = icmp[4] << 8 | icmp[5], seq = icmp[6] << 8 | icmp[7];
    printf(" type %d code %d id %s seq %d", icmp[0], icmp[1], id == mine ? "mine" : "other", seq);
    if (from.ss_family == AF_INET)
        printf(" sum %s", csum(icmp, n - (icmp - buf)) == 0 ? "ok" : "bad");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        printf(" cmsg %d/%d=%d", c->cmsg_level, c->cmsg_type, *(int *)CMSG_DATA(c));
    printf(" flags %#x\n", m.msg_flags);
}

static uint16_t port_of(int fd)
{
    struct sockaddr_in6 a;
    socklen_t n = sizeof a;
    getsockname(fd, (void *)&a, &n);
    return ntohs(a.sin6_port);
}

static long snmp(const char *group, const char *field)
{
    char names[4096], values[4096];
    FILE *f = fopen("/proc/net/snmp", "r");
    long v = -1;
    while (fgets(names, sizeof names, f) && fgets(values, sizeof values, f)) {
        if (strncmp(names, group, strlen(group)) || names[strlen(group)] != ':')
            continue;
        char *sn, *sv;
        char *n = strtok_r(names, " \n", &sn), *x = strtok_r(values, " \n", &sv);
        while ((n = strtok_r(NULL, " \n", &sn)) && (x = strtok_r(NULL, " \n", &sv)))
            if (!strcmp(n, field))
                v = atol(x);
    }
    fclose(f);
    return v;
}

static const char *fields[] = {"InMsgs", "InEchos", "InEchoReps", "OutMsgs", "OutEchos", "OutEchoReps"};

int main(void)
{
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 lo6 = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
    uint8_t buf[256];
    long before[6];
    for (int i = 0; i < 6; i++)
        before[i] = snmp("Icmp", fields[i]);

    show_range();
    show("ping socket, default range", socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
    show("ping6 socket, default range", socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6));
    set_range("0 2147483647");
    show_range();
    set_range("5 3");
    show_range();
    set_range("-1 5");
    set_range("0 2147483647");

    int p = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    show("ping socket", p);
    /* header checks, before any address is looked at */
    show("send 7 bytes", sendto(p, buf, 7, 0, (void *)&lo, sizeof lo));
    echo(buf, ICMP_ECHOREPLY, 1, 1, 8);
    show("send an echo reply", sendto(p, buf, 16, 0, (void *)&lo, sizeof lo));
    echo(buf, ICMP_ECHO, 1, 1, 8);
    buf[1] = 1;
    show("send code 1", sendto(p, buf, 16, 0, (void *)&lo, sizeof lo));
    echo(buf, ICMP_ECHO, 1, 1, 8);
    show("send with no address", send(p, buf, 16, 0));
    show("send with a short address", sendto(p, buf, 16, 0, (void *)&lo, 8));
    show("send to AF_INET6", sendto(p, buf, 16, 0, (void *)&lo6, sizeof lo6));
    show("send MSG_OOB", sendto(p, buf, 16, MSG_OOB, (void *)&lo, sizeof lo));
    show("recv MSG_ERRQUEUE", recv(p, buf, sizeof buf, MSG_ERRQUEUE | MSG_DONTWAIT));
    show("setsockopt IP_RECVTTL", setsockopt(p, IPPROTO_IP, IP_RECVTTL, &(int){1}, sizeof(int)));
    show("setsockopt ICMP_FILTER on a ping socket",
         setsockopt(p, SOL_RAW, ICMP_FILTER, &(int){0}, sizeof(int)));
    uint16_t ident = port_of(p);
    printf("ident: %s\n", ident ? "set" : "0");
    /* the id the caller writes is replaced by the ident */
    show("send echo seq 1", sendto(p, buf, echo(buf, ICMP_ECHO, 4242, 1, 56), 0, (void *)&lo, sizeof lo));
    recv_icmp("reply", p, 0, ident);
    show("send echo seq 2 (3 payload bytes)", sendto(p, buf, echo(buf, ICMP_ECHO, 0, 2, 3), 0, (void *)&lo, sizeof lo));
    recv_icmp("reply", p, 0, ident);
    show("send echo seq 3 to 127.1.2.3", sendto(p, buf, echo(buf, ICMP_ECHO, 0, 3, 16), 0,
         (void *)&(struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f010203)}, sizeof lo));
    recv_icmp("reply", p, 0, ident);
    show("send echo seq 4", sendto(p, buf, echo(buf, ICMP_ECHO, 0, 4, 100), 0, (void *)&lo, sizeof lo));
    show("recv 10 of it", recv(p, buf, 10, 0));
    show("connect", connect(p, (void *)&lo, sizeof lo));
    show("send (connected) seq 5", send(p, buf, echo(buf, ICMP_ECHO, 0, 5, 8), 0));
    recv_icmp("reply", p, 0, ident);
    close(p);

    int p6 = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
    show("ping6 socket", p6);
    show("setsockopt IPV6_RECVHOPLIMIT", setsockopt(p6, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &(int){1}, sizeof(int)));
    show("send6 an echo request (type 8)", sendto(p6, buf, echo(buf, ICMP_ECHO, 0, 1, 8), 0, (void *)&lo6, sizeof lo6));
    echo(buf, 128, 0, 1, 24);
    buf[2] = buf[3] = 0;                /* the kernel sums it */
    show("send6 echo seq 1", sendto(p6, buf, 32, 0, (void *)&lo6, sizeof lo6));
    recv_icmp("reply6", p6, 0, port_of(p6));
    close(p6);

    /* raw ICMP: root may */
    int r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    show("raw socket", r);
    show("send raw echo seq 1", sendto(r, buf, echo(buf, ICMP_ECHO, 777, 1, 56), 0, (void *)&lo, sizeof lo));
    recv_icmp("raw 1", r, 1, 777);
    recv_icmp("raw 2", r, 1, 777);
    show("ICMP_FILTER: no echo requests",
         setsockopt(r, SOL_RAW, ICMP_FILTER, &(uint32_t){1 << ICMP_ECHO}, sizeof(uint32_t)));
    uint32_t filt = 0;
    socklen_t fl = sizeof filt;
    show("getsockopt ICMP_FILTER", getsockopt(r, SOL_RAW, ICMP_FILTER, &filt, &fl));
    printf("filter %#x len %d\n", filt, (int)fl);
    show("send raw echo seq 2", sendto(r, buf, echo(buf, ICMP_ECHO, 777, 2, 56), 0, (void *)&lo, sizeof lo));
    recv_icmp("raw", r, 1, 777);
    show("recv raw again", recv(r, buf, sizeof buf, MSG_DONTWAIT));
    close(r);

    /* without CAP_NET_RAW (a user outside the range of groups, too) */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setgroups(0, NULL);
        setresgid(65534, 65534, 65534);
        setresuid(65534, 65534, 65534);
        show("user: raw socket", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
        show("user: raw6 socket", socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6));
        int u = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
        show("user: ping socket (group 65534 in range)", u);
        show("user: send echo", sendto(u, buf, echo(buf, ICMP_ECHO, 0, 9, 8), 0, (void *)&lo, sizeof lo));
        recv_icmp("user: reply", u, 0, port_of(u));
        show("user: write ping_group_range", open(RANGE, O_WRONLY));
        fflush(stdout);
        _exit(0);
    }
    printf("child: %d\n", status_of(pid));
    set_range("1 0");
    show_range();

    for (int i = 0; i < 6; i++)
        printf("Icmp %s: +%ld\n", fields[i], snmp("Icmp", fields[i]) - before[i]);
    return 0;
}
