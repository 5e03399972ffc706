"""Logging and queueing: LOG, NFLOG, NFQUEUE; SYNPROXY and TEE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..errors import ParameterProblem
from ..ext import (
    Cursor,
    Ext,
    Opt,
    Restriction,
    RuleBuild,
    hooks,
    register_target,
)
from ..release import release_of
from ..values import (
    ipv4_to_str,
    ipv6_to_str,
    parse_ipv4,
    parse_ipv6,
    save_string,
    strtoui,
)

__all__: List[str] = []


# ---------------------------------------------------------------- LOG / NFLOG / NFQUEUE / AUDIT

_LOG_LEVELS = {
    "emerg": 0,
    "panic": 0,
    "alert": 1,
    "crit": 2,
    "err": 3,
    "error": 3,
    "warn": 4,
    "warning": 4,
    "notice": 5,
    "info": 6,
    "debug": 7,
}


@dataclass
class _LogState:
    level: int = 4  # syslog level (warning unless --log-level)
    prefix: str = ""
    flags: int = 0  # the kernel's logflags: the bits of _FLAGS given


@register_target
class LogTarget(Ext[_LogState]):
    state = _LogState
    name = "LOG"
    is_target = True
    opts = {
        "log-level": Opt("level"),
        "log-prefix": Opt("prefix"),
        "log-tcp-sequence": Opt("tcpseq", arg=False),
        "log-tcp-options": Opt("tcpopt", arg=False),
        "log-ip-options": Opt("ipopt", arg=False),
        "log-uid": Opt("uid", arg=False),
        "log-macdecode": Opt("macdecode", arg=False),
    }
    _FLAGS = (
        ("tcpseq", "log-tcp-sequence", 1),
        ("tcpopt", "log-tcp-options", 2),
        ("ipopt", "log-ip-options", 4),
        ("uid", "log-uid", 8),
        ("macdecode", "log-macdecode", 0x20),
    )
    _FLAG_BITS: Dict[str, int] = {k: bit for k, _opt, bit in _FLAGS}

    def parse(
        self, st: _LogState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "level":
            v = strtoui(arg, 0, 7)
            if v is None:
                v = _LOG_LEVELS.get(arg)
            if v is None:
                raise ParameterProblem(f'log level "{arg}" unknown\n')
            st.level = v
        elif oid == "prefix":
            if "\n" in arg:
                raise ParameterProblem("Newlines not allowed in --log-prefix")
            b = arg.encode("utf-8", "surrogateescape")
            st.prefix = b[:29].decode("utf-8", "ignore") if len(b) > 29 else arg
        else:
            st.flags |= self._FLAG_BITS[oid]

    def final(self, st: _LogState, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        prefix = st.prefix
        level = st.level
        if prefix:
            s += " --log-prefix" + save_string(prefix)
        if level != 4:
            s += f" --log-level {level}"
        flags = 0
        for _k, opt, bit in self._FLAGS:
            if st.flags & bit:
                s += f" --{opt}"
                flags |= bit
        lst = f" LOG flags {flags} level {level}"
        if prefix:
            lst += f' prefix "{prefix}"'
        return s, lst


@dataclass
class _NflogState:
    prefix: str = ""
    group: int = 0
    size: Optional[int] = None
    range_len: int = 0  # --nflog-range: deprecated, printed only when no --nflog-size
    threshold: int = 1


@register_target
class NflogTarget(Ext[_NflogState]):
    state = _NflogState
    name = "NFLOG"
    is_target = True
    opts = {
        "nflog-group": Opt("group"),
        "nflog-prefix": Opt("prefix"),
        "nflog-range": Opt("range"),
        "nflog-size": Opt("size"),
        "nflog-threshold": Opt("threshold"),
    }

    def parse(
        self, st: _NflogState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "prefix":
            if "\n" in arg:
                raise ParameterProblem("Newlines not allowed in --log-prefix")
            st.prefix = arg[:63]
        elif oid == "group":
            st.group = self.uint("nflog-group", arg, 0, 65535)
        elif oid == "range":
            rb.warnings.append(
                "warn: --nflog-range has never worked and is no longer supported, "
                "please use --nflog-size instead"
            )
            st.range_len = self.uint("nflog-range", arg)
        elif oid == "size":
            st.size = self.uint("nflog-size", arg)
        else:
            st.threshold = self.uint("nflog-threshold", arg)

    def final(self, st: _NflogState, rb: RuleBuild) -> Tuple[str, str]:
        out = ""
        if st.prefix:
            # 1.8.7 printed the prefix with a leading space of its own (measured)
            sep = " " if release_of(rb.ctx.version).nflog_prefix_double_space else ""
            out += " PFXprefix" + sep + save_string(st.prefix)
        if st.group:
            out += f" PFXgroup {st.group}"
        if st.size is not None:
            out += f" PFXsize {st.size}"
        elif st.range_len and rb.backend == "legacy":
            out += f" PFXrange {st.range_len}"
        if st.threshold != 1:
            out += f" PFXthreshold {st.threshold}"
        return out.replace("PFX", "--nflog-"), out.replace("PFX", "nflog-")


@dataclass
class _NfqueueState:
    num: int = 0
    balance: Optional[Tuple[int, int]] = None  # (first, last) queue
    bypass: bool = False
    fanout: bool = False


@register_target
class NfqueueTarget(Ext[_NfqueueState]):
    state = _NfqueueState
    name = "NFQUEUE"
    excl = {"num": ("balance",), "balance": ("num",)}
    is_target = True
    opts = {
        "queue-num": Opt("num"),
        "queue-balance": Opt("balance"),
        "queue-bypass": Opt("bypass", arg=False),
        "fail-open": Opt("bypass", arg=False),
        "queue-cpu-fanout": Opt("fanout", arg=False),
    }

    def parse(
        self, st: _NfqueueState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "num":
            st.num = self.uint("queue-num", arg, 0, 65535)
        elif oid == "balance":
            lo, sep, hi = arg.partition(":")
            a = strtoui(lo, 0, 65535)
            b = strtoui(hi, 0, 65535) if sep else None
            if a is None or b is None:
                raise ParameterProblem(f'NFQUEUE: bad range "{arg}"')
            if a >= b:
                raise ParameterProblem(f"{a} should be less than {b}")
            st.balance = (a, b)
        elif oid == "bypass":
            st.bypass = True
        else:
            st.fanout = True

    def final(self, st: _NfqueueState, rb: RuleBuild) -> Tuple[str, str]:
        if st.fanout and st.balance is None:
            raise ParameterProblem(
                'NFQUEUE: option "--queue-cpu-fanout" also requires "--queue-balance".\n'
            )
        bal = st.balance
        if bal is not None and bal[1] > bal[0]:
            s = f" --queue-balance {bal[0]}:{bal[1]}"
            lst = f" NFQUEUE balance {bal[0]}:{bal[1]}"
        else:
            n = bal[0] if bal is not None else st.num
            s = f" --queue-num {n}"
            lst = f" NFQUEUE num {n}"
        if st.bypass:
            s += " --queue-bypass"
            lst += " bypass"
        if st.fanout:
            s += " --queue-cpu-fanout"
            lst += " cpu-fanout"
        return s, lst


# ---------------------------------------------------------------- SYNPROXY / TEE


@dataclass
class _SynproxyState:
    sack_perm: bool = False
    timestamp: bool = False
    wscale: Optional[int] = None
    mss: Optional[int] = None
    ecn: bool = False


@register_target
class SynproxyTarget(Ext[_SynproxyState]):
    state = _SynproxyState
    name = "SYNPROXY"
    is_target = True
    opts = {
        "sack-perm": Opt("sack-perm", arg=False),
        "timestamp": Opt("timestamp", arg=False),
        "wscale": Opt("wscale"),
        "mss": Opt("mss"),
        "ecn": Opt("ecn", arg=False),
    }

    def parse(
        self, st: _SynproxyState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "wscale":
            st.wscale = self.uint("wscale", arg, 0, 14)
        elif oid == "mss":
            st.mss = self.uint("mss", arg, 0, 65535)
        elif oid == "sack-perm":
            st.sack_perm = True
        elif oid == "timestamp":
            st.timestamp = True
        else:
            st.ecn = True

    def final(self, st: _SynproxyState, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        lst = " SYNPROXY "
        # (option, given, its number: None for a flag)
        items: Tuple[Tuple[str, bool, Optional[int]], ...] = (
            ("sack-perm", st.sack_perm, None),
            ("timestamp", st.timestamp, None),
            ("wscale", st.wscale is not None, st.wscale),
            ("mss", st.mss is not None, st.mss),
            ("ecn", st.ecn, None),
        )
        for k, given, n in items:
            if not given:
                continue
            v = "" if n is None else f" {n}"
            s += f" --{k}{v}"
            lst += f"{k}{v} "
        return s, lst

    only_hooks = hooks("INPUT", "FORWARD")
    only_tables = frozenset({"filter", "mangle", "security"})

    def restrict(self, st: _SynproxyState, rb: RuleBuild) -> Restriction:
        refusal = None if (rb.proto == 6 and not rb.proto_inv) else "Invalid argument"
        return self.only_hooks, self.only_tables, refusal


@dataclass
class _TeeState:
    gateway: Optional[str] = None  # the address as printed
    oif: Optional[str] = None


@register_target
class TeeTarget(Ext[_TeeState]):
    state = _TeeState
    name = "TEE"
    is_target = True
    opts = {"gateway": Opt("gateway"), "oif": Opt("oif")}
    mandatory = ("gateway",)

    def parse(
        self, st: _TeeState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "gateway":
            v = parse_ipv4(arg) if rb.family == 4 else parse_ipv6(arg)
            if v is None:
                raise ParameterProblem(f"Invalid IP address {arg}")
            st.gateway = ipv4_to_str(v) if rb.family == 4 else ipv6_to_str(v)
        else:
            if len(arg) >= 16:
                raise ParameterProblem("oif name too long")
            st.oif = arg

    def final(self, st: _TeeState, rb: RuleBuild) -> Tuple[str, str]:
        s = lst = ""
        if st.gateway is not None:
            s += f" --gateway {st.gateway}"
            lst += f" TEE gw:{st.gateway}"
        if st.oif is not None:
            s += f" --oif {st.oif}"
            lst += f" oif={st.oif}"
        return s, lst
