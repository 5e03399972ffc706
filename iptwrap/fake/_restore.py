"""``iptables-restore`` emulation: tokenising, ``*table``/``:CHAIN``/``COMMIT``, counters.

Atomic per ``COMMIT`` block, as both backends are: each block is staged on a copy of
its table and swapped in at ``COMMIT``; a failing later block leaves earlier ones
applied. The backend differences (see ``tests/data/errors.jsonl``) are:

* legacy instantiates the table at the ``*table`` line (even with ``--test`` or when the
  block later fails), nft only at a successful ``COMMIT``;
* without ``--noflush`` legacy keeps the policies of built-in chains the block does not
  declare, nft resets them (it deletes and recreates the table);
* nft resolves ``-j CHAIN`` at ``COMMIT`` (so the error names the ``COMMIT`` line) and
  reports kernel refusals per rule line; legacy reports ``line <COMMIT> failed``.
"""

from __future__ import annotations

import gc
import re
from typing import Callable, Iterable, List, Optional, Sequence, Tuple, Union

from .._rulespec.errors import (
    FakeError,
    KernelRefused,
    ParameterProblem,
    Raw,
    RuntimeProblem,
)
from .._rulespec.model import Command, ParseContext
from .._rulespec.names import KNOWN_TARGETS
from ._kernel import Kernel
from ._restore_block import RestoreFailed, RestoreOptions, _Block, _table_violation
from ._restore_nft import _ghost_command, _nft_refusals, _nft_replay, _segfaults_on_batch_rule
from ._save import verbose_rule_line
from ._state import BUILTIN_CHAINS, MSG_NOCHAIN, POLICIES, Chain, Rule, Table

__all__ = ["RestoreOptions", "tokenize", "run_restore", "RestoreFailed"]

Parser = Callable[[Sequence[str], ParseContext], Command]


def tokenize(text: str, prog: str) -> List[str]:
    """Split one restore line the way iptables' ``add_param_to_argv`` does.

    Double quotes group (and may be empty: ``""`` is an empty argument); inside them a
    backslash escapes the next character. Single quotes are ordinary characters. An
    unterminated quote runs to the end of the line, newline included.
    """
    if '"' not in text:
        toks = [x for x in text.replace("\t", " ").replace("\n", " ").split(" ") if x]
        for x in toks:
            if x == "-t" or (len(x) >= 3 and x[1] == "-" and "--table".startswith(x)):
                raise ParameterProblem(f"The -t option cannot be used in {prog}.\n")
        return toks
    if "\\" not in text:
        return _tokenize_fast(text, prog)
    out: List[str] = []
    buf: List[str] = []
    quote_open = False
    escaped = False
    quoted = False
    for ch in text:
        if quote_open:
            if escaped:
                buf.append(ch)
                escaped = False
                continue
            if ch == "\\":
                escaped = True
                continue
            if ch == '"':
                quote_open = False
                continue
            buf.append(ch)
            continue
        if ch == '"':
            quote_open = True
            quoted = True
            continue
        if ch in " \t\n":
            if not buf and not quoted:
                continue
            _emit(out, "".join(buf), quoted, prog)
            buf = []
            quoted = False
            continue
        buf.append(ch)
    if buf or quoted:
        _emit(out, "".join(buf), quoted, prog)
    return out


_PIECE = re.compile(r'([^" \t\n]+)|"([^"]*)"?|([ \t\n]+)')


def _tokenize_fast(text: str, prog: str) -> List[str]:
    """tokenize() for lines without backslashes (no escapes to honour)."""
    out: List[str] = []
    buf: List[str] = []
    quoted = False
    for m in _PIECE.finditer(text):
        plain, inside, space = m.group(1), m.group(2), m.group(3)
        if space is not None:
            if buf or quoted:
                _emit(out, "".join(buf), quoted, prog)
                buf = []
                quoted = False
        elif plain is not None:
            buf.append(plain)
        else:
            buf.append(inside)
            quoted = True
    if buf or quoted:
        _emit(out, "".join(buf), quoted, prog)
    return out


def _emit(out: List[str], param: str, quoted: bool, prog: str) -> None:
    if not quoted and (param == "-t" or (len(param) >= 3 and "--table".startswith(param))):
        raise ParameterProblem(f"The -t option cannot be used in {prog}.\n")
    out.append(param)


def _target_names(family: int) -> frozenset[str]:
    names = {"ACCEPT", "DROP", "QUEUE", "RETURN"}
    return frozenset(names | set(KNOWN_TARGETS.get(family, ())))


def _parse_counter_pair(s: str) -> Optional[Tuple[int, int]]:
    if not (s.startswith("[") and s.endswith("]")):
        return None
    body = s[1:-1]
    p, sep, b = body.partition(":")
    if not sep or not p.isdigit() or not b.isdigit():
        return None
    return int(p), int(b)


def run_restore(
    kernel: Kernel,
    data: str,
    opts: RestoreOptions,
    *,
    prog: str,
    ctx_prog: str,
    parse: Parser,
    render: Callable[[FakeError, Optional[int]], Tuple[int, str]],
    notes: Optional[List[str]] = None,
) -> str:
    """Apply ``data``; return stdout. Raises :class:`RestoreFailed` on failure.

    ``notes`` receives the parse warnings of the lines read (``Warning: ...``), which
    iptables-restore prints to stderr as it reads them, before any error."""
    enabled = gc.isenabled()
    gc.disable()  # a big restore allocates many long-lived objects: skip the collector
    try:
        return _run_restore(
            kernel,
            data,
            opts,
            prog=prog,
            ctx_prog=ctx_prog,
            parse=parse,
            render=render,
            notes=notes if notes is not None else [],
        )
    finally:
        if enabled:
            gc.enable()


def _run_restore(
    kernel: Kernel,
    data: str,
    opts: RestoreOptions,
    *,
    prog: str,
    ctx_prog: str,
    parse: Parser,
    render: Callable[[FakeError, Optional[int]], Tuple[int, str]],
    notes: List[str],
) -> str:
    legacy = kernel.legacy
    tag = "legacy" if legacy else "nf_tables"
    out: List[str] = []
    block: Optional[_Block] = None
    pieces = data.split("\n")
    n = 0
    for idx, piece in enumerate(pieces):
        if idx == len(pieces) - 1 and piece == "":
            break
        n += 1
        line = piece + "\n" if idx < len(pieces) - 1 else piece
        if line in ("\n", ""):
            continue
        if line[0] == "#":
            if opts.verbose:
                out.append(line if line.endswith("\n") else line + "\n")
            continue
        # a CR is part of the word: "COMMIT\r\n" is a rule line (measured, all releases)
        is_commit = line == "COMMIT\n" or (not legacy and line == "COMMIT")
        if block is not None and block.skip:
            if is_commit:
                block = None
            continue
        try:
            if block is not None and is_commit:
                _commit(kernel, block, opts, n, prog, tag, parse)
                block = None
                continue
            if block is None and line[0] == "*":
                # strtok(" \t\n"): a CR stays in the name ("filter\r" is refused)
                words = line[1:].replace("\t", " ").replace("\n", " ").split(" ")
                name = next((w for w in words if w), "")
                if not name:
                    raise ParameterProblem(f"{prog}: line {n} table name invalid")
                if not legacy and name not in BUILTIN_CHAINS:
                    # nft checks the name before -T (measured: -T filter, "*filter\r")
                    raise ParameterProblem(f"{prog}: line {n} table name '{name}' invalid")
                if opts.table is not None and name != opts.table:
                    block = _Block(name, n, Table("filter"), skip=True)
                    continue
                if name not in BUILTIN_CHAINS:
                    if legacy:
                        raise ParameterProblem(f"{prog}: unable to initialize table '{name}'")
                    raise ParameterProblem(f"{prog}: line {n} table name '{name}' invalid")
                block = _start_block(kernel, name, n, opts)
                if opts.verbose and not opts.noflush and (legacy or not opts.test):
                    live = kernel.peek(name)
                    out.extend(f"Flushing chain `{c.name}'\n" for c in live.ordered_chains())
                    out.extend(f"Deleting chain `{c.name}'\n" for c in live.user_chains())
                continue
            if block is not None and line[0] == ":":
                _declare(kernel, block, line, n, opts, prog, tag)
                continue
            if block is None:
                raise RestoreFailed(1, f"{prog}: line {n} failed\n")
            out.append(_rule_line(kernel, block, line, n, opts, prog, ctx_prog, parse, notes))
        except RestoreFailed:
            raise
        except FakeError as e:
            notes.extend(_warning_text(e.warnings))
            rc, text = render(e, n)
            raise RestoreFailed(rc, text) from None
    if block is not None and not block.skip:
        raise RestoreFailed(1, f"{prog}: COMMIT expected at line {n + 1}\n")
    return "".join(out)


def _warning_text(warnings: Iterable[str]) -> List[str]:
    """Parse warnings as iptables prints them: one line each."""
    lines = []
    for w in warnings:
        if w.startswith(" ") and not w.startswith("  "):
            w = w[1:]
        lines.append(w if w.endswith("\n") else w + "\n")
    return lines


def _start_block(kernel: Kernel, name: str, n: int, opts: RestoreOptions) -> _Block:
    live = kernel.instantiate(name) if kernel.legacy else kernel.peek(name)
    if opts.noflush:
        staged = live.copy()
    elif kernel.legacy:
        staged = Table(name, live.seq)
        for c in live.builtin_chains():
            b = staged.chains[c.name]
            b.policy, b.pkts, b.bytes = c.policy, c.pkts, c.bytes
    else:
        staged = Table(name, live.seq, lazy=True)
    kernel.pending_missing = []
    kernel.pending_kernel = kernel.pending_direct = False
    kernel.pending_direct_chains = []
    return _Block(name, n, staged)


def _declare(
    kernel: Kernel, block: _Block, line: str, n: int, opts: RestoreOptions, prog: str, tag: str
) -> None:
    fields = line[1:].split()
    if not fields:
        raise ParameterProblem(f"{prog}: line {n} chain name invalid")
    name = fields[0]
    if len(name) >= 29:
        if kernel.legacy or kernel.release.old_messages:  # nft 1.8.7 said it too
            raise ParameterProblem(f"Invalid chain name `{name}' (28 chars max)")
        raise ParameterProblem(f"chain name `{name}' too long (must be under 29 chars)")
    if not kernel.legacy:
        if name[0] in "-!":
            raise ParameterProblem(f"chain name not allowed to start with `{name[0]}'")
        if name in _target_names(kernel.family):
            raise ParameterProblem("chain name may not clash with target name")
    t = block.staged
    block.content = True
    builtin = name in BUILTIN_CHAINS[t.name]
    if builtin:
        t.chains[name].live = True
    if len(fields) < 2:
        raise ParameterProblem(f"{prog}: line {n} policy invalid")
    policy = fields[1]
    if not builtin:
        block.policy_fn = False
        block.ops.append((n, Command(op="N", table=t.name, chain=name)))
        block.ops.append((n, Command(op="F", table=t.name, chain=name)))
        existing = t.chains.get(name)
        if kernel.legacy and name in ("ACCEPT", "DROP", "QUEUE", "RETURN"):
            raise ParameterProblem(f"error creating chain '{name}':File exists")
        if existing is not None:
            if not kernel.legacy and opts.noflush:
                cached = block.ghosts.get(name)
                entries = cached if cached is not None else existing.rules
                texts: List[Union[str, Rule]] = [
                    e if isinstance(e, str) else e.spec.text for e in entries
                ]
                if texts:
                    block.ghosts[name] = texts
            if opts.noflush or not kernel.legacy:
                t.flush(existing)
                # iptables-nft re-adds a declared chain without its handle, so a later
                # -E of it in the batch fails too (measured on 1.8.9)
                block.created.add(name)
            else:
                raise ParameterProblem(f"error creating chain '{name}':File exists")
        else:
            t.chains[name] = Chain(name, False)
            block.created.add(name)
    if policy == "-":
        return
    if not builtin:
        if kernel.legacy:
            raise Raw(
                1,
                f"{prog} v{kernel.version} ({tag}): Can't set policy `{policy}' on "
                f"`{name}' line {n}: Bad built-in chain name\n",
            )
        return
    counters: Tuple[int, int] = (0, 0)
    if opts.counters:
        pair = _parse_counter_pair(fields[2]) if len(fields) > 2 else None
        if pair is None:
            raise ParameterProblem(f"invalid policy counters for chain '{name}'")
        counters = pair
    if policy not in POLICIES:
        if kernel.legacy:
            raise Raw(
                1,
                f"{prog} v{kernel.version} ({tag}): Can't set policy `{policy}' on "
                f"`{name}' line {n}: Bad policy name\n",
            )
        if not kernel.release.nft_restore_error_is_commit_line:
            raise RestoreFailed(1, f"{prog}: line {n} failed: Bad policy name.\n")
        # 1.8.7 finds it at COMMIT (the line named there)
        if block.first_error is None:
            block.first_error = ("runtime", f"{prog}: line {n} failed\n")
        return
    c = t.chains[name]
    c.live = True
    block.policy_fn = True
    c.policy = policy
    c.pkts, c.bytes = counters
    block.declared_counters.add(name)


def _rule_line(
    kernel: Kernel,
    block: _Block,
    line: str,
    n: int,
    opts: RestoreOptions,
    prog: str,
    ctx_prog: str,
    parse: Parser,
    notes: List[str],
) -> str:
    start = 0
    pcnt: Optional[str] = None
    bcnt: Optional[str] = None
    if line[0] == "[":
        end = line.find("]")
        if end < 0:
            raise ParameterProblem(f"Bad line {n}: need ]")
        # strtok(buffer + 1, ":") then strtok(NULL, "]"), as iptables does
        rest = line[1:].lstrip(":")
        if not rest:
            raise ParameterProblem(f"Bad line {n}: need :")
        colon = rest.find(":")
        pcnt = rest if colon < 0 else rest[:colon]
        after = "" if colon < 0 else rest[colon + 1 :].lstrip("]")
        if not after:
            raise ParameterProblem(f"Bad line {n}: need ]")
        close = after.find("]")
        bcnt = after if close < 0 else after[:close]
        start = end + 1
    tokens = tokenize(line[start:], prog)
    args: List[str] = ["-t", block.name]
    if opts.counters and pcnt is not None and bcnt is not None:
        args += ["--set-counters", pcnt, bcnt]
    args += tokens
    staged = block.staged
    if kernel.legacy:

        def chain_exists(table: str, chain: str) -> bool:
            if table != staged.name:
                return chain in kernel.peek(table).chains
            c = staged.chains.get(chain)
            return c is not None and not c.builtin
    else:

        def chain_exists(table: str, chain: str) -> bool:
            return True

    ctx = ParseContext(
        prog=ctx_prog,
        family=kernel.family,
        backend=kernel.backend,
        version=kernel.version,
        chain_exists=chain_exists,
        restore=True,
    )
    cmd = parse(args, ctx)
    if cmd.extra:
        notes.extend(_warning_text(x[8:] for x in cmd.extra if x.startswith("warning:")))
    if cmd.op == "nop":  # e.g. a -6 line in iptables-restore
        return ""
    block.content = True
    if block.first_error is not None:
        # nft evaluates the queued commands at COMMIT and stops at the first failure;
        # later lines are only parsed (their syntax errors still win, being earlier)
        return ""
    if not kernel.legacy and cmd.op in "AIRCD":
        # nft resolves -j/-g targets first, when the batch is evaluated at COMMIT
        for spec in cmd.rules or ((cmd.rule,) if cmd.rule is not None else ()):
            if spec.jump_chain is not None and spec.jump_chain not in staged.chains:
                block.first_error = ("jump", spec.jump_chain)
                return ""
    if not kernel.legacy and cmd.op == "E":
        # iptables-nft renames in the kernel at COMMIT; its cache keeps the old name
        if cmd.new_name in staged.chains:
            block.first_error = ("runtime", f"{prog}: line {n} failed: File exists.\n")
            return ""
        c = staged.chains.get(cmd.chain or "")
        if c is None or c.builtin:
            block.first_error = ("runtime", f"{prog}: line {n} failed: {MSG_NOCHAIN}\n")
            return ""
        block.ops.append((n, cmd))
        block.renames.append((cmd.chain or "", cmd.new_name or ""))
        if cmd.chain in block.created and cmd.new_name:
            # the kernel cannot rename a chain added (or declared) earlier in the batch
            block.batch_errors.append(
                f"line {n}: CHAIN_RENAME failed (No such file or directory): chain {cmd.new_name}\n"
            )
        block.policy_fn = False
        return ""
    if (
        not kernel.legacy
        and cmd.op in ("R", "Z")
        and cmd.rulenum is not None
        and _segfaults_on_batch_rule(kernel, block, cmd)
    ):
        # the crash comes late at COMMIT: later lines are still parsed and evaluated
        # first (their syntax errors, missing jumps and runtime errors win, measured)
        block.segv = True
        return ""
    if block.ghosts and cmd.table == block.name:
        handled = _ghost_command(kernel, block, cmd, n, prog)
        if handled is not None:
            return handled
    if not kernel.legacy and cmd.op == "F":
        # a flush drops the rule additions queued for that chain from the batch
        kernel.pending_direct_chains = [
            c for c in kernel.pending_direct_chains if cmd.chain and c != cmd.chain
        ]
    kept = (
        {
            c.name: (c.pkts, c.bytes)
            for c in staged.builtin_chains()
            if c.name in block.declared_counters
        }
        if kernel.legacy and cmd.op == "Z"
        else {}
    )
    kernel.defer_checks = True
    try:
        out = kernel.execute(cmd, staged if cmd.table == block.name else None)
        for name, (p, b) in kept.items():
            # libiptc's -Z leaves alone policy counters set in the same transaction
            staged.chains[name].pkts, staged.chains[name].bytes = p, b
    except KernelRefused as e:
        if kernel.legacy:
            raise RestoreFailed(1, f"{prog}: line {n} failed\n") from None
        # refused by the kernel when the batch is sent, at COMMIT
        block.batch_errors.append(f"line {n}: {e.op} failed ({e.strerror}): {e.what}\n")
        block.ops.append((n, cmd))
        if cmd.op == "X" and cmd.chain:
            # ... but iptables-nft has already dropped the chain from its cache
            c = staged.chains.get(cmd.chain)
            if c is not None and not c.builtin:
                staged.flush(c)
                del staged.chains[cmd.chain]
        return ""
    except RuntimeProblem as e:
        if kernel.legacy:
            raise RestoreFailed(1, f"{prog}: line {n} failed\n") from None
        msg = e.message
        if cmd.op == "Z" and msg == MSG_NOCHAIN and block.policy_fn:
            # -Z does not set nft_fn, so nft_strerror() words ENOENT for the function that
            # ran last: after a policy change that is nft_chain_set's (verified)
            msg = "Bad built-in chain name."
        block.first_error = ("runtime", f"{prog}: line {n} failed: {msg}\n")
        return ""
    finally:
        kernel.defer_checks = False
    if not kernel.legacy and kernel.pending_missing and block.first_error is None:
        block.first_error = ("jump", kernel.pending_missing[0])
    block.ops.append((n, cmd))
    if cmd.op == "P":
        block.policy_fn = True
    elif cmd.op != "Z":
        block.policy_fn = False
    if (
        opts.verbose
        and not opts.noflush
        and (kernel.legacy or not opts.test)
        and not cmd.verbose
        and (cmd.op in "AIRC" or (cmd.op == "D" and cmd.rule))
    ):
        rules = cmd.rules or ((cmd.rule,) if cmd.rule is not None else ())
        out = "".join(verbose_rule_line(r, kernel.family) for r in rules) + out
    if not kernel.legacy and cmd.op == "N" and cmd.chain:
        block.created.add(cmd.chain)
    return out


def _commit(
    kernel: Kernel, block: _Block, opts: RestoreOptions, n: int, prog: str, tag: str, parse: Parser
) -> None:
    try:
        _commit_block(kernel, block, opts, n, prog, tag, parse)
    except RestoreFailed as e:
        if kernel.legacy or not kernel.release.nft_restore_error_is_commit_line:
            raise
        # iptables-nft 1.8.7 names the COMMIT line for every failure of the batch, and
        # gives no cause for a command that failed in its cache (measured)
        if e.returncode == 1 and e.stderr.startswith(f"{prog}: line "):
            raise RestoreFailed(1, f"{prog}: line {n} failed\n") from None
        if e.returncode == 4:
            text = _BATCH_LINE_RE.sub(f"line {n}:", e.stderr)
            raise RestoreFailed(4, text) from None
        raise


_BATCH_LINE_RE = re.compile(r"(?m)^line \d+:")


def _commit_block(
    kernel: Kernel, block: _Block, opts: RestoreOptions, n: int, prog: str, tag: str, parse: Parser
) -> None:
    staged = block.staged
    legacy = kernel.legacy
    if opts.test:
        kernel.pending_missing = []
        kernel.pending_kernel = kernel.pending_direct = False
        kernel.pending_direct_chains = []
        return
    kernel.pending_missing = []
    if block.first_error is not None:
        kind, text = block.first_error
        kernel.pending_kernel = kernel.pending_direct = False
        kernel.pending_direct_chains = []
        if kind == "jump":
            raise ParameterProblem(f"Chain '{text}' does not exist")
        raise RestoreFailed(1, text)
    if block.segv:
        kernel.pending_kernel = kernel.pending_direct = False
        kernel.pending_direct_chains = []
        raise RestoreFailed(-11, "")
    if block.batch_errors:
        errors = list(block.batch_errors)
        if kernel.pending_direct and kernel.pending_direct_chains:
            # rules refused on their own fail in the same pass (measured: a failed
            # CHAIN_RENAME and a RULE_APPEND of rpfilter to OUTPUT are both reported)
            errors += [
                e for e in _nft_replay(kernel, block, opts, first_pass=True)[0] if e not in errors
            ]
            errors.sort(key=lambda e: int(e.split(":", 1)[0][5:]))
        kernel.pending_kernel = kernel.pending_direct = False
        kernel.pending_direct_chains = []
        raise RestoreFailed(4, f"{prog} v{kernel.version} ({tag}): \n" + "".join(errors))
    if kernel.pending_kernel or kernel.pending_direct:
        bad = (kernel.pending_kernel and staged.validate(legacy) is not None) or (
            kernel.pending_direct
            and (_table_violation(staged) if legacy else bool(kernel.pending_direct_chains))
        )
        kernel.pending_kernel = kernel.pending_direct = False
        kernel.pending_direct_chains = []
        if bad:
            if legacy:
                raise RestoreFailed(1, f"{prog}: line {n} failed\n")
            raise RestoreFailed(4, _nft_refusals(kernel, block, opts, prog, tag))
    if legacy:
        if (
            block.content or not opts.noflush
        ) and not kernel.release.legacy_commit_keeps_policy_counters:
            # libiptc skips the commit when nothing changed; a real one resets the
            # policy counters it was not given (verified)
            for c in staged.builtin_chains():
                if c.name not in block.declared_counters:
                    c.pkts = c.bytes = 0
        kernel.tables[block.name] = staged
        return
    for old, new in block.renames:
        if old in staged.chains and new not in staged.chains:
            staged.rename(old, new)
    live = kernel.tables.get(block.name)
    if not block.content:
        # nft deletes the table it flushes and recreates only what the block declares
        if not opts.noflush:
            kernel.tables.pop(block.name, None)
        return
    if live is None:
        kernel._seq += 1
        staged.seq = kernel._seq
    kernel.tables[block.name] = staged
