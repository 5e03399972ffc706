"""What the tracer is told (a packet, the host's network) and what it answers (a trace)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple, Union

from .._errors import InvalidArgumentError

__all__ = ["Packet", "Route", "Network", "Step", "Trace", "Address"]

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Interface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]

_PROTOS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132}


@dataclass(frozen=True)
class Packet:
    """One packet. ``iif=None`` is locally generated (the OUTPUT path), and then
    ``src`` may be None: the tracer picks it from the route, as the kernel does."""

    proto: str
    src: Optional[str]
    dst: str
    sport: Optional[int] = None
    dport: Optional[int] = None
    iif: Optional[str] = None
    tcp_flags: str = "S"
    icmp_type: Optional[int] = None
    icmp_code: int = 0
    mark: int = 0
    family: Optional[int] = None

    def __post_init__(self) -> None:
        if self.proto not in _PROTOS:
            raise InvalidArgumentError(
                f"proto must be one of {', '.join(sorted(_PROTOS))}, not {self.proto!r}"
            )
        fam = ipaddress.ip_address(self.dst).version
        if self.src is not None and ipaddress.ip_address(self.src).version != fam:
            raise InvalidArgumentError(f"{self.src} and {self.dst} are of different families")
        if self.family is not None and self.family != fam:
            raise InvalidArgumentError(f"family {self.family} but {self.dst} is IPv{fam}")
        object.__setattr__(self, "family", fam)
        if fam == 6 and self.proto == "icmp":  # there is no ICMPv4 over IPv6
            object.__setattr__(self, "proto", "icmpv6")
        if self.proto in ("tcp", "udp", "sctp") and (self.sport is None or self.dport is None):
            raise InvalidArgumentError(f"a {self.proto} packet needs sport and dport")
        if self.proto in ("icmp", "icmpv6", "ipv6-icmp") and self.icmp_type is None:
            object.__setattr__(self, "icmp_type", 8 if fam == 4 else 128)  # echo request

    @property
    def proto_number(self) -> int:
        return _PROTOS[self.proto]

    def with_(self, **changes: object) -> Packet:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Route:
    """A route: destination prefix, out interface, optional gateway."""

    dst: str
    dev: str
    via: Optional[str] = None


@dataclass
class Network:
    """The host's interfaces (addresses with prefix length), routes and forwarding.

    Connected routes are implied by the interfaces' addresses; ``lo`` addresses are
    local. A destination that is one of the host's addresses is delivered locally.
    """

    interfaces: Dict[str, List[str]]
    routes: List[Route] = field(default_factory=list)
    forwarding: bool = True

    def __post_init__(self) -> None:
        self._ifaces: Dict[str, List[Interface]] = {
            name: [ipaddress.ip_interface(a) for a in addrs]
            for name, addrs in self.interfaces.items()
        }

    def addresses(self, family: int) -> List[Tuple[str, Interface]]:
        return [(n, a) for n, addrs in self._ifaces.items() for a in addrs if a.version == family]

    def is_local(self, addr: Address) -> bool:
        return any(a.ip == addr for _n, a in self.addresses(addr.version)) or (
            addr.version == 4 and addr in ipaddress.ip_network("127.0.0.0/8")
        )

    def primary(self, dev: str, family: int) -> Optional[Address]:
        """The interface's first address of the family (MASQUERADE's, REDIRECT's)."""
        for a in self._ifaces.get(dev, []):
            if a.version == family:
                return a.ip
        return None

    def route(self, dst: Address) -> Optional[Tuple[str, Optional[str]]]:
        """(out interface, gateway) by longest prefix; ``lo`` for a local address."""
        if self.is_local(dst):
            return "lo", None
        best: Optional[Tuple[int, str, Optional[str]]] = None
        candidates: List[
            Tuple[Union[ipaddress.IPv4Network, ipaddress.IPv6Network], str, Optional[str]]
        ] = []
        for name, a in self.addresses(dst.version):
            candidates.append((a.network, name, None))
        for r in self.routes:
            net: Union[ipaddress.IPv4Network, ipaddress.IPv6Network] = ipaddress.ip_network(
                r.dst, strict=False
            )
            if net.version == dst.version:
                candidates.append((net, r.dev, r.via))
        for net, dev, via in candidates:
            if dst in net and (best is None or net.prefixlen > best[0]):
                best = (net.prefixlen, dev, via)
        return None if best is None else (best[1], best[2])

    def source_for(self, dst: Address) -> Optional[Address]:
        """The source the kernel picks for a locally generated packet to ``dst``."""
        if self.is_local(dst):
            return dst
        found = self.route(dst)
        if found is None:
            return None
        dev, _via = found
        for _name, a in self.addresses(dst.version):
            if _name == dev and dst in a.network:
                return a.ip
        return self.primary(dev, dst.version)

    def broadcast(self, addr: Address) -> bool:
        if addr.version != 4:
            return False
        if addr == ipaddress.IPv4Address("255.255.255.255"):
            return True
        return any(
            isinstance(a, ipaddress.IPv4Interface)
            and a.network.prefixlen < 31
            and a.network.broadcast_address == addr
            for _n, a in self.addresses(4)
        )


@dataclass(frozen=True)
class Step:
    """One thing that happened: a rule that matched (``rule`` as iptables-save prints
    it), a policy applied or an implicit return (``rule`` None). ``action`` is the
    target ("ACCEPT", "DNAT", "jump KUBE-SVC-X", "goto X", "RETURN", "LOG"...), or
    "unknown: why" when a match could not be evaluated."""

    table: str
    chain: str
    rule: Optional[str]
    action: str


@dataclass
class Trace:
    """What the rules do to the packet."""

    outcome: str  # delivered, forwarded, sent, dropped, rejected, unknown
    packet: Packet
    steps: List[Step] = field(default_factory=list)
    out_interface: Optional[str] = None
    reject: Optional[Tuple[str, Optional[int], Optional[int]]] = None
    unknown: List[str] = field(default_factory=list)
    ctstate: Optional[str] = None

    def counted(self) -> List[Tuple[str, str, Optional[str]]]:
        """(table, chain, rule) of every rule and policy whose counter this packet moves."""
        return [
            (s.table, s.chain, s.rule)
            for s in self.steps
            if s.rule is not None or s.action in ("ACCEPT", "DROP")
        ]

    def render(self) -> str:
        """The trace as text: one step a line, then the outcome."""
        lines = []
        for s in self.steps:
            what = (
                s.rule
                if s.rule is not None
                else ("(policy)" if s.action in ("ACCEPT", "DROP") else "(end of chain)")
            )
            lines.append(f"{s.table:<8} {s.chain:<24} {s.action:<22} {what}")
        p = self.packet
        src = f"{p.src}:{p.sport}" if p.sport is not None else f"{p.src}"
        dst = f"{p.dst}:{p.dport}" if p.dport is not None else f"{p.dst}"
        tail = f" via {self.out_interface}" if self.out_interface else ""
        if self.reject:
            tail += f" with {self.reject[0]}" + (
                f" type {self.reject[1]} code {self.reject[2]}" if self.reject[0] == "icmp" else ""
            )
        lines.append(f"outcome: {self.outcome}{tail}; the packet then: {p.proto} {src} -> {dst}")
        lines.extend(f"unknown: {u}" for u in self.unknown)
        return "\n".join(lines) + "\n"


def addr(text: str) -> Address:
    return ipaddress.ip_address(text)


def addresses_of(items: Sequence[str]) -> List[Address]:
    return [ipaddress.ip_address(i) for i in items]
