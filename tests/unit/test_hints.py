"""Mistakes caught before anything runs, each with a hint (the fake, both backends).

tests/integration/test_see_what_it_does.py checks that the real binaries refuse every
one of these too, so a check never refuses a call that would have worked.
"""

from __future__ import annotations

import re
from typing import Any, List

import pytest

import iptwrap
from iptwrap import Jump, Protocol, RulePosition, Table
from iptwrap._hints import rule_hint
from iptwrap.fake import FakeIPTables

A = RulePosition.APPEND
BACKENDS = ["nft", "legacy"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "table, hint",
    [("NAT", "did you mean 'nat'?"), ("filtr", "did you mean 'filter'?"), ("Mangle ", "'mangle'")],
)
def test_a_misspelt_table_is_refused_with_the_table_meant(
    backend: str, table: str, hint: str
) -> None:
    ipt = FakeIPTables(mode=backend)
    for call in (
        lambda: ipt.append_rule(table, "INPUT", "-j", "ACCEPT"),  # type: ignore[arg-type]
        lambda: ipt.chain_exists(table, "INPUT"),  # type: ignore[arg-type]
        lambda: ipt.batch().append_rule(table, "INPUT", "-j", "ACCEPT"),  # type: ignore[arg-type]
        lambda: ipt.sync("AG-", {table: {"AG-X": []}}),  # type: ignore[dict-item]
    ):
        with pytest.raises(iptwrap.UnknownTableError, match=hint) as err:
            call()
        # the caller's mistake, and what the binary would have said
        assert isinstance(err.value, iptwrap.InvalidArgumentError)
        assert isinstance(err.value, iptwrap.TableNotFoundError)
        assert not iptwrap.is_not_found(err.value)
        assert "its tables: filter, mangle, nat, raw, security" in str(err.value)
    assert ipt.calls == []


def test_a_table_read_at_run_time_goes_through_the_enum() -> None:
    with pytest.raises(ValueError):
        Table("NAT")
    assert FakeIPTables().list_chains(Table("nat")) == [
        "PREROUTING",
        "INPUT",
        "OUTPUT",
        "POSTROUTING",
    ]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "table, chain", [("filter", "INPUT"), ("nat", "POSTROUTING"), ("raw", "PREROUTING")]
)
def test_deleting_a_built_in_chain_is_refused_not_read_as_absent(
    backend: str, table: Any, chain: str
) -> None:
    ipt = FakeIPTables(mode=backend)
    with pytest.raises(iptwrap.InvalidArgumentError, match=f"{chain} is a built-in chain") as err:
        ipt.delete_chain(table, chain)
    assert not isinstance(err.value, iptwrap.NotFoundError)  # `except NotFoundError` won't hide it
    with pytest.raises(iptwrap.InvalidArgumentError, match="built-in"):
        ipt.batch().delete_chain(table, chain)
    assert ipt.calls == []
    ipt.ensure_chain("filter", "PREROUTING")  # a user chain of that name elsewhere is fine
    ipt.delete_chain("filter", "PREROUTING")


OTHER_FAMILY = [
    (Protocol.IPV4, ["-s", "2001:db8::1", "-j", "ACCEPT"], "'2001:db8::1' (after -s) is an IPv6"),
    (Protocol.IPV4, ["-d", "2001:db8::/64", "-j", "DROP"], "IPTables(Protocol.IPV6)"),
    (
        Protocol.IPV4,
        ["-p", "tcp", "-j", "DNAT", "--to-destination", "[2001:db8::1]:80"],
        "after --to-destination",
    ),
    (Protocol.IPV6, ["-s", "192.0.2.1", "-j", "ACCEPT"], "'192.0.2.1' (after -s) is an IPv4"),
    (Protocol.IPV6, ["--source", "198.51.100.0/24,2001:db8::1", "-j", "ACCEPT"], "IPV4"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("proto, rule, hint", OTHER_FAMILY)
def test_an_address_of_the_other_family_says_so(
    backend: str, proto: Protocol, rule: List[str], hint: str
) -> None:
    ipt = FakeIPTables(proto, mode=backend)
    table: Any = "nat" if "DNAT" in rule else "filter"
    chain = "PREROUTING" if "DNAT" in rule else "INPUT"
    for call in (
        lambda: ipt.append_rule(table, chain, *rule),
        lambda: ipt.ensure_rule(A, table, chain, *rule),
        lambda: ipt.delete_rule(table, chain, *rule),
        lambda: ipt.rule_exists(table, chain, *rule),
    ):
        with pytest.raises(iptwrap.InvalidArgumentError, match=re.escape(hint)):
            call()
    assert ipt.calls == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_addresses_the_binaries_accept_are_let_through(backend: str) -> None:
    ipt4, ipt6 = FakeIPTables(mode=backend), FakeIPTables(Protocol.IPV6, mode=backend)
    ipt4.append_rule(
        "nat", "PREROUTING", "-p", "tcp", "-j", "DNAT", "--to-destination", "192.0.2.1:80"
    )
    ipt6.append_rule("filter", "INPUT", "-s", "2001:db8::/32", "-j", "ACCEPT")
    assert len(ipt4.rules("nat", "PREROUTING")) == 1 and len(ipt6.rules("filter", "INPUT")) == 1
    # a /0 makes the address irrelevant: both binaries accept one of the other family
    # (go-iptables' suite; tests/integration/test_null_mask_addresses.py)
    ipt4.append_rule("filter", "OUTPUT", "-s", "::/0", "-j", "ACCEPT")
    ipt6.append_rule("filter", "OUTPUT", "-s", "0.0.0.0/0", "-j", "ACCEPT")
    assert (
        ipt4.rules("filter", "OUTPUT") == ipt6.rules("filter", "OUTPUT") == ["-A OUTPUT -j ACCEPT"]
    )
    for family, rule in ((4, ["-s", "::/0"]), (6, ["-s", "0.0.0.0/0"]), (6, ["-d", "192.0.2.1/0"])):
        assert rule_hint(family, "filter", rule) is None
    assert rule_hint(4, "filter", ["-s", "host.example"]) is None  # names are the binary's


TARGET_OUTSIDE = [
    ("filter", "INPUT", ["-j", "DNAT", "--to-destination", "192.0.2.1"], "of the nat table only"),
    ("filter", "OUTPUT", ["-j", "MASQUERADE"], "not of filter"),
    ("nat", "OUTPUT", ["-j", "REJECT"], "REJECT is a target of the filter table only"),
    ("filter", "INPUT", ["-j", "TTL", "--ttl-set", "1"], "mangle table only"),
    ("filter", "OUTPUT", ["-j", "CT", "--notrack"], "raw table only"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("table, chain, rule, hint", TARGET_OUTSIDE)
def test_a_target_outside_its_tables_names_them(
    backend: str, table: Any, chain: str, rule: List[str], hint: str
) -> None:
    ipt = FakeIPTables(mode=backend)
    with pytest.raises(iptwrap.InvalidArgumentError, match=hint):
        ipt.append_rule(table, chain, *rule)
    assert ipt.calls == []


@pytest.mark.iptwrap(mode="both")
def test_a_batch_or_sync_the_binary_refuses_carries_the_hint(fake_iptables: FakeIPTables) -> None:
    ipt = fake_iptables
    ipt.ensure_chain("filter", "AG")
    before = ipt.dump()
    with pytest.raises(iptwrap.BatchError) as err, ipt.batch() as b:
        b.append_rule("filter", "AG", "-j", "RETURN")
        b.append_rule("filter", "AG", "-s", "2001:db8::1", "-j", "ACCEPT")
    assert err.value.operation is not None and err.value.operation.index == 1
    assert err.value.hint is not None and "is an IPv6 address" in err.value.hint
    assert str(err.value).endswith(err.value.hint)
    with pytest.raises(iptwrap.RestoreError) as sync_err:
        ipt.sync("AG-", {"filter": {"AG-X": [["-j", "DNAT", "--to-destination", "192.0.2.1"]]}})
    assert sync_err.value.hint == "DNAT is a target of the nat table only, not of filter"
    assert ipt.dump() == before


def test_jump_args_given_as_one_string_are_refused() -> None:
    ipt = FakeIPTables()
    with pytest.raises(iptwrap.InvalidArgumentError, match="not one str"):
        ipt.sync("AG-", {"filter": {}}, [Jump("filter", "INPUT", "-j AG-X")])  # type: ignore[arg-type]
