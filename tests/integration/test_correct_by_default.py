"""Correct by default: the wrong things a newcomer's agent used to do silently.

Each test runs on the fake and on the real kernel, nft and legacy, IPv4 and IPv6
(the ``target`` fixture), so the fake's answers are held to the kernel's.
"""

from __future__ import annotations

from typing import List, Tuple

import pytest

import iptwrap
from iptwrap import IPTables, Jump, RulePosition, Syncer

from .targets import Target

A, P = RulePosition.APPEND, RulePosition.PREPEND


def _input(t: Target) -> List[str]:
    return t.ipt.list_rules("filter", "INPUT")


# ------------------------------------------------------------ 1. rule args and tables


def test_rule_args_never_move_a_rule_to_another_table(target: Target) -> None:
    ipt = target.ipt
    before = target.save()
    for args in (["-t", "nat", "-j", "ACCEPT"], ["--ta", "nat", "-j", "ACCEPT"], ["-vtnat"]):
        with pytest.raises(iptwrap.InvalidArgumentError):
            ipt.append_rule("filter", "INPUT", *args)
        with pytest.raises(iptwrap.InvalidArgumentError):
            ipt.ensure_rule(A, "filter", "INPUT", *args)
        with pytest.raises(iptwrap.InvalidArgumentError), ipt.batch() as b:
            b.append_rule("filter", "INPUT", *args)
        with pytest.raises(iptwrap.InvalidArgumentError):
            ipt.sync("AG-", {"filter": {"AG-X": [args]}})
    assert target.save() == before  # nothing reached the kernel
    # a value that only looks like an option is a value
    ipt.append_rule("filter", "INPUT", "-m", "comment", "--comment", "-t", "-j", "ACCEPT")
    assert _input(target) == ["-A INPUT -m comment --comment -t -j ACCEPT"]
    assert "-A" not in ipt.list_rules("nat", "INPUT")


# ------------------------------------------------------------ 2. identity the binary gets wrong


def test_rule_identity_compares_match_and_target_data(target: Target) -> None:
    """ip6tables-legacy 1.8.9's -C ignores match data; the client must not trust it."""
    ipt, t = target.ipt, target
    spec = ["-s", t.addr(7), "-p", "tcp", "--dport", "22", "-j", "ACCEPT"]
    other_port = ["-s", t.addr(7), "-p", "tcp", "--dport", "2222", "-j", "ACCEPT"]
    other_target = ["-s", t.addr(7), "-p", "tcp", "--dport", "22", "-j", "DROP"]
    ipt.append_rule("filter", "INPUT", *spec)
    assert ipt.rule_exists("filter", "INPUT", *spec)
    assert not ipt.rule_exists("filter", "INPUT", *other_port)
    assert not ipt.rule_exists("filter", "INPUT", *other_target)
    assert ipt.ensure_rule(A, "filter", "INPUT", *other_port) is False
    assert ipt.ensure_rule(A, "filter", "INPUT", *other_port) is True
    assert len(_input(target)) == 2
    assert not ipt.rule_exists("filter", "NO-SUCH-CHAIN", *spec)


def test_prefix_lengths_tell_rules_apart(target: Target) -> None:
    """ip6tables-nft 1.8.9's -C and -D ignore -s/-d prefix lengths: -D took the wrong rule."""
    ipt, t = target.ipt, target
    wide, narrow, between = (
        ("2001:db8::/48", "2001:db8::/64", "2001:db8::/56")
        if t.family == 6
        else ("198.51.100.0/24", "198.51.100.0/25", "198.51.100.0/26")
    )
    ipt.append_rule("filter", "INPUT", "-s", wide, "-j", "DROP")
    ipt.append_rule("filter", "INPUT", "-s", narrow, "-j", "DROP")
    assert not ipt.rule_exists("filter", "INPUT", "-s", between, "-j", "DROP")
    assert ipt.delete_rule("filter", "INPUT", "-s", between, "-j", "DROP") is False
    assert ipt.delete_rule("filter", "INPUT", "-s", narrow, "-j", "DROP") is True
    assert _input(target) == [f"-A INPUT -s {wide} -j DROP"]
    # the batch sends the same exact delete, and its ensure adds the missing one
    ipt.append_rule("filter", "INPUT", "-s", narrow, "-j", "DROP")
    with ipt.batch() as b:
        b.delete_rule("filter", "INPUT", "-s", narrow, "-j", "DROP")
        b.ensure_rule(A, "filter", "INPUT", "-s", between, "-j", "DROP")
    assert _input(target) == [f"-A INPUT -s {wide} -j DROP", f"-A INPUT -s {between} -j DROP"]


def test_kernel_fallback_of_a_batch_compares_match_data(real: Tuple[IPTables, object, str, int]):
    """A spec the local parser cannot read is asked of the kernel: exactly, on every binary.

    Kernel only: ``-m cpu`` is what the fake does not model, which is the point.
    """
    ipt = real[0]
    ipt.ensure_chain("filter", "CPU")
    ipt.append_rule("filter", "CPU", "-m", "cpu", "--cpu", "0", "-j", "ACCEPT")
    with ipt.batch() as b:
        b.ensure_rule(A, "filter", "CPU", "-m", "cpu", "--cpu", "1", "-j", "ACCEPT")
        b.ensure_rule(A, "filter", "CPU", "-m", "cpu", "--cpu", "0", "-j", "ACCEPT")
    assert ipt.list_rules("filter", "CPU") == [
        "-A CPU -m cpu --cpu 0 -j ACCEPT",
        "-A CPU -m cpu --cpu 1 -j ACCEPT",
    ]
    assert not ipt.rule_exists("filter", "CPU", "-m", "cpu", "--cpu", "2", "-j", "ACCEPT")


# ------------------------------------------------------------ 4. sync owns its jumps

CHAINS = {"filter": {"AG-IN": [["-j", "ACCEPT"]], "AG-FWD": [["-j", "RETURN"]]}}


def test_sync_replaces_a_changed_jump_and_drops_an_undeclared_one(target: Target) -> None:
    ipt = target.ipt
    ipt.sync("AG-", CHAINS, [Jump("filter", "INPUT", ("-j", "AG-IN"))])
    v2 = Jump("filter", "INPUT", ("-m", "comment", "--comment", "v2", "-j", "AG-IN"))
    res = ipt.sync("AG-", CHAINS, [v2])
    assert res.jumps_deleted == [("filter", "INPUT", "-j AG-IN")]
    assert _input(target) == ["-A INPUT -m comment --comment v2 -j AG-IN"]
    # someone duplicates it, and a foreign rule of the admin's stays untouched
    ipt.append_rule("filter", "INPUT", "-m", "comment", "--comment", "v2", "-j", "AG-IN")
    ipt.append_rule("filter", "INPUT", "-j", "ACCEPT")
    res = ipt.sync("AG-", CHAINS, [])
    assert len(res.jumps_deleted) == 2
    assert _input(target) == ["-A INPUT -j ACCEPT"]
    assert not ipt.sync("AG-", CHAINS, []).changed


def test_prepend_jumps_come_first_in_the_order_given(target: Target) -> None:
    ipt = target.ipt
    ipt.append_rule("filter", "FORWARD", "-j", "DROP")  # foreign, already there
    jumps = [
        Jump("filter", "FORWARD", ("-j", "AG-FWD"), P),
        Jump("filter", "FORWARD", ("-i", "lo", "-j", "AG-IN"), P),
        Jump("filter", "INPUT", ("-j", "AG-IN")),
    ]
    ipt.sync("AG-", CHAINS, jumps)
    want = ["-A FORWARD -j AG-FWD", "-A FORWARD -i lo -j AG-IN", "-A FORWARD -j DROP"]
    assert ipt.list_rules("filter", "FORWARD") == want
    ipt.insert_rule("filter", "FORWARD", 1, "-j", "DROP")  # someone cuts in front
    res = ipt.sync("AG-", CHAINS, jumps)
    assert res.changed and res.jumps_deleted == []
    assert ipt.list_rules("filter", "FORWARD") == want[:2] + ["-A FORWARD -j DROP"] * 2
    assert not ipt.sync("AG-", CHAINS, jumps).changed


def test_dropping_a_jump_removes_that_jump_not_a_wider_one(target: Target) -> None:
    """sync's -D of a jump must not take an earlier one that differs in prefix length."""
    ipt = target.ipt
    wide, narrow = (
        ("2001:db8::/48", "2001:db8::/64")
        if target.family == 6
        else ("198.51.100.0/24", "198.51.100.0/25")
    )
    j_wide = Jump("filter", "INPUT", ("-s", wide, "-j", "AG-IN"))
    j_narrow = Jump("filter", "INPUT", ("-s", narrow, "-j", "AG-IN"))
    ipt.sync("AG-", CHAINS, [j_wide, j_narrow])
    res = ipt.sync("AG-", CHAINS, [j_wide])
    assert res.jumps_deleted == [("filter", "INPUT", f"-s {narrow} -j AG-IN")]
    assert _input(target) == [f"-A INPUT -s {wide} -j AG-IN"]


def test_syncer_follows_the_same_jump_semantics(target: Target) -> None:
    ipt = target.ipt
    syncer = Syncer(ipt, "AG-")
    syncer.sync(CHAINS, [Jump("filter", "INPUT", ("-j", "AG-IN"))])
    res = syncer.sync(CHAINS, [Jump("filter", "INPUT", ("-p", "tcp", "-j", "AG-IN"))])
    assert res.jumps_deleted == [("filter", "INPUT", "-j AG-IN")]
    assert _input(target) == ["-A INPUT -p tcp -j AG-IN"]
    res = syncer.sync(CHAINS, [])
    assert _input(target) == [] and len(res.jumps_deleted) == 1
    assert not syncer.sync(CHAINS, []).changed


# ------------------------------------------------------------ 5. teardown


def test_teardown_removes_owned_chains_and_jumps_in_every_table(target: Target) -> None:
    ipt = target.ipt
    ipt.ensure_chain("nat", "DOCKER")
    ipt.append_rule("nat", "DOCKER", "-j", "RETURN")
    chains = {
        "filter": {"AG-IN": [["-j", "AG-DEEP"]], "AG-DEEP": [["-j", "ACCEPT"]]},
        "nat": {"AG-NAT": [["-j", "RETURN"]]},
    }
    jumps = [Jump("filter", "INPUT", ("-j", "AG-IN")), Jump("nat", "OUTPUT", ("-j", "AG-NAT"))]
    ipt.sync("AG-", chains, jumps)
    ipt.append_rule("nat", "DOCKER", "-j", "AG-NAT")  # a stray jump of someone else's
    res = ipt.teardown("AG-")
    assert sorted(res.deleted) == [("filter", "AG-DEEP"), ("filter", "AG-IN"), ("nat", "AG-NAT")]
    assert len(res.jumps_deleted) == 3
    for table in ("filter", "nat"):
        assert not [c for c in ipt.list_chains(table) if c.startswith("AG-")]
    assert ipt.list_rules("nat", "DOCKER") == ["-A DOCKER -j RETURN"]
    assert ipt.teardown("AG-").payload == b""
    with pytest.raises(iptwrap.InvalidArgumentError, match="teardown"):
        ipt.sync("AG-", {})
    syncer = Syncer(ipt, "AG-")
    syncer.sync(chains, jumps)
    assert len(syncer.teardown().deleted) == 3 and not ipt.teardown("AG-").changed


# ------------------------------------------------------------ 6. a missing table is an error


def test_a_misspelt_table_raises_instead_of_reading_as_absent(target: Target) -> None:
    ipt = target.ipt
    # (mypy refuses "filtr" too: the TableName literal type; this is what happens
    # to a name read at run time)
    calls = [
        lambda: ipt.delete_rule("filtr", "INPUT", "-j", "ACCEPT"),  # type: ignore[arg-type]
        lambda: ipt.chain_exists("filtr", "INPUT"),  # type: ignore[arg-type]
        lambda: ipt.rule_exists("filtr", "INPUT", "-j", "ACCEPT"),  # type: ignore[arg-type]
        lambda: ipt.delete_chain("filtr", "X"),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(iptwrap.TableNotFoundError) as err:
            call()
        assert not isinstance(err.value, iptwrap.NotFoundError)
        assert not iptwrap.is_not_found(err.value)


def test_a_restore_that_failed_for_not_found_is_a_not_found(target: Target) -> None:
    """nft names the cause; legacy says only "line 2 failed", and a -D line has one cause."""
    ipt, t = target.ipt, target
    if (t.backend, t.release) == ("nft", "1.8.7"):
        # iptables-nft-restore 1.8.7 says only "line 3 failed": the COMMIT line, no cause
        with pytest.raises(iptwrap.RestoreError) as bare:
            ipt.restore("filter", b"*filter\n-D INPUT -j DROP\nCOMMIT\n", flush=False)
        assert bare.value.line_text == "COMMIT" and not iptwrap.is_not_found(bare.value)
        return
    for line in (f"-D INPUT -s {t.addr(99)} -j ACCEPT", "-D NO-SUCH-CHAIN -j ACCEPT"):
        with pytest.raises(iptwrap.NotFoundError) as err:
            ipt.restore("filter", f"*filter\n{line}\nCOMMIT\n".encode(), flush=False)
        assert isinstance(err.value, iptwrap.RestoreError)
        assert (err.value.line, err.value.line_text) == (2, line)
        assert iptwrap.is_not_found(err.value)
    with pytest.raises(iptwrap.RestoreError) as other:  # a cause that is not "absent"
        ipt.restore("filter", b"*filter\n-I INPUT 9 -j ACCEPT\nCOMMIT\n", flush=False)
    assert not isinstance(other.value, iptwrap.NotFoundError)
    with pytest.raises(iptwrap.JumpTargetNotFoundError), ipt.batch() as b:
        b.append_rule("filter", "INPUT", "-j", "NO-SUCH-CHAIN")
