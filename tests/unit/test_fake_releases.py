"""The fake answers as the release it is told: 1.8.9 (the default) or 1.8.11.

What differs (measured with the real binaries, tests/data/releases/): 1.8.11 saves
protocols by number unless they are in its own table, names options by their long
name in messages, and its nft -C/-D miss a spelling whose tcp matches it merged.
The client over the fake handles each as it does over the real binaries.
"""

from __future__ import annotations

import pytest

from iptwrap import Protocol, RulePosition
from iptwrap.fake import FakeIPTables, FakeRunner

A = RulePosition.APPEND
MERGED = ["-p", "tcp", "-m", "tcp", "--dport", "22", "-m", "tcp", "--sport", "1000", "-j", "ACCEPT"]


@pytest.mark.parametrize("mode", ["nft", "legacy"])
def test_1_8_11_saves_protocol_numbers_and_batches_stay_idempotent(mode: str) -> None:
    ipt = FakeIPTables(mode=mode, version="1.8.11")
    assert str(ipt.version) == "1.8.11"
    ipt.ensure_chain("filter", "V")
    for _ in range(2):
        with ipt.batch() as b:
            b.ensure_rule(A, "filter", "V", "-p", "gre", "-j", "ACCEPT")
            b.ensure_rule(A, "filter", "V", "-p", "esp", "-j", "ACCEPT")
    assert ipt.rules("filter", "V") == ["-A V -p 47 -j ACCEPT", "-A V -p esp -j ACCEPT"]
    assert b.result.payload == b""  # the second batch found both


def test_1_8_9_saves_protocol_names() -> None:
    ipt = FakeIPTables(mode="nft")
    ipt.append_rule("filter", "INPUT", "-p", "gre", "-j", "ACCEPT")
    assert ipt.rules("filter", "INPUT") == ["-A INPUT -p gre -j ACCEPT"]


@pytest.mark.parametrize("version, misses", [("1.8.9", False), ("1.8.11", True)])
def test_nft_check_of_merged_matches(version: str, misses: bool) -> None:
    host = FakeRunner(mode="nft", version=version)
    host.run(["iptables", "-A", "INPUT", *MERGED])
    assert (host.run(["iptables", "-C", "INPUT", *MERGED]).returncode == 1) is misses
    # the client is right either way
    ipt = FakeIPTables(mode="nft", version=version, runner=host)
    assert ipt.ensure_rule(A, "filter", "INPUT", *MERGED) is True
    assert ipt.delete_rule("filter", "INPUT", *MERGED) is True
    assert ipt.rules("filter", "INPUT") == []


def test_1_8_11_messages_name_options_by_their_long_name() -> None:
    host = FakeRunner(mode="legacy", version="1.8.11")
    res = host.run(["iptables", "-A", "INPUT", "-s", "192.0.2.1", "-s", "192.0.2.2"])
    assert res.returncode == 2
    assert res.stderr.decode().startswith(
        "iptables v1.8.11 (legacy): multiple --source options not allowed\n"
    )
    v6 = FakeIPTables(Protocol.IPV6, mode="legacy", version="1.8.11", runner=host)
    assert v6.protocol is Protocol.IPV6 and str(v6.version) == "1.8.11"
