"""The names iptables knows: tables, target and match extensions, verdicts.

A ``-j NAME`` that is not one of these (nor a chain) fails to load, as the real
binaries fail; ``-N`` refuses a chain that would clash with a target.
"""

from __future__ import annotations

from typing import Dict, FrozenSet

__all__ = ["TABLES", "KNOWN_TARGETS", "KNOWN_MATCHES", "VERDICTS"]

TABLES = frozenset({"filter", "nat", "mangle", "raw", "security"})

# Extensions shipped with iptables 1.8.9 (Debian 12); the fake emulates a subset.
_COMMON_TARGETS = [
    "AUDIT",
    "CHECKSUM",
    "CLASSIFY",
    "CONNMARK",
    "CONNSECMARK",
    "CT",
    "DNAT",
    "DSCP",
    "HMARK",
    "IDLETIMER",
    "LED",
    "LOG",
    "MARK",
    "MASQUERADE",
    "NETMAP",
    "NFLOG",
    "NFQUEUE",
    "NOTRACK",
    "RATEEST",
    "REDIRECT",
    "REJECT",
    "SECMARK",
    "SET",
    "SNAT",
    "SYNPROXY",
    "TCPMSS",
    "TCPOPTSTRIP",
    "TEE",
    "TOS",
    "TPROXY",
    "TRACE",
    "standard",
]
KNOWN_TARGETS: Dict[int, FrozenSet[str]] = {
    4: frozenset(_COMMON_TARGETS + ["CLUSTERIP", "ECN", "TTL", "ULOG"]),
    6: frozenset(_COMMON_TARGETS + ["DNPT", "SNPT", "HL"]),
}
_COMMON_MATCHES = [
    "addrtype",
    "ah",
    "bpf",
    "cgroup",
    "cluster",
    "comment",
    "connbytes",
    "connlabel",
    "connlimit",
    "connmark",
    "conntrack",
    "cpu",
    "dccp",
    "devgroup",
    "dscp",
    "ecn",
    "esp",
    "hashlimit",
    "helper",
    "iprange",
    "ipcomp",
    "ipvs",
    "length",
    "limit",
    "mac",
    "mark",
    "multiport",
    "nfacct",
    "osf",
    "owner",
    "physdev",
    "pkttype",
    "policy",
    "quota",
    "rateest",
    "recent",
    "rpfilter",
    "sctp",
    "set",
    "socket",
    "state",
    "statistic",
    "string",
    "tcp",
    "tcpmss",
    "time",
    "tos",
    "u32",
    "udp",
]
KNOWN_MATCHES: Dict[int, FrozenSet[str]] = {
    4: frozenset(_COMMON_MATCHES + ["icmp", "realm", "ttl"]),
    6: frozenset(
        _COMMON_MATCHES
        + ["dst", "eui64", "frag", "hbh", "hl", "icmp6", "ipv6header", "mh", "rt", "srh"]
    ),
}
VERDICTS = frozenset({"ACCEPT", "DROP", "RETURN", "QUEUE"})
