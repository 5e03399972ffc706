"""Batch and declarative sync on the fake: one snapshot, one restore, canonical identity."""

from __future__ import annotations

from typing import List

import pytest

import iptwrap
from iptwrap import Jump, Protocol, RulePosition, Syncer
from iptwrap.fake import FakeIPTables

A, P = RulePosition.APPEND, RulePosition.PREPEND


def restores(ipt: FakeIPTables) -> List[tuple]:
    return [c for c in ipt.calls if c[0].endswith("-restore")]


def saves(ipt: FakeIPTables) -> List[tuple]:
    return [c for c in ipt.calls if c[0].endswith("-save")]


@pytest.fixture(params=["nft", "legacy"])
def ipt(request: pytest.FixtureRequest) -> FakeIPTables:
    return FakeIPTables(mode=request.param)


def test_batch_resolves_against_one_snapshot_and_restores_once(ipt: FakeIPTables) -> None:
    ipt.append_rule(
        "filter",
        "INPUT",
        "-s",
        "192.0.2.1/32",
        "-p",
        "tcp",
        "-m",
        "tcp",
        "--dport",
        "22",
        "-j",
        "ACCEPT",
    )
    ipt.ensure_chain("filter", "OLD")
    ipt.append_rule("filter", "INPUT", "-j", "DROP")
    before = len(ipt.calls)
    with ipt.batch() as b:
        b.ensure_chain("filter", "AGENT")
        b.ensure_chain("filter", "OLD")  # exists: nothing to send
        b.ensure_rule(
            A, "filter", "INPUT", "-s", "192.0.2.1", "-p", "TCP", "--dport", "ssh", "-j", "ACCEPT"
        )
        b.ensure_rule(P, "filter", "INPUT", "-j", "AGENT")
        b.ensure_rule(A, "filter", "AGENT", "-s", "198.51.100.0/24", "-j", "RETURN")
        b.ensure_rule(A, "filter", "AGENT", "-s", "198.51.100.0/24", "-j", "RETURN")  # added above
        b.delete_rule("filter", "INPUT", "-j", "DROP")
        b.delete_rule("filter", "INPUT", "-j", "REJECT")  # absent: nothing
        b.append_rule("nat", "POSTROUTING", "-s", "198.51.100.0/24", "-j", "MASQUERADE")
    calls = ipt.calls[before:]
    assert len([c for c in calls if c[0].endswith("-save")]) == 1  # nat needs no snapshot
    assert len([c for c in calls if c[0].endswith("-restore")]) == 1
    assert len(calls) == 2
    res = b.result
    assert ("filter", "AGENT") in res.chains_created and ("filter", "OLD") not in res.chains_created
    assert [p[2] for p in res.present] == [
        "-s 192.0.2.1/32 -p tcp -m tcp --dport 22 -j ACCEPT",
        "-s 198.51.100.0/24 -j RETURN",
    ]
    assert [d[2] for d in res.deleted] == ["-j DROP"]
    assert ipt.rules("filter", "INPUT") == [
        "-A INPUT -j AGENT",
        "-A INPUT -s 192.0.2.1/32 -p tcp -m tcp --dport 22 -j ACCEPT",
    ]
    assert ipt.rules("filter", "AGENT") == ["-A AGENT -s 198.51.100.0/24 -j RETURN"]
    assert ipt.rules("nat", "POSTROUTING") == ["-A POSTROUTING -s 198.51.100.0/24 -j MASQUERADE"]


def test_batch_with_nothing_to_do_sends_no_restore(ipt: FakeIPTables) -> None:
    ipt.append_rule("filter", "INPUT", "-i", "lo", "-j", "ACCEPT")
    with ipt.batch() as b:
        b.ensure_rule(A, "filter", "INPUT", "-i", "lo", "-j", "ACCEPT")
        b.delete_rule("filter", "FORWARD", "-j", "DROP")
    assert not b.result.changed and restores(ipt) == []


def test_batch_failure_names_the_operation_and_changes_nothing(ipt: FakeIPTables) -> None:
    ipt.append_rule("filter", "INPUT", "-j", "ACCEPT")
    before = ipt.dump()
    with pytest.raises(iptwrap.BatchError) as err, ipt.batch() as b:
        b.ensure_chain("filter", "NEW")
        b.append_rule("filter", "NEW", "-j", "RETURN")
        b.append_rule("filter", "INPUT", "-p", "tcp", "--dport", "nosuchport", "-j", "ACCEPT")
        b.append_rule("filter", "INPUT", "-j", "DROP")
    assert err.value.operation is not None
    assert err.value.operation.index == 2 and err.value.operation.verb == "append_rule"
    assert "nosuchport" in err.value.operation.args
    assert "batch operation #2" in str(err.value)
    assert ipt.dump() == before


def test_exception_inside_the_block_sends_nothing(ipt: FakeIPTables) -> None:
    with pytest.raises(RuntimeError), ipt.batch() as b:
        b.append_rule("filter", "INPUT", "-j", "ACCEPT")
        raise RuntimeError("agent bug")
    assert ipt.rules("filter", "INPUT") == []
    with pytest.raises(RuntimeError):
        b.commit()


def test_batch_validates_input_early(ipt: FakeIPTables) -> None:
    b = ipt.batch()
    with pytest.raises(iptwrap.InvalidArgumentError):
        b.append_rule("filter", "INPUT", "-m", "comment", "--comment", "a\n-A INPUT -j DROP")
    with pytest.raises(iptwrap.InvalidArgumentError):
        b.ensure_chain("filter", "-F")
    with pytest.raises(iptwrap.InvalidArgumentError):
        b.insert_rule("filter", "INPUT", 0, "-j", "ACCEPT")
    with pytest.raises(iptwrap.InvalidArgumentError):
        b.set_policy("filter", "INPUT", "REJECT")


def test_batch_quotes_comments_safely(ipt: FakeIPTables) -> None:
    with ipt.batch() as b:
        b.append_rule(
            "filter", "INPUT", "-m", "comment", "--comment", 'say "hi" -j DROP', "-j", "ACCEPT"
        )
    assert ipt.rules("filter", "INPUT") == [
        '-A INPUT -m comment --comment "say \\"hi\\" -j DROP" -j ACCEPT'
    ]


def test_batch_insert_flush_delete_chain_policy(ipt: FakeIPTables) -> None:
    ipt.ensure_chain("filter", "GONE")
    ipt.append_rule("filter", "GONE", "-j", "RETURN")
    with ipt.batch() as b:
        b.append_rule("filter", "INPUT", "-j", "ACCEPT")
        b.insert_rule("filter", "INPUT", 1, "-i", "lo", "-j", "ACCEPT")
        b.flush_chain("filter", "GONE")
        b.delete_chain("filter", "GONE")
        b.set_policy("filter", "FORWARD", "DROP")
    assert ipt.rules("filter", "INPUT") == ["-A INPUT -i lo -j ACCEPT", "-A INPUT -j ACCEPT"]
    assert not ipt.chain_exists("filter", "GONE")
    policy = ipt.get_policy("filter", "FORWARD")
    assert policy is not None and policy.policy == "DROP"


def test_batch_ipv6() -> None:
    ipt = FakeIPTables(Protocol.IPV6)
    ipt.append_rule("filter", "INPUT", "-s", "2001:db8::1/128", "-j", "ACCEPT")
    with ipt.batch() as b:
        b.ensure_rule(A, "filter", "INPUT", "-s", "2001:DB8:0::1", "-j", "ACCEPT")
    assert b.result.present and not b.result.changed


KUBE = {
    "nat": {
        "AG-SERVICES": [["-d", "203.0.113.10/32", "-p", "tcp", "--dport", "80", "-j", "AG-SVC-A"]],
        "AG-SVC-A": [
            ["-m", "statistic", "--mode", "random", "--probability", "0.5", "-j", "AG-SEP-1"],
            ["-j", "AG-SEP-2"],
        ],
        "AG-SEP-1": [["-p", "tcp", "-j", "DNAT", "--to-destination", "192.0.2.1:8080"]],
        "AG-SEP-2": [["-p", "tcp", "-j", "DNAT", "--to-destination", "192.0.2.2:8080"]],
    }
}
JUMPS = [
    Jump("nat", "PREROUTING", ("-j", "AG-SERVICES")),
    Jump("nat", "OUTPUT", ("-j", "AG-SERVICES")),
]


def test_sync_creates_then_sends_nothing(ipt: FakeIPTables) -> None:
    ipt.ensure_chain("nat", "DOCKER")  # someone else's
    ipt.append_rule("nat", "DOCKER", "-j", "RETURN")
    first = ipt.sync("AG-", KUBE, JUMPS)
    assert sorted(c for _t, c in first.created) == sorted(KUBE["nat"])
    assert len(first.jumps_added) == 2
    dump = ipt.dump("nat")
    assert "-A PREROUTING -j AG-SERVICES" in dump and "-A DOCKER -j RETURN" in dump
    assert "-A AG-SERVICES -d 203.0.113.10/32 -p tcp -m tcp --dport 80 -j AG-SVC-A" in dump
    n = len(restores(ipt))
    second = ipt.sync("AG-", KUBE, JUMPS)
    assert not second.changed and len(restores(ipt)) == n
    assert sorted(c for _t, c in second.unchanged) == sorted(KUBE["nat"])


def test_sync_rewrites_only_changed_and_removes_stale(ipt: FakeIPTables) -> None:
    ipt.sync("AG-", KUBE, JUMPS)
    ipt.ensure_chain("nat", "AG-LEFTOVER")  # an owned chain we no longer want
    ipt.append_rule("nat", "PREROUTING", "-j", "AG-LEFTOVER")
    changed = {"nat": dict(KUBE["nat"])}
    changed["nat"]["AG-SEP-2"] = [["-p", "tcp", "-j", "DNAT", "--to-destination", "192.0.2.3:8080"]]
    res = ipt.sync("AG-", changed, JUMPS)
    assert res.rewritten == [("nat", "AG-SEP-2")]
    assert res.deleted == [("nat", "AG-LEFTOVER")]
    assert b"AG-SERVICES" not in res.payload.split(b"\n", 2)[1]
    assert not ipt.chain_exists("nat", "AG-LEFTOVER")
    assert "-A PREROUTING -j AG-LEFTOVER" not in ipt.dump("nat")
    assert ipt.rules("nat", "AG-SEP-2") == [
        "-A AG-SEP-2 -p tcp -j DNAT --to-destination 192.0.2.3:8080"
    ]


def test_sync_repairs_a_chain_someone_flushed(ipt: FakeIPTables) -> None:
    ipt.sync("AG-", KUBE, JUMPS)
    ipt.flush_chain("nat", "AG-SVC-A")
    res = ipt.sync("AG-", KUBE, JUMPS)
    assert res.rewritten == [("nat", "AG-SVC-A")]
    assert len(ipt.rules("nat", "AG-SVC-A")) == 2


def test_sync_refuses_chains_outside_the_prefix(ipt: FakeIPTables) -> None:
    with pytest.raises(iptwrap.InvalidArgumentError):
        ipt.sync("AG-", {"nat": {"DOCKER": []}})
    with pytest.raises(iptwrap.InvalidArgumentError):
        ipt.sync("AG-", {}, [Jump("nat", "AG-X", ("-j", "ACCEPT"))])
    with pytest.raises(iptwrap.InvalidArgumentError):
        ipt.sync("-bad", {})


def test_syncer_partial_sync_reads_nothing(ipt: FakeIPTables) -> None:
    syncer = Syncer(ipt, "AG-")
    syncer.sync(KUBE, JUMPS)
    n_saves = len(saves(ipt))
    changed = {"nat": dict(KUBE["nat"])}
    changed["nat"]["AG-SEP-1"] = [["-p", "tcp", "-j", "DNAT", "--to-destination", "192.0.2.9:8080"]]
    del changed["nat"]["AG-SEP-2"]
    changed["nat"]["AG-SVC-A"] = [["-j", "AG-SEP-1"]]
    res = syncer.sync(changed, JUMPS)
    assert len(saves(ipt)) == n_saves  # trusted its memory
    assert sorted(res.rewritten) == [("nat", "AG-SEP-1"), ("nat", "AG-SVC-A")]
    assert res.deleted == [("nat", "AG-SEP-2")]
    assert not ipt.chain_exists("nat", "AG-SEP-2")
    assert not syncer.sync(changed, JUMPS).changed
    # the kernel view and the memory agree: a full sync finds nothing to do
    assert not syncer.sync(changed, JUMPS, full=True).changed


def test_syncer_failure_forces_a_full_sync_next_time(ipt: FakeIPTables) -> None:
    syncer = Syncer(ipt, "AG-")
    syncer.sync(KUBE, JUMPS)
    bad = {"nat": dict(KUBE["nat"])}
    bad["nat"]["AG-SEP-1"] = [["-p", "tcp", "--dport", "nosuchport", "-j", "ACCEPT"]]
    with pytest.raises(iptwrap.RestoreError):
        syncer.sync(bad, JUMPS)
    n_saves = len(saves(ipt))
    syncer.sync(KUBE, JUMPS)
    assert len(saves(ipt)) > n_saves
