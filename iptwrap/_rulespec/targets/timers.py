"""Timers and estimators: IDLETIMER and RATEEST.

Measured on 1.8.9 with kernel 6.18, both backends, both families. IDLETIMER (revision
1, with ``--alarm``) is accepted in every table and chain; the kernel refuses a
timeout of 0 or of ``INT_MAX / 1000`` seconds and more, and a label sysfs cannot
name. RATEEST turns its interval and averaging time into the kernel's exponents in
its final check (before the mandatory-option check), and prints them back as times.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..errors import ParameterProblem
from ..ext import Cursor, Ext, Opt, Restriction, RuleBuild, register_target

__all__: List[str] = []


# ---------------------------------------------------------------- IDLETIMER

_SYSFS_RESERVED = frozenset({"", ".", "..", "power", "subsystem", "uevent"})


@dataclass
class _IdletimerState:
    timeout: int = 0
    label: str = ""
    alarm: bool = False


@register_target
class IdletimerTarget(Ext[_IdletimerState]):
    state = _IdletimerState
    name = "IDLETIMER"
    is_target = True
    opts = {
        "timeout": Opt("timeout"),
        "label": Opt("label"),
        "alarm": Opt("alarm", arg=False),
    }
    mandatory = ("timeout", "label")

    def parse(
        self, st: _IdletimerState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "timeout":
            st.timeout = self.uint("timeout", arg)
        elif oid == "label":
            st.label = arg[:27]  # char label[28], cut by XTOPT_PUT
        else:
            st.alarm = True

    def final(self, st: _IdletimerState, rb: RuleBuild) -> Tuple[str, str]:
        alarm = (" --alarm", " alarm") if st.alarm else ("", "")
        return (
            f" --timeout {st.timeout} --label {st.label}{alarm[0]}",
            f" timeout:{st.timeout} label:{st.label}{alarm[1]}",
        )

    def restrict(self, st: _IdletimerState, rb: RuleBuild) -> Restriction:
        bad_timeout = st.timeout == 0 or st.timeout >= 0x7FFFFFFF // 1000
        if bad_timeout or st.label in _SYSFS_RESERVED or "/" in st.label:
            return None, None, "Invalid argument"
        return None, None, None


# ---------------------------------------------------------------- RATEEST

_TIME_UNITS_PER_SEC = 1000000
_STRTOD = re.compile(
    r"[ \t\n\v\f\r]*[+-]?(?:"
    r"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    r"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?"
    r"|[nN][aA][nN](?:\([0-9A-Za-z_]*\))?"
    r")"
)


def _strtod(s: str) -> Optional[Tuple[float, str]]:
    """C strtod: the longest number at the start of ``s`` and the rest, or None."""
    m = _STRTOD.match(s)
    if m is None:
        return None
    text = m.group(0).strip(" \t\n\v\f\r")
    body = text.lstrip("+-")
    sign = -1.0 if text.startswith("-") else 1.0
    if body[:2] in ("0x", "0X"):
        hexpart = body[2:]
        if "p" not in hexpart.lower():
            hexpart += "p0"
        v = float.fromhex("0x" + hexpart)
    elif body[:1] in "nN":
        v = math.nan
    else:
        v = float(body)
    return sign * v, s[m.end() :]


def _c_double_to_uint(t: float) -> int:
    """``unsigned int x = t`` as gcc compiles it on x86-64 (through a 64-bit integer)."""
    if not math.isfinite(t) or abs(t) >= 2.0**63:
        return 0
    return int(t) & 0xFFFFFFFF


def _get_time(s: str) -> Optional[int]:
    """RATEEST_get_time: a time in microseconds (a bare number is microseconds)."""
    r = _strtod(s)
    if r is None:
        return None
    t, rest = r
    if rest:
        unit = rest.lower()
        if unit in ("s", "sec", "secs"):
            t *= _TIME_UNITS_PER_SEC
        elif unit in ("ms", "msec", "msecs"):
            t *= _TIME_UNITS_PER_SEC // 1000
        elif unit in ("us", "usec", "usecs"):
            t *= _TIME_UNITS_PER_SEC // 1000000
        else:
            return None
    return _c_double_to_uint(t)


def _print_time(t: int) -> str:
    if t >= _TIME_UNITS_PER_SEC:
        return f" {t / _TIME_UNITS_PER_SEC:.1f}s"
    if t >= _TIME_UNITS_PER_SEC // 1000:
        return f" {t / (_TIME_UNITS_PER_SEC // 1000):.1f}ms"
    return f" {t}us"


@dataclass
class _RateestState:
    name: str = ""
    interval_us: int = 0  # as given (the parser's udata)
    ewmalog_us: int = 0
    # what the kernel gets: the interval exponent (-2..3) and the ewma log (1..30)
    interval: int = 0
    ewma_log: int = 0


@register_target
class RateestTarget(Ext[_RateestState]):
    state = _RateestState
    name = "RATEEST"
    is_target = True
    opts = {
        "rateest-name": Opt("name"),
        "rateest-interval": Opt("interval"),
        "rateest-ewmalog": Opt("ewmalog"),
    }
    mandatory = ("name", "interval", "ewmalog")

    def parse(
        self, st: _RateestState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "name":
            st.name = arg[:15]  # char name[IFNAMSIZ], cut by XTOPT_PUT
            return
        v = _get_time(arg)
        if v is None:
            raise ParameterProblem(f'RATEEST: bad {oid} value "{arg}"')
        if oid == "interval":
            st.interval_us = v
        else:
            st.ewmalog_us = v

    def final(self, st: _RateestState, rb: RuleBuild) -> Tuple[str, str]:
        # RATEEST_final_check (x6_fcheck, run before the mandatory options' check)
        i = 0
        while i <= 5 and not st.interval_us <= (1 << i) * (_TIME_UNITS_PER_SEC // 4):
            i += 1
        if i > 5:
            raise ParameterProblem("RATEEST: interval value is too large")
        st.interval = i - 2
        e = 1
        while e < 32:
            w = 1.0 - 1.0 / (1 << e)
            if st.interval_us / (-math.log(w)) > st.ewmalog_us:
                break
            e += 1
        e -= 1
        if e == 0 or e >= 31:
            raise ParameterProblem("RATEEST: ewmalog value is out of range")
        st.ewma_log = e
        interval = (_TIME_UNITS_PER_SEC << (st.interval + 2)) // 4
        ewma = (interval * (1 << e)) & 0xFFFFFFFF
        times = (_print_time(interval), _print_time(ewma))
        return (
            f" --rateest-name {st.name} --rateest-interval{times[0]} --rateest-ewmalog{times[1]}",
            f" name {st.name} interval{times[0]} ewmalog{times[1]}",
        )
