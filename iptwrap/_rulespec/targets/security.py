"""Security marks: SECMARK and CONNSECMARK.

Measured on 1.8.9 with kernel 6.18 (no LSM that maps security contexts), both
backends and families. Both targets live in the mangle and security tables only
(elsewhere the kernel says EINVAL). CONNSECMARK copies the mark between packet and
connection and is accepted; SECMARK's context cannot be mapped on such a kernel,
which refuses every SECMARK rule with ENOENT, as it refuses a missing module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..errors import ParameterProblem
from ..ext import Cursor, Ext, Opt, Restriction, RuleBuild, register_target
from ..matches.accounting import MISSING_OBJECT

__all__: List[str] = []

_SECURITY_TABLES = frozenset({"mangle", "security"})


@dataclass
class _SecmarkState:
    selctx: str = ""


@register_target
class SecmarkTarget(Ext[_SecmarkState]):
    state = _SecmarkState
    name = "SECMARK"
    is_target = True
    opts = {"selctx": Opt("selctx")}
    mandatory = ("selctx",)
    only_tables = _SECURITY_TABLES

    def parse(
        self, st: _SecmarkState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.selctx = arg[:255]  # char secctx[SECMARK_SECCTX_MAX], cut by XTOPT_PUT

    def final(self, st: _SecmarkState, rb: RuleBuild) -> Tuple[str, str]:
        return f" --selctx {st.selctx}", f" SECMARK selctx {st.selctx}"

    def restrict(self, st: _SecmarkState, rb: RuleBuild) -> Restriction:
        if rb.table not in _SECURITY_TABLES:
            return None, self.only_tables, None
        return None, None, MISSING_OBJECT[rb.backend]


@dataclass
class _ConnsecmarkState:
    mode: Optional[str] = None  # "save" or "restore"


@register_target
class ConnsecmarkTarget(Ext[_ConnsecmarkState]):
    state = _ConnsecmarkState
    name = "CONNSECMARK"
    is_target = True
    opts = {"save": Opt("save", arg=False), "restore": Opt("restore", arg=False)}
    excl = {"save": ("restore",), "restore": ("save",)}
    only_tables = _SECURITY_TABLES

    def parse(
        self, st: _ConnsecmarkState, oid: str, arg: str, inv: bool, rb: RuleBuild, cur: Cursor
    ) -> None:
        st.mode = oid

    def final(self, st: _ConnsecmarkState, rb: RuleBuild) -> Tuple[str, str]:
        if st.mode is None:
            raise ParameterProblem("CONNSECMARK target: parameter required")
        return f" --{st.mode}", f" CONNSECMARK {st.mode}"
