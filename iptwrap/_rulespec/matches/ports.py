"""The port matches: tcp, udp, sctp, dccp, multiport and tcpmss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple, TypeVar

from ..errors import ParameterProblem
from ..ext import (
    NO_RESTRICTION,
    Cursor,
    Ext,
    Opt,
    Restriction,
    RuleBuild,
    register_match,
)
from ..release import release_of
from ..values import (
    parse_port,
    parse_port_range,
    strtoui,
)
from ._common import _ports_txt, _print_ports, _refuse_proto, _save_ports

__all__ = ["TcpState"]


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


@dataclass
class _PortState:
    """What a tcp, udp, sctp or dccp match parsed: its source and destination ports."""

    # (first, last) of each range; the full range when the option was not given
    sports: Tuple[int, int] = (0, 0xFFFF)
    dports: Tuple[int, int] = (0, 0xFFFF)
    sports_inv: bool = False
    dports_inv: bool = False
    # whether --sport / --dport was given already (tcp, sctp and dccp allow each once)
    sports_given: bool = False
    dports_given: bool = False


_P = TypeVar("_P", bound=_PortState)


class _PortMatch(Ext[_P]):
    proto_name = ""
    proto_num = 0

    def parse(self, st: _P, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid in ("sport", "dport") and self.name != "udp":
            given = st.sports_given if oid == "sport" else st.dports_given
            if given:
                which = "source" if oid == "sport" else "destination"
                raise ParameterProblem(f"Only one `--{which}-port' allowed")
            if oid == "sport":
                st.sports_given = True
            else:
                st.dports_given = True
        if oid == "sport":
            st.sports = parse_port_range(arg, self.proto_name)
            st.sports_inv = inv
        elif oid == "dport":
            st.dports = parse_port_range(arg, self.proto_name)
            st.dports_inv = inv
        else:
            self.parse_more(st, oid, arg, inv, rb, cur)

    def parse_more(self, st: _P, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        raise ParameterProblem(f"fake: {self.name} option `{oid}' is not emulated")

    def ports_only(self, st: _P) -> bool:
        return True

    def final(self, st: _P, rb: RuleBuild) -> Tuple[str, str]:
        (sa, sb), (da, db) = st.sports, st.dports
        s = _save_ports("sport", sa, sb, st.sports_inv)
        s += _save_ports("dport", da, db, st.dports_inv)
        lst = f" {self.name}" + _print_ports("spt", sa, sb, st.sports_inv)
        lst += _print_ports("dpt", da, db, st.dports_inv)
        return s, lst

    def has_ports(self, st: _P) -> bool:
        return bool(st.sports != (0, 0xFFFF) or st.dports != (0, 0xFFFF))

    def restrict(self, st: _P, rb: RuleBuild) -> Restriction:
        if (
            rb.backend == "nft"
            and self.name in ("tcp", "udp")  # sctp/dccp stay xt matches: the kernel checks
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


@dataclass
class TcpState(_PortState):
    """A tcp match: the ports, and the flags and option tests."""

    flags: Optional[Tuple[int, int]] = None  # (mask, comp) of --tcp-flags or --syn
    flags_inv: bool = False
    option: Optional[int] = None  # the --tcp-option number
    option_inv: bool = False

    def requires_syn(self) -> bool:
        """``--syn`` or ``--tcp-flags X SYN``, not inverted: what TCPMSS needs on legacy."""
        return self.flags is not None and bool(self.flags[1] & 0x02) and not self.flags_inv


@register_match
class TcpMatch(_PortMatch[TcpState]):
    state = TcpState
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

    def parse_more(
        self, st: TcpState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid in ("flags", "syn"):
            if st.flags is not None:
                raise ParameterProblem("Only one of `--syn' or `--tcp-flags'  allowed")
            if oid == "syn":
                st.flags = (0x17, 0x02)
            else:
                if not cur.has_arg():
                    raise ParameterProblem("--tcp-flags requires two args.")
                comp = cur.take()
                st.flags = (_parse_tcpf(arg), _parse_tcpf(comp))
            st.flags_inv = inv
        elif oid == "option":
            if st.option is not None:
                raise ParameterProblem("Only one `--tcp-option' allowed")
            v = strtoui(arg, 1, 255)
            if v is None:
                raise ParameterProblem(f"Bad TCP option `{arg}'")
            st.option = v
            st.option_inv = inv

    def ports_only(self, st: TcpState) -> bool:
        return st.flags is None and st.option is None

    def final(self, st: TcpState, rb: RuleBuild) -> Tuple[str, str]:
        s, lst = super().final(st, rb)
        if st.option is not None:
            s += f"{' !' if st.option_inv else ''} --tcp-option {st.option}"
            lst += f" option={'!' if st.option_inv else ''}{st.option}"
        if st.flags is not None:
            m, c = st.flags
            s += f"{' !' if st.flags_inv else ''} --tcp-flags {_tcpf(m)} {_tcpf(c)}"
            lst += f" flags:{'!' if st.flags_inv else ''}0x{m:02X}/0x{c:02X}"
        return s, lst


@register_match
class UdpMatch(_PortMatch[_PortState]):
    state = _PortState
    name = "udp"
    proto_name = "udp"
    proto_num = 17
    opts = dict(_PORT_OPTS)


@register_match
class SctpMatch(_PortMatch[_PortState]):
    state = _PortState
    name = "sctp"
    multi = frozenset({"sport", "dport"})
    proto_name = "sctp"
    proto_num = 132
    opts = dict(_PORT_OPTS, **{"chunk-types": Opt("chunks", inv=True)})


@register_match
class DccpMatch(_PortMatch[_PortState]):
    state = _PortState
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


@dataclass
class _MultiportState:
    """A multiport match: its one option (the options exclude each other)."""

    kind: Optional[str] = None  # "sports", "dports" or "ports"; None until given
    ports: str = ""  # the list as saved and listed: "22,80,1000:2000"
    inv: bool = False


@register_match
class MultiportMatch(Ext[_MultiportState]):
    state = _MultiportState
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

    def parse(
        self, st: _MultiportState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
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
        st.kind = oid
        st.ports = ",".join(items)
        st.inv = inv

    def final(self, st: _MultiportState, rb: RuleBuild) -> Tuple[str, str]:
        if st.kind is None:
            if release_of(rb.ctx.version).vt >= (1, 8, 11):
                raise ParameterProblem("no ports specified")  # measured, seed 13
            raise ParameterProblem("multiport expection an option")
        k = st.kind
        s = f"{' !' if st.inv else ''} --{k} {st.ports}"
        lst = f" multiport {k} {' !' if st.inv else ''}{st.ports}"
        return s, lst

    def restrict(self, st: _MultiportState, rb: RuleBuild) -> Restriction:
        return NO_RESTRICTION


# ---------------------------------------------------------------- tcpmss match


@dataclass
class _TcpmssState:
    """A tcpmss match: the MSS range."""

    mss: Optional[Tuple[int, int]] = None  # (first, last); None until --mss is given
    inv: bool = False


@register_match
class TcpmssMatch(Ext[_TcpmssState]):
    state = _TcpmssState
    name = "tcpmss"
    opts = {"mss": Opt("mss", inv=True)}

    def parse(
        self, st: _TcpmssState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        lo, sep, hi = arg.partition(":")
        a = strtoui(lo, 0, 65535)
        b = strtoui(hi, 0, 65535) if sep else a
        if a is None or b is None:
            raise ParameterProblem(
                'tcpmss: bad value for option "--mss", or out of range (0-65535).\n'
            )
        st.mss = (a, b)
        st.inv = inv

    def final(self, st: _TcpmssState, rb: RuleBuild) -> Tuple[str, str]:
        if st.mss is None:
            raise self.mand("mss")
        v = _ports_txt(*st.mss)
        i = st.inv
        return f"{' !' if i else ''} --mss {v}", f" tcpmss match {'!' if i else ''}{v}"

    def restrict(self, st: _TcpmssState, rb: RuleBuild) -> Restriction:
        return None, None, _refuse_proto(rb, 6)
