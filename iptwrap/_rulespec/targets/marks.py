"""Packet fields: MARK, CONNMARK, TCPMSS, TTL, HL, TOS, DSCP, TPROXY, CHECKSUM, CLASSIFY and HMARK."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Set, Tuple

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
    register_target,
)
from ..matches.marks import parse_dscp, parse_markmask, parse_tos
from ..matches.ports import TcpState
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


@dataclass
class _MarkState:
    # the operation as the kernel stores it (--set-xmark value/mask); None: none given
    value: Optional[int] = None
    mask: int = 0


@register_target
class MarkTarget(Ext[_MarkState]):
    state = _MarkState
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

    def parse(
        self, st: _MarkState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.value, st.mask = _mark_operation(self, oid, arg)

    def final(self, st: _MarkState, rb: RuleBuild) -> Tuple[str, str]:
        if st.value is None:
            raise ParameterProblem(
                "MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required"
            )
        v, m = st.value, st.mask
        return f" --set-xmark 0x{v:x}/0x{m:x}", _mark_print("MARK", v, m)


@dataclass
class _ConnmarkState:
    mode: Optional[str] = None  # "set", "save" or "restore"; None: no operation given
    # mode "set": the operation as the kernel stores it (--set-xmark value/mask)
    value: int = 0
    mask: int = 0
    # modes "save" and "restore"
    nfmask: int = 0xFFFFFFFF
    ctmask: int = 0xFFFFFFFF


@register_target
class ConnmarkTarget(Ext[_ConnmarkState]):
    state = _ConnmarkState
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

    def parse(
        self, st: _ConnmarkState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid in ("mask", "nfmask", "ctmask"):
            v = _u32(self, oid, arg)
            if oid in ("mask", "nfmask"):
                st.nfmask = v
            if oid in ("mask", "ctmask"):
                st.ctmask = v
            return
        if oid in ("save", "restore"):
            st.mode = oid
            return
        st.mode = "set"
        st.value, st.mask = _mark_operation(self, oid, arg)

    def final(self, st: _ConnmarkState, rb: RuleBuild) -> Tuple[str, str]:
        mode = st.mode
        if mode is None:
            raise ParameterProblem("CONNMARK target: No operation specified")
        if mode == "set":
            v, m = st.value, st.mask
            return f" --set-xmark 0x{v:x}/0x{m:x}", _mark_print("CONNMARK", v, m)
        nf = st.nfmask
        ct = st.ctmask
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
    return any(isinstance(m.st, TcpState) and m.st.requires_syn() for m in rb.matches)


@dataclass
class _TcpmssState:
    # the last of --set-mss and --clamp-mss-to-pmtu given wins
    mss: Optional[int] = None  # --set-mss
    clamp: bool = False  # --clamp-mss-to-pmtu


@register_target
class TcpmssTarget(Ext[_TcpmssState]):
    state = _TcpmssState
    name = "TCPMSS"
    is_target = True
    opts = {"set-mss": Opt("set"), "clamp-mss-to-pmtu": Opt("clamp", arg=False)}

    def parse(
        self, st: _TcpmssState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "set":
            hi = 65535 - (40 if rb.family == 4 else 60)
            st.mss = self.uint("set-mss", arg, 0, hi)
            st.clamp = False
        else:
            st.mss = None
            st.clamp = True

    def final(self, st: _TcpmssState, rb: RuleBuild) -> Tuple[str, str]:
        if st.mss is None and not st.clamp:
            raise ParameterProblem("TCPMSS target: At least one parameter is required")
        if st.mss is None:
            return " --clamp-mss-to-pmtu", " TCPMSS clamp to PMTU"
        return f" --set-mss {st.mss}", f" TCPMSS set {st.mss}"

    def restrict(self, st: _TcpmssState, rb: RuleBuild) -> Restriction:
        refusal = None
        if rb.proto != 6 or rb.proto_inv or rb.backend == "legacy" and not _has_syn_match(rb):
            refusal = "Invalid argument"
        if st.clamp:
            return hooks("FORWARD", "OUTPUT", "POSTROUTING"), None, refusal
        return None, None, refusal


@dataclass
class _TtlState:
    op: Optional[str] = None  # "set", "dec" or "inc"; None: no action given
    value: int = 0


@register_target
class TtlTarget(Ext[_TtlState]):
    state = _TtlState
    name = "TTL"
    is_target = True
    families = (4,)
    opts = {
        "ttl-set": Opt("set"),
        "ttl-dec": Opt("dec"),
        "ttl-inc": Opt("inc"),
    }
    label = "TTL"

    def parse(
        self, st: _TtlState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if st.op is not None:
            raise ParameterProblem(f"{self.name}: You must specify only one action")
        lo = 1 if oid != "set" else 0
        st.op = oid
        st.value = self.uint(f"{self.name.lower()}-{oid}", arg, lo, 255)

    def final(self, st: _TtlState, rb: RuleBuild) -> Tuple[str, str]:
        if st.op is None:
            raise ParameterProblem(f"{self.name}: You must specify an action")
        op, v = st.op, st.value
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


@dataclass
class _TosState:
    # the action as the kernel stores it (--set-tos value/mask); None: none given
    value: Optional[int] = None
    mask: int = 0


@register_target
class TosTarget(Ext[_TosState]):
    state = _TosState
    name = "TOS"
    is_target = True
    opts = {
        "set-tos": Opt("set"),
        "and-tos": Opt("and"),
        "or-tos": Opt("or"),
        "xor-tos": Opt("xor"),
    }

    def parse(
        self, st: _TosState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if st.value is not None:
            raise ParameterProblem("TOS: Only one action may be specified")
        if oid == "set":
            st.value, st.mask = parse_tos(self, "set-tos", arg)
        else:
            v = self.uint(f"{oid}-tos", arg, 0, 255)
            st.value, st.mask = {"and": (0, (~v) & 0xFF), "or": (v, v), "xor": (v, 0)}[oid]

    def final(self, st: _TosState, rb: RuleBuild) -> Tuple[str, str]:
        if st.value is None:
            raise ParameterProblem("TOS: An action is required")
        v, m = st.value, st.mask
        return f" --set-tos 0x{v:02x}/0x{m:02x}", f" TOS set 0x{v:02x}/0x{m:02x}"

    only_tables = frozenset({"mangle"})


@dataclass
class _DscpState:
    dscp: Optional[int] = None


@register_target
class DscpTarget(Ext[_DscpState]):
    state = _DscpState
    name = "DSCP"
    is_target = True
    opts = {
        "set-dscp": Opt("set-dscp"),
        "set-dscp-class": Opt("set-dscp-class"),
    }

    def parse(
        self, st: _DscpState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if st.dscp is not None:
            raise ParameterProblem("DSCP target: Only use --set-dscp ONCE!")
        st.dscp = parse_dscp(self, oid, oid, arg)

    def final(self, st: _DscpState, rb: RuleBuild) -> Tuple[str, str]:
        if st.dscp is None:
            raise ParameterProblem("DSCP target: Parameter --set-dscp is required")
        return f" --set-dscp 0x{st.dscp:02x}", f" DSCP set 0x{st.dscp:02x}"

    only_tables = frozenset({"mangle"})


# ---------------------------------------------------------------- TPROXY / CHECKSUM / CLASSIFY / HMARK


@dataclass
class _TproxyState:
    port: Optional[int] = None
    ip: int = 0  # the address as a number (0: the incoming interface's)
    mark: int = 0  # --tproxy-mark value/mask
    mask: int = 0


@register_target
class TproxyTarget(Ext[_TproxyState]):
    state = _TproxyState
    name = "TPROXY"
    is_target = True
    opts = {
        "on-port": Opt("port"),
        "on-ip": Opt("ip"),
        "tproxy-mark": Opt("mark"),
    }

    def parse(
        self, st: _TproxyState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "port":
            st.port = parse_port(arg, "tcp")
        elif oid == "ip":
            v = parse_ipv4(arg) if rb.family == 4 else parse_ipv6(arg)
            if v is None:
                raise ParameterProblem(f'Bad IP address "{arg}"')
            st.ip = v
        else:
            st.mark, st.mask = parse_markmask(self.name, "tproxy-mark", arg)

    def final(self, st: _TproxyState, rb: RuleBuild) -> Tuple[str, str]:
        if st.port is None:
            raise self.mand("on-port")
        ip = st.ip
        ips = ipv4_to_str(ip) if rb.family == 4 else ipv6_to_str(ip)
        v, m = st.mark, st.mask
        s = f" --on-port {st.port} --on-ip {ips} --tproxy-mark 0x{v:x}/0x{m:x}"
        lst = f" TPROXY redirect {ips}:{st.port} mark 0x{v:x}/0x{m:x}"
        return s, lst

    only_hooks = hooks("PREROUTING")
    only_tables = frozenset({"mangle"})

    def restrict(self, st: _TproxyState, rb: RuleBuild) -> Restriction:
        refusal = None if (rb.proto in (6, 17) and not rb.proto_inv) else "Invalid argument"
        return self.only_hooks, self.only_tables, refusal


@dataclass
class _ChecksumState:
    fill: bool = False


@register_target
class ChecksumTarget(Ext[_ChecksumState]):
    state = _ChecksumState
    name = "CHECKSUM"
    is_target = True
    opts = {"checksum-fill": Opt("fill", arg=False)}

    def parse(
        self, st: _ChecksumState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.fill = True

    def final(self, st: _ChecksumState, rb: RuleBuild) -> Tuple[str, str]:
        if not st.fill:
            raise self.mand("checksum-fill")
        return " --checksum-fill", " CHECKSUM fill"

    only_tables = frozenset({"mangle"})


@dataclass
class _ClassifyState:
    # the class major:minor; None: no --set-class
    major: Optional[int] = None
    minor: int = 0


@register_target
class ClassifyTarget(Ext[_ClassifyState]):
    state = _ClassifyState
    name = "CLASSIFY"
    is_target = True
    opts = {"set-class": Opt("class")}

    def parse(
        self, st: _ClassifyState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        a, sep, b = arg.partition(":")
        try:
            hi = int(a, 16) if sep else -1
            lo = int(b, 16) if sep else -1
        except ValueError:
            hi = lo = -1
        if not (0 <= hi <= 0xFFFF and 0 <= lo <= 0xFFFF):
            raise ParameterProblem(f'Bad class value "{arg}"')
        st.major, st.minor = hi, lo

    def final(self, st: _ClassifyState, rb: RuleBuild) -> Tuple[str, str]:
        if st.major is None:
            raise self.mand("set-class")
        hi, lo = st.major, st.minor
        return f" --set-class {hi:04x}:{lo:04x}", f" CLASSIFY set {hi:x}:{lo:x}"

    only_hooks = hooks("FORWARD", "OUTPUT", "POSTROUTING")


@dataclass
class _HmarkState:
    src_prefix: Optional[int] = None
    dst_prefix: Optional[int] = None
    sport_mask: Optional[int] = None
    dport_mask: Optional[int] = None
    spi_mask: Optional[int] = None
    proto_mask: Optional[int] = None
    rnd: Optional[int] = None
    mod: Optional[int] = None
    offset: Optional[int] = None
    ct: bool = False  # --hmark-tuple ct
    # the option ids --hmark-tuple has set: each may then not be given on its own
    by_tuple: Set[str] = field(default_factory=set)


@register_target
class HmarkTarget(Ext[_HmarkState]):
    state = _HmarkState
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

    def parse(
        self, st: _HmarkState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        full = 32 if rb.family == 4 else 128
        by_tuple = st.by_tuple
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
                    st.src_prefix = full
                elif t == "dst":
                    st.dst_prefix = full
                elif t == "sport":
                    st.sport_mask = 0xFFFF
                elif t == "dport":
                    st.dport_mask = 0xFFFF
                elif t == "spi":
                    st.spi_mask = 0xFFFFFFFF
                elif t == "ct":
                    st.ct = True
                else:
                    raise ParameterProblem(f'Bad type "{t}"')
        elif oid == "src-prefix":
            st.src_prefix = self.uint("hmark-src-prefix", arg, 0, full)
        elif oid == "dst-prefix":
            st.dst_prefix = self.uint("hmark-dst-prefix", arg, 0, full)
        elif oid == "mod":
            st.mod = self.uint("hmark-mod", arg, 1, 0xFFFFFFFF)
        else:
            v = self.uint("hmark-" + oid, arg)
            if oid == "sport-mask":
                st.sport_mask = v
            elif oid == "dport-mask":
                st.dport_mask = v
            elif oid == "spi-mask":
                st.spi_mask = v
            elif oid == "proto-mask":
                st.proto_mask = v
            elif oid == "rnd":
                st.rnd = v
            else:
                st.offset = v

    def final(self, st: _HmarkState, rb: RuleBuild) -> Tuple[str, str]:
        if st.mod is None:
            raise ParameterProblem("--hmark-mod is mandatory")
        if st.rnd is None:
            raise ParameterProblem("--hmark-rnd is mandatory")
        s = ""
        lst = " HMARK "
        lst += f"mod {st.mod} "
        if st.offset is not None:
            lst += f"+ 0x{st.offset:x} "
        if st.ct:
            lst += "ct, "
        for k, p in (("src-prefix", st.src_prefix), ("dst-prefix", st.dst_prefix)):
            if p is not None:
                s += f" --hmark-{k} {p}"
                lst += f"{k} {p} "
        masks = (
            ("sport-mask", st.sport_mask, 4),
            ("dport-mask", st.dport_mask, 4),
            ("spi-mask", st.spi_mask, 8),
            ("proto-mask", st.proto_mask, 2),
        )
        for k, m, w in masks:
            if m is not None:
                s += f" --hmark-{k} 0x{m:0{w}x}"
                lst += f"{k} 0x{m:x} "
        s += f" --hmark-rnd 0x{st.rnd:08x}"
        lst += f"rnd 0x{st.rnd:x} "
        s += f" --hmark-mod {st.mod}"
        if st.offset is not None:
            s += f" --hmark-offset {st.offset}"
        if st.ct:
            s += " --hmark-tuple ct"
        return s, lst


_ = (ALL_HOOKS, NO_RESTRICTION, Optional)
