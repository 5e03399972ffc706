"""docs/extensions.md's table is what the rule engine registers: it cannot go stale.

Every match and target Debian 12's iptables ships (per family, the engine's
``KNOWN_MATCHES``/``KNOWN_TARGETS``), and whether the fake emulates it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, FrozenSet, List

from iptwrap._rulespec import parser  # noqa: F401  (registers the extensions)
from iptwrap._rulespec.ext import MATCHES, TARGETS, Ext
from iptwrap._rulespec.names import KNOWN_MATCHES, KNOWN_TARGETS

PAGE = Path(__file__).resolve().parents[2] / "docs" / "extensions.md"
BEGIN, END = "<!-- table begins -->\n", "<!-- table ends -->\n"

# Why an extension is answered otherwise than by emulation.
ANSWERED_AS_THE_KERNEL = {
    "CLUSTERIP": "answered as a 6.x kernel answers: the missing-module warning, then ENOENT",
    "ULOG": "options parsed, then answered as a 6.x kernel answers: the missing-module "
    "warning, then ENOENT",
    "LED": "options parsed, then answered as a kernel without LED support answers: the "
    "missing-module warning, then ENOENT",
    "SECMARK": "options parsed, then answered as a kernel with no LSM to map the context "
    "answers: ENOENT (EINVAL outside mangle and security)",
}


def _families(name: str, known: Dict[int, FrozenSet[str]]) -> str:
    return ", ".join(f"IPv{f}" for f in (4, 6) if name in known[f])


def _status(name: str, registry: Dict[str, Ext[object]], known: Dict[int, FrozenSet[str]]) -> str:
    ext = registry.get(name)
    if name in ANSWERED_AS_THE_KERNEL:
        return ANSWERED_AS_THE_KERNEL[name]
    if ext is None:
        return "refused: not emulated (`fake: ... is not emulated`, exit 2)"
    lacking = [f for f in (4, 6) if name in known[f] and f not in ext.variant(f).families]
    if lacking:
        return f"emulated (not for IPv{lacking[0]})"
    return "emulated"


def table() -> str:
    rows: List[str] = ["| kind | name | shipped for | the fake |", "|---|---|---|---|"]
    for kind, known, registry in (
        ("match", KNOWN_MATCHES, MATCHES),
        ("target", KNOWN_TARGETS, TARGETS),
    ):
        for name in sorted(set(known[4]) | set(known[6]), key=str.lower):
            if name == "standard":
                continue  # the built-in verdicts' module, not a -j NAME
            status = _status(name, registry, known)  # type: ignore[arg-type]
            rows.append(f"| {kind} | `{name}` | {_families(name, known)} | {status} |")
    return "\n".join(rows) + "\n"


def test_the_published_table_is_the_registry() -> None:
    text = PAGE.read_text()
    published = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    assert published == table(), "regenerate with: python -m tests.unit.test_extension_table"


def test_every_registered_extension_is_shipped() -> None:
    for known, registry in ((KNOWN_MATCHES, MATCHES), (KNOWN_TARGETS, TARGETS)):
        shipped = set(known[4]) | set(known[6])
        assert set(registry) <= shipped | {"icmp6"}, set(registry) - shipped


if __name__ == "__main__":
    print(table(), end="")
