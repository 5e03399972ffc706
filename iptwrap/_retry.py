"""Retrying lock contention with tenacity, bounded by the client's lock deadline."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, List, Optional

import tenacity

from ._errors import (
    BinaryNotFoundError,
    CommandKilledError,
    IPTablesError,
    LockTimeoutError,
    NamespaceNotFoundError,
    PermissionDeniedError,
    RestoreError,
    classify,
    restore_cause,
    restore_failed_line,
)
from ._log import log_retry
from ._settings import RetryPolicy

__all__ = [
    "NOT_ABOUT_THE_PAYLOAD",
    "Completed",
    "sleep_first",
    "StopAtDeadline",
    "lock_holder",
    "log_retries",
    "failure",
]


# Failures of a restore that say nothing about its input: raised as themselves.
NOT_ABOUT_THE_PAYLOAD = (
    LockTimeoutError,
    NamespaceNotFoundError,
    CommandKilledError,
    BinaryNotFoundError,
    PermissionDeniedError,
)


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: bytes


def sleep_first(policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], None]:
    """Back off before the first retry too (the failed first attempt ran outside tenacity)."""

    def before(state: tenacity.RetryCallState) -> None:
        if state.attempt_number == 1:
            time.sleep(random.uniform(0, policy.initial_backoff))

    return before


class StopAtDeadline(tenacity.stop.stop_base):
    """Stop retrying once the lock deadline has passed."""

    def __init__(self, deadline: float) -> None:
        self._deadline = deadline

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return time.monotonic() >= self._deadline


def lock_holder(exc: IPTablesError) -> str:
    """What the lock's holder left in the message (iptables names the wait, or the pid)."""
    return exc.stderr_text.strip().split("\n")[-1] or str(exc)


def log_retries(attempts: int) -> Callable[[tenacity.RetryCallState], None]:
    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, IPTablesError):
            # the first attempt ran outside tenacity: its attempt 1 is our attempt 2
            log_retry(exc.argv, state.attempt_number + 1, attempts, lock_holder(exc))

    return before_sleep


def failure(argv: List[str], result: Completed, payload: Optional[bytes]) -> IPTablesError:
    """The typed error for a command that exited non-zero; a restore's names its line."""
    cls = classify(result.returncode, result.stderr)
    if payload is None or cls in NOT_ABOUT_THE_PAYLOAD:
        return cls(argv, result.returncode, result.stdout, result.stderr)
    line = restore_failed_line(result.stderr)
    text = None
    if line is not None:
        lines = payload.decode("utf-8", "replace").split("\n")
        if 1 <= line <= len(lines):
            text = lines[line - 1]
    return RestoreError(
        argv,
        result.returncode,
        result.stdout,
        result.stderr,
        line=line,
        line_text=text,
        cause=restore_cause(result.returncode, result.stderr, text),
    )
