"""Shared test set-up: hypothesis runs derandomised unless told otherwise.

CI must not turn red on a draw no earlier run saw, so the default profile, ``ci``,
derandomises every property test (the same examples on every machine) and keeps no
example database. What a random run finds is pinned as an ``@example`` in its test.
The long random run is its own command (``./ci/fuzz``), which selects the ``random``
profile through ``IPTWRAP_HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
settings.register_profile("random", settings.get_profile("ci"), derandomize=False)
settings.load_profile(os.environ.get("IPTWRAP_HYPOTHESIS_PROFILE", "ci"))
