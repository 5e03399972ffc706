"""Helpers shared by the tests that drive the rule engine's parser directly.

``render`` is the fake runner's own renderer (``FakeRunner.render``, then the
release's blank line), so a parser test checks the very bytes the runner prints.
"""

from __future__ import annotations

from typing import Callable, Optional, Tuple

from iptwrap._rulespec.errors import FakeError
from iptwrap._rulespec.model import ParseContext, RuleSpec
from iptwrap.fake import FakeRunner

BUILTIN = frozenset({"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"})


def ctx(
    family: int,
    backend: str,
    chain_exists: Callable[[str, str], bool],
    set_exists: Optional[Callable[[str], bool]] = None,
    version: str = "1.8.9",
) -> ParseContext:
    """The context ``iptables`` (or ``ip6tables``) parses one command in."""
    return ParseContext(
        prog="ip6tables" if family == 6 else "iptables",
        family=family,
        backend=backend,
        version=version,
        chain_exists=chain_exists,
        set_exists=set_exists or (lambda _name: False),
    )


def render(err: FakeError, prog: str, backend: str, version: str = "1.8.9") -> Tuple[int, str]:
    """(exit code, stderr) the fake prints for a parser refusal."""
    runner = FakeRunner(mode=backend, version=version)
    rc, _out, stderr = runner.render(err, prog=prog, short=prog, backend=backend)
    if runner.release.old_messages:
        stderr = runner._blank_after_message(stderr)
    return rc, stderr


def refused(rule: RuleSpec, table: str, chain: str) -> bool:
    """Would the kernel refuse this rule in this table and chain?"""
    if rule.kernel_refusal is not None:
        return True
    if rule.valid_tables is not None and table not in rule.valid_tables:
        return True
    return rule.valid_hooks is not None and chain in BUILTIN and chain not in rule.valid_hooks
