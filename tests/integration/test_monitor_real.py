"""monitor against the kernel: another process flushes and deletes with the raw binaries."""

from __future__ import annotations

import threading
import time
from typing import List

import pytest

from iptwrap import IPTables, TableName

from .netns import BACKENDS, Namespace

TABLES: List[TableName] = ["mangle", "nat", "filter"]
INTERVAL = 0.2


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_flush_by_another_process_reloads_once(ns: Namespace, backend: str) -> None:
    ipt = IPTables(mode=backend, netns=ns.name)
    reloads: List[float] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=ipt.monitor,
        args=("IPTW-CANARY", TABLES, lambda: reloads.append(time.monotonic()), INTERVAL, stop),
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not all("IPTW-CANARY" in ipt.list_chains(t) for t in TABLES):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        flushed = time.monotonic()
        for table in TABLES:  # what `iptables -F; iptables -X` per table does
            assert ns.exec(f"iptables-{backend}", "-t", table, "-F").returncode == 0
            assert ns.exec(f"iptables-{backend}", "-t", table, "-X").returncode == 0
        while not reloads:
            assert time.monotonic() < flushed + 5 * INTERVAL + 2, "no reload"
            time.sleep(0.02)
        assert reloads[0] - flushed < 5 * INTERVAL + 1
        while not all("IPTW-CANARY" in ipt.list_chains(t) for t in TABLES):
            assert time.monotonic() < flushed + 10
            time.sleep(0.05)
        time.sleep(4 * INTERVAL)
        assert len(reloads) == 1
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert not any("IPTW-CANARY" in ipt.list_chains(t) for t in TABLES)
