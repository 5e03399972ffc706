"""REJECT, and the targets that only tag a packet's path: CT, NOTRACK, TRACE, AUDIT."""

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
from ..values import (
    strtoui,
)

__all__: List[str] = []


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
class RejectTarget(Ext[St]):
    state = St
    name = "REJECT"
    is_target = True
    opts = {"reject-with": Opt("with")}

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

    only_hooks = hooks("INPUT", "FORWARD", "OUTPUT")
    only_tables = frozenset({"filter"})

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        refusal = None
        if st.get("with") == "tcp-reset" and (rb.proto != 6 or rb.proto_inv):
            refusal = "Invalid argument"
        return self.only_hooks, self.only_tables, refusal


@register_target
class AuditTarget(Ext[St]):
    state = St
    name = "AUDIT"
    is_target = True
    opts = {"type": Opt("type")}

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
class CtTarget(Ext[St]):
    state = St
    name = "CT"
    is_target = True
    opts = {
        "notrack": Opt("notrack", arg=False),
        "helper": Opt("helper"),
        "timeout": Opt("timeout"),
        "ctevents": Opt("ctevents"),
        "expevents": Opt("expevents"),
        "zone": Opt("zone"),
        "zone-orig": Opt("zone-orig"),
        "zone-reply": Opt("zone-reply"),
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

    only_tables = frozenset({"raw"})

    def restrict(self, st: St, rb: RuleBuild) -> Restriction:
        # the fake has no conntrack timeout policies (nfct): the kernel says ENOENT
        refusal = "No such file or directory" if "timeout" in st else None
        return None, self.only_tables, refusal


@register_target
class NotrackTarget(Ext[St]):
    state = St
    name = "NOTRACK"
    list_name = "CT"
    is_target = True
    opts = {}

    def final(self, st: St, rb: RuleBuild) -> Tuple[str, str]:
        return "", " NOTRACK"

    only_tables = frozenset({"raw"})


@register_target
class TraceTarget(Ext[St]):
    state = St
    name = "TRACE"
    is_target = True
    opts = {}

    only_tables = frozenset({"raw"})
