"""Targets Debian 12's iptables ships whose kernel module a 6.x kernel no longer has.

iptables parses their options, warns that the kernel lacks the revision, and the
kernel refuses the rule (ENOENT): measured on 1.8.9 with kernel 6.18, ``-j CLUSTERIP``
prints ``Warning: Extension CLUSTERIP revision 0 not supported, missing kernel
module?`` and then iptables-nft's ``RULE_APPEND failed (No such file or directory)``
(exit 4) or iptables-legacy's ``No chain/target/match by that name.`` (exit 1). The
fake answers the same, instead of calling them not emulated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Set, Tuple

from ..errors import ParameterProblem
from ..ext import Cursor, Ext, Opt, Restriction, RuleBuild, register_target
from ..matches.accounting import MISSING_OBJECT
from ..release import release_of

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
