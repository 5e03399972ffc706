"""What the match modules share: port and protocol checks."""

from __future__ import annotations

from typing import List, Optional

from ..ext import (
    RuleBuild,
)

__all__: List[str] = []


def _ports_txt(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}:{hi}"


def _print_ports(name: str, lo: int, hi: int, inv: bool) -> str:
    if lo == 0 and hi == 0xFFFF and not inv:
        return ""
    i = "!" if inv else ""
    if lo == hi:
        return f" {name}:{i}{lo}"
    return f" {name}s:{i}{lo}:{hi}"


def _save_ports(opt: str, lo: int, hi: int, inv: bool) -> str:
    if lo == 0 and hi == 0xFFFF:
        return ""
    return f"{' !' if inv else ''} --{opt} {_ports_txt(lo, hi)}"


def _refuse_proto(rb: RuleBuild, proto: int) -> Optional[str]:
    """xt_check_match: a match bound to a protocol needs ``-p`` of it, not inverted."""
    if rb.proto != proto or rb.proto_inv:
        return "Invalid argument"
    return None
