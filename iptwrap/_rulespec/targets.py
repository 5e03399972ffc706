"""Target modules (``-j NAME``) of the fake."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

from .errors import ParameterProblem
from .ext import (
    ALL_HOOKS,
    NO_RESTRICTION,
    Cursor,
    Ext,
    Restriction,
    RuleBuild,
    hooks,
    register_target,
)
from .matches.marks import parse_dscp, parse_markmask, parse_tos
from .release import release_of
from .values import (
    format_addr,
    ipv4_to_str,
    ipv6_to_str,
    numeric_to_ipaddr,
    parse_addresses,
    parse_ipv4,
    parse_ipv6,
    save_string,
    strtoui,
)

__all__: List[str] = []

St = Dict[str, Any]

STANDARD_VERDICTS = ("ACCEPT", "DROP", "RETURN", "QUEUE")


# ---------------------------------------------------------------- REJECT

_REJECT4 = (
    ("icmp-net-unreachable", "net-unreach"),
    ("icmp-host-unreachable", "host-unreach"),
    ("icmp-proto-unreachable", "proto-unreach"),
    ("icmp-port-unreachable", "port-unreach"),
    ("icmp-net-prohibited", "net-prohib"),
    ("icmp-host-prohibited", "host-prohib"),
    ("tcp-reset", "tcp-rst"),
    ("icmp-admin-prohibited", "admin-prohib"),
)
_REJECT6 = (
    ("icmp6-no-route", "no-route"),
    ("icmp6-adm-prohibited", "adm-prohibited"),
    ("icmp6-addr-unreachable", "addr-unreach"),
    ("icmp6-port-unreachable", "port-unreach"),
    ("tcp-reset", "tcp-reset"),
    ("icmp6-policy-fail", "policy-fail"),
    ("icmp6-reject-route", "reject-route"),
)


@register_target
class RejectTarget(Ext):
    name = "REJECT"
    is_target = True
    opts = {"reject-with": ("with", True, False)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        a = arg.lower()
        for name, alias in _REJECT4 if rb.family == 4 else _REJECT6:
            if name.startswith(a) or alias.startswith(a):
                st["with"] = name
                return
        raise ParameterProblem(f'unknown reject type "{arg}"')

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        w = st.get("with", "icmp-port-unreachable" if rb.family == 4 else "icmp6-port-unreachable")
        return f" --reject-with {w}", f" reject-with {w}"

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        refusal = None
        if st.get("with") == "tcp-reset" and (rb.proto != 6 or rb.proto_inv):
            refusal = "Invalid argument"
        return hooks("INPUT", "FORWARD", "OUTPUT"), frozenset({"filter"}), refusal


# ---------------------------------------------------------------- NAT

_NAT_PROTOS = (6, 17, 132, 33, 136)


def _need_port_proto(rb: RuleBuild) -> None:
    if rb.proto not in _NAT_PROTOS or rb.proto_inv:
        raise ParameterProblem("Need TCP, UDP, SCTP or DCCP with port specification")


def _port_range(arg: str) -> str:
    lo, sep, hi = arg.partition("-")
    a = strtoui(lo, 0, 65535)
    if a is None:
        a, rest = _uint_prefix(arg, 65535)
        if a is None:
            raise ParameterProblem(f"Port `{arg}' not valid")
        if rest.startswith(":"):
            raise ParameterProblem("Invalid port:port syntax - use dash")
        if not rest.startswith("-"):
            raise ParameterProblem(f"Garbage after port value: `{rest}'")
        hi = rest[1:]
    if not sep and hi == "":
        return str(a)
    b, rest2 = _uint_prefix(hi, 65535)
    if b is None:
        raise ParameterProblem(f"Port `{hi}' not valid")
    if b < a:
        raise ParameterProblem(f"Port range `{hi}' funky")
    if rest2:
        raise ParameterProblem(f"fake: NAT port offset `{rest2}' is not emulated")
    return str(a) if a == b else f"{a}-{b}"


def _uint_prefix(s: str, hi: int) -> Tuple[Optional[int], str]:
    """xtables_strtoui(s, &end, ...): a number prefix and the rest."""
    j = 0
    while j < len(s) and s[j].isdigit() and s[j].isascii():
        j += 1
    if j == 0:
        return None, s
    v = strtoui(s[:j], 0, hi)
    return v, s[j:]


def _nat_addr_range(addrs: str, conv: Callable[[str], Any], fmt: Callable[[Any], str]) -> str:
    """ip[-ip] -> canonical text; a range whose ends are equal prints as one address."""
    lo, sep, hi = addrs.partition("-")
    a1 = conv(lo)
    if a1 is None:
        raise ParameterProblem(f'Bad IP address "{lo}"')
    out: str = fmt(a1)
    if sep:
        a2 = conv(hi)
        if a2 is None:
            raise ParameterProblem(f'Bad IP address "{hi}"')
        if a2 != a1:
            out += "-" + fmt(a2)
    return out


def _nat_range(arg: str, rb: RuleBuild) -> str:
    """ip[-ip][:port[-port]] (IPv6: [ip]:port) -> canonical text."""
    ports: Optional[str] = None
    addrs = arg
    if rb.family == 6:
        if arg.startswith("["):
            end = arg.find("]")
            if end < 0:
                raise ParameterProblem("Invalid address format")
            addrs = arg[1:end]
            rest = arg[end + 1 :]
            c = rest.find(":")
            if c >= 0:
                ports = rest[c + 1 :]
        else:
            c = arg.find(":")
            if c >= 0 and ":" not in arg[c + 1 :]:
                addrs, ports = arg[:c], arg[c + 1 :]
    else:
        addrs, sep, p = arg.partition(":")
        ports = p if sep else None
    if ports is not None:
        _need_port_proto(rb)
        ports = _port_range(ports)
        if not addrs:
            return ":" + ports
    if rb.family == 6:
        out = _nat_addr_range(addrs, parse_ipv6, ipv6_to_str)
        return out if ports is None else f"[{out}]:{ports}"
    out = _nat_addr_range(addrs, numeric_to_ipaddr, ipv4_to_str)
    return out if ports is None else f"{out}:{ports}"


class _NatTarget(Ext):
    is_target = True
    to_opt = ""
    flags: Tuple[str, ...] = ()
    valid: frozenset = frozenset()  # type: ignore[type-arg]

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "to":
            st["to"] = _nat_range(arg, rb)
        else:
            st[oid] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "to" not in st:
            raise self.mand(self.to_opt)
        s = f" --{self.to_opt} {st['to']}"
        lst = f" to:{st['to']}"
        for f in self.flags:
            if f in st:
                s += f" --{f}"
                lst += f" {f}"
        return s, lst

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return self.valid, frozenset({"nat"}), None


@register_target
class DnatTarget(_NatTarget):
    name = "DNAT"
    to_opt = "to-destination"
    opts = {
        "to-destination": ("to", True, False),
        "random": ("random", False, False),
        "persistent": ("persistent", False, False),
    }
    flags = ("random", "persistent")
    valid = hooks("PREROUTING", "OUTPUT")


@register_target
class SnatTarget(_NatTarget):
    name = "SNAT"
    to_opt = "to-source"
    opts = {
        "to-source": ("to", True, False),
        "random": ("random", False, False),
        "random-fully": ("random-fully", False, False),
        "persistent": ("persistent", False, False),
    }
    flags = ("random", "random-fully", "persistent")
    valid = hooks("POSTROUTING", "INPUT")


@register_target
class MasqueradeTarget(Ext):
    name = "MASQUERADE"
    is_target = True
    opts = {
        "to-ports": ("ports", True, False),
        "random": ("random", False, False),
        "random-fully": ("random-fully", False, False),
    }
    label = "masq ports:"

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "ports":
            _need_port_proto(rb)
            st["ports"] = _port_range(arg)
        else:
            st[oid] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = lst = ""
        if "ports" in st:
            s += f" --to-ports {st['ports']}"
            lst += f" {self.label} {st['ports']}"
        for f in ("random", "random-fully"):
            if f in st:
                s += f" --{f}"
                lst += f" {f}"
        return s, lst

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return hooks("POSTROUTING"), frozenset({"nat"}), None


@register_target
class RedirectTarget(MasqueradeTarget):
    name = "REDIRECT"
    opts = {"to-ports": ("ports", True, False), "random": ("random", False, False)}
    label = "redir ports"

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return hooks("PREROUTING", "OUTPUT"), frozenset({"nat"}), None


@register_target
class NetmapTarget(Ext):
    name = "NETMAP"
    is_target = True
    opts = {"to": ("to", True, False)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        host = arg.rpartition("/")[0] or arg
        ok = (parse_ipv4 if rb.family == 4 else parse_ipv6)(host) is not None
        if not ok:
            if rb.family == 6 and parse_ipv4(host) is not None:
                raise ParameterProblem("getaddrinfo: Address family for hostname not supported\n")
            raise ParameterProblem("getaddrinfo: Temporary failure in name resolution\n")
        (a, m), *_rest = parse_addresses(arg.split(",")[0], rb.family)
        st["to"] = format_addr(a, m, rb.family, False)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "to" not in st:
            raise self.mand("to")
        return f" --to {st['to']}", f" to:{st['to']}"

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return None, frozenset({"nat"}), None


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


def _u32(ext: Ext, opt: str, arg: str) -> int:
    v = strtoui(arg)
    if v is None:
        raise ParameterProblem(
            f'{ext.name}: bad integer value for option "--{opt}", or out of range.\n'
        )
    return v


def _mark_operation(ext: Ext, oid: str, arg: str) -> Tuple[int, int]:
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
class MarkTarget(Ext):
    name = "MARK"
    excl = {
        k: tuple(o for o in ("set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark") if o != k)
        for k in ("set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark")
    }
    is_target = True
    opts = {
        "set-mark": ("set-mark", True, False),
        "set-xmark": ("set-xmark", True, False),
        "and-mark": ("and-mark", True, False),
        "or-mark": ("or-mark", True, False),
        "xor-mark": ("xor-mark", True, False),
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
class ConnmarkTarget(Ext):
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
        "set-mark": ("set-mark", True, False),
        "set-xmark": ("set-xmark", True, False),
        "and-mark": ("and-mark", True, False),
        "or-mark": ("or-mark", True, False),
        "xor-mark": ("xor-mark", True, False),
        "save-mark": ("save", False, False),
        "restore-mark": ("restore", False, False),
        "mask": ("mask", True, False),
        "nfmask": ("nfmask", True, False),
        "ctmask": ("ctmask", True, False),
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
class LogTarget(Ext):
    name = "LOG"
    is_target = True
    opts = {
        "log-level": ("level", True, False),
        "log-prefix": ("prefix", True, False),
        "log-tcp-sequence": ("tcpseq", False, False),
        "log-tcp-options": ("tcpopt", False, False),
        "log-ip-options": ("ipopt", False, False),
        "log-uid": ("uid", False, False),
        "log-macdecode": ("macdecode", False, False),
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
class NflogTarget(Ext):
    name = "NFLOG"
    is_target = True
    opts = {
        "nflog-group": ("group", True, False),
        "nflog-prefix": ("prefix", True, False),
        "nflog-range": ("range", True, False),
        "nflog-size": ("size", True, False),
        "nflog-threshold": ("threshold", True, False),
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
class NfqueueTarget(Ext):
    name = "NFQUEUE"
    excl = {"num": ("balance",), "balance": ("num",)}
    is_target = True
    opts = {
        "queue-num": ("num", True, False),
        "queue-balance": ("balance", True, False),
        "queue-bypass": ("bypass", False, False),
        "fail-open": ("bypass", False, False),
        "queue-cpu-fanout": ("fanout", False, False),
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


@register_target
class AuditTarget(Ext):
    name = "AUDIT"
    is_target = True
    opts = {"type": ("type", True, False)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        a = arg.lower()
        if a not in ("accept", "drop", "reject"):
            raise ParameterProblem(f'Bad action type value "{arg}"')
        st["type"] = a

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "type" not in st:
            raise self.mand("type")
        return f" --type {st['type']}", f" AUDIT {st['type']}"


# ---------------------------------------------------------------- CT / NOTRACK / TRACE

_CT_EVENTS = (
    "new",
    "related",
    "destroy",
    "reply",
    "assured",
    "protoinfo",
    "helper",
    "mark",
    "natseqinfo",
    "secmark",
)
_CT_EXP_EVENTS = ("new",)


def _ct_events(arg: str, names: Tuple[str, ...]) -> str:
    bits = 0
    for p in arg.split(","):
        if p not in names:
            raise ParameterProblem(f'Unknown event type "{p}"')
        bits |= 1 << names.index(p)
    return ",".join(n for i, n in enumerate(names) if bits & (1 << i))


@register_target
class CtTarget(Ext):
    name = "CT"
    is_target = True
    opts = {
        "notrack": ("notrack", False, False),
        "helper": ("helper", True, False),
        "timeout": ("timeout", True, False),
        "ctevents": ("ctevents", True, False),
        "expevents": ("expevents", True, False),
        "zone": ("zone", True, False),
        "zone-orig": ("zone-orig", True, False),
        "zone-reply": ("zone-reply", True, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "notrack":
            st["notrack"] = True
        elif oid in ("helper", "timeout"):
            st[oid] = arg[:15] if oid == "helper" else arg[:31]
        elif oid == "ctevents":
            st[oid] = _ct_events(arg, _CT_EVENTS)
        elif oid == "expevents":
            st[oid] = _ct_events(arg, _CT_EXP_EVENTS)
        else:
            if arg == "mark":
                raise ParameterProblem("fake: CT --zone mark is not emulated")
            z = strtoui(arg, 0, 65535)
            if z is None:
                raise ParameterProblem(f"Cannot parse {arg} as a zone ID")
            st["zone"] = (oid, z)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        s = lst = ""
        if st.get("notrack"):
            s += " --notrack"
            lst += " notrack"
        for k in ("helper", "timeout", "ctevents", "expevents"):
            if k in st:
                s += f" --{k} {st[k]}"
                lst += f" {k} {st[k]}"
        if "zone" in st and st["zone"][1]:
            k, v = st["zone"]
            s += f" --{k} {v}"
            lst += f" {k} {v}"
        return s, " CT" + lst

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        # the fake has no conntrack timeout policies (nfct): the kernel says ENOENT
        refusal = "No such file or directory" if "timeout" in st else None
        return None, frozenset({"raw"}), refusal


@register_target
class NotrackTarget(Ext):
    name = "NOTRACK"
    list_name = "CT"
    is_target = True
    opts = {}

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        return "", " NOTRACK"

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return None, frozenset({"raw"}), None


@register_target
class TraceTarget(Ext):
    name = "TRACE"
    is_target = True
    opts = {}

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return None, frozenset({"raw"}), None


# ---------------------------------------------------------------- TCPMSS / TTL / HL / TOS / DSCP


def _has_syn_match(rb: RuleBuild) -> bool:
    for m in rb.matches:
        if m.ext.name == "tcp":
            f = m.st.get("flags")
            if f is not None and f[1] & 0x02 and not m.st.get("finv"):
                return True
    return False


@register_target
class TcpmssTarget(Ext):
    name = "TCPMSS"
    is_target = True
    opts = {"set-mss": ("set", True, False), "clamp-mss-to-pmtu": ("clamp", False, False)}

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
class TtlTarget(Ext):
    name = "TTL"
    is_target = True
    families = (4,)
    opts = {
        "ttl-set": ("set", True, False),
        "ttl-dec": ("dec", True, False),
        "ttl-inc": ("inc", True, False),
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

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return None, frozenset({"mangle"}), None


@register_target
class HlTarget(TtlTarget):
    name = "HL"
    families = (6,)
    opts = {
        "hl-set": ("set", True, False),
        "hl-dec": ("dec", True, False),
        "hl-inc": ("inc", True, False),
    }
    label = "HL"


@register_target
class TosTarget(Ext):
    name = "TOS"
    is_target = True
    opts = {
        "set-tos": ("set", True, False),
        "and-tos": ("and", True, False),
        "or-tos": ("or", True, False),
        "xor-tos": ("xor", True, False),
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

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return None, frozenset({"mangle"}), None


@register_target
class DscpTarget(Ext):
    name = "DSCP"
    is_target = True
    opts = {
        "set-dscp": ("set-dscp", True, False),
        "set-dscp-class": ("set-dscp-class", True, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if "v" in st:
            raise ParameterProblem("DSCP target: Only use --set-dscp ONCE!")
        st["v"] = parse_dscp(self, oid, oid, arg)

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "v" not in st:
            raise ParameterProblem("DSCP target: Parameter --set-dscp is required")
        return f" --set-dscp 0x{st['v']:02x}", f" DSCP set 0x{st['v']:02x}"

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return None, frozenset({"mangle"}), None


# ---------------------------------------------------------------- TPROXY / CHECKSUM / CLASSIFY / HMARK


@register_target
class TproxyTarget(Ext):
    name = "TPROXY"
    is_target = True
    opts = {
        "on-port": ("port", True, False),
        "on-ip": ("ip", True, False),
        "tproxy-mark": ("mark", True, False),
    }

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        if oid == "port":
            from .values import parse_port

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

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        refusal = None if (rb.proto in (6, 17) and not rb.proto_inv) else "Invalid argument"
        return hooks("PREROUTING"), frozenset({"mangle"}), refusal


@register_target
class ChecksumTarget(Ext):
    name = "CHECKSUM"
    is_target = True
    opts = {"checksum-fill": ("fill", False, False)}

    def parse(self, st: St, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor) -> None:
        st["fill"] = True

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        if "fill" not in st:
            raise self.mand("checksum-fill")
        return " --checksum-fill", " CHECKSUM fill"

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return None, frozenset({"mangle"}), None


@register_target
class ClassifyTarget(Ext):
    name = "CLASSIFY"
    is_target = True
    opts = {"set-class": ("class", True, False)}

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

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        return hooks("FORWARD", "OUTPUT", "POSTROUTING"), None, None


@register_target
class HmarkTarget(Ext):
    name = "HMARK"
    is_target = True
    opts = {
        "hmark-tuple": ("tuple", True, False),
        "hmark-src-prefix": ("src-prefix", True, False),
        "hmark-dst-prefix": ("dst-prefix", True, False),
        "hmark-sport-mask": ("sport-mask", True, False),
        "hmark-dport-mask": ("dport-mask", True, False),
        "hmark-spi-mask": ("spi-mask", True, False),
        "hmark-proto-mask": ("proto-mask", True, False),
        "hmark-rnd": ("rnd", True, False),
        "hmark-mod": ("mod", True, False),
        "hmark-offset": ("offset", True, False),
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


# ---------------------------------------------------------------- SYNPROXY / TEE


@register_target
class SynproxyTarget(Ext):
    name = "SYNPROXY"
    is_target = True
    opts = {
        "sack-perm": ("sack-perm", False, False),
        "timestamp": ("timestamp", False, False),
        "wscale": ("wscale", True, False),
        "mss": ("mss", True, False),
        "ecn": ("ecn", False, False),
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

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        refusal = None if (rb.proto == 6 and not rb.proto_inv) else "Invalid argument"
        return hooks("INPUT", "FORWARD"), frozenset({"filter", "mangle", "security"}), refusal


@register_target
class TeeTarget(Ext):
    name = "TEE"
    is_target = True
    opts = {"gateway": ("gateway", True, False), "oif": ("oif", True, False)}
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
