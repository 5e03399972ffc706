"""Check-then-act is safe across processes by default.

A client of the real binaries flocks ``/run/iptwrap.lock`` (or ``$IPTWRAP_LOCK_FILE``)
around ``ensure_rule``, batch commits and syncs; over the fake or a caller's runner it
serialises in-process only, so unit tests need neither root nor a writable ``/run``.
The reliability suite checks the outcome on the kernel: 16 default-constructed
writers, no duplicate.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import iptwrap
from iptwrap import IPTables, RulePosition
from iptwrap.fake import FakeIPTables

from .recording import RecordingRunner

A = RulePosition.APPEND


def test_a_default_client_of_the_real_binaries_locks_the_well_known_file(monkeypatch) -> None:
    monkeypatch.delenv("IPTWRAP_LOCK_FILE", raising=False)
    assert IPTables().ensure_lock_file == "/run/iptwrap.lock" == iptwrap.DEFAULT_ENSURE_LOCK_FILE
    assert IPTables(iptwrap.Protocol.IPV6, netns="blue").ensure_lock_file == "/run/iptwrap.lock"
    monkeypatch.setenv("IPTWRAP_LOCK_FILE", "/tmp/agents.lock")
    assert IPTables().ensure_lock_file == "/tmp/agents.lock"
    assert IPTables(ensure_lock_file="/x/y.lock").ensure_lock_file == "/x/y.lock"
    assert IPTables(ensure_lock_file=False).ensure_lock_file is None


def test_the_fake_and_callers_runners_lock_no_file_unless_asked(tmp_path) -> None:
    assert FakeIPTables().ensure_lock_file is None
    assert IPTables(runner=RecordingRunner()).ensure_lock_file is None
    path = str(tmp_path / "l")
    assert IPTables(runner=RecordingRunner(), ensure_lock_file=path).ensure_lock_file == path
    assert IPTables(runner=RecordingRunner(), ensure_lock_file=True).ensure_lock_file
    with pytest.raises(iptwrap.InvalidArgumentError):
        IPTables(ensure_lock_file="")


def test_an_unopenable_lock_file_is_a_typed_error_before_anything_runs() -> None:
    runner = RecordingRunner()
    ipt = IPTables(runner=runner, ensure_lock_file="/nonexistent-dir/iptwrap.lock")
    for call in (
        lambda: ipt.ensure_rule(A, "filter", "INPUT", "-j", "ACCEPT"),
        lambda: ipt.sync("AG-", {"filter": {"AG-X": []}}),
        lambda: ipt.batch().commit(),
    ):
        with pytest.raises(iptwrap.LockFileError) as err:
            call()
        assert "IPTWRAP_LOCK_FILE" in str(err.value) and "ensure_lock_file=False" in str(err.value)
    assert runner.calls == []


def test_the_guard_is_reentrant(tmp_path) -> None:
    ipt = FakeIPTables()
    guarded = IPTables(runner=ipt.fake, ensure_lock_file=str(tmp_path / "l"))
    with guarded.ensure_guard():
        assert guarded.ensure_rule(A, "filter", "INPUT", "-j", "ACCEPT") is False
        guarded.sync("AG-", {"filter": {"AG-X": [["-j", "RETURN"]]}})
    assert ipt.chain_exists("filter", "AG-X")


HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_another_process_holding_the_file_excludes_check_then_act(tmp_path) -> None:
    path = str(tmp_path / "agents.lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, path, "30"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        fake = FakeIPTables()
        ipt = IPTables(runner=fake.fake, ensure_lock_file=path, lock_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(iptwrap.LockTimeoutError):
            ipt.ensure_rule(A, "filter", "INPUT", "-j", "ACCEPT")
        assert time.monotonic() - started < 3
        with pytest.raises(iptwrap.LockTimeoutError), ipt.batch() as b:
            b.ensure_rule(A, "filter", "INPUT", "-j", "ACCEPT")
        assert fake.rules("filter", "INPUT") == []  # nothing was checked or added
        ipt.append_rule("filter", "INPUT", "-j", "DROP")  # a plain append takes no guard
    finally:
        holder.kill()
        holder.wait()
    assert ipt.ensure_rule(A, "filter", "INPUT", "-j", "ACCEPT") is False
