"""comment, owner, string, cgroup, time, u32 and policy."""

from __future__ import annotations

import calendar
import grp
import pwd
import time
from typing import Any, Dict, List, Optional, Tuple

from ..errors import ParameterProblem
from ..ext import (
    NO_RESTRICTION,
    Cursor,
    Ext,
    Opt,
    Restriction,
    RuleBuild,
    St,
    hooks,
    register_match,
)
from ..release import release_of
from ..values import (
    _c_strtoumax,
    format_addr,
    mask_to_cidr,
    parse_addresses,
    parse_protocol,
    proto_save_name,
    save_string,
    strtoui,
)

__all__: List[str] = []


# ---------------------------------------------------------------- comment


@register_match
class CommentMatch(Ext[St]):
    state = St
    name = "comment"
    opts = {"comment": Opt("comment")}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        b = arg.encode("utf-8", "surrogateescape")
        if len(b) > 255:
            arg = b[:255].decode("utf-8", "ignore")
        st["c"] = arg

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "c" not in st:
            raise self.mand("comment")
        return " --comment" + save_string(st["c"]), f" /* {st['c']} */"


# ---------------------------------------------------------------- owner


def _id_range(ext: Ext[Any], opt: str, arg: str, by_name: Any) -> Tuple[int, int]:
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
class OwnerMatch(Ext[St]):
    state = St
    name = "owner"
    opts = {
        "uid-owner": Opt("uid", inv=True),
        "gid-owner": Opt("gid", inv=True),
        "socket-exists": Opt("socket", arg=False, inv=True),
        "suppl-groups": Opt("suppl", arg=False),
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

    only_hooks = hooks("OUTPUT", "POSTROUTING")


@register_match
class StringMatch(Ext[St]):
    state = St
    name = "string"

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        if st.get("algo") not in ("bm", "kmp"):
            return None, None, "No such file or directory"
        return NO_RESTRICTION

    opts = {
        "string": Opt("string", inv=True),
        "hex-string": Opt("hex", inv=True),
        "algo": Opt("algo"),
        "from": Opt("from"),
        "to": Opt("to"),
        "icase": Opt("icase", arg=False),
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
class CgroupMatch(Ext[St]):
    state = St
    name = "cgroup"
    opts = {"cgroup": Opt("cgroup", inv=True), "path": Opt("path", inv=True)}

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
class TimeMatch(Ext[St]):
    state = St
    name = "time"
    opts = {
        "timestart": Opt("timestart"),
        "timestop": Opt("timestop"),
        "weekdays": Opt("weekdays", inv=True),
        "monthdays": Opt("monthdays", inv=True),
        "datestart": Opt("datestart"),
        "datestop": Opt("datestop"),
        "kerneltz": Opt("kerneltz", arg=False),
        "localtz": Opt("localtz", arg=False),
        "utc": Opt("utc", arg=False),
        "contiguous": Opt("contiguous", arg=False),
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


# ---------------------------------------------------------------- u32


def _u32_num(tok: str) -> int:
    v = strtoui(tok.strip(), 0, 0xFFFFFFFF)
    if v is None:
        raise ParameterProblem("u32: at char 0: expected number")
    return v


@register_match
class U32Match(Ext[St]):
    state = St
    name = "u32"
    opts = {"u32": Opt("u32", inv=True)}

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
class PolicyMatch(Ext[St]):
    state = St
    name = "policy"
    opts = {
        "dir": Opt("dir"),
        "pol": Opt("pol"),
        "strict": Opt("strict", arg=False),
        "reqid": Opt("reqid", inv=True),
        "spi": Opt("spi", inv=True),
        "tunnel-src": Opt("tunnel-src", inv=True),
        "tunnel-dst": Opt("tunnel-dst", inv=True),
        "proto": Opt("proto", inv=True),
        "mode": Opt("mode", inv=True),
        "next": Opt("next", arg=False),
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
