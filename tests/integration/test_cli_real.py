"""The iptwrap command against the real binaries, in a namespace, both backends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .netns import BACKENDS, Namespace

WANTED = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:AGENT - [0:0]
-A INPUT -s 192.0.2.0/24 -m comment --comment "the LAN" -j AGENT
-A AGENT -p tcp --dport 22 -j ACCEPT
COMMIT
"""


def _iptwrap(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iptwrap", *argv], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_apply_diff_save_in_a_namespace(ns: Namespace, backend: str, tmp_path: Path) -> None:
    path = tmp_path / "wanted.rules"
    path.write_text(WANTED)
    where = ["--netns", ns.name, "--mode", backend]
    assert _iptwrap("diff", str(path), *where).returncode == 1
    dry = _iptwrap("apply", str(path), "--dry-run", "--check", *where)
    assert dry.returncode == 0 and dry.stdout.startswith("*filter\n"), dry.stderr
    assert "AGENT" not in ns.save(backend)  # the dry run applied nothing
    applied = _iptwrap("apply", str(path), *where)
    assert applied.returncode == 0 and applied.stderr == "", applied.stderr  # piped: quiet
    same = _iptwrap("diff", str(path), *where)
    assert (same.returncode, same.stdout) == (0, ""), same.stdout
    dump = json.loads(_iptwrap("save", "--table", "filter", "--json", *where).stdout)
    assert dump["tables"]["filter"]["chains"]["FORWARD"]["policy"] == "DROP"
    assert [r["spec"] for r in dump["tables"]["filter"]["chains"]["AGENT"]["rules"]] == [
        "-p tcp -m tcp --dport 22 -j ACCEPT"
    ]
    # the options before the subcommand are the same options (never the host's rules)
    before = _iptwrap("--netns", ns.name, "--mode", backend, "save", "--table", "filter")
    assert before.returncode == 0 and ":AGENT - [0:0]" in before.stdout
    missing = _iptwrap("--netns", "/run/netns/iptw-no-such-namespace", "save")
    assert missing.returncode == 2 and missing.stderr.startswith("iptwrap: NamespaceNotFoundError")
    missing = _iptwrap("save", "--netns", "iptw-no-such-namespace", "--mode", backend)
    assert missing.returncode == 2 and missing.stderr.startswith("iptwrap: NamespaceNotFoundError")
