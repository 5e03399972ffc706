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

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from ._canonical import canonical_texts
from ._dump import chain_specs
from ._payload import (
    InvalidArgumentError,
    chain_name,
    key_texts,
    key_tokens,
    restore_line,
    rule_keys,
    rule_tokens,
    table_name,
)
from ._types import ChainLike, RulePosition, TableLike

if TYPE_CHECKING:  # pragma: no cover
    from ._client import IPTables

__all__ = ["Jump", "SyncResult", "Syncer", "sync_chains"]

RuleArgs = Sequence[str]
DesiredChains = Mapping[TableLike, Mapping[ChainLike, Iterable[RuleArgs]]]


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


@dataclass
class _Desired:
    """Validated input: table -> chain -> rule keys, and jump rules per table.

    A rule's key is its tokens joined by newlines (:func:`rule_keys`): equal keys are
    equal rules, so the Syncer compares strings, and the keys give back the tokens
    when a chain must be quoted for writing or parsed for a canonical comparison.
    Nothing of the caller's is kept.
    """

    chains: Dict[str, Dict[str, List[str]]]
    jumps: Dict[str, List[Tuple[str, Tuple[str, ...], RulePosition]]]
    # per table: whether some rule has an empty token (then quoting goes key by key)
    empty_tokens: Dict[str, bool] = field(default_factory=dict)
    _texts: Dict[str, Dict[str, List[str]]] = field(default_factory=dict)

    def tables(self) -> List[str]:
        return list(self.chains) + [t for t in self.jumps if t not in self.chains]

    def texts(self, table: str, chain: str) -> List[str]:
        """The chain's rules as restore text (what follows ``-A CHAIN``)."""
        done = self._texts.get(table)
        if done is not None:
            return done[chain]
        return key_texts(self.chains[table][chain], empty_tokens=self.empty_tokens[table])

    def quote_table(self, table: str) -> None:
        """Quote every rule of the table in one pass (before comparing with the kernel)."""
        chains = self.chains.get(table, {})
        flat = key_texts(
            [k for keys in chains.values() for k in keys],
            empty_tokens=self.empty_tokens.get(table, False),
        )
        self._texts[table], at = {}, 0
        for chain, keys in chains.items():
            self._texts[table][chain] = flat[at : at + len(keys)]
            at += len(keys)


def _normalize(prefix: str, chains: DesiredChains, jumps: Sequence[Jump]) -> _Desired:
    if not prefix or prefix[0] in "-!" or any(c.isspace() for c in prefix):
        raise InvalidArgumentError(f"invalid owner prefix: {prefix!r}")
    desired: Dict[str, Dict[str, List[str]]] = {}
    empty_tokens: Dict[str, bool] = {}
    for table, table_chains in chains.items():
        t = table_name(table)
        # One bulk check per table: kube-like rulesets are thousands of 2-rule chains.
        names: List[str] = []
        sizes: List[int] = []
        flat: List[Sequence[str]] = []
        for chain, rules in table_chains.items():
            c = chain_name(chain)
            if not c.startswith(prefix):
                raise InvalidArgumentError(f"owned chain {c!r} does not start with {prefix!r}")
            if isinstance(rules, str):
                raise InvalidArgumentError(f"rules of {c!r} must be a list of rules, not a str")
            names.append(c)
            sizes.append(len(flat))
            flat.extend(rules)
        checked, keys = rule_keys(flat)
        empty_tokens[t] = not all(map(all, checked))
        desired[t] = {c: keys[a:b] for c, a, b in zip(names, sizes, sizes[1:] + [len(flat)])}
    wanted: Dict[str, List[Tuple[str, Tuple[str, ...], RulePosition]]] = {}
    for jump in jumps:
        t, c = table_name(jump.table), chain_name(jump.chain)
        if c.startswith(prefix):
            raise InvalidArgumentError(f"jump rules belong in chains you don't own, not {c!r}")
        wanted.setdefault(t, []).append(
            (c, tuple(rule_tokens(jump.args)), RulePosition(jump.position))
        )
    return _Desired(desired, wanted, empty_tokens)


def _rules_lines(chain: str, texts: Sequence[str]) -> List[str]:
    return [f"-A {chain} {text}" if text else f"-A {chain}" for text in texts]


def _apply(client: IPTables, blocks: List[str], result: SyncResult) -> SyncResult:
    if blocks:
        result.payload = "".join(blocks).encode("utf-8")
        client.restore_all(result.payload, flush=False)
    return result


def sync_chains(
    client: IPTables,
    prefix: str,
    chains: DesiredChains,
    jumps: Sequence[Jump] = (),
) -> SyncResult:
    """Stateless sync: read each table once, send only what differs from the kernel."""
    desired = _normalize(prefix, chains, jumps)
    with client.ensure_guard("*", "*"):
        return _sync_against_kernel(client, prefix, desired)


def _sync_against_kernel(client: IPTables, prefix: str, desired: _Desired) -> SyncResult:
    result = SyncResult()
    blocks: List[str] = []
    family = 6 if client.is_ipv6() else 4
    backend = client.mode.value
    for table in desired.tables():
        saved = chain_specs(client.save(table)).get(table, {})
        own = desired.chains.get(table, {})
        known: Set[str] = set(saved) | set(own)

        def exists(_t: str, name: str, _known: Set[str] = known) -> bool:
            return name in _known

        def canon(chain: str, tokens: Tuple[str, ...], _t: str = table) -> Optional[str]:
            return canonical_texts(
                [tokens], table=_t, chain=chain, family=family, backend=backend, chain_exists=exists
            )[0]

        decls: List[str] = []
        body: List[str] = []
        desired.quote_table(table)
        for chain in own:
            texts = desired.texts(table, chain)
            current = saved.get(chain)
            # the same text is the same rules; otherwise compare canonical texts
            if current is not None and (
                current == texts
                or len(current) == len(texts)
                and current
                == canonical_texts(
                    [key_tokens(k) for k in own[chain]],
                    table=table,
                    chain=chain,
                    family=family,
                    backend=backend,
                    chain_exists=exists,
                )
            ):
                result.unchanged.append((table, chain))
                continue
            (result.rewritten if current is not None else result.created).append((table, chain))
            decls.append(f":{chain} - [0:0]")
            body.extend(_rules_lines(chain, texts))
        stale = [c for c in saved if c.startswith(prefix) and c not in own]
        unlink: List[str] = []
        if stale:
            stale_set = set(stale)
            for name, specs in saved.items():
                if name in stale_set or name in own:
                    continue  # stale chains are flushed; owned ones were rewritten above
                for spec in specs:
                    if _target_of(" " + spec) in stale_set:
                        unlink.append(f"-D {name} {spec}")
            result.deleted.extend((table, c) for c in stale)
        for chain, tokens, position in desired.jumps.get(table, []):
            current = saved.get(chain)
            if current is not None:
                if restore_line(tokens) in current:
                    continue
                text = canon(chain, tokens)
                if text is not None and text in current:
                    continue
                if text is None and client.rule_exists(table, chain, *tokens):
                    continue
            body.append(f"{position.value} {chain} {restore_line(tokens)}".rstrip())
            result.jumps_added.append((table, chain, " ".join(tokens)))
        lines = decls + unlink + [f"-F {c}" for c in stale] + [f"-X {c}" for c in stale] + body
        if lines:
            blocks.append("\n".join([f"*{table}", *lines, "COMMIT"]) + "\n")
    return _apply(client, blocks, result)


class Syncer:
    """Stateful sync, as kube-proxy does its partial syncs (KEP-3453).

    The first sync, every ``full_sync_interval`` seconds, any sync after a failure,
    and ``sync(..., full=True)`` read the kernel (:func:`IPTables.sync`). In between,
    the Syncer trusts what it applied last time and sends only the chains whose
    desired rules changed, without reading the kernel at all: after a one-service
    change that is one small restore. If something else may flush your chains, keep
    the interval short or watch a canary chain.
    """

    def __init__(
        self, client: IPTables, prefix: str, *, full_sync_interval: Optional[float] = 3600.0
    ) -> None:
        _normalize(prefix, {}, ())  # validates the prefix
        self._client = client
        self._prefix = prefix
        self._interval = full_sync_interval
        self._last: Optional[_Desired] = None
        self._last_full = 0.0

    def invalidate(self) -> None:
        """Forget what was applied: the next sync reads the kernel."""
        self._last = None

    def sync(
        self, chains: DesiredChains, jumps: Sequence[Jump] = (), *, full: bool = False
    ) -> SyncResult:
        desired = _normalize(self._prefix, chains, jumps)
        now = time.monotonic()
        due = self._interval is not None and now - self._last_full >= self._interval
        last = self._last
        self._last = None  # until this sync has landed
        with self._client.ensure_guard("*", "*"):
            if full or last is None or due:
                result = _sync_against_kernel(self._client, self._prefix, desired)
                self._last_full = now
            else:
                result = self._sync_against_memory(last, desired)
        self._last = desired
        return result

    def _sync_against_memory(self, last: _Desired, desired: _Desired) -> SyncResult:
        result = SyncResult()
        blocks: List[str] = []
        tables = desired.tables() + [t for t in last.tables() if t not in desired.tables()]
        for table in tables:
            old = last.chains.get(table, {})
            new = desired.chains.get(table, {})
            decls: List[str] = []
            body: List[str] = []
            for chain, keys in new.items():
                before = old.get(chain)
                if before == keys:
                    result.unchanged.append((table, chain))
                    continue
                (result.rewritten if before is not None else result.created).append((table, chain))
                decls.append(f":{chain} - [0:0]")
                body.extend(_rules_lines(chain, desired.texts(table, chain)))
            stale = [c for c in old if c not in new]
            result.deleted.extend((table, c) for c in stale)
            old_jumps = last.jumps.get(table, [])
            new_jumps = desired.jumps.get(table, [])
            unlink = [
                f"-D {chain} {restore_line(tokens)}".rstrip()
                for chain, tokens, _pos in old_jumps
                if (chain, tokens, _pos) not in new_jumps
            ]
            for chain, tokens, position in new_jumps:
                if (chain, tokens, position) not in old_jumps:
                    body.append(f"{position.value} {chain} {restore_line(tokens)}".rstrip())
                    result.jumps_added.append((table, chain, " ".join(tokens)))
            lines = decls + unlink + [f"-F {c}" for c in stale] + [f"-X {c}" for c in stale] + body
            if lines:
                blocks.append("\n".join([f"*{table}", *lines, "COMMIT"]) + "\n")
        return _apply(self._client, blocks, result)
