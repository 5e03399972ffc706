"""``tests/data/ipset.jsonl`` replayed against the real ``ipset`` (and iptables), each
case in a fresh network namespace, so the recording the fake is checked against
cannot go stale. Output is compared after the recording's masks
(``tests/ipset_data.py``), member lines as a multiset (hash order is random).
"""

from __future__ import annotations

import os
import shutil
from typing import Any, Dict, List, Optional, Tuple

import pytest

from tests.ipset_data import ids, load, mask

from .netns import Namespace, require

pytestmark = pytest.mark.integration

CASES = load()


def _skip_reason() -> Optional[str]:
    if os.geteuid() != 0:
        return "real-kernel tests need root (network namespaces, ipset)"
    if shutil.which("ipset") is None:
        return "no ipset binary (apt-get install ipset)"
    if shutil.which("ip") is None:
        return "no `ip` binary (iproute2) to create network namespaces"
    return None


def _require() -> None:
    reason = _skip_reason()
    if reason is None:
        require()
        return
    if os.environ.get("IPTWRAP_REQUIRE_REAL") == "1":
        pytest.fail(f"real-kernel test cannot run: {reason}")
    pytest.skip(reason)


def _members_sorted(text: Optional[str]) -> Optional[List[str]]:
    if text is None:
        return None
    lines = text.split("\n")
    out: List[str] = []
    run: List[str] = []
    members = False
    for line in lines:
        member = line.startswith("add ") or line.startswith("<member>") or (members and line != "")
        if line.startswith("Members:") or line.startswith("<members>"):
            members, member = True, False
        elif line == "" or line.startswith("</members>"):
            members, member = False, False
        if member:
            run.append(line)
        else:
            out += sorted(run) + [line]
            run = []
    return out + sorted(run)


def _run(ns: Namespace, argv: List[str], stdin: Optional[str]) -> Tuple[int, str, str]:
    res = ns.exec(*argv, input=(stdin or "").encode())
    return res.returncode, res.stdout.decode(), res.stderr.decode()


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_real_ipset_matches_recording(case: Dict[str, Any]) -> None:
    _require()
    ns = Namespace()
    try:
        for argv in case["pre"]:
            _run(ns, argv, None)
        rc, out, err = _run(ns, case["cmd"], case["stdin"])
        after = _run(ns, ["ipset", "save"], None)[1]
    finally:
        ns.close()
    got = [rc] + [_members_sorted(mask(t, case)) for t in (out, err, after)]
    want = [case["rc"]] + [
        _members_sorted(mask(case[k], case)) for k in ("stdout", "stderr", "after")
    ]
    assert got == want
