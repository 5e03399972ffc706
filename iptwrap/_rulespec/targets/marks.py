"""Packet fields: MARK, CONNMARK, TCPMSS, TTL, HL, TOS, DSCP, TPROXY, CHECKSUM, CLASSIFY and HMARK."""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

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
    register_target,
)
from ..matches.marks import parse_dscp, parse_markmask, parse_tos
from ..values import (
    ipv4_to_str,
    ipv6_to_str,
    parse_ipv4,
    parse_ipv6,
    parse_port,
    strtoui,
)

__all__: List[str] = []


# ---------------------------------------------------------------- MARK / CONNMARK


def _mark_print(prefix: str, v: int, m: int) -> str:
    if v == 0:
        return f" {prefix} and 0x{(~m) & 0xFFFFFFFF:x}"
    if v == m:
        return f" {prefix} or 0x{v:x}"
    if m == 0:
        return f" {prefix} xor 0x{v:x}"
    if m == 0xFFFFFFFF:
        return f" {prefix} set 0x{v:x}"
    return f" {prefix} xset 0x{v:x}/0x{m:x}"


def _u32(ext: Ext[Any], opt: str, arg: str) -> int:
    v = strtoui(arg)
    if v is None:
        raise ParameterProblem(
            f'{ext.name}: bad integer value for option "--{opt}", or out of range.\n'
        )
    return v


def _mark_operation(ext: Ext[Any], oid: str, arg: str) -> Tuple[int, int]:
    """MARK/CONNMARK ``--{set,and,or,xor}-mark`` and ``--set-xmark`` as (value, mask),
    the pair the kernel stores and iptables-save prints as ``--set-xmark v/m``."""
    if oid == "set-mark":
        v, m = parse_markmask(ext.name, oid, arg)
        return (v, v | m)
    if oid == "set-xmark":
        return parse_markmask(ext.name, oid, arg)
    if oid == "and-mark":
        return (0, (~_u32(ext, oid, arg)) & 0xFFFFFFFF)
    if oid == "or-mark":
        v = _u32(ext, oid, arg)
        return (v, v)
    return (_u32(ext, oid, arg), 0)


@register_target
class MarkTarget(Ext[St]):
    state = St
    name = "MARK"
    excl = {
        k: tuple(o for o in ("set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark") if o != k)
        for k in ("set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark")
    }
    is_target = True
    opts = {
        "set-mark": Opt("set-mark"),
        "set-xmark": Opt("set-xmark"),
        "and-mark": Opt("and-mark"),
        "or-mark": Opt("or-mark"),
        "xor-mark": Opt("xor-mark"),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st["vm"] = _mark_operation(self, oid, arg)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "vm" not in st:
            raise ParameterProblem(
                "MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required"
            )
        v, m = st["vm"]
        return f" --set-xmark 0x{v:x}/0x{m:x}", _mark_print("MARK", v, m)


@register_target
class ConnmarkTarget(Ext[St]):
    state = St
    name = "CONNMARK"
    excl = {
        k: tuple(
            o
            for o in ("set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark", "save", "restore")
            if o != k
        )
        for k in ("set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark", "save", "restore")
    }
    is_target = True
    opts = {
        "set-mark": Opt("set-mark"),
        "set-xmark": Opt("set-xmark"),
        "and-mark": Opt("and-mark"),
        "or-mark": Opt("or-mark"),
        "xor-mark": Opt("xor-mark"),
        "save-mark": Opt("save", arg=False),
        "restore-mark": Opt("restore", arg=False),
        "mask": Opt("mask"),
        "nfmask": Opt("nfmask"),
        "ctmask": Opt("ctmask"),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid in ("mask", "nfmask", "ctmask"):
            v = _u32(self, oid, arg)
            if oid in ("mask", "nfmask"):
                st["nfmask"] = v
            if oid in ("mask", "ctmask"):
                st["ctmask"] = v
            return
        if oid in ("save", "restore"):
            st["mode"] = oid
            return
        st["mode"] = "set"
        st["vm"] = _mark_operation(self, oid, arg)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        mode = st.get("mode")
        if mode is None:
            raise ParameterProblem("CONNMARK target: No operation specified")
        if mode == "set":
            v, m = st["vm"]
            return f" --set-xmark 0x{v:x}/0x{m:x}", _mark_print("CONNMARK", v, m)
        nf = st.get("nfmask", 0xFFFFFFFF)
        ct = st.get("ctmask", 0xFFFFFFFF)
        s = f" --{mode}-mark --nfmask 0x{nf:x} --ctmask 0x{ct:x}"
        if nf == 0xFFFFFFFF and ct == 0xFFFFFFFF:
            lst = f" CONNMARK {mode}"
        elif nf == ct:
            lst = f" CONNMARK {mode} mask 0x{nf:x}"
        elif mode == "save":
            lst = f" CONNMARK save nfmask 0x{nf:x} ctmask ~0x{ct:x}"
        else:
            lst = f" CONNMARK restore ctmask 0x{ct:x} nfmask ~0x{nf:x}"
        return s, lst


# ---------------------------------------------------------------- TCPMSS / TTL / HL / TOS / DSCP


def _has_syn_match(rb: RuleBuild) -> bool:
    for m in rb.matches:
        if m.ext.name == "tcp":
            f = m.st.get("flags")
            if f is not None and f[1] & 0x02 and not m.st.get("finv"):
                return True
    return False


@register_target
class TcpmssTarget(Ext[St]):
    state = St
    name = "TCPMSS"
    is_target = True
    opts = {"set-mss": Opt("set"), "clamp-mss-to-pmtu": Opt("clamp", arg=False)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if "v" in st:
            st["both"] = True
        if oid == "set":
            hi = 65535 - (40 if rb.family == 4 else 60)
            st["v"] = self.uint("set-mss", arg, 0, hi)
        else:
            st["v"] = None

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "v" not in st:
            raise ParameterProblem("TCPMSS target: At least one parameter is required")
        if st["v"] is None:
            return " --clamp-mss-to-pmtu", " TCPMSS clamp to PMTU"
        return f" --set-mss {st['v']}", f" TCPMSS set {st['v']}"

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        refusal = None
        if rb.proto != 6 or rb.proto_inv or rb.backend == "legacy" and not _has_syn_match(rb):
            refusal = "Invalid argument"
        if st.get("v", 0) is None:
            return hooks("FORWARD", "OUTPUT", "POSTROUTING"), None, refusal
        return None, None, refusal


@register_target
class TtlTarget(Ext[St]):
    state = St
    name = "TTL"
    is_target = True
    families = (4,)
    opts = {
        "ttl-set": Opt("set"),
        "ttl-dec": Opt("dec"),
        "ttl-inc": Opt("inc"),
    }
    label = "TTL"

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if "op" in st:
            raise ParameterProblem(f"{self.name}: You must specify only one action")
        lo = 1 if oid != "set" else 0
        st["op"] = oid
        st["v"] = self.uint(f"{self.name.lower()}-{oid}", arg, lo, 255)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "op" not in st:
            raise ParameterProblem(f"{self.name}: You must specify an action")
        op, v = st["op"], st["v"]
        n = self.name.lower()
        word = {"set": "set to", "dec": "decrement by", "inc": "increment by"}[op]
        return f" --{n}-{op} {v}", f" {self.label} {word} {v}"

    only_tables = frozenset({"mangle"})


@register_target
class HlTarget(TtlTarget):
    name = "HL"
    families = (6,)
    opts = {
        "hl-set": Opt("set"),
        "hl-dec": Opt("dec"),
        "hl-inc": Opt("inc"),
    }
    label = "HL"


@register_target
class TosTarget(Ext[St]):
    state = St
    name = "TOS"
    is_target = True
    opts = {
        "set-tos": Opt("set"),
        "and-tos": Opt("and"),
        "or-tos": Opt("or"),
        "xor-tos": Opt("xor"),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if "vm" in st:
            raise ParameterProblem("TOS: Only one action may be specified")
        if oid == "set":
            st["vm"] = parse_tos(self, "set-tos", arg)
        else:
            v = self.uint(f"{oid}-tos", arg, 0, 255)
            st["vm"] = {"and": (0, (~v) & 0xFF), "or": (v, v), "xor": (v, 0)}[oid]

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "vm" not in st:
            raise ParameterProblem("TOS: An action is required")
        v, m = st["vm"]
        return f" --set-tos 0x{v:02x}/0x{m:02x}", f" TOS set 0x{v:02x}/0x{m:02x}"

    only_tables = frozenset({"mangle"})


@register_target
class DscpTarget(Ext[St]):
    state = St
    name = "DSCP"
    is_target = True
    opts = {
        "set-dscp": Opt("set-dscp"),
        "set-dscp-class": Opt("set-dscp-class"),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if "v" in st:
            raise ParameterProblem("DSCP target: Only use --set-dscp ONCE!")
        st["v"] = parse_dscp(self, oid, oid, arg)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "v" not in st:
            raise ParameterProblem("DSCP target: Parameter --set-dscp is required")
        return f" --set-dscp 0x{st['v']:02x}", f" DSCP set 0x{st['v']:02x}"

    only_tables = frozenset({"mangle"})


# ---------------------------------------------------------------- TPROXY / CHECKSUM / CLASSIFY / HMARK


@register_target
class TproxyTarget(Ext[St]):
    state = St
    name = "TPROXY"
    is_target = True
    opts = {
        "on-port": Opt("port"),
        "on-ip": Opt("ip"),
        "tproxy-mark": Opt("mark"),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "port":
            st["port"] = parse_port(arg, "tcp")
        elif oid == "ip":
            v = parse_ipv4(arg) if rb.family == 4 else parse_ipv6(arg)
            if v is None:
                raise ParameterProblem(f'Bad IP address "{arg}"')
            st["ip"] = v
        else:
            st["mark"] = parse_markmask(self.name, "tproxy-mark", arg)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "port" not in st:
            raise self.mand("on-port")
        ip = st.get("ip", 0)
        ips = ipv4_to_str(ip) if rb.family == 4 else ipv6_to_str(ip)
        v, m = st.get("mark", (0, 0))
        s = f" --on-port {st['port']} --on-ip {ips} --tproxy-mark 0x{v:x}/0x{m:x}"
        lst = f" TPROXY redirect {ips}:{st['port']} mark 0x{v:x}/0x{m:x}"
        return s, lst

    only_hooks = hooks("PREROUTING")
    only_tables = frozenset({"mangle"})

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        refusal = None if (rb.proto in (6, 17) and not rb.proto_inv) else "Invalid argument"
        return self.only_hooks, self.only_tables, refusal


@register_target
class ChecksumTarget(Ext[St]):
    state = St
    name = "CHECKSUM"
    is_target = True
    opts = {"checksum-fill": Opt("fill", arg=False)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st["fill"] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "fill" not in st:
            raise self.mand("checksum-fill")
        return " --checksum-fill", " CHECKSUM fill"

    only_tables = frozenset({"mangle"})


@register_target
class ClassifyTarget(Ext[St]):
    state = St
    name = "CLASSIFY"
    is_target = True
    opts = {"set-class": Opt("class")}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        a, sep, b = arg.partition(":")
        try:
            hi = int(a, 16) if sep else -1
            lo = int(b, 16) if sep else -1
        except ValueError:
            hi = lo = -1
        if not (0 <= hi <= 0xFFFF and 0 <= lo <= 0xFFFF):
            raise ParameterProblem(f'Bad class value "{arg}"')
        st["c"] = (hi, lo)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "c" not in st:
            raise self.mand("set-class")
        hi, lo = st["c"]
        return f" --set-class {hi:04x}:{lo:04x}", f" CLASSIFY set {hi:x}:{lo:x}"

    only_hooks = hooks("FORWARD", "OUTPUT", "POSTROUTING")


@register_target
class HmarkTarget(Ext[St]):
    state = St
    name = "HMARK"
    is_target = True
    opts = {
        "hmark-tuple": Opt("tuple"),
        "hmark-src-prefix": Opt("src-prefix"),
        "hmark-dst-prefix": Opt("dst-prefix"),
        "hmark-sport-mask": Opt("sport-mask"),
        "hmark-dport-mask": Opt("dport-mask"),
        "hmark-spi-mask": Opt("spi-mask"),
        "hmark-proto-mask": Opt("proto-mask"),
        "hmark-rnd": Opt("rnd"),
        "hmark-mod": Opt("mod"),
        "hmark-offset": Opt("offset"),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        full = 32 if rb.family == 4 else 128
        by_tuple = st.setdefault("by_tuple", set())
        if oid in by_tuple:
            raise ParameterProblem(f'HMARK: option "--hmark-{oid}" can only be used once.\n')
        if oid == "tuple":
            names = {
                "src": "src-prefix",
                "dst": "dst-prefix",
                "sport": "sport-mask",
                "dport": "dport-mask",
                "spi": "spi-mask",
            }
            by_tuple.update(names[t] for t in arg.split(",") if t in names)
            for t in arg.split(","):
                if t == "src":
                    st["src-prefix"] = full
                elif t == "dst":
                    st["dst-prefix"] = full
                elif t == "sport":
                    st["sport-mask"] = 0xFFFF
                elif t == "dport":
                    st["dport-mask"] = 0xFFFF
                elif t == "spi":
                    st["spi-mask"] = 0xFFFFFFFF
                elif t == "ct":
                    st["ct"] = True
                else:
                    raise ParameterProblem(f'Bad type "{t}"')
        elif oid in ("src-prefix", "dst-prefix"):
            st[oid] = self.uint("hmark-" + oid, arg, 0, full)
        elif oid == "mod":
            st["mod"] = self.uint("hmark-mod", arg, 1, 0xFFFFFFFF)
        else:
            st[oid] = self.uint("hmark-" + oid, arg)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "mod" not in st:
            raise ParameterProblem("--hmark-mod is mandatory")
        if "rnd" not in st:
            raise ParameterProblem("--hmark-rnd is mandatory")
        s = ""
        lst = " HMARK "
        if "mod" in st:
            lst += f"mod {st['mod']} "
        if "offset" in st:
            lst += f"+ 0x{st['offset']:x} "
        if st.get("ct"):
            lst += "ct, "
        for k in ("src-prefix", "dst-prefix"):
            if k in st:
                s += f" --hmark-{k} {st[k]}"
                lst += f"{k} {st[k]} "
        for k, w in (("sport-mask", 4), ("dport-mask", 4), ("spi-mask", 8), ("proto-mask", 2)):
            if k in st:
                s += f" --hmark-{k} 0x{st[k]:0{w}x}"
                lst += f"{k} 0x{st[k]:x} "
        if "rnd" in st:
            s += f" --hmark-rnd 0x{st['rnd']:08x}"
            lst += f"rnd 0x{st['rnd']:x} "
        s += f" --hmark-mod {st['mod']}"
        if "offset" in st:
            s += f" --hmark-offset {st['offset']}"
        if st.get("ct"):
            s += " --hmark-tuple ct"
        return s, lst


_ = (ALL_HOOKS, NO_RESTRICTION, Optional)
