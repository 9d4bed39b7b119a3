"""The SNMP counters of /proc/net/snmp, /proc/net/snmp6 and /proc/net/netstat (Linux's
net/ipv4/proc.c, net/ipv6/proc.c), with Linux 6.1's field lists.

moss-py moves no packets over the loopback except ICMP, so the counters count what it can
see: an ICMP message (one IP packet), a UDP datagram, a TCP send or handshake (one segment,
both out and in when the peer is in the guest). Fields nothing here ever counts stay 0.
CurrEstab is counted when read, as Linux's tcp_mib reads its socket count.
"""
from __future__ import annotations

from typing import Callable

from .interfaces import NETWORK

IP_FIELDS = ("Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos "
             "InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs "
             "ReasmFails FragOKs FragFails FragCreates").split()
ICMP_FIELDS = ("InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects "
               "InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors "
               "OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs "
               "OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks "
               "OutAddrMaskReps").split()
TCP_FIELDS = ("RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab "
              "InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors").split()
UDP_FIELDS = ("InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti "
              "MemErrors").split()
IP6_FIELDS = ("InReceives InHdrErrors InTooBigErrors InNoRoutes InAddrErrors InUnknownProtos InTruncatedPkts "
              "InDiscards InDelivers OutForwDatagrams OutRequests OutDiscards OutNoRoutes ReasmTimeout "
              "ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates InMcastPkts OutMcastPkts InOctets "
              "OutOctets InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets InNoECTPkts InECT1Pkts "
              "InECT0Pkts InCEPkts").split()
ICMP6_FIELDS = ("InMsgs InErrors OutMsgs OutErrors InCsumErrors OutRateLimitHost").split()
ICMP6_TYPES = ("DestUnreachs PktTooBigs TimeExcds ParmProblems Echos EchoReplies GroupMembQueries "
               "GroupMembResponses GroupMembReductions RouterSolicits RouterAdvertisements NeighborSolicits "
               "NeighborAdvertisements Redirects MLDv2Reports").split()
ICMP6_TYPE_NUMBERS = (1, 2, 3, 4, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 143)
UDP6_FIELDS = UDP_FIELDS
UDPLITE6_FIELDS = [f for f in UDP_FIELDS if f != "IgnoredMulti"]
TCPEXT_FIELDS = (
    "SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned "
    "OutOfWindowIcmps LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSActive PAWSEstab DelayedACKs "
    "DelayedACKLocked DelayedACKLost ListenOverflows ListenDrops TCPHPHits TCPPureAcks TCPHPAcks "
    "TCPRenoRecovery TCPSackRecovery TCPSACKReneging TCPSACKReorder TCPRenoReorder TCPTSReorder TCPFullUndo "
    "TCPPartialUndo TCPDSACKUndo TCPLossUndo TCPLostRetransmit TCPRenoFailures TCPSackFailures "
    "TCPLossFailures TCPFastRetrans TCPSlowStartRetrans TCPTimeouts TCPLossProbes TCPLossProbeRecovery "
    "TCPRenoRecoveryFail TCPSackRecoveryFail TCPRcvCollapsed TCPBacklogCoalesce TCPDSACKOldSent "
    "TCPDSACKOfoSent TCPDSACKRecv TCPDSACKOfoRecv TCPAbortOnData TCPAbortOnClose TCPAbortOnMemory "
    "TCPAbortOnTimeout TCPAbortOnLinger TCPAbortFailed TCPMemoryPressures TCPMemoryPressuresChrono "
    "TCPSACKDiscard TCPDSACKIgnoredOld TCPDSACKIgnoredNoUndo TCPSpuriousRTOs TCPMD5NotFound "
    "TCPMD5Unexpected TCPMD5Failure TCPSackShifted TCPSackMerged TCPSackShiftFallback TCPBacklogDrop "
    "PFMemallocDrop TCPMinTTLDrop TCPDeferAcceptDrop IPReversePathFilter TCPTimeWaitOverflow "
    "TCPReqQFullDoCookies TCPReqQFullDrop TCPRetransFail TCPRcvCoalesce TCPOFOQueue TCPOFODrop TCPOFOMerge "
    "TCPChallengeACK TCPSYNChallenge TCPFastOpenActive TCPFastOpenActiveFail TCPFastOpenPassive "
    "TCPFastOpenPassiveFail TCPFastOpenListenOverflow TCPFastOpenCookieReqd TCPFastOpenBlackhole "
    "TCPSpuriousRtxHostQueues BusyPollRxPackets TCPAutoCorking TCPFromZeroWindowAdv TCPToZeroWindowAdv "
    "TCPWantZeroWindowAdv TCPSynRetrans TCPOrigDataSent TCPHystartTrainDetect TCPHystartTrainCwnd "
    "TCPHystartDelayDetect TCPHystartDelayCwnd TCPACKSkippedSynRecv TCPACKSkippedPAWS TCPACKSkippedSeq "
    "TCPACKSkippedFinWait2 TCPACKSkippedTimeWait TCPACKSkippedChallenge TCPWinProbe TCPKeepAlive "
    "TCPMTUPFail TCPMTUPSuccess TCPDelivered TCPDeliveredCE TCPAckCompressed TCPZeroWindowDrop TCPRcvQDrop "
    "TCPWqueueTooBig TCPFastOpenPassiveAltKey TcpTimeoutRehash TcpDuplicateDataRehash TCPDSACKRecvSegs "
    "TCPDSACKIgnoredDubious TCPMigrateReqSuccess TCPMigrateReqFailure").split()
IPEXT_FIELDS = ("InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets "
                "InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets InCsumErrors InNoECTPkts InECT1Pkts "
                "InECT0Pkts InCEPkts ReasmOverlaps").split()
MPTCPEXT_FIELDS = (
    "MPCapableSYNRX MPCapableSYNTX MPCapableSYNACKRX MPCapableACKRX MPCapableFallbackACK "
    "MPCapableFallbackSYNACK MPCapableEndpAttempt MPFallbackTokenInit MPTCPRetrans MPJoinNoTokenFound "
    "MPJoinSynRx MPJoinSynBackupRx MPJoinSynAckRx MPJoinSynAckBackupRx MPJoinSynAckHMacFailure MPJoinAckRx "
    "MPJoinAckHMacFailure DSSNotMatching DSSCorruptionFallback DSSCorruptionReset InfiniteMapTx "
    "InfiniteMapRx DSSNoMatchTCP DataCsumErr OFOQueueTail OFOQueue OFOMerge NoDSSInWindow DuplicateData "
    "AddAddr EchoAdd PortAdd AddAddrDrop MPJoinPortSynRx MPJoinPortSynAckRx MPJoinPortAckRx "
    "MismatchPortSynRx MismatchPortAckRx RmAddr RmAddrDrop RmSubflow MPPrioTx MPPrioRx MPFailTx MPFailRx "
    "MPFastcloseTx MPFastcloseRx MPRstTx MPRstRx RcvPruned SubflowStale SubflowRecover SndWndShared "
    "RcvWndShared RcvWndConflictUpdate RcvWndConflict").split()

ICMP_TYPE_FIELD = {0: "EchoReps", 3: "DestUnreachs", 8: "Echos", 11: "TimeExcds"}


def _mib(fields: list[str]) -> dict[str, int]:
    return dict.fromkeys(fields, 0)


IP, ICMP, TCP, UDP = _mib(IP_FIELDS), _mib(ICMP_FIELDS), _mib(TCP_FIELDS), _mib(UDP_FIELDS)
IP6, ICMP6, UDP6 = _mib(IP6_FIELDS), _mib(ICMP6_FIELDS), _mib(UDP6_FIELDS)
TCPEXT, IPEXT = _mib(TCPEXT_FIELDS), _mib(IPEXT_FIELDS)
ICMP_MSG: dict[int, int] = {}       # type (+256 going out) -> count: the IcmpMsg lines
ICMP6_MSG: dict[int, int] = {}
IP.update(Forwarding=2, DefaultTTL=64)      # not a router
TCP.update(RtoAlgorithm=1, RtoMin=200, RtoMax=120000, MaxConn=-1)
# CurrEstab comes from the TCP sockets: inet_tcp hands a counter in
established: list[Callable[[], int]] = [lambda: 0]


# ---------------------------------------------------------------- counting

# Where each IP version counts: its packets, and its octets and ECN marks (IPv4 keeps those
# in IpExt, IPv6 in Ip6 itself), indexed by v6.
IP_MIBS = ((IP, IPEXT), (IP6, IP6))


def packet(v6: bool, size: int, out: bool, into: bool) -> None:
    """An IP packet of `size` bytes (headers included) leaves (ip_local_out) and/or arrives
    (ip_local_deliver): both on the loopback."""
    NETWORK.count(size, out, into)
    ip, octets = IP_MIBS[v6]
    if out:
        ip["OutRequests"] += 1
        octets["OutOctets"] += size
    if into:
        ip["InReceives"] += 1
        ip["InDelivers"] += 1
        octets["InOctets"] += size
        octets["InNoECTPkts"] += 1


def count_icmp(v6: bool, type_: int, size: int, out: bool, into: bool) -> None:
    """An ICMP message of `size` bytes going out, coming in, or both (the loopback)."""
    packet(v6, size + (40 if v6 else 20), out, into)
    mib, msgs = (ICMP6, ICMP6_MSG) if v6 else (ICMP, ICMP_MSG)
    for way, base, on in (("Out", 256, out), ("In", 0, into)):
        if not on:
            continue
        mib[way + "Msgs"] += 1
        msgs[base + type_] = msgs.get(base + type_, 0) + 1
        if not v6 and type_ in ICMP_TYPE_FIELD:
            mib[way + ICMP_TYPE_FIELD[type_]] += 1


def tcp_segment(v6: bool, size: int, out: bool = True, into: bool = True) -> None:
    """A TCP segment with `size` data bytes (a send, SYN, SYN-ACK, FIN, RST): out of a guest
    socket, into one, or both when both ends are in the guest."""
    if out:
        TCP["OutSegs"] += 1
    if into:
        TCP["InSegs"] += 1
    packet(v6, size + (72 if v6 else 52), out, into)     # IP + TCP headers, timestamps option


# Segments between two guest sockets (every TCP send over the loopback) are only tallied
# here, two list increments each, and folded into the MIBs and lo's counters when a file
# that shows them is read: the send path stays cheap.
LOOPED = [0, 0, 0, 0]           # IPv4 segments, their IP bytes, IPv6 segments, their IP bytes


def tcp_looped(v6: bool, size: int) -> None:
    if v6:
        LOOPED[2] += 1
        LOOPED[3] += size + 72
    else:
        LOOPED[0] += 1
        LOOPED[1] += size + 52


def fold() -> None:
    """Move the tallied loopback segments into the counters (before any of them is read)."""
    lo = NETWORK.interfaces[0].stats
    for i, (ip, octets) in ((0, IP_MIBS[0]), (2, IP_MIBS[1])):
        n, size = LOOPED[i], LOOPED[i + 1]
        if not n:
            continue
        LOOPED[i] = LOOPED[i + 1] = 0
        TCP["OutSegs"] += n
        TCP["InSegs"] += n
        for key in ("OutRequests", "InReceives", "InDelivers"):
            ip[key] += n
        octets["InNoECTPkts"] += n
        octets["OutOctets"] += size
        octets["InOctets"] += size
        lo["tx_packets"] += n
        lo["rx_packets"] += n
        lo["tx_bytes"] += size
        lo["rx_bytes"] += size


NETWORK.before_read = fold


def udp(v6: bool, field: str) -> None:
    (UDP6 if v6 else UDP)[field] += 1


# ---------------------------------------------------------------- the files

def _pairs(name: str, fields: dict[str, int]) -> str:
    return f"{name}: {' '.join(fields)}\n{name}: {' '.join(str(v) for v in fields.values())}\n"


def _icmp_msg(counts: dict[int, int]) -> str:
    """icmpmsg_put: In types then Out types with a count, 16 to a line pair."""
    items = [(("Out" if k >= 256 else "In") + f"Type{k & 0xFF}", v) for k, v in sorted(counts.items()) if v]
    out = ""
    for i in range(0, len(items), 16):
        chunk = items[i:i + 16]
        out += "IcmpMsg: " + " ".join(n for n, _ in chunk) + "\nIcmpMsg: " + " ".join(str(v) for _, v in chunk) + "\n"
    return out


def proc_net_snmp() -> bytes:
    fold()
    tcp = dict(TCP, CurrEstab=established[0]())
    return (_pairs("Ip", IP) + _pairs("Icmp", ICMP) + _icmp_msg(ICMP_MSG) + _pairs("Tcp", tcp) +
            _pairs("Udp", UDP) + _pairs("UdpLite", _mib(UDP_FIELDS))).encode()


def _lines6(prefix: str, fields: dict[str, int]) -> str:
    return "".join(f"{prefix + k:<32}\t{v}\n" for k, v in fields.items())


def _icmp6_named() -> dict[str, int]:
    named = dict(ICMP6)
    for way, base in (("In", 0), ("Out", 256)):
        for name, t in zip(ICMP6_TYPES, ICMP6_TYPE_NUMBERS):
            named[way + name] = ICMP6_MSG.get(base + t, 0)
    return named


def proc_net_snmp6() -> bytes:
    fold()
    types = "".join(f"{('Icmp6OutType' if k >= 256 else 'Icmp6InType') + str(k & 0xFF):<32}\t{v}\n"
                    for k, v in sorted(ICMP6_MSG.items()) if v)
    return (_lines6("Ip6", IP6) + _lines6("Icmp6", _icmp6_named()) + types + _lines6("Udp6", UDP6) +
            _lines6("UdpLite6", _mib(UDPLITE6_FIELDS))).encode()


def proc_net_netstat() -> bytes:
    fold()
    return (_pairs("TcpExt", TCPEXT) + _pairs("IpExt", IPEXT) + _pairs("MPTcpExt", _mib(MPTCPEXT_FIELDS))).encode()
