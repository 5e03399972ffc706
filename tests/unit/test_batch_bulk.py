"""The batch's bulk paths: runs of calls, ``append_rules``, and identity without parsing.

A batch stores consecutive calls of one verb on one chain as a run, quotes all of a
batch's text in one pass when nothing needs quoting, and answers ``ensure_rule`` for a
rule whose text is already a saved rule's text without canonicalising it. Each of
these must give exactly what the one-call-at-a-time path gives.
"""

from __future__ import annotations

from typing import List

import pytest

import iptwrap
from iptwrap import Jump, RulePosition
from iptwrap.fake import FakeIPTables

A = RulePosition.APPEND


@pytest.fixture(params=["nft", "legacy"])
def ipt(request: pytest.FixtureRequest) -> FakeIPTables:
    return FakeIPTables(mode=request.param)


def _rules(n: int, port0: int = 1) -> List[List[str]]:
    return [
        ["-s", f"192.0.2.{i % 250}", "-p", "tcp", "--dport", str(port0 + i), "-j", "ACCEPT"]
        for i in range(n)
    ]


def test_append_rules_is_the_loop_of_append_rule(ipt: FakeIPTables) -> None:
    other = FakeIPTables(mode=ipt.mode.value)
    for fake in (ipt, other):
        fake.ensure_chain("filter", "AG")
    rules = _rules(5) + [["-m", "comment", "--comment", 'a "quoted" word', "-j", "RETURN"]]
    with ipt.batch() as loop:
        for r in rules:
            loop.append_rule("filter", "AG", *r)
        loop.append_rule("filter", "INPUT", "-j", "AG")
        loop.append_rule("filter", "AG", "-j", "DROP")
    with other.batch() as bulk:
        bulk.append_rules("filter", "AG", rules)
        bulk.append_rules("filter", "INPUT", [("-j", "AG")])
        bulk.append_rules("filter", "AG", iter([["-j", "DROP"]]))  # any iterable
    assert bulk.result.payload == loop.result.payload
    assert bulk.result.added == loop.result.added
    assert [op.index for op in bulk.operations] == list(range(len(rules) + 2))
    assert bulk.operations == loop.operations
    assert other.dump() == ipt.dump()
    assert ipt.rules("filter", "AG")[-1] == "-A AG -j DROP"
    assert '--comment "a \\"quoted\\" word"' in ipt.rules("filter", "AG")[-2]


def test_append_rules_refuses_a_bad_rule_and_records_none_of_them(ipt: FakeIPTables) -> None:
    b = ipt.batch()
    with pytest.raises(iptwrap.InvalidArgumentError, match="contains"):
        b.append_rules(
            "filter",
            "INPUT",
            [["-j", "ACCEPT"], ["-m", "comment", "--comment", "x\n-A INPUT -j DROP"]],
        )
    with pytest.raises(iptwrap.InvalidArgumentError, match="not one str"):
        b.append_rules("filter", "INPUT", ["-j", "ACCEPT"])  # a rule, not a list of rules
    with pytest.raises(iptwrap.InvalidArgumentError, match="must be str"):
        b.append_rules("filter", "INPUT", [["-j", 7]])  # type: ignore[list-item]
    with pytest.raises(iptwrap.InvalidArgumentError):
        b.append_rule("filter", "OTHER", "-j", "ACCEPT\r")  # a refused call opens no run
    assert b.operations == [] and not b.commit().changed
    assert ipt.rules("filter", "INPUT") == []


def test_a_failing_rule_deep_in_a_run_is_named_by_its_own_index(ipt: FakeIPTables) -> None:
    ipt.ensure_chain("filter", "AG")
    before = ipt.dump()
    rules = _rules(6)
    rules[4] = ["-p", "tcp", "--dport", "nosuchport", "-j", "ACCEPT"]
    with pytest.raises(iptwrap.BatchError) as err, ipt.batch() as b:
        b.ensure_rule(A, "filter", "INPUT", "-j", "AG")
        b.append_rule("filter", "AG", "-j", "RETURN")
        b.append_rules("filter", "AG", rules)  # indices 2..7
    op = err.value.operation
    assert op is not None and (op.index, op.verb, op.chain) == (6, "append_rule", "AG")
    assert "nosuchport" in op.args
    assert ipt.dump() == before


def test_empty_tokens_and_odd_whitespace_are_quoted_not_lost(ipt: FakeIPTables) -> None:
    with ipt.batch() as b:
        b.append_rules(
            "filter",
            "INPUT",
            [
                ["-m", "comment", "--comment", "", "-j", "ACCEPT"],
                ["-m", "comment", "--comment", "tab\there", "-j", "ACCEPT"],
                ["-m", "comment", "--comment", "nbsp\u00a0here", "-j", "ACCEPT"],
            ],
        )
    payload = b.result.payload.decode()
    assert '--comment "" -j ACCEPT' in payload
    assert '--comment "tab\there"' in payload and '--comment "nbsp\u00a0here"' in payload
    assert len(ipt.rules("filter", "INPUT")) == 3


def test_ensure_run_mixes_present_missing_and_repeated_rules(ipt: FakeIPTables) -> None:
    ipt.ensure_chain("filter", "AG")
    ipt.append_rule("filter", "AG", "-s", "192.0.2.1/32", "-j", "ACCEPT")
    ipt.append_rule("filter", "AG", "-s", "192.0.2.2/32", "-j", "ACCEPT")
    with ipt.batch() as b:
        b.ensure_rule(A, "filter", "AG", "-s", "192.0.2.1/32", "-j", "ACCEPT")  # as saved
        b.ensure_rule(A, "filter", "AG", "-s", "192.0.2.3", "-j", "ACCEPT")  # missing
        b.ensure_rule(A, "filter", "AG", "-s", "192.0.2.3/32", "-j", "ACCEPT")  # added above
        b.ensure_rule(A, "filter", "AG", "--source", "192.0.2.2", "--jump", "ACCEPT")  # present
    assert [p[2] for p in b.result.present] == [
        "-s 192.0.2.1/32 -j ACCEPT",
        "-s 192.0.2.3/32 -j ACCEPT",
        "-s 192.0.2.2/32 -j ACCEPT",
    ]
    assert b.result.added == [("filter", "AG", "-s 192.0.2.3/32 -j ACCEPT")]
    assert b.result.payload.count(b"\n-A AG ") == 1
    assert ipt.rules("filter", "AG")[-1] == "-A AG -s 192.0.2.3/32 -j ACCEPT"


def test_rules_written_as_saved_need_no_parser(ipt: FakeIPTables, mocker) -> None:
    """Same tokens as a saved rule's text means the same rule: batch and sync skip parsing."""
    ipt.ensure_chain("filter", "AG-X")
    saved = [["-s", "192.0.2.1/32", "-m", "comment", "--comment", "two words", "-j", "ACCEPT"]]
    ipt.append_rule("filter", "AG-X", *saved[0])
    ipt.append_rule("filter", "INPUT", "-j", "AG-X")
    assert ipt.rules("filter", "AG-X") == [
        '-A AG-X -s 192.0.2.1/32 -m comment --comment "two words" -j ACCEPT'
    ]
    refuse = mocker.patch(
        "iptwrap._canonical.canonical_rule_text", side_effect=AssertionError("parsed")
    )
    with ipt.batch() as b:
        b.ensure_rule(A, "filter", "AG-X", *saved[0])
    assert not b.result.changed
    res = ipt.sync("AG-", {"filter": {"AG-X": saved}}, [Jump("filter", "INPUT", ("-j", "AG-X"))])
    assert not res.changed and res.unchanged == [("filter", "AG-X")]
    refuse.assert_not_called()


def test_sync_takes_rules_from_any_iterable_but_not_a_str(ipt: FakeIPTables) -> None:
    res = ipt.sync("AG-", {"filter": {"AG-A": (r for r in _rules(3)), "AG-B": []}})
    assert sorted(res.created) == [("filter", "AG-A"), ("filter", "AG-B")]
    assert len(ipt.rules("filter", "AG-A")) == 3
    assert not ipt.sync("AG-", {"filter": {"AG-A": _rules(3), "AG-B": []}}).changed
    with pytest.raises(iptwrap.InvalidArgumentError, match="not a str"):
        ipt.sync("AG-", {"filter": {"AG-A": "-j ACCEPT"}})  # type: ignore[dict-item]


def test_calls_keep_their_order_across_verbs_chains_and_bulk_calls(ipt: FakeIPTables) -> None:
    ipt.ensure_chain("filter", "AG")
    table: iptwrap.TableName = "filter"  # the same objects call after call: the hot path
    chain = "AG"
    with ipt.batch() as b:
        b.append_rule(table, chain, "-s", "192.0.2.1", "-j", "ACCEPT")
        b.append_rules(table, "INPUT", [["-s", "192.0.2.2", "-j", "ACCEPT"]])
        b.append_rule(table, chain, "-s", "192.0.2.3", "-j", "ACCEPT")
        b.insert_rule(table, chain, 1, "-s", "192.0.2.4", "-j", "ACCEPT")
        b.append_rule(table, chain, "-s", "192.0.2.5", "-j", "ACCEPT")
        b.ensure_rule(A, table, chain, "-s", "192.0.2.1/32", "-j", "ACCEPT")  # present by then
    assert [(op.index, op.verb, op.chain) for op in b.operations] == [
        (0, "append_rule", "AG"),
        (1, "append_rule", "INPUT"),
        (2, "append_rule", "AG"),
        (3, "insert_rule", "AG"),
        (4, "append_rule", "AG"),
        (5, "ensure_rule", "AG"),
    ]
    assert [r.split()[3] for r in ipt.rules("filter", "AG")] == [
        "192.0.2.4/32",
        "192.0.2.1/32",
        "192.0.2.3/32",
        "192.0.2.5/32",
    ]
    assert ipt.rules("filter", "INPUT") == ["-A INPUT -s 192.0.2.2/32 -j ACCEPT"]
    with pytest.raises(RuntimeError):
        b.append_rule(table, chain, "-j", "DROP")  # applied: the hot path does not bypass that


def test_syncer_sees_in_place_edits_and_tokens_that_join_alike(ipt: FakeIPTables) -> None:
    """The Syncer remembers text snapshots, not the caller's lists; and texts are quoted,
    so a comment holding ``x -j DROP`` is not the rule ``--comment x -j DROP``."""
    syncer = iptwrap.Syncer(ipt, "AG-")
    rules = [["-m", "comment", "--comment", "x -j DROP"]]
    syncer.sync({"filter": {"AG-X": rules}})
    assert ipt.rules("filter", "AG-X") == ['-A AG-X -m comment --comment "x -j DROP"']
    rules[0][3:] = ["x", "-j", "DROP"]  # edited in place: " ".join is unchanged
    res = syncer.sync({"filter": {"AG-X": rules}})
    assert res.rewritten == [("filter", "AG-X")]
    assert ipt.rules("filter", "AG-X") == ["-A AG-X -m comment --comment x -j DROP"]
    assert not syncer.sync({"filter": {"AG-X": rules}}, full=True).changed


def test_appends_after_ensure_chain_go_out_as_one_join_and_stay_visible() -> None:
    """The fast path for appends after a snapshot verb still records what a later
    ensure_rule or delete_rule of the same chain reads."""
    ipt = FakeIPTables(mode="nft")
    rules = [["-s", f"192.0.2.{i}", "-j", "ACCEPT"] for i in range(1, 6)]
    with ipt.batch() as b:
        b.ensure_chain("filter", "A")
        b.ensure_chain("filter", "B")
        for r in rules:
            b.append_rule("filter", "A", *r)
            b.append_rule("filter", "B", *r)
        b.ensure_rule(RulePosition.APPEND, "filter", "A", "-s", "192.0.2.3", "-j", "ACCEPT")
        b.delete_rule("filter", "A", "-s", "192.0.2.4/32", "-j", "ACCEPT")
    assert b.result.present == [("filter", "A", "-s 192.0.2.3/32 -j ACCEPT")]
    assert ipt.rules("filter", "A") == [f"-A A -s 192.0.2.{i}/32 -j ACCEPT" for i in (1, 2, 3, 5)]
    assert len(ipt.rules("filter", "B")) == 5
    # the payload: both chains declared, then the appends, the delete; nothing ensured
    lines = b.result.payload.decode().splitlines()
    assert lines[:3] == ["*filter", ":A - [0:0]", ":B - [0:0]"]
    assert lines[-2:] == ["-D A -s 192.0.2.4/32 -j ACCEPT", "COMMIT"]
