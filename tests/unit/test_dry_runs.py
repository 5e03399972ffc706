"""Dry runs read what they need and apply nothing; the payload is what a real run sends."""

from __future__ import annotations

import pytest

import iptwrap
from iptwrap import Jump, RulePosition, Syncer
from iptwrap.fake import FakeIPTables

A = RulePosition.APPEND
CHAINS = {"filter": {"AG-IN": [["-p", "tcp", "--dport", "22", "-j", "ACCEPT"]]}}
JUMPS = [Jump("filter", "INPUT", ("-j", "AG-IN"))]


@pytest.mark.iptwrap(mode="both")
def test_a_dry_run_batch_returns_the_payload_a_real_one_sends(fake_iptables: FakeIPTables) -> None:
    ipt = fake_iptables
    ipt.list_chains("filter")  # legacy instantiates a table the first time it is read
    before = ipt.dump()

    def fill(b: iptwrap.Batch) -> None:
        b.ensure_chain("filter", "AGENT")
        b.ensure_rule(A, "filter", "INPUT", "-j", "AGENT")
        b.append_rule("filter", "AGENT", "-s", "192.0.2.0/24", "-j", "ACCEPT")

    with ipt.batch(dry_run=True) as dry:
        fill(dry)
    assert ipt.dump() == before
    assert dry.result.changed and not dry.result.applied
    assert not any(c[0].endswith("restore") for c in ipt.calls)  # it read, and sent nothing
    with ipt.batch() as real:
        fill(real)
    assert real.result.applied and real.result.payload == dry.result.payload
    assert ipt.dump() != before


def test_a_dry_run_sync_and_teardown_apply_nothing(fake_iptables: FakeIPTables) -> None:
    ipt = fake_iptables
    dry = ipt.sync("AG-", CHAINS, JUMPS, dry_run=True)
    assert (
        dry.changed
        and not dry.applied
        and ipt.list_chains("filter")
        == [
            "INPUT",
            "FORWARD",
            "OUTPUT",
        ]
    )
    real = ipt.sync("AG-", CHAINS, JUMPS)
    assert real.applied and real.payload == dry.payload
    down = ipt.teardown("AG-", dry_run=True)
    assert b"-X AG-IN" in down.payload and "AG-IN" in ipt.list_chains("filter")
    assert ipt.teardown("AG-").payload == down.payload
    assert "AG-IN" not in ipt.list_chains("filter")


def test_a_dry_run_leaves_the_syncers_memory_as_it_was(fake_iptables: FakeIPTables) -> None:
    ipt = fake_iptables
    syncer = Syncer(ipt, "AG-")
    syncer.sync(CHAINS, JUMPS)
    changed = {"filter": {"AG-IN": [["-p", "tcp", "--dport", "2222", "-j", "ACCEPT"]]}}
    restores = sum(1 for c in ipt.calls if c[0].endswith("restore"))
    dry = syncer.sync(changed, JUMPS, dry_run=True)
    assert dry.changed and not dry.applied
    assert sum(1 for c in ipt.calls if c[0].endswith("restore")) == restores
    assert ipt.rules("filter", "AG-IN") == ["-A AG-IN -p tcp -m tcp --dport 22 -j ACCEPT"]
    # the real sync after it still sees the old state: it sends the same change
    real = syncer.sync(changed, JUMPS)
    assert real.payload == dry.payload and real.applied
    assert syncer.teardown(dry_run=True).changed and "AG-IN" in ipt.list_chains("filter")


def test_check_without_a_dry_run_is_refused() -> None:
    ipt = FakeIPTables()
    for call in (
        lambda: ipt.batch(check=True),
        lambda: ipt.sync("AG-", CHAINS, check=True),
        lambda: ipt.teardown("AG-", check=True),
    ):
        with pytest.raises(iptwrap.InvalidArgumentError, match="dry_run=True"):
            call()


@pytest.mark.iptwrap(mode="legacy")
def test_a_checked_dry_run_asks_restore_test_and_names_the_operation(
    fake_iptables: FakeIPTables,
) -> None:
    ipt = fake_iptables
    with pytest.raises(iptwrap.BatchError) as err, ipt.batch(dry_run=True, check=True) as b:
        b.append_rule("filter", "INPUT", "-j", "ACCEPT")
        b.append_rule("filter", "NO-SUCH-CHAIN", "-j", "ACCEPT")
    assert err.value.operation is not None and err.value.operation.index == 1
    assert ("iptables-restore", "--test", "--noflush", "-w", "5") in ipt.calls
    assert ipt.rules("filter", "INPUT") == []
