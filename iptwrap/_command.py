"""One command through a :class:`~iptwrap.Runner`: logged, with a missing binary and an
expired timeout raised as typed errors.

Shared by :class:`~iptwrap.IPTables` and :class:`~iptwrap.IPSet`, so both log the same
line for a command and fail the same way when the child never ran or was killed. What a
non-zero exit means is the caller's business: each binary has its own messages.
"""

from __future__ import annotations

import time
from typing import List, Optional

from ._errors import BinaryNotFoundError, CommandTimeoutError
from ._log import log_call
from ._retry import Completed
from ._runner import Runner, RunnerTimeout

__all__ = ["run_command"]


def run_command(
    runner: Runner, argv: List[str], payload: Optional[bytes], timeout: Optional[float]
) -> Completed:
    """Run ``argv`` (with ``payload`` on stdin) and return what it said, whatever its exit."""
    start = time.perf_counter()
    try:
        result = runner.run(argv, input=payload, timeout=timeout)
    except FileNotFoundError as exc:
        log_call(runner, argv, None, start, payload, "not found")
        raise BinaryNotFoundError(
            argv, None, message=f"{exc.filename or argv[0]}: not found"
        ) from None
    except RunnerTimeout as exc:
        log_call(runner, argv, None, start, payload, f"killed after {exc.timeout:g}s")
        raise CommandTimeoutError(
            argv, None, exc.stdout, exc.stderr, message=f"killed after {exc.timeout:g}s"
        ) from None
    log_call(runner, argv, result.returncode, start, payload)
    return Completed(result.returncode, bytes(result.stdout), bytes(result.stderr))
