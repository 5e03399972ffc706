"""What iptwrap tells the ``logging`` module, and at which level.

- ``iptwrap`` at DEBUG: every command, shell-quoted as it runs (with the ``ip netns
  exec`` prefix), its exit code and how long it took; for a restore, the payload's
  size and line count.
- ``iptwrap.payload`` at DEBUG: the restore payload itself. A kube-like sync sends a
  megabyte; it gets its own logger so that it can be switched on alone.
- ``iptwrap`` at WARNING: a retry on the xtables lock, with the attempt and what the
  lock holder's message said.

Nothing is logged at INFO or above on success. A disabled logger costs one
``isEnabledFor`` per command (the benchmark's single-call rows include it).
"""

from __future__ import annotations

import logging
import shlex
import time
from typing import Optional, Sequence

__all__ = ["log", "payload_log", "command_text", "log_command", "log_call", "log_retry"]

log = logging.getLogger("iptwrap")
payload_log = logging.getLogger("iptwrap.payload")

_DEBUG = logging.DEBUG


def command_text(argv: Sequence[str], prefix: Sequence[str] = ()) -> str:
    """The command as a shell would need it typed: ``ip netns exec blue iptables ...``."""
    return shlex.join([*prefix, *argv])


def log_command(
    argv: Sequence[str],
    prefix: Sequence[str],
    returncode: Optional[int],
    seconds: float,
    payload: Optional[bytes],
    outcome: str = "",
) -> None:
    """One DEBUG line per command run; the payload on ``iptwrap.payload``."""
    if not log.isEnabledFor(_DEBUG):
        return
    where = command_text(argv, prefix)
    status = outcome or f"exit {returncode}"
    if payload is None:
        log.debug("%s: %s in %.1f ms", where, status, seconds * 1e3)
    else:
        log.debug(
            "%s: %s in %.1f ms (payload %d bytes, %d lines)",
            where,
            status,
            seconds * 1e3,
            len(payload),
            payload.count(b"\n"),
        )
        if payload_log.isEnabledFor(_DEBUG):
            payload_log.debug("%s payload:\n%s", where, payload.decode("utf-8", "replace"))


def log_call(
    runner: object,
    argv: Sequence[str],
    returncode: Optional[int],
    start: float,
    payload: Optional[bytes],
    outcome: str = "",
) -> None:
    """:func:`log_command` for a call that started at ``start`` (``time.perf_counter``),
    with the runner's namespace prefix; one ``isEnabledFor`` when DEBUG is off."""
    if log.isEnabledFor(_DEBUG):
        prefix = getattr(runner, "prefix", ())
        log_command(argv, prefix, returncode, time.perf_counter() - start, payload, outcome)


def log_retry(argv: Sequence[str], attempt: int, attempts: int, holder: str) -> None:
    """A WARNING: the command met a held xtables lock and will be tried again."""
    log.warning(
        "%s: the xtables lock is held (attempt %d of %d), retrying: %s",
        command_text(argv),
        attempt,
        attempts,
        holder,
    )
