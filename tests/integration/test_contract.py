"""The contract: the same tests against FakeIPTables and the real kernel, nft and legacy, v4 and v6.

A behaviour the fake gets wrong is a bug in the fake. Fake targets run anywhere; real
targets need root and make a fresh network namespace per test.
"""

from __future__ import annotations

from typing import Callable, List, Type

import pytest

import iptwrap
from iptwrap import IPTables, Protocol, RulePosition
from iptwrap._scenarios import SCENARIOS
from iptwrap.fake import FakeIPTables

from .netns import BACKENDS, FAMILIES, namespace, require
from .targets import Target

A, P = RulePosition.APPEND, RulePosition.PREPEND


def test_chains(target: Target) -> None:
    ipt = target.ipt
    assert ipt.ensure_chain("filter", "C-ONE") is False
    assert ipt.ensure_chain("filter", "C-ONE") is True
    ipt.ensure_chain("filter", "B-TWO")
    ipt.ensure_chain("filter", "a-lower")
    assert ipt.list_chains("filter") == ["INPUT", "FORWARD", "OUTPUT", "B-TWO", "C-ONE", "a-lower"]
    ipt.rename_chain("filter", "C-ONE", "A-ONE")
    assert ipt.chain_exists("filter", "A-ONE") and not ipt.chain_exists("filter", "C-ONE")
    ipt.delete_chain("filter", "A-ONE")
    assert ipt.list_chains("filter")[3:] == ["B-TWO", "a-lower"]
    assert ipt.list_chains("raw") == ["PREROUTING", "OUTPUT"]
    assert ipt.list_chains("nat") == ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]


def test_rule_positions_and_identity(target: Target) -> None:
    ipt, t = target.ipt, target
    ipt.append_rule("filter", "INPUT", "-s", t.addr(1), "-j", "ACCEPT")
    ipt.append_rule("filter", "INPUT", "-s", t.addr(3), "-j", "ACCEPT")
    ipt.insert_rule("filter", "INPUT", 2, "-s", t.addr(2), "-j", "ACCEPT")
    ipt.insert_rule("filter", "INPUT", 1, "-p", "tcp", "--dport", "22", "-j", "DROP")
    assert (
        ipt.ensure_rule(P, "filter", "INPUT", "-p", "TCP", "--dport", "ssh", "-j", "DROP") is True
    )
    assert ipt.ensure_rule(A, "filter", "INPUT", "-s", t.host(3), "-j", "ACCEPT") is True
    assert ipt.ensure_rule(A, "filter", "INPUT", "-s", t.addr(4), "-j", "ACCEPT") is False
    assert ipt.list_rules("filter", "INPUT") == [
        "-A INPUT -p tcp -m tcp --dport 22 -j DROP",
        f"-A INPUT -s {t.host(1)} -j ACCEPT",
        f"-A INPUT -s {t.host(2)} -j ACCEPT",
        f"-A INPUT -s {t.host(3)} -j ACCEPT",
        f"-A INPUT -s {t.host(4)} -j ACCEPT",
    ]
    assert ipt.delete_rule("filter", "INPUT", "-s", t.host(2), "-j", "ACCEPT") is True
    assert ipt.delete_rule("filter", "INPUT", "-s", t.host(2), "-j", "ACCEPT") is False
    ipt.delete_rule_number("filter", "INPUT", 1)
    assert len(ipt.list_rules("filter", "INPUT")) == 3
    ipt.append_rule("filter", "INPUT", "-s", t.addr(1), "-j", "ACCEPT")  # a duplicate
    assert ipt.delete_rule("filter", "INPUT", "-s", t.addr(1), "-j", "ACCEPT") is True
    assert ipt.list_rules("filter", "INPUT")[-1] == f"-A INPUT -s {t.host(1)} -j ACCEPT"


def test_policies_and_counters(target: Target) -> None:
    ipt, t = target.ipt, target
    ipt.set_policy("filter", "OUTPUT", "DROP")
    policy = ipt.get_policy("filter", "OUTPUT")
    assert policy is not None and policy.policy == "DROP"
    payload = (
        "*filter\n:INPUT ACCEPT [3:300]\n"
        f"[7:700] -A INPUT -s {t.addr(7)} -j ACCEPT\n[1:10] -A INPUT -j RETURN\nCOMMIT\n"
    )
    ipt.restore("filter", payload.encode(), flush=False, counters=True)
    counted = [(c.packets, c.bytes) for c in ipt.list_rules_with_counters("filter", "INPUT")]
    if (t.backend, t.family) == ("nft", 6) and t.release != "1.8.11":
        assert counted == [(0, 0), (0, 0)]  # ip6tables-nft 1.8.7/1.8.9 drop rule counters
    else:
        assert counted == [(7, 700), (1, 10)]
    ipt.zero_counters("filter", "INPUT")
    assert [(c.packets, c.bytes) for c in ipt.list_rules_with_counters("filter", "INPUT")] == [
        (0, 0),
        (0, 0),
    ]


def test_restore_flush_and_noflush(target: Target) -> None:
    ipt, t = target.ipt, target
    ipt.ensure_chain("filter", "KEEP")
    ipt.append_rule("filter", "KEEP", "-j", "RETURN")
    ipt.append_rule("filter", "INPUT", "-s", t.addr(9), "-j", "DROP")
    ipt.restore(
        "filter", f"*filter\n-A INPUT -s {t.addr(1)} -j ACCEPT\nCOMMIT\n".encode(), flush=False
    )
    assert ipt.list_rules("filter", "INPUT") == [
        f"-A INPUT -s {t.host(9)} -j DROP",
        f"-A INPUT -s {t.host(1)} -j ACCEPT",
    ]
    # a declared chain is flushed even with --noflush
    ipt.restore("filter", b"*filter\n:KEEP - [0:0]\n-A KEEP -j ACCEPT\nCOMMIT\n", flush=False)
    assert ipt.list_rules("filter", "KEEP") == ["-A KEEP -j ACCEPT"]
    # without --noflush the table is replaced
    ipt.restore("filter", f"*filter\n-A INPUT -s {t.addr(2)} -j ACCEPT\nCOMMIT\n".encode())
    assert ipt.list_chains("filter") == ["INPUT", "FORWARD", "OUTPUT"]
    assert ipt.list_rules("filter", "INPUT") == [f"-A INPUT -s {t.host(2)} -j ACCEPT"]


def test_save_restore_round_trip(target: Target) -> None:
    ipt = target.ipt
    SCENARIOS["docker-bridge"][0](ipt)
    before = target.save()
    data = ipt.save()
    ipt.restore_all(b"*filter\nCOMMIT\n*nat\nCOMMIT\n")
    assert target.save() != before
    ipt.restore_all(data)
    assert target.save() == before


Check = Callable[[IPTables, Target], object]
REFUSALS: List[tuple[str, Check, Type[Exception]]] = [
    ("flush missing chain", lambda i, t: i.flush_chain("filter", "NOPE"), iptwrap.NotFoundError),
    (
        "append to missing chain",
        lambda i, t: i.append_rule("filter", "NOPE", "-j", "ACCEPT"),
        iptwrap.NotFoundError,
    ),
    (
        "jump to missing chain",
        lambda i, t: i.append_rule("filter", "INPUT", "-j", "NOPE"),
        iptwrap.JumpTargetNotFoundError,
    ),
    (
        "rename onto existing",
        lambda i, t: (i.ensure_chain("filter", "X1"), i.rename_chain("filter", "X1", "FORWARD")),
        iptwrap.AlreadyExistsError,
    ),
    (
        "delete nonempty chain",
        lambda i, t: (
            i.ensure_chain("filter", "X2"),
            i.append_rule("filter", "X2", "-j", "RETURN"),
            i.delete_chain("filter", "X2"),
        ),
        iptwrap.ChainInUseError,
    ),
    (
        "delete referenced chain",
        lambda i, t: (
            i.ensure_chain("filter", "X3"),
            i.append_rule("filter", "INPUT", "-j", "X3"),
            i.delete_chain("filter", "X3"),
        ),
        iptwrap.ChainInUseError,
    ),
    (
        # the kernel's refusal, through a payload (the client's own calls refuse first)
        "DNAT in filter",
        lambda i, t: i.restore_all(
            f"*filter\n-A INPUT -p tcp -j DNAT --to-destination {t.addr(1)}\nCOMMIT\n".encode(),
            flush=False,
        ),
        iptwrap.RestoreError,  # nft: RuleRejectedError too; legacy: a bare "line 3 failed"
    ),
    (
        "DNAT in filter, as a call",
        lambda i, t: i.append_rule(
            "filter", "INPUT", "-p", "tcp", "-j", "DNAT", "--to-destination", t.addr(1)
        ),
        iptwrap.InvalidArgumentError,
    ),
    (
        "MASQUERADE in PREROUTING",
        lambda i, t: i.append_rule("nat", "PREROUTING", "-j", "MASQUERADE"),
        iptwrap.RuleRejectedError,
    ),
    (
        "MASQUERADE via user chain linked from PREROUTING",
        lambda i, t: (
            i.ensure_chain("nat", "M"),
            i.append_rule("nat", "M", "-j", "MASQUERADE"),
            i.append_rule("nat", "PREROUTING", "-j", "M"),
        ),
        iptwrap.RuleRejectedError,
    ),
    (
        "REJECT in nat",  # the kernel's refusal of a target's table: as DNAT in filter
        lambda i, t: i.append_rule("nat", "PREROUTING", "-j", "REJECT"),
        iptwrap.InvalidArgumentError,
    ),
    (
        "DROP in nat",
        lambda i, t: i.append_rule("nat", "POSTROUTING", "-j", "DROP"),
        iptwrap.ParameterError,
    ),
    (
        "policy on user chain",
        lambda i, t: (i.ensure_chain("filter", "X4"), i.set_policy("filter", "X4", "DROP")),
        iptwrap.BadPolicyError,
    ),
    (
        "insert past the end",
        lambda i, t: i.insert_rule("filter", "INPUT", 3, "-j", "ACCEPT"),
        iptwrap.InvalidRuleNumberError,
    ),
    (
        "bad port",
        lambda i, t: i.append_rule(
            "filter", "INPUT", "-p", "tcp", "--dport", "99999", "-j", "ACCEPT"
        ),
        iptwrap.ParameterError,
    ),
    (
        "-o in INPUT",
        lambda i, t: i.append_rule("filter", "INPUT", "-o", "eth0", "-j", "ACCEPT"),
        iptwrap.ParameterError,
    ),
    (
        "owner in INPUT",
        lambda i, t: i.append_rule(
            "filter", "INPUT", "-m", "owner", "--uid-owner", "0", "-j", "ACCEPT"
        ),
        iptwrap.RuleRejectedError,
    ),
]


@pytest.mark.parametrize("name,check,error", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals(target: Target, name: str, check: Check, error: Type[Exception]) -> None:
    with pytest.raises(error):
        check(target.ipt, target)


def test_restore_syntax_error_applies_nothing(target: Target) -> None:
    ipt, t = target.ipt, target
    ipt.list_chains("filter")  # legacy creates the table on first access
    before = target.save()
    payload = (
        f"*filter\n:NEW - [0:0]\n-A INPUT -s {t.addr(1)} -j ACCEPT\n-A INPUT -j NOPE\nCOMMIT\n"
    )
    with pytest.raises(iptwrap.RestoreError) as err:
        ipt.restore_all(payload.encode())
    assert issubclass(err.value.cause, iptwrap.JumpTargetNotFoundError)
    assert err.value.line in (4, 5)  # legacy names the rule; nft the COMMIT that checks it
    assert target.save() == before


def test_later_table_failure_keeps_earlier_commit(target: Target) -> None:
    ipt, t = target.ipt, target
    payload = (
        f"*filter\n-A INPUT -s {t.addr(1)} -j ACCEPT\nCOMMIT\n"
        "*nat\n-A POSTROUTING -j NOPE\nCOMMIT\n"
    )
    with pytest.raises(iptwrap.RestoreError):
        ipt.restore_all(payload.encode())
    assert ipt.list_rules("filter", "INPUT") == [f"-A INPUT -s {t.host(1)} -j ACCEPT"]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenarios_apply_and_are_idempotent(target: Target, scenario: str) -> None:
    fn = SCENARIOS[scenario][0]
    fn(target.ipt)
    first = target.save()
    fn(target.ipt)
    assert target.save() == first
    assert "-A " in first


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_dump_fake_equals_kernel(scenario: str, backend: str, family: int) -> None:
    """Byte-identical iptables-save from the fake and the kernel, after the same calls."""
    require(backend)
    proto = Protocol.IPV6 if family == 6 else Protocol.IPV4
    fake = Target(FakeIPTables(proto, mode=backend), "fake", backend, family)
    for ns in namespace():
        real = Target(IPTables(proto, mode=backend, netns=ns.name), "real", backend, family)
        SCENARIOS[scenario][0](fake.ipt)
        SCENARIOS[scenario][0](real.ipt)
        assert fake.save() == real.save()
        for table in ("filter", "nat"):
            assert fake.save(table) == real.save(table)


def test_batch(target: Target) -> None:
    ipt, t = target.ipt, target
    ipt.append_rule(
        "filter", "INPUT", "-s", t.addr(1), "-p", "tcp", "--dport", "22", "-j", "ACCEPT"
    )
    ipt.append_rule("filter", "INPUT", "-j", "DROP")
    with ipt.batch() as b:
        b.ensure_chain("filter", "AGENT")
        b.ensure_rule(
            A, "filter", "INPUT", "-s", t.host(1), "-p", "TCP", "--dport", "ssh", "-j", "ACCEPT"
        )
        b.ensure_rule(P, "filter", "INPUT", "-j", "AGENT")
        b.ensure_rule(A, "filter", "AGENT", "-s", t.addr(5), "-j", "RETURN")
        b.delete_rule("filter", "INPUT", "-j", "DROP")
        b.delete_rule("filter", "INPUT", "-j", "REJECT")
    assert len(b.result.present) == 1 and len(b.result.deleted) == 1
    assert ipt.list_rules("filter", "INPUT") == [
        "-A INPUT -j AGENT",
        f"-A INPUT -s {t.host(1)} -p tcp -m tcp --dport 22 -j ACCEPT",
    ]
    assert ipt.list_rules("filter", "AGENT") == [f"-A AGENT -s {t.host(5)} -j RETURN"]
    with ipt.batch() as again:
        again.ensure_rule(P, "filter", "INPUT", "-j", "AGENT")
    assert not again.result.changed


def test_failing_batch_leaves_the_kernel_unchanged(target: Target) -> None:
    ipt, t = target.ipt, target
    ipt.append_rule("filter", "INPUT", "-s", t.addr(1), "-j", "ACCEPT")
    before = target.save()
    with pytest.raises(iptwrap.BatchError) as err, ipt.batch() as b:
        b.ensure_chain("filter", "NEW")
        b.append_rule("filter", "NEW", "-j", "RETURN")
        b.delete_rule("filter", "INPUT", "-s", t.addr(1), "-j", "ACCEPT")
        b.append_rule("filter", "INPUT", "-j", "NO-SUCH-CHAIN")
    assert err.value.operation is not None and err.value.operation.index == 3
    assert target.save() == before


def test_failing_bulk_create_names_its_rule_and_changes_nothing(target: Target) -> None:
    """The append-only path renders while the child starts; errors still map to the op."""
    ipt, t = target.ipt, target
    ipt.ensure_chain("filter", "BULK")
    before = target.save()
    rules = [["-s", t.addr(i), "-j", "ACCEPT"] for i in range(1, 40)]
    rules[25] = ["-j", "NO-SUCH-CHAIN"]
    with pytest.raises(iptwrap.BatchError) as err, ipt.batch() as b:
        b.append_rule("filter", "INPUT", "-j", "BULK")
        b.append_rules("filter", "BULK", rules)
    op = err.value.operation
    assert op is not None and (op.index, op.chain, op.args) == (26, "BULK", ("-j", "NO-SUCH-CHAIN"))
    assert target.save() == before
    rules[25] = ["-s", t.addr(99), "-j", "RETURN"]
    with ipt.batch() as ok:
        ok.append_rules("filter", "BULK", rules)
    assert len(ok.result.added) == 39
    appended = [r for r in ipt.list_rules("filter", "BULK") if r.startswith("-A ")]
    assert appended[25] == f"-A BULK -s {t.host(99)} -j RETURN" and len(appended) == 39


def test_sync(target: Target) -> None:
    ipt, t = target.ipt, target
    ipt.ensure_chain("nat", "OTHER")
    ipt.append_rule("nat", "OTHER", "-j", "RETURN")
    dest = f"[{t.addr(2)}]:8080" if t.family == 6 else f"{t.addr(2)}:8080"
    want = {
        "nat": {
            "AG-SVC": [["-p", "tcp", "--dport", "80", "-j", "AG-SEP"]],
            "AG-SEP": [["-p", "tcp", "-j", "DNAT", "--to-destination", dest]],
            "AG-OLD": [],
        }
    }
    jumps = [iptwrap.Jump("nat", "PREROUTING", ("-j", "AG-SVC"))]
    assert ipt.sync("AG-", want, jumps).changed
    assert not ipt.sync("AG-", want, jumps).changed
    del want["nat"]["AG-OLD"]
    want["nat"]["AG-SVC"] = [["-p", "udp", "--dport", "53", "-j", "AG-SEP"]]
    res = ipt.sync("AG-", want, jumps)
    assert res.rewritten == [("nat", "AG-SVC")] and res.deleted == [("nat", "AG-OLD")]
    assert ipt.list_chains("nat")[4:] == ["AG-SEP", "AG-SVC", "OTHER"]
    assert ipt.list_rules("nat", "AG-SVC") == ["-A AG-SVC -p udp -m udp --dport 53 -j AG-SEP"]
    assert ipt.list_rules("nat", "PREROUTING") == ["-A PREROUTING -j AG-SVC"]
