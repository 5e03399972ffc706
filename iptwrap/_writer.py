"""The one writer of ``iptables-restore`` payloads.

Batch, sync, the Syncer, teardown, identity's scratch chains and the client's own
restores all speak the same small language: per table a ``*table`` line, the commands,
``COMMIT``. Writing it in one place keeps the details that matter in one place too: a
rule with no tokens is ``-A CHAIN`` with no trailing space (the restore tokenizer would
otherwise keep an empty word on some releases), declaring a chain is ``:NAME - [0:0]``
(which also flushes it, the basis of every atomic rewrite), and a failed line is traced
back to the operation that wrote it through ``owners``.

Values reaching here are already checked and quoted (``_payload``): this module only
arranges lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence

from ._errors import InvalidArgumentError

__all__ = ["Payload", "Apply", "APPLY", "declare", "command", "appends", "removes", "one_table"]


def declare(chain: str) -> str:
    """``:CHAIN - [0:0]``: create the chain, or flush it if it exists."""
    return f":{chain} - [0:0]"


def command(verb: str, chain: str, spec: str = "") -> str:
    """One command line (``-A``, ``-I CHAIN N``, ``-D``, ``-F``, ``-X``, ``-P``, ``-Z``)."""
    return f"{verb} {chain} {spec}" if spec else f"{verb} {chain}"


def appends(chain: str, texts: Sequence[str]) -> List[str]:
    """``-A CHAIN TEXT`` for each quoted rule text, as one joined string when possible.

    A bulk append of 5,000 rules is one ``join`` rather than 5,000 f-strings; a rule
    with no tokens keeps its own line so that it ends without a space.
    """
    if not texts:
        return []
    if "" in texts:
        return [f"-A {chain} {text}" if text else f"-A {chain}" for text in texts]
    prefix = f"-A {chain} "
    return [prefix + ("\n" + prefix).join(texts)]


def removes(chains: Sequence[str]) -> List[str]:
    """Flush every chain, then delete them: a chain still referenced by another of
    them could not go first."""
    return [f"-F {c}" for c in chains] + [f"-X {c}" for c in chains]


class Payload:
    """A restore payload being written, table by table.

    ``owners`` has one entry per payload line: the index of the operation that wrote
    it, or None for the framing lines, so an error's line number names its cause.
    """

    __slots__ = ("_parts", "owners")

    def __init__(self) -> None:
        self._parts: List[str] = []
        self.owners: List[Optional[int]] = []

    def table(self, name: str, lines: Sequence[str], owners: Iterable[int] = ()) -> None:
        """Add one table's block; a table with nothing to do is left out entirely."""
        if not lines:
            return
        self._parts.append(f"*{name}")
        self._parts.extend(lines)
        self._parts.append("COMMIT")
        self.owners.append(None)
        self.owners.extend(owners)
        self.owners.append(None)

    def __bool__(self) -> bool:
        return bool(self._parts)

    def encode(self) -> bytes:
        """The payload as bytes; empty when no table had anything to do."""
        if not self._parts:
            return b""
        return ("\n".join(self._parts) + "\n").encode("utf-8")


def one_table(table: str, lines: Sequence[str]) -> bytes:
    """A payload of one table's block."""
    payload = Payload()
    payload.table(table, lines)
    return payload.encode()


@dataclass(frozen=True)
class Apply:
    """What to do with a written payload: send it, or (a dry run) only return it.

    ``check`` also has the kernel's binary read it without committing
    (``iptables-restore --test``); it only makes sense for a dry run, since a real
    restore is atomic already.
    """

    dry_run: bool = False
    check: bool = False

    def __post_init__(self) -> None:
        if self.check and not self.dry_run:
            raise InvalidArgumentError(
                "check=True asks iptables-restore --test and applies nothing: use it with "
                "dry_run=True (a real restore is atomic already)"
            )


APPLY = Apply()
