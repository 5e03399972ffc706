"""``monitor``: notice that someone flushed the tables, and have the agent reload.

Kubernetes' ``Monitor`` semantics: an empty canary chain in each watched table; when
the first table's canary is gone, wait briefly for the others to go too (a flush of
several tables is not atomic), call ``reload`` once, make the canaries again.

Two things it adds, since a monitor that cries wolf makes agents rewrite everything:

- a check that fails for lock contention (or any other reason than "no such chain")
  is not a flush: it is logged and tried again at the next interval;
- a ``reload`` that raises is logged and called again at the next interval, before
  the canaries come back; the monitor itself never dies of it.

Cost: one ``-S CANARY 1`` of the first table per interval (``chain_exists``), the
least a poll can be; the other tables are only read once a flush is seen.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Callable, Sequence

from ._errors import IPTablesError, NotFoundError
from ._interface import Interface
from ._log import log
from ._types import ChainLike, TableLike

__all__ = ["monitor"]

# how long to wait for the other tables' canaries once the first is gone (Kubernetes)
FLUSH_POLL = 0.1
FLUSH_TIMEOUT = 5.0


def monitor(
    client: Interface,
    canary: ChainLike,
    tables: Sequence[TableLike],
    reload: Callable[[], object],
    interval: float,
    stop: threading.Event,
) -> None:
    """Block until ``stop`` is set, calling ``reload`` after each flush of ``tables``."""
    if not tables:
        raise ValueError("monitor needs at least one table to watch")
    if interval <= 0:
        raise ValueError("interval must be positive")
    while not stop.is_set():
        if not _make_canaries(client, canary, tables, interval, stop):
            break
        if not _wait_for_flush(client, canary, tables, interval, stop):
            break
        while not stop.is_set():
            try:
                reload()
                break
            except Exception:  # noqa: BLE001 - an agent's reload must not kill the monitor
                log.exception(
                    "monitor: reload after a flush raised; calling it again in %gs", interval
                )
                stop.wait(interval)
    for table in tables:  # on stop: leave nothing behind (best effort, as Kubernetes)
        with contextlib.suppress(IPTablesError):
            client.delete_chain(table, canary)


def _make_canaries(
    client: Interface,
    canary: ChainLike,
    tables: Sequence[TableLike],
    interval: float,
    stop: threading.Event,
) -> bool:
    """Create the canary in each table, retrying each interval; False once stopped."""
    while not stop.is_set():
        try:
            for table in tables:
                client.ensure_chain(table, canary)
            return True
        except IPTablesError as exc:
            log.warning("monitor: could not set up canary %s: %s", canary, exc)
            stop.wait(interval)
    return False


def _gone(client: Interface, table: TableLike, canary: ChainLike) -> bool:
    """True only when iptables answered that the chain is absent."""
    try:
        return not client.chain_exists(table, canary)
    except NotFoundError:
        return True
    except IPTablesError as exc:  # lock contention, a vanished namespace, ...: not a flush
        log.warning("monitor: could not check canary %s in %s: %s", canary, table, exc)
        return False


def _wait_for_flush(
    client: Interface,
    canary: ChainLike,
    tables: Sequence[TableLike],
    interval: float,
    stop: threading.Event,
) -> bool:
    """Poll the first table's canary; True once it (and the others) went, False on stop."""
    while not stop.wait(interval):
        if not _gone(client, tables[0], canary):
            continue
        log.info("monitor: canary %s deleted from %s: reloading", canary, tables[0])
        deadline = time.monotonic() + FLUSH_TIMEOUT
        while not all(_gone(client, t, canary) for t in tables[1:]):
            if time.monotonic() >= deadline or stop.wait(FLUSH_POLL):
                if log.isEnabledFor(logging.INFO):
                    log.info("monitor: the other tables kept their canaries: reloading anyway")
                break
        return True
    return False
