"""``tests/data/spec_real/more_matches.jsonl`` re-measured on the real binaries.

Every spelling of ``more_matches.CASES`` is run again with both backends in one fresh
namespace (the chain flushed after each accepted rule) and must print what the file
says, which is what ``tests/unit/test_more_matches.py`` holds the fake to. After a
deliberate change, ``python -m tests.integration.more_matches`` (as root) rewrites it.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

from .more_matches import CASES, DATA, record
from .netns import BACKENDS, namespace, require


def _recorded() -> Dict[Tuple[str, int, str, str, Tuple[str, ...]], Dict[str, Any]]:
    out: Dict[Tuple[str, int, str, str, Tuple[str, ...]], Dict[str, Any]] = {}
    for line in DATA.read_text().splitlines():
        r = json.loads(line)
        for b in r["backends"]:
            key = (b, r["family"], r["table"], r["chain"], tuple(r["args"]))
            out[key] = {
                k: v
                for k, v in r.items()
                if k not in ("backends", "family", "table", "chain", "args")
            }
    return out


def test_the_recorded_spellings_are_the_cases() -> None:
    keys = {(f, t, c, a) for _b, f, t, c, a in _recorded()}
    assert keys == {(f, t, c, tuple(a)) for f, t, c, a in CASES}


def test_the_binaries_still_print_the_recording() -> None:
    require()
    want = _recorded()
    diffs: List[str] = []
    for ns in namespace():
        for backend in BACKENDS:
            for family, table, chain, args in CASES:
                got = record(ns, backend, (family, table, chain, args))
                exp = want[(backend, family, table, chain, tuple(args))]
                if got != exp:
                    diffs.append(f"{backend} v{family} {table}/{chain} {args}: {got} != {exp}")
    assert not diffs, "\n".join(diffs)
