"""Divergences between the fake and real iptables found by the differential test.

Every expectation here was measured on real iptables 1.8.9 (``iptables-nft``,
``iptables-legacy`` and the ``ip6tables`` variants) in a throwaway network namespace
(``unshare -n``), then pinned against :class:`~iptwrap.fake.FakeRunner`.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import pytest

from iptwrap.fake import FakeRunner


def _run(fake: FakeRunner, *argv: str, data: Optional[str] = None) -> Tuple[int, str]:
    res = fake.run(list(argv), input=data.encode() if data is not None else None)
    return res.returncode, res.stderr.decode()


def _save(fake: FakeRunner, prog: str) -> List[str]:
    out = fake.run([prog + "-save"]).stdout.decode()
    return [line for line in out.splitlines() if line and not line.startswith("#")]


# ---- ip6tables-legacy -C: the comparison mask is sized for an ipt_entry ----------------
#
# ip6tables-legacy 1.8.9 passes sizeof(struct ipt_entry) to make_delete_mask() (fixed in
# 1.8.10), so libip6tc reads the mask 128 bytes too far: the data of the target and of
# most matches is not compared by -C (-D is not affected). Measured (seed 44 of the
# differential test, step 17):
#   ip6tables-legacy -A OUTPUT -j REJECT
#   ip6tables-legacy -C OUTPUT -j REJECT --reject-with no-route   -> rc 0


@pytest.mark.parametrize(
    "added, checked, rc",
    [
        (["-j", "REJECT"], ["-j", "REJECT", "--reject-with", "no-route"], 0),
        (["-j", "REJECT", "--reject-with", "adm-prohibited"], ["-j", "REJECT"], 0),
        (
            ["-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
            ["-p", "tcp", "-j", "REJECT"],
            0,
        ),
        (["-j", "LOG", "--log-prefix", "a"], ["-j", "LOG", "--log-prefix", "b"], 0),
        (["-m", "frag", "--fragid", "100"], ["-m", "frag", "--fragid", "200"], 0),
        (
            ["-m", "frag", "--fragmore", "-j", "DROP"],
            ["-m", "frag", "--fragid", "100", "-j", "DROP"],
            0,
        ),
        (["-m", "hl", "--hl-eq", "5"], ["-m", "hl", "--hl-eq", "6"], 0),
        (["-p", "tcp", "--dport", "22"], ["-p", "tcp", "--dport", "23"], 0),
        (
            ["-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"],
            ["-m", "conntrack", "--ctstate", "ESTABLISHED", "-j", "ACCEPT"],
            0,
        ),
        # still compared: the entry itself, the verdict, the match names and big matches
        (["-p", "tcp", "--dport", "22"], ["-p", "udp", "--dport", "22"], 1),
        (["-s", "2001:db8::1", "-j", "REJECT"], ["-s", "2001:db8::2", "-j", "REJECT"], 1),
        (["-j", "ACCEPT"], ["-j", "DROP"], 1),
        (["-m", "hl", "--hl-eq", "5"], ["-m", "mark", "--mark", "5"], 1),
        (["-m", "comment", "--comment", "a"], ["-m", "comment", "--comment", "b"], 1),
        (["-m", "rt", "--rt-type", "0"], ["-m", "rt", "--rt-type", "2"], 1),
        (
            ["-m", "string", "--algo", "bm", "--string", "a"],
            ["-m", "string", "--algo", "bm", "--string", "b"],
            1,
        ),
        # a match followed by a big one is read through the big one's mask
        (
            ["-p", "tcp", "--dport", "22", "-m", "comment", "--comment", "a"],
            ["-p", "tcp", "--dport", "23", "-m", "comment", "--comment", "a"],
            1,
        ),
        (
            ["-m", "comment", "--comment", "a", "-p", "tcp", "--dport", "22"],
            ["-m", "comment", "--comment", "a", "-p", "tcp", "--dport", "23"],
            0,
        ),
    ],
)
def test_ip6tables_legacy_check_ignores_most_extension_data(
    added: List[str], checked: List[str], rc: int
) -> None:
    fake = FakeRunner(mode="legacy")
    assert _run(fake, "ip6tables-legacy", "-A", "FORWARD", *added)[0] == 0
    assert _run(fake, "ip6tables-legacy", "-C", "FORWARD", *checked)[0] == rc


def test_ip6tables_legacy_delete_still_compares_everything() -> None:
    # -D builds its mask for the right entry size: only -C is affected (measured)
    fake = FakeRunner(mode="legacy")
    p = "ip6tables-legacy"
    assert _run(fake, p, "-A", "OUTPUT", "-j", "REJECT")[0] == 0
    assert _run(fake, p, "-A", "OUTPUT", "-m", "hl", "--hl-eq", "5")[0] == 0
    assert _run(fake, p, "-D", "OUTPUT", "-j", "REJECT", "--reject-with", "no-route") == (
        1,
        "ip6tables: No chain/target/match by that name.\n",
    )
    assert _run(fake, p, "-D", "OUTPUT", "-m", "hl", "--hl-eq", "6") == (
        1,
        "ip6tables: Bad rule (does a matching rule exist in that chain?).\n",
    )
    assert _run(fake, p, "-C", "OUTPUT", "-m", "hl", "--hl-eq", "6")[0] == 0


@pytest.mark.parametrize("prog", ["iptables-legacy", "ip6tables-nft", "iptables-nft"])
def test_other_binaries_compare_the_target_data(prog: str) -> None:
    fake = FakeRunner(mode=prog.split("-")[1])
    w = "icmp-net-unreachable" if prog.startswith("iptables") else "no-route"
    assert _run(fake, prog, "-A", "OUTPUT", "-j", "REJECT")[0] == 0
    assert _run(fake, prog, "-C", "OUTPUT", "-j", "REJECT", "--reject-with", w)[0] == 1


# ---- nft restore: a rule refused on its own aborts the batch before validation ---------
#
# Measured (seed 120 of the differential test, nft, both families, step 37):
#   iptables-nft-restore --noflush <<EOF
#   *nat
#   :USR-A - [0:0]
#   -A PREROUTING -j USR-A
#   -A USR-A -j MASQUERADE --random
#   -A OUTPUT -j MASQUERADE
#   COMMIT
#   EOF
# reports only line 5 (MASQUERADE put in OUTPUT): nf_tables never commits a batch with
# a refused message, so the table validation that would refuse line 4 (MASQUERADE
# reached from PREROUTING) does not run.


@pytest.mark.parametrize("family", [4, 6])
def test_nft_restore_direct_refusal_hides_validation_errors(family: int) -> None:
    prog = "ip6tables-nft" if family == 6 else "iptables-nft"
    fake = FakeRunner(mode="nft")
    data = (
        "*nat\n:USR-A - [0:0]\n-A PREROUTING -j USR-A\n-A USR-A -j MASQUERADE\n"
        "-A OUTPUT -j MASQUERADE\nCOMMIT\n"
    )
    rc, err = _run(fake, prog + "-restore", "--noflush", data=data)
    assert (rc, err) == (
        4,
        f"{prog}-restore v1.8.9 (nf_tables): \n"
        "line 5: RULE_APPEND failed (Invalid argument): rule in chain OUTPUT\n",
    )


@pytest.mark.parametrize("family", [4, 6])
def test_nft_restore_validation_errors_without_direct_refusal(family: int) -> None:
    prog = "ip6tables-nft" if family == 6 else "iptables-nft"
    fake = FakeRunner(mode="nft")
    data = "*nat\n:USR-A - [0:0]\n-A PREROUTING -j USR-A\n-A USR-A -j MASQUERADE\nCOMMIT\n"
    rc, err = _run(fake, prog + "-restore", "--noflush", data=data)
    assert (rc, err) == (
        4,
        f"{prog}-restore v1.8.9 (nf_tables): \n"
        "line 4: RULE_APPEND failed (Invalid argument): rule in chain USR-A\n",
    )


# ---- nft --noflush: a ``:CHAIN`` flush leaves the old rules in iptables-nft's cache -----
#
# Measured with iptables-nft 1.8.9 in a namespace, chain X holding
# "-s 10.0.0.1/32 -j ACCEPT" and "-s 10.0.0.2/32 -j DROP", then
# ``iptables-nft-restore --noflush`` of "*filter / :X - [0:0] / <lines> / COMMIT".

_FLUSHED_CACHE = [
    ("-D X 1", 4, "line 3: RULE_DELETE failed (No such file or directory): rule in chain X\n"),
    ("-D X 3", 1, "iptables-nft-restore: line 3 failed: Index of deletion too big.\n"),
    (
        "-R X 1 -j RETURN",
        4,
        "line 3: RULE_REPLACE failed (No such file or directory): rule in chain X\n",
    ),
    ("-Z X 1", 4, "line 3: RULE_REPLACE failed (No such file or directory): rule in chain X\n"),
    (
        "-D X -s 10.0.0.1 -j ACCEPT",
        4,
        "line 3: RULE_DELETE failed (No such file or directory): rule in chain X\n",
    ),
    (
        "-A X -j RETURN\n-A X -j ACCEPT\n-D X 2",
        4,
        "line 5: RULE_DELETE failed (No such file or directory): rule in chain X\n",
    ),
    ("-F X\n-D X 1", 1, "iptables-nft-restore: line 4 failed: Index of deletion too big.\n"),
    ("-I X 3 -j RETURN", 0, ""),
    ("-C X -s 10.0.0.1 -j ACCEPT", 0, ""),
    ("-A X -j RETURN\n-I X 2 -j ACCEPT", 0, ""),
]


def _flushed_fake() -> FakeRunner:
    fake = FakeRunner(mode="nft")
    for args in (
        ["-N", "X"],
        ["-A", "X", "-s", "10.0.0.1", "-j", "ACCEPT"],
        ["-A", "X", "-s", "10.0.0.2", "-j", "DROP"],
    ):
        assert _run(fake, "iptables-nft", *args)[0] == 0
    return fake


@pytest.mark.parametrize("lines, rc, err", _FLUSHED_CACHE)
def test_nft_noflush_chain_flush_keeps_rules_in_cache(lines: str, rc: int, err: str) -> None:
    fake = _flushed_fake()
    data = f"*filter\n:X - [0:0]\n{lines}\nCOMMIT\n"
    got_rc, got_err = _run(fake, "iptables-nft-restore", "--noflush", data=data)
    if rc == 4:
        err = "iptables-nft-restore v1.8.9 (nf_tables): \n" + err
    assert (got_rc, got_err) == (rc, err)
    listed = fake.run(["iptables-nft", "-S", "X"]).stdout.decode().splitlines()
    if rc:
        assert listed == ["-N X", "-A X -s 10.0.0.1/32 -j ACCEPT", "-A X -s 10.0.0.2/32 -j DROP"]
    elif lines == "-A X -j RETURN\n-I X 2 -j ACCEPT":
        # inserted before the second cached (flushed) rule: before RETURN
        assert listed == ["-N X", "-A X -j ACCEPT", "-A X -j RETURN"]
    elif lines.startswith("-C"):
        assert listed == ["-N X"]
    else:
        assert listed == ["-N X", "-A X -j RETURN"]


# ---- nft TCPMSS reached through a jump: its matches are still checked ---------------------
#
# iptables-nft turns TCPMSS into native expressions whose hook restriction the kernel
# applies only in the base chain holding the rule; but the matches of that rule keep
# theirs. Measured (iptables-nft and ip6tables-nft 1.8.9, mangle table):
#   -N X; -A PREROUTING -j X
#   -A X -p tcp -j TCPMSS --set-mss 100                     -> rc 0
#   -A X -m owner --uid-owner 0 -p tcp -j TCPMSS --set-mss 100
#     -> rc 4 "RULE_APPEND failed (Invalid argument): rule in chain X"


@pytest.mark.parametrize("prog", ["iptables-nft", "ip6tables-nft"])
def test_nft_tcpmss_through_jump_keeps_match_hooks(prog: str) -> None:
    fake = FakeRunner(mode="nft")
    m = ["-t", "mangle"]
    assert _run(fake, prog, *m, "-N", "X")[0] == 0
    assert _run(fake, prog, *m, "-A", "PREROUTING", "-j", "X")[0] == 0
    tcpmss = ["-p", "tcp", "-j", "TCPMSS", "--set-mss", "100"]
    assert _run(fake, prog, *m, "-A", "X", *tcpmss) == (0, "")
    short = prog.split("-")[0]
    assert _run(fake, prog, *m, "-A", "X", "-m", "owner", "--uid-owner", "0", *tcpmss) == (
        4,
        f"{short} v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain X\n",
    )
    # the native TCPMSS is accepted even in PREROUTING itself (measured)
    assert _run(fake, prog, *m, "-A", "PREROUTING", *tcpmss) == (0, "")


# ---- iptables-nft -Z CHAIN N on a missing chain: a stale errno -------------------------
#
# iptables-nft 1.8.9 fails -Z CHAIN N for a chain it cannot find without setting errno.
# Measured in namespaces (differential test seeds 18, 67, 96): the message is "Bad rule
# (does a matching rule exist in that chain?)." (ENOENT) unless one particular built-in
# chain of the table exists -- filter/security OUTPUT, raw/mangle/nat PREROUTING --
# then "Incompatible with this kernel." (errno 0). legacy says "No chain/target/match".

_BAD_RULE = "Bad rule (does a matching rule exist in that chain?).\n"
_INCOMPAT = "Incompatible with this kernel.\n"


@pytest.mark.parametrize("prog", ["iptables-nft", "ip6tables-nft"])
@pytest.mark.parametrize(
    "setup, table, chain, msg",
    [
        ([], "mangle", "USR-A", _BAD_RULE),
        ([], "mangle", "PREROUTING", _BAD_RULE),
        (["-A", "INPUT", "-j", "ACCEPT"], "filter", "OUTPUT", _BAD_RULE),
        (["-P", "FORWARD", "ACCEPT"], "filter", "NOPE", _BAD_RULE),
        (["-F", "OUTPUT"], "filter", "NOPE", _INCOMPAT),
        (["-F", "OUTPUT"], "filter", "INPUT", _INCOMPAT),
        (["-t", "nat", "-A", "PREROUTING", "-j", "ACCEPT"], "nat", "POSTROUTING", _INCOMPAT),
        (["-t", "nat", "-A", "POSTROUTING", "-j", "ACCEPT"], "nat", "NOPE", _BAD_RULE),
        (["-t", "raw", "-F", "PREROUTING"], "raw", "NOPE", _INCOMPAT),
        (["-t", "raw", "-F", "OUTPUT"], "raw", "NOPE", _BAD_RULE),
        (["-t", "mangle", "-F", "PREROUTING"], "mangle", "NOPE", _INCOMPAT),
        (["-t", "mangle", "-F", "OUTPUT"], "mangle", "NOPE", _BAD_RULE),
    ],
)
def test_nft_zero_rule_of_missing_chain(
    prog: str, setup: List[str], table: str, chain: str, msg: str
) -> None:
    fake = FakeRunner(mode="nft")
    if setup:
        assert _run(fake, prog, *setup)[0] == 0
    short = prog.split("-")[0]
    assert _run(fake, prog, "-t", table, "-Z", chain, "1") == (1, f"{short}: {msg}")


def test_legacy_zero_rule_of_missing_chain() -> None:
    fake = FakeRunner(mode="legacy")
    assert _run(fake, "iptables-legacy", "-Z", "USR-A", "2") == (
        1,
        "iptables: No chain/target/match by that name.\n",
    )


# ---- nft restore: -E of a chain declared with ``:CHAIN`` in the same batch -----------------
#
# Measured (iptables-nft 1.8.9, differential test seed 2, step 30): with X existing,
#   iptables-nft-restore --noflush <<< "*filter / :X - [0:0] / -E X Y / COMMIT"
# fails with rc 4 "line 3: CHAIN_RENAME failed (No such file or directory): chain Y"
# and X stays as it was (iptables-nft re-adds a declared chain without its handle).


@pytest.mark.parametrize("with_rule", [False, True])
def test_nft_restore_rename_of_declared_chain_fails(with_rule: bool) -> None:
    fake = FakeRunner(mode="nft")
    assert _run(fake, "iptables-nft", "-N", "X")[0] == 0
    if with_rule:
        assert _run(fake, "iptables-nft", "-A", "X", "-j", "ACCEPT")[0] == 0
    data = "*filter\n:X - [0:0]\n-E X Y\nCOMMIT\n"
    assert _run(fake, "iptables-nft-restore", "--noflush", data=data) == (
        4,
        "iptables-nft-restore v1.8.9 (nf_tables): \n"
        "line 3: CHAIN_RENAME failed (No such file or directory): chain Y\n",
    )
    saved = _save(fake, "iptables-nft")
    assert ":X - [0:0]" in saved and ("-A X -j ACCEPT" in saved) == with_rule


def test_nft_restore_rename_of_flushed_chain_works() -> None:
    # measured: "-F X" (not a declaration) then "-E X Y" renames at COMMIT
    fake = FakeRunner(mode="nft")
    assert _run(fake, "iptables-nft", "-N", "X")[0] == 0
    assert _run(fake, "iptables-nft", "-A", "X", "-j", "ACCEPT")[0] == 0
    data = "*filter\n-F X\n-E X Y\nCOMMIT\n"
    assert _run(fake, "iptables-nft-restore", "--noflush", data=data) == (0, "")
    assert _save(fake, "iptables-nft")[-2:] == [":Y - [0:0]", "COMMIT"]


# ---- iptables-nft-restore crashes on -R N / -Z N of a rule added in the same batch --------
#
# Measured (iptables-nft-restore 1.8.9, differential test seed 50, step 24): the rule has
# no kernel handle yet and the binary dies with SIGSEGV (rc -11 when executed directly,
# 139 from a shell); nothing of that block is applied, earlier COMMITs stay.


@pytest.mark.parametrize(
    "payload",
    [
        "*filter\n:X - [0:0]\n-A X -j DROP\n-R X 1 -j ACCEPT\nCOMMIT\n",
        "*filter\n-A INPUT -j DROP\n-Z INPUT 1\nCOMMIT\n",
        "*filter\n-A INPUT -j DROP\nCOMMIT\n*filter\n-I INPUT 1 -j RETURN\n-R INPUT 1 -j ACCEPT\nCOMMIT\n",
    ],
)
def test_nft_restore_segfaults_replacing_a_batch_rule(payload: str) -> None:
    fake = FakeRunner(mode="nft")
    res = fake.run(["iptables-nft-restore", "--noflush"], input=payload.encode())
    assert (res.returncode, res.stderr) == (-11, b"")
    expected = ["-A INPUT -j DROP"] if payload.count("COMMIT") == 2 else []
    assert [x for x in _save(fake, "iptables-nft") if x.startswith("-A")] == expected


def test_nft_restore_replacing_an_older_rule_works() -> None:
    # measured: the same -R on a rule committed before is fine
    fake = FakeRunner(mode="nft")
    assert _run(fake, "iptables-nft", "-A", "INPUT", "-j", "DROP")[0] == 0
    data = "*filter\n-A INPUT -j DROP\n-R INPUT 1 -j ACCEPT\nCOMMIT\n"
    assert _run(fake, "iptables-nft-restore", "--noflush", data=data) == (0, "")
    assert [x for x in _save(fake, "iptables-nft") if x.startswith("-A")] == [
        "-A INPUT -j ACCEPT",
        "-A INPUT -j DROP",
    ]


def test_nft_restore_later_syntax_error_wins_over_the_crash() -> None:
    # measured (differential test seed 50, ipv6, step 24): the crash comes at COMMIT,
    # a parse error on a later line is reported first
    fake = FakeRunner(mode="nft")
    data = (
        "*nat\n:USR-B - [0:0]\n-A USR-B -j ACCEPT\n-R USR-B 1 -j RETURN\n"
        "-A PREROUTING -o docker0 -j ACCEPT\nCOMMIT\n"
    )
    rc, err = _run(fake, "ip6tables-nft-restore", "--noflush", data=data)
    assert rc == 2
    assert err.startswith(
        "ip6tables-nft-restore v1.8.9 (nf_tables): Can't use -o with PREROUTING\n\n"
        "Error occurred at line: 5\n"
    )


def test_nft_restore_missing_jump_wins_over_the_crash() -> None:
    # measured (differential test seed 63, ipv6, step 10): "-R FORWARD 1" of a rule of
    # the batch, then a jump to a missing chain: the jump error is reported
    fake = FakeRunner(mode="nft")
    data = "*filter\n-A FORWARD -j RETURN\n-R FORWARD 1 -j ACCEPT\n-A OUTPUT -j USR-A\nCOMMIT\n"
    rc, err = _run(fake, "ip6tables-nft-restore", "--noflush", data=data)
    assert rc == 2
    assert err.startswith(
        "ip6tables-nft-restore v1.8.9 (nf_tables): Chain 'USR-A' does not exist\n"
        "Error occurred at line: 5\n"
    )


def test_nft_restore_rename_failure_and_direct_refusal_both_reported() -> None:
    # measured (differential test seed 106, ipv6, step 15)
    fake = FakeRunner(mode="nft")
    data = (
        "*raw\n:USR-B - [0:0]\n-E USR-B NEWNAME\n-F PREROUTING\n"
        "-A USR-B -m rpfilter --invert -j DROP\n-A OUTPUT -m rpfilter --invert -j DROP\nCOMMIT\n"
    )
    assert _run(fake, "ip6tables-nft-restore", data=data) == (
        4,
        "ip6tables-nft-restore v1.8.9 (nf_tables): \n"
        "line 3: CHAIN_RENAME failed (No such file or directory): chain NEWNAME\n"
        "line 6: RULE_APPEND failed (Invalid argument): rule in chain OUTPUT\n",
    )


def test_nft_restore_runtime_error_wins_over_the_crash() -> None:
    # measured (differential test seed 151, step 4): the crash comes last
    fake = FakeRunner(mode="nft")
    data = (
        "*raw\n-A OUTPUT -j ACCEPT\n-R OUTPUT 1 -j RETURN\n-A OUTPUT -j CT --zone-orig 1\n"
        "-D PREROUTING 3\nCOMMIT\n"
    )
    assert _run(fake, "iptables-nft-restore", data=data) == (
        1,
        "iptables-nft-restore: line 5 failed: No chain/target/match by that name.\n",
    )


# ---- nft restore: -I N that iptables-nft turns into an append is reported as such ------
#
# Measured (iptables-nft-restore 1.8.9, differential test seed 155, step 20): INPUT holds
# one refused rule of the batch, "-I INPUT 2" is an append in iptables-nft's cache.


def test_nft_restore_refused_insert_past_the_end_is_an_append() -> None:
    fake = FakeRunner(mode="nft")
    data = (
        "*nat\n:KUBE-SVC-X - [0:0]\n-A INPUT -j DNAT --to 10.0.0.2\n"
        "-I INPUT 2 -p udp --dport 53 -j DNAT --to-destination 10.0.0.53:5353\nCOMMIT\n"
    )
    assert _run(fake, "iptables-nft-restore", data=data) == (
        4,
        "iptables-nft-restore v1.8.9 (nf_tables): \n"
        "line 3: RULE_APPEND failed (Invalid argument): rule in chain INPUT\n"
        "line 4: RULE_APPEND failed (Invalid argument): rule in chain INPUT\n",
    )


# ---- ip6tables-nft -C/-D ignore the prefix length of -s/-d ------------------------------
#
# Measured (ip6tables-nft 1.8.9, differential test seed 33, 80 steps, step 77):
#   ip6tables-nft -A FORWARD -s 2001:db8::/32 -j ACCEPT
#   ip6tables-nft -C FORWARD -s 2001:db8::5/64 -j ACCEPT   -> rc 0 (also -D, -d, restore)
# iptables-nft (IPv4) compares the masks: the same with 10.0.0.0/8 vs 10.0.0.5/16 -> rc 1.


def test_ip6tables_nft_check_and_delete_ignore_prefix_length() -> None:
    fake = FakeRunner(mode="nft")
    p = "ip6tables-nft"
    assert _run(fake, p, "-A", "FORWARD", "-s", "2001:db8::/32", "-j", "ACCEPT")[0] == 0
    assert _run(fake, p, "-A", "FORWARD", "-d", "2001:db8::/32", "-j", "DROP")[0] == 0
    assert _run(fake, p, "-C", "FORWARD", "-s", "2001:db8::5/64", "-j", "ACCEPT") == (0, "")
    assert _run(fake, p, "-C", "FORWARD", "-d", "2001:db8::5/64", "-j", "DROP") == (0, "")
    assert _run(fake, p, "-C", "FORWARD", "-s", "2001:db9::/32", "-j", "ACCEPT")[0] == 1
    assert _run(fake, p, "-D", "FORWARD", "-d", "2001:db8::5/64", "-j", "DROP") == (0, "")
    data = "*filter\n-C FORWARD -s 2001:db8::5/64 -j ACCEPT\nCOMMIT\n"
    assert _run(fake, p + "-restore", "--noflush", data=data) == (0, "")
    assert [x for x in _save(fake, p) if x.startswith("-A")] == [
        "-A FORWARD -s 2001:db8::/32 -j ACCEPT"
    ]


def test_iptables_nft_check_compares_prefix_length() -> None:
    fake = FakeRunner(mode="nft")
    assert _run(fake, "iptables-nft", "-A", "FORWARD", "-s", "10.0.0.0/8", "-j", "ACCEPT")[0] == 0
    assert _run(fake, "iptables-nft", "-C", "FORWARD", "-s", "10.0.0.5/16", "-j", "ACCEPT")[0] == 1
