"""How a client is set up: its binaries, its timeouts, its retries, its ensure lock.

The values a newcomer gets by constructing ``IPTables()`` are the safe ones: the
xtables lock waited on for 5 s, every command bounded by 30 s, lock contention
retried with jittered backoff, and check-then-act serialised across processes by a
lock file (:data:`DEFAULT_ENSURE_LOCK_FILE`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import IO, Callable, Dict, List, Optional, Tuple, Union

from ._payload import InvalidArgumentError
from ._types import Mode, Protocol

__all__ = [
    "Binaries",
    "RetryPolicy",
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_ENSURE_LOCK_FILE",
    "ENSURE_LOCK_FILE_ENV",
]

DEFAULT_LOCK_TIMEOUT = 5.0
DEFAULT_CALL_TIMEOUT = 30.0
# -W takes microseconds; the interval Kubernetes uses.
WAIT_INTERVAL_USEC = "100000"


@dataclass(frozen=True)
class Binaries:
    """Paths (or names looked up on ``PATH``) of the three programs a client runs."""

    iptables: str
    save: str
    restore: str

    @classmethod
    def for_mode(cls, protocol: Protocol, mode: Union[Mode, str, None]) -> Binaries:
        base = "ip6tables" if protocol is Protocol.IPV6 else "iptables"
        suffix = "" if mode in (None, "auto") else f"-{Mode(mode).value}"
        return cls(f"{base}{suffix}", f"{base}{suffix}-save", f"{base}{suffix}-restore")


@dataclass(frozen=True)
class RetryPolicy:
    """How lock contention is retried: jittered exponential backoff, bounded.

    Only lock contention is retried (exit 4 *and* a lock message); every other
    failure is raised at once. The whole call, waits included, never outlasts the
    client's ``lock_timeout`` by more than one backoff step.
    """

    attempts: int = 5
    initial_backoff: float = 0.05
    max_backoff: float = 1.0

    @classmethod
    def never(cls) -> RetryPolicy:
        return cls(attempts=1)


BufferLike = Union[bytearray, IO[bytes]]
# Builds the argv of one attempt from the seconds left before the lock deadline.
ArgvBuilder = Callable[[float], List[str]]

#: The file default clients of the real binaries flock around every check-then-act, so
#: that iptwrap processes on one host never both add a rule. Not the xtables lock: the
#: binaries take that one for each command, and would wait on us.
DEFAULT_ENSURE_LOCK_FILE = "/run/iptwrap.lock"
#: Overrides :data:`DEFAULT_ENSURE_LOCK_FILE` for default-constructed clients.
ENSURE_LOCK_FILE_ENV = "IPTWRAP_LOCK_FILE"

# Process-wide re-entrant mutexes that serialise check-then-act per target (network
# namespace or runner, family): a batch or sync and a single ensure_rule exclude each
# other too. And the lock files this thread holds already (a nested guard reuses them).
_ensure_locks: Dict[Tuple[object, ...], threading.RLock] = {}
_ensure_locks_guard = threading.Lock()
held_files = threading.local()


def ensure_lock(key: Tuple[object, ...]) -> threading.RLock:
    with _ensure_locks_guard:
        lock = _ensure_locks.get(key)
        if lock is None:
            lock = _ensure_locks[key] = threading.RLock()
        return lock


def ensure_lock_file_for(setting: Union[str, bool, None], own_runner: bool) -> Optional[str]:
    """The cross-process lock file a client uses, from its ``ensure_lock_file`` setting."""
    if setting is False:
        return None
    if isinstance(setting, str):
        if not setting:
            raise InvalidArgumentError("ensure_lock_file must be a path, True, False or None")
        return setting
    if setting is None and not own_runner:
        return None  # the fake, or a runner of the caller's: serialised in-process only
    return os.environ.get(ENSURE_LOCK_FILE_ENV) or DEFAULT_ENSURE_LOCK_FILE
