"""Deadlines for child processes, enforced without polling.

``Popen.communicate(timeout=...)`` enforces a timeout by polling the child's exit with
sleeps that start at half a millisecond and double: an ``iptables`` call that takes
1.2 ms costs 2.1 ms that way (measured: ``benchmarks/run.py``, single calls). Here
one daemon thread sleeps until the earliest deadline of all the running children and
kills the process group of a child that outlives its own; the caller then waits with
``communicate()``, which blocks in ``waitpid`` and returns the moment the child exits.
Arming and disarming a deadline costs a lock and a heap operation.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import signal
import subprocess
import threading
import time
from typing import Dict, List, Optional, Tuple

__all__ = ["Deadline", "WATCHDOG", "kill_group"]


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's process group (it was started in a session of its own)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):  # already reaped
            proc.kill()


class Deadline:
    """One armed deadline; ``fired`` once the watchdog killed the child for it."""

    __slots__ = ("proc", "when", "fired", "done")

    def __init__(self, proc: subprocess.Popen[bytes], when: float) -> None:
        self.proc = proc
        self.when = when
        self.fired = False
        self.done = False


_TICK = 0.5  # seconds between the thread's own wake-ups while calls come
_IDLE_TICKS = 20  # ... for 10 s after the last one


class _Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: List[Tuple[float, int, Deadline]] = []
        self._seq = itertools.count()
        self._thread: Optional[threading.Thread] = None
        self._pid = os.getpid()
        # when the thread wakes next on its own; it ticks while calls keep coming, so
        # that a call with a usual timeout (seconds) never has to wake it
        self._wake_at = float("inf")

    def arm(self, proc: subprocess.Popen[bytes], timeout: float) -> Deadline:
        """Kill ``proc``'s group if it is still running ``timeout`` seconds from now."""
        d = Deadline(proc, time.monotonic() + max(timeout, 0.0))
        with self._cond:
            self._ensure_thread()
            heapq.heappush(self._heap, (d.when, next(self._seq), d))
            if d.when < self._wake_at:
                # waking the thread costs a context switch (~0.1 ms a call, measured):
                # only when it would otherwise sleep past this deadline
                self._wake_at = d.when
                self._cond.notify()
        return d

    def disarm(self, d: Deadline) -> bool:
        """Stop watching; True when the watchdog killed the child (a timeout).

        A deadline that fired on a child already gone (it exited a moment before)
        is not a timeout: the child's own exit status says so.
        """
        with self._cond:
            d.done = True
            heap = self._heap
            while heap and heap[0][2].done:  # deadlines mostly end in the order armed
                heapq.heappop(heap)
            return d.fired and d.proc.returncode == -signal.SIGKILL

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():  # a forked child: the parent's thread is not here
            self._heap.clear()
            self._thread = None
            self._pid = os.getpid()
            self._wake_at = float("inf")
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="iptwrap-watchdog", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        cond = self._cond
        idle = 0
        with cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                now = time.monotonic()
                if not self._heap:
                    idle += 1
                    if idle > _IDLE_TICKS:  # no calls for a while: sleep until one comes
                        self._wake_at = float("inf")
                        cond.wait()
                        idle = 0
                    else:
                        self._wake_at = now + _TICK
                        cond.wait(_TICK)
                    continue
                idle = 0
                when, _, d = self._heap[0]
                if when > now:
                    self._wake_at = min(when, now + _TICK)
                    cond.wait(self._wake_at - now)
                    continue
                heapq.heappop(self._heap)
                d.fired = True
                kill_group(d.proc)

    def pending(self) -> Dict[str, int]:
        """How many deadlines are armed (for tests)."""
        with self._cond:
            return {"armed": sum(1 for _, _, d in self._heap if not d.done)}


#: The process-wide watchdog of :class:`iptwrap.SubprocessRunner`.
WATCHDOG = _Watchdog()
