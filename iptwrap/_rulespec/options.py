"""iptables' own command-line options, as its getopt_long tables declare them.

Shared by the rule-spec parser (which emulates getopt over them) and the client's
argument filter (``iptwrap._ruleargs``, which refuses the options that would choose
the table, the command or how the binary runs).
"""

from __future__ import annotations

from typing import Dict, Tuple

__all__ = ["CORE_LONG_OPTIONS", "CORE_SHORT_OPTIONS"]

# iptables 1.8.9's core options (xshared.c), shared with the rule-spec parser:
# letter -> 0 no value, 1 required, 2 optional; long name -> (letter, the same).
_SHORT_OPTSTRING = "A:C:D:R:I:L::S::M:F::Z::N:X::E:P:Vh::o:p:s:d:j:i:fbvw::W::nt:m:xc:g:46"
CORE_LONG_OPTIONS: Dict[str, Tuple[str, int]] = {
    "append": ("A", 1),
    "delete": ("D", 1),
    "check": ("C", 1),
    "insert": ("I", 1),
    "replace": ("R", 1),
    "list": ("L", 2),
    "list-rules": ("S", 2),
    "flush": ("F", 2),
    "zero": ("Z", 2),
    "new-chain": ("N", 1),
    "delete-chain": ("X", 2),
    "rename-chain": ("E", 1),
    "policy": ("P", 1),
    "source": ("s", 1),
    "src": ("s", 1),
    "destination": ("d", 1),
    "dst": ("d", 1),
    "protocol": ("p", 1),
    "in-interface": ("i", 1),
    "jump": ("j", 1),
    "table": ("t", 1),
    "match": ("m", 1),
    "numeric": ("n", 0),
    "out-interface": ("o", 1),
    "verbose": ("v", 0),
    "wait": ("w", 2),
    "wait-interval": ("W", 2),
    "exact": ("x", 0),
    "fragments": ("f", 0),
    "version": ("V", 0),
    "help": ("h", 2),
    "line-numbers": ("0", 0),
    "modprobe": ("M", 1),
    "set-counters": ("c", 1),
    "goto": ("g", 1),
    "ipv4": ("4", 0),
    "ipv6": ("6", 0),
}


def _short_table(optstring: str) -> Dict[str, int]:
    table: Dict[str, int] = {}
    k = 0
    while k < len(optstring):
        letter = optstring[k]
        k += 1
        colons = 0
        while k < len(optstring) and optstring[k] == ":":
            colons += 1
            k += 1
        table[letter] = colons
    return table


CORE_SHORT_OPTIONS = _short_table(_SHORT_OPTSTRING)
