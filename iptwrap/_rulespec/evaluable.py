"""A saved rule as its parts, for code that evaluates rules (the packet tracer).

The printers need text; an evaluator needs the parsed values: the base matches
(``-p``, ``-s``, ``-d``, ``-i``, ``-o``, ``-f`` and their ``!``), and each match and the
target with its typed state. The same parser that checks and canonicalises commands
reads them, so an evaluator sees a rule exactly as the printers do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

from .model import ParseContext
from .parser import _parse, _Parser
from .values import parse_addresses

__all__ = ["RuleParts", "rule_parts", "split_saved"]

Net = Tuple[int, int]  # (address & mask, mask) as integers


@dataclass(frozen=True)
class RuleParts:
    """One rule, parsed: what an evaluator tests and does."""

    proto: Optional[int]  # -p as a number; None or 0: any
    proto_inv: bool
    src: Optional[Net]
    src_inv: bool
    dst: Optional[Net]
    dst_inv: bool
    iniface: Optional[str]  # "eth+" is a prefix
    iniface_inv: bool
    outiface: Optional[str]
    outiface_inv: bool
    fragment: Optional[bool]  # -f: True, ! -f: False, None: not given
    matches: Tuple[Tuple[str, Any], ...]  # (module name, its typed state), in order
    target: Optional[str]  # "ACCEPT", "DNAT", a chain name, ... None: no -j/-g
    target_state: Any  # the target module's typed state (None for verdicts, chains)
    goto: bool


def split_saved(text: str) -> List[str]:
    """The words of an ``iptables-save`` rule: blanks separate, ``"..."`` groups, and a
    backslash inside quotes escapes the next character (libxtables' save_string)."""
    out: List[str] = []
    buf: List[str] = []
    quoted = in_quote = escaped = False
    for ch in text:
        if in_quote:
            if escaped:
                buf.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_quote = False
            else:
                buf.append(ch)
        elif ch == '"':
            in_quote = quoted = True
        elif ch in " \t":
            if buf or quoted:
                out.append("".join(buf))
            buf, quoted = [], False
        else:
            buf.append(ch)
    if buf or quoted:
        out.append("".join(buf))
    return out


def rule_parts(
    tokens: Sequence[str],
    table: str,
    chain: str,
    family: int,
    *,
    backend: str = "nft",
    version: str = "1.8.9",
) -> RuleParts:
    """Parse a rule's words (what follows ``-A CHAIN``) into its parts.

    The rule comes from a saved ruleset, so the chains it jumps to and the sets it
    names are taken to exist. Raises the engine's errors for words iptables refuses.
    """
    ctx = ParseContext(
        prog="ip6tables" if family == 6 else "iptables",
        family=family,
        backend=backend,
        version=version,
        chain_exists=lambda _t, _c: True,
        set_exists=lambda _n: True,
        nfacct_exists=lambda _n: True,
    )
    p = _Parser(["-t", table, "-A", chain, *tokens], ctx)
    _parse(p, ctx)
    rb, inv = p.rb, p.invflags
    target = rb.target
    return RuleParts(
        proto=rb.proto,
        proto_inv=rb.proto_inv,
        src=parse_addresses(p.src, family)[0] if p.src is not None else None,
        src_inv=inv.get("s", False),
        dst=parse_addresses(p.dst, family)[0] if p.dst is not None else None,
        dst_inv=inv.get("d", False),
        iniface=p.iniface,
        iniface_inv=inv.get("i", False),
        outiface=p.outiface,
        outiface_inv=inv.get("o", False),
        fragment=(not inv.get("f", False)) if "f" in p.options else None,
        matches=tuple((m.ext.name, m.st) for m in rb.matches),
        target=p.jumpto,
        target_state=target.st if target is not None else None,
        goto=p.goto,
    )
