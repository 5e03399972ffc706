"""Lock contention, per backend: a separate process holds the xtables lock file.

legacy takes the lock: held shorter than ``lock_timeout`` every call succeeds; held
longer every call fails with LockTimeoutError within ``lock_timeout`` (+10% and process
start-up), and nothing is half-applied. nft ignores the lock file; its contention is
concurrent netlink transactions, which it retries itself: many writers at once all succeed.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, List

import pytest

import iptwrap
from iptwrap import IPTables, RetryPolicy
from iptwrap.fake import FakeIPTables

from ..integration.netns import namespace, require
from .test_concurrency import record_figure

HERE = Path(__file__).resolve().parent
SLACK = 0.6  # process start-up through `ip netns exec`, on a loaded 2-core machine


def rules_of(ipt: IPTables) -> bytes:
    return b"\n".join(line for line in ipt.save().split(b"\n") if not line.startswith(b"#"))


def hold(path: str, seconds: float) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "holder.py"), path, str(seconds)], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"held\n"
    return proc


def calls(ipt: IPTables, n: int) -> List[object]:
    """n mutating calls of every kind, from threads at once."""
    results: List[object] = [None] * n

    def one(i: int) -> None:
        start = time.monotonic()
        try:
            if i % 3 == 0:
                ipt.append_rule("filter", "INPUT", "-s", f"203.0.113.{i}", "-j", "ACCEPT")
            elif i % 3 == 1:
                ipt.restore_all(
                    f"*filter\n-A INPUT -s 198.51.100.{i} -j ACCEPT\nCOMMIT\n".encode(), flush=False
                )
            else:
                ipt.ensure_chain("filter", f"LOCK-{i}")
            results[i] = ("ok", time.monotonic() - start)
        except Exception as exc:  # noqa: BLE001
            results[i] = (type(exc).__name__, time.monotonic() - start)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def legacy_ns() -> Iterator[str]:
    require("legacy")
    for ns in namespace():
        yield ns.name


def test_legacy_lock_held_shorter_than_timeout(legacy_ns: str, tmp_path) -> None:
    lock = str(tmp_path / "xtables.lock")
    ipt = IPTables(mode="legacy", netns=legacy_ns, lock_file=lock, lock_timeout=4)
    ipt.present()
    holder = hold(lock, 1.5)
    results = calls(ipt, 12)
    holder.wait()
    ok = [r for r in results if isinstance(r, tuple) and r[0] == "ok"]
    waited = [r[1] for r in ok if isinstance(r, tuple) and r[1] >= 1.0]  # type: ignore[operator]
    record_figure(
        {
            "test": "lock_held_1.5s_timeout_4s",
            "backend": "legacy",
            "calls": len(results),
            "succeeded": len(ok),
            "waited": len(waited),
        }
    )
    assert len(ok) == 12, results
    assert len(ipt.list_rules("filter", "INPUT")) == 8


def test_legacy_lock_held_longer_than_timeout(legacy_ns: str, tmp_path) -> None:
    lock = str(tmp_path / "xtables.lock")
    timeout = 2.0
    ipt = IPTables(mode="legacy", netns=legacy_ns, lock_file=lock, lock_timeout=timeout)
    ipt.list_chains("filter")  # probe, and let legacy create the table first
    before = rules_of(ipt)
    holder = hold(lock, 12)
    try:
        results = calls(ipt, 9)
    finally:
        holder.kill()
        holder.wait()
    kinds = {r[0] for r in results if isinstance(r, tuple)}
    worst = max(r[1] for r in results if isinstance(r, tuple))  # type: ignore[type-var]
    record_figure(
        {
            "test": "lock_held_12s_timeout_2s",
            "backend": "legacy",
            "calls": len(results),
            "failed_typed": sum(
                1 for r in results if isinstance(r, tuple) and r[0] == "LockTimeoutError"
            ),
            "worst_seconds": round(float(worst), 3),
        }
    )  # type: ignore[arg-type]
    assert kinds == {"LockTimeoutError"}, results
    assert worst < timeout * 1.1 + SLACK, results
    assert rules_of(ipt) == before  # nothing half-applied


def test_nft_concurrent_transactions_all_succeed() -> None:
    require("nft")
    for ns in namespace():
        ipt = IPTables(mode="nft", netns=ns.name, lock_timeout=5)
        results = calls(ipt, 30)
        ok = sum(1 for r in results if isinstance(r, tuple) and r[0] == "ok")
        record_figure(
            {
                "test": "nft_30_concurrent_writers",
                "backend": "nft",
                "calls": len(results),
                "succeeded": ok,
            }
        )
        assert ok == 30, results
        assert len(ipt.list_rules("filter", "INPUT")) == 20


def test_old_restore_client_holds_the_lock_itself(tmp_path) -> None:
    """iptables 1.4.21 on the fake: restore cannot wait, so the client flocks the file."""
    lock = str(tmp_path / "xtables.lock")
    ipt = FakeIPTables(
        mode="legacy",
        version="1.4.21",
        lock_timeout=1.0,
        retry=RetryPolicy(attempts=3, initial_backoff=0.01),
    )
    ipt._lock_file = lock  # the fake host's lock file lives in tmp_path
    holder = hold(lock, 1.5)
    start = time.monotonic()
    with pytest.raises(iptwrap.LockTimeoutError):
        ipt.restore_all(b"*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", flush=False)
    assert time.monotonic() - start < 1.0 * 1.1 + 0.2
    assert not any(c[0].endswith("restore") for c in ipt.calls)
    holder.wait()
    ipt.restore_all(b"*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", flush=False)
    assert ipt.rules("filter", "INPUT") == ["-A INPUT -j ACCEPT"]
    assert [c for c in ipt.calls if c[0].endswith("restore")] == [("iptables-restore", "--noflush")]
