"""Rates and counts: statistic, limit, hashlimit, recent and quota."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

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
from ..values import (
    ipv4_to_str,
    ipv6_to_str,
    parse_ipv4,
    parse_ipv6,
)

__all__: List[str] = []


# ---------------------------------------------------------------- statistic


@dataclass
class _StatisticState:
    mode: str = "random"
    prob: Optional[int] = None  # --probability in units of 2^-31
    every: Optional[int] = None  # --every n, stored as n - 1 (as the kernel has it)
    packet: Optional[int] = None
    inv: bool = False  # set by --probability and --every


@register_match
class StatisticMatch(Ext[_StatisticState]):
    state = _StatisticState
    name = "statistic"
    mandatory = ("mode",)
    also = {"every": ("packet",)}
    opts = {
        "mode": Opt("mode"),
        "probability": Opt("probability", inv=True),
        "every": Opt("every", inv=True),
        "packet": Opt("packet"),
    }

    def parse(
        self, st: _StatisticState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "mode":
            if arg not in ("random", "nth"):
                raise ParameterProblem(f'Bad mode "{arg}"')
            st.mode = arg
        elif oid == "probability":
            try:
                p = float(arg)
            except ValueError:
                p = -1.0
            if not 0.0 <= p <= 1.0:
                raise ParameterProblem(
                    'statistic: bad value for option "--probability", or out of range (0-1).\n'
                )
            st.prob = int(p * 0x80000000 + 0.5)
            st.inv = inv
        elif oid == "every":
            v = self.uint(oid, arg, 1, 0xFFFFFFFF)
            st.every = v - 1
            st.inv = inv
        else:
            st.packet = self.uint(oid, arg)

    def final(self, st: _StatisticState, rb: RuleBuild) -> Tuple[str, str]:
        mode = st.mode
        if mode == "random" and st.prob is None:
            raise ParameterProblem("--probability must be specified when using random mode")
        if st.prob is not None and mode != "random":
            raise ParameterProblem("--probability can only be used in random mode")
        if st.every is not None and mode != "nth":
            raise ParameterProblem("--every can only be used in nth mode")
        if st.packet is not None and mode != "nth":
            raise ParameterProblem("--packet can only be used in nth mode")
        inv = " !" if st.inv else ""
        if mode == "random":
            pr = f"{(0 if st.prob is None else st.prob) / 0x80000000:.11f}"
            return (
                f" --mode random{inv} --probability {pr}",
                f" statistic mode random{inv} probability {pr}",
            )
        every = 0 if st.every is None else st.every
        pkt = 0 if st.packet is None else st.packet
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


@dataclass
class _LimitState:
    avg: int = 10000 * 3600 // 3  # the period between packets in 1/10000 s: 3/hour
    burst: int = 5


@register_match
class LimitMatch(Ext[_LimitState]):
    state = _LimitState
    name = "limit"
    opts = {"limit": Opt("limit"), "limit-burst": Opt("burst")}

    def parse(
        self, st: _LimitState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "limit":
            v = _parse_rate(arg, 10000)
            if v is None or v > 0xFFFFFFFF:
                raise ParameterProblem(f'bad rate "{arg}"\'')
            st.avg = v
        else:
            st.burst = self.uint("limit-burst", arg, 0, 10000)

    def final(self, st: _LimitState, rb: RuleBuild) -> Tuple[str, str]:
        r = _print_rate(st.avg, 10000)
        s = f" --limit {r}"
        if st.burst != 5:
            s += f" --limit-burst {st.burst}"
        return s, f" limit: avg {r} burst {st.burst}"

    def restrict(self, st: _LimitState, rb: RuleBuild) -> Restriction:
        if rb.backend == "legacy":
            avg, burst = st.avg, st.burst
            if burst == 0 or ((avg * burst) & 0xFFFFFFFF) < avg:
                return None, None, "Numerical result out of range"
        return NO_RESTRICTION


@dataclass
class _HashlimitState:
    rate: Optional[int] = None  # the period between packets in 1/1000000 s
    above: bool = False  # --hashlimit-above (else --hashlimit-upto)
    burst: int = 5
    mode: List[str] = field(default_factory=list)  # in srcip, srcport, dstip, dstport order
    name: Optional[str] = None
    srcmask: Optional[int] = None
    dstmask: Optional[int] = None
    htable_size: Optional[int] = None
    htable_max: Optional[int] = None
    htable_gcinterval: Optional[int] = None
    htable_expire: Optional[int] = None


@register_match
class HashlimitMatch(Ext[_HashlimitState]):
    state = _HashlimitState
    name = "hashlimit"
    excl = {"upto": ("above",), "above": ("upto",)}
    opts = {
        "hashlimit-upto": Opt("upto"),
        "hashlimit-above": Opt("above"),
        "hashlimit-burst": Opt("burst"),
        "hashlimit-mode": Opt("mode"),
        "hashlimit-name": Opt("name"),
        "hashlimit-srcmask": Opt("srcmask"),
        "hashlimit-dstmask": Opt("dstmask"),
        "hashlimit-htable-size": Opt("size"),
        "hashlimit-htable-max": Opt("max"),
        "hashlimit-htable-gcinterval": Opt("gc"),
        "hashlimit-htable-expire": Opt("expire"),
    }
    _MODES = ("srcip", "srcport", "dstip", "dstport")

    def parse(
        self, st: _HashlimitState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid in ("upto", "above"):
            if "b" in arg.lower():
                raise ParameterProblem(f"fake: hashlimit byte rate `{arg}' is not emulated")
            v = _parse_rate(arg, 1000000)
            if v is None:
                raise ParameterProblem(f'bad rate "{arg}"\'')
            st.rate = v
            st.above = oid == "above"
        elif oid == "burst":
            st.burst = self.uint("hashlimit-burst", arg, 0, 0xFFFFFFFF)
        elif oid == "mode":
            bits = set()
            for part in arg.split(","):
                if part not in self._MODES:
                    raise self.bad("hashlimit-mode", arg)
                bits.add(part)
            st.mode = [m for m in self._MODES if m in bits]
        elif oid == "name":
            if len(arg) > 254 or not arg:
                raise ParameterProblem("hashlimit: name too long")
            st.name = arg
        elif oid in ("srcmask", "dstmask"):
            mask = self.uint("hashlimit-" + oid, arg, 0, 32 if rb.family == 4 else 128)
            if oid == "srcmask":
                st.srcmask = mask
            else:
                st.dstmask = mask
        else:
            v = self.uint(oid, arg)
            if oid == "size":
                st.htable_size = v
            elif oid == "max":
                st.htable_max = v
            elif oid == "gc":
                st.htable_gcinterval = v
            else:
                st.htable_expire = v

    def final(self, st: _HashlimitState, rb: RuleBuild) -> Tuple[str, str]:
        if st.rate is None:
            raise ParameterProblem("You have to specify --hashlimit")
        if st.name is None:
            raise self.mand("hashlimit-name")
        r = _print_rate(st.rate, 1000000)
        burst = st.burst
        above = st.above
        s = f" --hashlimit-{'above' if above else 'upto'} {r} --hashlimit-burst {burst}"
        lst = f" limit: {'above' if above else 'up to'} {r} burst {burst}"
        if st.mode:
            s += " --hashlimit-mode " + ",".join(st.mode)
            lst += " mode " + "-".join(st.mode)
        s += f" --hashlimit-name {st.name}"
        for v, opt, lab in (
            (st.htable_size, "htable-size", "htable-size"),
            (st.htable_max, "htable-max", "htable-max"),
            (st.htable_gcinterval, "htable-gcinterval", "htable-gcinterval"),
            (st.htable_expire, "htable-expire", "htable-expire"),
        ):
            if v is not None:
                s += f" --hashlimit-{opt} {v}"
                lst += f" {lab} {v}"
        full = 32 if rb.family == 4 else 128
        for mask, k in ((st.srcmask, "srcmask"), (st.dstmask, "dstmask")):
            if mask is not None and mask != full:
                s += f" --hashlimit-{k} {mask}"
                lst += f" {k} {mask}"
        return s, lst


# ---------------------------------------------------------------- recent


@dataclass
class _RecentState:
    cmd: Optional[str] = None  # set, rcheck, update or remove
    inv: bool = False  # the command's "!"
    seconds: int = 0  # 0: not given
    reap: bool = False
    hitcount: int = 0  # 0: not given
    rttl: bool = False
    name: str = "DEFAULT"
    mask: Optional[int] = None  # None: all ones for the family
    side: str = "rsource"  # rsource or rdest


@register_match
class RecentMatch(Ext[_RecentState]):
    state = _RecentState
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
        "set": Opt("set", arg=False, inv=True),
        "rcheck": Opt("rcheck", arg=False, inv=True),
        "update": Opt("update", arg=False, inv=True),
        "remove": Opt("remove", arg=False, inv=True),
        "seconds": Opt("seconds"),
        "reap": Opt("reap", arg=False),
        "hitcount": Opt("hitcount"),
        "rttl": Opt("rttl", arg=False),
        "name": Opt("name"),
        "rsource": Opt("rsource", arg=False),
        "rdest": Opt("rdest", arg=False),
        "mask": Opt("mask"),
    }

    def parse(
        self, st: _RecentState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid in ("set", "rcheck", "update", "remove"):
            st.cmd = oid
            st.inv = inv
        elif oid in ("seconds", "hitcount"):
            v = self.uint(oid, arg)
            if oid == "seconds":
                st.seconds = v
            else:
                st.hitcount = v
        elif oid == "name":
            st.name = arg
        elif oid == "mask":
            m = parse_ipv4(arg) if rb.family == 4 else parse_ipv6(arg)
            if m is None:
                raise ParameterProblem("getaddrinfo: Temporary failure in name resolution\n")
            st.mask = m
        elif oid in ("rsource", "rdest"):
            st.side = oid
        elif oid == "reap":
            st.reap = True
        else:
            st.rttl = True

    def final(self, st: _RecentState, rb: RuleBuild) -> Tuple[str, str]:
        if st.cmd is None:
            raise ParameterProblem(
                "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'"
            )
        inv = " !" if st.inv else ""
        cmd = st.cmd
        s = f"{inv} --{cmd}"
        lst = f"{inv} recent: {'SET' if cmd == 'set' else 'CHECK' if cmd == 'rcheck' else cmd.upper()}"
        if st.seconds:
            s += f" --seconds {st.seconds}"
            lst += f" seconds: {st.seconds}"
        if st.reap:
            s += " --reap"
            lst += " reap"
        if st.hitcount:
            s += f" --hitcount {st.hitcount}"
            lst += f" hit_count: {st.hitcount}"
        if st.rttl:
            s += " --rttl"
            lst += " TTL-Match"
        name = st.name
        s += f" --name {name}"
        lst += f" name: {name}"
        if rb.family == 4:
            mask = ipv4_to_str(0xFFFFFFFF if st.mask is None else st.mask)
        else:
            mask = ipv6_to_str((1 << 128) - 1 if st.mask is None else st.mask)
        side = st.side
        lst += " side: source" if side == "rsource" else " side: dest"
        lst += f" mask: {mask}"
        s += f" --mask {mask} --{side}"
        return s, lst


@dataclass
class _QuotaState:
    quota: Optional[int] = None  # bytes
    inv: bool = False


@register_match
class QuotaMatch(Ext[_QuotaState]):
    state = _QuotaState
    name = "quota"
    opts = {"quota": Opt("quota", inv=True)}

    def parse(
        self, st: _QuotaState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.quota = self.uint("quota", arg, 0, (1 << 64) - 1)
        st.inv = inv

    def final(self, st: _QuotaState, rb: RuleBuild) -> Tuple[str, str]:
        if st.quota is None:
            raise self.mand("quota")
        q, i = st.quota, st.inv
        return (
            f"{' !' if i else ''} --quota {q}",
            f" quota: {q} bytes",
        )
