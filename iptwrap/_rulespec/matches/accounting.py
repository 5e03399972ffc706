"""nfacct: a rule that counts into a named extended-accounting object.

kube-proxy's rules use it (since Kubernetes 1.28). The object is the host's: the
kernel refuses a rule naming one that does not exist (ENOENT), which iptables-nft
reports as ``RULE_APPEND failed (No such file or directory)`` and iptables-legacy as
``No chain/target/match by that name.`` (measured on 1.8.9, ``nfacct add`` making the
object). The parse context says which objects the host has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..ext import Cursor, Ext, Opt, Restriction, RuleBuild, register_match

__all__: List[str] = []

# what each backend prints for the kernel's ENOENT when adding a rule
MISSING_OBJECT = {
    "nft": "No such file or directory",
    "legacy": "No chain/target/match by that name",
}


@dataclass
class _NfacctState:
    name: Optional[str] = None  # the nfacct object's name


@register_match
class NfacctMatch(Ext[_NfacctState]):
    state = _NfacctState
    name = "nfacct"
    reads_host = True
    opts = {"nfacct-name": Opt("name")}
    mandatory = ("name",)

    def parse(
        self, st: _NfacctState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        if len(arg) > 31:  # XT_NFACCT_NAME_MAX, with its NUL
            raise self.err('nfacct: option "--nfacct-name" value is too long')
        st.name = arg

    def final(self, st: _NfacctState, rb: RuleBuild) -> Tuple[str, str]:
        # two spaces, as libxt_nfacct prints it (measured)
        return f" --nfacct-name  {st.name}", f" nfacct-name  {st.name}"

    def restrict(self, st: _NfacctState, rb: RuleBuild) -> Restriction:
        if st.name is not None and not rb.ctx.nfacct_exists(st.name):
            return None, None, MISSING_OBJECT[rb.backend]
        return None, None, None
