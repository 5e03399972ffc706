"""Declarative sync of the chains an agent owns (kube-proxy's partial sync as a call).

The agent says what its chains should contain, and which jump rules lead into them
from chains it does not own; iptwrap reads one snapshot per table and sends only the
difference in one ``iptables-restore --noflush``:

- a missing chain is created with its rules;
- a chain whose canonical contents differ is rewritten (``:CHAIN - [0:0]`` flushes it
  under ``--noflush``), an identical one is not touched;
- a chain that carries the owner's prefix but is no longer wanted is flushed and
  deleted, after the rules that jump to it from other chains are removed;
- every other chain (docker's, kube-proxy's, the admin's) is left alone.

A second sync with the same input sends nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ._canonical import CanonicalError, canonical_rule_text
from ._dump import SavedTable, parse_save
from ._payload import InvalidArgumentError, chain_name, restore_line, rule_tokens, table_name
from ._types import ChainLike, RulePosition, TableLike

if TYPE_CHECKING:  # pragma: no cover
    from ._client import IPTables

__all__ = ["Jump", "SyncResult", "sync_chains"]

RuleArgs = Sequence[str]
DesiredChains = Mapping[TableLike, Mapping[ChainLike, Sequence[RuleArgs]]]


@dataclass(frozen=True)
class Jump:
    """A rule in a chain the agent does not own (usually built-in) that leads into its chains."""

    table: TableLike
    chain: ChainLike
    args: Tuple[str, ...]
    position: RulePosition = RulePosition.APPEND


@dataclass
class SyncResult:
    """What a sync did; ``payload`` is empty when nothing needed changing."""

    created: List[Tuple[str, str]] = field(default_factory=list)
    rewritten: List[Tuple[str, str]] = field(default_factory=list)
    unchanged: List[Tuple[str, str]] = field(default_factory=list)
    deleted: List[Tuple[str, str]] = field(default_factory=list)
    jumps_added: List[Tuple[str, str, str]] = field(default_factory=list)
    payload: bytes = b""

    @property
    def changed(self) -> bool:
        return bool(self.payload)


def _target_of(spec: str) -> Optional[str]:
    """The chain a saved rule jumps or goes to: iptables-save prints ``-j``/``-g`` last."""
    at = max(spec.rfind(" -j "), spec.rfind(" -g "))
    if at < 0:
        return None
    return spec[at + 4 :].split(" ", 1)[0]


def sync_chains(
    client: IPTables,
    prefix: str,
    chains: DesiredChains,
    jumps: Sequence[Jump] = (),
) -> SyncResult:
    if not prefix or prefix[0] in "-!" or any(c.isspace() for c in prefix):
        raise InvalidArgumentError(f"invalid owner prefix: {prefix!r}")
    desired: Dict[str, Dict[str, List[List[str]]]] = {}
    for table, table_chains in chains.items():
        t = table_name(table)
        for chain, rules in table_chains.items():
            c = chain_name(chain)
            if not c.startswith(prefix):
                raise InvalidArgumentError(f"owned chain {c!r} does not start with {prefix!r}")
            desired.setdefault(t, {})[c] = [rule_tokens(r) for r in rules]
    wanted_jumps: Dict[str, List[Tuple[str, List[str], RulePosition]]] = {}
    for jump in jumps:
        t, c = table_name(jump.table), chain_name(jump.chain)
        if c.startswith(prefix):
            raise InvalidArgumentError(f"jump rules belong in chains you don't own, not {c!r}")
        wanted_jumps.setdefault(t, []).append((c, rule_tokens(jump.args), RulePosition(jump.position)))

    result = SyncResult()
    blocks: List[str] = []
    family = 6 if client.is_ipv6() else 4
    backend = client.mode.value
    tables = list(desired) + [t for t in wanted_jumps if t not in desired]
    for table in tables:
        saved_dump = parse_save(client.save(table))
        saved = saved_dump.tables.get(table) or SavedTable(table)
        own = desired.get(table, {})
        known: Set[str] = set(saved.chains) | set(own)

        def canon(chain: str, tokens: List[str], _known: Set[str] = known, _t: str = table) -> Optional[str]:
            try:
                return canonical_rule_text(
                    tokens, table=_t, chain=chain, family=family, backend=backend,
                    chain_exists=lambda _x, name: name in _known,
                )
            except CanonicalError:
                return None

        decls: List[str] = []
        body: List[str] = []
        for chain, rules in own.items():
            texts = [canon(chain, r) for r in rules]
            current = saved.chains.get(chain)
            if current is not None and None not in texts and current.specs() == texts:
                result.unchanged.append((table, chain))
                continue
            (result.rewritten if current is not None else result.created).append((table, chain))
            decls.append(f":{chain} - [0:0]")
            body.extend(f"-A {chain} {restore_line(r)}".rstrip() for r in rules)
        stale = [c for c in saved.chains if c.startswith(prefix) and c not in own]
        unlink: List[str] = []
        if stale:
            stale_set = set(stale)
            for other in saved.chains.values():
                if other.name in stale_set or (other.name in own):
                    continue  # stale chains are flushed; owned ones were rewritten above
                for spec in other.specs():
                    if _target_of(" " + spec) in stale_set:
                        unlink.append(f"-D {other.name} {spec}")
            for chain in stale:
                result.deleted.append((table, chain))
        for chain, tokens, position in wanted_jumps.get(table, []):
            text = canon(chain, tokens)
            current = saved.chains.get(chain)
            if current is not None and text is not None and text in current.specs():
                continue
            if current is not None and text is None and client.rule_exists(table, chain, *tokens):
                continue
            body.append(f"{position.value} {chain} {restore_line(tokens)}".rstrip())
            result.jumps_added.append((table, chain, text or " ".join(tokens)))
        lines = decls + unlink + [f"-F {c}" for c in stale] + [f"-X {c}" for c in stale] + body
        if lines:
            blocks.append("\n".join([f"*{table}", *lines, "COMMIT"]) + "\n")
    if blocks:
        result.payload = "".join(blocks).encode("utf-8")
        client.restore_all(result.payload, flush=False)
    return result
