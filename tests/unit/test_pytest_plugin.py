"""The pytest plugin's fixtures, as an agent's test suite sees them."""

from __future__ import annotations

import pytest

from iptwrap import Protocol
from iptwrap.fake import FakeIPTables, FakeRunner

pytest_plugins = ["pytester"]


def test_fake_iptables_is_fresh_nft_ipv4_by_default(fake_iptables: FakeIPTables) -> None:
    assert (fake_iptables.mode.value, fake_iptables.protocol) == ("nft", Protocol.IPV4)
    assert str(fake_iptables.version) == "1.8.9"
    assert fake_iptables.calls[1:] == []  # nothing but the version probe
    fake_iptables.ensure_chain("filter", "LEFT-BEHIND")  # the next test must not see it


def test_the_next_test_gets_a_new_host(fake_iptables: FakeIPTables) -> None:
    assert "LEFT-BEHIND" not in fake_iptables.list_chains("filter")


@pytest.mark.iptwrap(mode="legacy", ipv6=True, version="1.8.7")
def test_the_marker_chooses_backend_family_and_release(fake_iptables: FakeIPTables) -> None:
    assert fake_iptables.mode.value == "legacy" and fake_iptables.is_ipv6()
    assert str(fake_iptables.version) == "1.8.7"


def test_fake_host_holds_both_families(fake_host: FakeRunner) -> None:
    v4 = FakeIPTables(runner=fake_host)
    v6 = FakeIPTables(Protocol.IPV6, runner=fake_host)
    v4.ensure_chain("filter", "V4ONLY")
    assert "V4ONLY" not in v6.list_chains("filter")
    assert fake_host.calls  # both clients' calls land on the one host


def test_mode_both_runs_the_test_once_per_backend(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.iptwrap(mode="both")
        def test_either(fake_iptables):
            fake_iptables.ensure_chain("filter", "X")
            assert fake_iptables.mode.value in ("nft", "legacy")

        @pytest.mark.iptwrap(mode="bogus")
        def test_bad_marker(fake_iptables):
            pass
        """
    )
    result = pytester.runpytest("-v")  # the plugin comes by its entry point
    result.stdout.fnmatch_lines(["*test_either?nft? PASSED*", "*test_either?legacy? PASSED*"])
    result.stdout.fnmatch_lines(["*mode must be nft, legacy or both, not 'bogus'*"])
    assert result.ret != 0


def test_netns_iptables_skips_with_the_reason_when_not_root(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    pytester.makepyfile(
        """
        def test_real(netns_iptables):
            raise AssertionError("must not run")
        """
    )
    result = pytester.runpytest("-rs")
    result.stdout.fnmatch_lines(["*netns_iptables needs root*"])
    result.assert_outcomes(skipped=1)
