"""Does a rule's match hold for the packet? True, False, or unknown (with why).

Each evaluator reads the typed state the rule engine parsed. A module without an
evaluator here is unknown: the tracer never guesses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from .._rulespec.evaluable import RuleParts
from ._conntrack import Entry
from ._model import Address, Network

__all__ = ["State", "Verdict", "rule_matches", "EVALUATED_MATCHES"]

# A match's answer: True/False, or the reason it cannot be told.
Verdict = Union[bool, str]


@dataclass
class State:
    """The packet as it stands at this point of its path, and what is known about it."""

    family: int
    proto: int
    src: Address
    dst: Address
    sport: Optional[int]
    dport: Optional[int]
    tcp_flags: str
    icmp_type: Optional[int]
    icmp_code: int
    mark: int
    hook: str
    iif: Optional[str]
    oif: Optional[str]
    net: Network
    ctstate: str = "NEW"  # NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED
    entry: Optional[Entry] = None
    reply: bool = False  # the packet is in the reply direction of its flow
    ctmark: int = 0
    dnat: bool = False
    snat: bool = False
    nth: Dict[Tuple[str, str, str], int] = field(default_factory=dict)
    set_test: Optional[Callable[[str, str], Optional[bool]]] = None
    set_type: Optional[Callable[[str], Optional[str]]] = None


def _net_holds(net: Tuple[int, int], a: Address) -> bool:
    value, mask = net
    return (int(a) & mask) == value


def _iface(rule: Optional[str], inv: bool, actual: Optional[str]) -> Verdict:
    if rule is None:
        return True
    if actual is None:
        hit = False
    elif rule.endswith("+"):
        hit = actual.startswith(rule[:-1])
    else:
        hit = actual == rule
    return hit != inv


def _ports(rng: Tuple[int, int], inv: bool, port: Optional[int]) -> bool:
    if rng == (0, 0xFFFF):
        return not inv if port is not None else not inv
    return (port is not None and rng[0] <= port <= rng[1]) != inv


_TCP_BITS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32}


def _tcp_bits(flags: str) -> int:
    return sum(_TCP_BITS.get(c, 0) for c in flags.upper())


def _tcp(st: Any, s: State) -> Verdict:
    if s.proto != 6:
        return False
    ok = _ports(st.sports, st.sports_inv, s.sport) and _ports(st.dports, st.dports_inv, s.dport)
    if st.flags is not None:
        mask, comp = st.flags
        ok = ok and (((_tcp_bits(s.tcp_flags) & mask) == comp) != st.flags_inv)
    if st.option is not None:
        return "--tcp-option: the packet's TCP options are not modelled"
    return ok


def _udp(st: Any, s: State) -> Verdict:
    if s.proto not in (17, 132):
        return False
    return _ports(st.sports, st.sports_inv, s.sport) and _ports(st.dports, st.dports_inv, s.dport)


def _icmp(st: Any, s: State) -> Verdict:
    if s.proto not in (1, 58):
        return False
    if st.icmp_type == 0xFF:
        return not st.inv
    hit = s.icmp_type == st.icmp_type and st.code_min <= s.icmp_code <= st.code_max
    return bool(hit != st.inv)


def _port_list(text: str) -> List[Tuple[int, int]]:
    out = []
    for part in text.split(","):
        lo, _sep, hi = part.partition(":")
        out.append((int(lo), int(hi or lo)))
    return out


def _multiport(st: Any, s: State) -> Verdict:
    if s.sport is None:
        return False
    ranges = _port_list(st.ports)

    def hit(port: Optional[int]) -> bool:
        return port is not None and any(lo <= port <= hi for lo, hi in ranges)

    if st.kind == "sports":
        found = hit(s.sport)
    elif st.kind == "dports":
        found = hit(s.dport)
    else:
        found = hit(s.sport) or hit(s.dport)
    return bool(found != st.inv)


def _mark(st: Any, s: State, value: int) -> Verdict:
    return bool(((value & st.mask) == st.value) != st.inv)


def _ct_states(s: State) -> List[str]:
    states = [s.ctstate]
    if s.dnat:
        states.append("DNAT")
    if s.snat:
        states.append("SNAT")
    return states


def _addr_in(text: str, a: Address) -> bool:
    return a in ipaddress.ip_network(text, strict=False)


def _conntrack(st: Any, s: State) -> Verdict:
    ok = True
    for oid, (text, inv) in st.given.items():
        if oid == "ctstate":
            hit = any(x in text.split(",") for x in _ct_states(s))
        elif oid == "ctproto":
            hit = (
                text.isdigit()
                and int(text) == s.proto
                or text.lower() == {6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp"}.get(s.proto)
            )
        elif oid == "ctdir":
            hit = (text == "REPLY") == s.reply
        elif oid in ("ctorigsrc", "ctorigdst", "ctorigsrcport", "ctorigdstport"):
            orig = _original(s)
            if oid == "ctorigsrc":
                hit = _addr_in(text, ipaddress.ip_address(orig[1]))
            elif oid == "ctorigdst":
                hit = _addr_in(text, ipaddress.ip_address(orig[3]))
            else:
                port = orig[2] if oid == "ctorigsrcport" else orig[4]
                lo, _sep, hi = text.partition(":")
                hit = port is not None and int(lo) <= port <= int(hi or lo)
        else:
            return f"conntrack --{oid} is not evaluated"
        ok = ok and (hit != inv)
    return ok


def _original(s: State) -> Tuple[int, str, Optional[int], str, Optional[int]]:
    if s.entry is not None:
        return s.entry.original
    return s.proto, str(s.src), s.sport, str(s.dst), s.dport


def _state(st: Any, s: State) -> Verdict:
    return bool(any(x in st.states.split(",") for x in _ct_states(s)) != st.inv)


def addr_type(a: Address, net: Network) -> str:
    if net.is_local(a):
        return "LOCAL"
    if net.broadcast(a):
        return "BROADCAST"
    if a.is_multicast:
        return "MULTICAST"
    if a.is_unspecified:
        return "UNSPEC"
    if net.route(a) is None:
        return "UNREACHABLE"
    return "UNICAST"


def _addrtype(st: Any, s: State) -> Verdict:
    if st.limit_in or st.limit_out:
        return "addrtype --limit-iface-in/out: per-interface address types are not modelled"
    ok = True
    if st.src_types is not None:
        ok = ok and ((addr_type(s.src, s.net) in st.src_types.split(",")) != st.src_inv)
    if st.dst_types is not None:
        ok = ok and ((addr_type(s.dst, s.net) in st.dst_types.split(",")) != st.dst_inv)
    return ok


def _in_range(text: str, a: Address) -> bool:
    lo, _sep, hi = text.partition("-")
    return ipaddress.ip_address(lo) <= a <= ipaddress.ip_address(hi or lo)  # type: ignore[operator]


def _iprange(st: Any, s: State) -> Verdict:
    ok = True
    if st.src_range is not None:
        ok = ok and (_in_range(st.src_range, s.src) != st.src_inv)
    if st.dst_range is not None:
        ok = ok and (_in_range(st.dst_range, s.dst) != st.dst_inv)
    return ok


def _statistic(st: Any, s: State, key: Tuple[str, str, str]) -> Verdict:
    if st.mode == "random":
        share = (st.prob or 0) / 2**31
        return f"statistic --mode random --probability {share:.5f}: chance, not told"
    # xt_statistic nth: the count starts at every - packet (libxt_statistic), runs
    # 0..every, and the rule matches when it wraps to 0
    every, packet = st.every or 0, st.packet or 0
    count = s.nth.get(key, every - packet)
    count = 0 if count == every else count + 1
    s.nth[key] = count
    return bool((count == 0) != st.inv)


def _set_element(set_type: str, dirs: List[str], s: State) -> Optional[str]:
    kind = set_type.split(":", 1)[1].split(",")
    words = []
    for i, part in enumerate(kind):
        side = dirs[i] if i < len(dirs) else dirs[-1]
        if part in ("ip", "net"):
            words.append(str(s.src if side == "src" else s.dst))
        elif part == "port":
            port = s.sport if side == "src" else s.dport
            name = {6: "tcp", 17: "udp", 132: "sctp"}.get(s.proto)
            if name is None or port is None:
                return None
            words.append(f"{name}:{port}")
        else:
            return None
    return ",".join(words)


def _set(st: Any, s: State) -> Verdict:
    if s.set_test is None or s.set_type is None:
        return f"set {st.set_name}: the host's ipsets are not known (trace a fake host)"
    stype = s.set_type(st.set_name)
    if stype is None:
        return f"set {st.set_name} does not exist"
    element = _set_element(stype, st.flags.split(","), s)
    if element is None:
        return f"set {st.set_name} ({stype}): this packet's element is not modelled"
    found = s.set_test(st.set_name, element)
    if found is None:
        return f"set {st.set_name}: ipset could not test {element}"
    return bool(found != st.inv)


def _rpfilter(st: Any, s: State) -> Verdict:
    """xt_rpfilter: the route back to the source leaves by the packet's in interface
    (--loose: by any interface); a local source is refused unless --accept-local."""
    if s.iif is None:
        return "rpfilter on a locally generated packet"
    if s.net.is_local(s.src) and s.iif != "lo":
        ok = st.accept_local
    else:
        back = s.net.route(s.src)
        ok = back is not None and (st.loose or back[0] == s.iif)
    return bool(ok != st.invert)


def _limit(st: Any, s: State, key: Tuple[str, str, str]) -> Verdict:
    """The token bucket starts full: the first ``burst`` packets match; after that the
    answer depends on time, which the tracer does not model."""
    seen = s.nth.get(key, 0) + 1
    s.nth[key] = seen
    if seen <= st.burst:
        return True
    return f"limit: packet {seen} is past the burst of {st.burst}; the refill depends on time"


def _pkttype(st: Any, s: State) -> Verdict:
    kind = "unicast"
    if s.net.broadcast(s.dst):
        kind = "broadcast"
    elif s.dst.is_multicast:
        kind = "multicast"
    return bool((kind == st.pkt_type) != st.inv)


_SIMPLE: Dict[str, Callable[[Any, State], Verdict]] = {
    "tcp": _tcp,
    "udp": _udp,
    "sctp": _udp,
    "icmp": _icmp,
    "icmp6": _icmp,
    "multiport": _multiport,
    "comment": lambda st, s: True,
    "mark": lambda st, s: _mark(st, s, s.mark),
    "connmark": lambda st, s: _mark(st, s, s.ctmark),
    "conntrack": _conntrack,
    "state": _state,
    "addrtype": _addrtype,
    "iprange": _iprange,
    "set": _set,
    "pkttype": _pkttype,
    "rpfilter": _rpfilter,
}
EVALUATED_MATCHES = tuple(sorted([*_SIMPLE, "statistic", "limit"]))


def rule_matches(parts: RuleParts, s: State, key: Tuple[str, str, str]) -> Verdict:
    """Whether every match of the rule holds; the first unknown one says why."""
    if parts.proto and ((s.proto == parts.proto) == parts.proto_inv):
        return False
    if parts.src is not None and (_net_holds(parts.src, s.src) == parts.src_inv):
        return False
    if parts.dst is not None and (_net_holds(parts.dst, s.dst) == parts.dst_inv):
        return False
    if _iface(parts.iniface, parts.iniface_inv, s.iif) is False:
        return False
    if _iface(parts.outiface, parts.outiface_inv, s.oif) is False:
        return False
    if parts.fragment is True:  # the tracer's packets are never fragments
        return False
    unknown: Optional[str] = None
    for name, st in parts.matches:
        if name == "statistic":
            got = _statistic(st, s, key)
        elif name == "limit":
            got = _limit(st, s, key)
        else:
            fn = _SIMPLE.get(name)
            got = fn(st, s) if fn is not None else f"-m {name} is not evaluated"
        if got is False:
            return False
        if isinstance(got, str) and unknown is None:
            unknown = got
    return True if unknown is None else unknown
