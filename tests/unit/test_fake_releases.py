"""The fake answers as the release it is told: 1.8.7, 1.8.9 (the default) or 1.8.11.

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


# ---- 1.8.7 (Debian 11): every value below was printed by the real 1.8.7 binaries in a
# namespace (tests/data/releases/1.8.7/, and the runs quoted in docs/releases.md)


def _host(mode: str, version: str = "1.8.7") -> FakeRunner:
    return FakeRunner(mode=mode, version=version)


def _run(host: FakeRunner, *argv: str, data: bytes = b"") -> tuple[int, str, str]:
    r = host.run(list(argv), input=data or None)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_1_8_7_nft_check_prints_the_rule_it_found() -> None:
    host = _host("nft")
    host.run(["iptables", "-N", "FOO"])
    rule = ["!", "-s", "192.0.2.0/24", "-d", "198.51.100.1", "-i", "eth0", "-g", "FOO"]
    host.run(["iptables", "-A", "INPUT", *rule])
    assert _run(host, "iptables", "-C", "INPUT", *rule) == (
        0,
        "FOO  all opt -- in eth0 out * !192.0.2.0/24  -> 198.51.100.1  [goto] \n",
        "",
    )
    v6 = ["-p", "tcp", "--dport", "22", "-j", "ACCEPT"]
    host.run(["ip6tables", "-A", "INPUT", *v6])
    assert _run(host, "ip6tables", "-C", "INPUT", *v6)[1] == (
        "ACCEPT  tcp opt    in * out *  ::/0  -> ::/0   tcp dpt:22\n"
    )
    # a restore's -C line prints it too; legacy and 1.8.9 print nothing
    host.run(["iptables", "-A", "INPUT", "-p", "47", "-j", "DROP"])
    restore = b"*filter\n-C INPUT -p 47 -j DROP\nCOMMIT\n"
    assert _run(host, "iptables-restore", "--noflush", data=restore)[1] == (
        "DROP  47 opt -- in * out *  0.0.0.0/0  -> 0.0.0.0/0  \n"
    )
    for other in (_host("legacy"), _host("nft", "1.8.9")):
        other.run(["iptables", "-A", "INPUT", *v6])
        assert _run(other, "iptables", "-C", "INPUT", *v6) == (0, "", "")


def test_1_8_7_rule_text_differences() -> None:
    nft, legacy = (
        FakeIPTables(mode="nft", version="1.8.7"),
        FakeIPTables(mode="legacy", version="1.8.7"),
    )
    for ipt in (nft, legacy):
        ipt.append_rule("filter", "INPUT", "-j", "NFLOG", "--nflog-prefix", "abc")
        ipt.append_rule("filter", "INPUT", "-m", "string", "--string", "foo", "--algo", "kmp")
        ipt.append_rule("filter", "INPUT", "-s", "10.0.0.0/255.255.0.255", "-j", "ACCEPT")
    assert nft.rules("filter", "INPUT") == [
        "-A INPUT -j NFLOG --nflog-prefix  abc",
        '-A INPUT -m string --string "foo" --algo kmp --to 65535 ',  # no target: a space
        "-A INPUT -s 10.0.0.0/16 -j ACCEPT",  # only the mask's leading ones
    ]
    assert legacy.rules("filter", "INPUT") == [
        "-A INPUT -j NFLOG --nflog-prefix  abc",
        '-A INPUT -m string --string "foo" --algo kmp --to 65535',
        "-A INPUT -s 10.0.0.0/255.255.0.255 -j ACCEPT",
    ]
    # nft keeps the two tcp matches 1.8.9 merges
    nft.append_rule("filter", "FORWARD", *MERGED)
    assert nft.rules("filter", "FORWARD") == [
        "-A FORWARD -p tcp -m tcp --dport 22 -m tcp --sport 1000 -j ACCEPT"
    ]
    # a mask with no leading one reaches the kernel, which refuses it
    host = _host("nft")
    assert _run(host, "iptables", "-A", "INPUT", "-s", "10.0.0.0/0.255.255.0")[2] == (
        "iptables v1.8.7 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT\n"
    )


def test_1_8_7_listing_columns() -> None:
    host = _host("legacy")
    host.run(["iptables", "-A", "INPUT", "-p", "udplite", "-j", "ACCEPT"])
    host.run(["iptables", "-A", "INPUT", "-m", "mac", "--mac-source", "00:11:22:AA:BB:CC"])
    host.run(["ip6tables", "-A", "INPUT", "-p", "58", "-j", "ACCEPT"])
    out = _run(host, "iptables", "-L", "INPUT", "-n", "-v")[1].splitlines()
    assert out[2].startswith("    0     0 ACCEPT     udplite--  *      *       0.0.0.0/0")
    assert out[3].endswith("MAC00:11:22:aa:bb:cc")
    out6 = _run(host, "ip6tables", "-L", "INPUT", "-n", "-v")[1].splitlines()
    assert out6[2].startswith("    0     0 ACCEPT     icmpv6    *      *       ::/0")


@pytest.mark.parametrize("mode", ["nft", "legacy"])
def test_1_8_7_messages(mode: str) -> None:
    host = _host(mode)
    tag = "nf_tables" if mode == "nft" else "legacy"
    try_line = "Try `iptables -h' or 'iptables --help' for more information.\n"
    # the messages whose format ended in a newline leave a blank line
    assert _run(host, "iptables", "-A", "INPUT", "-D", "INPUT")[2] == (
        f"iptables v1.8.7 ({tag}): Cannot use -D with -A\n\n{try_line}"
    )
    assert _run(host, "iptables", "-A", "INPUT", "-p", "icmp", "--icmp-type", "bogus")[2] == (
        f"iptables v1.8.7 ({tag}): Invalid ICMP type `bogus'\n\n{try_line}"
    )
    # ... the others do not
    assert _run(host, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "2:1")[2] == (
        f"iptables v1.8.7 ({tag}): invalid portrange (min > max)\n{try_line}"
    )
    assert _run(host, "iptables", "-h")[1].startswith("iptables v1.8.7\n\nUsage:")


def test_1_8_7_nft_chains() -> None:
    host = _host("nft")
    assert _run(host, "iptables", "-N", "a b")[0] == 0  # 1.8.9 refuses it
    for name in ("ZZZ", "AAA", "MMM"):
        host.run(["iptables", "-N", name])
    host.run(["iptables", "-A", "ZZZ", "-j", "ACCEPT"])
    host.run(["iptables", "-A", "MMM", "-j", "ACCEPT"])
    assert _run(host, "iptables", "-X")[2] == (
        "iptables v1.8.7 (nf_tables):  CHAIN_USER_DEL failed (Device or resource busy): chain MMM\n"
    )
    host.run(["iptables", "-A", "OUTPUT", "-j", "ACCEPT"])
    assert _run(host, "iptables", "-X", "OUTPUT") == (
        1,
        "",
        "iptables: Can't delete built-in chain. Run `dmesg' for more information.\n",
    )
    # -Z zeroes the policy counters and leaves the rules'
    host.run(
        ["iptables-restore", "-c"],
        input=b"*filter\n:INPUT ACCEPT [3:30]\n[5:50] -A INPUT -j ACCEPT\nCOMMIT\n",
    )
    host.run(["iptables", "-Z", "INPUT"])
    saved = host.save_text(counters=True)
    assert ":INPUT ACCEPT [0:0]\n" in saved and "[5:50] -A INPUT -j ACCEPT\n" in saved


def test_1_8_7_nft_restore_names_the_commit_line() -> None:
    host = _host("nft")
    assert _run(host, "iptables-restore", "--noflush", data=b"*filter\n-X FOO\nCOMMIT\n") == (
        1,
        "",
        "iptables-restore: line 3 failed\n",
    )
    busy = b"*filter\n:FOO - [0:0]\n-A FOO -j ACCEPT\n-X FOO\nCOMMIT\n"
    assert _run(host, "iptables-restore", "--noflush", data=busy)[2] == (
        "iptables-restore v1.8.7 (nf_tables): \n"
        "line 5: CHAIN_USER_DEL failed (Device or resource busy): chain FOO\n"
    )


def test_1_8_7_legacy_opens_the_table_before_refusing_an_interface() -> None:
    host = _host("legacy")
    rc, _, err = _run(host, "iptables", "-t", "mangle", "-A", "OUTPUT", "-i", "eth0")
    assert rc == 2 and err.startswith("iptables v1.8.7 (legacy): Can't use -i with OUTPUT\n\n")
    assert host.save_text().startswith("*mangle\n")
    assert _host("legacy", "1.8.9").save_text() == ""


# ---- 1.8.11 (Debian 13), found by the differential test against its binaries


@pytest.mark.parametrize("mode", ["nft", "legacy"])
def test_1_8_11_replace_with_several_addresses_takes_the_first(mode: str) -> None:
    for version, expected in (("1.8.9", 2), ("1.8.11", 0)):
        host = _host(mode, version)
        host.run(["iptables", "-A", "INPUT", "-j", "ACCEPT"])
        rc, _, _ = _run(host, "iptables", "-R", "INPUT", "1", "-s", "192.0.2.1,192.0.2.2")
        assert rc == expected
    assert host.save_text().splitlines()[-2] == "-A INPUT -s 192.0.2.1/32"


def test_1_8_11_legacy_commit_keeps_policy_counters() -> None:
    for version, kept in (("1.8.9", "[0:0]"), ("1.8.11", "[6:60]")):
        host = _host("legacy", version)
        host.run(
            ["iptables-restore", "--noflush", "-c"],
            input=b"*filter\n:INPUT ACCEPT [6:60]\nCOMMIT\n",
        )
        host.run(["iptables", "-N", "X"])
        assert f":INPUT ACCEPT {kept}" in host.save_text(counters=True)


def test_1_8_11_nft_zero_of_a_builtin_chain_not_created_yet() -> None:
    assert _run(_host("nft", "1.8.11"), "iptables", "-t", "nat", "-Z", "INPUT") == (0, "", "")
    assert _run(_host("nft", "1.8.9"), "iptables", "-t", "nat", "-Z", "INPUT")[0] == 1


def test_1_8_11_ip6tables_nft_keeps_rule_counters() -> None:
    payload = b"*filter\n[2:0] -A INPUT -j RETURN\nCOMMIT\n"
    for version, kept in (("1.8.9", "[0:0]"), ("1.8.11", "[2:0]")):
        host = _host("nft", version)
        host.run(["ip6tables-restore", "-c"], input=payload)
        assert f"{kept} -A INPUT -j RETURN" in host.save_text(6, counters=True)


@pytest.mark.parametrize("version", ["1.8.7", "1.8.9", "1.8.11"])
def test_nft_restore_zero_then_zero_rule_crashes_on_every_release(version: str) -> None:
    # measured: rc 139 from a shell on all three (1.8.7 although its -Z keeps the
    # rules' counters); the fake reports a direct exec's -11
    host = _host("nft", version)
    host.run(
        ["iptables-restore", "-c"],
        input=b"*filter\n[3:4] -A INPUT -j ACCEPT\n[5:6] -A INPUT -j RETURN\nCOMMIT\n",
    )
    zero = b"*filter\n-Z INPUT\n-Z INPUT 1\nCOMMIT\n"
    assert host.run(["iptables-restore", "-c", "--noflush"], input=zero).returncode == -11


def test_1_8_7_nft_delete_all_chains_keeps_the_builtin_chains() -> None:
    # found by the differential test (seed 103): 1.8.9 drops the unused built-in
    # chains, and their counters with them
    payload = b"*filter\n:OUTPUT ACCEPT [9:0]\n:USR - [0:0]\nCOMMIT\n"
    for version, kept in (("1.8.7", "[9:0]"), ("1.8.9", "[0:0]")):
        host = _host("nft", version)
        host.run(["iptables-restore", "-c"], input=payload)
        host.run(["iptables", "-X"])
        assert f":OUTPUT ACCEPT {kept}" in host.save_text(counters=True)


def test_the_client_and_the_fake_gate_options_on_the_same_releases() -> None:
    """One table (``_rulespec.release.SINCE``): the fake once took -W from 1.6.0 while
    the client sent it from 1.6.1."""
    from iptwrap._version import WAIT_INTERVAL_MIN_VERSION

    assert str(WAIT_INTERVAL_MIN_VERSION) == "1.6.1"
    for version, accepted in (("1.6.0", False), ("1.6.1", True)):
        host = FakeRunner(mode="legacy", version=version)
        rc = host.run(["iptables", "-W", "100000", "-A", "INPUT", "-j", "ACCEPT"]).returncode
        assert (rc == 0) is accepted, version


@pytest.mark.parametrize("version", ["1.8.7", "1.8.9", "1.8.11"])
def test_restore_option_errors(version: str) -> None:
    """Measured on each release: getopt's message under argv[0], exit 1; legacy wants
    -w with -W, and from 1.8.9 says it ignores -W."""
    legacy, nft = _host("legacy", version), _host("nft", version)
    assert _run(legacy, "/usr/sbin/iptables-legacy-restore", "--bogus") == (
        1,
        "",
        "/usr/sbin/iptables-legacy-restore: unrecognized option '--bogus'\n"
        "Try `iptables-restore -h' for more information.\n",
    )
    assert _run(nft, "iptables-nft-restore", "-q")[2] == (
        "iptables-nft-restore: invalid option -- 'q'\n"
        "Try `iptables-nft-restore -h' for more information.\n"
    )
    warn = "" if version == "1.8.7" else "Ignoring deprecated --wait-interval option.\n"
    assert _run(legacy, "iptables-restore", "-W", "10") == (
        1,
        "",
        warn + "Option --wait-interval requires option --wait\n",
    )
    assert _run(legacy, "iptables-restore", "-w", "5", "-W", "10") == (0, "", warn)
    assert _run(nft, "iptables-restore", "-W", "10") == (0, "", "")
