"""What the real binaries do with options among a rule's arguments, re-measured live.

``tests/data/rule_options.jsonl`` records, per backend and family, what
``iptables -t filter -A INPUT <args>`` did on 1.8.9: its exit code and the table the
rule landed in (none when nothing was added). This test asks the binaries again in a
namespace and compares, so the recording, and the refusals it justifies
(``tests/unit/test_rule_options.py``), stay true. ``python -m
tests.integration.test_rule_options_kernel`` (as root) rewrites the recording.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from .netns import (
    BACKENDS,
    FAMILIES,
    HOST_RELEASE,
    RELEASES,
    Namespace,
    namespace,
    release_binary,
    require,
    require_release,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "rule_options.jsonl"

# (args, refused by iptwrap): every spelling the binaries let through that chooses
# the table, the command or how it runs is refused; values that only look like
# options are not.
SPELLINGS: List[tuple[List[str], bool]] = [
    (["-t", "nat", "-j", "ACCEPT"], True),
    (["--t", "nat", "-j", "ACCEPT"], True),
    (["--ta", "nat", "-j", "ACCEPT"], True),
    (["--table=nat", "-j", "ACCEPT"], True),
    (["-vtnat", "-j", "ACCEPT"], True),
    (["-p", "tcp", "--t", "nat", "-j", "ACCEPT"], True),
    (["-4", "-j", "ACCEPT"], True),
    (["-6", "-j", "ACCEPT"], True),
    (["--ipv4", "-j", "ACCEPT"], True),
    (["-w", "-j", "ACCEPT"], True),
    (["-w5", "-j", "ACCEPT"], True),
    (["--wait", "-j", "ACCEPT"], True),
    (["-W", "100", "-j", "ACCEPT"], True),
    (["--modprobe", "/bin/true", "-j", "ACCEPT"], True),
    (["-M", "/bin/true", "-j", "ACCEPT"], True),
    (["-V"], True),
    (["--vers"], True),
    (["-h"], True),
    (["-D", "INPUT", "-j", "ACCEPT"], True),
    (["-F"], True),
    (["-S"], True),
    (["-Z"], True),
    (["--flush"], True),
    (["-m", "comment", "--comment", "-t", "-j", "ACCEPT"], False),
    (["--match=comment", "--comment", "-A", "-j", "ACCEPT"], False),
    (["-m", "policy", "--dir", "in", "--pol", "ipsec", "-j", "ACCEPT"], False),
    (["-p", "tcp", "--tcp-flags", "SYN,ACK", "SYN", "-j", "ACCEPT"], False),
    (["-j", "LOG", "--log-prefix", "-t"], False),
    (["-c", "1", "2", "-j", "ACCEPT"], False),
    (["-v", "-j", "ACCEPT"], False),
]


def _prog(backend: str, family: int, release: str = HOST_RELEASE) -> str:
    return release_binary(release, backend, family)


def _input_rules(ns: Namespace, prog: str, table: str) -> int:
    out = ns.exec(prog, "-t", table, "-S", "INPUT").stdout.decode()
    return sum(1 for line in out.splitlines() if line.startswith("-A INPUT"))


def measure(
    ns: Namespace, backend: str, family: int, args: List[str], release: str = HOST_RELEASE
) -> Dict[str, object]:
    prog = _prog(backend, family, release)
    for table in ("filter", "nat"):
        ns.exec(prog, "-t", table, "-F", "INPUT")
    res = ns.exec(prog, "-t", "filter", "-A", "INPUT", *args)
    landed: Optional[str] = None
    for table in ("filter", "nat"):
        if _input_rules(ns, prog, table):
            landed = table
    return {"exit": res.returncode, "table": landed}


def recorded() -> List[Dict[str, object]]:
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("release", RELEASES)
def test_the_binaries_still_do_what_was_recorded(release: str, backend: str, family: int) -> None:
    """Recorded on 1.8.9; 1.8.7 and 1.8.11 do the same with every spelling (measured)."""
    require(backend)
    require_release(release, backend)
    rows = [r for r in recorded() if r["backend"] == backend and r["family"] == family]
    assert len(rows) == len(SPELLINGS)
    for ns in namespace():
        for row in rows:
            assert isinstance(row["args"], list)
            got = measure(ns, backend, family, row["args"], release)
            assert got == {"exit": row["exit"], "table": row["table"]}, row


def main() -> None:
    rows = []
    for ns in namespace():
        for backend in BACKENDS:
            for family in FAMILIES:
                for args, refuse in SPELLINGS:
                    got = measure(ns, backend, family, args)
                    rows.append(
                        {
                            "backend": backend,
                            "family": family,
                            "args": args,
                            **got,
                            "refused": refuse,
                        }
                    )
    DATA.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} rows -> {DATA}", file=sys.stderr)


if __name__ == "__main__":
    main()
