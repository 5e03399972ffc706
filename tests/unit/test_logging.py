"""What iptwrap logs: each command at DEBUG, payloads on their own logger, retries at WARNING.

And what its messages show: the command shell-quoted, with an exit code only when the
command ran and failed.
"""

from __future__ import annotations

import logging
from typing import List

import pytest

import iptwrap
from iptwrap import RetryPolicy, RulePosition
from iptwrap._runner import SubprocessRunner
from iptwrap.fake import FakeIPTables, FakeRunner


def _messages(caplog: pytest.LogCaptureFixture, name: str = "iptwrap") -> List[str]:
    return [r.getMessage() for r in caplog.records if r.name == name]


def test_each_command_is_one_debug_line_with_exit_and_duration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ipt = FakeIPTables()
    with caplog.at_level(logging.DEBUG, logger="iptwrap"):
        ipt.ensure_rule(RulePosition.APPEND, "filter", "INPUT", "-m", "comment", "--comment", "a b")
    lines = _messages(caplog)
    assert len(lines) == len(ipt.calls)  # one line per command
    check, append = lines[-2:]
    assert check.startswith(
        "iptables -w 5 -t filter -C INPUT -m comment --comment 'a b': exit 1 in "
    )
    assert check.endswith(" ms")
    assert append.startswith("iptables -w 5 -t filter -A INPUT -m comment --comment 'a b': exit 0")
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


def test_a_restore_logs_its_size_and_the_payload_only_on_its_own_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ipt = FakeIPTables()
    with caplog.at_level(logging.DEBUG, logger="iptwrap"):
        logging.getLogger("iptwrap.payload").setLevel(logging.INFO)
        try:
            with ipt.batch() as b:
                b.append_rule("filter", "INPUT", "-j", "ACCEPT")
        finally:
            logging.getLogger("iptwrap.payload").setLevel(logging.NOTSET)
    (restore,) = [m for m in _messages(caplog) if "restore" in m]
    assert restore.startswith("iptables-restore --noflush -w 5: exit 0 in ")
    assert restore.endswith("(payload 34 bytes, 3 lines)")
    assert _messages(caplog, "iptwrap.payload") == []
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="iptwrap"), ipt.batch() as b:
        b.append_rule("filter", "INPUT", "-j", "DROP")
    (payload,) = _messages(caplog, "iptwrap.payload")
    assert payload.endswith("payload:\n*filter\n-A INPUT -j DROP\nCOMMIT\n")


def test_the_namespace_prefix_is_part_of_the_logged_command() -> None:
    from iptwrap._log import command_text

    runner = SubprocessRunner(netns="blue")
    assert command_text(["iptables", "-S"], runner.prefix) == "ip netns exec blue iptables -S"
    assert SubprocessRunner().prefix == []


def test_lock_retries_are_warnings_with_the_attempt_and_the_holders_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ipt = FakeIPTables(
        mode="legacy", lock_timeout=5, retry=RetryPolicy(attempts=3, initial_backoff=0.001)
    )
    ipt.present()
    ipt.fake.faults.lock_held(calls=2)
    with caplog.at_level(logging.DEBUG, logger="iptwrap"):
        ipt.append_rule("filter", "INPUT", "-j", "ACCEPT")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "(attempt 1 of 3)" in warnings[0] and "(attempt 2 of 3)" in warnings[1]
    assert all("Stopped waiting after" in w or "holding the xtables lock" in w for w in warnings)
    assert ipt.rules("filter", "INPUT") == ["-A INPUT -j ACCEPT"]


def test_nothing_is_logged_at_info_or_above_on_success(caplog: pytest.LogCaptureFixture) -> None:
    ipt = FakeIPTables()
    with caplog.at_level(logging.INFO, logger="iptwrap"):
        ipt.ensure_chain("filter", "AGENT")
        ipt.sync("AG-", {"filter": {"AG-X": [["-j", "ACCEPT"]]}})
        with ipt.batch() as b:
            b.append_rule("filter", "AGENT", "-j", "RETURN")
    assert caplog.records == []


def test_a_rule_passed_as_one_string_shows_as_one_quoted_word() -> None:
    ipt = FakeIPTables()
    with pytest.raises(iptwrap.IPTablesError) as err:
        ipt.append_rule("filter", "INPUT", "-s 192.0.2.1 -j ACCEPT")
    assert "-A INPUT '-s 192.0.2.1 -j ACCEPT' failed (exit 2)" in str(err.value)


def test_a_binary_that_never_ran_has_no_exit_code_in_its_message() -> None:
    host = FakeRunner(mode="nft")
    host.faults.missing_binary("iptables-nft")
    ipt = iptwrap.IPTables(runner=host, mode="nft")
    with pytest.raises(iptwrap.BinaryNotFoundError) as err:
        ipt.list_chains("filter")
    assert "exit" not in str(err.value)
    assert str(err.value) == "iptables-nft --version: iptables-nft: not found"


def test_a_backend_mismatch_says_what_was_asked_and_found_without_exit_0() -> None:
    host = FakeRunner(mode="legacy")  # its plain "iptables" is iptables-legacy
    plain = iptwrap.Binaries.for_mode(iptwrap.Protocol.IPV4, None)
    ipt = iptwrap.IPTables(runner=host, mode="nft", binaries=plain)
    with pytest.raises(iptwrap.VersionError) as err:
        ipt.list_chains("filter")
    assert "exit" not in str(err.value)
    assert str(err.value) == (
        "iptables --version: asked for the nft backend, but iptables is legacy"
    )
