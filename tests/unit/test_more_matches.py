"""The matches of ``tests/data/spec_real/more_matches.jsonl`` (ecn, devgroup, cpu, realm,
ipcomp, connlabel, cluster, ah for IPv6, eui64), replayed through :class:`FakeRunner`.

Each record was printed by the real 1.8.9 binaries in a namespace
(``tests/integration/more_matches.py``; ``test_more_matches_real.py`` re-measures
it): the exit code and stderr of the ``-A``, and for an accepted rule its
``iptables-save`` line and ``-L -n -v -x`` line. The fake must print the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from iptwrap.fake import FakeRunner

DATA = Path(__file__).resolve().parents[1] / "data" / "spec_real" / "more_matches.jsonl"
CASES: List[Dict[str, Any]] = [json.loads(x) for x in DATA.read_text().splitlines() if x.strip()]


def _ids() -> List[str]:
    return [
        f"{i}-{','.join(c['backends'])}-v{c['family']}-" + " ".join(c["args"])[:60]
        for i, c in enumerate(CASES)
    ]


def replay(backend: str, case: Dict[str, Any]) -> Dict[str, Any]:
    """What the fake does with one record's ``-A``, in the record's fields."""
    family, table, chain, args = case["family"], case["table"], case["chain"], case["args"]
    prog = "ip6tables" if family == 6 else "iptables"
    host = FakeRunner(mode=backend)
    res = host.run([prog, "-t", table, "-A", chain, *args])
    if res.returncode != 0:
        return {"rc": res.returncode, "stderr": res.stderr.decode()}
    save = host.run([f"{prog}-save", "-t", table]).stdout.decode()
    listing = host.run([prog, "-t", table, "-L", chain, "-n", "-v", "-x"]).stdout.decode()
    return {
        "save_lines": [x for x in save.splitlines() if x.startswith(f"-A {chain} ")],
        "list_L_lines": listing.splitlines()[2:],
        "warnings": res.stderr.decode(),
    }


@pytest.mark.parametrize("case", CASES, ids=_ids())
def test_the_fake_prints_what_1_8_9_printed(case: Dict[str, Any]) -> None:
    want = {
        k: v for k, v in case.items() if k not in ("backends", "family", "table", "chain", "args")
    }
    for backend in case["backends"]:
        assert replay(backend, case) == want, backend
