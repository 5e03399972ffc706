"""The whole contract, typed: what the README tells agents to use is in ``Interface``,
the Syncer drives any ``Interface``, and a runner of one's own type-checks with public
names only (``mypy --strict`` runs over this file in CI)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import iptwrap
from iptwrap import Interface, Jump, RunResult, Syncer
from iptwrap.fake import FakeIPTables, FakeRunner

USED_BY_THE_README = [
    "batch",
    "sync",
    "teardown",
    "save",
    "save_into",
    "restore",
    "restore_all",
    "check_restore",
    "rule_exists",
    "get_policy",
    "delete_rule_number",
    "ensure_chain",
    "ensure_rule",
    "delete_chain",
    "list_rules",
]


def test_the_interface_declares_what_agents_are_told_to_use() -> None:
    for name in USED_BY_THE_README:
        assert hasattr(Interface, name), name
    client: Interface = iptwrap.IPTables(runner=FakeRunner())  # checked by mypy too
    fake: Interface = FakeIPTables()
    assert isinstance(client, Interface) and isinstance(fake, Interface)


class _Counting:
    """A wrapper of the agent's own around a client: it only knows the Interface."""

    def __init__(self, inner: Interface) -> None:
        self.inner = inner
        self.restores = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def restore_all(self, data: bytes, *, flush: bool = True, counters: bool = False) -> None:
        self.restores += 1
        self.inner.restore_all(data, flush=flush, counters=counters)


def test_the_syncer_drives_any_interface() -> None:
    fake = FakeIPTables()
    wrapped = _Counting(fake)
    # a duck, by __getattr__: mypy cannot see the delegated methods
    syncer = Syncer(wrapped, "AG-")  # type: ignore[arg-type]
    jumps = [Jump("filter", "INPUT", ("-j", "AG-IN"))]
    syncer.sync({"filter": {"AG-IN": [["-j", "ACCEPT"]]}}, jumps)
    syncer.sync({"filter": {"AG-IN": [["-j", "DROP"]]}}, jumps)
    assert wrapped.restores == 1  # the partial sync went through the wrapper's restore_all
    assert fake.rules("filter", "AG-IN") == ["-A AG-IN -j DROP"]


class _MyResult:
    def __init__(self, returncode: int, stdout: bytes = b"", stderr: bytes = b"") -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class _MyRunner:
    """A user's runner: public names only (iptwrap.RunResult), no private import."""

    def __init__(self) -> None:
        self.inner = FakeRunner()

    def run(
        self,
        argv: Sequence[str],
        *,
        input: Optional[bytes] = None,
        timeout: Optional[float] = None,
    ) -> RunResult:
        got = self.inner.run(argv, input=input, timeout=timeout)
        return _MyResult(got.returncode, got.stdout, got.stderr)


def test_a_runner_of_ones_own_type_checks_and_runs() -> None:
    ipt = iptwrap.IPTables(runner=_MyRunner(), mode="nft")
    ipt.ensure_chain("filter", "MINE")
    assert "MINE" in ipt.list_chains("filter")
    assert isinstance(_MyRunner(), iptwrap.Runner)


def test_mypy_catches_a_misspelt_table() -> None:
    from mypy import api

    snippet = (
        "from iptwrap.fake import FakeIPTables\n"
        "ipt = FakeIPTables()\n"
        'ipt.append_rule("NAT", "POSTROUTING", "-j", "MASQUERADE")\n'
        'ipt.append_rule("nat", "POSTROUTING", "-j", "MASQUERADE")\n'
    )
    out, _err, status = api.run(["--strict", "--no-error-summary", "-c", snippet])
    assert status == 1
    (error,) = out.strip().splitlines()
    assert ":3: error:" in error and "NAT" in error, error
