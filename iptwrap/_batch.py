"""Batches: many mutations, one snapshot per table, one ``iptables-restore --noflush``.

Ensuring 1,000 rules with one ``iptables -C`` each costs seconds on nft; one
``iptables-save`` and a set comparison costs milliseconds. A batch records the
mutating verbs, and on exit reads one snapshot per table it touches, resolves every
ensure/delete against it by canonical rule identity (the parser that imitates
iptables-save for the client's backend), and sends whatever is left to do in a single
``iptables-restore --noflush``. Nothing to change means no restore at all.

Atomicity is the backend's: each table's block is one transaction; a failure in a
later table does not undo an earlier table's COMMIT (measured on 1.8.9, both
backends). A batch touching one table is all-or-nothing.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

from ._canonical import (
    delete_takes_an_earlier_rule,
    repeats_a_match,
)
from ._dump import chain_specs
from ._errors import BatchError, RestoreError
from ._hints import check_delete_chain, rule_hint
from ._identity import Identity
from ._payload import (
    InvalidArgumentError,
    chain_name,
    checked_table,
    key_texts,
    key_tokens,
    rule_keys,
    rule_tokens,
    table_name,
)
from ._ruleargs import MAY_REFUSE_IN_KEY
from ._types import ChainLike, RulePosition, TableLike
from ._writer import APPLY, Apply, Payload, appends, command, declare

# the per-call check of a joined key ("\n" + tokens joined by "\n"), inlined in _add
_may_refuse = MAY_REFUSE_IN_KEY.search

if TYPE_CHECKING:  # pragma: no cover
    from ._client import IPTables

__all__ = ["Batch", "BatchResult", "BatchOp", "BatchError"]

_NEEDS_SNAPSHOT = {"ensure_chain", "ensure_rule", "delete_rule"}
# the verbs whose answer depends on the rules already in the chain
_READS_RULES = frozenset({"ensure_rule", "delete_rule"})
_MISSING_CHAIN = re.compile(r"Chain '([^']+)' does not exist")
_JUMP_FLAGS = frozenset({"-j", "--jump", "-g", "--goto"})


class BatchOp:
    """One recorded call: its index in the batch, verb and arguments."""

    __slots__ = ("index", "verb", "table", "chain", "args")

    def __init__(
        self, index: int, verb: str, table: str, chain: str, args: Tuple[str, ...] = ()
    ) -> None:
        self.index = index
        self.verb = verb
        self.table = table
        self.chain = chain
        self.args = args

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BatchOp) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> Tuple[object, ...]:
        return (self.index, self.verb, self.table, self.chain, self.args)

    def __repr__(self) -> str:
        return f"BatchOp{self._key()!r}"

    def __str__(self) -> str:
        args = " ".join(self.args)
        return f"#{self.index} {self.verb}({self.table}, {self.chain}{', ' + args if args else ''})"


@dataclass
class BatchResult:
    """What the batch changed, and what it found already in place.

    Rules are ``(table, chain, canonical text)`` (for appended and inserted rules, the
    text sent); chains are ``(table, chain)``.
    """

    deleted: List[Tuple[str, str, str]] = field(default_factory=list)
    present: List[Tuple[str, str, str]] = field(default_factory=list)
    chains_created: List[Tuple[str, str]] = field(default_factory=list)
    chains_deleted: List[Tuple[str, str]] = field(default_factory=list)
    payload: bytes = b""
    # False for a dry run, and when nothing needed changing
    applied: bool = False
    # (table, chain, texts) per run of additions: a bulk create of 10,000 rules would
    # spend a millisecond building tuples nobody may read; ``added`` builds them.
    _added: List[Tuple[str, str, List[str]]] = field(default_factory=list, repr=False)

    @property
    def added(self) -> List[Tuple[str, str, str]]:
        """The rules the batch added, in order (a new list on each access)."""
        return [(table, chain, text) for table, chain, texts in self._added for text in texts]

    @property
    def changed(self) -> bool:
        return bool(self.payload)


class _ChainModel:
    """One chain as the batch goes: its rules in order, and a multiset of their texts.

    A rule is its canonical text, or, for rules the batch itself added without
    needing identity, the argv tokens; ``pending`` counts those, so a batch that only
    creates rules never pays for canonicalising them, and the first ensure/delete in
    the chain canonicalises them once.
    """

    __slots__ = ("rules", "counts", "pending")

    def __init__(self, rules: Optional[List[str]] = None) -> None:
        self.rules: List[Union[str, Tuple[str, ...]]] = list(rules or [])
        self.counts: Dict[str, int] = {}
        for text in rules or []:
            self.counts[text] = self.counts.get(text, 0) + 1
        self.pending = 0

    def add(self, entry: Union[str, Tuple[str, ...]], at: Optional[int] = None) -> None:
        if at is None:
            self.rules.append(entry)
        else:
            self.rules.insert(at, entry)
        if isinstance(entry, str):
            self.counts[entry] = self.counts.get(entry, 0) + 1
        else:
            self.pending += 1

    def remove(self, text: str) -> None:
        self.rules.remove(text)
        left = self.counts[text] - 1
        if left:
            self.counts[text] = left
        else:
            del self.counts[text]


class _TableModel:
    """One table's chains; ``known`` is False when the batch needed no snapshot of it."""

    def __init__(self, saved: Optional[Dict[str, List[str]]], known: bool) -> None:
        self.known = known
        self.chains: Dict[str, _ChainModel] = {}
        for name, specs in (saved or {}).items():
            self.chains[name] = _ChainModel(specs)

    def chain_exists(self, _table: str, name: str) -> bool:
        return name in self.chains


class _Run:
    """Consecutive calls of one verb on one chain: how agents batch, and how we store them.

    Each call is kept as one string, its tokens joined by newlines (which no token
    may hold; ``"\\0"`` for a call without tokens): an immutable snapshot that the
    garbage collector never scans. A batch of 10,000 appends is then one list of
    10,000 strings, and its payload a couple of ``str.replace`` over their join.
    """

    __slots__ = ("verb", "table", "chain", "start", "keys")

    def __init__(self, verb: str, table: str, chain: str, start: int) -> None:
        self.verb = verb
        self.table = table
        self.chain = chain
        self.start = start
        self.keys: List[str] = []

    def args(self, offset: int) -> Tuple[str, ...]:
        return key_tokens(self.keys[offset])


class Batch:
    """Collects mutations; applied by ``__exit__`` (or :meth:`commit`).

    Obtain one with ``IPTables.batch()``. The verbs have the client's names and
    argument order. A batch is single-use and not thread-safe.
    """

    def __init__(self, client: IPTables, how: Apply = APPLY) -> None:
        self._client = client
        self._how = how
        self._runs: List[_Run] = []
        self._count = 0
        self._only_appends = True
        self._empty_token = False  # some call has an empty token: quote call by call
        self._positions: Dict[int, RulePosition] = {}
        self._numbers: Dict[int, int] = {}
        self._policies: Dict[int, str] = {}
        self._done = False
        self._names: Dict[Tuple[object, object], Tuple[str, str]] = {}
        self._hot: Optional[Tuple[object, object, str, _Run]] = None
        self._identity: Optional[Identity] = None  # set on commit, from the client
        self._loose = False  # the binary's -D ignores -s/-d prefix lengths
        self._merged_misses = False  # its -D misses spellings whose matches it merged
        self.result = BatchResult()

    # ------------------------------------------------------------- verbs

    def _names_for(self, table: TableLike, chain: ChainLike) -> Tuple[str, str]:
        if self._done:
            raise RuntimeError("this batch has already been applied")
        names = self._names.get((table, chain))  # agents add thousands of rules to a few chains
        if names is None:
            names = self._names[(table, chain)] = (table_name(table), chain_name(chain))
        return names

    def _run_for(self, verb: str, names: Tuple[str, str]) -> _Run:
        """The run this call joins: the last one if it has the same verb and chain.

        Called only once the call's arguments are checked: a run is never empty.
        """
        self._hot = None  # the caller sets it again if it may
        runs = self._runs
        if runs:
            last = runs[-1]
            if last.verb == verb and last.chain == names[1] and last.table == names[0]:
                return last
        if verb != "append_rule":
            self._only_appends = False
        run = _Run(verb, names[0], names[1], self._count)
        runs.append(run)
        return run

    def _add(self, verb: str, table: TableLike, chain: ChainLike, args: Sequence[str] = ()) -> int:
        hot = self._hot
        # An agent's loop passes the same table and chain objects call after call: then
        # the names are checked and the run is known already.
        if hot is not None and hot[0] is table and hot[1] is chain and hot[2] is verb:
            run: Optional[_Run] = hot[3]
        else:
            names = self._names_for(table, chain)
            run = None
        # rule_keys for a single call, inline: this is the per-call hot path
        try:
            key: Optional[str] = "\n".join(args)
        except TypeError:
            key = None  # not all str: rule_tokens names the culprit
        # (a call without tokens also takes this branch: its key is "" but it has -1 joins)
        if (
            key is None
            or "\0" in key
            or "\r" in key
            or key.count("\n") != len(args) - 1
            or _may_refuse("\n" + key) is not None
        ):
            key = "\n".join(rule_tokens(args))  # raises on a bad token or a refused option
        if not args:
            key = "\0"
        elif "" in args:
            self._empty_token = True
        if run is None:
            run = self._run_for(verb, names)
            self._hot = (table, chain, verb, run)
        run.keys.append(key)
        self._count += 1
        return self._count - 1

    def ensure_chain(self, table: TableLike, chain: ChainLike) -> None:
        self._add("ensure_chain", table, chain)

    def flush_chain(self, table: TableLike, chain: ChainLike) -> None:
        self._add("flush_chain", table, chain)

    def delete_chain(self, table: TableLike, chain: ChainLike) -> None:
        check_delete_chain(*self._names_for(table, chain))
        self._add("delete_chain", table, chain)

    def append_rule(self, table: TableLike, chain: ChainLike, *args: str) -> None:
        self._add("append_rule", table, chain, args)

    def append_rules(
        self, table: TableLike, chain: ChainLike, rules: Iterable[Sequence[str]]
    ) -> None:
        """``append_rule`` for each of ``rules``, in order: the bulk-create path.

        The same operations (one index each) as a loop of ``append_rule``, checked in
        one pass: for thousands of rules the loop's per-call Python is what shows next
        to legacy iptables-restore, which applies a rule in about 4 µs.
        """
        names = self._names_for(table, chain)
        checked, keys = rule_keys(rules)  # before the run: a bad rule adds nothing
        if not keys:
            return
        if not all(map(all, checked)):
            self._empty_token = True
        run = self._run_for("append_rule", names)
        run.keys.extend(keys)
        self._count += len(keys)

    def insert_rule(self, table: TableLike, chain: ChainLike, position: int, *args: str) -> None:
        if isinstance(position, bool) or not isinstance(position, int) or position < 1:
            raise InvalidArgumentError(f"rule numbers are integers from 1, not {position!r}")
        self._numbers[self._add("insert_rule", table, chain, args)] = position

    def ensure_rule(
        self, position: RulePosition, table: TableLike, chain: ChainLike, *args: str
    ) -> None:
        if type(position) is not RulePosition:
            position = RulePosition(position)
        self._positions[self._add("ensure_rule", table, chain, args)] = position

    def delete_rule(self, table: TableLike, chain: ChainLike, *args: str) -> None:
        self._add("delete_rule", table, chain, args)

    def set_policy(self, table: TableLike, chain: ChainLike, policy: str) -> None:
        if policy not in ("ACCEPT", "DROP"):
            raise InvalidArgumentError(f"policy must be 'ACCEPT' or 'DROP', not {policy!r}")
        self._policies[self._add("set_policy", table, chain)] = policy

    @property
    def operations(self) -> List[BatchOp]:
        """The calls recorded so far, in order."""
        return [
            BatchOp(run.start + i, run.verb, run.table, run.chain, run.args(i))
            for run in self._runs
            for i in range(len(run.keys))
        ]

    def _op(self, index: int) -> BatchOp:
        run = self._runs[bisect.bisect_right([r.start for r in self._runs], index) - 1]
        return BatchOp(index, run.verb, run.table, run.chain, run.args(index - run.start))

    # ------------------------------------------------------------- applying

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self._done = True  # an exception in the block: send nothing
            self._hot = None

    def commit(self) -> BatchResult:
        """Resolve against one snapshot per table and apply in one restore."""
        if self._done:
            raise RuntimeError("this batch has already been applied")
        self._done = True
        self._hot = None
        # snapshot-then-restore is a check-then-act: same guard as ensure_rule
        with self._client.ensure_guard("*", "*"):
            return self._commit()

    def _specs(self) -> List[List[str]]:
        """Each run's calls as restore text (what follows ``-A CHAIN``), quoted if needed."""
        runs = self._runs
        keys = runs[0].keys if len(runs) == 1 else [k for run in runs for k in run.keys]
        flat = key_texts(keys, empty_tokens=self._empty_token)
        out, at = [], 0
        for run in runs:
            out.append(flat[at : at + len(run.keys)])
            at += len(run.keys)
        return out

    def _commit(self) -> BatchResult:
        if not self._count:
            return self.result
        owners: List[Optional[int]] = []
        payload = self._render(owners)
        if not payload:
            return self.result
        try:
            if not self._how.dry_run:
                self._client.restore_all(payload, flush=False)
                self.result.applied = True
            elif self._how.check:
                self._client.check_restore(payload)
        except RestoreError as exc:
            blamed = self._blame(exc, owners)
            op = None if blamed is None else self._op(blamed)
            hint = None
            if op is not None and op.args:
                hint = rule_hint(6 if self._client.is_ipv6() else 4, op.table, op.args)
            raise BatchError(exc, op, hint) from exc
        return self.result

    def _blame(self, exc: RestoreError, owners: List[Optional[int]]) -> Optional[int]:
        """The operation behind the failing payload line."""
        if exc.line is None or not 1 <= exc.line <= len(owners):
            return None
        blamed = owners[exc.line - 1]
        if blamed is not None:
            return blamed
        # nft finds missing jump targets at COMMIT and names the chain, not the line:
        # blame the first operation of that table block that jumps or goes there.
        block_start = exc.line - 1
        while block_start > 0 and owners[block_start - 1] is not None:
            block_start -= 1
        missing = _MISSING_CHAIN.search(exc.stderr.decode("utf-8", "replace"))
        if missing is not None:
            target = missing.group(1)
            for index in owners[block_start : exc.line - 1]:
                args = self._op(index).args if index is not None else ()
                if any(
                    flag in _JUMP_FLAGS and value == target for flag, value in zip(args, args[1:])
                ):
                    return index
        # otherwise the last operation of the block is the best guess
        back = exc.line - 1
        while blamed is None and back > 0:
            back -= 1
            blamed = owners[back]
        return blamed

    def _render(self, owners: List[Optional[int]]) -> bytes:
        """The payload (empty if nothing is to be sent); ``owners`` gets each line's op."""
        specs = self._specs()
        blocks: Dict[str, Tuple[List[str], List[int]]] = {}
        if self._only_appends:
            self._render_appends(specs, blocks)
        else:
            self._render_resolved(specs, blocks)
        writer = Payload()
        for table, (lines, indices) in blocks.items():
            writer.table(table, lines, indices)
        owners.extend(writer.owners)
        payload = writer.encode()
        if payload:
            self.result.payload = payload
        return payload

    def _render_appends(
        self, specs: List[List[str]], blocks: Dict[str, Tuple[List[str], List[int]]]
    ) -> None:
        """The bulk-create path: nothing to resolve, one join per run of rules."""
        for run, texts in zip(self._runs, specs):
            lines, indices = blocks.setdefault(run.table, ([], []))
            self._join_appends(run, texts, lines)
            indices.extend(range(run.start, run.start + len(texts)))

    def _join_appends(self, run: _Run, texts: List[str], lines: List[str]) -> None:
        """A run of append_rule as payload: one join (a rule with no tokens, alone)."""
        lines.extend(appends(run.chain, texts))
        self.result._added.append((run.table, run.chain, texts))

    def _render_resolved(
        self, specs: List[List[str]], blocks: Dict[str, Tuple[List[str], List[int]]]
    ) -> None:
        # One snapshot per table, and only for tables where an answer depends on
        # what is already there (ensure_*, delete_rule).
        need = {run.table for run in self._runs if run.verb in _NEEDS_SNAPSHOT}
        tables: Dict[str, _TableModel] = {}
        for run in self._runs:
            if run.table not in tables:
                saved = (
                    chain_specs(self._client.save(checked_table(run.table)))
                    if run.table in need
                    else {}
                )
                tables[run.table] = _TableModel(saved.get(run.table), run.table in need)
                blocks[run.table] = ([], [])
        self._identity = self._client.identity
        self._loose = self._client.info.compare_ignores_prefix(self._client.is_ipv6())
        self._merged_misses = self._client.info.check_misses_merged_matches()
        present = self.result.present
        # the chains some later ensure_rule/delete_rule reads: appends to any other
        # chain need no model of what they add, and go out as one join per run
        read_after: List[Set[Tuple[str, str]]] = [set() for _ in self._runs]
        later: Set[Tuple[str, str]] = set()
        for i in range(len(self._runs) - 1, -1, -1):
            read_after[i] = set(later)
            run = self._runs[i]
            if run.verb in _READS_RULES:
                later.add((run.table, run.chain))
        for number, (run, texts) in enumerate(zip(self._runs, specs)):
            lines, indices = blocks[run.table]
            model = tables[run.table]
            table, chain = run.table, run.chain
            if run.verb == "append_rule":
                self._append_run(run, texts, model, (table, chain) in read_after[number], lines)
                indices.extend(range(run.start, run.start + len(texts)))
                continue
            known = self._known_texts(run, texts, model)
            for offset, spec in enumerate(texts):
                if known is not None:
                    # a resync's common case, kept out of _resolve: the rule is there
                    text = known[offset]
                    if text is not None and text in model.chains[chain].counts:
                        present.append((table, chain, text))
                        continue
                index = run.start + offset
                for line in self._resolve(index, run, run.args(offset), spec, model):
                    lines.append(line)
                    indices.append(index)

    def _append_run(
        self, run: _Run, texts: List[str], model: _TableModel, read_later: bool, lines: List[str]
    ) -> None:
        """A run of append_rule: one join, as the bulk path makes it. The chain's model
        records the rules (as tokens, canonicalised only if asked) only when a later
        ensure_rule or delete_rule of the batch reads that chain."""
        rules = model.chains.get(run.chain)
        if rules is not None and read_later:
            rules.rules.extend(run.args(i) for i in range(len(texts)))
            rules.pending += len(texts)
        self._join_appends(run, texts, lines)

    def _known_texts(
        self, run: _Run, texts: List[str], model: _TableModel
    ) -> Optional[List[Optional[str]]]:
        """Canonical texts for a run of ensure_rule on a chain the snapshot has.

        A rule whose restore text is a saved rule's text is that rule (the same
        tokens): only the others are canonicalised.
        """
        if run.verb != "ensure_rule" or run.chain not in model.chains:
            return None
        counts = model.chains[run.chain].counts
        known: List[Optional[str]] = list(texts)
        misses = [i for i, text in enumerate(texts) if text not in counts]
        if misses:
            assert self._identity is not None
            found = self._identity.key_texts(
                run.table, run.chain, [run.keys[i] for i in misses], model.chain_exists
            )
            for i, text in zip(misses, found):
                known[i] = text
        return known

    def _canonical(
        self, table: str, chain: str, args: Sequence[str], model: _TableModel
    ) -> Optional[str]:
        assert self._identity is not None
        return self._identity.texts(table, chain, [tuple(args)], model.chain_exists)[0]

    def _materialize(self, table: str, chain: str, model: _TableModel) -> Optional[_ChainModel]:
        """The chain with every rule canonical (None if absent or not canonicalisable)."""
        current = model.chains.get(chain)
        if current is None or not current.pending:
            return current
        for i, rule in enumerate(current.rules):
            if isinstance(rule, tuple):
                text = self._canonical(table, chain, rule, model)
                if text is None:
                    return None
                current.rules[i] = text
                current.counts[text] = current.counts.get(text, 0) + 1
                current.pending -= 1
        return current

    def _exact_delete(
        self, table: str, chain: str, canonical: str, model: _TableModel, by_number: bool
    ) -> Optional[str]:
        """``-D CHAIN N`` where ``-D spec`` would take another rule or none.

        ip6tables-nft's ``-D`` compares ``-s``/``-d`` without prefix lengths and removes
        the first rule that matches so; iptables-nft 1.8.11's finds nothing for a
        spelling whose matches it merged (``by_number``). The batch's model of the
        chain gives the true number.
        """
        current = self._materialize(table, chain, model)
        if current is None:
            return None
        texts = [r for r in current.rules if isinstance(r, str)]
        index = texts.index(canonical)
        if by_number or delete_takes_an_earlier_rule(texts, index):
            return f"-D {chain} {index + 1}"
        return None

    def _resolve(
        self, index: int, run: _Run, args: Tuple[str, ...], spec: str, model: _TableModel
    ) -> List[str]:
        verb, table, chain = run.verb, run.table, run.chain
        if verb == "ensure_chain":
            if chain in model.chains:
                return []
            model.chains[chain] = _ChainModel()
            self.result.chains_created.append((table, chain))
            return [declare(chain)]
        if verb == "flush_chain":
            if chain in model.chains:
                model.chains[chain] = _ChainModel()
            return [command("-F", chain)]
        if verb == "delete_chain":
            model.chains.pop(chain, None)
            self.result.chains_deleted.append((table, chain))
            return [command("-X", chain)]
        if verb == "set_policy":
            return [command("-P", chain, self._policies[index])]
        rules = model.chains.get(chain)
        if verb == "append_rule" or verb == "insert_rule":
            if verb == "append_rule":
                if rules is not None:
                    rules.add(args)
                line = command("-A", chain, spec)
            else:
                number = self._numbers[index]
                if rules is not None:
                    rules.add(args, number - 1)
                line = command("-I", f"{chain} {number}", spec)
            self.result._added.append((table, chain, [spec]))
            return [line]
        canonical: Optional[str]
        if rules is not None and spec in rules.counts:
            # The restore text of these tokens is a saved rule's text: the same tokens,
            # so the same rule, without canonicalising anything.
            canonical, exists = spec, True
        else:
            canonical = self._canonical(table, chain, args, model)
            current = self._materialize(table, chain, model)
            if canonical is None or (current is None and rules is not None):
                # The local parser cannot tell identity: ask the kernel, as ensure_rule does.
                exists = rules is not None and self._client.rule_exists(
                    checked_table(table), chain, *args
                )
            else:
                exists = current is not None and canonical in current.counts
        key = (table, chain, canonical or spec)
        if verb == "ensure_rule":
            if exists:
                self.result.present.append(key)
                return []
            position = self._positions[index]
            if rules is not None:
                entry: Union[str, Tuple[str, ...]] = canonical if canonical is not None else args
                rules.add(entry, None if position is RulePosition.APPEND else 0)
            self.result._added.append((table, chain, [key[2]]))
            return [command(position.value, chain, spec)]
        if verb == "delete_rule":
            if not exists:
                return []
            line = command("-D", chain, spec)
            if rules is not None and canonical is not None and canonical in rules.counts:
                by_number = self._merged_misses and repeats_a_match(args)
                if self._loose or by_number:
                    line = self._exact_delete(table, chain, canonical, model, by_number) or line
                rules.remove(canonical)
            self.result.deleted.append(key)
            return [line]
        raise AssertionError(f"unknown verb {verb}")  # pragma: no cover
