"""iptables-nft-restore's batch, as the kernel sees it at COMMIT.

nft sends a whole block as one transaction; what the kernel refuses is only known at
COMMIT, and iptables-nft resolves every command against a userspace cache that still
holds what the batch removed. This replays a block to find the lines the kernel
refuses, and models the cache's ghosts and the crash of a batch-added rule addressed
by number."""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence, Set, Tuple, Union

from .._rulespec.errors import (
    FakeError,
    KernelRefused,
    RuntimeProblem,
)
from .._rulespec.model import Command
from ._kernel import Kernel
from ._restore_block import _REFUSAL_OPS, RestoreOptions, _Block, _direct_refusal
from ._state import Chain, Rule, Table, _strerror

__all__: List[str] = []


def _segfaults_on_batch_rule(kernel: Kernel, block: _Block, cmd: Command) -> bool:
    """iptables-nft-restore 1.8.9 crashes (SIGSEGV) on -R N or -Z N addressing a rule
    added earlier in the same batch (it has no handle yet); blocks already committed
    stay (measured in a namespace: rc 139 from a shell, -11 from a direct exec)."""
    chain = block.staged.chains.get(cmd.chain or "")
    if chain is None:
        return False
    num = cmd.rulenum or 0
    entries: Sequence[Union[str, Rule]] = block.ghosts.get(chain.name, chain.rules)
    if not 1 <= num <= len(entries):
        return False
    rule = entries[num - 1]
    if isinstance(rule, str):
        return False
    live = kernel.tables.get(block.name)
    old = live.chains.get(chain.name) if live is not None else None
    return old is None or not any(r is rule for r in old.rules)


def _ghost_command(kernel: Kernel, block: _Block, cmd: Command, n: int, prog: str) -> Optional[str]:
    """Run ``cmd`` against a chain whose flushed rules iptables-nft still caches.

    After ``:CHAIN - [0:0]`` flushes an existing user chain under ``--noflush``,
    iptables-nft 1.8.9 keeps the flushed rules in its cache: rule numbers and rule
    specs of -D/-R/-Z/-I/-C resolve against them. Deleting or replacing one is refused
    by the kernel (ENOENT, the batch fails), -C finds it, and -I N inserts next to it
    (verified in a namespace). Returns the output when handled here, else None."""
    staged = block.staged
    name = cmd.chain or ""
    if cmd.op in ("F", "X"):
        if cmd.chain:
            block.ghosts.pop(name, None)
        else:
            block.ghosts.clear()
        return None
    if cmd.op == "E":
        block.ghosts.pop(name, None)
        return None
    cache = block.ghosts.get(name)
    chain = staged.chains.get(name)
    if cache is None or chain is None:
        return None
    specs = list(cmd.rules or ((cmd.rule,) if cmd.rule is not None else ()))

    def fail(msg: str) -> str:
        block.first_error = ("runtime", f"{prog}: line {n} failed: {msg}\n")
        return ""

    def refuse(what: str) -> str:
        block.batch_errors.append(
            f"line {n}: {what} failed (No such file or directory): rule in chain {name}\n"
        )
        return ""

    def real_pos(index: int) -> int:
        return sum(1 for e in cache[:index] if not isinstance(e, str))

    def text_of(e: Union[str, Rule]) -> str:
        return e if isinstance(e, str) else e.spec.text

    def run(c: Command) -> Optional[str]:
        kernel.defer_checks = True
        block.policy_fn = False
        try:
            out = kernel.execute(c, staged)
        except RuntimeProblem as e:
            fail(e.message)
            return None
        finally:
            kernel.defer_checks = False
        block.ops.append((n, c))
        return out

    before = list(chain.rules)
    if cmd.op == "C" and len(specs) == 1:
        if any(text_of(e) == specs[0].text for e in cache):
            return kernel.check_output(list(specs))
        return None
    if cmd.op in ("D", "R", "Z") and cmd.rulenum is not None and (cmd.op != "D" or not specs):
        i = cmd.rulenum - 1
        if cmd.op == "Z" and not (0 <= i < len(cache)):
            return None
        if not 0 <= i < len(cache):
            return fail(
                "Index of deletion too big." if cmd.op == "D" else "Index of replacement too big."
            )
        if isinstance(cache[i], str):
            if cmd.op == "D":
                del cache[i]
            return refuse("RULE_DELETE" if cmd.op == "D" else "RULE_REPLACE")
        out = run(dataclasses.replace(cmd, rulenum=real_pos(i) + 1))
        if out is None:
            return ""
        if cmd.op == "D":
            del cache[i]
        elif cmd.op == "R":
            cache[i] = chain.rules[real_pos(i)]
        return out
    if cmd.op == "D" and len(specs) == 1:
        i = next((k for k, e in enumerate(cache) if text_of(e) == specs[0].text), -1)
        if i < 0:
            return None
        if isinstance(cache[i], str):
            del cache[i]
            return refuse("RULE_DELETE")
        out = run(dataclasses.replace(cmd, rule=None, rules=(), rulenum=real_pos(i) + 1))
        if out is None:
            return ""
        del cache[i]
        return out
    if cmd.op == "I":
        num = cmd.rulenum or 1
        if num > len(cache) + 1:
            return fail("Index of insertion too big.")
        out = run(dataclasses.replace(cmd, rulenum=real_pos(num - 1) + 1))
        if out is None:
            return ""
        added = [r for r in chain.rules if not any(r is b for b in before)]
        cache[num - 1 : num - 1] = added
        return out
    if cmd.op == "A":
        out = run(cmd)
        if out is None:
            return ""
        cache.extend(r for r in chain.rules if not any(r is b for b in before))
        return out
    return None


def _nft_refusals(kernel: Kernel, block: _Block, opts: RestoreOptions, prog: str, tag: str) -> str:
    """Replay the block command by command to find the lines the nft kernel refuses.

    iptables-nft resolves every command against its userspace cache, where refused
    rules still sit: deleting or replacing one later in the batch fails with ENOENT.
    A rule refused by the table validation (a jump into a chain that may not run in
    some hook, a loop) stays in the kernel's transaction, so every later rule of the
    batch fails the same way; a rule refused on its own (target outside the hooks of
    the built-in chain or outside its tables) does not (both verified on 6.x).

    The table validation only runs at COMMIT, and nf_tables only commits a batch whose
    every message was accepted: when some rule is refused on its own the batch is
    aborted before it is validated, and only those refusals are reported (verified on
    1.8.9: a MASQUERADE reached from PREROUTING is not reported next to a MASQUERADE
    appended to OUTPUT)."""
    lines, base = _nft_replay(kernel, block, opts, first_pass=True)
    if not lines:
        lines, base = _nft_replay(kernel, block, opts, first_pass=False)
    if not lines:
        kind = base.validate(False)
        if kind is not None:
            lines.append(f"line {block.start_line}: TABLE failed ({_strerror(kind, 'nft')})\n")
    if not lines:
        lines.append(f"line {block.start_line}: TABLE failed (Invalid argument)\n")
    return f"{prog} v{kernel.version} ({tag}): \n" + "".join(lines)


def _nft_replay(
    kernel: Kernel, block: _Block, opts: RestoreOptions, *, first_pass: bool
) -> Tuple[List[str], Table]:
    """The error lines of one pass over the batch; ``first_pass`` skips the table
    validation (only the refusals of a rule on its own)."""
    live = kernel.tables.get(block.name)
    base = live.copy() if (opts.noflush and live is not None) else Table(block.name, lazy=True)
    cache = base.copy()  # what iptables-nft resolves commands against
    entries: List[Tuple[str, str, bool]] = []  # (chain, report line, refused on its own)
    lingering: Optional[str] = None
    refused: Set[int] = set()  # id() of cache Rule objects the kernel never got
    for ln, cmd in block.ops:
        op = _REFUSAL_OPS.get(cmd.op)
        chain_name = cmd.chain or ""
        if cmd.op == "F":
            # a flush drops the rule additions queued for the chain from the batch
            entries = [e for e in entries if not e[2] or (cmd.chain and e[0] != cmd.chain)]
        cchain = cache.chains.get(chain_name)
        if cmd.op == "I" and cchain is not None and (cmd.rulenum or 1) == len(cchain.rules) + 1 > 1:
            # iptables-nft appends when its cache has no rule N (refused ones included)
            op = "RULE_APPEND"
        kcmd = cmd
        if cmd.op in ("D", "R", "I") and cchain is not None:
            target_rule = _addressed_rule(cchain, cmd) if cmd.op != "I" else None
            if target_rule is not None and id(target_rule) in refused:
                what = "RULE_DELETE" if cmd.op == "D" else "RULE_REPLACE"
                entries.append(
                    (
                        chain_name,
                        f"line {ln}: {what} failed (No such file or "
                        f"directory): rule in chain {cmd.chain}\n",
                        False,
                    )
                )
                _execute_unchecked(kernel, cmd, cache)
                continue
            kcmd = _translate(cchain, cmd, refused, target_rule)
        added = _execute_unchecked(kernel, cmd, cache)
        if lingering is not None and op is not None:
            entries.append(
                (
                    chain_name,
                    f"line {ln}: {op} failed ({lingering}): rule in chain {cmd.chain}\n",
                    False,
                )
            )
            refused.update(added)
            continue
        try:
            kernel.no_graph = first_pass
            kernel.execute(kcmd, base)
        except KernelRefused as e:
            direct = _direct_refusal(base, cmd)
            what_op = op if cmd.op == "I" and op is not None else e.op
            entries.append(
                (chain_name, f"line {ln}: {what_op} failed ({e.strerror}): {e.what}\n", direct)
            )
            if not direct:
                lingering = e.strerror
            refused.update(added)
        except FakeError:
            continue
        finally:
            kernel.no_graph = False
    return [e[1] for e in entries], base


def _translate(
    cchain: Chain, cmd: Command, refused: Set[int], target_rule: Optional[Rule]
) -> Command:
    """The same command with its rule number counted among the rules the kernel has."""

    def kernel_pos(index: int) -> int:
        return sum(1 for r in cchain.rules[:index] if id(r) not in refused) + 1

    if cmd.op == "I":
        if cmd.rulenum is None:
            return cmd
        return dataclasses.replace(cmd, rulenum=kernel_pos(cmd.rulenum - 1))
    if target_rule is None:
        return cmd
    index = next(i for i, r in enumerate(cchain.rules) if r is target_rule)
    if cmd.op == "D":
        return dataclasses.replace(cmd, rule=None, rules=(), rulenum=kernel_pos(index))
    return dataclasses.replace(cmd, rulenum=kernel_pos(index))


def _addressed_rule(chain: Optional[Chain], cmd: Command) -> Optional[Rule]:
    if chain is None:
        return None
    if cmd.rulenum is not None and (cmd.op == "R" or cmd.rule is None):
        i = cmd.rulenum - 1
        return chain.rules[i] if 0 <= i < len(chain.rules) else None
    if cmd.rule is not None:
        i = chain.find(cmd.rule.text)
        return chain.rules[i] if i >= 0 else None
    return None


def _execute_unchecked(kernel: Kernel, cmd: Command, base: Table) -> List[int]:
    """Apply ``cmd`` to the cache without kernel checks; the ids of the rules it added."""
    chain = base.chains.get(cmd.chain or "")
    before = {id(r) for r in chain.rules} if chain is not None else set()
    kernel.defer_checks = True
    try:
        kernel.execute(cmd, base)
    except FakeError:
        return []
    finally:
        kernel.defer_checks = False
        kernel.pending_missing = []
        kernel.pending_kernel = kernel.pending_direct = False
        kernel.pending_direct_chains = []
    if chain is None:
        return []
    return [id(r) for r in chain.rules if id(r) not in before]
