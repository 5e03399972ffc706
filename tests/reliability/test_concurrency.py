"""Concurrent writers: 4 processes x 4 threads, overlapping rules and chains, per backend.

Default-constructed clients (which flock ``/run/iptwrap.lock``, or ``$IPTWRAP_LOCK_FILE``,
around check-then-act) must leave no duplicate and no lost rule; with
``ensure_lock_file=False`` duplicates are possible and only counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict

import pytest

from iptwrap import IPTables

from ..integration.netns import BACKENDS, namespace, require
from .worker import final_rules

ROOT = Path(__file__).resolve().parents[2]
PROCS, THREADS = 4, 4
SECONDS = float(os.environ.get("IPTWRAP_REL_SECONDS", "3"))
FIGURES = ROOT / ".reliability-figures.jsonl"


def run_writers(ns_name: str, backend: str, lock: str) -> Dict[str, object]:
    start_at = time.time() + 1.5  # all processes start chaos together
    cmd = [
        sys.executable,
        "-m",
        "tests.reliability.worker",
        "--netns",
        ns_name,
        "--backend",
        backend,
        "--threads",
        str(THREADS),
        "--seconds",
        str(SECONDS),
        "--start-at",
        str(start_at),
    ]
    cmd += ["--lock", lock]
    # exactly a newcomer's client: the default lock file, not one moved by the environment
    env = {k: v for k, v in os.environ.items() if k != "IPTWRAP_LOCK_FILE"}
    procs = [
        subprocess.Popen(
            [*cmd, "--proc", str(p)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for p in range(PROCS)
    ]
    ops: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    untyped = []
    for p in procs:
        out, err = p.communicate(timeout=SECONDS + 120)
        assert p.returncode == 0, err.decode()
        data = json.loads(out.decode().strip().splitlines()[-1])
        ops.update(data["ops"])
        errors.update(data["errors"])
        untyped += data["untyped"]
    return {"ops": ops, "errors": errors, "untyped": untyped}


def record_figure(entry: Dict[str, object]) -> None:
    with FIGURES.open("a") as fh:
        fh.write(json.dumps(entry, default=dict) + "\n")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("guarded", [True, False], ids=["default_client", "opted_out"])
def test_concurrent_writers(backend: str, guarded: bool) -> None:
    require(backend)
    for ns in namespace():
        ipt = IPTables(mode=backend, netns=ns.name)
        ipt.ensure_chain("filter", "REL-SHARED")
        ipt.ensure_chain("filter", "REL-FINAL")
        result = run_writers(ns.name, backend, "default" if guarded else "off")
        shared = ipt.list_rules("filter", "REL-SHARED")
        final = ipt.list_rules("filter", "REL-FINAL")
        dup_shared = sum(n - 1 for n in Counter(shared).values() if n > 1)
        dup_final = sum(n - 1 for n in Counter(final).values() if n > 1)
        wanted = {
            f"-A REL-FINAL {spec[0]} {spec[1]}/32 {spec[2]} {spec[3]}"
            for p in range(PROCS)
            for t in range(THREADS)
            for spec in final_rules(p, t)
        }
        lost = wanted - set(final)
        ops = result["ops"]
        untyped = result["untyped"]
        assert isinstance(ops, Counter) and isinstance(untyped, list)
        record_figure(
            {
                "test": "concurrent_writers",
                "backend": backend,
                "client": "default" if guarded else "ensure_lock_file=False",
                "processes": PROCS,
                "threads": THREADS,
                "seconds": SECONDS,
                "calls": sum(ops.values()),
                "ops": ops,
                "typed_errors": result["errors"],
                "untyped": len(untyped),
                "duplicates": dup_shared + dup_final,
                "lost": len(lost),
            }
        )
        assert untyped == [], untyped
        assert not lost, lost
        if guarded:
            assert dup_shared == 0 and dup_final == 0, (shared, final)
