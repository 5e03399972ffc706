"""Mistakes caught before anything runs, each with the hint the binary's message lacks.

Each check refuses only what the real binaries refuse too (pinned against them in
``tests/integration/test_see_what_it_does.py``), and says what to do instead:

- deleting a built-in chain: nft says "No chain/target/match by that name" (so an
  ``except NotFoundError: pass`` hid the mistake), legacy "Invalid argument";
- an address of the other family after ``-s``/``-d``/``--to-*``: both say
  "host/network ... not found", which reads like DNS;
- a target outside the tables it registers for (DNAT in filter): nft says
  "RULE_APPEND failed (Invalid argument)", legacy "Invalid argument. Run `dmesg'".

The single-call methods check first; batch and sync, which send one atomic restore,
diagnose the operation a failed restore blames, so their success path costs nothing.
"""

from __future__ import annotations

import ipaddress
from typing import Dict, FrozenSet, Optional, Sequence

from ._errors import InvalidArgumentError

__all__ = ["BUILTIN_CHAINS", "check_delete_chain", "rule_hint", "check_rule"]

_ALL = frozenset({"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"})
BUILTIN_CHAINS: Dict[str, FrozenSet[str]] = {
    "filter": frozenset({"INPUT", "FORWARD", "OUTPUT"}),
    "nat": frozenset({"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}),
    "mangle": _ALL,
    "raw": frozenset({"PREROUTING", "OUTPUT"}),
    "security": frozenset({"INPUT", "FORWARD", "OUTPUT"}),
}

_HOST_FLAGS = frozenset({"-s", "--source", "--src", "-d", "--destination", "--dst"})
_TO_FLAGS = frozenset({"--to-destination", "--to-source", "--to"})
_JUMP_FLAGS = frozenset({"-j", "--jump"})
_VERDICTS = frozenset({"ACCEPT", "DROP", "RETURN", "QUEUE"})


def check_delete_chain(table: str, chain: str) -> None:
    if chain in BUILTIN_CHAINS.get(table, ()):
        raise InvalidArgumentError(
            f"{chain} is a built-in chain of the {table} table: it cannot be deleted "
            "(flush_chain empties it; set_policy changes its verdict)"
        )


def check_rule(family: int, table: str, tokens: Sequence[str]) -> None:
    hint = rule_hint(family, table, tokens)
    if hint is not None:
        raise InvalidArgumentError(hint)


def rule_hint(family: int, table: str, tokens: Sequence[str]) -> Optional[str]:
    """Why the binaries would refuse this rule, when it is one of the mistakes above."""
    for flag, value in zip(tokens, tokens[1:]):
        if flag in _HOST_FLAGS or flag in _TO_FLAGS:
            other = _other_family(family, value, port=flag in _TO_FLAGS)
            if other is not None:
                tool = "ip6tables" if family == 6 else "iptables"
                return (
                    f"{other!r} (after {flag}) is an IPv{10 - family} address, and this "
                    f"client drives {tool} (IPv{family}): use "
                    f"IPTables(Protocol.IPV{10 - family}) for it"
                )
        elif flag in _JUMP_FLAGS and value not in _VERDICTS and value.isupper():
            tables = _target_tables(value)
            if tables is not None and table not in tables:
                where = ", ".join(sorted(tables))
                only = "table" if len(tables) == 1 else "tables"
                return f"{value} is a target of the {where} {only} only, not of {table}"
    return None


def _other_family(family: int, value: str, port: bool) -> Optional[str]:
    """The first address of ``value`` that belongs to the other family (a /0 never does:
    the binaries ignore the address then)."""
    for part in value.split(","):
        for address in part.split("-", 1) if port else (part,):
            host, slash, mask = address.partition("/")
            if slash and mask.strip() in ("0", "0.0.0.0", "::"):
                continue
            if port:
                host = _without_port(host, family)
            try:
                version = ipaddress.ip_address(host.strip("[]")).version
            except ValueError:
                continue  # a host name, or not an address at all: the binary decides
            if version != family:
                return address
    return None


def _without_port(host: str, family: int) -> str:
    """``192.0.2.1:80`` -> ``192.0.2.1``; ``[2001:db8::1]:80`` -> ``[2001:db8::1]``."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _target_tables(target: str) -> Optional[FrozenSet[str]]:
    """The tables the rule engine says ``target`` registers for (None: any, or unknown)."""
    from ._rulespec import parser  # noqa: F401  (registers the extensions; loaded on need)
    from ._rulespec.ext import TARGETS

    ext = TARGETS.get(target)
    return None if ext is None else ext.only_tables
