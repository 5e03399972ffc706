"""Every IPTables method against the real kernel, in a fresh namespace, nft and legacy, v4 and v6."""

from __future__ import annotations

import fcntl
import io
import os
import threading
import time
from typing import Tuple

import pytest

import iptwrap
from iptwrap import IPTables, Mode, Protocol, RulePosition, Table

from .netns import Namespace, require

Real = Tuple[IPTables, Namespace, str, int]

pytestmark = pytest.mark.integration


def addr(family: int, n: int) -> str:
    return f"2001:db8::{n}" if family == 6 else f"192.0.2.{n}"


def host(family: int, n: int) -> str:
    return f"{addr(family, n)}/{128 if family == 6 else 32}"


def test_probe_reports_backend_and_version(real: Real) -> None:
    ipt, _ns, backend, family = real
    assert ipt.present()
    assert ipt.mode is Mode(backend)
    assert str(ipt.version) == "1.8.9" or ipt.version.major == 1
    assert ipt.is_ipv6() == (family == 6)
    assert ipt.has_random_fully()


def test_chain_lifecycle(real: Real) -> None:
    ipt, ns, backend, family = real
    assert not ipt.chain_exists(Table.FILTER, "IPTW-A")
    assert ipt.ensure_chain(Table.FILTER, "IPTW-A") is False
    assert ipt.ensure_chain("filter", "IPTW-A") is True
    assert ipt.chain_exists("filter", "IPTW-A")
    assert ipt.list_chains("filter") == ["INPUT", "FORWARD", "OUTPUT", "IPTW-A"]
    ipt.append_rule("filter", "IPTW-A", "-j", "RETURN")
    ipt.flush_chain("filter", "IPTW-A")
    assert ipt.list_rules("filter", "IPTW-A") == []
    ipt.rename_chain("filter", "IPTW-A", "IPTW-B")
    assert ipt.list_chains("filter")[-1] == "IPTW-B"
    ipt.delete_chain("filter", "IPTW-B")
    assert not ipt.chain_exists("filter", "IPTW-B")
    assert ":IPTW" not in ns.save(backend, family)


def test_rules_positions_and_identity(real: Real) -> None:
    ipt, ns, backend, family = real
    a1, a2 = addr(family, 1), addr(family, 2)
    assert (
        ipt.ensure_rule(RulePosition.APPEND, "filter", "INPUT", "-s", a1, "-j", "ACCEPT") is False
    )
    # the kernel's identity, not a string compare: -p TCP --dport ssh == -p tcp -m tcp --dport 22
    assert ipt.ensure_rule(RulePosition.APPEND, "filter", "INPUT", "-s", a1, "-j", "ACCEPT") is True
    ipt.append_rule("filter", "INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP")
    assert (
        ipt.ensure_rule(
            RulePosition.PREPEND, "filter", "INPUT", "-p", "TCP", "--dport", "ssh", "-j", "DROP"
        )
        is True
    )
    assert ipt.ensure_rule(RulePosition.PREPEND, "filter", "INPUT", "-s", a2, "-j", "DROP") is False
    ipt.insert_rule("filter", "INPUT", 2, "-i", "lo", "-j", "ACCEPT")
    assert ipt.list_rules("filter", "INPUT") == [
        f"-A INPUT -s {host(family, 2)} -j DROP",
        "-A INPUT -i lo -j ACCEPT",
        f"-A INPUT -s {host(family, 1)} -j ACCEPT",
        "-A INPUT -p tcp -m tcp --dport 22 -j DROP",
    ]
    assert ipt.rule_exists("filter", "INPUT", "-i", "lo", "-j", "ACCEPT")
    assert ipt.delete_rule("filter", "INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP") is True
    assert ipt.delete_rule("filter", "INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP") is False
    assert ipt.delete_rule("filter", "NO-SUCH-CHAIN", "-j", "DROP") is False
    assert len(ipt.list_rules("filter", "INPUT")) == 3


def test_policy_counters_and_zero(real: Real) -> None:
    ipt, ns, backend, family = real
    ipt.set_policy("filter", "FORWARD", "DROP")
    policy = ipt.get_policy("filter", "FORWARD")
    assert policy is not None and policy.policy == "DROP"
    payload = (
        "*filter\n:INPUT ACCEPT [0:0]\n"
        f"[7:700] -A INPUT -s {addr(family, 7)} -j ACCEPT\n[0:0] -A INPUT -j RETURN\nCOMMIT\n"
    ).encode()
    ipt.restore("filter", payload, flush=False, counters=True)
    counted = ipt.list_rules_with_counters("filter", "INPUT")
    # Measured with 1.8.9: ip6tables-nft drops rule counters given to restore -c or
    # -A -c (it saves [0:0]); the other three combinations keep them.
    kept = (7, 700) if (backend, family) != ("nft", 6) else (0, 0)
    assert [(c.number, c.packets, c.bytes) for c in counted] == [(1, *kept), (2, 0, 0)]
    assert counted[0].rule == f"-s {host(family, 7)} -j ACCEPT"
    ipt.zero_counters("filter", "INPUT", 1)
    assert ipt.list_rules_with_counters("filter", "INPUT")[0].packets == 0
    with pytest.raises(iptwrap.NotFoundError):
        ipt.list_rules_with_counters("filter", "NOPE")


def test_save_and_restore_round_trip(real: Real) -> None:
    ipt, ns, backend, family = real
    ipt.ensure_chain("nat", "IPTW-NAT")
    ipt.append_rule(
        "nat",
        "POSTROUTING",
        "-s",
        addr(family, 0) + ("/64" if family == 6 else "/24"),
        "-j",
        "MASQUERADE",
    )
    buf = bytearray()
    ipt.save_into(Table.NAT, buf)
    stream = io.BytesIO()
    ipt.save_into("nat", stream)
    assert b"-j MASQUERADE" in buf and b":IPTW-NAT - [0:0]" in buf
    assert stream.getvalue().split(b"\n")[1:-2] == bytes(buf).split(b"\n")[1:-2]
    ipt.flush_chain("nat", "POSTROUTING")
    ipt.delete_chain("nat", "IPTW-NAT")
    ipt.restore("nat", bytes(buf))
    assert "-A POSTROUTING" in ns.save(backend, family)
    assert ipt.chain_exists("nat", "IPTW-NAT")
    # restore_all with --noflush keeps what is not declared
    ipt.restore_all(b"*filter\n:IPTW-F - [0:0]\n-A IPTW-F -j RETURN\nCOMMIT\n", flush=False)
    assert ipt.list_rules("filter", "IPTW-F") == ["-A IPTW-F -j RETURN"]
    assert ipt.chain_exists("nat", "IPTW-NAT")


def test_real_stderr_is_classified(real: Real) -> None:
    ipt, ns, backend, family = real
    with pytest.raises(iptwrap.NotFoundError):
        ipt.flush_chain("filter", "NOPE")
    with pytest.raises(iptwrap.NotFoundError):
        ipt.append_rule("filter", "NOPE", "-j", "ACCEPT")
    ipt.ensure_chain("filter", "FOO")
    with pytest.raises(iptwrap.AlreadyExistsError):
        ipt.rename_chain("filter", "FOO", "INPUT")
    with pytest.raises(iptwrap.ParameterError):
        ipt.append_rule("filter", "INPUT", "-p", "tcp", "--dport", "70000", "-j", "ACCEPT")
    with pytest.raises(iptwrap.JumpTargetNotFoundError) as jump:
        ipt.append_rule("filter", "INPUT", "-j", "NOSUCHCHAIN")
    assert iptwrap.is_not_found(jump.value)
    ipt.append_rule("filter", "FOO", "-j", "ACCEPT")
    with pytest.raises(iptwrap.ChainInUseError):
        ipt.delete_chain("filter", "FOO")  # not empty
    ipt.flush_chain("filter", "FOO")
    ipt.append_rule("filter", "INPUT", "-j", "FOO")
    with pytest.raises(iptwrap.ChainInUseError):
        ipt.delete_chain("filter", "FOO")  # referenced
    with pytest.raises(iptwrap.RuleRejectedError) as rejected:
        ipt.append_rule("nat", "PREROUTING", "-j", "MASQUERADE")  # only POSTROUTING
    assert rejected.value.returncode == (4 if backend == "nft" else 1)
    with pytest.raises(iptwrap.BadPolicyError):
        ipt.set_policy("filter", "FOO", "DROP")
    with pytest.raises(iptwrap.InvalidRuleNumberError):
        ipt.insert_rule("filter", "FOO", 5, "-j", "ACCEPT")


def test_restore_error_names_the_line_and_applies_nothing(real: Real) -> None:
    ipt, ns, backend, family = real
    ipt.list_chains("filter")  # legacy creates a table on first access; do it before
    before = ns.save(backend, family)
    payload = (
        "*filter\n"
        ":IPTW-R - [0:0]\n"
        f"-A INPUT -s {addr(family, 5)} -j ACCEPT\n"
        "-A INPUT -p tcp --dport nosuchport -j ACCEPT\n"
        "COMMIT\n"
    ).encode()
    with pytest.raises(iptwrap.RestoreError) as err:
        ipt.restore_all(payload)
    assert err.value.line == 4
    assert err.value.line_text == "-A INPUT -p tcp --dport nosuchport -j ACCEPT"
    assert issubclass(err.value.cause, iptwrap.ParameterError)
    assert "input line 4" in str(err.value)
    assert ns.save(backend, family) == before


def test_ipv6_canonical_forms(ns: Namespace) -> None:
    for backend in ("nft", "legacy"):
        require(backend)
        ipt = IPTables(Protocol.IPV6, mode=backend, netns=ns.name)
        ipt.append_rule("filter", "INPUT", "-s", "2001:DB8:0:0::1", "-j", "ACCEPT")
        ipt.append_rule("filter", "INPUT", "-d", "2001:db8:0:0:0:0:0:0/32", "-j", "DROP")
        assert ipt.list_rules("filter", "INPUT") == [
            "-A INPUT -s 2001:db8::1/128 -j ACCEPT",
            "-A INPUT -d 2001:db8::/32 -j DROP",
        ]
        assert ipt.rule_exists("filter", "INPUT", "-s", "2001:db8::1/128", "-j", "ACCEPT")
        ipt.flush_chain("filter", "INPUT")


def test_netns_that_does_not_exist_is_typed() -> None:
    require("nft")
    ipt = IPTables(mode="nft", netns="iptw-no-such-namespace")
    with pytest.raises(iptwrap.NamespaceNotFoundError) as err:
        ipt.chain_exists("filter", "INPUT")
    assert not iptwrap.is_not_found(err.value)
    assert not ipt.present()


def _hold(path: str, seconds: float) -> threading.Event:
    """Hold an flock on ``path`` from a thread for ``seconds``; set the event once held."""
    held = threading.Event()

    def body() -> None:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held.set()
            time.sleep(seconds)
        finally:
            os.close(fd)

    threading.Thread(target=body, daemon=True).start()
    assert held.wait(5)
    return held


@pytest.mark.parametrize("family", [4, 6])
def test_legacy_waits_for_a_briefly_held_lock(ns: Namespace, tmp_path, family: int) -> None:
    require("legacy")
    lock = str(tmp_path / "xtables.lock")
    proto = Protocol.IPV6 if family == 6 else Protocol.IPV4
    ipt = IPTables(proto, mode="legacy", netns=ns.name, lock_file=lock, lock_timeout=5)
    ipt.present()
    _hold(lock, 1.0)
    start = time.monotonic()
    ipt.append_rule("filter", "INPUT", "-j", "ACCEPT")
    ipt.restore_all(b"*filter\n-A INPUT -j DROP\nCOMMIT\n", flush=False)
    waited = time.monotonic() - start
    assert 0.5 <= waited < 4.0, waited
    assert len(ipt.list_rules("filter", "INPUT")) == 2


def test_legacy_lock_held_too_long_is_a_typed_timeout(ns: Namespace, tmp_path) -> None:
    require("legacy")
    lock = str(tmp_path / "xtables.lock")
    ipt = IPTables(mode="legacy", netns=ns.name, lock_file=lock, lock_timeout=1)
    ipt.present()
    _hold(lock, 6.0)
    for call in (
        lambda: ipt.append_rule("filter", "INPUT", "-j", "ACCEPT"),
        lambda: ipt.restore_all(b"*filter\n-A INPUT -j DROP\nCOMMIT\n", flush=False),
    ):
        start = time.monotonic()
        with pytest.raises(iptwrap.LockTimeoutError) as err:
            call()
        elapsed = time.monotonic() - start
        assert elapsed < 1.0 * 1.1 + 0.5, elapsed  # lock_timeout plus process start-up
        assert err.value.returncode == 4
    assert "-A INPUT" not in ns.save("legacy")


def test_nft_ignores_the_xtables_lock(ns: Namespace, tmp_path) -> None:
    """Measured with 1.8.9: iptables-nft never takes the lock file, so a held lock does not delay it."""
    require("nft")
    lock = str(tmp_path / "xtables.lock")
    ipt = IPTables(mode="nft", netns=ns.name, lock_file=lock, lock_timeout=1)
    ipt.present()
    _hold(lock, 5.0)
    start = time.monotonic()
    ipt.append_rule("filter", "INPUT", "-j", "ACCEPT")
    ipt.restore_all(b"*filter\n-A INPUT -j DROP\nCOMMIT\n", flush=False)
    assert time.monotonic() - start < 1.0
    assert len(ipt.list_rules("filter", "INPUT")) == 2
