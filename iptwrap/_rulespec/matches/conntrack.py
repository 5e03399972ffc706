"""Connection tracking: conntrack, state, connbytes, connlimit, helper and connlabel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

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
    _c_strtoumax,
    format_addr,
    parse_addresses,
    parse_protocol,
    save_string,
    strtoui,
)

__all__: List[str] = []


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


@dataclass
class _ConntrackState:
    # option id -> (its value as iptables-save prints it, inverted), for each option given
    given: Dict[str, Tuple[str, bool]] = field(default_factory=dict)


@register_match
class ConntrackMatch(Ext[_ConntrackState]):
    state = _ConntrackState
    name = "conntrack"
    opts = {
        "ctstate": Opt("ctstate", inv=True),
        "ctproto": Opt("ctproto", inv=True),
        "ctorigsrc": Opt("ctorigsrc", inv=True),
        "ctorigdst": Opt("ctorigdst", inv=True),
        "ctreplsrc": Opt("ctreplsrc", inv=True),
        "ctrepldst": Opt("ctrepldst", inv=True),
        "ctorigsrcport": Opt("ctorigsrcport", inv=True),
        "ctorigdstport": Opt("ctorigdstport", inv=True),
        "ctreplsrcport": Opt("ctreplsrcport", inv=True),
        "ctrepldstport": Opt("ctrepldstport", inv=True),
        "ctstatus": Opt("ctstatus", inv=True),
        "ctexpire": Opt("ctexpire", inv=True),
        "ctdir": Opt("ctdir"),
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

    def parse(
        self, st: _ConntrackState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "ctstate":
            v: str = _state_txt(_states(arg, _CTSTATES, "ctstate"), _CTSTATES)
        elif oid == "ctstatus":
            v = _state_txt(_states(arg, _CTSTATUS, "ctstatus"), _CTSTATUS)
        elif oid == "ctproto":
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
        st.given[oid] = (v, inv)

    def final(self, st: _ConntrackState, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        lst = ""
        for k in self._ORDER:
            if k not in st.given:
                continue
            v, inv = st.given[k]
            s += f"{' !' if inv else ''} --{k} {v}"
            lst += f"{' !' if inv else ''} {k} {v}"
        if not s:
            raise ParameterProblem("conntrack: At least one option is required")
        return s, lst


@dataclass
class _StateMatchState:
    states: Optional[str] = None  # the states as printed ("NEW,ESTABLISHED"); None: not given
    inv: bool = False


@register_match
class StateMatch(Ext[_StateMatchState]):
    state = _StateMatchState
    name = "state"
    opts = {"state": Opt("state", inv=True)}
    _ST = (("INVALID", 1), ("NEW", 2), ("RELATED", 4), ("ESTABLISHED", 8), ("UNTRACKED", 16))

    def parse(
        self, st: _StateMatchState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.states = _state_txt(_states(arg, self._ST, "state"), self._ST)
        st.inv = inv

    def final(self, st: _StateMatchState, rb: RuleBuild) -> Tuple[str, str]:
        if st.states is None:
            raise self.mand("state")
        i = st.inv
        return f"{' !' if i else ''} --state {st.states}", f"{' !' if i else ''} state {st.states}"


# ---------------------------------------------------------------- connbytes


@dataclass
class _ConnbytesState:
    # --connbytes from[:to], counted in the mode's unit; low None: --connbytes not given yet
    low: Optional[int] = None
    high: int = (1 << 64) - 1  # set together with low; the maximum when open-ended
    inv: bool = False
    direction: Optional[str] = None  # --connbytes-dir: original, reply or both
    mode: Optional[str] = None  # --connbytes-mode: packets, bytes or avgpkt


@register_match
class ConnbytesMatch(Ext[_ConnbytesState]):
    state = _ConnbytesState
    name = "connbytes"
    opts = {
        "connbytes": Opt("connbytes", inv=True),
        "connbytes-dir": Opt("dir"),
        "connbytes-mode": Opt("mode"),
    }

    def parse(
        self, st: _ConnbytesState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "connbytes":
            lo, sep, hi = arg.partition(":")
            a = strtoui(lo, 0, (1 << 64) - 1) if lo else 0
            b = (strtoui(hi, 0, (1 << 64) - 1) if hi else (1 << 64) - 1) if sep else (1 << 64) - 1
            if a is None or b is None:
                raise ParameterProblem(
                    'connbytes: bad value for option "--connbytes", or out of range.\n'
                )
            st.low, st.high, st.inv = a, b, inv
        elif oid == "dir":
            if arg not in ("original", "reply", "both"):
                raise ParameterProblem(f"Unknown --connbytes-dir `{arg}'")
            st.direction = arg
        else:
            if arg not in ("packets", "bytes", "avgpkt"):
                raise ParameterProblem(f"Unknown --connbytes-mode `{arg}'")
            st.mode = arg

    def final(self, st: _ConnbytesState, rb: RuleBuild) -> Tuple[str, str]:
        if st.low is None:
            raise self.mand("connbytes")
        if st.direction is None:
            raise self.mand("connbytes-dir")
        if st.mode is None:
            raise self.mand("connbytes-mode")
        a, b, inv = st.low, st.high, st.inv
        ft = f"{'! ' if inv else ''}%s{a}" + (f":{b}" if b != (1 << 64) - 1 else "")
        s = (
            " "
            + (ft % "--connbytes ")
            + f" --connbytes-mode {st.mode} --connbytes-dir {st.direction}"
        )
        lst = (
            " "
            + (ft % "connbytes ")
            + f" connbytes mode {st.mode} connbytes direction {st.direction}"
        )
        return s, lst


@dataclass
class _ConnlimitState:
    limit: Optional[int] = None  # None: neither --connlimit-upto nor --connlimit-above given
    # set together with limit: match above it (--connlimit-above; "! --connlimit-above" is upto)
    above: bool = False
    mask: int = 32  # --connlimit-mask; init sets the family's full prefix length as default
    side: str = "saddr"  # "saddr" or "daddr": which address the connections are grouped by


@register_match
class ConnlimitMatch(Ext[_ConnlimitState]):
    state = _ConnlimitState
    name = "connlimit"
    opts = {
        "connlimit-upto": Opt("upto", inv=True),
        "connlimit-above": Opt("above", inv=True),
        "connlimit-mask": Opt("mask"),
        "connlimit-saddr": Opt("saddr", arg=False),
        "connlimit-daddr": Opt("daddr", arg=False),
    }

    def init(self, st: _ConnlimitState, rb: RuleBuild) -> None:
        st.mask = 32 if rb.family == 4 else 128

    def parse(
        self, st: _ConnlimitState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid in ("upto", "above"):
            if st.limit is not None:
                raise ParameterProblem(
                    'connlimit: option "--connlimit-above" cannot be used together with "--connlimit-upto".\n'
                )
            st.limit = self.uint("connlimit-" + oid, arg)
            st.above = (oid == "above") != inv
        elif oid == "mask":
            st.mask = self.uint("connlimit-mask", arg, 0, 255)
        else:
            st.side = oid

    def final(self, st: _ConnlimitState, rb: RuleBuild) -> Tuple[str, str]:
        if st.limit is None:
            raise ParameterProblem('You must specify "--connlimit-above" or "--connlimit-upto".')
        v, above = st.limit, st.above
        mask = st.mask
        side = st.side
        s = f" --connlimit-{'above' if above else 'upto'} {v} --connlimit-mask {mask} --connlimit-{side}"
        lst = f" #conn {'src' if side == 'saddr' else 'dst'}/{mask} {'>' if above else '<='} {v}"
        return s, lst


# ---------------------------------------------------------------- helper / quota / cgroup / socket / rpfilter


@dataclass
class _HelperState:
    helper: Optional[str] = None  # the helper's name, cut to 29 characters; None: not given
    inv: bool = False


@register_match
class HelperMatch(Ext[_HelperState]):
    state = _HelperState
    name = "helper"
    opts = {"helper": Opt("helper", inv=True)}

    def parse(
        self, st: _HelperState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.helper = arg[:29]
        st.inv = inv

    def final(self, st: _HelperState, rb: RuleBuild) -> Tuple[str, str]:
        if st.helper is None:
            raise self.mand("helper")
        h, i = st.helper, st.inv
        return f"{' !' if i else ''} --helper" + save_string(
            h
        ), f' helper match {"! " if i else ""}"{h}"'


# ---------------------------------------------------------------- connlabel

# libnetfilter_conntrack's label map; Debian 12 ships none, so only numbers name labels
# (a name is looked up, and refused, after iptables warns that it cannot open it)
CONNLABEL_CONF = "/etc/xtables/connlabel.conf"


@dataclass
class _ConnlabelState:
    bit: int = 0  # --label: the label's bit (a u16; the kernel takes 0-127)
    inv: bool = False
    set_label: bool = False  # --set


@register_match
class ConnlabelMatch(Ext[_ConnlabelState]):
    state = _ConnlabelState
    name = "connlabel"
    opts = {"label": Opt("label", inv=True), "set": Opt("set", arg=False)}
    mandatory = ("label",)

    def parse(
        self, st: _ConnlabelState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "set":
            st.set_label = True
            return
        if arg == "":
            raise ParameterProblem("Argument must have a minimum length of 1 characters\n")
        # connlabel_value_parse: strtoul(arg, &end, 0) as a C int, the whole string
        v, rest = _c_strtoumax(arg)
        as_int = -1
        if v is not None and not rest and v <= 0xFFFFFFFFFFFFFFFF:
            low = v & 0xFFFFFFFF
            as_int = low - (1 << 32) if low & 0x80000000 else low
        if as_int < 0:
            rb.warnings.append(f"Warning: cannot open {CONNLABEL_CONF}: No such file or directory")
            raise ParameterProblem(f"label '{arg}' not found or invalid value")
        st.bit, st.inv = as_int & 0xFFFF, inv

    def final(self, st: _ConnlabelState, rb: RuleBuild) -> Tuple[str, str]:
        i = st.inv
        s = f'{" !" if i else ""} --label "{st.bit}"'
        lst = f" connlabel{' !' if i else ''} {st.bit}"
        if st.set_label:
            s += " --set"
            lst += " set"
        return s, lst

    def restrict(self, st: _ConnlabelState, rb: RuleBuild) -> Restriction:
        """connlabel_mt_check: a bit past XT_CONNLABEL_MAXBIT is ERANGE."""
        return None, None, ("Numerical result out of range" if st.bit > 127 else None)
