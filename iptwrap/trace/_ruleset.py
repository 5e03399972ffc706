"""The rules the tracer walks: read from a fake host, a ``Dump`` or save text, parsed by
the rule engine once per rule, and the host's ipsets when it has them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from .._dump import Dump, parse_save
from .._errors import InvalidArgumentError
from .._rulespec.errors import FakeError
from .._rulespec.evaluable import RuleParts, rule_parts, split_saved

__all__ = ["Ruleset", "RuleEntry", "load"]


@dataclass
class RuleEntry:
    line: str  # "-A CHAIN spec", as iptables-save prints it
    spec: str
    parts: Union[RuleParts, str, None] = None  # parsed lazily; a str says why it could not be


@dataclass
class ChainRules:
    policy: Optional[str]  # None for a user chain
    rules: List[RuleEntry] = field(default_factory=list)


class Ruleset:
    """One family's tables, as the kernel holds them."""

    def __init__(
        self,
        dump: Dump,
        family: int,
        backend: str,
        version: str,
        set_test: Optional[Callable[[str, str], Optional[bool]]] = None,
        set_type: Optional[Callable[[str], Optional[str]]] = None,
    ) -> None:
        self.family = family
        self.backend = backend
        self.version = version
        self.set_test = set_test
        self.set_type = set_type
        self.tables: Dict[str, Dict[str, ChainRules]] = {}
        for tname, table in dump.tables.items():
            chains: Dict[str, ChainRules] = {}
            for cname, chain in table.chains.items():
                entries = [RuleEntry(r.render(cname, False), r.spec) for r in chain.rules]
                chains[cname] = ChainRules(chain.policy, entries)
            self.tables[tname] = chains

    def chain(self, table: str, chain: str) -> Optional[ChainRules]:
        return self.tables.get(table, {}).get(chain)

    def parts(self, table: str, chain: str, entry: RuleEntry) -> Union[RuleParts, str]:
        if entry.parts is None:
            try:
                entry.parts = rule_parts(
                    split_saved(entry.spec),
                    table,
                    chain,
                    self.family,
                    backend=self.backend,
                    version=self.version,
                )
            except FakeError as exc:
                entry.parts = f"the rule engine cannot read it: {exc}"
        return entry.parts


def _ipset_hooks(runner: Any) -> Tuple[Optional[Callable[[str, str], Optional[bool]]], Any]:
    ipsets = getattr(runner, "ipsets", None)
    if ipsets is None:
        return None, None

    def run(argv: List[str]) -> Tuple[int, str, str]:
        result: Tuple[int, str, str] = ipsets.run(argv, None, lambda _n: False)
        return result

    def set_test(name: str, element: str) -> Optional[bool]:
        rc, out, err = run(["ipset", "test", name, element])
        if rc == 0:
            return True
        if "is NOT in set" in out + err:
            return False
        return None

    def set_type(name: str) -> Optional[str]:
        rc, out, _err = run(["ipset", "list", "-t", name])
        for line in out.splitlines():
            if rc == 0 and line.startswith("Type: "):
                return line[len("Type: ") :]
        return None

    return set_test, set_type


def load(host: object, family: int) -> Ruleset:
    """The rules of ``host``: a FakeRunner, a FakeIPTables, a Dump, or save text."""
    runner = getattr(host, "fake", host)  # FakeIPTables keeps its FakeRunner as .fake
    if hasattr(runner, "inspect"):
        prog = "ip6tables-save" if family == 6 else "iptables-save"
        text = runner.inspect([prog]).stdout.decode("utf-8", "surrogateescape")
        backend = str(getattr(runner, "mode", "nft"))
        version = str(getattr(runner, "version", "1.8.9"))
        set_test, set_type = _ipset_hooks(runner)
        return Ruleset(parse_save(text), family, backend, version, set_test, set_type)
    if isinstance(host, (str, bytes)):
        host = parse_save(host if isinstance(host, str) else host.decode())
    if isinstance(host, Dump):
        return Ruleset(host, family, "nft", "1.8.9")
    raise InvalidArgumentError(
        f"trace() reads a FakeRunner, a FakeIPTables, a Dump or save text, not {type(host)!r}"
    )
