"""Targets Debian 12's iptables ships whose kernel module a 6.x kernel does not have.

iptables parses their options, warns that the kernel lacks the revision, and the
kernel refuses the rule (ENOENT): measured on 1.8.9 with kernel 6.18, ``-j CLUSTERIP``
prints ``Warning: Extension CLUSTERIP revision 0 not supported, missing kernel
module?`` and then iptables-nft's ``RULE_APPEND failed (No such file or directory)``
(exit 4) or iptables-legacy's ``No chain/target/match by that name.`` (exit 1). The
fake answers the same, instead of calling them not emulated. ULOG (IPv4; removed
from Linux in 3.17) and LED (not built without LED support, as on this kernel) are
answered alike, after their options are parsed as libipt_ULOG and libxt_LED parse
them (their misuse is refused by the parser before the kernel is asked: measured).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Set, Tuple

from ..errors import ParameterProblem
from ..ext import Cursor, Ext, Opt, Restriction, RuleBuild, register_target
from ..matches.accounting import MISSING_OBJECT
from ..release import release_of
from ..values import strtoui

__all__: List[str] = []


@dataclass
class _AbsentState:
    """Only the options given: no rule using the target reaches the kernel."""

    given: Set[str] = field(default_factory=set)


@register_target
class ClusteripTarget(Ext[_AbsentState]):
    """CLUSTERIP (removed from Linux in 6.3)."""

    state = _AbsentState
    name = "CLUSTERIP"
    is_target = True
    families = (4,)
    opts = {
        "new": Opt("new", arg=False),
        "hashmode": Opt("hashmode"),
        "clustermac": Opt("clustermac"),
        "total-nodes": Opt("total"),
        "local-node": Opt("local"),
        "hash-init": Opt("init"),
    }

    def init(self, st: _AbsentState, rb: RuleBuild) -> None:
        rb.warnings.append(
            f"Warning: Extension {self.name} revision 0 not supported, missing kernel module?"
        )

    def parse(
        self, st: _AbsentState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        """The options are taken as given: the kernel refuses the rule either way."""
        st.given.add(oid)

    def final(self, st: _AbsentState, rb: RuleBuild) -> Tuple[str, str]:
        # --new needs all of its companions (1.8.9 and 1.8.11, measured; 1.8.7 reads
        # --new as taking an argument: a known divergence)
        full = {"new", "hashmode", "clustermac", "total", "local"}
        if "new" in st.given and not full <= st.given and release_of(rb.ctx.version).vt > (1, 8, 7):
            raise ParameterProblem("CLUSTERIP target: Invalid parameter combination")
        return "", ""

    def restrict(self, st: _AbsentState, rb: RuleBuild) -> Restriction:
        return None, None, MISSING_OBJECT[rb.backend]


class _AbsentTarget(Ext[_AbsentState]):
    """A target whose kernel module is missing: warned about, parsed, then refused."""

    state = _AbsentState
    is_target = True

    def init(self, st: _AbsentState, rb: RuleBuild) -> None:
        rb.warnings.append(
            f"Warning: Extension {self.name} revision 0 not supported, missing kernel module?"
        )

    def final(self, st: _AbsentState, rb: RuleBuild) -> Tuple[str, str]:
        return "", ""

    def restrict(self, st: _AbsentState, rb: RuleBuild) -> Restriction:
        return None, None, MISSING_OBJECT[rb.backend]


def _string_min(arg: str, n: int) -> None:
    if len(arg) < n:
        raise ParameterProblem(f"Argument must have a minimum length of {n} characters\n")


def _string_max(arg: str, n: int) -> None:
    if len(arg) > n:
        raise ParameterProblem(f"Argument must have a maximum length of {n} characters\n")


@register_target
class UlogTarget(_AbsentTarget):
    """ULOG (IPv4): the options of libipt_ULOG (uint8, string, uint64, uint64)."""

    name = "ULOG"
    families = (4,)
    opts = {
        "ulog-nlgroup": Opt("nlgroup"),
        "ulog-prefix": Opt("prefix"),
        "ulog-cprange": Opt("cprange"),
        "ulog-qthreshold": Opt("qthreshold"),
    }

    def parse(
        self, st: _AbsentState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "nlgroup":
            self.uint("ulog-nlgroup", arg, 1, 32)
        elif oid == "prefix":
            _string_min(arg, 1)
        else:
            lo, hi = (0, 2**64 - 1) if oid == "cprange" else (1, 50)
            # xtables_strtoul refuses a minus sign before strtoumax could wrap it
            if arg.lstrip(" \t\n\r\f\v").startswith("-") or strtoui(arg, lo, hi) is None:
                raise ParameterProblem(
                    f'ULOG: bad value for option "--ulog-{oid}", or out of range ({lo}-{hi}).\n'
                )


@register_target
class LedTarget(_AbsentTarget):
    """LED: the options of libxt_LED (the trigger id is mandatory, 16 characters)."""

    name = "LED"
    opts = {
        "led-trigger-id": Opt("id"),
        "led-delay": Opt("delay"),
        "led-always-blink": Opt("blink", arg=False),
    }
    mandatory = ("id",)

    def parse(
        self, st: _AbsentState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if oid == "id":
            _string_max(arg, 16)  # sizeof(id) - sizeof("netfilter-")
        elif oid == "delay" and arg[:3].lower() != "inf" and strtoui(arg) is None:
            raise ParameterProblem("Delay value must be within range 0..4294967295")
