"""Retrying only lock contention, within the lock deadline; holding the lock file ourselves.

No process is started: a recording runner answers in place of the binaries, so no
network namespace is needed and the host's rules are never touched.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest

import iptwrap
from iptwrap import IPTables, RetryPolicy
from iptwrap._lock import LockNotAcquired, hold_xtables_lock, lock_path

from .recording import RecordingRunner

LOCKED = (
    4,
    b"",
    b"Can't lock /run/xtables.lock: Resource temporarily unavailable\n"
    b"Another app is currently holding the xtables lock. Stopped waiting after 1s.\n",
)
REJECTED = (
    4,
    b"",
    b"iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT\n",
)
FAST = RetryPolicy(attempts=4, initial_backoff=0.001, max_backoff=0.01)


def test_lock_contention_is_retried_until_success() -> None:
    runner = RecordingRunner("iptables v1.8.9 (legacy)", replies=[LOCKED, LOCKED])
    ipt = IPTables(runner=runner, retry=FAST)
    ipt.append_rule("filter", "INPUT", "-j", "ACCEPT")
    assert len(runner.calls) == 3
    assert len({tuple(c) for c in runner.calls}) == 1


def test_lock_contention_gives_up_after_the_attempts() -> None:
    runner = RecordingRunner("iptables v1.8.9 (legacy)", replies=[LOCKED] * 10)
    ipt = IPTables(runner=runner, retry=FAST)
    with pytest.raises(iptwrap.LockTimeoutError) as err:
        ipt.append_rule("filter", "INPUT", "-j", "ACCEPT")
    assert len(runner.calls) == 4
    assert err.value.returncode == 4
    assert not iptwrap.is_not_found(err.value)


def test_exit_4_kernel_rejection_is_not_retried() -> None:
    runner = RecordingRunner("iptables v1.8.9 (nf_tables)", replies=[REJECTED, REJECTED])
    ipt = IPTables(runner=runner, retry=FAST)
    with pytest.raises(iptwrap.RuleRejectedError):
        # MASQUERADE outside POSTROUTING: the kernel's refusal (the hints check tables only)
        ipt.append_rule("nat", "INPUT", "-j", "MASQUERADE")
    assert len(runner.calls) == 1


def test_retries_stop_at_the_lock_deadline() -> None:
    def slow(_argv: list) -> None:
        time.sleep(0.3)

    runner = RecordingRunner("iptables v1.8.9 (legacy)", replies=[LOCKED] * 50, on_call=slow)
    ipt = IPTables(
        runner=runner, lock_timeout=1, retry=RetryPolicy(attempts=50, initial_backoff=0.01)
    )
    start = time.monotonic()
    with pytest.raises(iptwrap.LockTimeoutError):
        ipt.flush_chain("filter", "INPUT")
    assert time.monotonic() - start < 1.0 + 0.3 + 0.2
    assert len(runner.calls) < 10
    # each retry asks iptables to wait only for what is left of the deadline
    assert runner.calls[0][1:3] == ["-w", "1"]


def test_restore_lock_contention_raises_lock_error_not_restore_error() -> None:
    runner = RecordingRunner("iptables v1.8.9 (legacy)", replies=[LOCKED] * 2)
    ipt = IPTables(runner=runner, retry=RetryPolicy(attempts=2, initial_backoff=0.001))
    with pytest.raises(iptwrap.LockTimeoutError):
        ipt.restore_all(b"*filter\nCOMMIT\n")


def test_restore_error_carries_line_and_text() -> None:
    stderr = (
        b"iptables-restore v1.8.9 (nf_tables): Chain 'NOPE' does not exist\n"
        b"Error occurred at line: 2\nTry `iptables-restore -h' for more information.\n"
    )
    runner = RecordingRunner("iptables v1.8.9 (nf_tables)", replies=[(2, b"", stderr)])
    ipt = IPTables(runner=runner)
    with pytest.raises(iptwrap.RestoreError) as err:
        ipt.restore("filter", b"*filter\n-A INPUT -j NOPE\nCOMMIT\n")
    assert (err.value.line, err.value.line_text) == (2, "-A INPUT -j NOPE")
    assert err.value.cause is iptwrap.JumpTargetNotFoundError
    assert iptwrap.is_not_found(err.value)


def test_timeout_and_missing_binary_are_typed() -> None:
    runner = RecordingRunner(
        "iptables v1.8.9 (nf_tables)",
        replies=[
            iptwrap.RunnerTimeout(["iptables"], 2.0, b"", b""),
            FileNotFoundError(2, "x", "iptables"),
        ],
    )
    ipt = IPTables(runner=runner, call_timeout=2.0)
    with pytest.raises(iptwrap.CommandTimeoutError):
        ipt.flush_chain("filter", "INPUT")
    with pytest.raises(iptwrap.BinaryNotFoundError):
        ipt.flush_chain("filter", "INPUT")
    # the child's timeout covers the lock wait as well as call_timeout
    assert runner.timeouts == [pytest.approx(7.0, abs=0.5)] * 2


def test_probe_failure_missing_binary() -> None:
    class Missing:
        def run(self, argv, *, input=None, timeout=None):  # type: ignore[no-untyped-def]
            raise FileNotFoundError(2, "No such file", argv[0])

    ipt = IPTables(runner=Missing())
    assert not ipt.present()
    with pytest.raises(iptwrap.BinaryNotFoundError):
        ipt.ensure_chain("filter", "X")


def test_hold_lock_excludes_others_and_releases(tmp_path) -> None:
    path = str(tmp_path / "lock")
    fds_before = set(os.listdir("/proc/self/fd"))
    with hold_xtables_lock(path, 1.0):
        fd = os.open(path, os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)
    assert set(os.listdir("/proc/self/fd")) == fds_before


def test_hold_lock_deadline_when_held_elsewhere(tmp_path) -> None:
    path = str(tmp_path / "lock")
    fds_before = set(os.listdir("/proc/self/fd"))
    fd = os.open(path, os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        start = time.monotonic()
        with pytest.raises(LockNotAcquired), hold_xtables_lock(path, 0.3):
            pass
        assert 0.25 <= time.monotonic() - start < 1.0
    finally:
        os.close(fd)
    assert set(os.listdir("/proc/self/fd")) == fds_before


def test_threads_of_one_process_exclude_each_other(tmp_path) -> None:
    path = str(tmp_path / "lock")
    inside = []
    overlap = []

    def worker() -> None:
        for _ in range(20):
            with hold_xtables_lock(path, 5.0):
                inside.append(1)
                if len(inside) > 1:
                    overlap.append(1)
                time.sleep(0.001)
                inside.pop()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlap == []


def test_old_restore_fails_typed_when_lock_file_is_held(tmp_path) -> None:
    path = str(tmp_path / "lock")
    fd = os.open(path, os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        runner = RecordingRunner("iptables v1.4.21")
        ipt = IPTables(runner=runner, lock_file=path, lock_timeout=0.3, retry=RetryPolicy.never())
        with pytest.raises(iptwrap.LockTimeoutError):
            ipt.restore_all(b"*filter\nCOMMIT\n")
        assert runner.calls == []  # never ran the restore without the lock
    finally:
        os.close(fd)


def test_lock_path_honours_environment() -> None:
    assert lock_path({}) == "/run/xtables.lock"
    assert lock_path({"XTABLES_LOCKFILE": "/tmp/x.lock"}) == "/tmp/x.lock"


def test_ensure_rule_is_serialised_across_threads() -> None:
    """Two threads ensuring the same rule: exactly one adds it."""
    state = {"present": False, "adds": 0}
    gate = threading.Barrier(8)

    class Racy:
        def run(self, argv, *, input=None, timeout=None):  # type: ignore[no-untyped-def]
            argv = list(argv)
            if argv[1:] == ["--version"]:
                return iptwrap.Result(argv, 0, b"iptables v1.8.9 (nf_tables)\n", b"")
            if "-C" in argv:
                time.sleep(0.01)  # widen the check-then-add window
                if state["present"]:
                    return iptwrap.Result(argv, 0, b"", b"")
                return iptwrap.Result(
                    argv,
                    1,
                    b"",
                    b"iptables: Bad rule (does a matching rule exist in that chain?).\n",
                )
            if "-A" in argv:
                state["adds"] += 1
                state["present"] = True
            return iptwrap.Result(argv, 0, b"", b"")

    runner = Racy()
    results = []

    def worker() -> None:
        ipt = IPTables(runner=runner)  # separate clients, same runner: still serialised
        gate.wait()
        results.append(
            ipt.ensure_rule(iptwrap.RulePosition.APPEND, "filter", "INPUT", "-j", "ACCEPT")
        )

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["adds"] == 1
    assert sorted(results) == [False] + [True] * 7


def test_clients_of_one_namespace_share_the_ensure_serialisation() -> None:
    a, b = IPTables(netns="blue"), IPTables(netns="blue")
    assert a._ensure_key_base == b._ensure_key_base
    assert IPTables()._ensure_key_base == IPTables()._ensure_key_base
    assert IPTables()._ensure_key_base != a._ensure_key_base
    assert IPTables(iptwrap.Protocol.IPV6)._ensure_key_base != IPTables()._ensure_key_base
    r = RecordingRunner()
    assert IPTables(runner=r)._ensure_key_base == IPTables(runner=r)._ensure_key_base
    assert (
        IPTables(runner=r)._ensure_key_base != IPTables(runner=RecordingRunner())._ensure_key_base
    )
