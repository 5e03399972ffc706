"""What a restore carries from line to line: its options, the block being staged,
and how a finished restore failed. Shared by the restore emulation (``_restore``) and
nft's COMMIT-time replay (``_restore_nft``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple, Union

from .._rulespec.model import Command
from ._state import Rule, Table

__all__ = ["RestoreOptions", "RestoreFailed"]


@dataclass
class RestoreOptions:
    counters: bool = False
    noflush: bool = False
    test: bool = False
    table: Optional[str] = None
    verbose: bool = False
    wait: Optional[float] = None
    wait_interval: bool = False  # -W given (legacy then insists on -w)
    files: List[str] = field(default_factory=list)


class RestoreFailed(Exception):
    """A finished restore that failed: exit code and the exact stderr text."""

    def __init__(self, returncode: int, stderr: str) -> None:
        super().__init__(stderr)
        self.returncode = returncode
        self.stderr = stderr


_REFUSAL_OPS = {"A": "RULE_APPEND", "I": "RULE_INSERT", "R": "RULE_REPLACE"}


@dataclass
class _Block:
    name: str
    start_line: int
    staged: Table
    skip: bool = False
    content: bool = False
    declared_counters: Set[str] = field(default_factory=set)
    ops: List[Tuple[int, Command]] = field(default_factory=list)
    created: Set[str] = field(default_factory=set)  # nft: chains added or declared here
    batch_errors: List[str] = field(default_factory=list)  # nft: refused at COMMIT
    # nft: the first command that fails when the batch is evaluated at COMMIT:
    # ("jump", chain) -> "Chain 'X' does not exist"; ("runtime", stderr text)
    first_error: Optional[Tuple[str, str]] = None
    policy_fn: bool = False  # nft: the last command set a policy (nft_chain_set)
    renames: List[Tuple[str, str]] = field(default_factory=list)  # nft: done at COMMIT
    # nft --noflush: iptables-nft's cache of a user chain flushed by its ``:CHAIN``
    # line, in cache order: the text of a rule the flush removed (still cached) or a
    # Rule object of the staged chain. Only chains with flushed rules are here.
    ghosts: Dict[str, List[Union[str, Rule]]] = field(default_factory=dict)
    segv: bool = False  # nft: iptables-nft-restore 1.8.9 crashes at COMMIT


def _direct_refusal(t: Table, cmd: Command) -> bool:
    """Refused at expression init (a target outside the hooks of the built-in chain it
    is put in, or outside its tables) rather than by the later table validation."""
    spec = cmd.rule
    if spec is None:
        return False
    if getattr(spec, "kernel_refusal", None):
        return True
    if spec.valid_tables is not None and t.name not in spec.valid_tables:
        return True
    chain = t.chains.get(cmd.chain or "")
    return (
        chain is not None
        and chain.builtin
        and spec.valid_hooks is not None
        and chain.name not in spec.valid_hooks
    )


def _table_violation(t: Table) -> bool:
    for c in t.chains.values():
        for r in c.rules:
            vt = r.spec.valid_tables
            if vt is not None and t.name not in vt:
                return True
    return False
