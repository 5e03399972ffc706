"""monitor: Kubernetes' canary semantics, on the fake (both backends)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterator, List

import pytest

from iptwrap import TableName
from iptwrap.fake import FakeIPTables

TABLES: List[TableName] = ["mangle", "nat", "filter"]
INTERVAL = 0.02


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


class Running:
    def __init__(self, ipt: FakeIPTables, reload: Callable[[], None]) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=ipt.monitor, args=("CANARY", TABLES, reload, INTERVAL, self.stop)
        )
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        assert not self.thread.is_alive()


@pytest.fixture
def reloads() -> List[float]:
    return []


@pytest.fixture
def running(fake_iptables: FakeIPTables, reloads: List[float]) -> Iterator[Running]:
    monitor = Running(fake_iptables, lambda: reloads.append(time.monotonic()))
    yield monitor
    monitor.close()


def _canaries(ipt: FakeIPTables) -> List[bool]:
    return ["CANARY" in ipt.list_chains(t) for t in TABLES]


@pytest.mark.iptwrap(mode="both")
def test_a_flush_of_every_table_reloads_once_and_the_canaries_come_back(
    fake_iptables: FakeIPTables, running: Running, reloads: List[float]
) -> None:
    ipt = fake_iptables
    _eventually(lambda: all(_canaries(ipt)))
    for table in TABLES:  # another agent flushes and deletes, table by table
        ipt.fake.run(["iptables", "-t", table, "-F"])
        ipt.fake.run(["iptables", "-t", table, "-X"])
    _eventually(lambda: len(reloads) == 1)
    _eventually(lambda: all(_canaries(ipt)))
    time.sleep(5 * INTERVAL)
    assert len(reloads) == 1
    running.close()
    assert not any(_canaries(ipt))  # stopping removes the canaries


@pytest.mark.iptwrap(mode="legacy")
def test_lock_contention_on_the_check_is_not_a_flush(
    fake_iptables: FakeIPTables, running: Running, reloads: List[float]
) -> None:
    ipt = fake_iptables
    _eventually(lambda: all(_canaries(ipt)))
    ipt.fake.faults.lock_held(calls=5)  # the next checks meet a held lock
    _eventually(lambda: ipt.fake.faults.pending_lock == 0)
    time.sleep(3 * INTERVAL)
    assert reloads == []


def test_a_reload_that_raises_is_logged_and_called_again(
    fake_iptables: FakeIPTables, caplog: pytest.LogCaptureFixture
) -> None:
    calls: List[int] = []

    def reload() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the agent's first reload failed")

    ipt = fake_iptables
    monitor = Running(ipt, reload)
    try:
        _eventually(lambda: all(_canaries(ipt)))
        with caplog.at_level(logging.INFO, logger="iptwrap"):
            for table in TABLES:
                ipt.fake.run(["iptables", "-t", table, "-X", "CANARY"])
            _eventually(lambda: len(calls) == 2)
            _eventually(lambda: all(_canaries(ipt)))
    finally:
        monitor.close()
    assert any("reload after a flush raised" in r.getMessage() for r in caplog.records)
    assert monitor.thread is not None


def test_bad_arguments_are_refused(fake_iptables: FakeIPTables) -> None:
    with pytest.raises(ValueError):
        fake_iptables.monitor("CANARY", [], lambda: None, 1.0, threading.Event())
    with pytest.raises(ValueError):
        fake_iptables.monitor("CANARY", ["filter"], lambda: None, 0, threading.Event())
