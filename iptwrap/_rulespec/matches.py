"""Match modules (``-m NAME`` and the implicit protocol matches) of the fake."""

from __future__ import annotations

import calendar
import grp
import pwd
import time
from typing import Any, Dict, List, Optional, Tuple

from .errors import ParameterProblem
from .ext import (
    ALL_HOOKS,
    NO_RESTRICTION,
    Cursor,
    Ext,
    Restriction,
    RuleBuild,
    hooks,
    register_match,
)
from .release import release_of
from .values import (
    format_addr,
    ipv4_to_str,
    ipv6_to_str,
    mask_to_cidr,
    parse_addresses,
    parse_ipv4,
    parse_ipv6,
    parse_port,
    parse_port_range,
    save_string,
    strtoui,
)

__all__: List[str] = []

St = Dict[str, Any]


def _ports_txt(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}:{hi}"


def _print_ports(name: str, lo: int, hi: int, inv: bool) -> str:
    if lo == 0 and hi == 0xFFFF and not inv:
        return ""
    i = "!" if inv else ""
    if lo == hi:
        return f" {name}:{i}{lo}"
    return f" {name}s:{i}{lo}:{hi}"


def _save_ports(opt: str, lo: int, hi: int, inv: bool) -> str:
    if lo == 0 and hi == 0xFFFF:
        return ""
    return f"{' !' if inv else ''} --{opt} {_ports_txt(lo, hi)}"


def _refuse_proto(rb: RuleBuild, proto: int) -> Optional[str]:
    """xt_check_match: a match bound to a protocol needs ``-p`` of it, not inverted."""
    if rb.proto != proto or rb.proto_inv:
        return "Invalid argument"
    return None


# ---------------------------------------------------------------- tcp / udp / sctp / dccp

_TCP_FLAGS = (("FIN", 1), ("SYN", 2), ("RST", 4), ("PSH", 8), ("ACK", 16), ("URG", 32))
_TCP_FLAG_BY_NAME = {n: v for n, v in _TCP_FLAGS}
_TCP_FLAG_BY_NAME["ALL"] = 0x3F
_TCP_FLAG_BY_NAME["NONE"] = 0


def _tcpf(v: int) -> str:
    names = [n for n, b in _TCP_FLAGS if v & b]
    return ",".join(names) if names else "NONE"


def _parse_tcpf(s: str) -> int:
    v = 0
    for part in s.split(","):
        b = _TCP_FLAG_BY_NAME.get(part.upper())
        if b is None:
            raise ParameterProblem(f"Unknown TCP flag `{part}'")
        v |= b
    return v


class _PortMatch(Ext):
    proto_name = ""
    proto_num = 0

    def init(self, st: St, rb: RuleBuild) -> None:
        st["spts"] = (0, 0xFFFF)
        st["dpts"] = (0, 0xFFFF)
        st["sinv"] = st["dinv"] = False

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid in ("sport", "dport") and self.name != "udp":
            key = "spts" if oid == "sport" else "dpts"
            if st.get(key + "_set"):
                which = "source" if oid == "sport" else "destination"
                raise ParameterProblem(f"Only one `--{which}-port' allowed")
            st[key + "_set"] = True
        if oid == "sport":
            st["spts"] = parse_port_range(arg, self.proto_name)
            st["sinv"] = inv
        elif oid == "dport":
            st["dpts"] = parse_port_range(arg, self.proto_name)
            st["dinv"] = inv
        else:
            self.parse_more(st, oid, arg, inv, rb, cur)

    def parse_more(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        raise ParameterProblem(f"fake: {self.name} option `{oid}' is not emulated")

    def ports_only(self, st: St) -> bool:
        return True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        (sa, sb), (da, db) = st["spts"], st["dpts"]
        s = _save_ports("sport", sa, sb, st["sinv"]) + _save_ports("dport", da, db, st["dinv"])
        lst = f" {self.name}" + _print_ports("spt", sa, sb, st["sinv"])
        lst += _print_ports("dpt", da, db, st["dinv"])
        return s, lst

    def has_ports(self, st: St) -> bool:
        return bool(st["spts"] != (0, 0xFFFF) or st["dpts"] != (0, 0xFFFF))

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        if (
            rb.backend == "nft"
            and (self.has_ports(st) or not self.ports_only(st))
            and not release_of(rb.ctx.version).nft_mismatched_port_match_refused_by_kernel
        ):
            # iptables-nft checks the protocol while building the rule (from 1.8.8?
            # 1.8.7 sent the match to the kernel, which refused it: measured)
            if rb.proto != self.proto_num:
                raise ParameterProblem(f"{self.name.upper()} match requires '-p {self.name}'")
            if self.ports_only(st):
                return NO_RESTRICTION
        return None, None, _refuse_proto(rb, self.proto_num)


_PORT_OPTS = {
    "source-port": ("sport", True, True),
    "sport": ("sport", True, True),
    "destination-port": ("dport", True, True),
    "dport": ("dport", True, True),
}


@register_match
class TcpMatch(_PortMatch):
    name = "tcp"
    multi = frozenset({"sport", "dport", "flags", "syn", "option"})
    proto_name = "tcp"
    proto_num = 6
    opts = dict(
        _PORT_OPTS,
        **{
            "tcp-flags": ("flags", True, True),
            "syn": ("syn", False, True),
            "tcp-option": ("option", True, True),
        },
    )

    def init(self, st: St, rb: RuleBuild) -> None:
        super().init(st, rb)
        st["flags"] = None
        st["finv"] = False
        st["option"] = None
        st["oinv"] = False

    def parse_more(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid in ("flags", "syn"):
            if st["flags"] is not None:
                raise ParameterProblem("Only one of `--syn' or `--tcp-flags'  allowed")
            if oid == "syn":
                st["flags"] = (0x17, 0x02)
            else:
                if not cur.has_arg():
                    raise ParameterProblem("--tcp-flags requires two args.")
                comp = cur.take()
                st["flags"] = (_parse_tcpf(arg), _parse_tcpf(comp))
            st["finv"] = inv
        elif oid == "option":
            if st["option"] is not None:
                raise ParameterProblem("Only one `--tcp-option' allowed")
            v = strtoui(arg, 1, 255)
            if v is None:
                raise ParameterProblem(f"Bad TCP option `{arg}'")
            st["option"] = v
            st["oinv"] = inv

    def ports_only(self, st: St) -> bool:
        return st["flags"] is None and st["option"] is None

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s, lst = super().final(st, rb)
        if st["option"] is not None:
            s += f"{' !' if st['oinv'] else ''} --tcp-option {st['option']}"
            lst += f" option={'!' if st['oinv'] else ''}{st['option']}"
        if st["flags"] is not None:
            m, c = st["flags"]
            s += f"{' !' if st['finv'] else ''} --tcp-flags {_tcpf(m)} {_tcpf(c)}"
            lst += f" flags:{'!' if st['finv'] else ''}0x{m:02X}/0x{c:02X}"
        return s, lst


@register_match
class UdpMatch(_PortMatch):
    name = "udp"
    proto_name = "udp"
    proto_num = 17
    opts = dict(_PORT_OPTS)


@register_match
class SctpMatch(_PortMatch):
    name = "sctp"
    multi = frozenset({"sport", "dport"})
    proto_name = "sctp"
    proto_num = 132
    opts = dict(_PORT_OPTS, **{"chunk-types": ("chunks", True, True)})


@register_match
class DccpMatch(_PortMatch):
    name = "dccp"
    multi = frozenset({"sport", "dport"})
    proto_name = "dccp"
    proto_num = 33
    opts = dict(
        _PORT_OPTS,
        **{"dccp-types": ("types", True, True), "dccp-option": ("option", True, True)},
    )


# ---------------------------------------------------------------- icmp / icmp6

_ICMP4 = (
    ("any", 0xFF, 0, 0xFF),
    ("echo-reply", 0, 0, 0xFF),
    ("pong", 0, 0, 0xFF),
    ("destination-unreachable", 3, 0, 0xFF),
    ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1),
    ("protocol-unreachable", 3, 2, 2),
    ("port-unreachable", 3, 3, 3),
    ("fragmentation-needed", 3, 4, 4),
    ("source-route-failed", 3, 5, 5),
    ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7),
    ("network-prohibited", 3, 9, 9),
    ("host-prohibited", 3, 10, 10),
    ("TOS-network-unreachable", 3, 11, 11),
    ("TOS-host-unreachable", 3, 12, 12),
    ("communication-prohibited", 3, 13, 13),
    ("host-precedence-violation", 3, 14, 14),
    ("precedence-cutoff", 3, 15, 15),
    ("source-quench", 4, 0, 0xFF),
    ("redirect", 5, 0, 0xFF),
    ("network-redirect", 5, 0, 0),
    ("host-redirect", 5, 1, 1),
    ("TOS-network-redirect", 5, 2, 2),
    ("TOS-host-redirect", 5, 3, 3),
    ("echo-request", 8, 0, 0xFF),
    ("ping", 8, 0, 0xFF),
    ("router-advertisement", 9, 0, 0xFF),
    ("router-solicitation", 10, 0, 0xFF),
    ("time-exceeded", 11, 0, 0xFF),
    ("ttl-exceeded", 11, 0, 0xFF),
    ("ttl-zero-during-transit", 11, 0, 0),
    ("ttl-zero-during-reassembly", 11, 1, 1),
    ("parameter-problem", 12, 0, 0xFF),
    ("ip-header-bad", 12, 0, 0),
    ("required-option-missing", 12, 1, 1),
    ("timestamp-request", 13, 0, 0xFF),
    ("timestamp-reply", 14, 0, 0xFF),
    ("address-mask-request", 17, 0, 0xFF),
    ("address-mask-reply", 18, 0, 0xFF),
)
_ICMP6 = (
    ("destination-unreachable", 1, 0, 0xFF),
    ("no-route", 1, 0, 0),
    ("communication-prohibited", 1, 1, 1),
    ("beyond-scope", 1, 2, 2),
    ("address-unreachable", 1, 3, 3),
    ("port-unreachable", 1, 4, 4),
    ("failed-policy", 1, 5, 5),
    ("reject-route", 1, 6, 6),
    ("packet-too-big", 2, 0, 0xFF),
    ("time-exceeded", 3, 0, 0xFF),
    ("ttl-exceeded", 3, 0, 0xFF),
    ("ttl-zero-during-transit", 3, 0, 0),
    ("ttl-zero-during-reassembly", 3, 1, 1),
    ("parameter-problem", 4, 0, 0xFF),
    ("bad-header", 4, 0, 0),
    ("unknown-header-type", 4, 1, 1),
    ("unknown-option", 4, 2, 2),
    ("echo-request", 128, 0, 0xFF),
    ("ping", 128, 0, 0xFF),
    ("echo-reply", 129, 0, 0xFF),
    ("pong", 129, 0, 0xFF),
    ("mld-listener-query", 130, 0, 0xFF),
    ("mld-listener-report", 131, 0, 0xFF),
    ("mld-listener-done", 132, 0, 0xFF),
    ("mld-listener-reduction", 132, 0, 0xFF),
    ("router-solicitation", 133, 0, 0xFF),
    ("router-advertisement", 134, 0, 0xFF),
    ("neighbour-solicitation", 135, 0, 0xFF),
    ("neighbor-solicitation", 135, 0, 0xFF),
    ("neighbour-advertisement", 136, 0, 0xFF),
    ("neighbor-advertisement", 136, 0, 0xFF),
    ("redirect", 137, 0, 0xFF),
)


def _parse_icmp(
    arg: str, table: Tuple[Tuple[str, int, int, int], ...], v6: bool, word: str = "Unknown"
) -> Tuple[int, int, int]:
    """A type name or ``TYPE[/CODE]``; ``word`` is 1.8.7's "Invalid" or later "Unknown"."""
    low = arg.lower()
    hit = None
    hit_name = ""
    for name, t, c0, c1 in table:
        if low and name.lower().startswith(low):
            if hit is not None and (hit[0], hit[1], hit[2]) != (t, c0, c1):
                raise ParameterProblem(
                    f"Ambiguous ICMP{'v6' if v6 else ''} type `{arg}': `{hit_name}' or `{name}'?"
                )
            if hit is None:
                hit = (t, c0, c1)
                hit_name = name
    if hit is not None:
        return hit
    typ, sep, code = arg.partition("/")
    kind = "ICMPv6" if v6 else "ICMP"
    t2 = strtoui(typ, 0, 255)
    if t2 is None:
        raise ParameterProblem(f"{word} {kind} type `{arg}'")
    if sep:
        c = strtoui(code, 0, 255)
        if c is None:
            raise ParameterProblem(f"{word} {kind} code `{code}'")
        return t2, c, c
    return t2, 0, 0xFF


@register_match
class IcmpMatch(Ext):
    name = "icmp"
    families = (4,)
    opts = {"icmp-type": ("type", True, True)}
    proto_num = 1
    opt_name = "icmp-type"
    list_prefix = "icmp"
    table: Tuple[Tuple[str, int, int, int], ...] = _ICMP4

    def init(self, st: St, rb: RuleBuild) -> None:
        st["t"] = (0xFF, 0, 0xFF) if self.proto_num == 1 else (0, 0, 0xFF)
        st["inv"] = False

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        word = "Invalid" if release_of(rb.ctx.version).old_messages else "Unknown"
        st["t"] = _parse_icmp(arg, self.table, self.proto_num == 58, word)
        st["inv"] = inv

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        t, c0, c1 = st["t"]
        inv = st["inv"]
        s = " !" if inv else ""
        if t == 0xFF and self.proto_num == 1:
            s += f" --{self.opt_name} any"
        else:
            s += f" --{self.opt_name} {t}"
            if c0 != 0 or c1 != 0xFF:
                s += f"/{c0}"
        lst = f" {self.list_prefix}{' !' if inv else ''}type {t}"
        if c0 == c1:
            lst += f" code {c0}"
        elif c0 != 0 or c1 != 0xFF:
            lst += f" codes {c0}-{c1}"
        return s, lst

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return None, None, _refuse_proto(rb, self.proto_num)


@register_match
class Icmp6Match(IcmpMatch):
    name = "icmp6"
    families = (6,)
    opts = {"icmpv6-type": ("type", True, True)}
    proto_num = 58
    opt_name = "icmpv6-type"
    list_prefix = "ipv6-icmp"
    table = _ICMP6


# ---------------------------------------------------------------- comment


@register_match
class CommentMatch(Ext):
    name = "comment"
    opts = {"comment": ("comment", True, False)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        b = arg.encode("utf-8", "surrogateescape")
        if len(b) > 255:
            arg = b[:255].decode("utf-8", "ignore")
        st["c"] = arg

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "c" not in st:
            raise self.mand("comment")
        return " --comment" + save_string(st["c"]), f" /* {st['c']} */"


# ---------------------------------------------------------------- multiport

_MP_PROTOS = {6: "tcp", 17: "udp", 136: "udplite", 132: "sctp", 33: "dccp"}


@register_match
class MultiportMatch(Ext):
    name = "multiport"
    excl = {
        "sports": ("dports", "ports"),
        "dports": ("sports", "ports"),
        "ports": ("sports", "dports"),
    }
    opts = {
        "source-ports": ("sports", True, True),
        "sports": ("sports", True, True),
        "destination-ports": ("dports", True, True),
        "dports": ("dports", True, True),
        "ports": ("ports", True, True),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        pname = _MP_PROTOS.get(rb.proto if rb.proto is not None else -1)
        if rb.proto_inv:
            raise ParameterProblem("multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP")
        if pname is None:
            raise ParameterProblem(
                "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'"
            )
        items: List[str] = []
        count = 0
        for part in arg.split(","):
            lo, sep, hi = part.partition(":")
            a = parse_port(lo, pname)
            if sep:
                b = parse_port(hi, pname)
                if a >= b:
                    raise ParameterProblem("invalid portrange specified")
                items.append(f"{a}:{b}")
                count += 2
            else:
                items.append(str(a))
                count += 1
            if count > 15:
                raise ParameterProblem("too many ports specified")
        st["kind"] = oid
        st["ports"] = ",".join(items)
        st["inv"] = inv

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "kind" not in st:
            raise ParameterProblem("multiport expection an option")
        k = st["kind"]
        s = f"{' !' if st['inv'] else ''} --{k} {st['ports']}"
        lst = f" multiport {k} {' !' if st['inv'] else ''}{st['ports']}"
        return s, lst

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return NO_RESTRICTION


# ---------------------------------------------------------------- conntrack / state

_CTSTATES = (
    ("INVALID", 1),
    ("NEW", 2),
    ("RELATED", 4),
    ("ESTABLISHED", 8),
    ("UNTRACKED", 16),
    ("SNAT", 32),
    ("DNAT", 64),
)
_CTSTATE_BY_NAME = {n: v for n, v in _CTSTATES}
_CTSTATUS = (("NONE", 0), ("EXPECTED", 1), ("SEEN_REPLY", 2), ("ASSURED", 4), ("CONFIRMED", 8))
_CTSTATUS_BY_NAME = {n: v for n, v in _CTSTATUS}


def _states(arg: str, allowed: Tuple[Tuple[str, int], ...], what: str) -> int:
    table = {n: v for n, v in allowed}
    v = 0
    for part in arg.split(","):
        b = table.get(part.upper())
        if b is None:
            raise ParameterProblem(f'Bad {what} "{part}"')
        v |= b
    return v


def _state_txt(v: int, allowed: Tuple[Tuple[str, int], ...]) -> str:
    names = [n for n, b in allowed if b and v & b]
    return ",".join(names) if names else "NONE"


@register_match
class ConntrackMatch(Ext):
    name = "conntrack"
    opts = {
        "ctstate": ("ctstate", True, True),
        "ctproto": ("ctproto", True, True),
        "ctorigsrc": ("ctorigsrc", True, True),
        "ctorigdst": ("ctorigdst", True, True),
        "ctreplsrc": ("ctreplsrc", True, True),
        "ctrepldst": ("ctrepldst", True, True),
        "ctorigsrcport": ("ctorigsrcport", True, True),
        "ctorigdstport": ("ctorigdstport", True, True),
        "ctreplsrcport": ("ctreplsrcport", True, True),
        "ctrepldstport": ("ctrepldstport", True, True),
        "ctstatus": ("ctstatus", True, True),
        "ctexpire": ("ctexpire", True, True),
        "ctdir": ("ctdir", True, False),
    }
    _ORDER = (
        "ctstate",
        "ctproto",
        "ctorigsrc",
        "ctorigdst",
        "ctreplsrc",
        "ctrepldst",
        "ctorigsrcport",
        "ctorigdstport",
        "ctreplsrcport",
        "ctrepldstport",
        "ctstatus",
        "ctexpire",
        "ctdir",
    )

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "ctstate":
            v: str = _state_txt(_states(arg, _CTSTATES, "ctstate"), _CTSTATES)
        elif oid == "ctstatus":
            v = _state_txt(_states(arg, _CTSTATUS, "ctstatus"), _CTSTATUS)
        elif oid == "ctproto":
            from .values import parse_protocol

            p = parse_protocol(arg)
            v = str(p)
        elif oid in ("ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst"):
            addrs = parse_addresses(arg, rb.family)
            a, m = addrs[0]
            v = format_addr(a, m, rb.family, True)
        elif oid.endswith("port"):
            lo, sep, hi = arg.partition(":")
            pa = strtoui(lo, 0, 65535)
            pb = strtoui(hi, 0, 65535) if sep else pa
            if pa is None or pb is None:
                raise self.bad(oid, arg)
            v = str(pa) if pa == pb else f"{pa}:{pb}"
        elif oid == "ctexpire":
            lo, sep, hi = arg.partition(":")
            ea = strtoui(lo)
            eb = strtoui(hi) if sep else ea
            if ea is None or eb is None:
                raise self.bad(oid, arg)
            v = str(ea) if ea == eb else f"{ea}:{eb}"
        else:  # ctdir
            u = arg.upper()
            if u not in ("ORIGINAL", "REPLY"):
                raise self.bad(oid, arg)
            v = u
        st[oid] = (v, inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        lst = ""
        for k in self._ORDER:
            if k not in st:
                continue
            v, inv = st[k]
            s += f"{' !' if inv else ''} --{k} {v}"
            lv = st.get(k + "_l", v)
            lst += f"{' !' if inv else ''} {k} {lv}"
        if not s:
            raise ParameterProblem("conntrack: At least one option is required")
        return s, lst


@register_match
class StateMatch(Ext):
    name = "state"
    opts = {"state": ("state", True, True)}
    _ST = (("INVALID", 1), ("NEW", 2), ("RELATED", 4), ("ESTABLISHED", 8), ("UNTRACKED", 16))

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st["v"] = _state_txt(_states(arg, self._ST, "state"), self._ST)
        st["inv"] = inv

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "v" not in st:
            raise self.mand("state")
        i = st["inv"]
        return f"{' !' if i else ''} --state {st['v']}", f"{' !' if i else ''} state {st['v']}"


# ---------------------------------------------------------------- addrtype

_RTN = (
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
)


@register_match
class AddrtypeMatch(Ext):
    name = "addrtype"
    opts = {
        "src-type": ("src", True, True),
        "dst-type": ("dst", True, True),
        "limit-iface-in": ("in", False, False),
        "limit-iface-out": ("out", False, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid in ("src", "dst"):
            bits = 0
            for part in arg.split(","):
                u = part.upper()
                if u not in _RTN:
                    raise ParameterProblem(f'addrtype: bad type "{part}"')
                bits |= 1 << _RTN.index(u)
            st[oid] = (",".join(n for i, n in enumerate(_RTN) if bits & (1 << i)), inv)
        else:
            st[oid] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "src" not in st and "dst" not in st:
            raise ParameterProblem("addrtype: you must specify --src-type or --dst-type")
        if "in" in st and "out" in st:
            raise ParameterProblem(
                "addrtype: you can't specify both --limit-iface-in and --limit-iface-out"
            )
        s = ""
        lst = " ADDRTYPE match"
        if "src" in st:
            v, inv = st["src"]
            s += f"{' !' if inv else ''} --src-type {v}"
            lst += f" src-type {'!' if inv else ''}{v}"
        if "dst" in st:
            v, inv = st["dst"]
            s += f"{' !' if inv else ''} --dst-type {v}"
            lst += f" dst-type {'!' if inv else ''}{v}"
        if "in" in st:
            s += " --limit-iface-in"
            lst += " limit-in"
        if "out" in st:
            s += " --limit-iface-out"
            lst += " limit-out"
        return s, lst

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        if "in" in st:
            return hooks("PREROUTING", "INPUT", "FORWARD"), None, None
        if "out" in st:
            return hooks("OUTPUT", "POSTROUTING", "FORWARD"), None, None
        return NO_RESTRICTION


# ---------------------------------------------------------------- mark / connmark


def _parse_markmask(ext: str, opt: str, arg: str) -> Tuple[int, int]:
    v, sep, m = arg.partition("/")
    a = strtoui(v)
    b = strtoui(m) if sep else 0xFFFFFFFF
    if a is None or b is None:
        raise ParameterProblem(f'{ext}: bad integer value for option "--{opt}", or out of range.\n')
    return a, b


def _mark_txt(v: int, m: int) -> str:
    return f"0x{v:x}" if m == 0xFFFFFFFF else f"0x{v:x}/0x{m:x}"


@register_match
class MarkMatch(Ext):
    name = "mark"
    opts = {"mark": ("mark", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st["vm"] = _parse_markmask(self.name, oid, arg)
        st["inv"] = inv

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "vm" not in st:
            raise self.mand("mark")
        t = _mark_txt(*st["vm"])
        i = st["inv"]
        return f"{' !' if i else ''} --mark {t}", f" mark match{' !' if i else ''} {t}"


@register_match
class ConnmarkMatch(MarkMatch):
    name = "connmark"

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "vm" not in st:
            raise self.mand("mark")
        t = _mark_txt(*st["vm"])
        i = st["inv"]
        return f"{' !' if i else ''} --mark {t}", f" connmark match {'!' if i else ''} {t}"


# ---------------------------------------------------------------- statistic


@register_match
class StatisticMatch(Ext):
    name = "statistic"
    mandatory = ("mode",)
    also = {"every": ("packet",)}
    opts = {
        "mode": ("mode", True, False),
        "probability": ("probability", True, True),
        "every": ("every", True, True),
        "packet": ("packet", True, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "mode":
            if arg not in ("random", "nth"):
                raise ParameterProblem(f'Bad mode "{arg}"')
            st["mode"] = arg
        elif oid == "probability":
            try:
                p = float(arg)
            except ValueError:
                p = -1.0
            if not 0.0 <= p <= 1.0:
                raise ParameterProblem(
                    'statistic: bad value for option "--probability", or out of range (0-1).\n'
                )
            st["prob"] = int(p * 0x80000000 + 0.5)
            st["inv"] = inv
        elif oid == "every":
            v = self.uint(oid, arg, 1, 0xFFFFFFFF)
            st["every"] = v - 1
            st["inv"] = inv
        else:
            st["packet"] = self.uint(oid, arg)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        mode = st.get("mode", "random")
        if mode == "random" and "prob" not in st:
            raise ParameterProblem("--probability must be specified when using random mode")
        if "prob" in st and mode != "random":
            raise ParameterProblem("--probability can only be used in random mode")
        if "every" in st and mode != "nth":
            raise ParameterProblem("--every can only be used in nth mode")
        if "packet" in st and mode != "nth":
            raise ParameterProblem("--packet can only be used in nth mode")
        inv = " !" if st.get("inv") else ""
        if mode == "random":
            pr = f"{st.get('prob', 0) / 0x80000000:.11f}"
            return (
                f" --mode random{inv} --probability {pr}",
                f" statistic mode random{inv} probability {pr}",
            )
        every = st.get("every", 0)
        pkt = st.get("packet", 0)
        if pkt > every:
            raise ParameterProblem("the --packet p must be 0 <= p <= n-1")
        lst = f" statistic mode nth{inv} every {every + 1}"
        if pkt:
            lst += f" packet {pkt}"
        return f" --mode nth{inv} --every {every + 1} --packet {pkt}", lst


# ---------------------------------------------------------------- limit / hashlimit

_RATES = (("day", 24 * 60 * 60), ("hour", 60 * 60), ("min", 60), ("sec", 1))


def _parse_rate(arg: str, scale: int) -> Optional[int]:
    num, sep, unit = arg.partition("/")
    mult = 1
    if sep:
        u = unit.lower()
        if not u:
            return None
        if "second".startswith(u):
            mult = 1
        elif "minute".startswith(u):
            mult = 60
        elif "hour".startswith(u):
            mult = 3600
        elif "day".startswith(u):
            mult = 86400
        else:
            return None
    digits = ""
    for ch in num.lstrip():
        if ch.isdigit() and ch.isascii():
            digits += ch
        else:
            break
    r = int(digits) if digits else 0
    if not r:
        return None
    val = scale * mult // r
    if val == 0:
        raise ParameterProblem(f'Rate too fast "{arg}"')
    return val


def _print_rate(period: int, scale: int) -> str:
    if period == 0:
        return "inf"
    i = 1
    while i < len(_RATES):
        mult = _RATES[i][1] * scale
        if period > mult or mult // period < mult % period:
            break
        i += 1
    name, m = _RATES[i - 1]
    return f"{m * scale // period}/{name}"


@register_match
class LimitMatch(Ext):
    name = "limit"
    opts = {"limit": ("limit", True, False), "limit-burst": ("burst", True, False)}

    def init(self, st: St, rb: RuleBuild) -> None:
        st["avg"] = 10000 * 3600 // 3
        st["burst"] = 5

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "limit":
            v = _parse_rate(arg, 10000)
            if v is None or v > 0xFFFFFFFF:
                raise ParameterProblem(f'bad rate "{arg}"\'')
            st["avg"] = v
        else:
            st["burst"] = self.uint("limit-burst", arg, 0, 10000)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        r = _print_rate(st["avg"], 10000)
        s = f" --limit {r}"
        if st["burst"] != 5:
            s += f" --limit-burst {st['burst']}"
        return s, f" limit: avg {r} burst {st['burst']}"

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        if rb.backend == "legacy":
            avg, burst = st["avg"], st["burst"]
            if burst == 0 or ((avg * burst) & 0xFFFFFFFF) < avg:
                return None, None, "Numerical result out of range"
        return NO_RESTRICTION


@register_match
class HashlimitMatch(Ext):
    name = "hashlimit"
    excl = {"upto": ("above",), "above": ("upto",)}
    opts = {
        "hashlimit-upto": ("upto", True, False),
        "hashlimit-above": ("above", True, False),
        "hashlimit-burst": ("burst", True, False),
        "hashlimit-mode": ("mode", True, False),
        "hashlimit-name": ("name", True, False),
        "hashlimit-srcmask": ("srcmask", True, False),
        "hashlimit-dstmask": ("dstmask", True, False),
        "hashlimit-htable-size": ("size", True, False),
        "hashlimit-htable-max": ("max", True, False),
        "hashlimit-htable-gcinterval": ("gc", True, False),
        "hashlimit-htable-expire": ("expire", True, False),
    }
    _MODES = ("srcip", "srcport", "dstip", "dstport")

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid in ("upto", "above"):
            if "b" in arg.lower():
                raise ParameterProblem(f"fake: hashlimit byte rate `{arg}' is not emulated")
            v = _parse_rate(arg, 1000000)
            if v is None:
                raise ParameterProblem(f'bad rate "{arg}"\'')
            st["rate"] = v
            st["above"] = oid == "above"
        elif oid == "burst":
            st["burst"] = self.uint("hashlimit-burst", arg, 0, 0xFFFFFFFF)
        elif oid == "mode":
            bits = set()
            for part in arg.split(","):
                if part not in self._MODES:
                    raise self.bad("hashlimit-mode", arg)
                bits.add(part)
            st["mode"] = [m for m in self._MODES if m in bits]
        elif oid == "name":
            if len(arg) > 254 or not arg:
                raise ParameterProblem("hashlimit: name too long")
            st["name"] = arg
        elif oid in ("srcmask", "dstmask"):
            st[oid] = self.uint("hashlimit-" + oid, arg, 0, 32 if rb.family == 4 else 128)
        else:
            st[oid] = self.uint(oid, arg)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "rate" not in st:
            raise ParameterProblem("You have to specify --hashlimit")
        if "name" not in st:
            raise self.mand("hashlimit-name")
        r = _print_rate(st["rate"], 1000000)
        burst = st.get("burst", 5)
        above = st["above"]
        s = f" --hashlimit-{'above' if above else 'upto'} {r} --hashlimit-burst {burst}"
        lst = f" limit: {'above' if above else 'up to'} {r} burst {burst}"
        if st.get("mode"):
            s += " --hashlimit-mode " + ",".join(st["mode"])
            lst += " mode " + "-".join(st["mode"])
        s += f" --hashlimit-name {st['name']}"
        for k, opt, lab in (
            ("size", "htable-size", "htable-size"),
            ("max", "htable-max", "htable-max"),
            ("gc", "htable-gcinterval", "htable-gcinterval"),
            ("expire", "htable-expire", "htable-expire"),
        ):
            if k in st:
                s += f" --hashlimit-{opt} {st[k]}"
                lst += f" {lab} {st[k]}"
        full = 32 if rb.family == 4 else 128
        for k in ("srcmask", "dstmask"):
            if k in st and st[k] != full:
                s += f" --hashlimit-{k} {st[k]}"
                lst += f" {k} {st[k]}"
        return s, lst


# ---------------------------------------------------------------- iprange / length


@register_match
class IprangeMatch(Ext):
    name = "iprange"
    opts = {"src-range": ("src", True, True), "dst-range": ("dst", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        lo, sep, hi = arg.partition("-")
        conv = parse_ipv4 if rb.family == 4 else parse_ipv6
        fmt = ipv4_to_str if rb.family == 4 else ipv6_to_str
        a = conv(lo)
        b = conv(hi) if sep else a
        if a is None:
            raise self.bad(f"{oid}-range", lo)
        if b is None:
            raise self.bad(f"{oid}-range", hi)
        st[oid] = (f"{fmt(a)}-{fmt(b)}", inv)
        if a > b:
            st.setdefault("warn", []).append(
                f"xt_iprange: range {fmt(a)}-{fmt(b)} is reversed and will never match"
            )

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "src" not in st and "dst" not in st:
            raise ParameterProblem("iprange match: You must specify `--src-range' or `--dst-range'")
        rb.warnings.extend(st.get("warn", ()))
        s = lst = ""
        if "src" in st:
            v, i = st["src"]
            s += f"{' !' if i else ''} --src-range {v}"
            lst += f" source IP range {'! ' if i else ''}{v}"
        if "dst" in st:
            v, i = st["dst"]
            s += f"{' !' if i else ''} --dst-range {v}"
            lst += f" destination IP range {'! ' if i else ''}{v}"
        return s, lst


@register_match
class LengthMatch(Ext):
    name = "length"
    opts = {"length": ("length", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        lo, sep, hi = arg.partition(":")
        a = strtoui(lo, 0, 65535) if lo else 0
        b = (strtoui(hi, 0, 65535) if hi else 65535) if sep else a
        if a is None or b is None:
            raise ParameterProblem(
                f'length: bad value for option "--length" near "{arg}", or out of range '
                "(0-65535).\n"
            )
        st["v"] = _ports_txt(a, b)
        st["inv"] = inv

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "v" not in st:
            raise self.mand("length")
        i = st["inv"]
        return f"{' !' if i else ''} --length {st['v']}", f" length {'!' if i else ''}{st['v']}"


# ---------------------------------------------------------------- physdev


@register_match
class PhysdevMatch(Ext):
    name = "physdev"
    opts = {
        "physdev-in": ("in", True, True),
        "physdev-out": ("out", True, True),
        "physdev-is-in": ("isin", False, True),
        "physdev-is-out": ("isout", False, True),
        "physdev-is-bridged": ("bridged", False, True),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid in ("in", "out"):
            from .values import parse_iface

            st[oid] = (parse_iface(arg, rb.warnings), inv)
        else:
            st[oid] = ("", inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        for k, opt in (
            ("isin", "physdev-is-in"),
            ("in", "physdev-in"),
            ("isout", "physdev-is-out"),
            ("out", "physdev-out"),
            ("bridged", "physdev-is-bridged"),
        ):
            if k in st:
                v, i = st[k]
                s += f"{' !' if i else ''} --{opt}" + (f" {v}" if v else "")
        if not s:
            raise ParameterProblem("PHYSDEV: no physdev option specified")
        return s, " PHYSDEV match" + s

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        if ("out" in st or "isout" in st) and ("bridged" not in st or st["bridged"][1]):
            return ALL_HOOKS - {"OUTPUT"}, None, None
        return NO_RESTRICTION


# ---------------------------------------------------------------- owner


def _id_range(ext: Ext, opt: str, arg: str, by_name: Any) -> Tuple[int, int]:
    lo, sep, hi = arg.partition("-")
    a = strtoui(lo, 0, 0xFFFFFFFE)
    if a is None and not sep:
        try:
            a = int(by_name(arg))
        except (KeyError, OverflowError, ValueError):
            a = None
    b = strtoui(hi, 0, 0xFFFFFFFE) if sep else a
    if a is None or b is None:
        raise ext.bad(opt, arg)
    return a, b


@register_match
class OwnerMatch(Ext):
    name = "owner"
    opts = {
        "uid-owner": ("uid", True, True),
        "gid-owner": ("gid", True, True),
        "socket-exists": ("socket", False, True),
        "suppl-groups": ("suppl", False, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "uid":
            st["uid"] = (_id_range(self, "uid-owner", arg, lambda n: pwd.getpwnam(n).pw_uid), inv)
        elif oid == "gid":
            st["gid"] = (_id_range(self, "gid-owner", arg, lambda n: grp.getgrnam(n).gr_gid), inv)
        else:
            st[oid] = ((0, 0), inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = lst = ""
        for k, opt, lab in (
            ("socket", "socket-exists", "owner socket exists"),
            ("uid", "uid-owner", "owner UID match"),
            ("gid", "gid-owner", "owner GID match"),
            ("suppl", "suppl-groups", "incl. suppl. groups"),
        ):
            if k not in st:
                continue
            (a, b), i = st[k]
            v = "" if k in ("socket", "suppl") else (f" {a}" if a == b else f" {a}-{b}")
            s += f"{' !' if i else ''} --{opt}{v}"
            lst += f"{' !' if i else ''} {lab}{v}"
        if not s:
            raise ParameterProblem(
                "owner: At least one of --uid-owner, --gid-owner or --socket-exists is required"
            )
        return s, lst

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return hooks("OUTPUT", "POSTROUTING"), None, None


# ---------------------------------------------------------------- set


@register_match
class SetMatch(Ext):
    name = "set"
    opts = {
        "match-set": ("set", True, True),
        "set": ("set", True, True),
        "return-nomatch": ("nomatch", False, False),
        "update-counters": ("upc", False, False),
        "update-subcounters": ("upsc", False, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "set":
            if not cur.has_arg():
                raise ParameterProblem("--match-set requires two args.")
            flags = cur.take()
            if len(arg) > 31:
                raise ParameterProblem(f"setname `{arg}' too long, max 31 characters.")
            if not rb.ctx.set_exists(arg):
                raise ParameterProblem(f"Set {arg} doesn't exist.\n")
            for f in flags.split(","):
                if f not in ("src", "dst"):
                    raise ParameterProblem(
                        "You must specify (the comma separated list of) 'src' or 'dst'."
                    )
            st["set"] = (arg, flags, inv)
        else:
            raise ParameterProblem(f"fake: set option `--{oid}' is not emulated")

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "set" not in st:
            raise ParameterProblem("You must specify `--match-set' with proper arguments")
        n, f, i = st["set"]
        return f"{' !' if i else ''} --match-set {n} {f}", f"{' !' if i else ''} match-set {n} {f}"


# ---------------------------------------------------------------- recent


@register_match
class RecentMatch(Ext):
    name = "recent"
    excl = {
        "set": ("rcheck", "update", "remove"),
        "rcheck": ("set", "update", "remove"),
        "update": ("set", "rcheck", "remove"),
        "remove": ("set", "rcheck", "update"),
        "rsource": ("rdest",),
        "rdest": ("rsource",),
    }
    also = {"reap": ("seconds",)}
    opts = {
        "set": ("set", False, True),
        "rcheck": ("rcheck", False, True),
        "update": ("update", False, True),
        "remove": ("remove", False, True),
        "seconds": ("seconds", True, False),
        "reap": ("reap", False, False),
        "hitcount": ("hitcount", True, False),
        "rttl": ("rttl", False, False),
        "name": ("name", True, False),
        "rsource": ("rsource", False, False),
        "rdest": ("rdest", False, False),
        "mask": ("mask", True, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid in ("set", "rcheck", "update", "remove"):
            st["cmd"] = oid
            st["inv"] = inv
        elif oid in ("seconds", "hitcount"):
            st[oid] = self.uint(oid, arg)
        elif oid == "name":
            st["name"] = arg
        elif oid == "mask":
            v = parse_ipv4(arg) if rb.family == 4 else parse_ipv6(arg)
            if v is None:
                raise ParameterProblem("getaddrinfo: Temporary failure in name resolution\n")
            st["mask"] = v
        elif oid in ("rsource", "rdest"):
            st["side"] = oid
        else:
            st[oid] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "cmd" not in st:
            raise ParameterProblem(
                "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'"
            )
        inv = " !" if st["inv"] else ""
        cmd = st["cmd"]
        s = f"{inv} --{cmd}"
        lst = f"{inv} recent: {'SET' if cmd == 'set' else 'CHECK' if cmd == 'rcheck' else cmd.upper()}"
        if st.get("seconds"):
            s += f" --seconds {st['seconds']}"
            lst += f" seconds: {st['seconds']}"
        if "reap" in st:
            s += " --reap"
            lst += " reap"
        if st.get("hitcount"):
            s += f" --hitcount {st['hitcount']}"
            lst += f" hit_count: {st['hitcount']}"
        if "rttl" in st:
            s += " --rttl"
            lst += " TTL-Match"
        name = st.get("name", "DEFAULT")
        s += f" --name {name}"
        lst += f" name: {name}"
        if rb.family == 4:
            mask = ipv4_to_str(st.get("mask", 0xFFFFFFFF))
        else:
            mask = ipv6_to_str(st.get("mask", (1 << 128) - 1))
        side = st.get("side", "rsource")
        lst += " side: source" if side == "rsource" else " side: dest"
        lst += f" mask: {mask}"
        s += f" --mask {mask} --{side}"
        return s, lst


# ---------------------------------------------------------------- tcpmss match


@register_match
class TcpmssMatch(Ext):
    name = "tcpmss"
    opts = {"mss": ("mss", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        lo, sep, hi = arg.partition(":")
        a = strtoui(lo, 0, 65535)
        b = strtoui(hi, 0, 65535) if sep else a
        if a is None or b is None:
            raise ParameterProblem(
                'tcpmss: bad value for option "--mss", or out of range (0-65535).\n'
            )
        st["v"] = _ports_txt(a, b)
        st["inv"] = inv

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "v" not in st:
            raise self.mand("mss")
        i = st["inv"]
        return f"{' !' if i else ''} --mss {st['v']}", f" tcpmss match {'!' if i else ''}{st['v']}"

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return None, None, _refuse_proto(rb, 6)


# ---------------------------------------------------------------- dscp / tos / ttl / hl

_DSCP_CLASSES = {
    "CS0": 0x00,
    "CS1": 0x08,
    "CS2": 0x10,
    "CS3": 0x18,
    "CS4": 0x20,
    "CS5": 0x28,
    "CS6": 0x30,
    "CS7": 0x38,
    "BE": 0x00,
    "AF11": 0x0A,
    "AF12": 0x0C,
    "AF13": 0x0E,
    "AF21": 0x12,
    "AF22": 0x14,
    "AF23": 0x16,
    "AF31": 0x1A,
    "AF32": 0x1C,
    "AF33": 0x1E,
    "AF41": 0x22,
    "AF42": 0x24,
    "AF43": 0x26,
    "EF": 0x2E,
}


def _dscp(ext: Ext, opt: str, oid: str, arg: str) -> int:
    if oid.endswith("class"):
        v = _DSCP_CLASSES.get(arg.upper())
        if v is None:
            raise ParameterProblem(f"Invalid DSCP value `{arg}'")
        return v
    return ext.uint(opt, arg, 0, 63)


@register_match
class DscpMatch(Ext):
    name = "dscp"
    excl = {"dscp": ("dscp-class",), "dscp-class": ("dscp",)}
    opts = {"dscp": ("dscp", True, True), "dscp-class": ("dscp-class", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st["v"] = _dscp(self, oid, oid, arg)
        st["inv"] = inv

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "v" not in st:
            raise ParameterProblem("DSCP match: Parameter --dscp is required")
        i = st["inv"]
        return (
            f"{' !' if i else ''} --dscp 0x{st['v']:02x}",
            f" DSCP match {'!' if i else ''}0x{st['v']:02x}",
        )


_TOS_NAMES = {
    "minimize-delay": 0x10,
    "maximize-throughput": 0x08,
    "maximize-reliability": 0x04,
    "minimize-cost": 0x02,
    "normal-service": 0x00,
}


def _parse_tos(ext: Ext, opt: str, arg: str) -> Tuple[int, int]:
    sym = _TOS_NAMES.get(arg.lower())
    if sym is not None:
        return sym, 0x3F
    v, sep, m = arg.partition("/")
    a = strtoui(v, 0, 255)
    b = strtoui(m, 0, 255) if sep else 0xFF
    if a is None or b is None:
        raise ParameterProblem(f'Symbolic name "{arg}" is unknown')
    return a, b


@register_match
class TosMatch(Ext):
    name = "tos"
    opts = {"tos": ("tos", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st["vm"] = _parse_tos(self, "tos", arg)
        st["inv"] = inv

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "vm" not in st:
            raise self.mand("tos")
        v, m = st["vm"]
        i = st["inv"]
        return (
            f"{' !' if i else ''} --tos 0x{v:02x}/0x{m:02x}",
            f" tos match{'!' if i else ''}0x{v:02x}/0x{m:02x}",
        )


@register_match
class TtlMatch(Ext):
    name = "ttl"
    excl = {"eq": ("lt", "gt"), "lt": ("eq", "gt"), "gt": ("eq", "lt")}
    families = (4,)
    opts = {
        "ttl-eq": ("eq", True, True),
        "ttl-lt": ("lt", True, False),
        "ttl-gt": ("gt", True, False),
    }
    label = "TTL"

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st["op"] = "ne" if (oid == "eq" and inv) else oid
        st["v"] = self.uint(f"{self.name}-{oid}", arg, 0, 255)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "op" not in st:
            raise ParameterProblem(
                f"{self.label} match: You must specify one of "
                f"`--{self.name}-eq', `--{self.name}-lt', `--{self.name}-gt"
            )
        op, v = st["op"], st["v"]
        n = self.name
        save = {
            "eq": f" --{n}-eq {v}",
            "ne": f" ! --{n}-eq {v}",
            "lt": f" --{n}-lt {v}",
            "gt": f" --{n}-gt {v}",
        }[op]
        sym = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">"}[op]
        return save, f" {self.label} match {self.label} {sym} {v}"


@register_match
class HlMatch(TtlMatch):
    name = "hl"
    families = (6,)
    opts = {"hl-eq": ("eq", True, True), "hl-lt": ("lt", True, False), "hl-gt": ("gt", True, False)}
    label = "HL"


# ---------------------------------------------------------------- connbytes


@register_match
class ConnbytesMatch(Ext):
    name = "connbytes"
    opts = {
        "connbytes": ("connbytes", True, True),
        "connbytes-dir": ("dir", True, False),
        "connbytes-mode": ("mode", True, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "connbytes":
            lo, sep, hi = arg.partition(":")
            a = strtoui(lo, 0, (1 << 64) - 1) if lo else 0
            b = (strtoui(hi, 0, (1 << 64) - 1) if hi else (1 << 64) - 1) if sep else (1 << 64) - 1
            if a is None or b is None:
                raise ParameterProblem(
                    'connbytes: bad value for option "--connbytes", or out of range.\n'
                )
            st["r"] = (a, b, inv)
        elif oid == "dir":
            if arg not in ("original", "reply", "both"):
                raise ParameterProblem(f"Unknown --connbytes-dir `{arg}'")
            st["dir"] = arg
        else:
            if arg not in ("packets", "bytes", "avgpkt"):
                raise ParameterProblem(f"Unknown --connbytes-mode `{arg}'")
            st["mode"] = arg

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        for k, o in (("r", "connbytes"), ("dir", "connbytes-dir"), ("mode", "connbytes-mode")):
            if k not in st:
                raise self.mand(o)
        a, b, inv = st["r"]
        ft = f"{'! ' if inv else ''}%s{a}" + (f":{b}" if b != (1 << 64) - 1 else "")
        s = (
            " "
            + (ft % "--connbytes ")
            + f" --connbytes-mode {st['mode']} --connbytes-dir {st['dir']}"
        )
        lst = (
            " "
            + (ft % "connbytes ")
            + f" connbytes mode {st['mode']} connbytes direction {st['dir']}"
        )
        return s, lst


# ---------------------------------------------------------------- pkttype / connlimit / string / mac

_PKTTYPES = ("unicast", "broadcast", "multicast", "host", "otherhost")


@register_match
class PkttypeMatch(Ext):
    name = "pkttype"
    opts = {"pkt-type": ("t", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        a = arg.lower()
        if a not in _PKTTYPES:
            raise ParameterProblem(f"Bad packet type '{arg}'")
        st["t"] = ("unicast" if a == "host" else a, inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "t" not in st:
            raise self.mand("pkt-type")
        t, i = st["t"]
        return f"{' !' if i else ''} --pkt-type {t}", f" PKTTYPE {'!' if i else ''}= {t}"


@register_match
class ConnlimitMatch(Ext):
    name = "connlimit"
    opts = {
        "connlimit-upto": ("upto", True, False),
        "connlimit-above": ("above", True, True),
        "connlimit-mask": ("mask", True, False),
        "connlimit-saddr": ("saddr", False, False),
        "connlimit-daddr": ("daddr", False, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid in ("upto", "above"):
            if "lim" in st:
                raise ParameterProblem(
                    'connlimit: option "--connlimit-above" cannot be used together with "--connlimit-upto".\n'
                )
            v = self.uint("connlimit-" + oid, arg)
            st["lim"] = (v, (oid == "above") != inv)
        elif oid == "mask":
            st["mask"] = self.uint("connlimit-mask", arg, 0, 255)
        else:
            st["side"] = oid

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "lim" not in st:
            raise ParameterProblem('You must specify "--connlimit-above" or "--connlimit-upto".')
        v, above = st["lim"]
        mask = st.get("mask", 32 if rb.family == 4 else 128)
        side = st.get("side", "saddr")
        s = f" --connlimit-{'above' if above else 'upto'} {v} --connlimit-mask {mask} --connlimit-{side}"
        lst = f" #conn {'src' if side == 'saddr' else 'dst'}/{mask} {'>' if above else '<='} {v}"
        return s, lst


@register_match
class StringMatch(Ext):
    name = "string"

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        if st.get("algo") not in ("bm", "kmp"):
            return None, None, "No such file or directory"
        return NO_RESTRICTION

    opts = {
        "string": ("string", True, True),
        "hex-string": ("hex", True, True),
        "algo": ("algo", True, False),
        "from": ("from", True, False),
        "to": ("to", True, False),
        "icase": ("icase", False, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "string":
            if any(not (0x20 <= ord(c) < 0x7F) for c in arg):
                raise ParameterProblem(
                    "fake: string match with non-printable bytes is not emulated"
                )
            st["s"] = (arg, inv)
        elif oid == "hex":
            raise ParameterProblem("fake: string option `--hex-string' is not emulated")
        elif oid == "algo":
            if len(arg) > 15:
                raise ParameterProblem("string: algorithm name too long / unknown")
            st["algo"] = arg
        elif oid in ("from", "to"):
            st[oid] = self.uint(oid, arg, 0, 65535)
        else:
            st["icase"] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "s" not in st:
            raise ParameterProblem("STRING match: You must specify `--string' or `--hex-string'")
        if "algo" not in st:
            raise self.mand("algo")
        v, inv = st["s"]
        q = '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        s = f" {'! ' if inv else ''}--string {q} --algo {st['algo']}"
        lst = f" STRING match {'!' if inv else ''} {q} ALGO name {st['algo']}"
        if st.get("from"):
            s += f" --from {st['from']}"
            lst += f" FROM {st['from']}"
        if st.get("to", 65535) != 65535 or release_of(rb.ctx.version).string_saves_default_to:
            s += f" --to {st.get('to', 65535)}"
            lst += f" TO {st.get('to', 65535)}"
        if st.get("icase"):
            s += " --icase"
            lst += " ICASE"
        return s, lst


@register_match
class MacMatch(Ext):
    name = "mac"
    opts = {"mac-source": ("src", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        parts = arg.split(":")
        if len(parts) != 6 or any(
            not (1 <= len(p) <= 2) or any(c not in "0123456789abcdefABCDEF" for c in p)
            for p in parts
        ):
            raise ParameterProblem("Invalid MAC address specified.")
        st["m"] = (":".join(f"{int(p, 16):02x}" for p in parts), inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "m" not in st:
            raise self.mand("mac-source")
        m, i = st["m"]
        sep = "" if release_of(rb.ctx.version).mac_list_no_space else " "
        return f"{' !' if i else ''} --mac-source {m}", f" MAC{' !' if i else ''}{sep}{m}"

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return hooks("PREROUTING", "INPUT", "FORWARD"), None, None


# ---------------------------------------------------------------- helper / quota / cgroup / socket / rpfilter


@register_match
class HelperMatch(Ext):
    name = "helper"
    opts = {"helper": ("helper", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st["h"] = (arg[:29], inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "h" not in st:
            raise self.mand("helper")
        h, i = st["h"]
        return f"{' !' if i else ''} --helper" + save_string(
            h
        ), f' helper match {"! " if i else ""}"{h}"'


@register_match
class QuotaMatch(Ext):
    name = "quota"
    opts = {"quota": ("quota", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st["q"] = (self.uint("quota", arg, 0, (1 << 64) - 1), inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "q" not in st:
            raise self.mand("quota")
        q, i = st["q"]
        return (
            f"{' !' if i else ''} --quota {q}",
            f" quota: {q} bytes",
        )


@register_match
class CgroupMatch(Ext):
    name = "cgroup"
    opts = {"cgroup": ("cgroup", True, True), "path": ("path", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "cgroup":
            st["c"] = (self.uint("cgroup", arg), inv)
        else:
            st["p"] = (arg, inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = lst = ""
        if "p" in st:
            p, i = st["p"]
            s += f"{' !' if i else ''} --path {p}"
            lst += f" cgroup {'! ' if i else ''}{p}"
        if "c" in st:
            c, i = st["c"]
            s += f"{' !' if i else ''} --cgroup {c}"
            lst += f" cgroup {'! ' if i else ''}{c}"
        return s, lst

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        refusal = None if ("c" in st or "p" in st) else "Invalid argument"
        return hooks("INPUT", "OUTPUT", "POSTROUTING"), None, refusal


@register_match
class SocketMatch(Ext):
    name = "socket"
    opts = {
        "transparent": ("transparent", False, False),
        "nowildcard": ("nowildcard", False, False),
        "restore-skmark": ("restore-skmark", False, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st[oid] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = "".join(f" --{k}" for k in ("transparent", "nowildcard", "restore-skmark") if k in st)
        return s, " socket" + s

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return hooks("PREROUTING", "INPUT"), None, None


@register_match
class RpfilterMatch(Ext):
    name = "rpfilter"
    opts = {
        "loose": ("loose", False, False),
        "validmark": ("validmark", False, False),
        "accept-local": ("accept-local", False, False),
        "invert": ("invert", False, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st[oid] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        ks = [k for k in ("loose", "validmark", "accept-local", "invert") if k in st]
        return "".join(f" --{k}" for k in ks), " rpfilter" + "".join(f" {k}" for k in ks)

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return hooks("PREROUTING"), frozenset({"raw", "mangle"}), None


# ---------------------------------------------------------------- time

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _parse_daytime(arg: str) -> Optional[int]:
    parts = arg.split(":")
    if not 2 <= len(parts) <= 3:
        return None
    vals = []
    for p in parts:
        if not (p.isdigit() and p.isascii()) or len(p) > 2 or int(p) > 59:
            return None
        v = int(p)
        vals.append(v)
    if vals[0] > 23:
        return None
    while len(vals) < 3:
        vals.append(0)
    return vals[0] * 3600 + vals[1] * 60 + vals[2]


def _c_strtoumax_prefix(s: str) -> Tuple[Optional[int], str]:
    """strtoul(s, &end, 0) on a day segment: (value or None, rest)."""
    from .values import _c_strtoumax

    return _c_strtoumax(s)


def _ordinal(d: int) -> str:
    # iptables only looks at the last digit: 11st, 12nd, 13rd
    return {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def _parse_date(arg: str) -> int:
    """time_parse_date: YYYY[-MM[-DD[Thh[:mm[:ss]]]]] (UTC) -> seconds, as a u32."""
    seps = "--T::"
    lims = (2038, 12, 31, 23, 59, 59)
    vals = [1970, 1, 1, 0, 0, 0]
    rest = arg
    i = 0
    while True:
        j = 0
        while j < len(rest) and rest[j].isdigit() and rest[j].isascii():
            j += 1
        v = int(rest[:j]) if j else 0
        nxt = rest[j : j + 1]
        ok = nxt == "" or (i < 5 and nxt == seps[i])
        if not ok or v > lims[i] or (i == 0 and v < 1970):
            raise ParameterProblem(
                f'Invalid date "{arg}" specified. Should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]'
            )
        vals[i] = v
        if nxt == "":
            break
        rest = rest[j + 1 :]
        i += 1
    y, mo, d, h, mi, se = vals
    return calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0)) & 0xFFFFFFFF


def _fmt_date(v: int) -> str:
    t = time.gmtime(v)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    )


def _hms(t: int) -> str:
    return f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"


@register_match
class TimeMatch(Ext):
    name = "time"
    opts = {
        "timestart": ("timestart", True, False),
        "timestop": ("timestop", True, False),
        "weekdays": ("weekdays", True, True),
        "monthdays": ("monthdays", True, True),
        "datestart": ("datestart", True, False),
        "datestop": ("datestop", True, False),
        "kerneltz": ("kerneltz", False, False),
        "localtz": ("localtz", False, False),
        "utc": ("utc", False, False),
        "contiguous": ("contiguous", False, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid in ("timestart", "timestop"):
            v = _parse_daytime(arg)
            if v is None:
                raise ParameterProblem(
                    f'invalid time "{arg}" specified, should be hh:mm[:ss] format and within '
                    "the boundaries"
                )
            st[oid] = v
        elif oid == "weekdays":
            bits = 0
            for part in arg.split(","):
                n, rest = _c_strtoumax_prefix(part)
                if n is not None and not rest and n != 0:
                    if n < 64:
                        bits |= 1 << n
                    continue
                if n == 0 and not rest:
                    raise ParameterProblem("No, the week does NOT begin with Sunday.")
                hits = [i for i, d in enumerate(_WEEKDAYS) if part[:2] and d.startswith(part[:2])]
                if not hits:
                    raise ParameterProblem(f"{part[:3]} is not a valid day specifier")
                for h in hits:
                    bits |= 1 << (h + 1)
            if inv:
                bits = (~bits) & 0xFE
            st["weekdays"] = bits
        elif oid in ("kerneltz", "localtz"):
            st["kerneltz"] = True
        elif oid == "utc":
            st.pop("kerneltz", None)
        elif oid == "contiguous":
            st["contiguous"] = True
        elif oid in ("datestart", "datestop"):
            st[oid] = _parse_date(arg)
        else:  # monthdays
            mbits = 0
            for part in arg.split(","):
                d = strtoui(part, 1, 31)
                if d is None or not (part.isdigit() and part.isascii()):
                    raise ParameterProblem(f'time: invalid monthday "{part}"')
                mbits |= 1 << d
            if inv:
                mbits = (~mbits) & 0xFFFFFFFE
            st["monthdays"] = mbits

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = lst = ""
        a = st.get("timestart", 0)
        b = st.get("timestop", 86399)
        if a != 0 or b != 86399:
            s += f" --timestart {_hms(a)} --timestop {_hms(b)}"
            lst += f" from {_hms(a)} to {_hms(b)}"
        wd = st.get("weekdays", 0xFE)
        if wd != 0xFE:
            days = ",".join(d for i, d in enumerate(_WEEKDAYS) if wd & (1 << (i + 1)))
            lst += f" on {days}"
        md = st.get("monthdays", 0xFFFFFFFE)
        if md != 0xFFFFFFFE:
            ds = [d for d in range(1, 32) if md & (1 << d)]
            s += " --monthdays " + ",".join(str(d) for d in ds)
            lst += " on " + ",".join(f"{d}{_ordinal(d)}" for d in ds)
        if wd != 0xFE:
            s += f" --weekdays {days}"
        ds0 = st.get("datestart", 0)
        ds1 = st.get("datestop", 0x7FFFFFFF)
        if ds0:
            s += f" --datestart {_fmt_date(ds0)}"
            lst += f" starting from {_fmt_date(ds0).replace('T', ' ')}"
        if ds1:
            s += f" --datestop {_fmt_date(ds1)}"
        if ds1 != 0x7FFFFFFF:
            lst += f" until date {_fmt_date(ds1).replace('T', ' ')}"
        if st.get("kerneltz"):
            s += " --kerneltz"
        else:
            lst += " UTC"
        if st.get("contiguous"):
            s += " --contiguous"
            lst += " contiguous"
        return s, " TIME" + lst


# ---------------------------------------------------------------- frag (ip6)


@register_match
class FragMatch(Ext):
    name = "frag"
    families = (6,)
    opts = {
        "fragid": ("id", True, True),
        "fraglen": ("len", True, True),
        "fragres": ("res", False, False),
        "fragfirst": ("first", False, False),
        "fragmore": ("more", False, False),
        "fraglast": ("last", False, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "id":
            lo, sep, hi = arg.partition(":")
            a = strtoui(lo) if lo else 0
            b = (strtoui(hi) if hi else 0xFFFFFFFF) if sep else a
            if a is None or b is None:
                raise self.bad("fragid", arg)
            st["id"] = (a, b, inv)
        elif oid == "len":
            st["len"] = (self.uint("fraglen", arg), inv)
        else:
            st[oid] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        lst = " frag "
        if "id" in st:
            a, b, i = st["id"]
            if not (a == 0 and b == 0xFFFFFFFF):
                s += f"{' !' if i else ''} --fragid " + (str(a) if a == b else f"{a}:{b}")
            if a != 0 or b != 0xFFFFFFFF or i:
                lst += f"id:{'!' if i else ''}{a}" if a == b else f"ids:{'!' if i else ''}{a}:{b}"
        if "len" in st:
            v, i = st["len"]
            s += f"{' !' if i else ''} --fraglen {v}"
            lst += f" length:{'!' if i else ''}{v}"
        for k, o, lab in (
            ("res", "fragres", "reserved"),
            ("first", "fragfirst", "first"),
            ("more", "fragmore", "more"),
            ("last", "fraglast", "last"),
        ):
            if k in st:
                s += f" --{o}"
                lst += f" {lab}"
        return s, lst


# ---------------------------------------------------------------- u32


def _u32_num(tok: str) -> int:
    v = strtoui(tok.strip(), 0, 0xFFFFFFFF)
    if v is None:
        raise ParameterProblem("u32: at char 0: expected number")
    return v


@register_match
class U32Match(Ext):
    name = "u32"
    opts = {"u32": ("u32", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        tests = []
        for test in arg.split("&&"):
            loc, sep, vals = test.partition("=")
            if not sep:
                raise ParameterProblem("u32: at char 0: not a number or out of range")
            out = ""
            i = 0
            n = len(loc)
            first = True
            while i < n:
                op = ""
                if not first:
                    if loc.startswith("<<", i) or loc.startswith(">>", i):
                        op = loc[i : i + 2]
                        i += 2
                    elif loc[i] in "&@":
                        op = loc[i]
                        i += 1
                    else:
                        raise ParameterProblem("u32: unexpected character in location")
                j = i
                while j < n and loc[j] not in "&@<>":
                    j += 1
                out += f"{op}0x{_u32_num(loc[i:j]):x}"
                i = j
                first = False
            ranges = []
            for r in vals.split(","):
                lo, s2, hi = r.partition(":")
                a = _u32_num(lo)
                ranges.append(f"0x{a:x}" + (f":0x{_u32_num(hi):x}" if s2 else ""))
            tests.append(out + "=" + ",".join(ranges))
        st["v"] = ("&&".join(tests), inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "v" not in st:
            raise self.mand("u32")
        v, i = st["v"]
        return f'{" !" if i else ""} --u32 "{v}"', f' u32 {"! " if i else ""}"{v}"'


# silence unused-import linters for names kept for extensions
_ = (mask_to_cidr,)


# ---------------------------------------------------------------- policy


@register_match
class PolicyMatch(Ext):
    name = "policy"
    opts = {
        "dir": ("dir", True, False),
        "pol": ("pol", True, False),
        "strict": ("strict", False, False),
        "reqid": ("reqid", True, True),
        "spi": ("spi", True, True),
        "tunnel-src": ("tunnel-src", True, True),
        "tunnel-dst": ("tunnel-dst", True, True),
        "proto": ("proto", True, True),
        "mode": ("mode", True, True),
        "next": ("next", False, False),
    }
    multi = frozenset({"reqid", "spi", "tunnel-src", "tunnel-dst", "proto", "mode", "next"})

    def init(self, st: St, rb: RuleBuild) -> None:
        st["ents"] = [{}]

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        ent: Dict[str, Any] = st["ents"][-1]
        if oid == "dir":
            if arg not in ("in", "out"):
                raise ParameterProblem(f'policy match: invalid dir "{arg}"')
            st["dir"] = arg
        elif oid == "pol":
            if arg not in ("none", "ipsec"):
                raise ParameterProblem(f'policy match: invalid policy "{arg}"')
            st["pol"] = arg
        elif oid == "strict":
            st["strict"] = True
        elif oid == "next":
            if not st.get("strict"):
                raise ParameterProblem("policy match: `--next' has no meaning in non-strict mode")
            st["ents"].append({})
        else:
            if oid in ent:
                raise ParameterProblem(f"policy match: double --{oid} option")
            if oid in ("reqid", "spi"):
                v = strtoui(arg)
                if v is None:
                    raise self.bad(oid, arg)
                ent[oid] = (str(v) if oid == "reqid" else f"0x{v:x}", inv)
            elif oid == "proto":
                from .values import parse_protocol, proto_save_name

                p = parse_protocol(arg)
                if p not in (50, 51, 108):
                    raise ParameterProblem(
                        f"policy match: protocol must be ah/esp/ipcomp, got {arg}"
                    )
                ent[oid] = ((proto_save_name(p), str(p)), inv)
            elif oid == "mode":
                if arg not in ("tunnel", "transport"):
                    raise ParameterProblem(f'policy match: invalid mode "{arg}"')
                ent[oid] = (arg, inv)
            else:
                (a, m), *_r = parse_addresses(arg, rb.family)
                ent[oid] = (format_addr(a, m, rb.family, True), inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "dir" not in st:
            raise ParameterProblem("policy match: neither --dir in nor --dir out specified")
        pol = st.get("pol", "ipsec")
        ents: List[Dict[str, Any]] = st["ents"]
        s = f" --dir {st['dir']} --pol {pol}"
        lst = f" policy match dir {st['dir']} pol {pol}"
        if st.get("strict"):
            s += " --strict"
            lst += " strict"
        for i, ent in enumerate(ents):
            if len(ents) > 1:
                lst += f" [{i}]"
            for k in ("reqid", "spi", "proto", "mode", "tunnel-dst", "tunnel-src"):
                if k not in ent:
                    continue
                v, inv = ent[k]
                sv, lv = v if k == "proto" else (v, v)
                s += f"{' !' if inv else ''} --{k} {sv}"
                lst += f"{' !' if inv else ''} {k} {lv}"
            if i + 1 < len(ents):
                s += " --next"
        return s, lst

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        refusal = (
            "Invalid argument" if st.get("pol", "ipsec") == "none" and st.get("strict") else None
        )
        if st.get("dir") == "in":
            return hooks("PREROUTING", "INPUT", "FORWARD"), None, refusal
        return hooks("FORWARD", "OUTPUT", "POSTROUTING"), None, refusal


# ---------------------------------------------------------------- esp / ah


@register_match
class EspMatch(Ext):
    name = "esp"
    opts = {"espspi": ("spi", True, True)}
    proto_num = 50
    label = "esp"

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        lo, sep, hi = arg.partition(":")
        a = strtoui(lo) if lo else 0
        b = (strtoui(hi) if hi else 0xFFFFFFFF) if sep else a
        if a is None or b is None:
            raise ParameterProblem(f'{self.name}: Bad value for "--{self.name}spi" option: "{arg}"')
        st["spi"] = (a, b, inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        a, b, inv = st.get("spi", (0, 0xFFFFFFFF, False))
        s = ""
        if not (a == 0 and b == 0xFFFFFFFF):
            s = f"{' !' if inv else ''} --{self.name}spi " + (str(a) if a == b else f"{a}:{b}")
        lst = f" {self.label}"
        if a != 0 or b != 0xFFFFFFFF or inv:
            i = "!" if inv else ""
            lst += f" spi:{i}{a}" if a == b else f" spis:{i}{a}:{b}"
        return s, lst

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return None, None, _refuse_proto(rb, self.proto_num)


@register_match
class AhMatch(EspMatch):
    name = "ah"
    families = (4,)
    opts = {"ahspi": ("spi", True, True)}
    proto_num = 51
    label = "ah"


# ---------------------------------------------------------------- IPv6 extension headers

_V6HDRS = (
    ("hop-by-hop", "hop", 0, 128),
    ("ipv6-opts", "dst", 60, 64),
    ("ipv6-route", "route", 43, 32),
    ("ipv6-frag", "frag", 44, 16),
    ("ah", "auth", 51, 8),
    ("esp", "esp", 50, 4),
    ("ipv6-nonxt", "none", 59, 2),
    ("protocol", "prot", 255, 1),
)


@register_match
class Ipv6headerMatch(Ext):
    name = "ipv6header"
    families = (6,)
    opts = {"header": ("header", True, True), "soft": ("soft", False, False)}
    mandatory = ("header",)

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "soft":
            st["soft"] = True
            return
        bits = 0
        for part in arg.split(","):
            num = strtoui(part, 0, 255)
            hit = [b for n, a, p, b in _V6HDRS if part in (n, a) or (num is not None and num == p)]
            if not hit:
                raise ParameterProblem(f"unknown header `{part}' specified")
            bits |= hit[0]
        st["bits"] = (bits, inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        bits, inv = st.get("bits", (0, False))
        names = ",".join(n for n, _a, _p, b in _V6HDRS if bits & b)
        s = f"{' !' if inv else ''} --header {names}"
        lst = f" ipv6header flags:{'!' if inv else ''}0x{bits:02X}"
        if st.get("soft"):
            s += " --soft"
            lst += " soft"
        return s, lst


def _v6_range(ext: Ext, opt: str, arg: str) -> Tuple[int, int]:
    lo, sep, hi = arg.partition(":")
    a = strtoui(lo) if lo else 0
    b = (strtoui(hi) if hi else 0xFFFFFFFF) if sep else a
    if a is None or b is None:
        raise ext.bad(opt, arg)
    return a, b


@register_match
class RtMatch(Ext):
    name = "rt"
    families = (6,)
    opts = {
        "rt-type": ("type", True, True),
        "rt-segsleft": ("segsleft", True, True),
        "rt-len": ("len", True, True),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "segsleft":
            st[oid] = (*_v6_range(self, "rt-segsleft", arg), inv)
        else:
            st[oid] = (self.uint("rt-" + oid, arg, 0, 255 if oid == "type" else 0xFFFFFFFF), inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        lst = " rt"
        if "type" in st:
            v, i = st["type"]
            s += f"{' !' if i else ''} --rt-type {v}"
            lst += f" type:{'!' if i else ''}{v}"
        if "segsleft" in st:
            a, b, i = st["segsleft"]
            if not (a == 0 and b == 0xFFFFFFFF):
                s += f"{' !' if i else ''} --rt-segsleft " + (str(a) if a == b else f"{a}:{b}")
            if a != 0 or b != 0xFFFFFFFF or i:
                x = "!" if i else ""
                lst += f" segsleft:{x}{a}" if a == b else f" segslefts:{x}{a}:{b}"
        if "len" in st:
            v, i = st["len"]
            s += f"{' !' if i else ''} --rt-len {v}"
            lst += f" length:{'!' if i else ''}{v}"
        return s, lst


@register_match
class HbhMatch(Ext):
    name = "hbh"
    families = (6,)
    opts = {"hbh-len": ("len", True, True), "hbh-opts": ("opts", True, False)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "len":
            st["len"] = (self.uint(f"{self.name}-len", arg), inv)
            return
        items = []
        for part in arg.split(","):
            t, sep, ln = part.partition(":")
            tv = strtoui(t, 0, 255)
            lv = strtoui(ln, 0, 255) if sep else None
            if tv is None or (sep and lv is None):
                raise ParameterProblem(f"{self.name}: bad option `{part}'")
            items.append(f"{tv}" + (f":{lv}" if lv is not None else ""))
        st["opts"] = ",".join(items)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        lst = f" {self.name}"
        if "len" in st:
            v, i = st["len"]
            s += f"{' !' if i else ''} --{self.name}-len {v}"
            lst += f" length:{'!' if i else ''}{v}"
        if "opts" in st:
            s += f" --{self.name}-opts {st['opts']}"
            lst += f" opts {st['opts']}"
        return s, lst


@register_match
class DstMatch(HbhMatch):
    name = "dst"
    opts = {"dst-len": ("len", True, True), "dst-opts": ("opts", True, False)}


_MH_TYPES = (
    ("binding-refresh-request", "brr"),
    ("home-test-init", "hoti"),
    ("careof-test-init", "coti"),
    ("home-test", "hot"),
    ("careof-test", "cot"),
    ("binding-update", "bu"),
    ("binding-acknowledgement", "ba"),
    ("binding-error", "be"),
)


def _mh_type(s: str) -> Optional[int]:
    v = strtoui(s, 0, 255)
    if v is not None:
        return v
    for i, (n, a) in enumerate(_MH_TYPES):
        if s in (n, a):
            return i
    return None


@register_match
class MhMatch(Ext):
    name = "mh"
    families = (6,)
    opts = {"mh-type": ("type", True, True)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        lo, sep, hi = arg.partition(":")
        a = _mh_type(lo) if lo else 0
        b = (_mh_type(hi) if hi else 0xFF) if sep else a
        if a is None or b is None:
            raise ParameterProblem(f"Invalid MH type `{arg}'")
        st["t"] = (a, b, inv)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        a, b, inv = st.get("t", (0, 0xFF, False))
        s = ""
        lst = " mh"
        if not (a == 0 and b == 0xFF):
            txt = str(a) if a == b else f"{a}:{b}"
            s = f"{' !' if inv else ''} --mh-type {txt}"
            lst += f" {'!' if inv else ''}{txt}"
        return s, lst

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return None, None, _refuse_proto(rb, 135)
