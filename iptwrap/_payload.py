"""Checking what we send: table and chain names, rule tokens, restore payloads.

argv tokens never meet a shell, but they do meet iptables' own option parser and,
for restore, a line-oriented text format. A chain name starting with ``-`` would be
read as an option; a newline inside a comment would end a restore line and start a
new command. So every value is checked here before it leaves the process, and values
that go into a restore payload are quoted the way ``iptables-save`` quotes them.
"""

from __future__ import annotations

import difflib
import re
from itertools import chain as _chain
from typing import Iterable, List, Optional, Sequence, Set, Tuple, Union, cast

from ._errors import InvalidArgumentError, UnknownTableError
from ._ruleargs import may_hold_refused_option, refused_option
from ._types import ChainLike, TableLike, TableName

__all__ = [
    "InvalidArgumentError",
    "table_name",
    "checked_table",
    "chain_name",
    "rule_tokens",
    "quote_token",
    "restore_line",
    "key_tokens",
    "key_texts",
    "rule_keys",
    "check_payload",
    "check_rule_options",
    "first_refused_rule",
]

_KNOWN_TABLES = frozenset({"filter", "nat", "mangle", "raw", "security"})
_FORBIDDEN = ("\0", "\n", "\r")
_NEEDS_QUOTES = re.compile(
    r"[\"'\\\t\n\r\f\v\0\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000#]"
)
# Characters of a join of rule keys that send key_texts off its fast path: whitespace
# inside a token, a quote, a backslash, a comment sign, NUL (the no-token marker).
_KEY_QUOTES = " \"'\\\t\f\v\0\x1c\x1d\x1e\x1f#"
# A character that makes its token need quotes wherever it stands: whitespace other
# than the separators of a join of keys ("\n", "\r"), a quote or a backslash.
_QUOTED_CHAR = re.compile(
    "[\t\x0b\x0c\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\"'\\\\]"
)
# A chain name that needs no closer look: no leading "-"/"!", no whitespace or quotes.
_SAFE_CHAIN = re.compile(r"[^\s\0\"'\\!-][^\s\0\"'\\]*\Z")
# A word iptables-restore reads back unchanged without quotes: no whitespace, no quote
# or backslash (its tokenizer's escapes), not empty, not starting a comment.
_PLAIN = re.compile(r"[^\s\"'\\#][^\s\"'\\]*\Z")
_ESCAPED = re.compile(r'(["\\\'])')
# Names already found good: a sync of a kube-like table checks 4,000 of them each time.
_GOOD_CHAINS: Set[str] = set()
# Chain names longer than this are refused by iptables (XT_EXTENSION_MAXNAMELEN - 1).
MAX_CHAIN_NAME = 28


def table_name(table: Union[TableLike, str]) -> str:
    name = table if type(table) is str else str(getattr(table, "value", table))
    if name in _KNOWN_TABLES:
        return name
    raise UnknownTableError(_unknown_table(name))


def _unknown_table(name: object) -> str:
    known = ", ".join(sorted(_KNOWN_TABLES))
    if not isinstance(name, str):
        return f"a table is a Table or one of {known}, not {type(name).__name__}"
    guess = name.strip().lower()
    if guess not in _KNOWN_TABLES:
        close = difflib.get_close_matches(guess, sorted(_KNOWN_TABLES), n=1, cutoff=0.6)
        guess = close[0] if close else ""
    hint = f"did you mean {guess!r}? " if guess else ""
    return f"iptables has no table {name!r}: {hint}(its tables: {known})"


def checked_table(name: str) -> TableName:
    """A table name :func:`table_name` already checked, typed as one (no check again)."""
    return cast(TableName, name)


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
    """The rule arguments as argv tokens.

    Refuses non-strings, NUL and line breaks, and any option that would choose the
    table, the command or how it runs (:mod:`iptwrap._ruleargs`).
    """
    tokens = list(args)
    for arg in tokens:
        if type(arg) is not str and not isinstance(arg, str):
            raise InvalidArgumentError(f"rule arguments must be str, got {type(arg).__name__}")
    joined = "\n".join(tokens)  # type: ignore[arg-type]
    if "\0" in joined or "\r" in joined or joined.count("\n") != max(len(tokens) - 1, 0):
        for arg in tokens:
            for bad in _FORBIDDEN:
                if bad in arg:  # type: ignore[operator]
                    raise InvalidArgumentError(f"rule argument contains {bad!r}: {arg!r}")
    if may_hold_refused_option(joined):
        check_rule_options(tokens)  # type: ignore[arg-type]
    return tokens  # type: ignore[return-value]


def check_rule_options(tokens: Sequence[str]) -> None:
    """Refuse a rule whose arguments hold ``-t``, a command, ``-4/-6``, ``-w/-W``, ...

    iptables would obey it: ``-t nat`` among the arguments moves the rule to nat.
    """
    found = refused_option(tokens)
    if found is not None:
        token, option = found
        raise InvalidArgumentError(
            f"rule argument {token!r} is iptables' --{option} option: a rule's arguments "
            "may not choose the table, the command or how it runs; the client sets those "
            f"(rule: {' '.join(tokens)!r})"
        )


def first_refused_rule(rules: Sequence[Sequence[str]]) -> Optional[int]:
    """The index of the first rule holding a refused option, or None.

    Whether a token may be a refused option depends on that token alone, and the
    distinct tokens starting with ``-`` are few whatever the number of rules (option
    names, mostly): one set over all the tokens and one search over those few replace a
    search over every rule, a third of a bulk append's Python time before. Rules are
    scanned one by one only when one of those tokens may be refused.
    """
    dash = [token for token in set(_chain.from_iterable(rules)) if token[:1] == "-"]
    if not dash or not may_hold_refused_option("\n".join(dash)):
        return None
    for index, rule in enumerate(rules):
        if refused_option(rule) is not None:
            return index
    return None


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


def rule_keys(rules: Iterable[Sequence[str]]) -> Tuple[Sequence[Sequence[str]], List[str]]:
    """The rules, checked, and an identity key for each: its tokens joined by newlines.

    No token may hold a newline, so equal keys are equal token sequences (a rule
    without tokens gets ``"\\0"``, which no token may hold either). Keys are plain
    strings: the Syncer keeps 10k of them between syncs and compares them in C, and
    the garbage collector has nothing to scan, where a tuple per rule cost it tens of
    milliseconds. Building them is one join per rule; quoting waits until a chain
    must actually be written (:func:`key_texts`).
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
            refused = first_refused_rule(rules)
            if refused is not None:
                check_rule_options(rules[refused])
            if lengths.count(0):
                keys = [key if n else "\0" for key, n in zip(keys, lengths)]
            return rules, keys
    checked = [tuple(rule_tokens(r)) for r in rules]  # names the culprit
    return checked, ["\n".join(r) if r else "\0" for r in checked]


def key_tokens(key: str) -> Tuple[str, ...]:
    """The tokens behind a :func:`rule_keys` key."""
    return () if key == "\0" else tuple(key.split("\n"))


def key_texts(keys: Sequence[str], *, empty_tokens: bool) -> List[str]:
    """Restore texts for keys; ``empty_tokens`` says some key may hold an empty token.

    The keys are joined (``"\\r"`` between keys, ``"\\n"`` between tokens); only the
    tokens in which one search over the join finds something that needs quotes are
    quoted, in place; then the newlines become spaces and the join is split again.
    A kube-like table has a thousand comments with spaces among ten thousand rules:
    quoting key by key cost 4.6 µs a key, most of a sync's Python time.
    """
    if not keys:
        return []
    text = "\r".join(keys)
    if not text.isascii() or empty_tokens or any(c in text for c in _KEY_QUOTES):
        text = _quote_tokens(text, empty_tokens)
    return text.replace("\0", "").replace("\n", " ").split("\r")


def _quote_tokens(text: str, empty_tokens: bool) -> str:
    """The join of keys with each token that needs quotes quoted as :func:`restore_line` does."""
    pieces: List[str] = []
    last = 0  # the end of the last token quoted (a separator, or the end)
    for at in sorted(set(_quote_marks(text, empty_tokens))):
        if at < last:
            continue  # a second mark in the token just quoted
        start = max(text.rfind("\n", last, at), text.rfind("\r", last, at)) + 1
        if start < last:
            continue  # at == last: the separator after the token just quoted
        newline, return_ = text.find("\n", at), text.find("\r", at)
        end = newline if return_ < 0 or 0 <= newline < return_ else return_
        if end < 0:
            end = len(text)
        pieces.append(text[last:start])
        pieces.append(quote_token(text[start:end]))
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _quote_marks(text: str, empty_tokens: bool) -> List[int]:
    """Offsets, in a join of keys, inside (or at the start of) a token that needs quotes.

    What :data:`_PLAIN` refuses: whitespace other than the separators, a quote or a
    backslash (one character-class search, which the regex engine skips through), a
    token starting with ``#``, or an empty token (literal searches, made only when the
    text has a ``#`` or the caller saw an empty token: each costs a pass over the join).
    """
    marks = [m.start() for m in _QUOTED_CHAR.finditer(text)]
    pairs: List[str] = []
    if "#" in text:
        pairs += ["\n#", "\r#"]
        if text[:1] == "#":
            marks.append(0)
    if empty_tokens:
        pairs += ["\n\n", "\n\r", "\r\n", "\r\r"]
        if text[:1] in ("\n", "\r") or text == "":
            marks.append(0)
        if text[-1:] in ("\n", "\r"):
            marks.append(len(text))
    for pair in pairs:
        at = text.find(pair)
        while at >= 0:
            marks.append(at + 1)
            at = text.find(pair, at + 1)
    return marks


def check_payload(data: bytes) -> None:
    """Refuse a restore payload that iptables-restore would misread."""
    if b"\0" in data:
        raise InvalidArgumentError("restore payload contains a NUL byte")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgumentError(f"restore payload is not UTF-8: {exc}") from None
