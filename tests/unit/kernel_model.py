"""The fake's kernel model over a stub parser: the helpers its unit tests share.

``stub_parse`` passes rule texts through unchanged (they are given in canonical,
iptables-save form), so that the tests built on it test the kernel model, printers,
faults and runner alone, not the rule engine. ``run``/``ok`` drive a runner with one
shell-like command line.
"""

from __future__ import annotations

import shlex
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

from iptwrap._rulespec.errors import ParameterProblem
from iptwrap._rulespec.model import Command, ParseContext, RuleSpec
from iptwrap.fake._runner import FakeRunner as _FakeRunner

# ---- the stub parser ------------------------------------------------------------------------

_OPS = {
    "-A": "A",
    "--append": "A",
    "-I": "I",
    "--insert": "I",
    "-R": "R",
    "--replace": "R",
    "-D": "D",
    "--delete": "D",
    "-C": "C",
    "--check": "C",
    "-N": "N",
    "--new-chain": "N",
    "-X": "X",
    "--delete-chain": "X",
    "-F": "F",
    "--flush": "F",
    "-Z": "Z",
    "--zero": "Z",
    "-E": "E",
    "--rename-chain": "E",
    "-P": "P",
    "--policy": "P",
    "-S": "S",
    "--list-rules": "S",
    "-L": "L",
    "--list": "L",
    "-h": "h",
    "-V": "V",
}
_VERDICTS = {"ACCEPT", "DROP", "RETURN"}
_TARGET_HOOKS: Dict[str, Tuple[Optional[FrozenSet[str]], Optional[FrozenSet[str]]]] = {
    "MASQUERADE": (frozenset({"POSTROUTING"}), frozenset({"nat"})),
    "SNAT": (frozenset({"POSTROUTING", "INPUT"}), frozenset({"nat"})),
    "DNAT": (frozenset({"PREROUTING", "OUTPUT"}), frozenset({"nat"})),
    "REDIRECT": (frozenset({"PREROUTING", "OUTPUT"}), frozenset({"nat"})),
    "REJECT": (frozenset({"INPUT", "FORWARD", "OUTPUT"}), None),
    "LOG": (None, None),
    "MARK": (None, None),
    "CT": (None, frozenset({"raw"})),
}


def stub_parse(args: Sequence[str], ctx: ParseContext) -> Command:
    """Just enough of iptables' command line for the kernel tests."""
    a = list(args)
    op: Optional[str] = None
    table = "filter"
    chain: Optional[str] = None
    rulenum: Optional[int] = None
    new_name: Optional[str] = None
    policy: Optional[str] = None
    counters: Optional[Tuple[int, int]] = None
    flags: Dict[str, bool] = {}
    wait: Optional[float] = None
    spec: List[str] = []
    target: Optional[str] = None
    goto = False
    src = dst = ""
    i = 0
    while i < len(a):
        t = a[i]
        if t in _OPS and op is None:
            op = _OPS[t]
            if op in ("h", "V"):
                return Command(op=op)
            if i + 1 < len(a) and not a[i + 1].startswith("-"):
                i += 1
                chain = a[i]
                if op == "E":
                    i += 1
                    new_name = a[i]
                elif op == "P":
                    i += 1
                    policy = a[i]
                elif i + 1 < len(a) and a[i + 1].isdigit():
                    i += 1
                    rulenum = int(a[i])
        elif t == "-Z" and op == "L":
            flags["zero"] = True
        elif t == "-L" and op == "Z":
            op = "L"
            flags["zero"] = True
        elif t in ("-t", "--table"):
            i += 1
            table = a[i]
        elif t in ("-c", "--set-counters"):
            if not (a[i + 1].isdigit() and a[i + 2].isdigit()):
                raise ParameterProblem("-c packet counter not numeric")
            counters = (int(a[i + 1]), int(a[i + 2]))
            i += 2
        elif t in ("-n", "-v", "-x", "--line-numbers"):
            flags[t] = True
        elif t in ("-w", "--wait"):
            wait = -1.0
            if i + 1 < len(a) and a[i + 1].isdigit():
                i += 1
                wait = float(a[i])
        elif t in ("-j", "-g"):
            goto = t == "-g"
            i += 1
            target = a[i]
            spec += [t, target]
            i += 1
            while i < len(a) and a[i].startswith("--"):
                spec.append(a[i])
                if i + 1 < len(a) and not a[i + 1].startswith("-"):
                    i += 1
                    spec.append(a[i])
                i += 1
            continue
        else:
            if t == "-s":
                src = a[i + 1]
            if t == "-d":
                dst = a[i + 1]
            spec.append(t)
        i += 1
    if op is None:
        raise ParameterProblem("no command specified")
    jump: Optional[str] = None
    hooks: Optional[FrozenSet[str]] = None
    tables: Optional[FrozenSet[str]] = None
    if target is not None:
        if target in _TARGET_HOOKS:
            hooks, tables = _TARGET_HOOKS[target]
        elif target not in _VERDICTS:
            if not ctx.chain_exists(table, target):
                if ctx.backend == "legacy":
                    raise ParameterProblem(
                        f"Couldn't load target `{target}':No such file or directory\n"
                    )
                raise ParameterProblem(f"Chain '{target}' does not exist")
            jump = target
    if "-m" in spec and "owner" in spec:
        hooks = frozenset({"OUTPUT", "POSTROUTING"})
    rule: Optional[RuleSpec] = None
    if op in ("A", "I", "R", "C") or (op == "D" and (spec or rulenum is None)):
        rule = RuleSpec(
            text=" ".join(spec),
            target=target,
            goto=goto,
            jump_chain=jump,
            valid_hooks=hooks,
            valid_tables=tables,
            listing=(target or "", "0", "--", "*", "*", src or "0.0.0.0/0", dst or "0.0.0.0/0", ""),
        )
        if op == "D":
            rulenum = None
    return Command(
        op=op,
        table=table,
        chain=chain,
        rulenum=rulenum,
        rule=rule,
        new_name=new_name,
        policy=policy,
        counters=counters,
        numeric=flags.get("-n", False),
        verbose=flags.get("-v", False),
        exact=flags.get("-x", False),
        line_numbers=flags.get("--line-numbers", False),
        zero_after_list=flags.get("zero", False),
        wait=wait,
    )


def FakeRunner(**kwargs: Any) -> _FakeRunner:  # noqa: N802 - stands in for the class
    """The fake over the stub parser: these tests are about the kernel model."""
    return _FakeRunner(parse=stub_parse, **kwargs)


def run(r: _FakeRunner, cmd: str, stdin: Optional[str] = None) -> Tuple[int, str, str]:
    res = r.run(shlex.split(cmd), input=stdin.encode() if stdin is not None else None)
    return res.returncode, res.stdout.decode(), res.stderr.decode()


def ok(r: _FakeRunner, cmd: str, stdin: Optional[str] = None) -> str:
    rc, out, err = run(r, cmd, stdin)
    assert rc == 0, (cmd, rc, err)
    return out


BACKENDS = ["nft", "legacy"]
