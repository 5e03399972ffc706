"""Retrying lock contention with tenacity, bounded by the client's lock deadline."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable

import tenacity

from ._errors import (
    BinaryNotFoundError,
    CommandKilledError,
    LockTimeoutError,
    NamespaceNotFoundError,
    PermissionDeniedError,
)
from ._settings import RetryPolicy

__all__ = ["NOT_ABOUT_THE_PAYLOAD", "Completed", "sleep_first", "StopAtDeadline"]


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
