"""Addresses, interfaces, protocols, ports and numbers, the way iptables 1.8.9 parses them.

Helpers shared by the command-line parser (``_cmdline``) and the extension
modules (``_spec_matches``, ``_spec_targets``). Everything here is pure and cheap:
no regular expression is compiled per call, lookups are cached.
"""

from __future__ import annotations

import functools
import re
import socket
from typing import Dict, List, Optional, Tuple

from .errors import ParameterProblem
from .release import release_of

__all__ = [
    "strtoui",
    "strtoui_prefix",
    "parse_uint_range",
    "parse_protocol",
    "proto_save_name",
    "proto_match_name",
    "parse_iface",
    "parse_addresses",
    "format_addr",
    "parse_ipv4",
    "numeric_to_ipaddr",
    "parse_ipv6",
    "ipv4_to_str",
    "ipv6_to_str",
    "parse_port",
    "parse_port_range",
    "save_string",
    "mask_to_cidr",
]

# /etc/protocols of Debian 12 (netbase), embedded so the fake does not depend on the host.
_PROTOCOLS: Tuple[Tuple[str, int, str], ...] = (
    ("ip", 0, "IP"),
    ("hopopt", 0, "HOPOPT"),
    ("icmp", 1, "ICMP"),
    ("igmp", 2, "IGMP"),
    ("ggp", 3, "GGP"),
    ("ipencap", 4, "IP-ENCAP"),
    ("st", 5, "ST"),
    ("tcp", 6, "TCP"),
    ("egp", 8, "EGP"),
    ("igp", 9, "IGP"),
    ("pup", 12, "PUP"),
    ("udp", 17, "UDP"),
    ("hmp", 20, "HMP"),
    ("xns-idp", 22, "XNS-IDP"),
    ("rdp", 27, "RDP"),
    ("iso-tp4", 29, "ISO-TP4"),
    ("dccp", 33, "DCCP"),
    ("xtp", 36, "XTP"),
    ("ddp", 37, "DDP"),
    ("idpr-cmtp", 38, "IDPR-CMTP"),
    ("ipv6", 41, "IPv6"),
    ("ipv6-route", 43, "IPv6-Route"),
    ("ipv6-frag", 44, "IPv6-Frag"),
    ("idrp", 45, "IDRP"),
    ("rsvp", 46, "RSVP"),
    ("gre", 47, "GRE"),
    ("esp", 50, "IPSEC-ESP"),
    ("ah", 51, "IPSEC-AH"),
    ("skip", 57, "SKIP"),
    ("ipv6-icmp", 58, "IPv6-ICMP"),
    ("ipv6-nonxt", 59, "IPv6-NoNxt"),
    ("ipv6-opts", 60, "IPv6-Opts"),
    ("rspf", 73, "RSPF"),
    ("vmtp", 81, "VMTP"),
    ("eigrp", 88, "EIGRP"),
    ("ospf", 89, "OSPFIGP"),
    ("ax.25", 93, "AX.25"),
    ("ipip", 94, "IPIP"),
    ("etherip", 97, "ETHERIP"),
    ("encap", 98, "ENCAP"),
    ("pim", 103, "PIM"),
    ("ipcomp", 108, "IPCOMP"),
    ("vrrp", 112, "VRRP"),
    ("l2tp", 115, "L2TP"),
    ("isis", 124, "ISIS"),
    ("sctp", 132, "SCTP"),
    ("fc", 133, "FC"),
    ("mobility-header", 135, "Mobility-Header"),
    ("udplite", 136, "UDPLite"),
    ("mpls-in-ip", 137, "MPLS-in-IP"),
    ("manet", 138, ""),
    ("hip", 139, "HIP"),
    ("shim6", 140, "Shim6"),
    ("wesp", 141, "WESP"),
    ("rohc", 142, "ROHC"),
    ("ethernet", 143, "Ethernet"),
)
_PROTO_BY_NAME: Dict[str, int] = {}
_PROTO_BY_NUM: Dict[int, str] = {}
for _n, _v, _a in _PROTOCOLS:
    _PROTO_BY_NAME.setdefault(_n, _v)
    if _a:
        _PROTO_BY_NAME.setdefault(_a, _v)
    _PROTO_BY_NUM.setdefault(_v, _n)
# xtables_chain_protos
_CHAIN_PROTOS: Tuple[Tuple[str, int], ...] = (
    ("tcp", 6),
    ("sctp", 132),
    ("udp", 17),
    ("udplite", 136),
    ("icmp", 1),
    ("icmpv6", 58),
    ("ipv6-icmp", 58),
    ("esp", 50),
    ("ah", 51),
    ("ipv6-mh", 135),
    ("mh", 135),
    ("all", 0),
)
_CHAIN_PROTO_BY_NAME = {n: v for n, v in _CHAIN_PROTOS}

_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")


def _c_strtoumax(s: str) -> Tuple[Optional[int], str]:
    """strtoumax(s, &end, 0): (value or None if nothing parsed, rest). Negative wraps."""
    i = 0
    n = len(s)
    while i < n and s[i] in " \t\n\r\f\v":
        i += 1
    neg = False
    if i < n and s[i] in "+-":
        neg = s[i] == "-"
        i += 1
    base = 10
    if i + 1 < n and s[i] == "0" and s[i + 1] in "xX" and i + 2 < n and s[i + 2] in _HEX:
        base = 16
        i += 2
    elif i < n and s[i] == "0":
        base = 8
    j = i
    if base == 16:
        while j < n and s[j] in _HEX:
            j += 1
    elif base == 8:
        while j < n and s[j] in "01234567":
            j += 1
    else:
        while j < n and s[j] in _DIGITS:
            j += 1
    if j == i:
        return None, s
    v = int(s[i:j], base)
    if v > 0xFFFFFFFFFFFFFFFF:
        v = 0xFFFFFFFFFFFFFFFF + 1  # ERANGE: out of every range
    elif neg and v:
        v = (1 << 64) - v
    return v, s[j:]


def strtoui(s: str, lo: int = 0, hi: int = 0xFFFFFFFF) -> Optional[int]:
    """xtables_strtoui(s, NULL, &v, lo, hi): the whole string must be a number in range."""
    if s.isdigit() and s.isascii() and (len(s) == 1 or s[0] != "0"):
        v = int(s)
        return v if lo <= v <= hi else None
    v2, rest = _c_strtoumax(s)
    if v2 is None or rest or not lo <= v2 <= hi:
        return None
    return v2


def parse_protocol(arg: str) -> int:
    """``-p``: number, ``all``, /etc/protocols name or xtables_chain_protos name."""
    s = arg.lower()
    v = strtoui(s, 0, 255)
    if v is not None:
        return v
    if s == "all":
        return 0
    p = _PROTO_BY_NAME.get(s)
    if p is not None:
        return p
    p = _CHAIN_PROTO_BY_NAME.get(s)
    if p is not None:
        return p
    raise ParameterProblem(f'unknown protocol "{s}" specified')


# From 1.8.11 (measured; 1.8.10 is not) iptables-save, -S and -L -n name a protocol only
# from iptables' own table, never from /etc/protocols: "-p gre" is saved as "-p 47".
_BUILTIN_PROTO_NAMES: Dict[int, str] = {
    0: "all",
    1: "icmp",
    6: "tcp",
    17: "udp",
    33: "dccp",
    50: "esp",
    51: "ah",
    58: "ipv6-icmp",
    132: "sctp",
    135: "mobility-header",
    136: "udplite",
}
_BUILTIN_NUM_BY_NAME = {n: v for v, n in _BUILTIN_PROTO_NAMES.items()}


def proto_list_name(num: int, version: str) -> str:
    """The protocol column of ``iptables -L -n``.

    1.8.7: the first name for the number in iptables' own table (58 is ``icmpv6``),
    else the number; 1.8.9: the number; from 1.8.11: the name from its own table.
    """
    style = release_of(version).list_proto_names
    if style == "builtin":
        return _BUILTIN_PROTO_NAMES.get(num, str(num))
    if style == "chain":
        for n, v in _CHAIN_PROTOS:
            if v == num:
                return n
    return str(num)


def proto_number(name: str) -> Optional[int]:
    """The number of a protocol column's name (1.8.7 and 1.8.11 print names)."""
    if name.isdigit():
        return int(name)
    return _CHAIN_PROTO_BY_NAME.get(name, _BUILTIN_NUM_BY_NAME.get(name))


def proto_save_name(num: int, version: str = "1.8.9") -> str:
    """What ``iptables-save`` prints after ``-p`` (getprotobynumber, else the number)."""
    if release_of(version).saves_builtin_proto_names_only:
        return _BUILTIN_PROTO_NAMES.get(num, str(num))
    name = _PROTO_BY_NUM.get(num)
    if name is not None:
        return name
    for n, v in _CHAIN_PROTOS:
        if v == num:
            return n
    return str(num)


def proto_match_name(num: int, family: int) -> Optional[str]:
    """The match extension iptables loads implicitly for ``-p`` (find_proto)."""
    if num == 0:
        return None
    name = _PROTO_BY_NUM.get(num)
    if name is None:
        for n, v in _CHAIN_PROTOS:
            if v == num:
                name = n
                break
    if name is None:
        return None
    if name in ("icmpv6", "ipv6-icmp", "icmp6"):
        return "icmp6"
    return name


def parse_iface(arg: str, warnings: List[str], version: str = "1.8.9") -> str:
    """xtables_parse_interface: returns the name (``+`` kept); warns on weird characters."""
    if not arg:
        raise ParameterProblem("Empty interface is likely to be undesired")
    if len(arg.encode("utf-8", "surrogateescape")) + 1 > 16:
        if release_of(version).long_option_names:  # 1.8.11's wording
            raise ParameterProblem(f"interface name `{arg}' must be shorter than 16 characters")
        raise ParameterProblem(f"interface name `{arg}' must be shorter than IFNAMSIZ (15)")
    if "/" in arg or " " in arg:
        warnings.append(
            f"Warning: weird character in interface `{arg}' "
            "('/' and ' ' are not allowed by the kernel)."
        )
    return arg


# ---------------------------------------------------------------- IPv4 / IPv6


def _numeric_to_ipaddr(s: str, is_mask: bool) -> Optional[int]:
    parts = s[:19].split(".")
    if len(parts) > 4:
        # strchr finds the first three dots; the rest is the fourth field
        parts = parts[:3] + [".".join(parts[3:])]
    out = []
    for i, p in enumerate(parts):
        if i == len(parts) - 1 and len(parts) < 4 and is_mask:
            return None
        v = strtoui(p, 0, 255)
        if v is None:
            return None
        out.append(v)
    while len(out) < 4:
        out.append(0)
    return (out[0] << 24) | (out[1] << 16) | (out[2] << 8) | out[3]


def numeric_to_ipaddr(s: str) -> Optional[int]:
    """xtables_numeric_to_ipaddr: dotted numeric only (``10.1`` is 10.1.0.0)."""
    return _numeric_to_ipaddr(s, False)


def _inet_aton(s: str) -> Optional[int]:
    """glibc inet_aton (used by getaddrinfo for numeric hosts)."""
    if not s or s[-1] == ".":
        return None
    parts = s.split(".")
    if len(parts) > 4:
        return None
    vals = []
    for p in parts:
        v, rest = _c_strtoumax(p)
        if v is None or rest or p[:1] in (" ", "+", "-") or not p:
            return None
        vals.append(v)
    limits = {1: (0xFFFFFFFF,), 2: (255, 0xFFFFFF), 3: (255, 255, 0xFFFF), 4: (255,) * 4}
    lim = limits[len(vals)]
    for v, m in zip(vals, lim):
        if v > m:
            return None
    if len(vals) == 1:
        return vals[0]
    if len(vals) == 2:
        return (vals[0] << 24) | vals[1]
    if len(vals) == 3:
        return (vals[0] << 24) | (vals[1] << 16) | vals[2]
    return (vals[0] << 24) | (vals[1] << 16) | (vals[2] << 8) | vals[3]


def parse_ipv4(host: str) -> Optional[int]:
    """An IPv4 address as xtables accepts it (numeric forms, then inet_aton/localhost)."""
    v = _numeric_to_ipaddr(host, False)
    if v is not None:
        return v
    v = _inet_aton(host)
    if v is not None:
        return v
    if host == "localhost":
        return 0x7F000001
    return None


def parse_ipv6(host: str) -> Optional[int]:
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, host), "big")
    except (OSError, ValueError):
        if host in ("localhost", "ip6-localhost", "ip6-loopback"):
            return 1
        return None


def ipv4_to_str(v: int) -> str:
    return f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}"


@functools.lru_cache(maxsize=4096)
def ipv6_to_str(v: int) -> str:
    return socket.inet_ntop(socket.AF_INET6, v.to_bytes(16, "big"))


def mask_to_cidr(mask: int, bits: int) -> int:
    """Prefix length of a contiguous mask, -1 if not contiguous."""
    full = (1 << bits) - 1
    inv = full ^ mask
    if inv & (inv + 1):
        return -1
    return bits - inv.bit_length()


def _parse_mask(m: Optional[str], family: int) -> int:
    bits = 32 if family == 4 else 128
    full = (1 << bits) - 1
    if m is None:
        return full
    if family == 4 and "." in m:
        v = _numeric_to_ipaddr(m, True)
        if v is None:
            raise ParameterProblem(f"invalid mask `{m}' specified")
        return v
    if family == 6 and ":" in m:
        v6 = parse_ipv6(m)
        if v6 is None:
            raise ParameterProblem(f"invalid mask `{m}' specified")
        return v6
    n = strtoui(m, 0, bits)
    if n is None:
        raise ParameterProblem(f"invalid mask `{m}' specified")
    if n == 0:
        return 0
    return full ^ ((1 << (bits - n)) - 1)


def parse_addresses(arg: str, family: int) -> List[Tuple[int, int]]:
    """xtables_ip(6)parse_multiple: comma list of host[/mask] -> [(addr & mask, mask)]."""
    return list(_parse_addresses(arg, family))


@functools.lru_cache(maxsize=16384)
def _parse_addresses(arg: str, family: int) -> Tuple[Tuple[int, int], ...]:
    out: List[Tuple[int, int]] = []
    for item in arg.split(","):
        host, sep, m = item.rpartition("/")
        if not sep:
            host = m
        mask = _parse_mask(m if sep else None, family)
        if mask == 0:
            # libxtables: "if a null mask is given, the name is ignored, like in
            # any/0" (so ip6tables takes -s 0/0 and iptables -s ::/0)
            host = "0.0.0.0" if family == 4 else "::"
        addr = parse_ipv4(host) if family == 4 else parse_ipv6(host)
        if addr is None:
            raise ParameterProblem(f"host/network `{host}' not found")
        out.append((addr & mask, mask))
    return tuple(out)


@functools.lru_cache(maxsize=8192)
def format_addr(addr: int, mask: int, family: int, listing: bool) -> str:
    """``-s`` text for save (``10.0.0.1/32``) or -L -n (``10.0.0.1``, ``0.0.0.0/0``)."""
    bits = 32 if family == 4 else 128
    a = ipv4_to_str(addr) if family == 4 else ipv6_to_str(addr)
    cidr = mask_to_cidr(mask, bits)
    if cidr == -1:
        ms = ipv4_to_str(mask) if family == 4 else ipv6_to_str(mask)
        return f"{a}/{ms}"
    if listing and cidr == bits:
        return a
    return f"{a}/{cidr}"


# ---------------------------------------------------------------- ports


@functools.lru_cache(maxsize=4096)
def _service(name: str, proto: str) -> Optional[int]:
    if not name or "\0" in name or name.isdigit():
        # No service is named by digits alone; skipping the lookup keeps numeric
        # ports (the common case, and unbounded in number) off the NSS path.
        return None
    try:
        return socket.getservbyname(name, proto)
    except (OSError, UnicodeError):
        return None


def parse_port(arg: str, proto: str) -> int:
    """xtables_parse_port: service name first (getaddrinfo: any of tcp/udp), then a number."""
    v = _service(arg, proto)
    if v is None and proto != "sctp":
        v = _service(arg, "tcp") if proto != "tcp" else _service(arg, "udp")
        if v is None and proto not in ("tcp", "udp"):
            v = _service(arg, "udp")
    if v is not None:
        return v
    n = strtoui(arg, 0, 65535)
    if n is None:
        raise ParameterProblem(f"invalid port/service `{arg}' specified")
    return n


def parse_port_range(arg: str, proto: str) -> Tuple[int, int]:
    """``a``, ``a:b``, ``:b``, ``a:`` (tcp/udp/sctp/dccp --sport/--dport)."""
    lo, sep, hi = arg.partition(":")
    if not sep:
        p = parse_port(arg, proto)
        return p, p
    a = parse_port(lo, proto) if lo else 0
    b = parse_port(hi, proto) if hi else 0xFFFF
    if a > b:
        raise ParameterProblem("invalid portrange (min > max)")
    return a, b


# ---------------------------------------------------------------- strings

_NO_QUOTE_RE = re.compile(r"[_\-0-9a-zA-Z]+")


def save_string(value: str) -> str:
    """xtables_save_string, with its leading space."""
    if _NO_QUOTE_RE.fullmatch(value):
        return " " + value
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'")
    return f' "{out}"'


def proto_columns(prot: str, opt: str, wide: bool) -> str:
    """The prot and opt columns of an ``-L`` line: ``" tcp  -- "``, ``"!6    -- "``.

    1.8.9 and 1.8.11 print ``"%-4s "`` (a longer name keeps its space); 1.8.7
    ``"%-5s"`` with no space (``wide``).
    """
    neg = prot.startswith("!")
    pv = prot[1:] if neg else prot
    col = f"{pv:<5s}" if wide else f"{pv:<4s} "
    return ("!" if neg else " ") + col + opt + " "


def strtoui_prefix(s: str, lo: int = 0, hi: int = 0xFFFFFFFF) -> Optional[Tuple[int, str]]:
    """xtables_strtoui(s, &end, &v, lo, hi): (value, the rest after it), or None when no
    number starts the string, it is negative, or it is out of range."""
    if s.lstrip(" \t\n\r\f\v").startswith("-"):
        return None
    v, rest = _c_strtoumax(s)
    if v is None or not lo <= v <= hi:
        return None
    return v, rest


def parse_uint_range(
    ext: str, opt: str, arg: str, hi: int = 0xFFFFFFFF
) -> Tuple[Tuple[int, ...], int]:
    """xtopt_parse_mint for an XTTYPE_UINT32RC option: "a", "a:b", ":b", "a:" (a missing
    component is 0 first, ``hi`` second). Returns (the values given, how many)."""
    vals: List[int] = []
    rest = arg
    while True:
        if len(vals) == 2:
            raise ParameterProblem(f'{ext}: Too many components for option "--{opt}" (max: 2)\n')
        if rest == "" or rest.startswith(":"):
            v = hi if len(vals) == 1 else 0
            after = rest
        else:
            got = strtoui_prefix(rest, 0, hi)
            if got is None or not (got[1] == "" or got[1].startswith(":")):
                raise ParameterProblem(
                    f'{ext}: bad value for option "--{opt}" near "{rest}", or out of range '
                    f"(0-{hi}).\n"
                )
            v, after = got
        vals.append(v)
        if after == "":
            break
        rest = after[1:]
    return tuple(vals), len(vals)
