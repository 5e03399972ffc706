"""Checking what we send: table and chain names, rule tokens, restore payloads.

argv tokens never meet a shell, but they do meet iptables' own option parser and,
for restore, a line-oriented text format. A chain name starting with ``-`` would be
read as an option; a newline inside a comment would end a restore line and start a
new command. So every value is checked here before it leaves the process, and values
that go into a restore payload are quoted the way ``iptables-save`` quotes them.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional, Sequence, Set, Tuple

from ._types import ChainLike, TableLike

__all__ = [
    "InvalidArgumentError",
    "table_name",
    "chain_name",
    "rule_tokens",
    "rule_tuple",
    "checked_rules",
    "quote_token",
    "restore_line",
    "plain_specs",
    "restore_texts",
    "rule_keys",
    "check_payload",
]

_TABLE = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")
_KNOWN_TABLES = frozenset({"filter", "nat", "mangle", "raw", "security"})
_FORBIDDEN = ("\0", "\n", "\r")
_NEEDS_QUOTES = re.compile(
    r"[\"'\\\t\n\r\f\v\0\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000#]"
)
# A chain name that needs no closer look: no leading "-"/"!", no whitespace or quotes.
# The ASCII part of _NEEDS_QUOTES, without the newline (the line separator).
_ASCII_NEEDS_QUOTES = "\"'\\\t\r\f\v\0\x1c\x1d\x1e\x1f#"
_SAFE_CHAIN = re.compile(r"[^\s\0\"'\\!-][^\s\0\"'\\]*\Z")
# A word iptables-restore reads back unchanged without quotes: no whitespace, no quote
# or backslash (its tokenizer's escapes), not empty, not starting a comment.
_PLAIN = re.compile(r"[^\s\"'\\#][^\s\"'\\]*\Z")
_ESCAPED = re.compile(r'(["\\\'])')
# Names already found good: a sync of a kube-like table checks 4,000 of them each time.
_GOOD_CHAINS: Set[str] = set()
# Chain names longer than this are refused by iptables (XT_EXTENSION_MAXNAMELEN - 1).
MAX_CHAIN_NAME = 28


class InvalidArgumentError(ValueError):
    """A table, chain or rule argument that cannot be sent safely."""


def table_name(table: TableLike) -> str:
    name = table if type(table) is str else str(getattr(table, "value", table))
    if name in _KNOWN_TABLES or _TABLE.match(name):
        return name
    raise InvalidArgumentError(f"invalid table name: {name!r}")


def chain_name(chain: ChainLike) -> str:
    """A chain name safe to pass as one argv token and one restore word."""
    name = chain if type(chain) is str else str(getattr(chain, "value", chain))
    if name in _GOOD_CHAINS:
        return name
    if _SAFE_CHAIN.match(name) and len(name) <= MAX_CHAIN_NAME:
        if len(_GOOD_CHAINS) >= 65_536:
            _GOOD_CHAINS.clear()
        _GOOD_CHAINS.add(name)
        return name
    if not name:
        raise InvalidArgumentError("empty chain name")
    if name[0] in "-!":
        raise InvalidArgumentError(f"chain name may not start with {name[0]!r}: {name!r}")
    if len(name) > MAX_CHAIN_NAME:
        raise InvalidArgumentError(
            f"chain name {name!r} is {len(name)} characters; iptables allows {MAX_CHAIN_NAME}"
        )
    raise InvalidArgumentError(f"chain name contains whitespace, quotes or NUL: {name!r}")


def rule_tokens(args: Iterable[object]) -> List[str]:
    """The rule arguments as argv tokens; refuses non-strings, NUL and line breaks."""
    tokens = list(args)
    for arg in tokens:
        if type(arg) is not str and not isinstance(arg, str):
            raise InvalidArgumentError(f"rule arguments must be str, got {type(arg).__name__}")
    joined = "".join(tokens)  # type: ignore[arg-type]
    if "\n" in joined or "\0" in joined or "\r" in joined:
        for arg in tokens:
            for bad in _FORBIDDEN:
                if bad in arg:  # type: ignore[operator]
                    raise InvalidArgumentError(f"rule argument contains {bad!r}: {arg!r}")
    return tokens  # type: ignore[return-value]


def rule_tuple(args: Sequence[str]) -> Tuple[str, ...]:
    """:func:`rule_tokens` as a tuple, with a fast path for a tuple of clean strings.

    Agents hand thousands of rules to batch and sync; most are tuples already.
    """
    if type(args) is tuple:
        try:
            joined = "".join(args)
        except TypeError:
            joined = "\n"  # not all str: let rule_tokens name the culprit
        if "\n" not in joined and "\0" not in joined and "\r" not in joined:
            return args
    return tuple(rule_tokens(args))


def checked_rules(
    rules: Iterable[Sequence[str]],
) -> Tuple[List[Tuple[str, ...]], List[str]]:
    """:func:`rule_tuple` for many rules at once, with each rule's ``" ".join``.

    Agents hand over a chain's rules as a list; one scan of all their text for line
    breaks and NUL costs less than three scans per rule. Any doubt falls back to
    :func:`rule_tokens` rule by rule, which names the culprit.
    """
    checked, joined = _checked_joins(rules)
    return list(map(tuple, checked)), joined  # tuple(t) is t for a tuple: no copy


def _checked_joins(
    rules: Iterable[Sequence[str]],
) -> Tuple[Sequence[Sequence[str]], List[str]]:
    if not isinstance(rules, (list, tuple)):
        rules = list(rules)
    if str in set(map(type, rules)):
        raise InvalidArgumentError("each rule is a sequence of argv tokens, not one str")
    try:
        joined: Optional[List[str]] = [" ".join(r) for r in rules]
    except TypeError:
        joined = None  # not all str
    if joined is not None:
        text = "\n".join(joined)
        if "\0" not in text and "\r" not in text and text.count("\n") == max(len(joined) - 1, 0):
            return rules, joined
    tuples = [tuple(rule_tokens(r)) for r in rules]
    return tuples, [" ".join(r) for r in tuples]


def quote_token(token: str) -> str:
    """Quote one word for a restore payload.

    Like ``iptables-save`` (``xtables_save_string``): double quotes around the value,
    backslash before ``"``, ``\\`` and ``'``. Unlike it, plain option words such as
    ``10.0.0.0/8`` stay unquoted, so payloads remain readable in logs.
    """
    for bad in _FORBIDDEN:
        if bad in token:
            raise InvalidArgumentError(f"value contains {bad!r}: {token!r}")
    if _PLAIN.match(token):
        return token
    return '"' + _ESCAPED.sub(r"\\\1", token) + '"'


def restore_line(tokens: Sequence[str], joined: Optional[str] = None) -> str:
    """One restore line (no newline) from already-checked tokens.

    ``joined`` is ``" ".join(tokens)`` when the caller has it already.
    """
    if joined is None:
        joined = " ".join(tokens)
    # Fast path: nothing to quote when no token is empty, has a quote, a backslash,
    # whitespace, or starts a comment. (One scan of the joined text, in C.)
    if (
        joined.count(" ") == len(tokens) - 1
        and "" not in tokens
        and not _NEEDS_QUOTES.search(joined)
    ):
        return joined
    for bad in _FORBIDDEN:  # defence in depth: a line break would start a new command
        if bad in joined:
            raise InvalidArgumentError(f"value contains {bad!r}: {joined!r}")
    plain = _PLAIN.match
    return " ".join([t if plain(t) else '"' + _ESCAPED.sub(r"\\\1", t) + '"' for t in tokens])


def plain_specs(specs: Sequence[str], rules: Sequence[Sequence[str]]) -> bool:
    """True when every ``specs[i] == " ".join(rules[i])`` is already its restore text.

    One pass over all the text instead of one per rule: a batch of 5,000 rules would
    otherwise spend as long quoting as legacy iptables-restore spends applying them.
    The rules must be checked already (no line breaks) and have no empty token; a
    False answer only means "quote them one by one".
    """
    text = "\n".join(specs)
    if not text.isascii():
        return False  # non-ASCII whitespace (U+00A0, U+2028...) must be quoted
    for char in _ASCII_NEEDS_QUOTES:
        if char in text:
            return False
    # a token containing a space shows as one more space than the joins put in
    # (with no empty token, an empty text is a rule without tokens)
    spaces = sum(map(len, rules)) - len(rules) + specs.count("")
    return text.count(" ") == spaces


def rule_keys(rules: Iterable[Sequence[str]]) -> Tuple[Sequence[Sequence[str]], List[str]]:
    """The rules, checked, and an identity key for each: its tokens joined by newlines.

    No token may hold a newline, so equal keys are equal token sequences (a rule
    without tokens gets ``"\\0"``, which no token may hold either). Keys are plain
    strings: the Syncer keeps 10k of them between syncs and compares them in C, and
    the garbage collector has nothing to scan, where a tuple per rule cost it tens of
    milliseconds. Building them is one join per rule; quoting waits until a chain
    must actually be written (:func:`restore_texts`).
    """
    if not isinstance(rules, (list, tuple)):
        rules = list(rules)
    if str in set(map(type, rules)):
        raise InvalidArgumentError("each rule is a sequence of argv tokens, not one str")
    try:
        keys: Optional[List[str]] = ["\n".join(r) for r in rules]
    except TypeError:
        keys = None  # not all str
    if keys is not None:
        lengths = list(map(len, rules))
        text = "\r".join(keys)
        if (
            "\0" not in text
            and text.count("\r") == max(len(keys) - 1, 0)
            and text.count("\n") == sum(lengths) - len(lengths) + lengths.count(0)
        ):
            if lengths.count(0):
                keys = [key if n else "\0" for key, n in zip(keys, lengths)]
            return rules, keys
    checked = [tuple(rule_tokens(r)) for r in rules]  # names the culprit
    return checked, ["\n".join(r) if r else "\0" for r in checked]


def restore_texts(rules: Iterable[Sequence[str]]) -> List[str]:
    """Each rule's restore text (what follows ``-A CHAIN``), checked and quoted.

    Equal texts are equal token sequences (quoting is undone by iptables-restore's
    tokenizer), so a list of texts is an immutable, comparable snapshot of the rules:
    strings, which the garbage collector never scans, rather than a tuple per rule.
    """
    checked, joined = _checked_joins(rules)  # no copies: the texts are the snapshot
    if all(map(all, checked)) and plain_specs(joined, checked):
        return joined
    return [restore_line(r, j) for r, j in zip(checked, joined)]


def check_payload(data: bytes) -> None:
    """Refuse a restore payload that iptables-restore would misread."""
    if b"\0" in data:
        raise InvalidArgumentError("restore payload contains a NUL byte")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgumentError(f"restore payload is not UTF-8: {exc}") from None
