"""icmp and icmp6: the type tables and their parser, shared with REJECT and the printers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

from ..errors import ParameterProblem
from ..ext import (
    Cursor,
    Ext,
    Opt,
    Restriction,
    RuleBuild,
    register_match,
)
from ..release import release_of
from ..values import (
    strtoui,
)
from ._common import _refuse_proto

__all__: List[str] = []


# ---------------------------------------------------------------- icmp / icmp6

ICMP4_TYPES = (
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
ICMP6_TYPES = (
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


@dataclass
class _IcmpState:
    """An icmp match: the type and the range of codes (the defaults match any packet)."""

    icmp_type: int = 0xFF  # 0xFF: any type (the icmp module's own default)
    code_min: int = 0
    code_max: int = 0xFF
    inv: bool = False


@register_match
class IcmpMatch(Ext[_IcmpState]):
    state = _IcmpState
    name = "icmp"
    families = (4,)
    opts = {"icmp-type": Opt("type", inv=True)}
    # -m icmp without a type is refused by 1.8.7, 1.8.9 and 1.8.11 (measured)
    mandatory = ("type",)
    proto_num = 1
    opt_name = "icmp-type"
    list_prefix = "icmp"
    table: Tuple[Tuple[str, int, int, int], ...] = ICMP4_TYPES

    def parse(
        self, st: _IcmpState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        word = "Invalid" if release_of(rb.ctx.version).old_messages else "Unknown"
        st.icmp_type, st.code_min, st.code_max = _parse_icmp(
            arg, self.table, self.proto_num == 58, word
        )
        st.inv = inv

    def final(self, st: _IcmpState, rb: RuleBuild) -> Tuple[str, str]:
        t, c0, c1 = st.icmp_type, st.code_min, st.code_max
        inv = st.inv
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

    def restrict(self, st: _IcmpState, rb: RuleBuild) -> Restriction:
        return None, None, _refuse_proto(rb, self.proto_num)


@dataclass
class _Icmp6State(_IcmpState):
    """An icmp6 match: as icmp's, but ICMPv6 has no "any" type: the type defaults to 0."""

    icmp_type: int = 0


@register_match
class Icmp6Match(IcmpMatch):
    state = _Icmp6State
    name = "icmp6"
    families = (6,)
    opts = {"icmpv6-type": Opt("type", inv=True)}
    proto_num = 58
    opt_name = "icmpv6-type"
    list_prefix = "ipv6-icmp"
    table = ICMP6_TYPES
