"""``tests/data/spec_real/more_targets.jsonl`` replayed against the real binaries, so
the data the fake is held to (``tests/unit/test_fake_more_targets.py``) cannot go
stale. One namespace per backend and family, the four run side by side; inside each,
one Python process replays every case (cleaning the table after each), which keeps
the whole file under a few seconds per backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

from ..more_targets_data import Case, expected, load
from .netns import BACKENDS, FAMILIES, Namespace, require

ROOT = Path(__file__).resolve().parents[2]
_INNER = (
    f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
    "from tests.more_targets_data import main; main()"
)


def test_more_targets_as_recorded() -> None:
    require()
    cases = load()
    spaces: List[Namespace] = []
    jobs: List[Tuple[List[Tuple[Case, str]], subprocess.Popen[bytes]]] = []
    try:
        for backend in BACKENDS:
            for family in FAMILIES:
                items = [
                    (c, backend)
                    for c in cases
                    if c["family"] == family and backend in c["backends"]
                ]
                ns = Namespace()
                spaces.append(ns)
                proc = subprocess.Popen(
                    ["ip", "netns", "exec", ns.name, sys.executable, "-c", _INNER],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"},
                )
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(items).encode())
                proc.stdin.close()
                jobs.append((items, proc))
        failures: List[str] = []
        for items, proc in jobs:
            assert proc.stdout is not None
            seen: List[Dict[str, Any]] = json.loads(proc.stdout.read())
            assert proc.wait() == 0
            assert len(seen) == len(items)
            for (case, backend), got in zip(items, seen):
                if got != expected(case):
                    failures.append(f"{backend} {case['args']}: {got} != {expected(case)}")
        assert not failures, "\n".join(failures[:20])
    finally:
        for ns in spaces:
            ns.close()
