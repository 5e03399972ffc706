"""IPsec and IPv6 headers: frag, esp, ah, ipcomp, ipv6header, rt, hbh, dst and mh."""

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
    parse_uint_range,
    strtoui,
)
from ._common import _refuse_proto

__all__: List[str] = []


# ---------------------------------------------------------------- frag (ip6)


@dataclass
class _FragState:
    ids: Optional[Tuple[int, int]] = None  # --fragid lo:hi (None: not given)
    ids_inv: bool = False
    length: Optional[int] = None  # --fraglen (None: not given)
    len_inv: bool = False
    res: bool = False  # --fragres
    first: bool = False  # --fragfirst
    more: bool = False  # --fragmore
    last: bool = False  # --fraglast


@register_match
class FragMatch(Ext[_FragState]):
    state = _FragState
    name = "frag"
    families = (6,)
    opts = {
        "fragid": Opt("id", inv=True),
        "fraglen": Opt("len", inv=True),
        "fragres": Opt("res", arg=False),
        "fragfirst": Opt("first", arg=False),
        "fragmore": Opt("more", arg=False),
        "fraglast": Opt("last", arg=False),
    }

    def parse(
        self, st: _FragState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "id":
            lo, sep, hi = arg.partition(":")
            a = strtoui(lo) if lo else 0
            b = (strtoui(hi) if hi else 0xFFFFFFFF) if sep else a
            if a is None or b is None:
                raise self.bad("fragid", arg)
            st.ids, st.ids_inv = (a, b), inv
        elif oid == "len":
            st.length, st.len_inv = self.uint("fraglen", arg), inv
        elif oid == "res":
            st.res = True
        elif oid == "first":
            st.first = True
        elif oid == "more":
            st.more = True
        else:
            st.last = True

    def final(self, st: _FragState, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        lst = " frag "
        if st.ids is not None:
            (a, b), i = st.ids, st.ids_inv
            if not (a == 0 and b == 0xFFFFFFFF):
                s += f"{' !' if i else ''} --fragid " + (str(a) if a == b else f"{a}:{b}")
            if a != 0 or b != 0xFFFFFFFF or i:
                lst += f"id:{'!' if i else ''}{a}" if a == b else f"ids:{'!' if i else ''}{a}:{b}"
        if st.length is not None:
            v, i = st.length, st.len_inv
            s += f"{' !' if i else ''} --fraglen {v}"
            lst += f" length:{'!' if i else ''}{v}"
        for on, o, lab in (
            (st.res, "fragres", "reserved"),
            (st.first, "fragfirst", "first"),
            (st.more, "fragmore", "more"),
            (st.last, "fraglast", "last"),
        ):
            if on:
                s += f" --{o}"
                lst += f" {lab}"
        return s, lst


# ---------------------------------------------------------------- esp / ah


@dataclass
class _SpiState:
    """esp's and ah's state: --espspi / --ahspi, by default every SPI."""

    spi_lo: int = 0
    spi_hi: int = 0xFFFFFFFF
    inv: bool = False


@register_match
class EspMatch(Ext[_SpiState]):
    state = _SpiState
    name = "esp"
    opts = {"espspi": Opt("spi", inv=True)}
    proto_num = 50
    label = "esp"

    def parse(
        self, st: _SpiState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        lo, sep, hi = arg.partition(":")
        a = strtoui(lo) if lo else 0
        b = (strtoui(hi) if hi else 0xFFFFFFFF) if sep else a
        if a is None or b is None:
            raise ParameterProblem(f'{self.name}: Bad value for "--{self.name}spi" option: "{arg}"')
        st.spi_lo, st.spi_hi, st.inv = a, b, inv

    def final(self, st: _SpiState, rb: RuleBuild) -> Tuple[str, str]:
        a, b, inv = st.spi_lo, st.spi_hi, st.inv
        s = ""
        if not (a == 0 and b == 0xFFFFFFFF):
            s = f"{' !' if inv else ''} --{self.name}spi " + (str(a) if a == b else f"{a}:{b}")
        lst = f" {self.label}"
        if a != 0 or b != 0xFFFFFFFF or inv:
            i = "!" if inv else ""
            lst += f" spi:{i}{a}" if a == b else f" spis:{i}{a}:{b}"
        return s, lst

    def restrict(self, st: _SpiState, rb: RuleBuild) -> Restriction:
        return None, None, _refuse_proto(rb, self.proto_num)


@dataclass
class _Ah6State:
    """libip6t_ah's state: --ahspi (every SPI by default), --ahlen, --ahres."""

    spi_lo: int = 0
    spi_hi: int = 0xFFFFFFFF
    spi_inv: bool = False
    hdrlen: int = 0
    len_inv: bool = False
    res: bool = False


def _spis_txt(lo: int, hi: int, inv: bool) -> str:
    """print_spis of ah (IPv6) and ipcomp: nothing for every SPI, not inverted."""
    if lo == 0 and hi == 0xFFFFFFFF and not inv:
        return ""
    i = "!" if inv else ""
    return f"spi:{i}{lo}" if lo == hi else f"spis:{i}{lo}:{hi}"


def _spis_save(opt: str, lo: int, hi: int, inv: bool) -> str:
    if lo == 0 and hi == 0xFFFFFFFF:
        return ""
    return f"{' !' if inv else ''} --{opt} " + (str(lo) if lo == hi else f"{lo}:{hi}")


class Ah6Match(Ext[_Ah6State]):
    """ah for IPv6 (libip6t_ah): any protocol (the kernel walks the extension headers)."""

    state = _Ah6State
    name = "ah"
    families = (6,)
    opts = {
        "ahspi": Opt("spi", inv=True),
        "ahlen": Opt("len", inv=True),
        "ahres": Opt("res", arg=False),
    }

    def parse(
        self, st: _Ah6State, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "spi":
            vals, n = parse_uint_range(self.name, "ahspi", arg)
            st.spi_lo, st.spi_hi = vals[0], vals[-1]
            st.spi_inv = inv
        elif oid == "len":
            st.hdrlen, st.len_inv = self.uint("ahlen", arg), inv
        else:
            st.res = True

    def final(self, st: _Ah6State, rb: RuleBuild) -> Tuple[str, str]:
        s = _spis_save("ahspi", st.spi_lo, st.spi_hi, st.spi_inv)
        lst = " ah " + _spis_txt(st.spi_lo, st.spi_hi, st.spi_inv)
        if st.hdrlen or st.len_inv:
            i = st.len_inv
            s += f"{' !' if i else ''} --ahlen {st.hdrlen}"
            lst += f"length:{'!' if i else ''}{st.hdrlen}"  # no space: as ah_print has it
        if st.res:
            s += " --ahres"
            lst += " reserved"
        return s, lst


@register_match
class AhMatch(EspMatch):
    """ah: libipt_ah for IPv4 (esp's grammar); IPv6 loads :class:`Ah6Match`."""

    name = "ah"
    families = (4,)
    opts = {"ahspi": Opt("spi", inv=True)}
    proto_num = 51
    label = "ah"

    def variant(self, family: int) -> Ext[Any]:
        return _AH6 if family == 6 else self


_AH6 = Ah6Match()


# ---------------------------------------------------------------- ipcomp


@dataclass
class _IpcompState:
    """--ipcompspi: with no option the range is 0:0 (the module has no init)."""

    spi_lo: int = 0
    spi_hi: int = 0
    inv: bool = False
    res: bool = False  # --compres


@register_match
class IpcompMatch(Ext[_IpcompState]):
    state = _IpcompState
    name = "ipcomp"
    opts = {"ipcompspi": Opt("spi", inv=True), "compres": Opt("res", arg=False)}

    def parse(
        self, st: _IpcompState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "spi":
            vals, _n = parse_uint_range(self.name, "ipcompspi", arg)
            st.spi_lo, st.spi_hi, st.inv = vals[0], vals[-1], inv
        else:
            st.res = True

    def final(self, st: _IpcompState, rb: RuleBuild) -> Tuple[str, str]:
        s = _spis_save("ipcompspi", st.spi_lo, st.spi_hi, st.inv)
        lst = " comp " + _spis_txt(st.spi_lo, st.spi_hi, st.inv)
        if st.res:
            s += " --compres"
            lst += " reserved"
        return s, lst

    def restrict(self, st: _IpcompState, rb: RuleBuild) -> Restriction:
        return None, None, _refuse_proto(rb, 108)


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


@dataclass
class _Ipv6headerState:
    header_bits: int = 0  # the --header names' bits (the last column of _V6HDRS), or-ed
    inv: bool = False
    soft: bool = False


@register_match
class Ipv6headerMatch(Ext[_Ipv6headerState]):
    state = _Ipv6headerState
    name = "ipv6header"
    families = (6,)
    opts = {"header": Opt("header", inv=True), "soft": Opt("soft", arg=False)}
    mandatory = ("header",)

    def parse(
        self, st: _Ipv6headerState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "soft":
            st.soft = True
            return
        bits = 0
        for part in arg.split(","):
            num = strtoui(part, 0, 255)
            hit = [b for n, a, p, b in _V6HDRS if part in (n, a) or (num is not None and num == p)]
            if not hit:
                raise ParameterProblem(f"unknown header `{part}' specified")
            bits |= hit[0]
        st.header_bits, st.inv = bits, inv

    def final(self, st: _Ipv6headerState, rb: RuleBuild) -> Tuple[str, str]:
        bits, inv = st.header_bits, st.inv
        names = ",".join(n for n, _a, _p, b in _V6HDRS if bits & b)
        s = f"{' !' if inv else ''} --header {names}"
        lst = f" ipv6header flags:{'!' if inv else ''}0x{bits:02X}"
        if st.soft:
            s += " --soft"
            lst += " soft"
        return s, lst


def _v6_range(ext: Ext[Any], opt: str, arg: str) -> Tuple[int, int]:
    lo, sep, hi = arg.partition(":")
    a = strtoui(lo) if lo else 0
    b = (strtoui(hi) if hi else 0xFFFFFFFF) if sep else a
    if a is None or b is None:
        raise ext.bad(opt, arg)
    return a, b


@dataclass
class _RtState:
    rt_type: Optional[int] = None  # --rt-type (None: not given)
    type_inv: bool = False
    segsleft: Optional[Tuple[int, int]] = None  # --rt-segsleft lo:hi (None: not given)
    segsleft_inv: bool = False
    length: Optional[int] = None  # --rt-len (None: not given)
    len_inv: bool = False


@register_match
class RtMatch(Ext[_RtState]):
    state = _RtState
    name = "rt"
    families = (6,)
    opts = {
        "rt-type": Opt("type", inv=True),
        "rt-segsleft": Opt("segsleft", inv=True),
        "rt-len": Opt("len", inv=True),
    }

    def parse(
        self, st: _RtState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "segsleft":
            st.segsleft, st.segsleft_inv = _v6_range(self, "rt-segsleft", arg), inv
        else:
            v = self.uint("rt-" + oid, arg, 0, 255 if oid == "type" else 0xFFFFFFFF)
            if oid == "type":
                st.rt_type, st.type_inv = v, inv
            else:
                st.length, st.len_inv = v, inv

    def final(self, st: _RtState, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        lst = " rt"
        if st.rt_type is not None:
            v, i = st.rt_type, st.type_inv
            s += f"{' !' if i else ''} --rt-type {v}"
            lst += f" type:{'!' if i else ''}{v}"
        if st.segsleft is not None:
            (a, b), i = st.segsleft, st.segsleft_inv
            if not (a == 0 and b == 0xFFFFFFFF):
                s += f"{' !' if i else ''} --rt-segsleft " + (str(a) if a == b else f"{a}:{b}")
            if a != 0 or b != 0xFFFFFFFF or i:
                x = "!" if i else ""
                lst += f" segsleft:{x}{a}" if a == b else f" segslefts:{x}{a}:{b}"
        if st.length is not None:
            v, i = st.length, st.len_inv
            s += f"{' !' if i else ''} --rt-len {v}"
            lst += f" length:{'!' if i else ''}{v}"
        return s, lst


@dataclass
class _HbhState:
    """hbh's and dst's state."""

    length: Optional[int] = None  # --hbh-len / --dst-len (None: not given)
    len_inv: bool = False
    # --hbh-opts / --dst-opts: "type[:len]", comma-separated, as printed (None: not given)
    options: Optional[str] = None


@register_match
class HbhMatch(Ext[_HbhState]):
    state = _HbhState
    name = "hbh"
    families = (6,)
    opts = {"hbh-len": Opt("len", inv=True), "hbh-opts": Opt("opts")}

    def parse(
        self, st: _HbhState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "len":
            st.length, st.len_inv = self.uint(f"{self.name}-len", arg), inv
            return
        items = []
        for part in arg.split(","):
            t, sep, ln = part.partition(":")
            tv = strtoui(t, 0, 255)
            lv = strtoui(ln, 0, 255) if sep else None
            if tv is None or (sep and lv is None):
                raise ParameterProblem(f"{self.name}: bad option `{part}'")
            items.append(f"{tv}" + (f":{lv}" if lv is not None else ""))
        st.options = ",".join(items)

    def final(self, st: _HbhState, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        lst = f" {self.name}"
        if st.length is not None:
            v, i = st.length, st.len_inv
            s += f"{' !' if i else ''} --{self.name}-len {v}"
            lst += f" length:{'!' if i else ''}{v}"
        if st.options is not None:
            s += f" --{self.name}-opts {st.options}"
            lst += f" opts {st.options}"
        return s, lst


@register_match
class DstMatch(HbhMatch):
    name = "dst"
    opts = {"dst-len": Opt("len", inv=True), "dst-opts": Opt("opts")}


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


@dataclass
class _MhState:
    # --mh-type lo:hi, by default every type
    type_lo: int = 0
    type_hi: int = 0xFF
    inv: bool = False


@register_match
class MhMatch(Ext[_MhState]):
    state = _MhState
    name = "mh"
    families = (6,)
    opts = {"mh-type": Opt("type", inv=True)}

    def parse(
        self, st: _MhState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        lo, sep, hi = arg.partition(":")
        a = _mh_type(lo) if lo else 0
        b = (_mh_type(hi) if hi else 0xFF) if sep else a
        if a is None or b is None:
            raise ParameterProblem(f"Invalid MH type `{arg}'")
        st.type_lo, st.type_hi, st.inv = a, b, inv

    def final(self, st: _MhState, rb: RuleBuild) -> Tuple[str, str]:
        a, b, inv = st.type_lo, st.type_hi, st.inv
        s = ""
        lst = " mh"
        if not (a == 0 and b == 0xFF):
            txt = str(a) if a == b else f"{a}:{b}"
            s = f"{' !' if inv else ''} --mh-type {txt}"
            lst += f" {'!' if inv else ''}{txt}"
        return s, lst

    def restrict(self, st: _MhState, rb: RuleBuild) -> Restriction:
        return None, None, _refuse_proto(rb, 135)
