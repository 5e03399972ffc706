"""Packet fields set by others: mark, connmark, dscp, tos, ttl, hl and ecn (their value parsers are shared with the targets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from ..errors import ParameterProblem
from ..ext import (
    Cursor,
    Ext,
    Opt,
    Restriction,
    RuleBuild,
    register_match,
)
from ..values import (
    strtoui,
)
from ._common import _refuse_proto

__all__: List[str] = []


# ---------------------------------------------------------------- mark / connmark


def parse_markmask(ext: str, opt: str, arg: str) -> Tuple[int, int]:
    v, sep, m = arg.partition("/")
    a = strtoui(v)
    b = strtoui(m) if sep else 0xFFFFFFFF
    if a is None or b is None:
        raise ParameterProblem(f'{ext}: bad integer value for option "--{opt}", or out of range.\n')
    return a, b


def _mark_txt(v: int, m: int) -> str:
    return f"0x{v:x}" if m == 0xFFFFFFFF else f"0x{v:x}/0x{m:x}"


@dataclass
class _MarkState:
    """--mark value[/mask] of the mark and connmark matches."""

    value: Optional[int] = None  # None: --mark not given yet
    mask: int = 0xFFFFFFFF  # set together with value
    inv: bool = False


@register_match
class MarkMatch(Ext[_MarkState]):
    state = _MarkState
    name = "mark"
    opts = {"mark": Opt("mark", inv=True)}

    def parse(
        self, st: _MarkState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.value, st.mask = parse_markmask(self.name, oid, arg)
        st.inv = inv

    def final(self, st: _MarkState, rb: RuleBuild) -> Tuple[str, str]:
        if st.value is None:
            raise self.mand("mark")
        t = _mark_txt(st.value, st.mask)
        i = st.inv
        return f"{' !' if i else ''} --mark {t}", f" mark match{' !' if i else ''} {t}"


@register_match
class ConnmarkMatch(MarkMatch):
    name = "connmark"

    def final(self, st: _MarkState, rb: RuleBuild) -> Tuple[str, str]:
        if st.value is None:
            raise self.mand("mark")
        t = _mark_txt(st.value, st.mask)
        i = st.inv
        return f"{' !' if i else ''} --mark {t}", f" connmark match {'!' if i else ''} {t}"


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


def parse_dscp(ext: Ext[Any], opt: str, oid: str, arg: str) -> int:
    if oid.endswith("class"):
        v = _DSCP_CLASSES.get(arg.upper())
        if v is None:
            raise ParameterProblem(f"Invalid DSCP value `{arg}'")
        return v
    return ext.uint(opt, arg, 0, 63)


@dataclass
class _DscpState:
    value: Optional[int] = None  # 0-63, from --dscp or --dscp-class; None: not given
    inv: bool = False


@register_match
class DscpMatch(Ext[_DscpState]):
    state = _DscpState
    name = "dscp"
    excl = {"dscp": ("dscp-class",), "dscp-class": ("dscp",)}
    opts = {"dscp": Opt("dscp", inv=True), "dscp-class": Opt("dscp-class", inv=True)}

    def parse(
        self, st: _DscpState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.value = parse_dscp(self, oid, oid, arg)
        st.inv = inv

    def final(self, st: _DscpState, rb: RuleBuild) -> Tuple[str, str]:
        if st.value is None:
            raise ParameterProblem("DSCP match: Parameter --dscp is required")
        i = st.inv
        return (
            f"{' !' if i else ''} --dscp 0x{st.value:02x}",
            f" DSCP match {'!' if i else ''}0x{st.value:02x}",
        )


_TOS_NAMES = {
    "minimize-delay": 0x10,
    "maximize-throughput": 0x08,
    "maximize-reliability": 0x04,
    "minimize-cost": 0x02,
    "normal-service": 0x00,
}


def parse_tos(ext: Ext[Any], opt: str, arg: str) -> Tuple[int, int]:
    sym = _TOS_NAMES.get(arg.lower())
    if sym is not None:
        return sym, 0x3F
    v, sep, m = arg.partition("/")
    a = strtoui(v, 0, 255)
    b = strtoui(m, 0, 255) if sep else 0xFF
    if a is None or b is None:
        raise ParameterProblem(f'Symbolic name "{arg}" is unknown')
    return a, b


@dataclass
class _TosState:
    value: Optional[int] = None  # None: --tos not given yet
    mask: int = 0xFF  # set together with value (0x3f for a symbolic name)
    inv: bool = False


@register_match
class TosMatch(Ext[_TosState]):
    state = _TosState
    name = "tos"
    opts = {"tos": Opt("tos", inv=True)}

    def parse(
        self, st: _TosState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.value, st.mask = parse_tos(self, "tos", arg)
        st.inv = inv

    def final(self, st: _TosState, rb: RuleBuild) -> Tuple[str, str]:
        if st.value is None:
            raise self.mand("tos")
        v, m = st.value, st.mask
        i = st.inv
        return (
            f"{' !' if i else ''} --tos 0x{v:02x}/0x{m:02x}",
            f" tos match{'!' if i else ''}0x{v:02x}/0x{m:02x}",
        )


@dataclass
class _TtlState:
    """The one comparison of the ttl (IPv4) or hl (IPv6) match."""

    # "eq", "ne" (an inverted --ttl-eq/--hl-eq), "lt" or "gt"; None: no option given yet
    op: Optional[str] = None
    value: int = 0  # the TTL / hop limit compared with (0-255), set together with op


@register_match
class TtlMatch(Ext[_TtlState]):
    state = _TtlState
    name = "ttl"
    excl = {"eq": ("lt", "gt"), "lt": ("eq", "gt"), "gt": ("eq", "lt")}
    families = (4,)
    opts = {
        "ttl-eq": Opt("eq", inv=True),
        "ttl-lt": Opt("lt"),
        "ttl-gt": Opt("gt"),
    }
    label = "TTL"

    def parse(
        self, st: _TtlState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.op = "ne" if (oid == "eq" and inv) else oid
        st.value = self.uint(f"{self.name}-{oid}", arg, 0, 255)

    def final(self, st: _TtlState, rb: RuleBuild) -> Tuple[str, str]:
        if st.op is None:
            raise ParameterProblem(
                f"{self.label} match: You must specify one of "
                f"`--{self.name}-eq', `--{self.name}-lt', `--{self.name}-gt"
                # libip6t_hl closes the quote, libipt_ttl does not (measured, seed 18)
                + ("'" if self.name == "hl" else "")
            )
        op, v = st.op, st.value
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
    opts = {"hl-eq": Opt("eq", inv=True), "hl-lt": Opt("lt"), "hl-gt": Opt("gt")}
    label = "HL"


# ---------------------------------------------------------------- ecn


@dataclass
class _EcnState:
    """The ECN bits compared; each of ``ece``/``cwr``/``ect`` is None when not given,
    else whether it is inverted."""

    ece: Optional[bool] = None
    cwr: Optional[bool] = None
    ect: Optional[bool] = None
    ect_value: int = 0  # --ecn-ip-ect 0-3


@register_match
class EcnMatch(Ext[_EcnState]):
    state = _EcnState
    name = "ecn"
    opts = {
        "ecn-tcp-cwr": Opt("cwr", arg=False, inv=True),
        "ecn-tcp-ece": Opt("ece", arg=False, inv=True),
        "ecn-ip-ect": Opt("ect", inv=True),
    }

    def parse(
        self, st: _EcnState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "cwr":
            st.cwr = inv
        elif oid == "ece":
            st.ece = inv
        else:
            st.ect_value, st.ect = self.uint("ecn-ip-ect", arg, 0, 3), inv

    def final(self, st: _EcnState, rb: RuleBuild) -> Tuple[str, str]:
        if st.ece is None and st.cwr is None and st.ect is None:
            raise ParameterProblem("ECN match: some option required")
        s = ""
        lst = " ECN match"
        for inv, opt, lab in ((st.ece, "ecn-tcp-ece", "ECE"), (st.cwr, "ecn-tcp-cwr", "CWR")):
            if inv is not None:
                s += f"{' !' if inv else ''} --{opt}"
                lst += f" {'!' if inv else ''}{lab}"
        if st.ect is not None:
            s += f"{' !' if st.ect else ''} --ecn-ip-ect {st.ect_value}"
            lst += f" {'!' if st.ect else ''}ECT={st.ect_value}"
        return s, lst

    def restrict(self, st: _EcnState, rb: RuleBuild) -> Restriction:
        """ecn_mt_check: the TCP bits need ``-p tcp`` (not inverted)."""
        if st.ece is not None or st.cwr is not None:
            return None, None, _refuse_proto(rb, 6)
        return None, None, None
