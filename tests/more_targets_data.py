"""tests/data/spec_real/more_targets.jsonl, and how one of its cases is run.

Each case was recorded against the real iptables 1.8.9 binaries, one fresh network
namespace per case, backend and family (``MYCHAIN`` created first when the case
appends to it): the exit code and stderr of ``-A``, then ``iptables-save -t TABLE``'s
``-A`` lines and ``-L CHAIN -n -v -x``'s rule lines. The unit test replays it through
the fake, the integration test through the real binaries, with the same steps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

DATA = Path(__file__).resolve().parent / "data" / "spec_real" / "more_targets.jsonl"

Case = Dict[str, Any]
# runs an argv (program first) and returns (exit code, stdout, stderr)
Run = Callable[[Sequence[str]], Tuple[int, str, str]]


def load() -> List[Case]:
    return [json.loads(x) for x in DATA.read_text().splitlines() if x.strip()]


def ids(cases: List[Case]) -> List[str]:
    return [
        f"{i}-{','.join(c['backends'])}-v{c['family']}-{c['table']}/{c['chain']}-"
        + " ".join(c["args"])[:60]
        for i, c in enumerate(cases)
    ]


def prog(family: int, backend: str) -> str:
    return f"{'ip6' if family == 6 else 'ip'}tables-{backend}"


def replay(case: Case, backend: str, run: Run) -> Dict[str, Any]:
    """The case's observations on a fresh host, in the data file's fields."""
    p = prog(case["family"], backend)
    table, chain = case["table"], case["chain"]
    if chain == "MYCHAIN":
        run([p, "-w", "5", "-t", table, "-N", "MYCHAIN"])
    rc, _out, err = run([p, "-w", "5", "-t", table, "-A", chain, *case["args"]])
    if rc != 0:
        return {"rc": rc, "stderr": err}
    _rc, save, _err = run([f"{p}-save", "-t", table])
    _rc, listing, _err = run([p, "-w", "5", "-t", table, "-L", chain, "-n", "-v", "-x"])
    return {
        "save_lines": [x for x in save.splitlines() if x.startswith("-A ")],
        "list_L_lines": listing.splitlines()[2:],
        "warnings": err,
    }


def expected(case: Case) -> Dict[str, Any]:
    keys = ("rc", "stderr") if "rc" in case else ("save_lines", "list_L_lines", "warnings")
    return {k: case[k] for k in keys}


def _subprocess_run(argv: Sequence[str]) -> Tuple[int, str, str]:
    import subprocess

    res = subprocess.run(list(argv), capture_output=True, check=False)
    return res.returncode, res.stdout.decode(), res.stderr.decode()


def main() -> None:
    """Inside a network namespace: replay the ``[case, backend]`` pairs read from stdin
    (JSON) through the real binaries, one after the other on a host left clean after
    each, and print the observations (JSON)."""
    import sys

    out = []
    for case, backend in json.load(sys.stdin):
        seen = replay(case, backend, _subprocess_run)
        if "rc" not in seen or case["chain"] == "MYCHAIN":
            p = prog(case["family"], backend)
            _subprocess_run([p, "-w", "5", "-t", case["table"], "-F"])
            _subprocess_run([p, "-w", "5", "-t", case["table"], "-X"])
        out.append(seen)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
