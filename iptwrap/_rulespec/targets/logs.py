"""Logging and queueing: LOG, NFLOG, NFQUEUE; SYNPROXY and TEE."""

from __future__ import annotations

from typing import List, Tuple

from ..errors import ParameterProblem
from ..ext import (
    Cursor,
    Ext,
    Opt,
    Restriction,
    RuleBuild,
    St,
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


@register_target
class LogTarget(Ext[St]):
    state = St
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

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "level":
            v = strtoui(arg, 0, 7)
            if v is None:
                v = _LOG_LEVELS.get(arg)
            if v is None:
                raise ParameterProblem(f'log level "{arg}" unknown\n')
            st["level"] = v
        elif oid == "prefix":
            if "\n" in arg:
                raise ParameterProblem("Newlines not allowed in --log-prefix")
            b = arg.encode("utf-8", "surrogateescape")
            st["prefix"] = b[:29].decode("utf-8", "ignore") if len(b) > 29 else arg
        else:
            st[oid] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        prefix = st.get("prefix", "")
        level = st.get("level", 4)
        if prefix:
            s += " --log-prefix" + save_string(prefix)
        if level != 4:
            s += f" --log-level {level}"
        flags = 0
        for k, opt, bit in self._FLAGS:
            if k in st:
                s += f" --{opt}"
                flags |= bit
        lst = f" LOG flags {flags} level {level}"
        if prefix:
            lst += f' prefix "{prefix}"'
        return s, lst


@register_target
class NflogTarget(Ext[St]):
    state = St
    name = "NFLOG"
    is_target = True
    opts = {
        "nflog-group": Opt("group"),
        "nflog-prefix": Opt("prefix"),
        "nflog-range": Opt("range"),
        "nflog-size": Opt("size"),
        "nflog-threshold": Opt("threshold"),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "prefix":
            if "\n" in arg:
                raise ParameterProblem("Newlines not allowed in --log-prefix")
            st["prefix"] = arg[:63]
        elif oid == "group":
            st["group"] = self.uint("nflog-group", arg, 0, 65535)
        elif oid == "range":
            rb.warnings.append(
                "warn: --nflog-range has never worked and is no longer supported, "
                "please use --nflog-size instead"
            )
            st[oid] = self.uint("nflog-" + oid, arg)
        else:
            st[oid] = self.uint("nflog-" + oid, arg)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        out = ""
        if st.get("prefix"):
            # 1.8.7 printed the prefix with a leading space of its own (measured)
            sep = " " if release_of(rb.ctx.version).nflog_prefix_double_space else ""
            out += " PFXprefix" + sep + save_string(st["prefix"])
        if st.get("group"):
            out += f" PFXgroup {st['group']}"
        if "size" in st:
            out += f" PFXsize {st['size']}"
        elif st.get("range") and rb.backend == "legacy":
            out += f" PFXrange {st['range']}"
        if "threshold" in st and st["threshold"] != 1:
            out += f" PFXthreshold {st['threshold']}"
        return out.replace("PFX", "--nflog-"), out.replace("PFX", "nflog-")


@register_target
class NfqueueTarget(Ext[St]):
    state = St
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

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "num":
            st["num"] = self.uint("queue-num", arg, 0, 65535)
        elif oid == "balance":
            lo, sep, hi = arg.partition(":")
            a = strtoui(lo, 0, 65535)
            b = strtoui(hi, 0, 65535) if sep else None
            if a is None or b is None:
                raise ParameterProblem(f'NFQUEUE: bad range "{arg}"')
            if a >= b:
                raise ParameterProblem(f"{a} should be less than {b}")
            st["balance"] = (a, b)
        else:
            st[oid] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "fanout" in st and "balance" not in st:
            raise ParameterProblem(
                'NFQUEUE: option "--queue-cpu-fanout" also requires "--queue-balance".\n'
            )
        bal = st.get("balance")
        if bal is not None and bal[1] > bal[0]:
            s = f" --queue-balance {bal[0]}:{bal[1]}"
            lst = f" NFQUEUE balance {bal[0]}:{bal[1]}"
        else:
            n = bal[0] if bal is not None else st.get("num", 0)
            s = f" --queue-num {n}"
            lst = f" NFQUEUE num {n}"
        if "bypass" in st:
            s += " --queue-bypass"
            lst += " bypass"
        if "fanout" in st:
            s += " --queue-cpu-fanout"
            lst += " cpu-fanout"
        return s, lst


# ---------------------------------------------------------------- SYNPROXY / TEE


@register_target
class SynproxyTarget(Ext[St]):
    state = St
    name = "SYNPROXY"
    is_target = True
    opts = {
        "sack-perm": Opt("sack-perm", arg=False),
        "timestamp": Opt("timestamp", arg=False),
        "wscale": Opt("wscale"),
        "mss": Opt("mss"),
        "ecn": Opt("ecn", arg=False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "wscale":
            st[oid] = self.uint("wscale", arg, 0, 14)
        elif oid == "mss":
            st[oid] = self.uint("mss", arg, 0, 65535)
        else:
            st[oid] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = ""
        lst = " SYNPROXY "
        for k in ("sack-perm", "timestamp", "wscale", "mss", "ecn"):
            if k not in st:
                continue
            v = "" if st[k] is True else f" {st[k]}"
            s += f" --{k}{v}"
            lst += f"{k}{v} "
        return s, lst

    only_hooks = hooks("INPUT", "FORWARD")
    only_tables = frozenset({"filter", "mangle", "security"})

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        refusal = None if (rb.proto == 6 and not rb.proto_inv) else "Invalid argument"
        return self.only_hooks, self.only_tables, refusal


@register_target
class TeeTarget(Ext[St]):
    state = St
    name = "TEE"
    is_target = True
    opts = {"gateway": Opt("gateway"), "oif": Opt("oif")}
    mandatory = ("gateway",)

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "gateway":
            v = parse_ipv4(arg) if rb.family == 4 else parse_ipv6(arg)
            if v is None:
                raise ParameterProblem(f"Invalid IP address {arg}")
            st["gw"] = ipv4_to_str(v) if rb.family == 4 else ipv6_to_str(v)
        else:
            if len(arg) >= 16:
                raise ParameterProblem("oif name too long")
            st["oif"] = arg

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = lst = ""
        if "gw" in st:
            s += f" --gateway {st['gw']}"
            lst += f" TEE gw:{st['gw']}"
        if "oif" in st:
            s += f" --oif {st['oif']}"
            lst += f" oif={st['oif']}"
        return s, lst
