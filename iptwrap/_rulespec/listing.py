"""One rule line of ``iptables -L -n [-v] [-x] [--line-numbers]``, from a RuleSpec."""

from __future__ import annotations

from typing import List, Optional

from . import matches as _m  # noqa: F401  (registers the match modules)
from . import targets as _t  # noqa: F401  (registers the target modules)
from .model import RuleSpec
from .values import (
    proto_columns,
    proto_number,
    proto_save_name,
)

__all__ = ["format_listing_line"]


def _num(v: int, exact: bool) -> str:
    if exact:
        return f"{v:8d} "
    if v <= 99999:
        return f"{v:5d} "
    for suffix in ("K", "M", "G", "T"):
        v = (v + 500) // 1000
        if v <= 9999 or suffix == "T":
            return f"{v:4d}{suffix} "
    return f"{v:4d}T "  # pragma: no cover


def format_listing_line(
    pkts: int,
    bytes_: int,
    rule: RuleSpec,
    num: Optional[int] = None,
    *,
    verbose: bool = True,
    exact: bool = True,
    numeric: bool = True,
) -> str:
    """One rule line of ``iptables -L -n [-v] [-x] [--line-numbers]`` (no newline).

    ``numeric=False`` only changes the prot column (names) and the any-address
    (``anywhere``) / any-interface (``any``) forms; match texts stay numeric.
    """
    target, prot, opt, inn, outn, src, dst, extra = rule.listing
    parts: List[str] = []
    if num is not None:
        parts.append(f"{num:<4d} ")
    if verbose:
        parts.append(_num(pkts, exact))
        parts.append(_num(bytes_, exact))
    parts.append(f"{target:<9s} ")
    neg = prot.startswith("!")
    pv = prot[1:] if neg else prot
    pn = proto_number(pv) if pv.isdigit() or rule.list_wide_proto else None
    if not numeric and pn is not None:
        pv = "all" if pn == 0 else proto_save_name(pn)
    parts.append(proto_columns(("!" if neg else "") + pv, opt, rule.list_wide_proto))
    if verbose:
        if not numeric:
            inn = inn.replace("*", "any") if inn in ("*", "!*") else inn
            outn = outn.replace("*", "any") if outn in ("*", "!*") else outn
        parts.append(f" {inn:<6s} ")
        parts.append(f"{outn:<6s} ")
    for a in (src, dst):
        if not numeric and a in ("0.0.0.0/0", "::/0"):
            a = "anywhere"
        if a.startswith("!"):
            parts.append("!" + f"{a[1:]:<19s} ")
        else:
            parts.append(" " + f"{a:<19s} ")
    if extra:
        glued = extra.startswith("[goto]") or rule.list_glued
        parts.append(extra if glued else " " + extra)
    return "".join(parts)
