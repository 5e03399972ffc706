"""The shape of the package: who may import whom, and how big a module may grow.

- The rule engine (``iptwrap._rulespec``) imports nothing from the client or the fake:
  the client, the fake and the tracer all stand on it.
- No production module loads ``iptwrap.fake``, at import time or at run time.
- The import graph, function-level imports included, has no cycle (``if
  TYPE_CHECKING:`` imports are not run, and do not count).
- No module is over 800 lines.
- ``iptables-save`` text is read by one module and restore payloads written by one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

PKG = Path(__file__).resolve().parents[2] / "iptwrap"
MAX_LINES = 800


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Set[str]:
    """Every iptwrap module this file imports, at any depth of the code."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: Set[str] = set()
    tree = ast.parse(path.read_text())
    typing_only = {  # "if TYPE_CHECKING:" imports are for the type checker, not run
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for stmt in block.body
        for n in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("iptwrap"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("iptwrap"):
                continue
            for alias in node.names:  # "from . import parser" names a module
                sub = f"{mod}.{alias.name}"
                found.add(sub if _exists(sub) else mod)
    found.discard(name)
    return found


def _exists(module: str) -> bool:
    rel = Path(*module.split("."))
    return (PKG.parent / rel).with_suffix(".py").exists() or (PKG.parent / rel).is_dir()


def _graph() -> Dict[str, Set[str]]:
    graph = {_module_name(p): _imports(p) for p in PKG.rglob("*.py")}
    # importing a.b.c runs a/__init__ and a/b/__init__ first
    for deps in graph.values():
        for dep in list(deps):
            parts = dep.split(".")
            deps.update(".".join(parts[:i]) for i in range(2, len(parts)))
    return {k: {d for d in v if d in graph and d != k} for k, v in graph.items()}


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    found: List[List[str]] = []
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                found.append(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle() -> None:
    # a package's __init__ importing its own modules is not a cycle of ours
    graph = _graph()
    for name, deps in graph.items():
        if PKG.joinpath(*name.split(".")[1:], "__init__.py").exists():
            continue
        deps.difference_update(d for d in list(deps) if name.startswith(d + "."))
    assert _cycles(graph) == []


def test_the_rule_engine_imports_neither_the_client_nor_the_fake() -> None:
    graph = _graph()
    engine = {m for m in graph if m.startswith("iptwrap._rulespec")}
    outside = {m: sorted(d for d in graph[m] if d not in engine and d != "iptwrap") for m in engine}
    assert {m: d for m, d in outside.items() if d} == {}


def test_production_never_loads_the_fake() -> None:
    """Batch, sync, identity and the argument filter, run on a stub: no iptwrap.fake."""
    code = """
import sys
from iptwrap import IPTables, RulePosition, Result
class Stub:
    def run(self, argv, *, input=None, timeout=None):
        if "--version" in argv:
            return Result(argv, 0, b"iptables v1.8.9 (nf_tables)\\n", b"")
        if argv[0].endswith("-save"):
            return Result(argv, 0, b"*filter\\n:INPUT ACCEPT [0:0]\\n:X - [0:0]\\nCOMMIT\\n", b"")
        return Result(argv, 0, b"", b"")
ipt = IPTables(runner=Stub())
with ipt.batch() as b:
    b.ensure_rule(RulePosition.APPEND, "filter", "X", "-p", "gre", "-m", "comment",
                  "--comment", "-t", "-j", "ACCEPT")
ipt.sync("X", {"filter": {"X": [["-p", "tcp", "--dport", "22", "-j", "ACCEPT"]]}})
ipt.ensure_rule(RulePosition.APPEND, "filter", "X", "-p", "udp", "-j", "DROP")
loaded = sorted(m for m in sys.modules if m.startswith("iptwrap.fake"))
print(loaded)
assert "iptwrap._rulespec.parser" in sys.modules  # the engine did the work
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG.parent))
)
def test_no_module_is_over_800_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize(
    "path",
    sorted((PKG.parent / "tests").rglob("test_*.py")),
    ids=lambda p: str(p.relative_to(PKG.parent)),
)
def test_no_test_file_is_over_100_kb(path: Path) -> None:
    """Recorded data lives in tests/data, with named fields, not inside test code."""
    assert path.stat().st_size <= 100_000


def test_every_public_exception_lives_in_one_module() -> None:
    import iptwrap

    exported = [getattr(iptwrap, name) for name in iptwrap.__all__]
    errors = [e for e in exported if isinstance(e, type) and issubclass(e, BaseException)]
    assert len(errors) > 15
    assert {e.__name__: e.__module__ for e in errors if e.__module__ != "iptwrap._errors"} == {}
    assert not hasattr(iptwrap, "CLASSIFICATION")  # the table is private


def _production_modules() -> List[Path]:
    """The library proper: not the fake, not the pytest plugin (loaded by pytest only)."""
    return [
        p
        for p in PKG.rglob("*.py")
        if "fake" not in p.relative_to(PKG).parts and p.name != "pytest_plugin.py"
    ]


def test_only_the_pytest_plugin_needs_pytest_and_nothing_imports_it() -> None:
    graph = _graph()
    assert {m for m, deps in graph.items() if "iptwrap.pytest_plugin" in deps} == set()
    users = {p.name for p in PKG.rglob("*.py") if "import pytest" in p.read_text()}
    assert users == {"pytest_plugin.py"}


def _strings(path: Path) -> List[str]:
    tree = ast.parse(path.read_text())
    found = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    # the literal parts of f-strings too: f"*{table}\nCOMMIT" is a payload being written
    return [s for s in found if isinstance(s, str)]


def test_the_save_format_is_read_and_written_in_one_place_each() -> None:
    """A module that spells ``COMMIT`` frames or reads table blocks: only the writer
    (batch, sync, Syncer, teardown and identity's scratch chains use it) and the save
    reader (the client's listings use it) may."""
    spelling = {
        p.name
        for p in _production_modules()
        if any(s == "COMMIT" or s.endswith("\nCOMMIT\n") for s in _strings(p))
    }
    assert spelling == {"_writer.py", "_dump.py"}
