"""REJECT, and the targets that only tag a packet's path: CT, NOTRACK, TRACE, AUDIT."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

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


@dataclass
class _RejectState:
    # --reject-with's full name; None: the family's port-unreachable
    reject_with: Optional[str] = None


@register_target
class RejectTarget(Ext[_RejectState]):
    state = _RejectState
    name = "REJECT"
    is_target = True
    opts = {"reject-with": Opt("with")}

    def parse(
        self, st: _RejectState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        a = arg.lower()
        for name, alias in _REJECT4 if rb.family == 4 else _REJECT6:
            if name.startswith(a) or alias.startswith(a):
                st.reject_with = name
                return
        raise ParameterProblem(f'unknown reject type "{arg}"')

    def final(self, st: _RejectState, rb: RuleBuild) -> Tuple[str, str]:
        w = st.reject_with
        if w is None:
            w = "icmp-port-unreachable" if rb.family == 4 else "icmp6-port-unreachable"
        return f" --reject-with {w}", f" reject-with {w}"

    only_hooks = hooks("INPUT", "FORWARD", "OUTPUT")
    only_tables = frozenset({"filter"})

    def restrict(self, st: _RejectState, rb: RuleBuild) -> Restriction:
        refusal = None
        if st.reject_with == "tcp-reset" and (rb.proto != 6 or rb.proto_inv):
            refusal = "Invalid argument"
        return self.only_hooks, self.only_tables, refusal


@dataclass
class _AuditState:
    audit_type: Optional[str] = None  # accept, drop or reject


@register_target
class AuditTarget(Ext[_AuditState]):
    state = _AuditState
    name = "AUDIT"
    is_target = True
    opts = {"type": Opt("type")}

    def parse(
        self, st: _AuditState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        a = arg.lower()
        if a not in ("accept", "drop", "reject"):
            raise ParameterProblem(f'Bad action type value "{arg}"')
        st.audit_type = a

    def final(self, st: _AuditState, rb: RuleBuild) -> Tuple[str, str]:
        if st.audit_type is None:
            raise self.mand("type")
        return f" --type {st.audit_type}", f" AUDIT {st.audit_type}"


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


@dataclass
class _CtState:
    notrack: bool = False
    helper: Optional[str] = None
    timeout: Optional[str] = None  # a timeout policy's name
    ctevents: Optional[str] = None  # canonical comma list
    expevents: Optional[str] = None
    # (the option that gave it: zone, zone-orig or zone-reply; the zone id)
    zone: Optional[Tuple[str, int]] = None


@register_target
class CtTarget(Ext[_CtState]):
    state = _CtState
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

    def parse(
        self, st: _CtState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "notrack":
            st.notrack = True
        elif oid == "helper":
            st.helper = arg[:15]
        elif oid == "timeout":
            st.timeout = arg[:31]
        elif oid == "ctevents":
            st.ctevents = _ct_events(arg, _CT_EVENTS)
        elif oid == "expevents":
            st.expevents = _ct_events(arg, _CT_EXP_EVENTS)
        else:
            if arg == "mark":
                raise ParameterProblem("fake: CT --zone mark is not emulated")
            z = strtoui(arg, 0, 65535)
            if z is None:
                raise ParameterProblem(f"Cannot parse {arg} as a zone ID")
            st.zone = (oid, z)

    def final(self, st: _CtState, rb: RuleBuild) -> Tuple[str, str]:
        s = lst = ""
        if st.notrack:
            s += " --notrack"
            lst += " notrack"
        for k, text in (
            ("helper", st.helper),
            ("timeout", st.timeout),
            ("ctevents", st.ctevents),
            ("expevents", st.expevents),
        ):
            if text is not None:
                s += f" --{k} {text}"
                lst += f" {k} {text}"
        if st.zone is not None and st.zone[1]:
            k, v = st.zone
            s += f" --{k} {v}"
            lst += f" {k} {v}"
        return s, " CT" + lst

    only_tables = frozenset({"raw"})

    def restrict(self, st: _CtState, rb: RuleBuild) -> Restriction:
        # the fake has no conntrack timeout policies (nfct): the kernel says ENOENT
        refusal = "No such file or directory" if st.timeout is not None else None
        return None, self.only_tables, refusal


@dataclass
class _NotrackState:
    """NOTRACK takes no options."""


@register_target
class NotrackTarget(Ext[_NotrackState]):
    state = _NotrackState
    name = "NOTRACK"
    list_name = "CT"
    is_target = True
    opts = {}

    def final(self, st: _NotrackState, rb: RuleBuild) -> Tuple[str, str]:
        return "", " NOTRACK"

    only_tables = frozenset({"raw"})


@dataclass
class _TraceState:
    """TRACE takes no options."""


@register_target
class TraceTarget(Ext[_TraceState]):
    state = _TraceState
    name = "TRACE"
    is_target = True
    opts = {}

    only_tables = frozenset({"raw"})

    def restrict(self, st: _TraceState, rb: RuleBuild) -> Restriction:
        # iptables-nft makes TRACE a native "meta nftrace set 1", allowed in any table
        # and chain (measured on 1.8.7, 1.8.9 and 1.8.11; differential test seed 25)
        if rb.backend == "nft":
            return None, None, None
        return self.only_hooks, self.only_tables, None
