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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, Union

from ._canonical import CanonicalError, canonical_rule_text
from ._dump import SavedTable, parse_save
from ._errors import RestoreError
from ._payload import InvalidArgumentError, chain_name, restore_line, rule_tuple, table_name
from ._types import ChainLike, RulePosition, TableLike

if TYPE_CHECKING:  # pragma: no cover
    from ._client import IPTables

__all__ = ["Batch", "BatchResult", "BatchOp", "BatchError"]

_NEEDS_SNAPSHOT = {"ensure_chain", "ensure_rule", "delete_rule"}


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

    Rules are ``(table, chain, canonical text)``; chains are ``(table, chain)``.
    """

    added: List[Tuple[str, str, str]] = field(default_factory=list)
    deleted: List[Tuple[str, str, str]] = field(default_factory=list)
    present: List[Tuple[str, str, str]] = field(default_factory=list)
    chains_created: List[Tuple[str, str]] = field(default_factory=list)
    chains_deleted: List[Tuple[str, str]] = field(default_factory=list)
    payload: bytes = b""

    @property
    def changed(self) -> bool:
        return bool(self.payload)


class BatchError(RestoreError):
    """The batch's restore failed; ``operation`` is the call behind the failing line."""

    def __init__(self, cause: RestoreError, operation: Optional[BatchOp]) -> None:
        super().__init__(
            cause.argv,
            cause.returncode,
            cause.stdout,
            cause.stderr,
            line=cause.line,
            line_text=cause.line_text,
            cause=cause.cause,
        )
        self.operation = operation
        if operation is not None:
            self.args = (f"{self.args[0]} [batch operation {operation}]",)


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

    def __init__(self, saved: Optional[SavedTable], known: bool) -> None:
        self.known = known
        self.chains: Dict[str, _ChainModel] = {}
        if saved is not None:
            for chain in saved.chains.values():
                self.chains[chain.name] = _ChainModel(chain.specs())


class Batch:
    """Collects mutations; applied by ``__exit__`` (or :meth:`commit`).

    Obtain one with ``IPTables.batch()``. The verbs have the client's names and
    argument order. A batch is single-use and not thread-safe.
    """

    def __init__(self, client: IPTables) -> None:
        self._client = client
        self._ops: List[BatchOp] = []
        self._positions: Dict[int, RulePosition] = {}
        self._numbers: Dict[int, int] = {}
        self._policies: Dict[int, str] = {}
        self._done = False
        self._names: Dict[Tuple[object, object], Tuple[str, str]] = {}
        self.result = BatchResult()

    # ------------------------------------------------------------- verbs

    def _add(self, verb: str, table: TableLike, chain: ChainLike, args: Sequence[str] = ()) -> int:
        if self._done:
            raise RuntimeError("this batch has already been applied")
        where = (table, chain)
        names = self._names.get(where)  # agents add thousands of rules to a few chains
        if names is None:
            names = self._names[where] = (table_name(table), chain_name(chain))
        tokens = rule_tuple(args)
        index = len(self._ops)
        self._ops.append(BatchOp(index, verb, names[0], names[1], tokens))
        return index

    def ensure_chain(self, table: TableLike, chain: ChainLike) -> None:
        self._add("ensure_chain", table, chain)

    def flush_chain(self, table: TableLike, chain: ChainLike) -> None:
        self._add("flush_chain", table, chain)

    def delete_chain(self, table: TableLike, chain: ChainLike) -> None:
        self._add("delete_chain", table, chain)

    def append_rule(self, table: TableLike, chain: ChainLike, *args: str) -> None:
        self._add("append_rule", table, chain, args)

    def insert_rule(self, table: TableLike, chain: ChainLike, position: int, *args: str) -> None:
        if isinstance(position, bool) or not isinstance(position, int) or position < 1:
            raise InvalidArgumentError(f"rule numbers are integers from 1, not {position!r}")
        self._numbers[self._add("insert_rule", table, chain, args)] = position

    def ensure_rule(
        self, position: RulePosition, table: TableLike, chain: ChainLike, *args: str
    ) -> None:
        self._positions[self._add("ensure_rule", table, chain, args)] = RulePosition(position)

    def delete_rule(self, table: TableLike, chain: ChainLike, *args: str) -> None:
        self._add("delete_rule", table, chain, args)

    def set_policy(self, table: TableLike, chain: ChainLike, policy: str) -> None:
        if policy not in ("ACCEPT", "DROP"):
            raise InvalidArgumentError(f"policy must be 'ACCEPT' or 'DROP', not {policy!r}")
        self._policies[self._add("set_policy", table, chain)] = policy

    # ------------------------------------------------------------- applying

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self._done = True  # an exception in the block: send nothing

    def commit(self) -> BatchResult:
        """Resolve against one snapshot per table and apply in one restore."""
        if self._done:
            raise RuntimeError("this batch has already been applied")
        self._done = True
        # snapshot-then-restore is a check-then-act: same guard as ensure_rule
        with self._client.ensure_guard("*", "*"):
            return self._commit()

    def _commit(self) -> BatchResult:
        if not self._ops:
            return self.result
        # One snapshot per table, and only for tables where an answer depends on
        # what is already there (ensure_*, delete_rule).
        need = {op.table for op in self._ops if op.verb in _NEEDS_SNAPSHOT}
        tables: Dict[str, _TableModel] = {}
        for op in self._ops:
            if op.table not in tables:
                if op.table in need:
                    saved = parse_save(self._client.save(op.table)).tables.get(op.table)
                    tables[op.table] = _TableModel(saved, known=True)
                else:
                    tables[op.table] = _TableModel(None, known=False)
        lines: Dict[str, List[Tuple[str, Optional[BatchOp]]]] = {t: [] for t in tables}
        added = self.result.added
        for op in self._ops:
            model = tables[op.table]
            if op.verb == "append_rule" and not model.known:
                # the bulk-create fast path: nothing to resolve, just a line
                spec = restore_line(op.args)
                lines[op.table].append((f"-A {op.chain} {spec}" if spec else f"-A {op.chain}", op))
                added.append((op.table, op.chain, spec))
                continue
            lines[op.table].extend(self._resolve(op, model))
        payload_lines: List[str] = []
        owners: List[Optional[BatchOp]] = []
        for table, body in lines.items():
            if not body:
                continue
            payload_lines.append(f"*{table}")
            owners.append(None)
            for text, owner in body:
                payload_lines.append(text)
                owners.append(owner)
            payload_lines.append("COMMIT")
            owners.append(None)
        if not payload_lines:
            return self.result
        payload = ("\n".join(payload_lines) + "\n").encode("utf-8")
        self.result.payload = payload
        try:
            self._client.restore_all(payload, flush=False)
        except RestoreError as exc:
            blamed: Optional[BatchOp] = None
            if exc.line is not None and 1 <= exc.line <= len(owners):
                blamed = owners[exc.line - 1]
                # nft blames the COMMIT line for errors it finds at commit time:
                # the last operation of that table block is the best guess then.
                back = exc.line - 1
                while blamed is None and back > 0:
                    back -= 1
                    blamed = owners[back]
            raise BatchError(exc, blamed) from exc
        return self.result

    def _canonical(
        self, table: str, chain: str, args: Sequence[str], model: _TableModel
    ) -> Optional[str]:
        try:
            return canonical_rule_text(
                args,
                table=table,
                chain=chain,
                family=6 if self._client.is_ipv6() else 4,
                backend=self._client.mode.value,
                chain_exists=lambda _t, name: name in model.chains,
            )
        except CanonicalError:
            return None

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

    def _resolve(self, op: BatchOp, model: _TableModel) -> List[Tuple[str, Optional[BatchOp]]]:
        verb, chain, table = op.verb, op.chain, op.table
        spec = restore_line(op.args)
        out: List[Tuple[str, Optional[BatchOp]]] = []
        if verb == "ensure_chain":
            if chain in model.chains:
                return out
            model.chains[chain] = _ChainModel()
            self.result.chains_created.append((table, chain))
            return [(f":{chain} - [0:0]", op)]
        if verb == "flush_chain":
            if chain in model.chains:
                model.chains[chain] = _ChainModel()
            return [(f"-F {chain}", op)]
        if verb == "delete_chain":
            model.chains.pop(chain, None)
            self.result.chains_deleted.append((table, chain))
            return [(f"-X {chain}", op)]
        if verb == "set_policy":
            return [(f"-P {chain} {self._policies[op.index]}", op)]
        if verb == "append_rule" or verb == "insert_rule":
            rules = model.chains.get(chain)
            if verb == "append_rule":
                if rules is not None:
                    rules.add(op.args)
                line = f"-A {chain} {spec}"
            else:
                number = self._numbers[op.index]
                if rules is not None:
                    rules.add(op.args, number - 1)
                line = f"-I {chain} {number} {spec}"
            self.result.added.append((table, chain, spec))
            return [(line.rstrip(), op)]
        canonical = self._canonical(table, chain, op.args, model)
        current = self._materialize(table, chain, model)
        if canonical is None or (current is None and chain in model.chains):
            # The local parser cannot tell identity: ask the kernel, as ensure_rule does.
            exists = chain in model.chains and self._client.rule_exists(table, chain, *op.args)
        else:
            exists = current is not None and canonical in current.counts
        rules = model.chains.get(chain)
        key = (table, chain, canonical or spec)
        if verb == "ensure_rule":
            if exists:
                self.result.present.append(key)
                return out
            position = self._positions[op.index]
            if rules is not None:
                entry: Union[str, Tuple[str, ...]] = canonical if canonical is not None else op.args
                rules.add(entry, None if position is RulePosition.APPEND else 0)
            self.result.added.append(key)
            return [(f"{position.value} {chain} {spec}".rstrip(), op)]
        if verb == "delete_rule":
            if not exists:
                return out
            if rules is not None and canonical is not None and canonical in rules.counts:
                rules.remove(canonical)
            self.result.deleted.append(key)
            return [(f"-D {chain} {spec}".rstrip(), op)]
        raise AssertionError(f"unknown verb {verb}")  # pragma: no cover
