"""The fake's kernel model: what each command does to the state, per backend.

One :class:`Kernel` is the xtables state of one address family for one backend
(``nft`` or ``legacy``) in one network namespace. :meth:`Kernel.execute` runs a parsed
:class:`~iptwrap._rulespec.model.Command` against it and returns what the command prints
on stdout, or raises one of the exceptions of :mod:`iptwrap._rulespec.errors`. The
tables, chains and rules themselves are in ``_state``.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional

from .._rulespec.errors import (
    FakeError,
    KernelRefused,
    ParameterProblem,
    Raw,
    RuntimeProblem,
    VersionProblem,
)
from .._rulespec.model import Command, RuleSpec
from .._rulespec.release import release_of
from ._save import check_line, list_rules, list_table, verbose_rule_line
from ._state import (
    _EINVAL,
    _NFT_ZERO_ERRNO0,
    _UNCONDITIONAL,
    BUILTIN_CHAINS,
    MSG_BADRULE,
    MSG_NOCHAIN,
    NFT_TABLE_ORDER,
    POLICIES,
    Chain,
    Rule,
    Table,
    _strerror,
    _zero_chain,
)

__all__ = ["Kernel"]


_RULE_OPS = {"A": "RULE_APPEND", "I": "RULE_INSERT", "R": "RULE_REPLACE", "D": "RULE_DELETE"}


class Kernel:
    """The xtables state of one family and one backend."""

    def __init__(self, family: int = 4, backend: str = "nft", version: str = "1.8.9") -> None:
        if backend not in ("nft", "legacy"):
            raise ValueError(f"backend must be 'nft' or 'legacy', not {backend!r}")
        self.family = family
        self.backend = backend
        self.version = version
        self.release = release_of(version)
        self.tables: Dict[str, Table] = {}
        self._seq = 0
        # Set by the restore emulation: a rule jumping to a chain that does not exist
        # (yet) is recorded here instead of refused (nft checks at COMMIT).
        self.defer_checks = False
        self.pending_missing: List[str] = []
        self.pending_kernel: bool = False  # a jump or hook-restricted rule was added
        self.pending_direct: bool = False  # a rule the kernel refuses wherever it is
        self.pending_direct_chains: List[str] = []  # ... and the chains they went to
        # Set by the nft restore replay: skip the table validation (hooks, loops) that
        # nf_tables only does at COMMIT, keep the checks of a rule on its own.
        self.no_graph = False

    @property
    def legacy(self) -> bool:
        return self.backend == "legacy"

    @property
    def short_prog(self) -> str:
        return "ip6tables" if self.family == 6 else "iptables"

    # ---- tables -------------------------------------------------------------------
    def check_table_name(self, name: str) -> None:
        if name in BUILTIN_CHAINS:
            return
        if self.legacy:
            raise VersionProblem(
                f"can't initialize {self.short_prog} table `{name}': Table does not exist "
                "(do you need to insmod?)"
            )
        raise VersionProblem(f"table '{name}' does not exist")

    def instantiate(self, name: str) -> Table:
        t = self.tables.get(name)
        if t is None:
            self._seq += 1
            t = Table(name, self._seq, lazy=not self.legacy)
            self.tables[name] = t
        return t

    def peek(self, name: str) -> Table:
        """The table if it exists, else a fresh unregistered one (nft read paths)."""
        t = self.tables.get(name)
        return t if t is not None else Table(name, lazy=not self.legacy)

    def table_for(self, name: str, *, write: bool) -> Table:
        """Legacy instantiates a table on any access; nft only when writing."""
        self.check_table_name(name)
        if self.legacy or write:
            return self.instantiate(name)
        return self.peek(name)

    def saved_tables(self) -> List[Table]:
        if self.legacy:
            return sorted(self.tables.values(), key=lambda t: -t.seq)
        return [self.tables[n] for n in NFT_TABLE_ORDER if n in self.tables]

    def has_tables(self) -> bool:
        return bool(self.tables)

    # ---- execution ------------------------------------------------------------------
    def execute(self, cmd: Command, table: Optional[Table] = None) -> str:
        """Run one command; return its stdout. ``table`` overrides the lookup (restore)."""
        op = cmd.op
        if op in ("h", "V", "nop"):  # nop: a restore line the parser skips (-4/-6)
            return ""
        fn = _HANDLERS.get(op)
        if fn is None:
            raise ParameterProblem(f"unknown command {op!r}")
        if table is not None:
            return fn(self, table, cmd, True)
        self.check_table_name(cmd.table)
        existed = cmd.table in self.tables
        t = self.instantiate(cmd.table) if self.legacy else self.peek(cmd.table)
        # libiptc does not commit when nothing changed: -X with no user chain to delete
        noop = op == "X" and not cmd.chain and all(c.builtin for c in t.chains.values())
        pre = self._verbose_lines(t, cmd) if cmd.verbose else ""
        out = pre + fn(self, t, cmd, existed)
        if not existed and not self.legacy and (op in _NFT_CREATES or (op == "F" and cmd.chain)):
            self._seq += 1
            t.seq = self._seq
            self.tables[cmd.table] = t
        if (
            self.legacy
            and not noop
            and (op in _LEGACY_COMMITS or (op == "L" and cmd.zero_after_list))
        ):
            # libiptc's commit resets the built-in policy counters it was not told to set;
            # from 1.8.11 it keeps them, and only -P resets its own chain's (measured)
            keeps = self.release.legacy_commit_keeps_policy_counters
            for c in t.builtin_chains():
                if keeps and not (op == "P" and c.name == cmd.chain):
                    continue
                if not (op == "P" and c.name == cmd.chain and cmd.counters is not None and existed):
                    c.pkts = c.bytes = 0
        return out

    # helpers
    def _verbose_lines(self, t: Table, cmd: Command) -> str:
        """What -v makes a command print besides its result."""

        op = cmd.op
        if op in ("A", "I", "R", "C") or (op == "D" and cmd.rule is not None):
            return "".join(verbose_rule_line(s, self.family) for s in self._rules_of(cmd))
        if op in ("F", "Z") and not cmd.zero_after_list and not (op == "Z" and cmd.rulenum):
            if cmd.chain:
                c = t.chains.get(cmd.chain)
                names = [cmd.chain] if c is not None and (op == "F" or c.live) else []
            else:
                names = [c.name for c in t.ordered_chains() if op == "F" or c.live]
            word = "Flushing" if op == "F" else "Zeroing"
            return "".join(f"{word} chain `{n}'\n" for n in names)
        if op == "X":
            if cmd.chain:
                c = t.chains.get(cmd.chain)
                names = [cmd.chain] if c is not None and not c.builtin else []
            else:
                names = [c.name for c in t.user_chains()]
            return "".join(f"Deleting chain `{n}'\n" for n in names)
        return ""

    def _chain(self, t: Table, name: Optional[str], msg: str = MSG_NOCHAIN) -> Chain:
        c = t.chains.get(name or "")
        if c is None:
            raise RuntimeProblem(msg)
        return c

    def _rules_of(self, cmd: Command) -> List[RuleSpec]:
        rules = getattr(cmd, "rules", None)
        if rules:
            return list(rules)
        if cmd.rule is not None:
            return [cmd.rule]
        return [RuleSpec(text="", target=None, goto=False, jump_chain=None)]

    def _check_new_rule(self, t: Table, spec: RuleSpec, op: str, chain: str) -> None:
        c = t.chains.get(chain)
        if (
            not self.legacy
            and c is not None
            and c.builtin
            and spec.valid_hooks is not None
            and chain not in spec.valid_hooks
        ):
            # nft checks a target against the hook of a base chain when it builds the
            # rule (legacy only checks what the packet path can reach, see validate)
            self._refuse(_EINVAL, op, chain)
        if spec.jump_chain is not None and spec.jump_chain not in t.chains:
            if self.defer_checks and not self.legacy:
                self.pending_missing.append(spec.jump_chain)
            else:
                if self.legacy:
                    raise ParameterProblem(
                        f"Couldn't load target `{spec.jump_chain}':No such file or directory\n"
                    )
                raise ParameterProblem(f"Chain '{spec.jump_chain}' does not exist")
        refusal = getattr(spec, "kernel_refusal", None)
        if refusal:
            self._refuse(refusal, op, chain)
        elif spec.valid_tables is not None and t.name not in spec.valid_tables:
            self._refuse(_EINVAL, op, chain)

    def _refuse(self, strerror: str, op: str, chain: str) -> None:
        if self.defer_checks:
            self.pending_direct = True
            self.pending_direct_chains.append(chain)
            return
        raise KernelRefused(
            strerror, op=_RULE_OPS.get(op, "RULE_APPEND"), what=f"rule in chain {chain}"
        )

    def _validate(self, t: Table, op: str, chain: str) -> None:
        if self.defer_checks:
            self.pending_kernel = True
            return
        if self.no_graph:
            return
        kind = t.validate(self.legacy)
        if kind is not None and not self.legacy:
            kind = t.nft_first_error() or kind
        if kind is not None:
            raise KernelRefused(
                _strerror(kind, self.backend),
                op=_RULE_OPS.get(op, "RULE_APPEND"),
                what=f"rule in chain {chain}",
            )

    @staticmethod
    def _needs_graph_check(specs: List[RuleSpec]) -> bool:
        return any(s.jump_chain is not None or s.valid_hooks is not None for s in specs)

    def _new_rule(self, spec: RuleSpec, cmd: Command) -> Rule:
        # ip6tables-nft 1.8.7 and 1.8.9 drop the rule counters given with -c or restore
        # -c (verified: they always read [0:0]; policy counters do work); 1.8.11 keeps them
        if cmd.counters is not None and (
            self.legacy or self.family == 4 or self.release.v6_nft_keeps_rule_counters
        ):
            return Rule(spec, cmd.counters[0], cmd.counters[1])
        return Rule(spec)

    # ---- rule commands -----------------------------------------------------------------
    def _op_append(self, t: Table, cmd: Command, existed: bool) -> str:
        chain = self._chain(t, cmd.chain)
        specs = self._rules_of(cmd)
        for s in specs:
            self._check_new_rule(t, s, "A", chain.name)
        start = len(chain.rules)
        was_live = chain.live
        for s in specs:
            t.insert(chain, None, self._new_rule(s, cmd))
        chain.live = True
        if self._needs_graph_check(specs):
            try:
                self._validate(t, "A", chain.name)
            except KernelRefused:
                while len(chain.rules) > start:
                    t.pop(chain, len(chain.rules) - 1)
                chain.live = was_live
                raise
        return ""

    def _op_insert(self, t: Table, cmd: Command, existed: bool) -> str:
        chain = self._chain(t, cmd.chain)
        num = cmd.rulenum or 1
        if num > len(chain.rules) + 1:
            raise RuntimeProblem("Index of insertion too big.")
        specs = self._rules_of(cmd)
        # iptables-nft turns -I N into "append after rule N-1" when there is no rule N
        opname = "A" if num > 1 and num == len(chain.rules) + 1 else "I"
        for s in specs:
            self._check_new_rule(t, s, opname, chain.name)
        idx = num - 1
        was_live = chain.live
        for s in specs:  # each expanded rule goes in at the same place, as iptables does
            t.insert(chain, idx, self._new_rule(s, cmd))
        chain.live = True
        if self._needs_graph_check(specs):
            try:
                self._validate(t, opname, chain.name)
            except KernelRefused:
                for _ in specs:
                    t.pop(chain, idx)
                chain.live = was_live
                raise
        return ""

    def _op_replace(self, t: Table, cmd: Command, existed: bool) -> str:
        chain = self._chain(t, cmd.chain)
        num = cmd.rulenum or 0
        if not chain.live:
            raise RuntimeProblem(MSG_NOCHAIN)
        if num < 1 or num > len(chain.rules):
            raise RuntimeProblem("Index of replacement too big.")
        specs = self._rules_of(cmd)
        spec = specs[0]
        self._check_new_rule(t, spec, "R", chain.name)
        old = t.replace(chain, num - 1, self._new_rule(spec, cmd))
        if self._needs_graph_check([spec]) or (self.legacy and old.spec.text in _UNCONDITIONAL):
            try:
                self._validate(t, "R", chain.name)
            except KernelRefused:
                t.replace(chain, num - 1, old)
                raise
        return ""

    def _op_delete(self, t: Table, cmd: Command, existed: bool) -> str:
        if cmd.rulenum is not None and cmd.rule is None:
            chain = self._chain(t, cmd.chain)
            if not chain.live:
                raise RuntimeProblem(MSG_NOCHAIN)
            if cmd.rulenum < 1 or cmd.rulenum > len(chain.rules):
                raise RuntimeProblem("Index of deletion too big.")
            removed = [(cmd.rulenum - 1, t.pop(chain, cmd.rulenum - 1))]
        else:
            specs = self._rules_of(cmd)
            chain = self._chain(t, cmd.chain, MSG_BADRULE)
            removed = []
            for s in specs:
                # ip6tables-nft -D ignores prefix lengths (see RuleSpec.cmp_text)
                i = (
                    chain.find_spec(s)
                    if self.family == 6 and not self.legacy
                    else chain.find(s.text)
                )
                if self._misses_merged(s):
                    i = -1
                if i < 0:
                    for idx, r in reversed(removed):
                        t.insert(chain, idx, r)
                    raise RuntimeProblem(self._miss_message(specs))
                removed.append((i, t.pop(chain, i)))
        if self.legacy and any(r.spec.text in _UNCONDITIONAL for _, r in removed):
            try:
                self._validate(t, "D", chain.name)
            except KernelRefused:
                for idx, r in reversed(removed):
                    t.insert(chain, idx, r)
                raise
        return ""

    def _op_check(self, t: Table, cmd: Command, existed: bool) -> str:
        chain = t.chains.get(cmd.chain or "")
        specs = self._rules_of(cmd)
        if chain is None:
            raise RuntimeProblem(MSG_BADRULE)
        for s in specs:
            # ip6tables: see RuleSpec.cmp_text
            found = chain.find_spec(s) >= 0 if self.family == 6 else chain.has(s.text)
            if not found or self._misses_merged(s):
                raise RuntimeProblem(self._miss_message(specs))
        return self.check_output(specs)

    def check_output(self, specs: List[RuleSpec]) -> str:
        """What a ``-C`` that found its rules prints: iptables-nft 1.8.7 the rules."""
        if self.legacy or not self.release.nft_check_prints_rule:
            return ""

        return "".join(check_line(s, self.family) for s in specs)

    def _misses_merged(self, spec: RuleSpec) -> bool:
        """iptables-nft 1.8.11's -C/-D of a spelling whose tcp/udp matches it merged."""
        return spec.merged_ports and not self.legacy and self.release.nft_check_misses_merged

    def _miss_message(self, specs: List[RuleSpec]) -> str:
        """-C/-D found nothing in an existing chain. Legacy then says ENOENT's generic
        text when the rule's target is an extension or a chain, "Bad rule" for verdicts
        and no target (verified; a missing chain is always "Bad rule")."""
        if (
            self.legacy
            and specs
            and specs[0].target not in (None, "", "ACCEPT", "DROP", "RETURN", "QUEUE")
        ):
            return MSG_NOCHAIN
        return MSG_BADRULE

    # ---- chain commands ---------------------------------------------------------------
    def _op_new(self, t: Table, cmd: Command, existed: bool) -> str:
        name = cmd.chain or ""
        if name in t.chains:
            raise RuntimeProblem("Chain already exists.")
        t.chains[name] = Chain(name, False)
        return ""

    @property
    def _chain_del_op(self) -> str:
        """The batch operation nft names when -X fails: 1.8.7 said CHAIN_USER_DEL."""
        return "CHAIN_USER_DEL" if self.release.nft_chain_user_del else "CHAIN_DEL"

    def _chain_del_error(self, chain: Chain, t: Table) -> Optional[str]:
        """Why deleting this chain fails (backend wording), or None."""
        if self.legacy:
            if chain.builtin:
                return "Invalid argument. Run `dmesg' for more information."
            if t.refs(chain.name):
                return "Too many links."
            if chain.rules:
                return "Directory not empty."
            return None
        if chain.builtin or t.refs(chain.name) or chain.rules:
            return "Device or resource busy"
        return None

    def _op_delete_chain(self, t: Table, cmd: Command, existed: bool) -> str:
        if cmd.chain and not self.legacy:
            c = t.chains.get(cmd.chain)
            if c is not None and c.builtin:
                # iptables-nft deletes an unused built-in chain (verified on 1.8.9)
                if not c.live:
                    raise RuntimeProblem(MSG_NOCHAIN)
                if self.release.nft_refuses_builtin_delete:
                    raise RuntimeProblem(
                        "Can't delete built-in chain. Run `dmesg' for more information."
                    )
                if c.policy != "ACCEPT":
                    raise RuntimeProblem("Directory not empty.")
                if c.rules:
                    raise KernelRefused(
                        "Device or resource busy", op=self._chain_del_op, what=f"chain {c.name}"
                    )
                c.live = False
                c.pkts = c.bytes = 0
                return ""
        if cmd.chain:
            chain = self._chain(t, cmd.chain)
            err = self._chain_del_error(chain, t)
            if err is not None:
                if self.legacy:
                    raise RuntimeProblem(err)
                raise KernelRefused(err, op=self._chain_del_op, what=f"chain {chain.name}")
            del t.chains[chain.name]
            return ""
        # every user chain; all or nothing
        order = t.user_chains() if self.legacy else [c for c in t.chains.values() if not c.builtin]
        # deleting a chain releases the references its own rules hold only once it is
        # gone, which needs it to be empty: so nothing referenced by a non-empty chain goes
        last: Optional[str] = None
        first_nft: Optional[str] = None
        for c in order:
            err = self._chain_del_error(c, t)
            if err is not None:
                last = err
                if first_nft is None:
                    first_nft = c.name
        if last is not None:
            if self.legacy:
                raise RuntimeProblem(last)
            if self.release.nft_chain_user_del:
                # 1.8.7 names the failing chain first by name (measured, three orders)
                first_nft = min(c.name for c in order if self._chain_del_error(c, t))
            raise KernelRefused(last, op=self._chain_del_op, what=f"chain {first_nft}")
        for c in order:
            del t.chains[c.name]
        if not self.legacy and not self.release.nft_delete_all_keeps_builtins:
            # iptables-nft also removes the built-in chains nobody needs any more (from
            # 1.8.9; 1.8.7 leaves them and their counters: measured)
            for c in t.builtin_chains():
                if not c.rules and c.policy == "ACCEPT":
                    c.live = False
                    c.pkts = c.bytes = 0
        return ""

    def _op_flush(self, t: Table, cmd: Command, existed: bool) -> str:
        if cmd.chain:
            chain = self._chain(t, cmd.chain)
            t.flush(chain)
            chain.live = True
        else:
            for c in t.chains.values():
                t.flush(c)
        return ""

    def _op_zero(self, t: Table, cmd: Command, existed: bool) -> str:
        if cmd.zero_after_list:  # -Z ... -L: the same as -L ... -Z
            return self._op_list(t, cmd, existed)
        if cmd.chain:
            if cmd.rulenum is not None and not self.legacy:
                # iptables-nft 1.8.9 fails a missing (or not yet created built-in) chain
                # without setting errno: the stale one is ENOENT ("Bad rule") unless one
                # particular built-in chain of the table exists, then 0 (measured)
                c = t.chains.get(cmd.chain)
                if c is None or not c.live:
                    if t.chains[_NFT_ZERO_ERRNO0[t.name]].live:
                        raise RuntimeProblem("Incompatible with this kernel.")
                    raise RuntimeProblem(MSG_BADRULE)
            chain = self._chain(t, cmd.chain)
            if not chain.live:
                if chain.builtin and not self.legacy and self.release.nft_zero_unborn_builtin_ok:
                    return ""  # 1.8.11 zeroes a built-in chain nft has not created yet
                raise RuntimeProblem(MSG_NOCHAIN)
            if cmd.rulenum is not None:
                if cmd.rulenum < 1 or cmd.rulenum > len(chain.rules):
                    if self.legacy:
                        raise RuntimeProblem("Index of counter too big.")
                    if self.release.from_1_8_11:  # 1.8.9 said nothing and exited 0
                        raise RuntimeProblem(MSG_BADRULE)
                    return ""
                i = cmd.rulenum - 1
                chain.rules[i] = Rule(chain.rules[i].spec)
                return ""
            chains = [chain]
        else:
            chains = list(t.chains.values())
        keep = not self.legacy and self.release.nft_zero_keeps_rule_counters
        for c in chains:
            _zero_chain(c, keep)
        return ""

    def _op_rename(self, t: Table, cmd: Command, existed: bool) -> str:
        old = cmd.chain or ""
        new = cmd.new_name or ""
        if new in t.chains:
            raise RuntimeProblem("File exists.")
        c = t.chains.get(old)
        if c is None or c.builtin:
            raise RuntimeProblem(MSG_NOCHAIN)
        t.rename(old, new)
        return ""

    def _op_policy(self, t: Table, cmd: Command, existed: bool) -> str:
        chain = t.chains.get(cmd.chain or "")
        if chain is None or not chain.builtin:
            raise RuntimeProblem("Bad built-in chain name.")
        if cmd.policy not in POLICIES:
            raise RuntimeProblem("Bad policy name. Run `dmesg' for more information.")
        chain.policy = cmd.policy
        chain.live = True
        if self.legacy and cmd.counters is not None and existed:
            chain.pkts, chain.bytes = cmd.counters
        else:
            chain.pkts = chain.bytes = 0
        return ""

    # ---- listing ----------------------------------------------------------------------------
    def _missing_list_chain(self, t: Table, name: str) -> FakeError:
        if self.legacy or self.release.from_1_8_11:  # nft 1.8.9 blamed an "incompatible" chain
            return RuntimeProblem(MSG_NOCHAIN)
        return Raw(
            1,
            f"{self.short_prog} v{self.version} (nf_tables): chain `{name}' in table "
            f"`{t.name}' is incompatible, use 'nft' tool.\n",
        )

    def _op_list_rules(self, t: Table, cmd: Command, existed: bool) -> str:

        if cmd.chain and cmd.chain not in t.chains:
            raise self._missing_list_chain(t, cmd.chain)
        return list_rules(t, cmd.chain, cmd.rulenum, counters=cmd.verbose)

    def _op_list(self, t: Table, cmd: Command, existed: bool) -> str:

        if cmd.chain and cmd.chain not in t.chains:
            raise self._missing_list_chain(t, cmd.chain)
        out = list_table(t, cmd, family=self.family)
        if cmd.zero_after_list:
            chains = [t.chains[cmd.chain]] if cmd.chain else t.ordered_chains()
            keep = not self.legacy and self.release.nft_zero_keeps_rule_counters
            for c in chains:
                _zero_chain(c, keep)
                if cmd.verbose and not cmd.rulenum:
                    out += f"Zeroing chain `{c.name}'\n"
        return out


_NFT_CREATES = frozenset("AINP")
_LEGACY_COMMITS = frozenset("AIRDNXFEPZ")

_Handler = Callable[[Kernel, Table, Command, bool], str]
_HANDLERS: Dict[str, _Handler] = {
    "A": Kernel._op_append,
    "I": Kernel._op_insert,
    "R": Kernel._op_replace,
    "D": Kernel._op_delete,
    "C": Kernel._op_check,
    "N": Kernel._op_new,
    "X": Kernel._op_delete_chain,
    "F": Kernel._op_flush,
    "Z": Kernel._op_zero,
    "E": Kernel._op_rename,
    "P": Kernel._op_policy,
    "S": Kernel._op_list_rules,
    "L": Kernel._op_list,
}
