"""Element parsing and printing per ipset type, for the fake ``ipset`` (see ``_ipset``).

An element is parsed into the keys it stands for (a range into ``hash:ip`` expands to
one key per address, into ``hash:net`` to the CIDRs covering it), each key printed the
way ``ipset save`` prints it. Messages are ipset 7.17's (``tests/data/ipset.jsonl``).
"""

from __future__ import annotations

import ipaddress
from typing import List, Optional, Tuple, Union

__all__ = ["TYPES", "IPSetError", "Parsed", "TypeInfo", "parse_element"]

Addr = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


class IPSetError(Exception):
    """A refusal: ``message`` after the ``ipset v7.17: `` prefix; ``usage`` adds the
    "Try `ipset help'" line and exit code 2."""

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class TypeInfo:
    def __init__(self, name: str, revision: int, dim: int, parts: Tuple[str, ...]) -> None:
        self.name = name
        self.revision = revision
        self.dimension = dim
        self.parts = parts  # "ip", "net", "port", "ip2" (plain address), "set"
        self.hash = name.startswith("hash:")
        self.nomatch = "net" in parts


TYPES = {
    t.name: t
    for t in (
        TypeInfo("hash:ip", 6, 1, ("ip",)),
        TypeInfo("hash:net", 7, 1, ("net",)),
        TypeInfo("hash:ip,port", 7, 2, ("ip", "port")),
        TypeInfo("hash:net,port", 8, 2, ("net", "port")),
        TypeInfo("hash:ip,port,ip", 6, 3, ("ip", "port", "ip2")),
        TypeInfo("bitmap:port", 3, 1, ("port",)),
        TypeInfo("list:set", 3, 1, ("set",)),
    )
}

_PROTOS = {"tcp": 6, "udp": 17, "sctp": 132, "udplite": 136, "icmp": 1, "icmpv6": 58}
_PROTO_NUMBERS = {
    "ip": 0, "hopopt": 0, "icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50,
    "ah": 51, "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132, "udplite": 136,
}  # fmt: skip
_PROTO_NAMES = {6: "tcp", 17: "udp", 132: "sctp", 136: "udplite", 1: "icmp", 58: "icmpv6",
                47: "gre", 50: "esp", 51: "ah", 2: "igmp", 0: "ip"}  # fmt: skip
_SERVICES = {
    "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "http": 80, "pop3": 110,
    "ntp": 123, "imap": 143, "snmp": 161, "https": 443, "imaps": 993, "pop3s": 995,
}  # fmt: skip
_ICMP = {
    "echo-reply": (0, 0), "pong": (0, 0), "network-unreachable": (3, 0),
    "host-unreachable": (3, 1), "protocol-unreachable": (3, 2), "port-unreachable": (3, 3),
    "destination-unreachable": (3, 0), "source-quench": (4, 0), "redirect": (5, 0),
    "echo-request": (8, 0), "ping": (8, 0), "time-exceeded": (11, 0),
    "parameter-problem": (12, 0), "timestamp-request": (13, 0), "timestamp-reply": (14, 0),
}  # fmt: skip
_ICMP_NAME = {(0, 0): "echo-reply", (8, 0): "echo-request", (3, 0): "network-unreachable",
              (3, 1): "host-unreachable", (3, 2): "protocol-unreachable",
              (3, 3): "port-unreachable", (4, 0): "source-quench", (5, 0): "redirect",
              (11, 0): "time-exceeded", (12, 0): "parameter-problem",
              (13, 0): "timestamp-request", (14, 0): "timestamp-reply"}  # fmt: skip


class Parsed:
    """One element argument: its keys (in the order the kernel adds them), what
    ``test`` prints for it, and whether it spelled a CIDR (``hash:net`` tests)."""

    def __init__(self, keys: List[Tuple[object, ...]], shown: str, exact: bool) -> None:
        self.keys = keys
        self.shown = shown
        self.exact = exact


def _addr(text: str, family: str) -> Addr:
    try:
        a = ipaddress.ip_address(text)
    except ValueError:
        a = None
    want = 4 if family == "inet" else 6
    if a is None or a.version != want:
        fam = "IPv4" if want == 4 else "IPv6"
        raise IPSetError(f"Syntax error: cannot parse {text}: resolving to {fam} address failed")
    return a


def _bits(family: str) -> int:
    return 32 if family == "inet" else 128


def _cidr(text: str, family: str) -> int:
    top = _bits(family)
    if not text.isdigit():
        raise IPSetError(f"Syntax error: '{text}' is invalid as number")
    n = int(text)
    if n > top:
        raise IPSetError(f"Syntax error: '{text}' is out of range 0-{top}")
    return n


def _net(a: Addr, cidr: int) -> Addr:
    top = a.max_prefixlen
    mask = ((1 << top) - 1) ^ ((1 << (top - cidr)) - 1)
    return (
        ipaddress.ip_address(int(a) & mask) if top == 32 else ipaddress.IPv6Address(int(a) & mask)
    )


def _mk(family: str, n: int) -> Addr:
    return ipaddress.IPv4Address(n) if family == "inet" else ipaddress.IPv6Address(n)


def _ip_part(text: str, family: str, netmask: Optional[int]) -> Tuple[List[Addr], str]:
    """hash:ip's first part: an address, a range or a CIDR (IPv4), expanded."""
    if "-" in text or "/" in text:
        if family != "inet":
            raise IPSetError(f"Syntax error: plain IP address must be supplied: {text}")
        if "-" in text:
            lo_t, hi_t = text.split("-", 1)
            lo, hi = int(_addr(lo_t, family)), int(_addr(hi_t, family))
            if lo > hi:
                lo, hi = hi, lo
            shown = f"{_mk(family, lo)}-{_mk(family, hi)}"
        else:
            a_t, c_t = text.split("/", 1)
            a = _addr(a_t, family)
            c = _cidr(c_t, family)
            lo = int(_net(a, c))
            hi = lo + (1 << (32 - c)) - 1
            shown = str(_mk(family, lo)) if c == 32 else f"{_mk(family, lo)}/{c}"
    else:
        a = _addr(text, family)
        lo = hi = int(a)
        shown = str(a)
    step = 1
    if netmask is not None and netmask < _bits(family):
        step = 1 << (_bits(family) - netmask)
        lo -= lo % step
    return [_mk(family, n) for n in range(lo, hi + 1, step)], shown


def _range_cidrs(lo: int, hi: int, top: int) -> List[Tuple[int, int]]:
    """The CIDRs covering lo..hi, as ipset's range-to-net walk gives them."""
    out = []
    while lo <= hi:
        size = top
        while size > 0:
            block = 1 << (top - size + 1)
            if lo % block != 0 or lo + block - 1 > hi:
                break
            size -= 1
        out.append((lo, size))
        lo += 1 << (top - size)
    return out


def _net_part(text: str, family: str) -> Tuple[List[Tuple[Addr, int]], str, bool]:
    top = _bits(family)
    if "-" in text:
        if family != "inet":
            raise IPSetError(f"Syntax error: plain IP address must be supplied: {text}")
        lo_t, hi_t = text.split("-", 1)
        lo, hi = int(_addr(lo_t, family)), int(_addr(hi_t, family))
        if lo > hi:
            lo, hi = hi, lo
        nets = [(_mk(family, n), c) for n, c in _range_cidrs(lo, hi, top)]
        return nets, f"{_mk(family, lo)}-{_mk(family, hi)}", True
    if "/" in text:
        a_t, c_t = text.split("/", 1)
        a = _addr(a_t, family)
        c = _cidr(c_t, family)
        if c == 0:
            raise IPSetError("The value of the CIDR parameter of the IP address is invalid")
        n = _net(a, c)
        return [(n, c)], (str(n) if c == top else f"{n}/{c}"), True
    a = _addr(text, family)
    return [(a, top)], str(a), False


def show_net(a: Addr, c: int) -> str:
    return str(a) if c == a.max_prefixlen else f"{a}/{c}"


def _port_error(text: str, proto: str) -> IPSetError:
    return IPSetError(
        f"Syntax error: '{text}' is invalid as number\n"
        "Syntax error: 'tcp' is invalid as number\n"
        f"cannot parse '{text}' as a {proto} port"
    )


def _port_number(text: str, proto: str) -> int:
    if text in _SERVICES:
        return _SERVICES[text]
    if not text.isdigit():
        raise _port_error(text, proto)
    n = int(text)
    if n > 65535:
        raise IPSetError(
            f"Syntax error: '{text}' is out of range 0-65535\n"
            "Syntax error: 'tcp' is invalid as number\n"
            f"cannot parse '{text}' as a {proto} port"
        )
    return n


def _port_part(text: str, family: str, with_proto: bool) -> Tuple[List[Tuple[int, int]], str]:
    """``[proto:]port[-port]``: (proto, port) keys and the canonical spelling."""
    proto_t = "tcp"
    rest = text
    if ":" in text:
        proto_t, rest = text.split(":", 1)
    if proto_t.isdigit():
        proto = int(proto_t)
    elif proto_t in _PROTO_NUMBERS:
        proto = _PROTO_NUMBERS[proto_t]
    else:
        raise IPSetError(f"Syntax error: cannot parse '{proto_t}' as a protocol")
    if proto == 58 and family == "inet":
        raise IPSetError(
            "Syntax error: Protocol ICMPv6 can be used with family inet6 only\n"
            "Invalid add command: missing setname"
        )
    name = _PROTO_NAMES.get(proto, str(proto))
    if proto in (1, 58):
        tc = rest.split("/")
        if rest in _ICMP:
            t, c = _ICMP[rest]
        elif len(tc) == 2 and all(x.isdigit() and int(x) < 256 for x in tc):
            t, c = int(tc[0]), int(tc[1])
        else:
            raise IPSetError(f"Cannot parse {rest} as an ICMP type/code.")
        return [(proto, (t << 8) | c)], f"{name}:{_ICMP_NAME.get((t, c), f'{t}/{c}')}"
    if proto not in (6, 17, 132, 136):
        return [(proto, 0)], f"{name}:0"
    if "-" in rest:
        lo_t, hi_t = rest.split("-", 1)
        lo, hi = _port_number(lo_t, name), _port_number(hi_t, name)
        if lo > hi:
            lo, hi = hi, lo
        shown = f"{name}:{lo}-{hi}"
    else:
        lo = hi = _port_number(rest, name)
        shown = f"{name}:{lo}"
    return [(proto, p) for p in range(lo, hi + 1)], shown


def show_port(proto: int, port: int) -> str:
    name = _PROTO_NAMES.get(proto, str(proto))
    if proto in (1, 58):
        t, c = port >> 8, port & 0xFF
        return f"{name}:{_ICMP_NAME.get((t, c), f'{t}/{c}')}"
    return f"{name}:{port}"


_ORDINAL = ("First", "Second", "Third")


def parse_element(
    tinfo: TypeInfo, text: str, family: Optional[str], netmask: Optional[int]
) -> Parsed:
    """``text`` as an element of a set of type ``tinfo`` (list:set and bitmap:port
    are parsed by their callers)."""
    fam = family or "inet"
    if len(tinfo.parts) == 1 and "," in text:
        # measured (differential test seed 15): add SB 192.0.2.1,80 to a hash:ip
        raise IPSetError(
            f"Syntax error: Elem separator in {text}, but settype {tinfo.name} supports none."
        )
    parts = text.split(",", len(tinfo.parts) - 1)
    if len(parts) < len(tinfo.parts):
        raise IPSetError(f"Syntax error: {_ORDINAL[len(parts)]} element is missing from {text}.")
    keys: List[Tuple[object, ...]] = [()]
    shown: List[str] = []
    exact = True
    for kind, part in zip(tinfo.parts, parts):
        if kind == "ip":
            addrs, s = _ip_part(part, fam, netmask)
            keys = [k + (a,) for k in keys for a in addrs]
            shown.append(s)
        elif kind == "ip2":
            if "-" in part or "/" in part:
                raise IPSetError(f"Syntax error: plain IP address must be supplied: {part}")
            a = _addr(part, fam)
            keys = [k + (a,) for k in keys]
            shown.append(str(a))
        elif kind == "net":
            nets, s, exact = _net_part(part, fam)
            keys = [k + n for k in keys for n in nets]
            shown.append(s)
        else:  # port
            ports, s = _port_part(part, fam, True)
            keys = [k + p for k in keys for p in ports]
            shown.append(s)
    return Parsed(keys, ",".join(shown), exact)


def parse_bitmap_port(text: str, lo: int, hi: int) -> Parsed:
    if "," in text:  # measured (differential test seed 12)
        raise IPSetError(
            f"Syntax error: Elem separator in {text}, but settype bitmap:port supports none."
        )
    rest = text
    if ":" in text:
        proto, rest = text.split(":", 1)
        if proto not in ("tcp", "udp"):
            raise IPSetError(f"Syntax error: cannot parse '{proto}' as a protocol")
    if "-" in rest:
        a_t, b_t = rest.split("-", 1)
        a, b = _port_number(a_t, "tcp"), _port_number(b_t, "tcp")
        if a > b:
            a, b = b, a
        shown = f"{a}-{b}"
    else:
        a = b = _port_number(rest, "tcp")
        shown = str(a)
    return Parsed([(p,) for p in range(a, b + 1)], shown, True)


def show_key(tinfo: TypeInfo, key: Tuple[object, ...]) -> str:
    """A key as ``save`` and ``list`` print it."""
    out: List[str] = []
    i = 0
    for kind in tinfo.parts:
        if kind in ("ip", "ip2"):
            out.append(str(key[i]))
            i += 1
        elif kind == "net":
            a, c = key[i], key[i + 1]
            out.append(show_net(a, c))  # type: ignore[arg-type]
            i += 2
        elif kind == "port":
            if tinfo.name == "bitmap:port":
                out.append(str(key[i]))
                i += 1
            else:
                out.append(show_port(key[i], key[i + 1]))  # type: ignore[arg-type]
                i += 2
        else:
            out.append(str(key[i]))
            i += 1
    return ",".join(out)
