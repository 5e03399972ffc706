"""Rule identity without asking the kernel: the canonical text iptables-save prints.

The rule engine (:mod:`iptwrap._rulespec`) reproduces, per release, backend and
family, exactly the text ``iptables-save`` prints for a rule. The batch and sync paths use it to compare the
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
    "canonical_key_texts",
    "CanonicalError",
    "without_prefix_lengths",
    "delete_takes_an_earlier_rule",
    "repeats_a_match",
]


class CanonicalError(Exception):
    """The spec could not be canonicalised locally (unknown module, or invalid)."""


# Canonical texts already found: per (family, backend, version, table, chain), a dict
# from the rule's key (its tokens joined by newlines, "\0" for none) to its text. A
# resync probes a thousand keys of one chain with one ``map`` over that dict: no
# tuple to build or hash per rule.
_ChainCache = Dict[str, str]
_caches: Dict[Tuple[int, str, str, str, str], _ChainCache] = {}
_cached = 0
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
    cache = _chain_cache(family, backend, version, table, chain)
    key = "\n".join(tokens) if tokens else "\0"
    if key.count("\n") != max(len(tokens) - 1, 0):
        cache = {}  # a token holding a newline: its key would name other tokens too
    cached = cache.get(key)
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
    _remember(cache, key, text)
    return text


def _chain_cache(family: int, backend: str, version: str, table: str, chain: str) -> _ChainCache:
    where = (family, backend, version, table, chain)
    cache = _caches.get(where)
    if cache is None:
        with _cache_lock:
            cache = _caches.setdefault(where, {})
    return cache


def _remember(cache: _ChainCache, key: str, text: str) -> None:
    global _cached
    with _cache_lock:
        if _cached >= _CACHE_MAX:
            for other in _caches.values():
                other.clear()
            _cached = 0
        if key not in cache:
            _cached += 1
        cache[key] = text


def canonical_key_texts(
    keys: Sequence[str],
    *,
    table: str,
    chain: str,
    family: int,
    backend: str,
    version: str = _VERSION,
    chain_exists: Optional[Callable[[str, str], bool]] = None,
) -> List[Optional[str]]:
    """:func:`canonical_rule_text` for many rules of one chain, given as keys (tokens
    joined by newlines, ``"\0"`` for none); None where it fails.

    A resync asks for the same thousand rules each time: one ``map`` over the chain's
    cache, then the engine only for the misses.
    """
    cache = _chain_cache(family, backend, version, table, chain)
    texts: List[Optional[str]] = list(map(cache.get, keys))
    if None not in texts:
        return texts
    for i, text in enumerate(texts):
        if text is None:
            key = keys[i]
            tokens = () if key == "\0" else tuple(key.split("\n"))
            with contextlib.suppress(CanonicalError):
                texts[i] = canonical_rule_text(
                    tokens,
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
