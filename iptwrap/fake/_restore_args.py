"""``iptables-restore``'s own options, read once, the way its getopt_long reads them.

One table names every option with its letter and whether it takes a value (0 none,
1 required, 2 optional and only when the next word is a number, as ``-w``); long
names, their ``--name=value`` form, short clusters (``-cn``) and a value glued to
its letter (``-Tfilter``) all reduce to letters before anything acts on them.
"""

from __future__ import annotations

from typing import Dict, Iterator, Optional, Sequence, Tuple

from ._restore_block import RestoreOptions

__all__ = ["BadOption", "restore_options"]

_LONG: Dict[str, Tuple[str, int]] = {
    "counters": ("c", 0),
    "noflush": ("n", 0),
    "test": ("t", 0),
    "verbose": ("v", 0),
    "version": ("V", 0),
    "help": ("h", 0),
    "wait": ("w", 2),
    "wait-interval": ("W", 1),
    "table": ("T", 1),
    "modprobe": ("M", 1),
}
_SHORT: Dict[str, int] = {letter: arity for letter, arity in _LONG.values()}
_WAITS = frozenset("wW")  # from 1.6.2


class BadOption(Exception):
    """An option iptables-restore does not know; ``option`` is how it was spelled."""

    def __init__(self, option: str) -> None:
        super().__init__(option)
        self.option = option


def _letters(args: Sequence[str]) -> Iterator[Tuple[str, Optional[str], str]]:
    """(letter, value, spelling) for each option in order; ``"file"`` for a file name.

    A generator, as getopt is: ``-V`` ends the run before a later bad option is seen.
    """
    i = 0
    while i < len(args):
        a = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        if a.startswith("--"):
            key, eq, val = a[2:].partition("=")
            if key not in _LONG:
                raise BadOption(a)
            letter, arity = _LONG[key]
            value: Optional[str] = val if eq else None
            if not eq and (arity == 1 or (arity == 2 and nxt is not None and nxt.isdigit())):
                value, i = nxt, i + 1
            yield letter, value, a
        elif a.startswith("-") and len(a) > 1:
            for k, letter in enumerate(a[1:], 1):
                if letter not in _SHORT:
                    raise BadOption("-" + letter)
                arity = _SHORT[letter]
                if arity == 0:
                    yield letter, None, "-" + letter
                    continue
                rest = a[k + 1 :]
                if rest:
                    value = rest
                elif arity == 1 or (nxt is not None and nxt.isdigit()):
                    value, i = nxt, i + 1
                else:
                    value = None
                yield letter, value, "-" + letter
                break
        else:
            yield "file", a, a
        i += 1


def restore_options(args: Sequence[str], waits: bool) -> Tuple[RestoreOptions, Optional[str]]:
    """The options, and ``"version"``/``"help"`` when one of those ends the run.

    ``waits`` is False before 1.6.2, which had no ``-w``/``-W``. Raises ``BadOption``
    with the spelling iptables-restore names in its error.
    """
    opts = RestoreOptions()
    for letter, value, spelling in _letters(args):
        if letter in _WAITS and not waits:
            raise BadOption(spelling)
        if letter == "V":
            return opts, "version"
        if letter == "h":
            return opts, "help"
        if letter == "c":
            opts.counters = True
        elif letter == "n":
            opts.noflush = True
        elif letter == "t":
            opts.test = True
        elif letter == "v":
            opts.verbose = True
        elif letter == "w":
            opts.wait = float(value) if value is not None and value.isdigit() else -1.0
        elif letter == "W":
            opts.wait_interval = True
        elif letter == "T":
            opts.table = value
        elif letter == "file":
            assert value is not None
            opts.files.append(value)
    return opts, None
