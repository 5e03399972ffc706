"""A typed model of ``iptables-save`` output, and a fast parser and renderer for it.

Agents that own thousands of rules should read the kernel once (one
``iptables-save``) and compare sets, rather than ask ``iptables -C`` per rule. This
module is the reading half: ``parse_save`` turns the bytes into tables, chains (with
policy and counters) and rules (with their canonical text and counters), and
``Dump.render`` gives back the same bytes (comment lines aside).

Rule text is kept exactly as iptables-save printed it: that text *is* the canonical
identity of a rule on that backend, so no tokenising is needed to compare rules, and
a line costs a few ``str`` operations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Union

from ._errors import SaveFormatError

__all__ = [
    "SavedRule",
    "SavedChain",
    "SavedTable",
    "Dump",
    "SaveFormatError",
    "parse_save",
    "chain_specs",
]


_COUNTERS = re.compile(r"\[\d+:\d+\]\Z")


@dataclass
class SavedRule:
    """One ``-A CHAIN SPEC`` line; ``spec`` is the canonical text after the chain name."""

    spec: str
    packets: Optional[int] = None
    bytes: Optional[int] = None

    def render(self, chain: str, counters: bool) -> str:
        line = f"-A {chain} {self.spec}" if self.spec else f"-A {chain}"
        if counters and self.packets is not None:
            return f"[{self.packets}:{self.bytes}] {line}"
        return line


@dataclass
class SavedChain:
    """A chain: ``policy`` is ``None`` for user chains (``:NAME - [0:0]``)."""

    name: str
    policy: Optional[str] = None
    packets: int = 0
    bytes: int = 0
    rules: List[SavedRule] = field(default_factory=list)

    @property
    def builtin(self) -> bool:
        return self.policy is not None

    def specs(self) -> List[str]:
        return [r.spec for r in self.rules]


@dataclass
class SavedTable:
    name: str
    chains: Dict[str, SavedChain] = field(default_factory=dict)

    def chain(self, name: str) -> SavedChain:
        return self.chains[name]

    def rule_count(self) -> int:
        return sum(len(c.rules) for c in self.chains.values())


@dataclass
class Dump:
    """Tables in the order iptables-save printed them."""

    tables: Dict[str, SavedTable] = field(default_factory=dict)

    def __getitem__(self, table: str) -> SavedTable:
        return self.tables[table]

    def __contains__(self, table: object) -> bool:
        return table in self.tables

    def render(self, *, counters: bool = True) -> bytes:
        """iptables-save text (without the ``# Generated``/``# Completed`` comments).

        Chain declarations always carry their counters, as iptables-save prints them;
        ``counters`` adds the ``[p:b]`` rule prefixes of ``iptables-save -c``.
        """
        return "".join(self._lines(counters)).encode("utf-8")

    def _lines(self, counters: bool) -> Iterator[str]:
        for table in self.tables.values():
            yield f"*{table.name}\n"
            for chain in table.chains.values():
                policy = chain.policy if chain.policy is not None else "-"
                yield f":{chain.name} {policy} [{chain.packets}:{chain.bytes}]\n"
            for chain in table.chains.values():
                for rule in chain.rules:
                    yield rule.render(chain.name, counters) + "\n"
            yield "COMMIT\n"


def parse_save(data: Union[bytes, str, Iterable[str]]) -> Dump:
    """Parse iptables-save (or ``-c``) output, of one table or all of them."""
    if isinstance(data, bytes):
        lines: Iterable[str] = data.decode("utf-8").split("\n")
    elif isinstance(data, str):
        lines = data.split("\n")
    else:
        lines = data
    dump = Dump()
    table: Optional[SavedTable] = None
    chains: Dict[str, SavedChain] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\n")
        if not line or line[0] == "#":
            continue
        first = line[0]
        if first == "[" or first == "-":
            if table is None:
                raise SaveFormatError(number, line, "rule outside a table")
            packets = nbytes = None
            if first == "[":
                close = line.find("] ")
                if close < 0:
                    raise SaveFormatError(number, line, "bad counters")
                try:
                    p, b = line[1:close].split(":")
                    packets, nbytes = int(p), int(b)
                except ValueError:
                    raise SaveFormatError(number, line, "bad counters") from None
                line = line[close + 2 :]
            if not line.startswith("-A "):
                raise SaveFormatError(number, raw, "expected -A")
            space = line.find(" ", 3)
            name = line[3:] if space < 0 else line[3:space]
            spec = "" if space < 0 else line[space + 1 :]
            chain = chains.get(name)
            if chain is None:
                raise SaveFormatError(number, raw, f"rule for undeclared chain {name!r}")
            chain.rules.append(SavedRule(spec, packets, nbytes))
        elif first == ":":
            if table is None:
                raise SaveFormatError(number, line, "chain outside a table")
            parts = line[1:].split(" ")
            if len(parts) != 3 or not (parts[2].startswith("[") and parts[2].endswith("]")):
                raise SaveFormatError(number, line, "bad chain declaration")
            try:
                p, b = parts[2][1:-1].split(":")
                decl = SavedChain(parts[0], None if parts[1] == "-" else parts[1], int(p), int(b))
            except ValueError:
                raise SaveFormatError(number, line, "bad chain counters") from None
            table.chains[decl.name] = decl
            chains[decl.name] = decl
        elif first == "*":
            if table is not None:
                raise SaveFormatError(number, line, "table without COMMIT")
            table = SavedTable(line[1:])
            chains = table.chains
        elif line == "COMMIT":
            if table is None:
                raise SaveFormatError(number, line, "COMMIT outside a table")
            dump.tables[table.name] = table
            table = None
        else:
            raise SaveFormatError(number, line, "unexpected line")
    if table is not None:
        raise SaveFormatError(0, table.name, "table without COMMIT")
    return dump


def chain_specs(data: bytes) -> Dict[str, Dict[str, List[str]]]:
    """table -> chain -> rule specs: what batch and sync compare desired rules against.

    The same reading as :func:`parse_save` without a ``SavedRule`` per rule, which is
    most of its cost: a batch ensuring 1,000 rules on legacy has about as long as
    ``iptables-save`` takes. Anything this plain loop does not expect (counters, a
    malformed line) is handed to ``parse_save``, which names the problem.
    """
    text = data.decode("utf-8")
    tables: Dict[str, Dict[str, List[str]]] = {}
    chains: Optional[Dict[str, List[str]]] = None
    for line in text.split("\n"):
        if line[:3] == "-A ":
            name, _, spec = line[3:].partition(" ")
            rules = None if chains is None else chains.get(name)
            if rules is None:
                break
            rules.append(spec)
        elif line[:1] == ":":
            parts = line[1:].split(" ")
            if chains is None or len(parts) != 3 or not _COUNTERS.match(parts[2]):
                break
            chains[parts[0]] = []
        elif line[:1] == "*":
            if chains is not None:
                break
            chains = tables[line[1:]] = {}
        elif line == "COMMIT" and chains is not None:
            chains = None
        elif line and line[0] != "#":
            break
    else:
        if chains is None:
            return tables
    dump = parse_save(text)
    return {t.name: {c.name: c.specs() for c in t.chains.values()} for t in dump.tables.values()}
