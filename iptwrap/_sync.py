"""Declarative sync of the chains an agent owns (kube-proxy's partial sync as a call).

The agent says what its chains should contain, and which jump rules lead into them
from chains it does not own; iptwrap reads one snapshot per table and sends only the
difference in one ``iptables-restore --noflush``:

- a missing chain is created with its rules;
- a chain whose canonical contents differ is rewritten (``:CHAIN - [0:0]`` flushes it
  under ``--noflush``), an identical one is not touched;
- a chain that carries the owner's prefix but is no longer wanted is flushed and
  deleted;
- the jumps are owned too: in the other chains, every rule that jumps or goes to an
  owned chain is declared in ``jumps`` or removed (reported in ``jumps_deleted``),
  and ``PREPEND`` jumps are the first rules of their chain, in the order given;
- no other rule of another chain (docker's, kube-proxy's, the admin's) is touched.

A second sync with the same input sends nothing at all. ``teardown(prefix)`` removes
every owned chain in every table, and the jumps into them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from ._canonical import delete_takes_an_earlier_rule
from ._dump import chain_specs
from ._errors import RestoreError
from ._hints import rule_hint
from ._payload import (
    InvalidArgumentError,
    chain_name,
    checked_table,
    key_texts,
    key_tokens,
    restore_line,
    rule_keys,
    rule_tokens,
    table_name,
)
from ._types import ChainLike, RulePosition, TableLike
from ._writer import APPLY, Apply, Payload, appends, command, declare, removes

if TYPE_CHECKING:  # pragma: no cover
    from ._client import IPTables
    from ._interface import Interface

__all__ = ["Jump", "SyncResult", "Syncer", "sync_chains", "teardown_chains"]

RuleArgs = Sequence[str]
# Keyed by str, not TableLike: a Mapping's key type is invariant, and an agent's own
# dict of tables is a dict[str, ...] (the names are still checked, before anything runs)
DesiredChains = Mapping[str, Mapping[ChainLike, Iterable[RuleArgs]]]


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
    # jumps into owned chains removed from foreign chains: changed, dropped from
    # ``jumps``, duplicated, or leading into a stale chain (table, chain, rule text)
    jumps_deleted: List[Tuple[str, str, str]] = field(default_factory=list)
    payload: bytes = b""
    # False for a dry run, and when nothing needed changing
    applied: bool = False

    @property
    def changed(self) -> bool:
        """Something differed: the payload was sent (or, in a dry run, would be)."""
        return bool(self.payload)


def _target_of(spec: str) -> Optional[str]:
    """The chain a saved rule jumps or goes to, if any.

    iptables-save prints the target last, and a jump to a chain has no options: the
    rule ends in ``-j CHAIN`` or ``-g CHAIN``. (A ``" -j X"`` inside a quoted LOG
    prefix or comment ends in a quote, which no chain name holds.)
    """
    words = spec.rsplit(" ", 2)
    if len(words) == 3 and words[1] in ("-j", "-g"):
        return words[2]
    return None


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

    def hint(self, family: int) -> Optional[str]:
        """The first mistake _hints finds in the desired rules (only after a failure)."""
        for table, chains in self.chains.items():
            for keys in chains.values():
                for key in keys:
                    found = rule_hint(family, table, key_tokens(key))
                    if found is not None:
                        return found
        for table, jumps in self.jumps.items():
            for _chain, tokens, _position in jumps:
                found = rule_hint(family, table, tokens)
                if found is not None:
                    return found
        return None

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
    if isinstance(jumps, (str, Jump)):
        raise InvalidArgumentError("jumps is a sequence of Jump, not one")
    for jump in jumps:
        t, c = table_name(jump.table), chain_name(jump.chain)
        if c.startswith(prefix):
            raise InvalidArgumentError(f"jump rules belong in chains you don't own, not {c!r}")
        if isinstance(jump.args, str):
            raise InvalidArgumentError(
                f"Jump args are argv tokens, not one str: use {tuple(jump.args.split())!r}"
            )
        entry = (c, tuple(rule_tokens(jump.args)), RulePosition(jump.position))
        if any(e[:2] == entry[:2] for e in wanted.get(t, [])):
            raise InvalidArgumentError(f"jump declared twice: {t} {c} {' '.join(entry[1])}")
        wanted.setdefault(t, []).append(entry)
    return _Desired(desired, wanted, empty_tokens)


def _apply(
    client: Interface, payload: Payload, result: SyncResult, desired: _Desired, how: Apply
) -> SyncResult:
    if payload:
        result.payload = payload.encode()
        try:
            if not how.dry_run:
                client.restore_all(result.payload, flush=False)
                result.applied = True
            elif how.check:
                client.check_restore(result.payload)
        except RestoreError as exc:
            exc.add_hint(desired.hint(6 if client.is_ipv6() else 4))
            raise
    return result


def sync_chains(
    client: IPTables,
    prefix: str,
    chains: DesiredChains,
    jumps: Sequence[Jump] = (),
    how: Apply = APPLY,
) -> SyncResult:
    """Stateless sync: read each table once, send only what differs from the kernel."""
    if not chains:
        raise InvalidArgumentError(
            "sync() with no tables would do nothing; to remove every chain with the prefix "
            f"{prefix!r} and the jumps into them, call teardown({prefix!r}); to empty one "
            "table's chains, pass {table: {}}"
        )
    desired = _normalize(prefix, chains, jumps)
    with client.ensure_guard("*", "*"):
        return _sync_against_kernel(client, prefix, desired, how)


def teardown_chains(client: IPTables, prefix: str, how: Apply = APPLY) -> SyncResult:
    """Remove every chain named ``prefix*`` in every table, and every jump into one.

    One ``iptables-save`` of all tables (it creates none, on either backend), one
    restore; nothing is sent when nothing carries the prefix.
    """
    _normalize(prefix, {}, ())  # validates the prefix
    with client.ensure_guard("*", "*"):
        saved = chain_specs(client.save())
        desired = _Desired({table: {} for table in saved}, {}, {})
        return _sync_against_kernel(client, prefix, desired, how, saved)


def _sync_against_kernel(
    client: IPTables,
    prefix: str,
    desired: _Desired,
    how: Apply,
    snapshot: Optional[Dict[str, Dict[str, List[str]]]] = None,
) -> SyncResult:
    result = SyncResult()
    payload = Payload()
    identity = client.identity
    loose = client.info.compare_ignores_prefix(client.is_ipv6())
    for table in desired.tables():
        if snapshot is not None:
            saved = snapshot.get(table, {})
        else:
            saved = chain_specs(client.save(checked_table(table))).get(table, {})
        own = desired.chains.get(table, {})
        known: Set[str] = set(saved) | set(own)

        def exists(_t: str, name: str, _known: Set[str] = known) -> bool:
            return name in _known

        def canon(chain: str, tokens: Tuple[str, ...], _t: str = table) -> Optional[str]:
            return identity.texts(_t, chain, [tokens], exists)[0]

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
                and current == identity.key_texts(table, chain, own[chain], exists)
            ):
                result.unchanged.append((table, chain))
                continue
            (result.rewritten if current is not None else result.created).append((table, chain))
            decls.append(declare(chain))
            body.extend(appends(chain, texts))
        stale = [c for c in saved if c.startswith(prefix) and c not in own]
        result.deleted.extend((table, c) for c in stale)
        owned = {c for c in known if c.startswith(prefix)}
        edits = _JumpEdits(table, result, loose)
        declared = desired.jumps.get(table, [])
        for chain in _foreign_chains(saved, declared, prefix):
            edits.reconcile(chain, saved.get(chain, []), declared, owned, canon, client)
        payload.table(table, decls + edits.removals + removes(stale) + body + edits.additions)
    return _apply(client, payload, result, desired, how)


def _foreign_chains(
    saved: Mapping[str, List[str]],
    declared: Sequence[Tuple[str, Tuple[str, ...], RulePosition]],
    prefix: str,
) -> List[str]:
    """Chains the owner does not own that hold or should hold jumps: saved order first."""
    names = [c for c in saved if not c.startswith(prefix)]
    names += [c for c, _tokens, _pos in declared if c not in saved and c not in names]
    return names


class _JumpEdits:
    """The restore lines that make one table's foreign chains hold exactly the declared jumps.

    A jump is a rule outside the owned chains whose target (``-j``/``-g``) is an owned
    chain. Each declared jump is kept once; ``PREPEND`` jumps are the first rules of
    their chain, in the order given; every other jump into an owned chain is deleted
    (a changed jump, a dropped one, a duplicate, a jump into a stale chain).
    """

    def __init__(self, table: str, result: SyncResult, loose: bool) -> None:
        self.table = table
        self.result = result
        self.loose = loose  # ip6tables-nft: -D ignores prefix lengths
        self.removals: List[str] = []
        self.additions: List[str] = []

    def reconcile(
        self,
        chain: str,
        current: List[str],
        declared: Sequence[Tuple[str, Tuple[str, ...], RulePosition]],
        owned: Set[str],
        canon: Callable[[str, Tuple[str, ...]], Optional[str]],
        client: IPTables,
    ) -> None:
        mine = [(tokens, pos) for c, tokens, pos in declared if c == chain]
        texts: List[Optional[str]] = []
        for tokens, _pos in mine:
            quoted = restore_line(tokens)
            texts.append(quoted if quoted in current else canon(chain, tokens))
        if None in texts:
            # A declared jump whose text cannot be told (a module the engine does not
            # model, or a target chain this sync creates first): which saved rule it is
            # can't be said, so this chain keeps every jump and only gains the missing
            # ones, prepends at the top in the order given.
            at = 1
            for (tokens, pos), text in zip(mine, texts):
                if text is None and client.rule_exists(checked_table(self.table), chain, *tokens):
                    continue
                if text is not None and text in current:
                    continue
                if pos is RulePosition.PREPEND:
                    self._add(chain, tokens, pos, None, at)
                    at += 1
                else:
                    self._add(chain, tokens, pos, None)
            return
        working = list(current)
        wanted: Dict[str, int] = {}
        for text in texts:
            assert text is not None
            wanted[text] = wanted.get(text, 0) + 1
        # every jump into an owned chain that is not declared (or is one too many) goes
        seen: Dict[str, int] = {}
        for text in list(working):
            if _target_of(" " + text) not in owned:
                continue
            seen[text] = seen.get(text, 0) + 1
            if seen[text] > wanted.get(text, 0):
                self._remove(chain, working, text)
        prepends = [
            (tokens, text)
            for (tokens, pos), text in zip(mine, texts)
            if pos is RulePosition.PREPEND
        ]
        if [text for _t, text in prepends] != working[: len(prepends)]:
            for _tokens, text in prepends:
                assert text is not None
                while text in working:
                    self._remove(chain, working, text, moved=True)
            for at, (tokens, text) in enumerate(prepends, start=1):
                self._add(chain, tokens, RulePosition.PREPEND, text, at)
                working.insert(at - 1, text or "")
        for (tokens, pos), text in zip(mine, texts):
            if pos is RulePosition.APPEND and text not in working:
                self._add(chain, tokens, pos, text)
                working.append(text or "")

    def _remove(self, chain: str, working: List[str], text: str, moved: bool = False) -> None:
        index = working.index(text)
        line = command("-D", chain, text)
        if self.loose and delete_takes_an_earlier_rule(working, index):
            line = f"-D {chain} {index + 1}"  # ip6tables-nft's -D would take another
        del working[index]
        self.removals.append(line)
        if not moved:
            self.result.jumps_deleted.append((self.table, chain, text))

    def _add(
        self,
        chain: str,
        tokens: Tuple[str, ...],
        position: RulePosition,
        text: Optional[str],
        at: int = 0,
    ) -> None:
        spec = restore_line(tokens)
        if at:
            self.additions.append(command("-I", f"{chain} {at}", spec))
        else:
            self.additions.append(command(position.value, chain, spec))
        self.result.jumps_added.append((self.table, chain, text or " ".join(tokens)))


class Syncer:
    """Stateful sync, as kube-proxy does its partial syncs (KEP-3453).

    The first sync, every ``full_sync_interval`` seconds, any sync after a failure,
    a sync whose jumps or tables differ from the last one, and ``sync(...,
    full=True)`` read the kernel (:func:`IPTables.sync`, the same semantics). In
    between, the Syncer trusts what it applied last time and sends only the chains
    whose desired rules changed, without reading the kernel at all: after a
    one-service change that is one small restore. If something else may flush your
    chains, keep the interval short or watch a canary chain.

    It drives any :class:`iptwrap.Interface` (a wrapper of your own around the client
    included): the full syncs through its ``sync``, the others through its
    ``restore_all``.
    """

    def __init__(
        self, client: Interface, prefix: str, *, full_sync_interval: Optional[float] = 3600.0
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
        self,
        chains: DesiredChains,
        jumps: Sequence[Jump] = (),
        *,
        full: bool = False,
        dry_run: bool = False,
        check: bool = False,
    ) -> SyncResult:
        """Apply ``chains`` and ``jumps``. A dry run (``check``: see IPTables.sync)
        returns the payload and leaves both the kernel and this Syncer's memory as
        they were."""
        how = Apply(dry_run, check)
        if not chains:
            raise InvalidArgumentError(
                "Syncer.sync() with no tables would do nothing; call Syncer.teardown() to "
                "remove every chain with the prefix and the jumps into them"
            )
        desired = _normalize(self._prefix, chains, jumps)
        now = time.monotonic()
        due = self._interval is not None and now - self._last_full >= self._interval
        last = self._last
        self._last = None  # until this sync has landed
        try:
            if (
                full
                or last is None
                or due
                or last.jumps != desired.jumps
                or last.tables() != desired.tables()
            ):
                result = self._client.sync(
                    self._prefix, chains, jumps, dry_run=dry_run, check=check
                )
                if not how.dry_run:
                    self._last_full = now
            else:
                result = self._sync_against_memory(last, desired, how)
        except BaseException:
            if how.dry_run:
                self._last = last  # a dry run changed nothing, even when it failed
            raise
        self._last = last if how.dry_run else desired
        return result

    def teardown(self, *, dry_run: bool = False, check: bool = False) -> SyncResult:
        """Remove every chain with the prefix, and the jumps into them (see IPTables.teardown)."""
        if not Apply(dry_run, check).dry_run:
            self._last = None
        return self._client.teardown(self._prefix, dry_run=dry_run, check=check)

    def _sync_against_memory(self, last: _Desired, desired: _Desired, how: Apply) -> SyncResult:
        """Same tables, same jumps as the last sync: only changed chains are written."""
        result = SyncResult()
        payload = Payload()
        for table in desired.tables():
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
                decls.append(declare(chain))
                body.extend(appends(chain, desired.texts(table, chain)))
            stale = [c for c in old if c not in new]
            result.deleted.extend((table, c) for c in stale)
            payload.table(table, decls + removes(stale) + body)
        return _apply(self._client, payload, result, desired, how)
