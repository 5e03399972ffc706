"""The target modules (``-j NAME``), by concern.

Importing the package registers every target with :mod:`iptwrap._rulespec.ext`.
"""

from __future__ import annotations

from . import absent, logs, marks, nat, sets, verdicts  # noqa: F401  (register)

__all__: list[str] = []
