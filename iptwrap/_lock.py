"""Holding the xtables lock ourselves, for iptables-restore older than 1.6.2.

Those versions of ``iptables-restore`` cannot wait on the lock (no ``-w``), so a
restore racing another iptables user could fail or interleave. Kubernetes solves it
by taking the same ``flock`` the binaries take, for the duration of the restore; we
do the same, with a deadline and without leaking the descriptor on any path.

Two in-process locks back this: an ``fcntl.flock`` is per open file description, so
two threads of this process would each get their own and both "hold" it. A process
wide mutex per lock path closes that gap.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import time
from typing import Dict, Iterator, Optional

__all__ = [
    "DEFAULT_LOCK_PATH",
    "lock_path",
    "hold_xtables_lock",
    "LockNotAcquired",
    "LockFileUnavailable",
]

DEFAULT_LOCK_PATH = "/run/xtables.lock"
_POLL_INTERVAL = 0.02

_mutexes: Dict[str, threading.Lock] = {}
_mutexes_guard = threading.Lock()


class LockNotAcquired(Exception):
    """The deadline passed while someone else held the lock."""

    def __init__(self, path: str, waited: float) -> None:
        super().__init__(f"could not take {path} within {waited:.2f}s")
        self.path = path
        self.waited = waited


class LockFileUnavailable(Exception):
    """The lock file could not be opened (no such directory, read-only, not permitted)."""

    def __init__(self, path: str, error: OSError) -> None:
        super().__init__(f"cannot open the lock file {path}: {error.strerror or error}")
        self.path = path
        self.error = error


def lock_path(env: Optional[Dict[str, str]] = None) -> str:
    """The lock file iptables uses: ``$XTABLES_LOCKFILE`` or ``/run/xtables.lock``."""
    source = os.environ if env is None else env
    return source.get("XTABLES_LOCKFILE") or DEFAULT_LOCK_PATH


def _mutex_for(path: str) -> threading.Lock:
    with _mutexes_guard:
        mutex = _mutexes.get(path)
        if mutex is None:
            mutex = _mutexes[path] = threading.Lock()
        return mutex


@contextlib.contextmanager
def hold_xtables_lock(path: str, timeout: float) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` for the body, waiting at most ``timeout`` s."""
    deadline = time.monotonic() + max(timeout, 0.0)
    mutex = _mutex_for(path)
    if not mutex.acquire(timeout=max(timeout, 0.0)):
        raise LockNotAcquired(path, timeout)
    try:
        try:
            fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise LockFileUnavailable(path, exc) from None
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LockNotAcquired(path, timeout)
                time.sleep(min(_POLL_INTERVAL, remaining))
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock
    finally:
        mutex.release()
