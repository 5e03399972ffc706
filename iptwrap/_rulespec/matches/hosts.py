"""Where a packet comes from and goes to: addrtype, iprange, length, physdev, set, pkttype, mac, socket and rpfilter."""

from __future__ import annotations

from typing import List, Tuple

from ..errors import ParameterProblem
from ..ext import (
    ALL_HOOKS,
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
    ipv4_to_str,
    ipv6_to_str,
    parse_iface,
    parse_ipv4,
    parse_ipv6,
    strtoui,
)
from ._common import _ports_txt

__all__: List[str] = []


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
class AddrtypeMatch(Ext[St]):
    state = St
    name = "addrtype"
    opts = {
        "src-type": Opt("src", inv=True),
        "dst-type": Opt("dst", inv=True),
        "limit-iface-in": Opt("in", arg=False),
        "limit-iface-out": Opt("out", arg=False),
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


# ---------------------------------------------------------------- iprange / length


@register_match
class IprangeMatch(Ext[St]):
    state = St
    name = "iprange"
    opts = {"src-range": Opt("src", inv=True), "dst-range": Opt("dst", inv=True)}

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
class LengthMatch(Ext[St]):
    state = St
    name = "length"
    opts = {"length": Opt("length", inv=True)}

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
class PhysdevMatch(Ext[St]):
    state = St
    name = "physdev"
    opts = {
        "physdev-in": Opt("in", inv=True),
        "physdev-out": Opt("out", inv=True),
        "physdev-is-in": Opt("isin", arg=False, inv=True),
        "physdev-is-out": Opt("isout", arg=False, inv=True),
        "physdev-is-bridged": Opt("bridged", arg=False, inv=True),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid in ("in", "out"):
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


# ---------------------------------------------------------------- set


@register_match
class SetMatch(Ext[St]):
    state = St
    name = "set"
    opts = {
        "match-set": Opt("set", inv=True),
        "set": Opt("set", inv=True),
        "return-nomatch": Opt("nomatch", arg=False),
        "update-counters": Opt("upc", arg=False),
        "update-subcounters": Opt("upsc", arg=False),
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


# ---------------------------------------------------------------- pkttype / connlimit / string / mac

_PKTTYPES = ("unicast", "broadcast", "multicast", "host", "otherhost")


@register_match
class PkttypeMatch(Ext[St]):
    state = St
    name = "pkttype"
    opts = {"pkt-type": Opt("t", inv=True)}

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
class MacMatch(Ext[St]):
    state = St
    name = "mac"
    opts = {"mac-source": Opt("src", inv=True)}

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

    only_hooks = hooks("PREROUTING", "INPUT", "FORWARD")


@register_match
class SocketMatch(Ext[St]):
    state = St
    name = "socket"
    opts = {
        "transparent": Opt("transparent", arg=False),
        "nowildcard": Opt("nowildcard", arg=False),
        "restore-skmark": Opt("restore-skmark", arg=False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st[oid] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = "".join(f" --{k}" for k in ("transparent", "nowildcard", "restore-skmark") if k in st)
        return s, " socket" + s

    only_hooks = hooks("PREROUTING", "INPUT")


@register_match
class RpfilterMatch(Ext[St]):
    state = St
    name = "rpfilter"
    opts = {
        "loose": Opt("loose", arg=False),
        "validmark": Opt("validmark", arg=False),
        "accept-local": Opt("accept-local", arg=False),
        "invert": Opt("invert", arg=False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st[oid] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        ks = [k for k in ("loose", "validmark", "accept-local", "invert") if k in st]
        return "".join(f" --{k}" for k in ks), " rpfilter" + "".join(f" {k}" for k in ks)

    only_hooks = hooks("PREROUTING")
    only_tables = frozenset({"raw", "mangle"})
