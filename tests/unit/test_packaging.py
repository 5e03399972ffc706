"""What the built distributions carry: the licence, one version, the tests, an honest page.

The sdist and the wheel are built here, without network (``build --no-isolation``
over the setuptools the test extras install), and opened.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Dict, List

import pytest

import iptwrap

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "-o", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


def _wheel_files(wheel: Path) -> List[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def _metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        return zf.read(name).decode()


def test_the_wheel_carries_the_licence_and_says_it_in_spdx(built: Dict[str, Path]) -> None:
    files = _wheel_files(built["wheel"])
    assert any(f.endswith(".dist-info/licenses/LICENSE") for f in files)
    meta = Parser().parsestr(_metadata(built["wheel"]))
    assert meta["License-Expression"] == "Apache-2.0"
    assert "iptwrap/py.typed" in files


def test_the_version_has_one_source(built: Dict[str, Path]) -> None:
    meta = Parser().parsestr(_metadata(built["wheel"]))
    assert meta["Version"] == iptwrap.__version__
    assert f"-{iptwrap.__version__}" in built["sdist"].name
    assert re.search(r'(?m)^version\s*=\s*"', (ROOT / "pyproject.toml").read_text()) is None


def test_the_sdist_carries_the_tests_docs_and_licence(built: Dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for path in ("LICENSE", "README.md", "tests/unit/test_packaging.py", "docs/package.md"):
        assert path in names
    assert any(n.startswith("tests/data/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_the_index_page_shows_only_what_the_package_ships(built: Dict[str, Path]) -> None:
    """The README's commands need a clone (./ci/...); the page shows pip and the script."""
    page = Parser().parsestr(_metadata(built["wheel"])).get_payload()
    assert isinstance(page, str)
    assert "./ci/" not in page
    assert "iptwrap-demo" in page
    entry_points = [f for f in _wheel_files(built["wheel"]) if f.endswith("entry_points.txt")]
    with zipfile.ZipFile(built["wheel"]) as zf:
        assert "iptwrap-demo" in zf.read(entry_points[0]).decode()


def test_build_output_is_never_tracked() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split("\n")
    if not tracked or tracked == [""]:
        pytest.skip("not a git checkout (an unpacked sdist): nothing is tracked")
    assert not [f for f in tracked if ".egg-info/" in f or f.startswith(("build/", "dist/"))]
    assert ".reliability-figures.jsonl" not in tracked


def test_container_and_vm_recipes_leave_host_state_behind() -> None:
    for ignore in (".containerignore", ".dockerignore"):
        lines = (ROOT / ignore).read_text().split("\n")
        assert ".venv/" in lines and ".vagrant/" in lines
    assert ".vagrant/" in (ROOT / ".gitignore").read_text().split("\n")
    assert "procps" in (ROOT / "ci" / "Containerfile").read_text()


def test_the_vm_recipe_runs_the_suite_once_as_the_docs_say() -> None:
    vagrantfile = (ROOT / "Vagrantfile").read_text()
    comment = "\n".join(line for line in vagrantfile.split("\n") if line.startswith("#"))
    assert "vagrant up" in comment
    assert "vagrant ssh" not in comment  # the provisioner already runs the suite
    assert "procps" in vagrantfile and '".vagrant/"' in vagrantfile
    assert "`vagrant up`" in (ROOT / "docs" / "design.md").read_text()


def test_a_users_suite_runs_with_only_iptwrap_and_pytest_installed(
    built: Dict[str, Path], tmp_path: Path
) -> None:
    """A fresh venv, ``pip install <the wheel> pytest``, and an agent's test file that
    uses the plugin's fixture: it passes, with nothing of this checkout on the path."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         str(built["wheel"]), "pytest"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    suite = tmp_path / "agent_tests"
    suite.mkdir()
    (suite / "test_agent.py").write_text(
        "import pytest\n"
        "from iptwrap import RulePosition\n\n"
        "@pytest.mark.iptwrap(mode='both')\n"
        "def test_agent(fake_iptables):\n"
        "    fake_iptables.ensure_rule(RulePosition.APPEND, 'filter', 'INPUT', '-j', 'ACCEPT')\n"
        "    assert fake_iptables.rules('filter', 'INPUT') == ['-A INPUT -j ACCEPT']\n"
    )
    run = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
        cwd=suite, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
