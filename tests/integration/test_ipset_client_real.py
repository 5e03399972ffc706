"""IPSet against the real ``ipset`` binary, in a fresh network namespace per test."""

from __future__ import annotations

import os
import shutil
import threading
from typing import Iterator, List

import pytest

from iptwrap import (
    EntryExistsError,
    EntryNotFoundError,
    IPSet,
    IPSetError,
    IPSetParameterError,
    IPTables,
    SetExistsError,
    SetInUseError,
    SetNotFoundError,
    SetSpec,
)

from .netns import BACKENDS, Namespace, namespace, require


def _require_ipset() -> None:
    require()
    if shutil.which("ipset") is None:
        reason = "no ipset binary (apt-get install ipset)"
        if os.environ.get("IPTWRAP_REQUIRE_REAL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def ns() -> Iterator[Namespace]:
    _require_ipset()
    yield from namespace()


@pytest.fixture
def ipset(ns: Namespace) -> IPSet:
    return IPSet(netns=ns.name)


def _members(ns: Namespace, name: str) -> List[str]:
    out = ns.exec("ipset", "save", name).stdout.decode()
    return sorted(line.split()[2] for line in out.splitlines() if line.startswith("add "))


def test_the_set_lifecycle_is_idempotent_where_kubernetes_is(ipset: IPSet, ns: Namespace) -> None:
    spec = SetSpec("AG-ALLOW", "hash:net")
    ipset.create_set(spec)
    ipset.create_set(spec)  # ignore_exists by default
    ipset.add_entry("AG-ALLOW", "198.51.100.0/24")
    ipset.add_entry("AG-ALLOW", "198.51.100.0/24")
    ipset.add_entry("AG-ALLOW", "192.0.2.7")
    assert ipset.list_sets() == ["AG-ALLOW"]
    assert sorted(ipset.list_entries("AG-ALLOW")) == ["192.0.2.7", "198.51.100.0/24"]
    assert ipset.test_entry("AG-ALLOW", "198.51.100.9") is True
    assert ipset.test_entry("AG-ALLOW", "203.0.113.1") is False
    ipset.delete_entry("AG-ALLOW", "192.0.2.7")
    ipset.delete_entry("AG-ALLOW", "192.0.2.7")  # ignore_missing by default
    assert _members(ns, "AG-ALLOW") == ["198.51.100.0/24"]
    ipset.flush_set("AG-ALLOW")
    assert ipset.list_entries("AG-ALLOW") == []
    ipset.destroy_set("AG-ALLOW")
    ipset.destroy_set("AG-ALLOW", ignore_missing=True)
    assert ipset.list_sets() == []
    assert ipset.version().startswith("7.")


def test_failures_are_typed(ipset: IPSet) -> None:
    ipset.create_set(SetSpec("AG-S"))
    ipset.add_entry("AG-S", "192.0.2.1")
    with pytest.raises(SetExistsError):
        ipset.create_set(SetSpec("AG-S", "hash:net"))  # same name, another type
    with pytest.raises(SetExistsError):
        ipset.create_set(SetSpec("AG-S"), ignore_exists=False)
    with pytest.raises(EntryExistsError):
        ipset.add_entry("AG-S", "192.0.2.1", ignore_exists=False)
    with pytest.raises(EntryNotFoundError):
        ipset.delete_entry("AG-S", "192.0.2.2", ignore_missing=False)
    with pytest.raises(SetNotFoundError):
        ipset.add_entry("AG-NOPE", "192.0.2.1")
    with pytest.raises(SetNotFoundError):
        ipset.test_entry("AG-NOPE", "192.0.2.1")
    with pytest.raises(SetNotFoundError):
        ipset.destroy_set("AG-NOPE")
    with pytest.raises(IPSetParameterError) as bad:
        ipset.add_entry("AG-S", "2001:db8::1")  # IPv6 into an inet set
    assert "cannot parse 2001:db8::1" in str(bad.value)
    with pytest.raises(IPSetParameterError):
        ipset.add_entry("AG-S", "192.0.2.1", timeout=5)  # created without timeout


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_set_a_rule_references_cannot_be_destroyed(
    ipset: IPSet, ns: Namespace, backend: str
) -> None:
    require(backend)
    ipset.create_set(SetSpec("AG-BLOCK"))
    ipt = IPTables(mode=backend, netns=ns.name)
    ipt.append_rule("filter", "INPUT", "-m", "set", "--match-set", "AG-BLOCK", "src", "-j", "DROP")
    with pytest.raises(SetInUseError):
        ipset.destroy_set("AG-BLOCK")
    with pytest.raises(SetInUseError):
        ipset.destroy_all_sets()
    ipt.delete_rule("filter", "INPUT", "-m", "set", "--match-set", "AG-BLOCK", "src", "-j", "DROP")
    ipset.destroy_set("AG-BLOCK")
    assert ipset.list_sets() == []


def test_a_batch_is_one_restore_and_names_the_failing_call(ipset: IPSet, ns: Namespace) -> None:
    with ipset.batch() as b:
        b.create_set(SetSpec("AG-PORTS", "hash:ip,port"))
        b.add_entries("AG-PORTS", ["192.0.2.1,80", "192.0.2.1,udp:53"])
        b.add_entry("AG-PORTS", "192.0.2.1,80")  # present: -exist
        b.delete_entry("AG-PORTS", "192.0.2.9,80")  # absent: -exist
    assert b.result.applied
    assert _members(ns, "AG-PORTS") == ["192.0.2.1,tcp:80", "192.0.2.1,udp:53"]

    batch = ipset.batch()
    batch.add_entry("AG-PORTS", "192.0.2.2,443")
    batch.add_entry("AG-PORTS", "192.0.2.300,443")  # passes our word check, not ipset's
    batch.add_entry("AG-PORTS", "192.0.2.3,443")
    with pytest.raises(IPSetParameterError) as failed:
        batch.commit()
    assert failed.value.line == 2
    assert failed.value.operation == "add_entry(AG-PORTS, 192.0.2.300,443)"
    assert "batch operation add_entry(AG-PORTS, 192.0.2.300,443)" in str(failed.value)
    # nothing from the failing line on is applied (what came before may be: ipset
    # restore is not transactional, see test_restore_is_not_transactional)
    assert "192.0.2.3,tcp:443" not in _members(ns, "AG-PORTS")


def test_restore_is_not_transactional(ipset: IPSet, ns: Namespace) -> None:
    """Measured with ipset 7.17: what the kernel refuses leaves the lines before it
    applied; a line ipset cannot parse drops the adds it still held, not a create."""
    ipset.create_set(SetSpec("AG-T"))
    with pytest.raises(EntryExistsError) as kernel_said_no:
        ipset.restore("add AG-T 192.0.2.1\nadd AG-T 192.0.2.1\n")
    assert kernel_said_no.value.line == 2
    assert _members(ns, "AG-T") == ["192.0.2.1"]
    with pytest.raises(IPSetParameterError) as unparsable:
        ipset.restore("create AG-U hash:ip\nadd AG-U 192.0.2.9\nadd AG-U bad\n")
    assert unparsable.value.line == 3
    assert ipset.list_sets() == ["AG-T", "AG-U"]
    assert _members(ns, "AG-U") == []


def test_sync_entries_swaps_in_the_new_members(ipset: IPSet, ns: Namespace) -> None:
    spec = SetSpec("AG-PEERS", "hash:ip")
    ipset.sync_entries(spec, ["192.0.2.1", "192.0.2.2"])  # creates the set
    ipt = IPTables(mode="nft", netns=ns.name)
    ipt.append_rule(
        "filter", "INPUT", "-m", "set", "--match-set", "AG-PEERS", "src", "-j", "ACCEPT"
    )
    result = ipset.sync_entries(spec, ["192.0.2.2", "198.51.100.4"])
    assert result.applied
    assert _members(ns, "AG-PEERS") == ["192.0.2.2", "198.51.100.4"]
    assert ipset.list_sets() == ["AG-PEERS"]  # the scratch set is gone
    # a dry run sends nothing
    dry = ipset.sync_entries(spec, ["203.0.113.1"], dry_run=True)
    assert not dry.applied and b"add " in dry.payload
    assert _members(ns, "AG-PEERS") == ["192.0.2.2", "198.51.100.4"]
    # a failing sync leaves the live set as it was, and no scratch set behind
    with pytest.raises(IPSetError):
        ipset.sync_entries(spec, ["203.0.113.1", "192.0.2.300"])
    assert _members(ns, "AG-PEERS") == ["192.0.2.2", "198.51.100.4"]
    assert ipset.list_sets() == ["AG-PEERS"]


def test_sync_entries_never_shows_an_empty_or_mixed_set(ipset: IPSet, ns: Namespace) -> None:
    """A reader polling the set during syncs sees only the old or the new members."""
    spec = SetSpec("AG-BIG", "hash:ip")
    old = [f"192.0.2.{i}" for i in range(1, 201)]
    new = [f"198.51.100.{i}" for i in range(1, 201)]
    ipset.sync_entries(spec, old)
    seen: List[int] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            out = ns.exec("ipset", "list", "-t", "AG-BIG").stdout.decode()
            for line in out.splitlines():
                if line.startswith("Number of entries:"):
                    seen.append(int(line.split(":")[1]))

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for i in range(6):
            ipset.sync_entries(spec, new if i % 2 == 0 else old)
    finally:
        stop.set()
        reader.join()
    assert seen and set(seen) == {200}
