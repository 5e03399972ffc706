"""Address translation: DNAT, SNAT, MASQUERADE, REDIRECT and NETMAP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

from ..errors import ParameterProblem
from ..ext import (
    Cursor,
    Ext,
    Opt,
    Restriction,
    RuleBuild,
    hooks,
    register_target,
)
from ..release import release_of
from ..values import (
    format_addr,
    ipv4_to_str,
    ipv6_to_str,
    numeric_to_ipaddr,
    parse_addresses,
    parse_ipv4,
    parse_ipv6,
    strtoui,
)

__all__: List[str] = []


# ---------------------------------------------------------------- NAT

_NAT_PROTOS = (6, 17, 132, 33, 136)


def _need_port_proto(rb: RuleBuild) -> None:
    if rb.proto not in _NAT_PROTOS or rb.proto_inv:
        raise ParameterProblem("Need TCP, UDP, SCTP or DCCP with port specification")


def _port_range(arg: str) -> str:
    lo, sep, hi = arg.partition("-")
    a = strtoui(lo, 0, 65535)
    if a is None:
        a, rest = _uint_prefix(arg, 65535)
        if a is None:
            raise ParameterProblem(f"Port `{arg}' not valid")
        if rest.startswith(":"):
            raise ParameterProblem("Invalid port:port syntax - use dash")
        if not rest.startswith("-"):
            raise ParameterProblem(f"Garbage after port value: `{rest}'")
        hi = rest[1:]
    if not sep and hi == "":
        return str(a)
    b, rest2 = _uint_prefix(hi, 65535)
    if b is None:
        raise ParameterProblem(f"Port `{hi}' not valid")
    if b < a:
        raise ParameterProblem(f"Port range `{hi}' funky")
    if rest2:
        raise ParameterProblem(f"fake: NAT port offset `{rest2}' is not emulated")
    return str(a) if a == b else f"{a}-{b}"


def _uint_prefix(s: str, hi: int) -> Tuple[Optional[int], str]:
    """xtables_strtoui(s, &end, ...): a number prefix and the rest."""
    j = 0
    while j < len(s) and s[j].isdigit() and s[j].isascii():
        j += 1
    if j == 0:
        return None, s
    v = strtoui(s[:j], 0, hi)
    return v, s[j:]


def _nat_addr_range(addrs: str, conv: Callable[[str], Any], fmt: Callable[[Any], str]) -> str:
    """ip[-ip] -> canonical text; a range whose ends are equal prints as one address."""
    lo, sep, hi = addrs.partition("-")
    a1 = conv(lo)
    if a1 is None:
        raise ParameterProblem(f'Bad IP address "{lo}"')
    out: str = fmt(a1)
    if sep:
        a2 = conv(hi)
        if a2 is None:
            raise ParameterProblem(f'Bad IP address "{hi}"')
        if a2 != a1:
            out += "-" + fmt(a2)
    return out


def _nat_range(arg: str, rb: RuleBuild) -> str:
    """ip[-ip][:port[-port]] (IPv6: [ip]:port) -> canonical text."""
    ports: Optional[str] = None
    addrs = arg
    if rb.family == 6 or release_of(rb.ctx.version).nat_one_address_parser:
        if arg.startswith("["):
            end = arg.find("]")
            if end < 0 or rb.family == 4:
                raise ParameterProblem("Invalid address format")
            addrs = arg[1:end]
            rest = arg[end + 1 :]
            c = rest.find(":")
            if c >= 0:
                ports = rest[c + 1 :]
        else:
            c = arg.find(":")
            if c >= 0 and ":" not in arg[c + 1 :]:
                addrs, ports = arg[:c], arg[c + 1 :]
    else:
        addrs, sep, p = arg.partition(":")
        ports = p if sep else None
    if ports is not None:
        _need_port_proto(rb)
        ports = _port_range(ports)
        if not addrs:
            return ":" + ports
    if rb.family == 6:
        out = _nat_addr_range(addrs, parse_ipv6, ipv6_to_str)
        return out if ports is None else f"[{out}]:{ports}"
    out = _nat_addr_range(addrs, numeric_to_ipaddr, ipv4_to_str)
    return out if ports is None else f"{out}:{ports}"


@dataclass
class _NatState:
    to: Optional[str] = None  # the --to-destination/--to-source range as printed
    random: bool = False
    random_fully: bool = False  # SNAT only
    persistent: bool = False


class _NatTarget(Ext[_NatState]):
    state = _NatState
    is_target = True
    to_opt = ""
    flags: Tuple[str, ...] = ()
    valid: frozenset = frozenset()  # type: ignore[type-arg]

    def parse(
        self, st: _NatState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "to":
            st.to = _nat_range(arg, rb)
        elif oid == "random":
            st.random = True
        elif oid == "random-fully":
            st.random_fully = True
        else:
            st.persistent = True

    def final(self, st: _NatState, rb: RuleBuild) -> Tuple[str, str]:
        if st.to is None:
            raise self.mand(self.to_opt)
        s = f" --{self.to_opt} {st.to}"
        lst = f" to:{st.to}"
        given = {
            "random": st.random,
            "random-fully": st.random_fully,
            "persistent": st.persistent,
        }
        for f in self.flags:
            if given[f]:
                s += f" --{f}"
                lst += f" {f}"
        return s, lst

    only_tables = frozenset({"nat"})

    def restrict(self, st: _NatState, rb: RuleBuild) -> Restriction:
        return self.valid, self.only_tables, None


@register_target
class DnatTarget(_NatTarget):
    name = "DNAT"
    to_opt = "to-destination"
    opts = {
        "to-destination": Opt("to"),
        "random": Opt("random", arg=False),
        "persistent": Opt("persistent", arg=False),
    }
    flags = ("random", "persistent")
    valid = hooks("PREROUTING", "OUTPUT")


@register_target
class SnatTarget(_NatTarget):
    name = "SNAT"
    to_opt = "to-source"
    opts = {
        "to-source": Opt("to"),
        "random": Opt("random", arg=False),
        "random-fully": Opt("random-fully", arg=False),
        "persistent": Opt("persistent", arg=False),
    }
    flags = ("random", "random-fully", "persistent")
    valid = hooks("POSTROUTING", "INPUT")


@dataclass
class _MasqueradeState:
    ports: Optional[str] = None  # the --to-ports range as printed
    random: bool = False
    random_fully: bool = False  # MASQUERADE only


@register_target
class MasqueradeTarget(Ext[_MasqueradeState]):
    state = _MasqueradeState
    name = "MASQUERADE"
    is_target = True
    opts = {
        "to-ports": Opt("ports"),
        "random": Opt("random", arg=False),
        "random-fully": Opt("random-fully", arg=False),
    }
    label = "masq ports:"

    def parse(
        self, st: _MasqueradeState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "ports":
            _need_port_proto(rb)
            st.ports = _port_range(arg)
        elif oid == "random":
            st.random = True
        else:
            st.random_fully = True

    def final(self, st: _MasqueradeState, rb: RuleBuild) -> Tuple[str, str]:
        s = lst = ""
        if st.ports is not None:
            s += f" --to-ports {st.ports}"
            lst += f" {self.label} {st.ports}"
        for f, given in (("random", st.random), ("random-fully", st.random_fully)):
            if given:
                s += f" --{f}"
                lst += f" {f}"
        return s, lst

    only_hooks = hooks("POSTROUTING")
    only_tables = frozenset({"nat"})


@register_target
class RedirectTarget(MasqueradeTarget):
    name = "REDIRECT"
    opts = {"to-ports": Opt("ports"), "random": Opt("random", arg=False)}
    label = "redir ports"

    only_hooks = hooks("PREROUTING", "OUTPUT")
    only_tables = frozenset({"nat"})


@dataclass
class _NetmapState:
    to: Optional[str] = None  # the network as printed


@register_target
class NetmapTarget(Ext[_NetmapState]):
    state = _NetmapState
    name = "NETMAP"
    is_target = True
    opts = {"to": Opt("to")}

    def parse(
        self, st: _NetmapState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        host = arg.rpartition("/")[0] or arg
        ok = (parse_ipv4 if rb.family == 4 else parse_ipv6)(host) is not None
        if not ok:
            if rb.family == 6 and parse_ipv4(host) is not None:
                raise ParameterProblem("getaddrinfo: Address family for hostname not supported\n")
            raise ParameterProblem("getaddrinfo: Temporary failure in name resolution\n")
        (a, m), *_rest = parse_addresses(arg.split(",")[0], rb.family)
        st.to = format_addr(a, m, rb.family, False)

    def final(self, st: _NetmapState, rb: RuleBuild) -> Tuple[str, str]:
        if st.to is None:
            raise self.mand("to")
        return f" --to {st.to}", f" to:{st.to}"

    only_tables = frozenset({"nat"})
