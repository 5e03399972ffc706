"""Rule identity without asking the kernel: the canonical text iptables-save prints.

The fake's rule-spec parser reproduces, per backend and family, exactly the text
``iptables-save`` prints for a rule. The batch and sync paths use it to compare the
rules an agent asks for against one ``iptables-save`` snapshot, instead of one
``iptables -C`` per rule. When the parser does not know a match or target, the caller
falls back to asking the kernel (``-C``): a slower answer, never a wrong one.
"""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Callable, Dict, List, Optional, Sequence, Tuple

__all__ = [
    "canonical_rule_text",
    "canonical_texts",
    "CanonicalError",
    "without_prefix_lengths",
    "delete_takes_an_earlier_rule",
    "repeats_a_match",
]


class CanonicalError(Exception):
    """The spec could not be canonicalised locally (unknown module, or invalid)."""


_CacheKey = Tuple[int, str, str, str, str, Tuple[str, ...]]
_cache: Dict[_CacheKey, str] = {}
_cache_lock = threading.Lock()
_CACHE_MAX = 200_000
# The iptables version whose save format the parser imitates (ground truth: 1.8.9).
_VERSION = "1.8.9"


def canonical_rule_text(
    tokens: Sequence[str],
    *,
    table: str,
    chain: str,
    family: int,
    backend: str,
    version: str = _VERSION,
    chain_exists: Optional[Callable[[str, str], bool]] = None,
) -> str:
    """The text after ``-A CHAIN `` that iptables-save would print for this rule.

    ``chain_exists`` answers for ``-j``/``-g`` targets; by default every name that is
    not a known target is accepted as a user chain (identity does not depend on it).
    Successful answers are cached: agents resync the same rules again and again.
    """
    key = (family, backend, version, table, chain, tuple(tokens))
    cached = _cache.get(key)
    if cached is not None:
        return cached
    # Imported here: the fake package imports the client, which imports this module.
    from ._rulespec.errors import FakeError
    from ._rulespec.model import ParseContext
    from ._rulespec.parser import parse_command

    exists = chain_exists or (lambda _t, _c: True)
    prog = "ip6tables" if family == 6 else "iptables"
    ctx = ParseContext(
        prog=prog, family=family, backend=backend, version=version, chain_exists=exists
    )
    try:
        command = parse_command(["-t", table, "-A", chain, *tokens], ctx)
    except FakeError as exc:
        raise CanonicalError(str(exc)) from None
    if len(command.rules) > 1 or command.rule is None:
        # a comma list of addresses is several kernel rules: not one identity
        raise CanonicalError("spec expands to several rules")
    text = command.rule.text
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = text
    return text


def canonical_texts(
    rules: Sequence[Tuple[str, ...]],
    *,
    table: str,
    chain: str,
    family: int,
    backend: str,
    version: str = _VERSION,
    chain_exists: Optional[Callable[[str, str], bool]] = None,
) -> List[Optional[str]]:
    """:func:`canonical_rule_text` for many rules of one chain; None where it fails.

    A resync asks for the same thousand rules each time: one cache probe each, in a
    loop, instead of a call with keyword arguments each.
    """
    get = _cache.get
    texts: List[Optional[str]] = [
        get((family, backend, version, table, chain, tuple(rule))) for rule in rules
    ]
    for i, text in enumerate(texts):
        if text is None:
            with contextlib.suppress(CanonicalError):
                texts[i] = canonical_rule_text(
                    rules[i],
                    table=table,
                    chain=chain,
                    family=family,
                    backend=backend,
                    version=version,
                    chain_exists=chain_exists,
                )
    return texts


_PREFIX_LENGTH = re.compile(r"( -[sd] [^ /]+)/\d+")


def without_prefix_lengths(line: str) -> str:
    """A saved rule as ip6tables-nft's ``-C``/``-D`` compare it: no ``-s``/``-d`` prefix length.

    ``line`` starts with a space or ``-A CHAIN``: the pattern needs the space before
    ``-s``/``-d``.
    """
    return _PREFIX_LENGTH.sub(r"\1", line)


def delete_takes_an_earlier_rule(texts: Sequence[str], index: int) -> bool:
    """Would ip6tables-nft's ``-D spec`` of ``texts[index]`` remove an earlier rule?

    It removes the first rule equal to the spec but for ``-s``/``-d`` prefix lengths;
    when that is not this one, the rule must be deleted by its number, ``index + 1``.
    ``texts`` are one chain's saved rules, in order, with or without ``-A CHAIN``.
    """
    loose = without_prefix_lengths(" " + texts[index])
    return any(without_prefix_lengths(" " + text) == loose for text in texts[:index])


_PROTO_OPTIONS = frozenset(
    {"--dport", "--sport", "--destination-port", "--source-port", "--tcp-flags", "--syn"}
)


def repeats_a_match(tokens: Sequence[str]) -> bool:
    """Does the spec load a match twice: ``-m tcp ... -m tcp``, or ``-p tcp --dport 22
    -m tcp ...`` (the port option loads tcp implicitly, then ``-m tcp`` again)?"""
    names = [v for flag, v in zip(tokens, tokens[1:]) if flag in ("-m", "--match")]
    if len(names) != len(set(names)):
        return True
    for i, (flag, value) in enumerate(zip(tokens, tokens[1:])):
        if flag in ("-m", "--match") and value in ("tcp", "udp"):
            return any(t in _PROTO_OPTIONS for t in tokens[:i])
    return False
