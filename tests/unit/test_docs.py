"""Every Python block of README.md and docs/*.md runs, on the fake.

The blocks of one page run in order in one namespace, as a reader would paste them.
``iptwrap.IPTables`` is swapped for a factory of ``FakeIPTables`` with the same
arguments, so a block written for the real binaries runs without root. Names a
block leaves to the reader (``my_agent``, ``blocked``) are supplied here, as small as
the block needs; a block that defines ``test_*`` functions has them called.
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import iptwrap
from iptwrap import Protocol, RulePosition
from iptwrap.fake import FakeIPSet, FakeIPTables, FakeRunner

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> List[Tuple[int, str]]:
    text = page.read_text()
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in BLOCK.finditer(text)]


def _fake_iptables(protocol: Protocol = Protocol.IPV4, **kwargs: Any) -> FakeIPTables:
    """``IPTables(...)`` as the docs call it, on the fake (the kernel-only options dropped)."""
    mode = kwargs.get("mode", "auto")
    return FakeIPTables(protocol, mode="nft" if mode == "auto" else mode)


def _no_real_commands(self: object, argv: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"a docs block ran a real command on this host: {argv!r}")


def _my_agent() -> types.ModuleType:
    """The reader's agent: masquerades the LAN, on each IPv4 client it is given."""
    agent = types.ModuleType("my_agent")

    def sync(*clients: iptwrap.Interface) -> None:
        for ipt in clients:
            if not ipt.is_ipv6():
                ipt.ensure_rule(
                    RulePosition.APPEND,
                    "nat",
                    "POSTROUTING",
                    "-s",
                    "198.51.100.0/24",
                    "!",
                    "-o",
                    "br0",
                    "-j",
                    "MASQUERADE",
                )

    agent.sync = sync  # type: ignore[attr-defined]
    return agent


def test_the_pages_have_python_blocks() -> None:
    assert len(python_blocks(ROOT / "README.md")) >= 4


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_block_runs(
    page: Path, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester
) -> None:
    # a block that imports pytest is a test module of the reader's: pytest runs it,
    # with the plugin's fixtures
    suites = [(line, code) for line, code in python_blocks(page) if "import pytest" in code]
    for line, code in suites:
        pytester.makepyfile(**{f"test_docs_{page.stem}_{line}": code})
    if suites:
        outcome = pytester.runpytest_inprocess("-q")
        assert outcome.ret == 0, f"{page.name}: {outcome.stdout.str()}"
        assert outcome.parseoutcomes().get("passed", 0) > 0
    if "IPSet" in page.read_text():
        # one fake host for the page: its rules see its sets
        host = FakeRunner(mode="nft")
        monkeypatch.setattr(iptwrap, "IPTables", lambda *a, **k: FakeIPTables(runner=host))
        monkeypatch.setattr(iptwrap, "IPSet", lambda **k: FakeIPSet(runner=host))
    else:
        monkeypatch.setattr(iptwrap, "IPTables", _fake_iptables)
    # a block that reaches a real binary would change this host's firewall: refuse
    monkeypatch.setattr(iptwrap.SubprocessRunner, "run", _no_real_commands)
    namespace: Dict[str, Any] = {
        "__name__": "docs",
        "my_agent": _my_agent(),
        "blocked": ["203.0.113.7", "203.0.113.9"],
    }
    for line, code in python_blocks(page):
        if "import pytest" in code:
            continue
        before = {k for k in namespace if k.startswith("test_")}
        try:
            exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
            for name in sorted(k for k in namespace if k.startswith("test_") and k not in before):
                namespace[name]()
        except Exception as exc:  # noqa: BLE001 - name the block that failed
            raise AssertionError(f"{page.name}, block at line {line}: {exc!r}") from exc
