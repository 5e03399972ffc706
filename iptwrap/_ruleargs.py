"""A rule's arguments never choose the command or the table.

iptables reads a rule's arguments with ``getopt_long`` over the same option table as
the command in front of them, so an option among them wins over what the client put
there. Measured on 1.8.9, both backends, both families (``tests/data/rule_options.jsonl``):

- ``iptables -t filter -A INPUT -t nat -j ACCEPT`` exits 0 with the rule in **nat**;
  so do ``--t nat``, ``--ta nat``, ``--table=nat`` and the cluster ``-vtnat``;
- ``-V`` and ``-h`` exit 0 and add nothing; ``-4``, ``-w``, ``-w5``, ``-M PATH`` and
  ``--modprobe PATH`` are accepted and change how the command runs;
- another command (``-D INPUT``, ``-F``, ``-S``, ...) is refused by the binary, but in
  a restore payload ``-6`` makes ``iptables-restore`` skip the whole line silently.

So the client refuses, before anything runs, any token that getopt would read as one
of those options. It finds them the way getopt does: a short option inside a cluster,
a long option or any abbreviation of it (glibc accepts an unambiguous prefix), and
*not* a value: in ``-m comment --comment -t`` the ``-t`` is the comment. Telling a value
from an option needs each option's arity, so the scan follows ``-m``, ``-j`` and the
implicit protocol match like iptables does and takes the arity from the extension
registry. An option of an extension the registry does not model is assumed to take no
value: then a following ``-t`` is refused rather than risked.

A cheap regular expression over the joined tokens decides whether the exact scan is
needed at all; the bulk paths (a batch of 10,000 appends) run it once over the
distinct tokens that start with ``-`` (``_payload.first_refused_rule``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Tuple

from ._rulespec.options import CORE_LONG_OPTIONS, CORE_SHORT_OPTIONS

if TYPE_CHECKING:  # the registry itself is loaded on first need
    from ._rulespec.ext import Opt

__all__ = [
    "CORE_LONG_OPTIONS",
    "CORE_SHORT_OPTIONS",
    "FORBIDDEN_SHORT",
    "FORBIDDEN_LONG",
    "refused_option",
    "may_hold_refused_option",
    "MAY_REFUSE_IN_KEY",
]

# What each refused option would do; the message names it.
_COMMANDS = {
    "A": "append",
    "C": "check",
    "D": "delete",
    "R": "replace",
    "I": "insert",
    "L": "list",
    "S": "list-rules",
    "F": "flush",
    "Z": "zero",
    "N": "new-chain",
    "X": "delete-chain",
    "E": "rename-chain",
    "P": "policy",
}
_OTHERS = {
    "t": "table",
    "4": "ipv4",
    "6": "ipv6",
    "w": "wait",
    "W": "wait-interval",
    "M": "modprobe",
    "V": "version",
    "h": "help",
}
FORBIDDEN_SHORT = frozenset(_COMMANDS) | frozenset(_OTHERS)
FORBIDDEN_LONG = frozenset(_COMMANDS.values()) | frozenset(_OTHERS.values())

# Protocol numbers whose match iptables loads implicitly (find_proto), by number.
_PROTO_MATCHES = {
    "1": "icmp",
    "6": "tcp",
    "17": "udp",
    "33": "dccp",
    "50": "esp",
    "51": "ah",
    "58": "icmp6",
    "132": "sctp",
    "135": "mh",
    "icmpv6": "icmp6",
    "ipv6-icmp": "icmp6",
}


def _prefix_trie(names: Sequence[str]) -> str:
    """A pattern matching every non-empty prefix of ``names``, as a trie.

    ``a(?:p(?:p...)?)?|c(?:h...)?``: the engine decides one character at a time, where a
    flat alternation of every prefix would try each in turn at every ``--`` token.
    """
    children: Dict[str, List[str]] = {}
    for name in names:
        if name:
            children.setdefault(name[0], []).append(name[1:])
    parts = []
    for char in sorted(children):
        rest = _prefix_trie(children[char])
        parts.append(re.escape(char) + (f"(?:{rest})?" if rest else ""))
    return "|".join(parts)


# A token that *may* be a refused option: a short cluster holding a refused letter, or
# "--" and a prefix of a refused long name, in tokens joined by "\n" (a rule's key).
# Anything it flags goes through the exact scan. It starts with a literal "\n-" (the
# caller's text gets a newline in front), so the engine finds token starts with a
# substring search: 0.6 µs for a rule, where a character class cost 0.95 µs, and the
# batch's append_rule makes this check for every call.
_SHORT = "".join(sorted(FORBIDDEN_SHORT))
_LONG_TRIE = _prefix_trie(sorted(FORBIDDEN_LONG))
MAY_REFUSE_IN_KEY = re.compile(
    r"\n-(?:"
    rf"(?!-)[^\n]*?[{_SHORT}]"
    rf"|-(?:{_LONG_TRIE})(?:=[^\n]*)?(?=\n|\Z))"
)


def may_hold_refused_option(joined: str) -> bool:
    """False when no token of ``joined`` (tokens joined by newlines) can be refused."""
    return MAY_REFUSE_IN_KEY.search("\n" + joined) is not None


_Options = Mapping[str, "Opt"]


def _extension_options(name: str, *, target: bool) -> Optional[_Options]:
    """The long options of an extension the rule engine models, or None."""
    # Imported on first need: the registry is built by the rule-spec parser's modules.
    from ._rulespec import parser  # noqa: F401  (registers the extensions)
    from ._rulespec.ext import MATCHES, TARGETS

    ext = (TARGETS if target else MATCHES).get(name)
    return None if ext is None else ext.opts


class _Scan:
    """getopt_long's reading of one rule's tokens, as far as arity goes."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self.tokens = tokens
        self.loaded: List[_Options] = []
        self.proto: Optional[str] = None
        self.proto_loaded = False

    def load(self, name: str, *, target: bool) -> None:
        opts = _extension_options(name, target=target)
        if opts is not None:
            self.loaded.append(opts)

    def load_proto(self) -> bool:
        """command_default: the first unknown option loads the protocol's match."""
        if self.proto is None or self.proto_loaded:
            return False
        self.proto_loaded = True
        name = self.proto.lower()
        opts = _extension_options(_PROTO_MATCHES.get(name, name), target=False)
        if opts is None:
            return False
        self.loaded.append(opts)
        return True

    def value(self, letter: str, value: str) -> None:
        if letter == "m":
            self.load(value, target=False)
        elif letter in "jg":
            self.load(value, target=True)
        elif letter == "p":
            self.proto = value

    def long_option(self, name: str) -> Tuple[Optional[str], int, str]:
        """(refused long name or "", value arity, core letter or ""); None when unknown."""
        core = CORE_LONG_OPTIONS.get(name)
        if core is not None:
            return (name if name in FORBIDDEN_LONG else ""), core[1], core[0]
        for opts in reversed(self.loaded):
            found = opts.get(name)
            if found is not None:
                return "", 1 if found.arg else 0, ""
        core_hits = [full for full in CORE_LONG_OPTIONS if full.startswith(name)]
        refused = [full for full in core_hits if full in FORBIDDEN_LONG]
        if refused:
            # the only reading, or an ambiguous one the binary would refuse anyway
            return refused[0], 0, ""
        ext_hits = [
            found for opts in self.loaded for o, found in opts.items() if o.startswith(name)
        ]
        if len(core_hits) + len(ext_hits) == 1:
            if core_hits:
                letter, arity = CORE_LONG_OPTIONS[core_hits[0]]
                return "", arity, letter
            return "", 1 if ext_hits[0].arg else 0, ""
        if not core_hits and not ext_hits:
            return None, 0, ""
        return "", 0, ""  # ambiguous: getopt fails, nothing runs

    def run(self) -> Optional[Tuple[str, str]]:
        tokens, i, n = self.tokens, 0, len(self.tokens)
        while i < n:
            token = tokens[i]
            i += 1
            if token == "--":
                return None  # getopt stops; iptables refuses what follows
            if token.startswith("--"):
                name, eq, attached = token[2:].partition("=")
                refused, arity, letter = self.long_option(name)
                if refused is None:
                    if self.load_proto():
                        i -= 1  # read it again with the protocol's options
                    continue  # unknown: assumed to take no value (the safe reading)
                if refused:
                    return token, refused
                if arity == 1 and eq:
                    self.value(letter, attached)
                elif arity == 1 and i < n:
                    self.value(letter, tokens[i])
                    i += 1
                continue
            if not token.startswith("-") or len(token) == 1:
                continue  # a value of an extension, "!" or a stray word
            k = 1
            while k < len(token):
                letter = token[k]
                k += 1
                if letter in FORBIDDEN_SHORT:
                    return token, _COMMANDS.get(letter) or _OTHERS[letter]
                short = CORE_SHORT_OPTIONS.get(letter)
                if short is None:
                    break  # unknown: the binary refuses the whole command
                if short == 1:
                    if k < len(token):
                        self.value(letter, token[k:])
                    elif i < n:
                        self.value(letter, tokens[i])
                        i += 1
                    break
                if short == 2:
                    break  # an optional value is the rest of the token
        return None


def refused_option(tokens: Sequence[str]) -> Optional[Tuple[str, str]]:
    """The first token getopt would read as a refused option, with that option's name.

    None when every token is a value or an option that only describes the rule.
    """
    if not may_hold_refused_option("\n".join(tokens)):
        return None
    return _Scan(tokens).run()
