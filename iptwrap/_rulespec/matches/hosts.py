"""Where a packet comes from and goes to: addrtype, iprange, length, physdev, set, pkttype, mac, socket and rpfilter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from ..errors import ParameterProblem
from ..ext import (
    ALL_HOOKS,
    NO_RESTRICTION,
    Cursor,
    Ext,
    Opt,
    Restriction,
    RuleBuild,
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

__all__ = ["lookup_set", "parse_set_dirs"]


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


@dataclass
class _AddrtypeState:
    # the types of --src-type / --dst-type, comma-separated in _RTN order (None: not given)
    src_types: Optional[str] = None
    src_inv: bool = False
    dst_types: Optional[str] = None
    dst_inv: bool = False
    limit_in: bool = False  # --limit-iface-in
    limit_out: bool = False  # --limit-iface-out


@register_match
class AddrtypeMatch(Ext[_AddrtypeState]):
    state = _AddrtypeState
    name = "addrtype"
    opts = {
        "src-type": Opt("src", inv=True),
        "dst-type": Opt("dst", inv=True),
        "limit-iface-in": Opt("in", arg=False),
        "limit-iface-out": Opt("out", arg=False),
    }

    def parse(
        self, st: _AddrtypeState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid in ("src", "dst"):
            bits = 0
            for part in arg.split(","):
                u = part.upper()
                if u not in _RTN:
                    raise ParameterProblem(f'addrtype: bad type "{part}"')
                bits |= 1 << _RTN.index(u)
            types = ",".join(n for i, n in enumerate(_RTN) if bits & (1 << i))
            if oid == "src":
                st.src_types, st.src_inv = types, inv
            else:
                st.dst_types, st.dst_inv = types, inv
        elif oid == "in":
            st.limit_in = True
        else:
            st.limit_out = True

    def final(self, st: _AddrtypeState, rb: RuleBuild) -> Tuple[str, str]:
        if st.src_types is None and st.dst_types is None:
            raise ParameterProblem("addrtype: you must specify --src-type or --dst-type")
        if st.limit_in and st.limit_out:
            raise ParameterProblem(
                "addrtype: you can't specify both --limit-iface-in and --limit-iface-out"
            )
        s = ""
        lst = " ADDRTYPE match"
        if st.src_types is not None:
            v, inv = st.src_types, st.src_inv
            s += f"{' !' if inv else ''} --src-type {v}"
            lst += f" src-type {'!' if inv else ''}{v}"
        if st.dst_types is not None:
            v, inv = st.dst_types, st.dst_inv
            s += f"{' !' if inv else ''} --dst-type {v}"
            lst += f" dst-type {'!' if inv else ''}{v}"
        if st.limit_in:
            s += " --limit-iface-in"
            lst += " limit-in"
        if st.limit_out:
            s += " --limit-iface-out"
            lst += " limit-out"
        return s, lst

    def restrict(self, st: _AddrtypeState, rb: RuleBuild) -> Restriction:
        if st.limit_in:
            return hooks("PREROUTING", "INPUT", "FORWARD"), None, None
        if st.limit_out:
            return hooks("OUTPUT", "POSTROUTING", "FORWARD"), None, None
        return NO_RESTRICTION


# ---------------------------------------------------------------- iprange / length


@dataclass
class _IprangeState:
    # each range as printed, "lo-hi" (None: not given)
    src_range: Optional[str] = None
    src_inv: bool = False
    dst_range: Optional[str] = None
    dst_inv: bool = False
    # the kernel's warnings about reversed ranges, told when the rule is complete
    warnings: List[str] = field(default_factory=list)


@register_match
class IprangeMatch(Ext[_IprangeState]):
    state = _IprangeState
    name = "iprange"
    opts = {"src-range": Opt("src", inv=True), "dst-range": Opt("dst", inv=True)}

    def parse(
        self, st: _IprangeState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        lo, sep, hi = arg.partition("-")
        conv = parse_ipv4 if rb.family == 4 else parse_ipv6
        fmt = ipv4_to_str if rb.family == 4 else ipv6_to_str
        a = conv(lo)
        b = conv(hi) if sep else a
        if a is None:
            raise self.bad(f"{oid}-range", lo)
        if b is None:
            raise self.bad(f"{oid}-range", hi)
        if oid == "src":
            st.src_range, st.src_inv = f"{fmt(a)}-{fmt(b)}", inv
        else:
            st.dst_range, st.dst_inv = f"{fmt(a)}-{fmt(b)}", inv
        if a > b:
            st.warnings.append(
                f"xt_iprange: range {fmt(a)}-{fmt(b)} is reversed and will never match"
            )

    def final(self, st: _IprangeState, rb: RuleBuild) -> Tuple[str, str]:
        if st.src_range is None and st.dst_range is None:
            raise ParameterProblem("iprange match: You must specify `--src-range' or `--dst-range'")
        rb.warnings.extend(st.warnings)
        s = lst = ""
        if st.src_range is not None:
            v, i = st.src_range, st.src_inv
            s += f"{' !' if i else ''} --src-range {v}"
            lst += f" source IP range {'! ' if i else ''}{v}"
        if st.dst_range is not None:
            v, i = st.dst_range, st.dst_inv
            s += f"{' !' if i else ''} --dst-range {v}"
            lst += f" destination IP range {'! ' if i else ''}{v}"
        return s, lst


@dataclass
class _LengthState:
    length: Optional[str] = None  # "lo:hi" or "n", as printed (None: not given)
    inv: bool = False


@register_match
class LengthMatch(Ext[_LengthState]):
    state = _LengthState
    name = "length"
    opts = {"length": Opt("length", inv=True)}

    def parse(
        self, st: _LengthState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        lo, sep, hi = arg.partition(":")
        a = strtoui(lo, 0, 65535) if lo else 0
        b = (strtoui(hi, 0, 65535) if hi else 65535) if sep else a
        if a is None or b is None:
            raise ParameterProblem(
                f'length: bad value for option "--length" near "{arg}", or out of range '
                "(0-65535).\n"
            )
        st.length = _ports_txt(a, b)
        st.inv = inv

    def final(self, st: _LengthState, rb: RuleBuild) -> Tuple[str, str]:
        if st.length is None:
            raise self.mand("length")
        i = st.inv
        return f"{' !' if i else ''} --length {st.length}", f" length {'!' if i else ''}{st.length}"


# ---------------------------------------------------------------- physdev


@dataclass
class _PhysdevState:
    in_iface: Optional[str] = None  # --physdev-in (None: not given)
    in_inv: bool = False
    out_iface: Optional[str] = None  # --physdev-out (None: not given)
    out_inv: bool = False
    is_in: bool = False  # --physdev-is-in given
    is_in_inv: bool = False
    is_out: bool = False  # --physdev-is-out given
    is_out_inv: bool = False
    is_bridged: bool = False  # --physdev-is-bridged given
    is_bridged_inv: bool = False


@register_match
class PhysdevMatch(Ext[_PhysdevState]):
    state = _PhysdevState
    name = "physdev"
    opts = {
        "physdev-in": Opt("in", inv=True),
        "physdev-out": Opt("out", inv=True),
        "physdev-is-in": Opt("isin", arg=False, inv=True),
        "physdev-is-out": Opt("isout", arg=False, inv=True),
        "physdev-is-bridged": Opt("bridged", arg=False, inv=True),
    }

    def parse(
        self, st: _PhysdevState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "in":
            st.in_iface, st.in_inv = parse_iface(arg, rb.warnings), inv
        elif oid == "out":
            st.out_iface, st.out_inv = parse_iface(arg, rb.warnings), inv
        elif oid == "isin":
            st.is_in, st.is_in_inv = True, inv
        elif oid == "isout":
            st.is_out, st.is_out_inv = True, inv
        else:
            st.is_bridged, st.is_bridged_inv = True, inv

    def final(self, st: _PhysdevState, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        # (given, its interface, inverted, option), in the order iptables prints them
        for given, v, i, opt in (
            (st.is_in, None, st.is_in_inv, "physdev-is-in"),
            (st.in_iface is not None, st.in_iface, st.in_inv, "physdev-in"),
            (st.is_out, None, st.is_out_inv, "physdev-is-out"),
            (st.out_iface is not None, st.out_iface, st.out_inv, "physdev-out"),
            (st.is_bridged, None, st.is_bridged_inv, "physdev-is-bridged"),
        ):
            if given:
                s += f"{' !' if i else ''} --{opt}" + (f" {v}" if v else "")
        if not s:
            raise ParameterProblem("PHYSDEV: no physdev option specified")
        return s, " PHYSDEV match" + s

    def restrict(self, st: _PhysdevState, rb: RuleBuild) -> Restriction:
        if (st.out_iface is not None or st.is_out) and (not st.is_bridged or st.is_bridged_inv):
            return ALL_HOOKS - {"OUTPUT"}, None, None
        return NO_RESTRICTION


# ---------------------------------------------------------------- set


IPSET_DIM_MAX = 6


def lookup_set(rb: RuleBuild, name: str) -> None:
    """libxt_set's get_set_byname: the set must exist and suit the rule's family."""
    if len(name) > 31:
        raise ParameterProblem(f"setname `{name}' too long, max 31 characters.")
    if not rb.ctx.set_exists(name):
        raise ParameterProblem(f"Set {name} doesn't exist.\n")
    family = rb.ctx.set_family(name)
    want = "inet6" if rb.family == 6 else "inet"
    if family is not None and family != want:
        shown = "IPv6" if family == "inet6" else "IPv4"
        raise ParameterProblem(
            f"The protocol family of set {name} is {shown}, which is not applicable.\n"
        )


def parse_set_dirs(text: str, fixed_spelling: bool = False) -> str:
    """libxt_set's parse_dirs: up to six words, each starting with ``src`` or ``dst``
    (only the first three letters are read); returned as iptables-save prints them."""
    words = text.split(",")
    dirs: List[str] = []
    for word in words[:IPSET_DIM_MAX]:
        if word.startswith("src"):
            dirs.append("src")
        elif word.startswith("dst"):
            dirs.append("dst")
        else:
            # "spefify" is iptables' own spelling until 1.8.11 fixed it (measured)
            word = "specify" if fixed_spelling else "spefify"
            raise ParameterProblem(f"You must {word} (the comma separated list of) 'src' or 'dst'.")
    if len(words) > IPSET_DIM_MAX:
        raise ParameterProblem(f"Can't be more src/dst options than {IPSET_DIM_MAX}.")
    return ",".join(dirs)


@dataclass
class _SetState:
    set_name: Optional[str] = None  # --match-set's set (None: not given)
    flags: str = ""  # its second argument, as iptables-save prints it ("src,dst")
    inv: bool = False
    nomatch: bool = False  # --return-nomatch


@register_match
class SetMatch(Ext[_SetState]):
    state = _SetState
    name = "set"
    reads_host = True
    opts = {
        "match-set": Opt("set", inv=True),
        "set": Opt("oldset", inv=True),  # libxt_set's old spelling: warns, then as above
        "return-nomatch": Opt("nomatch", arg=False),
        "update-counters": Opt("upc", arg=False),
        "update-subcounters": Opt("upsc", arg=False),
    }

    def parse(
        self, st: _SetState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "oldset":
            rb.warnings.append("--set option deprecated, please use --match-set")
            oid = "set"
        if oid == "set":
            if not cur.has_arg():
                raise ParameterProblem("--match-set requires two args.")
            flags = cur.take()
            lookup_set(rb, arg)
            fixed = release_of(rb.ctx.version).vt >= (1, 8, 11)
            st.set_name, st.flags, st.inv = arg, parse_set_dirs(flags, fixed), inv
        elif oid == "nomatch":
            st.nomatch = True
        else:
            opt = self.first_name(oid)
            raise ParameterProblem(f"fake: set option `--{opt}' is not emulated")

    def final(self, st: _SetState, rb: RuleBuild) -> Tuple[str, str]:
        if st.set_name is None:
            raise ParameterProblem("You must specify `--match-set' with proper arguments")
        n, f, i = st.set_name, st.flags, st.inv
        more = " --return-nomatch" if st.nomatch else ""
        return (
            f"{' !' if i else ''} --match-set {n} {f}{more}",
            f"{' !' if i else ''} match-set {n} {f}{more.replace('--', '')}",
        )


# ---------------------------------------------------------------- pkttype / connlimit / string / mac

_PKTTYPES = ("unicast", "broadcast", "multicast", "host", "otherhost")


@dataclass
class _PkttypeState:
    pkt_type: Optional[str] = None  # lower case, "host" read as "unicast" (None: not given)
    inv: bool = False


@register_match
class PkttypeMatch(Ext[_PkttypeState]):
    state = _PkttypeState
    name = "pkttype"
    opts = {"pkt-type": Opt("t", inv=True)}

    def parse(
        self, st: _PkttypeState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        a = arg.lower()
        if a not in _PKTTYPES:
            raise ParameterProblem(f"Bad packet type '{arg}'")
        st.pkt_type, st.inv = "unicast" if a == "host" else a, inv

    def final(self, st: _PkttypeState, rb: RuleBuild) -> Tuple[str, str]:
        if st.pkt_type is None:
            raise self.mand("pkt-type")
        t, i = st.pkt_type, st.inv
        return f"{' !' if i else ''} --pkt-type {t}", f" PKTTYPE {'!' if i else ''}= {t}"


@dataclass
class _MacState:
    mac: Optional[str] = None  # "xx:xx:xx:xx:xx:xx", lower case (None: not given)
    inv: bool = False


@register_match
class MacMatch(Ext[_MacState]):
    state = _MacState
    name = "mac"
    opts = {"mac-source": Opt("src", inv=True)}

    def parse(
        self, st: _MacState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        parts = arg.split(":")
        if len(parts) != 6 or any(
            not (1 <= len(p) <= 2) or any(c not in "0123456789abcdefABCDEF" for c in p)
            for p in parts
        ):
            raise ParameterProblem("Invalid MAC address specified.")
        st.mac, st.inv = ":".join(f"{int(p, 16):02x}" for p in parts), inv

    def final(self, st: _MacState, rb: RuleBuild) -> Tuple[str, str]:
        if st.mac is None:
            raise self.mand("mac-source")
        m, i = st.mac, st.inv
        sep = "" if release_of(rb.ctx.version).mac_list_no_space else " "
        return f"{' !' if i else ''} --mac-source {m}", f" MAC{' !' if i else ''}{sep}{m}"

    only_hooks = hooks("PREROUTING", "INPUT", "FORWARD")


@dataclass
class _SocketState:
    # each: its flag option (--transparent, --nowildcard, --restore-skmark) was given
    transparent: bool = False
    nowildcard: bool = False
    restore_skmark: bool = False


@register_match
class SocketMatch(Ext[_SocketState]):
    state = _SocketState
    name = "socket"
    opts = {
        "transparent": Opt("transparent", arg=False),
        "nowildcard": Opt("nowildcard", arg=False),
        "restore-skmark": Opt("restore-skmark", arg=False),
    }

    def parse(
        self, st: _SocketState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "transparent":
            st.transparent = True
        elif oid == "nowildcard":
            st.nowildcard = True
        else:
            st.restore_skmark = True

    def final(self, st: _SocketState, rb: RuleBuild) -> Tuple[str, str]:
        s = "".join(
            f" --{k}"
            for k, on in (
                ("transparent", st.transparent),
                ("nowildcard", st.nowildcard),
                ("restore-skmark", st.restore_skmark),
            )
            if on
        )
        return s, " socket" + s

    only_hooks = hooks("PREROUTING", "INPUT")


@dataclass
class _RpfilterState:
    # each: its flag option (--loose, --validmark, --accept-local, --invert) was given
    loose: bool = False
    validmark: bool = False
    accept_local: bool = False
    invert: bool = False


@register_match
class RpfilterMatch(Ext[_RpfilterState]):
    state = _RpfilterState
    name = "rpfilter"
    opts = {
        "loose": Opt("loose", arg=False),
        "validmark": Opt("validmark", arg=False),
        "accept-local": Opt("accept-local", arg=False),
        "invert": Opt("invert", arg=False),
    }

    def parse(
        self, st: _RpfilterState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "loose":
            st.loose = True
        elif oid == "validmark":
            st.validmark = True
        elif oid == "accept-local":
            st.accept_local = True
        else:
            st.invert = True

    def final(self, st: _RpfilterState, rb: RuleBuild) -> Tuple[str, str]:
        ks = [
            k
            for k, on in (
                ("loose", st.loose),
                ("validmark", st.validmark),
                ("accept-local", st.accept_local),
                ("invert", st.invert),
            )
            if on
        ]
        return "".join(f" --{k}" for k in ks), " rpfilter" + "".join(f" {k}" for k in ks)

    only_hooks = hooks("PREROUTING")
    only_tables = frozenset({"raw", "mangle"})
