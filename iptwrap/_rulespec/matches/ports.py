"""The port matches: tcp, udp, sctp, dccp, multiport and tcpmss."""

from __future__ import annotations

from typing import List, Tuple

from ..errors import ParameterProblem
from ..ext import (
    NO_RESTRICTION,
    Cursor,
    Ext,
    Opt,
    Restriction,
    RuleBuild,
    St,
    register_match,
)
from ..release import release_of
from ..values import (
    parse_port,
    parse_port_range,
    strtoui,
)
from ._common import _ports_txt, _print_ports, _refuse_proto, _save_ports

__all__: List[str] = []


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


class _PortMatch(Ext[St]):
    state = St
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
    "source-port": Opt("sport", inv=True),
    "sport": Opt("sport", inv=True),
    "destination-port": Opt("dport", inv=True),
    "dport": Opt("dport", inv=True),
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
            "tcp-flags": Opt("flags", inv=True),
            "syn": Opt("syn", arg=False, inv=True),
            "tcp-option": Opt("option", inv=True),
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
    opts = dict(_PORT_OPTS, **{"chunk-types": Opt("chunks", inv=True)})


@register_match
class DccpMatch(_PortMatch):
    name = "dccp"
    multi = frozenset({"sport", "dport"})
    proto_name = "dccp"
    proto_num = 33
    opts = dict(
        _PORT_OPTS,
        **{"dccp-types": Opt("types", inv=True), "dccp-option": Opt("option", inv=True)},
    )


# ---------------------------------------------------------------- multiport

_MP_PROTOS = {6: "tcp", 17: "udp", 136: "udplite", 132: "sctp", 33: "dccp"}


@register_match
class MultiportMatch(Ext[St]):
    state = St
    name = "multiport"
    excl = {
        "sports": ("dports", "ports"),
        "dports": ("sports", "ports"),
        "ports": ("sports", "dports"),
    }
    opts = {
        "source-ports": Opt("sports", inv=True),
        "sports": Opt("sports", inv=True),
        "destination-ports": Opt("dports", inv=True),
        "dports": Opt("dports", inv=True),
        "ports": Opt("ports", inv=True),
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


# ---------------------------------------------------------------- tcpmss match


@register_match
class TcpmssMatch(Ext[St]):
    state = St
    name = "tcpmss"
    opts = {"mss": Opt("mss", inv=True)}

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
