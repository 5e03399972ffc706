"""The iptwrap command on the fake: save, diff, apply, demo, and its errors."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

import iptwrap
from iptwrap._cli import main
from iptwrap.fake import FakeIPTables

WANTED = """*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:AGENT - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 192.0.2.0/24 -m comment --comment "the LAN" -j AGENT
-A AGENT -p tcp --dport 22 -j ACCEPT
COMMIT
"""


def _run(ipt: FakeIPTables, *argv: str) -> Tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), client=lambda _args: ipt, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def wanted(tmp_path: Path) -> str:
    path = tmp_path / "wanted.rules"
    path.write_text(WANTED)
    return str(path)


def test_apply_makes_the_tables_so_and_diff_then_says_equal(
    fake_iptables: FakeIPTables, wanted: str
) -> None:
    code, out, _err = _run(fake_iptables, "diff", wanted)
    assert code == 1
    assert "+-A AGENT -p tcp -m tcp --dport 22 -j ACCEPT" in out.splitlines()  # canonical
    assert "+:INPUT DROP" in out.splitlines() and "-:INPUT ACCEPT" in out.splitlines()
    assert _run(fake_iptables, "apply", wanted)[0] == 0
    assert fake_iptables.rules("filter", "AGENT") == ["-A AGENT -p tcp -m tcp --dport 22 -j ACCEPT"]
    assert _run(fake_iptables, "diff", wanted) == (0, "", "")  # written differently, same rules


def test_a_dry_run_prints_the_payload_and_applies_nothing(
    fake_iptables: FakeIPTables, wanted: str
) -> None:
    before = fake_iptables.dump()
    code, out, _err = _run(fake_iptables, "apply", wanted, "--dry-run", "--check")
    assert code == 0
    assert out.startswith("*filter\n:INPUT DROP [0:0]\n") and out.endswith("COMMIT\n")
    assert '-A INPUT -s 192.0.2.0/24 -m comment --comment "the LAN" -j AGENT' in out
    assert fake_iptables.dump() == before


def test_save_prints_rules_or_the_typed_dump(fake_iptables: FakeIPTables) -> None:
    fake_iptables.ensure_chain("nat", "AGENT")
    code, out, _ = _run(fake_iptables, "save", "--table", "nat")
    assert code == 0 and ":AGENT - [0:0]" in out and "*filter" not in out
    code, out, _ = _run(fake_iptables, "save", "-t", "nat", "--json")
    dump = json.loads(out)
    assert dump["tables"]["nat"]["chains"]["AGENT"]["policy"] is None


def test_errors_are_one_line_and_exit_2(fake_iptables: FakeIPTables, tmp_path: Path) -> None:
    bad = tmp_path / "bad.rules"
    bad.write_text("*filter\n-A NOWHERE -j ACCEPT\nCOMMIT\n")
    for argv in (
        ["apply", str(bad)],  # a rule for an undeclared chain: not save text
        ["diff", str(tmp_path / "missing.rules")],
        ["save", "--table", "NAT"],
        ["apply", str(bad), "--check"],
    ):
        code, out, err = _run(fake_iptables, *argv)
        lines: List[str] = err.splitlines()
        assert code == 2 and out == "" and len(lines) == 1, (argv, err)
        assert lines[0].startswith("iptwrap: ") and "Traceback" not in err
    _code, _out, err = _run(fake_iptables, "save", "--table", "NAT")
    assert "did you mean 'nat'?" in err
    with pytest.raises(iptwrap.UnknownTableError):
        _run(fake_iptables, "save", "--table", "NAT", "--debug")  # the traceback, on demand


def test_python_dash_m_and_the_demo_subcommand() -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "iptwrap",
            "demo",
            "--mode",
            "legacy",
            "--scenario",
            "docker-bridge",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "legacy backend" in res.stdout and "*filter" in res.stdout
    res = subprocess.run(
        [sys.executable, "-m", "iptwrap", "--help"], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0 and "save" in res.stdout and "apply" in res.stdout


def test_every_command_line_in_the_docs_parses() -> None:
    from iptwrap._cli import _parser

    page = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    block = page.split("```text\n", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].split() for line in block.splitlines() if line.strip()]
    assert len(lines) >= 6
    for words in lines:
        assert words[0] == "iptwrap"
        args, rest = _parser().parse_known_args([w for w in words[1:] if "[" not in w])
        assert args.command in ("save", "diff", "apply", "demo")


@pytest.mark.parametrize(
    "argv",
    [
        ["--netns", "blue", "--mode", "legacy", "-6", "--debug", "save"],
        ["save", "--netns", "blue", "--mode", "legacy", "-6", "--debug"],
        ["--netns", "blue", "-6", "save", "--mode", "legacy", "--debug"],
        ["--netns", "blue", "--mode", "legacy", "-6", "--debug", "apply", "f.rules"],
    ],
)
def test_the_common_options_hold_before_or_after_the_subcommand(argv: List[str]) -> None:
    """A default of the subcommand's must never overwrite what came before it: that
    would run ``iptwrap --netns blue apply`` on the host."""
    from iptwrap._cli import _parser

    args, rest = _parser().parse_known_args(argv)
    assert rest == []
    assert (args.netns, args.mode, args.ipv6, args.debug) == ("blue", "legacy", True, True)


def test_the_client_is_built_with_the_options_given_before_the_subcommand() -> None:
    seen: List[argparse.Namespace] = []

    def client(args: argparse.Namespace) -> FakeIPTables:
        seen.append(args)
        return FakeIPTables()

    main(["--netns", "blue", "--mode", "legacy", "save"], client=client, stdout=io.StringIO())
    (args,) = seen
    assert (args.netns, args.mode) == ("blue", "legacy")
