"""The target modules (``-j NAME``), by concern.

Importing the package registers every target with :mod:`iptwrap._rulespec.ext`.
"""

from __future__ import annotations

from . import (  # noqa: F401  (register)
    absent,
    headers,
    logs,
    marks,
    nat,
    security,
    sets,
    timers,
    verdicts,
)

__all__: list[str] = []
