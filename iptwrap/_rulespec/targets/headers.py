"""Header rewriting: ECN (IPv4), TCPOPTSTRIP, and IPv6 prefix translation (DNPT, SNPT).

Measured on 1.8.9 with kernel 6.18, both backends: the texts iptables-save and
``-L -n -v -x`` print, the parser's messages, and what the kernel refuses. ECN and
TCPOPTSTRIP live in the mangle table only; ECN's TCP operations and TCPOPTSTRIP need
``-p tcp`` (not inverted). DNPT and SNPT live in the mangle table, DNPT in PREROUTING
and OUTPUT, SNPT in INPUT and POSTROUTING, and the kernel refuses a prefix longer than
64 bits or one with bits set past its length.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import List, Optional, Set, Tuple

from ..errors import ParameterProblem
from ..ext import Cursor, Ext, Opt, Restriction, RuleBuild, hooks, register_target
from ..values import ipv6_to_str, mask_to_cidr, strtoui

__all__: List[str] = []

_MANGLE = frozenset({"mangle"})


# ---------------------------------------------------------------- ECN


@dataclass
class _EcnState:
    # the operations given, as the kernel stores them (IPT_ECN_OP_SET_*)
    ece: Optional[int] = None  # --ecn-tcp-ece (or 0 by --ecn-tcp-remove)
    cwr: Optional[int] = None  # --ecn-tcp-cwr (or 0 by --ecn-tcp-remove)
    ect: Optional[int] = None  # --ecn-ip-ect


@register_target
class EcnTarget(Ext[_EcnState]):
    state = _EcnState
    name = "ECN"
    is_target = True
    families = (4,)
    opts = {
        "ecn-tcp-remove": Opt("remove", arg=False),
        "ecn-tcp-cwr": Opt("cwr"),
        "ecn-tcp-ece": Opt("ece"),
        "ecn-ip-ect": Opt("ect"),
    }
    excl = {"remove": ("cwr", "ece")}
    only_tables = _MANGLE

    def parse(
        self, st: _EcnState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "remove":
            st.ece = st.cwr = 0
        elif oid == "cwr":
            st.cwr = self.uint("ecn-tcp-cwr", arg, 0, 1)
        elif oid == "ece":
            st.ece = self.uint("ecn-tcp-ece", arg, 0, 1)
        else:
            st.ect = self.uint("ecn-ip-ect", arg, 0, 3)

    def final(self, st: _EcnState, rb: RuleBuild) -> Tuple[str, str]:
        if st.ece is None and st.cwr is None and st.ect is None:
            raise ParameterProblem("ECN target: An operation is required")
        if st.ece == 0 and st.cwr == 0 and st.ect is None:
            return " --ecn-tcp-remove", " ECN TCP remove"
        s = lst = ""
        if st.ece is not None:
            s += f" --ecn-tcp-ece {st.ece}"
            lst += f" ECE={st.ece}"
        if st.cwr is not None:
            s += f" --ecn-tcp-cwr {st.cwr}"
            lst += f" CWR={st.cwr}"
        if st.ect is not None:
            s += f" --ecn-ip-ect {st.ect}"
            lst += f" ECT codepoint={st.ect}"
        return s, " ECN" + lst

    def restrict(self, st: _EcnState, rb: RuleBuild) -> Restriction:
        tcp_ops = st.ece is not None or st.cwr is not None
        if tcp_ops and (rb.proto != 6 or rb.proto_inv):
            return None, None, "Invalid argument"
        return None, self.only_tables, None


# ---------------------------------------------------------------- TCPOPTSTRIP

_TCP_OPTION_NAMES = {
    "wscale": 3,
    "mss": 2,
    "sack-permitted": 4,
    "sack": 5,
    "timestamp": 8,
    "md5": 19,
}


@dataclass
class _TcpoptstripState:
    options: Set[int] = field(default_factory=set)  # the option kinds to strip


@register_target
class TcpoptstripTarget(Ext[_TcpoptstripState]):
    state = _TcpoptstripState
    name = "TCPOPTSTRIP"
    is_target = True
    opts = {"strip-options": Opt("strip")}
    only_tables = _MANGLE

    def parse(
        self, st: _TcpoptstripState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        for item in arg.split(","):
            kind = _TCP_OPTION_NAMES.get(item, 0)
            if kind == 0:
                v = strtoui(item, 0, 255)
                if v is None:
                    raise ParameterProblem(f'Bad TCP option value "{item}"')
                kind = v
            if kind < 2:
                raise ParameterProblem("Option value may not be 0 or 1")
            if kind in st.options:
                raise ParameterProblem(f'Option "{item}" already specified')
            st.options.add(kind)

    def final(self, st: _TcpoptstripState, rb: RuleBuild) -> Tuple[str, str]:
        if not st.options:
            return "", ""
        kinds = ",".join(str(k) for k in sorted(st.options))
        return f" --strip-options {kinds}", f" TCPOPTSTRIP options {kinds}"

    def restrict(self, st: _TcpoptstripState, rb: RuleBuild) -> Restriction:
        if rb.proto != 6 or rb.proto_inv:
            return None, None, "Invalid argument"
        return None, self.only_tables, None


# ---------------------------------------------------------------- DNPT / SNPT


def _getaddrinfo6(host: str) -> int:
    """getaddrinfo(host, AF_INET6) as xtables' host option type calls it, for the
    numeric hosts the fake knows; a name gets the answer of a host without DNS."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, host), "big")
    except (OSError, ValueError):
        pass
    try:
        socket.inet_pton(socket.AF_INET, host)
        raise ParameterProblem("getaddrinfo: Address family for hostname not supported\n")
    except (OSError, ValueError):
        pass
    if host == "" or any(c.isspace() or c in ":%" for c in host):
        raise ParameterProblem("getaddrinfo: Name or service not known\n")
    raise ParameterProblem("getaddrinfo: Temporary failure in name resolution\n")


def _parse_hostmask6(name: str, opt: str, arg: str) -> Tuple[int, int]:
    """XTTYPE_HOSTMASK for IPv6: host[/length or /mask], as (address, length)."""
    host, sep, plen = arg.partition("/")
    addr = _getaddrinfo6(host)
    if not sep:
        return addr, 128
    n = strtoui(plen, 0, 128)
    if n is not None:
        return addr, n
    try:
        mask = int.from_bytes(socket.inet_pton(socket.AF_INET6, plen), "big")
    except (OSError, ValueError):
        raise ParameterProblem(
            f'{name}: bad value for option "--{opt}", neither a valid network mask '
            "nor valid CIDR (0-128).\n"
        ) from None
    cidr = mask_to_cidr(mask, 128)
    return addr, cidr if cidr >= 0 else 255  # a uint8_t -1: the kernel refuses it


@dataclass
class _NptState:
    src: Tuple[int, int] = (0, 0)  # (prefix, length)
    dst: Tuple[int, int] = (0, 0)


def _npt_prefix_ok(pfx: Tuple[int, int]) -> bool:
    addr, plen = pfx
    if plen > 64:
        return False
    return addr & ((1 << (128 - plen)) - 1) == 0


@register_target
class DnptTarget(Ext[_NptState]):
    state = _NptState
    name = "DNPT"
    is_target = True
    families = (6,)
    opts = {"src-pfx": Opt("src"), "dst-pfx": Opt("dst")}
    mandatory = ("src", "dst")
    only_tables = _MANGLE
    only_hooks = hooks("PREROUTING", "OUTPUT")

    def parse(
        self, st: _NptState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        v = _parse_hostmask6(self.name, f"{oid}-pfx", arg)
        if oid == "src":
            st.src = v
        else:
            st.dst = v

    def final(self, st: _NptState, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        parts = []
        for key, (addr, plen) in (("src-pfx", st.src), ("dst-pfx", st.dst)):
            text = f"{ipv6_to_str(addr)}/{plen}"
            if addr or plen:
                s += f" --{key} {text}"
            parts.append(f"{key} {text}")
        return s, f" {self.name} " + " ".join(parts)

    def restrict(self, st: _NptState, rb: RuleBuild) -> Restriction:
        if not (_npt_prefix_ok(st.src) and _npt_prefix_ok(st.dst)):
            return None, None, "Invalid argument"
        return self.only_hooks, self.only_tables, None


@register_target
class SnptTarget(DnptTarget):
    name = "SNPT"
    only_hooks = hooks("INPUT", "POSTROUTING")
