"""A rule's arguments never choose the table, the command or how it runs.

The decisions are pinned against what the real binaries did with each spelling
(``tests/data/rule_options.jsonl``, re-measured by
``tests/integration/test_rule_options_kernel.py``), every entry point is checked to
refuse before any process starts, and the scan is compared with the fake's complete
getopt emulation over generated argument lists.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import iptwrap
from iptwrap import IPTables, Jump, RulePosition
from iptwrap._ruleargs import refused_option
from iptwrap._rulespec.errors import FakeError
from iptwrap._rulespec.model import ParseContext
from iptwrap._rulespec.parser import parse_command

from .recording import RecordingRunner

DATA = Path(__file__).resolve().parents[1] / "data" / "rule_options.jsonl"
ROWS = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
SPELLINGS = sorted({tuple(r["args"]) for r in ROWS})


@pytest.mark.parametrize("args", SPELLINGS, ids=" ".join)
def test_decision_matches_what_the_binaries_do(args: tuple) -> None:
    rows = [r for r in ROWS if tuple(r["args"]) == args]
    refused = refused_option(list(args)) is not None
    assert refused == rows[0]["refused"]
    # what justifies it: a spelling let through is refused exactly when some binary
    # put the rule in another table, added nothing, or was told how to run
    wrong = any(r["exit"] == 0 and r["table"] != "filter" for r in rows)
    if wrong:
        assert refused
    if not refused:
        assert all(r["exit"] == 0 and r["table"] == "filter" for r in rows)


def _client() -> tuple[IPTables, RecordingRunner]:
    runner = RecordingRunner()
    return IPTables(runner=runner), runner


REFUSED = [list(a) for a in SPELLINGS if refused_option(list(a)) is not None]


@pytest.mark.parametrize("args", REFUSED, ids=" ".join)
def test_every_entry_point_refuses_before_anything_runs(args: List[str]) -> None:
    ipt, runner = _client()
    calls = [
        lambda: ipt.append_rule("filter", "INPUT", *args),
        lambda: ipt.insert_rule("filter", "INPUT", 1, *args),
        lambda: ipt.ensure_rule(RulePosition.APPEND, "filter", "INPUT", *args),
        lambda: ipt.delete_rule("filter", "INPUT", *args),
        lambda: ipt.rule_exists("filter", "INPUT", *args),
        lambda: ipt.batch().append_rule("filter", "INPUT", *args),
        lambda: ipt.batch().ensure_rule(RulePosition.APPEND, "filter", "INPUT", *args),
        lambda: ipt.batch().delete_rule("filter", "INPUT", *args),
        lambda: ipt.batch().append_rules("filter", "INPUT", [["-j", "ACCEPT"], args]),
        lambda: ipt.sync("AG-", {"filter": {"AG-X": [args]}}),
        lambda: ipt.sync("AG-", {"filter": {}}, [Jump("filter", "INPUT", tuple(args))]),
    ]
    for call in calls:
        with pytest.raises(iptwrap.InvalidArgumentError, match="may not choose the table"):
            call()
    assert runner.calls == []


def test_a_refused_call_leaves_the_batch_as_it_was() -> None:
    ipt, runner = _client()
    with ipt.batch() as b:
        b.append_rule("filter", "INPUT", "-j", "ACCEPT")
        with pytest.raises(iptwrap.InvalidArgumentError):
            b.append_rule("filter", "INPUT", "-t", "nat", "-j", "ACCEPT")
        with pytest.raises(iptwrap.InvalidArgumentError):
            b.append_rules("filter", "INPUT", [["-j", "DROP"], ["--table=nat", "-j", "DROP"]])
    assert [op.args for op in b.operations] == [("-j", "ACCEPT")]
    assert runner.inputs[-1] == b"*filter\n-A INPUT -j ACCEPT\nCOMMIT\n"


def test_the_message_names_the_token_and_the_option() -> None:
    ipt, _ = _client()
    with pytest.raises(iptwrap.InvalidArgumentError) as err:
        ipt.append_rule("filter", "INPUT", "-s", "192.0.2.1", "-vtnat", "-j", "ACCEPT")
    assert "'-vtnat' is iptables' --table option" in str(err.value)


# ---------------------------------------------------------------- the scan vs getopt

_OPTION_WORDS = [
    "-t",
    "--t",
    "--ta",
    "--table",
    "-A",
    "-D",
    "-I",
    "-F",
    "-4",
    "-6",
    "-w",
    "-W",
    "-M",
    "-V",
    "-h",
    "-v",
    "-n",
    "-c",
    "-s",
    "-d",
    "-p",
    "-j",
    "-g",
    "-m",
    "-i",
    "-o",
    "-f",
    "!",
    "--match",
    "--ma",
    "--jump",
    "--source",
    "--comment",
    "--comm",
    "--dport",
    "--sport",
    "--log-prefix",
    "--pol",
    "--dir",
    "--mode",
    "--to-destination",
    "--tcp-flags",
    "--",
]
_VALUES = [
    "nat",
    "filter",
    "tcp",
    "udp",
    "comment",
    "policy",
    "LOG",
    "DNAT",
    "ACCEPT",
    "X",
    "192.0.2.1",
    "22",
    "in",
    "ipsec",
    "SYN",
    "-t",
    "-A",
    "-vtnat",
    "--table=nat",
    "--match=comment",
    "-jACCEPT",
    "-w5",
    "1",
]
tokens = st.lists(st.sampled_from(_OPTION_WORDS + _VALUES), max_size=8)


def _getopt_reading(args: List[str], family: int):
    ctx = ParseContext(
        prog="ip6tables" if family == 6 else "iptables",
        family=family,
        backend="nft",
        version="1.8.9",
        chain_exists=lambda _t, _c: True,
    )
    try:
        return parse_command(["-t", "filter", "-A", "X", *args], ctx)
    except FakeError:
        return None  # the binary refuses the command: nothing runs


@settings(max_examples=int(os.environ.get("IPTWRAP_FUZZ_EXAMPLES", "1000")))
@given(args=tokens, family=st.sampled_from([4, 6]))
@example(args=["-t"], family=4)  # the CI finding: "-A 0 -t" reached iptables-restore
@example(args=["-m", "comment", "--comment", "-t", "-j", "ACCEPT"], family=4)
@example(args=["--ma", "comment", "--comm", "-A"], family=6)
def test_what_the_scan_lets_through_runs_as_an_append_to_filter(args: List[str], family: int):
    """Whenever the scan accepts, the full getopt emulation reads one -A in filter."""
    command = _getopt_reading(args, family)
    if refused_option(args) is None and command is not None:
        assert command.table == "filter" and command.op == "A", (args, command)
