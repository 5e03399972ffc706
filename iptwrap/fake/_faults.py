"""Fault injection for :class:`~iptwrap.fake.FakeRunner`: make the next calls fail.

Each knob arms a counter that later calls consume::

    runner.faults.lock_held(calls=2)      # legacy: xtables lock busy (exit 4)
    runner.faults.timeout(calls=1)        # RunnerTimeout raised
    runner.faults.missing_binary("iptables-restore")  # FileNotFoundError
    runner.faults.fail(calls=1, returncode=1, stderr="boom\\n")
    runner.faults.clear()
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Set, Union

__all__ = ["Faults", "Failure"]


@dataclass
class Failure:
    """An armed arbitrary failure."""

    calls: int
    returncode: int
    stderr: bytes
    stdout: bytes = b""


class Faults:
    """The faults armed on one :class:`FakeRunner`."""

    def __init__(self, mode: str = "legacy") -> None:
        self._mode = mode
        self._lock_calls = 0
        self._timeout_calls = 0
        self._missing: Set[str] = set()
        self._failures: List[Failure] = []

    # ---- arming ---------------------------------------------------------------------------
    def lock_held(self, calls: int = 1) -> None:
        """The next ``calls`` invocations that take the xtables lock (legacy iptables,
        ip6tables and *-restore; never *-save) find it held.

        Refused on an nft host: iptables-nft takes no xtables lock, so a test arming
        it there would exercise nothing and pass all the same.
        """
        if self._mode == "nft":
            raise ValueError(
                "iptables-nft takes no xtables lock: lock_held() on an nft host would "
                "exercise nothing. Use FakeRunner(mode='legacy') for lock contention, or "
                "faults.fail(returncode=4, stderr=...) to script a failure."
            )
        self._lock_calls += max(0, calls)

    def timeout(self, calls: int = 1) -> None:
        """The next ``calls`` invocations raise :class:`~iptwrap._runner.RunnerTimeout`."""
        self._timeout_calls += max(0, calls)

    def missing_binary(self, name: str) -> None:
        """``name`` (a basename such as ``iptables-restore`` or a full path) is not
        installed: running it raises ``FileNotFoundError``."""
        self._missing.add(name)

    def restore_binary(self, name: str) -> None:
        """Undo :meth:`missing_binary`."""
        self._missing.discard(name)

    def fail(
        self,
        calls: int = 1,
        returncode: int = 1,
        stderr: Union[str, bytes] = b"",
        stdout: Union[str, bytes] = b"",
    ) -> None:
        """The next ``calls`` invocations return ``returncode``/``stderr`` untouched."""
        err = stderr.encode() if isinstance(stderr, str) else stderr
        out = stdout.encode() if isinstance(stdout, str) else stdout
        self._failures.append(Failure(max(0, calls), returncode, err, out))

    def clear(self) -> None:
        self.__init__(self._mode)  # type: ignore[misc]

    # ---- consuming (used by the runner) -------------------------------------------------
    def is_missing(self, argv0: str) -> bool:
        return argv0 in self._missing or os.path.basename(argv0) in self._missing

    def take_timeout(self) -> bool:
        if self._timeout_calls > 0:
            self._timeout_calls -= 1
            return True
        return False

    def take_failure(self) -> Optional[Failure]:
        while self._failures and self._failures[0].calls <= 0:
            self._failures.pop(0)
        if not self._failures:
            return None
        f = self._failures[0]
        f.calls -= 1
        if f.calls <= 0:
            self._failures.pop(0)
        return f

    def take_lock(self) -> bool:
        if self._lock_calls > 0:
            self._lock_calls -= 1
            return True
        return False

    @property
    def pending_lock(self) -> int:
        return self._lock_calls
