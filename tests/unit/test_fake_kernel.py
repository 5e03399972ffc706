"""Unit tests of the fake's kernel model, printers, faults and FakeRunner.

These run against a tiny stub parser (``kernel_model.stub_parse``) so that they test the
kernel model alone: rule texts are given in canonical (iptables-save) form and the
stub passes them through unchanged.
"""

from __future__ import annotations

import pytest

from iptwrap._rulespec.model import Command, RuleSpec
from iptwrap._runner import RunnerTimeout
from iptwrap.fake._kernel import Kernel

from .kernel_model import BACKENDS, FakeRunner, ok, run

# ---- rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", BACKENDS)
def test_append_check_delete(mode: str) -> None:
    r = FakeRunner(mode=mode)
    ok(r, "iptables -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT")
    ok(r, "iptables -A INPUT -j DROP")
    ok(r, "iptables -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT")
    assert run(r, "iptables -C INPUT -j DROP")[0] == 0
    assert run(r, "iptables -C INPUT -j DROP -s 10.0.0.1/32") == (
        1,
        "",
        "iptables: Bad rule (does a matching rule exist in that chain?).\n",
    )
    # legacy answers ENOENT's generic text when the target is an extension or a chain
    assert run(r, "iptables -C INPUT -j REJECT")[2] == (
        "iptables: Bad rule (does a matching rule exist in that chain?).\n"
        if mode == "nft"
        else "iptables: No chain/target/match by that name.\n"
    )
    ok(r, "iptables -D INPUT -p tcp -m tcp --dport 22 -j ACCEPT")
    assert ok(r, "iptables -S INPUT") == (
        "-P INPUT ACCEPT\n-A INPUT -j DROP\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
    )
    ok(r, "iptables -D INPUT 1")
    assert run(r, "iptables -D INPUT 5")[2] == "iptables: Index of deletion too big.\n"


@pytest.mark.parametrize("mode", BACKENDS)
def test_insert_replace_indexes(mode: str) -> None:
    r = FakeRunner(mode=mode)
    assert run(r, "iptables -I INPUT 2 -j ACCEPT")[2] == "iptables: Index of insertion too big.\n"
    rc, _, err = run(r, "iptables -R INPUT 1 -j ACCEPT")
    assert rc == 1
    assert err == (
        "iptables: No chain/target/match by that name.\n"
        if mode == "nft"
        else "iptables: Index of replacement too big.\n"
    )
    ok(r, "iptables -A INPUT -j DROP")
    ok(r, "iptables -I INPUT 2 -j ACCEPT")
    ok(r, "iptables -I INPUT -s 192.0.2.1/32 -j ACCEPT")
    ok(r, "iptables -R INPUT 2 -c 3 4 -j RETURN")
    assert run(r, "iptables -R INPUT 9 -j ACCEPT")[2] == "iptables: Index of replacement too big.\n"
    assert r.save_text(counters=True) == (
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "[0:0] -A INPUT -s 192.0.2.1/32 -j ACCEPT\n[3:4] -A INPUT -j RETURN\n"
        "[0:0] -A INPUT -j ACCEPT\nCOMMIT\n"
    )


@pytest.mark.parametrize("mode", BACKENDS)
def test_missing_chain_messages(mode: str) -> None:
    r = FakeRunner(mode=mode)
    nochain = "iptables: No chain/target/match by that name.\n"
    badrule = "iptables: Bad rule (does a matching rule exist in that chain?).\n"
    assert run(r, "iptables -A NOPE -j ACCEPT")[2] == nochain
    assert run(r, "iptables -I NOPE -j ACCEPT")[2] == nochain
    assert run(r, "iptables -D NOPE -j ACCEPT")[2] == badrule
    assert run(r, "iptables -C NOPE -j ACCEPT")[2] == badrule
    assert run(r, "iptables -D NOPE 1")[2] == nochain
    assert run(r, "iptables -F NOPE")[2] == nochain
    assert run(r, "iptables -X NOPE")[2] == nochain
    rc, _, err = run(r, "iptables -L NOPE")
    assert rc == 1
    if mode == "nft":
        assert err == (
            "iptables v1.8.9 (nf_tables): chain `NOPE' in table `filter' is "
            "incompatible, use 'nft' tool.\n"
        )
    else:
        assert err == nochain


# ---- chains -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", BACKENDS)
def test_delete_chain_refusals(mode: str) -> None:
    r = FakeRunner(mode=mode)
    ok(r, "iptables -N FOO")
    ok(r, "iptables -N BAR")
    ok(r, "iptables -A FOO -j BAR")
    rc, _, err = run(r, "iptables -X FOO")
    if mode == "nft":
        assert (rc, err) == (
            4,
            "iptables v1.8.9 (nf_tables):  CHAIN_DEL failed (Device or resource busy): chain FOO\n",
        )
    else:
        assert (rc, err) == (1, "iptables: Directory not empty.\n")
    rc, _, err = run(r, "iptables -X BAR")
    assert err == (
        "iptables: Too many links.\n"
        if mode == "legacy"
        else "iptables v1.8.9 (nf_tables):  CHAIN_DEL failed (Device or resource busy): chain BAR\n"
    )
    # -X of everything is all-or-nothing
    rc, _, err = run(r, "iptables -X")
    assert rc != 0
    assert "BAR" in r.save_text() and "FOO" in r.save_text()
    ok(r, "iptables -F FOO")
    ok(r, "iptables -X")
    assert ":FOO" not in r.save_text()


@pytest.mark.parametrize("mode", BACKENDS)
def test_rename_moves_references(mode: str) -> None:
    r = FakeRunner(mode=mode)
    ok(r, "iptables -N FOO")
    ok(r, "iptables -A INPUT -s 10.0.0.1/32 -j FOO")
    assert run(r, "iptables -E FOO INPUT")[2] == "iptables: File exists.\n"
    assert run(r, "iptables -E NOPE BAR")[2] == "iptables: No chain/target/match by that name.\n"
    ok(r, "iptables -E FOO BAR")
    assert ok(r, "iptables -S") == (
        "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n-N BAR\n"
        "-A INPUT -s 10.0.0.1/32 -j BAR\n"
    )
    assert run(r, "iptables -C INPUT -s 10.0.0.1/32 -j BAR")[0] == 0
    assert "Chain BAR (1 references)" in ok(r, "iptables -L -n")


@pytest.mark.parametrize("mode", BACKENDS)
def test_policy(mode: str) -> None:
    r = FakeRunner(mode=mode)
    assert run(r, "iptables -N FOO") == (0, "", "")
    assert run(r, "iptables -P FOO ACCEPT")[2] == "iptables: Bad built-in chain name.\n"
    assert run(r, "iptables -P INPUT RETURN")[2] == (
        "iptables: Bad policy name. Run `dmesg' for more information.\n"
    )
    ok(r, "iptables -P FORWARD DROP")
    assert ok(r, "iptables -S FORWARD") == "-P FORWARD DROP\n"


def test_policy_counters_differ_by_backend() -> None:
    payload = "*filter\n:INPUT DROP [7:700]\n:FOO - [3:30]\n[5:100] -A INPUT -j FOO\nCOMMIT\n"
    for mode, expect in (("nft", "[0:0]"), ("legacy", "[11:22]")):
        r = FakeRunner(mode=mode)
        ok(r, "iptables-restore -c", payload)
        assert ":INPUT DROP [7:700]" in r.save_text()
        assert ok(r, "iptables -S -v") == (
            "-P INPUT DROP -c 7 700\n-P FORWARD ACCEPT -c 0 0\n-P OUTPUT ACCEPT -c 0 0\n"
            "-N FOO\n-A INPUT -c 5 100 -j FOO\n"
        )
        ok(r, "iptables -P INPUT DROP -c 11 22")
        assert f":INPUT DROP {expect}" in r.save_text()
    # when -P creates the table both end up [0:0]
    for mode in BACKENDS:
        r = FakeRunner(mode=mode)
        ok(r, "iptables -P INPUT DROP -c 11 22")
        assert ":INPUT DROP [0:0]" in r.save_text()


# ---- hooks and loops -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", BACKENDS)
def test_target_outside_hooks(mode: str) -> None:
    r = FakeRunner(mode=mode)
    rc, _, err = run(r, "iptables -t nat -A PREROUTING -j MASQUERADE")
    if mode == "nft":
        assert (rc, err) == (
            4,
            "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid "
            "argument): rule in chain PREROUTING\n",
        )
    else:
        assert (rc, err) == (1, "iptables: Invalid argument. Run `dmesg' for more information.\n")
    rc, _, err = run(r, "iptables -A INPUT -j DNAT --to-destination 1.2.3.4")
    assert rc == (4 if mode == "nft" else 1)
    # a user chain is checked against every hook that reaches it, both ways round
    ok(r, "iptables -t nat -N FOO")
    ok(r, "iptables -t nat -A FOO -j MASQUERADE")
    ok(r, "iptables -t nat -A POSTROUTING -j FOO")
    rc, _, err = run(r, "iptables -t nat -I PREROUTING -j FOO")
    assert rc == (4 if mode == "nft" else 1)
    if mode == "nft":
        assert "RULE_INSERT failed (Invalid argument): rule in chain PREROUTING" in err
    ok(r, "iptables -t nat -N BAR")
    ok(r, "iptables -t nat -A PREROUTING -j BAR")
    rc, _, err = run(r, "iptables -t nat -A BAR -j MASQUERADE")
    assert rc == (4 if mode == "nft" else 1)
    assert "-A PREROUTING -j BAR" in r.save_text()
    assert "-A BAR" not in r.save_text()


def test_legacy_skips_rules_after_unconditional_verdict() -> None:
    # verified on the real legacy kernel: mark_source_chains never reaches them
    r = FakeRunner(mode="legacy")
    ok(r, "iptables -t nat -A PREROUTING -j ACCEPT")
    ok(r, "iptables -t nat -A PREROUTING -j MASQUERADE")
    rn = FakeRunner(mode="nft")
    ok(rn, "iptables -t nat -A PREROUTING -j ACCEPT")
    assert run(rn, "iptables -t nat -A PREROUTING -j MASQUERADE")[0] == 4


@pytest.mark.parametrize("mode", BACKENDS)
def test_loops(mode: str) -> None:
    r = FakeRunner(mode=mode)
    ok(r, "iptables -N FOO")
    ok(r, "iptables -A FOO -j FOO")  # unreachable loops are fine
    rc, _, err = run(r, "iptables -A INPUT -j FOO")
    if mode == "nft":
        assert (rc, err) == (
            4,
            "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Too many "
            "links): rule in chain INPUT\n",
        )
    else:
        assert (rc, err) == (1, "iptables: Too many levels of symbolic links.\n")


# ---- tables ----------------------------------------------------------------------------------


def test_table_instantiation_and_order() -> None:
    leg = FakeRunner(mode="legacy")
    nft = FakeRunner(mode="nft")
    for r in (leg, nft):
        ok(r, "iptables -t nat -L -n")
        ok(r, "iptables-save -t raw")
    assert nft.save_text() == ""
    assert [ln for ln in leg.save_text().splitlines() if ln.startswith("*")] == ["*raw", "*nat"]
    for r in (leg, nft):
        for t in ("filter", "nat", "mangle", "raw"):
            ok(r, f"iptables -t {t} -A OUTPUT -j RETURN")
    order = {
        m: [ln for ln in r.save_text().splitlines() if ln.startswith("*")]
        for m, r in (("legacy", leg), ("nft", nft))
    }
    assert order["nft"] == ["*mangle", "*raw", "*filter", "*nat"]
    assert order["legacy"] == ["*mangle", "*filter", "*raw", "*nat"]


def test_user_chains_sorted_bytewise() -> None:
    r = FakeRunner()
    for n in ("zzz-lower", "ZZZ", "AAA", "_under", "1num", "KUBE-SEP-A", "KUBE-SEP", "KUBE_X"):
        ok(r, f"iptables -N {n}")
    decl = [ln for ln in r.save_text().splitlines() if ln.endswith("- [0:0]")]
    assert [d.split()[0][1:] for d in decl] == [
        "1num",
        "AAA",
        "KUBE-SEP",
        "KUBE-SEP-A",
        "KUBE_X",
        "ZZZ",
        "_under",
        "zzz-lower",
    ]


def test_bad_table() -> None:
    for mode, err in (
        (
            "nft",
            "iptables v1.8.9 (nf_tables): table 'nosuch' does not exist\n"
            "Perhaps iptables or your kernel needs to be upgraded.\n",
        ),
        (
            "legacy",
            "iptables v1.8.9 (legacy): can't initialize iptables table `nosuch': Table "
            "does not exist (do you need to insmod?)\n"
            "Perhaps iptables or your kernel needs to be upgraded.\n",
        ),
    ):
        assert run(FakeRunner(mode=mode), "iptables -t nosuch -L") == (3, "", err)


# ---- listing and counters ---------------------------------------------------------------------


def test_list_formats() -> None:
    r = FakeRunner()
    ok(r, "iptables -I INPUT -c 123456789 987654321 -s 192.0.2.1/32 -j ACCEPT")
    ok(r, "iptables -A INPUT -c 5 300 -p tcp -m tcp --dport 22 -j ACCEPT")
    assert ok(r, "iptables -L INPUT -n -v") == (
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n"
        " pkts bytes target     prot opt in     out     source               destination"
        "         \n"
        " 123M  988M ACCEPT     0    --  *      *       192.0.2.1/32         0.0.0.0/0    "
        "       \n"
        "    5   300 ACCEPT     0    --  *      *       0.0.0.0/0            0.0.0.0/0    "
        "       \n"
    )
    out = ok(r, "iptables -L INPUT -n -v -x --line-numbers")
    assert out.splitlines()[1] == (
        "num      pkts      bytes target     prot opt in     out     source               "
        "destination         "
    )
    assert out.splitlines()[2].startswith("1    123456789 987654321 ACCEPT     0    --  *")
    assert ok(r, "iptables -L INPUT -n").splitlines()[1] == (
        "target     prot opt source               destination         "
    )
    assert ok(r, "iptables -S INPUT -v").splitlines()[1] == (
        "-A INPUT -s 192.0.2.1/32 -c 123456789 987654321 -j ACCEPT"
    )
    assert ok(r, "iptables -S INPUT 2") == "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
    assert ok(r, "iptables -S INPUT 9") == ""
    assert ok(r, "iptables -L INPUT 9 -n") == ""


@pytest.mark.parametrize("mode", BACKENDS)
def test_zero(mode: str) -> None:
    r = FakeRunner(mode=mode)
    ok(r, "iptables -A INPUT -c 1 2 -j ACCEPT")
    out = ok(r, "iptables -L INPUT -Z -v -n -x")
    assert out.splitlines()[2].startswith("       1        2 ACCEPT")
    assert out.endswith("Zeroing chain `INPUT'\n")
    assert "[0:0] -A INPUT -j ACCEPT" in r.save_text(counters=True)
    ok(r, "iptables -A INPUT -c 3 4 -j DROP")
    ok(r, "iptables -Z INPUT 2")
    assert "[0:0] -A INPUT -j DROP" in r.save_text(counters=True)
    rc, _, err = run(r, "iptables -Z INPUT 7")
    assert (rc, err) == ((0, "") if mode == "nft" else (1, "iptables: Index of counter too big.\n"))


def test_kernel_index_is_consistent() -> None:
    k = Kernel(4, "nft")
    spec = RuleSpec(text="-j ACCEPT", target="ACCEPT", goto=False, jump_chain=None)
    for _ in range(3):
        k.execute(Command(op="A", chain="INPUT", rule=spec))
    chain = k.tables["filter"].chains["INPUT"]
    assert chain.counts == {"-j ACCEPT": 3}
    k.execute(Command(op="D", chain="INPUT", rule=spec))
    assert chain.counts == {"-j ACCEPT": 2}
    k.execute(Command(op="F", chain="INPUT"))
    assert chain.counts == {}


# ---- runner: programs, versions, faults ------------------------------------------------------


def test_program_names_and_versions() -> None:
    r = FakeRunner(mode="legacy")
    assert ok(r, "/usr/sbin/iptables -V") == "iptables v1.8.9 (legacy)\n"
    assert ok(r, "iptables-nft -V") == "iptables v1.8.9 (nf_tables)\n"
    assert ok(FakeRunner(version="1.4.21"), "iptables -V") == "iptables v1.4.21\n"
    with pytest.raises(FileNotFoundError):
        r.run(["nft", "list", "ruleset"])
    ok(r, "iptables-legacy -A INPUT -j ACCEPT")
    ok(r, "ip6tables -A INPUT -j DROP")
    assert "-A INPUT -j ACCEPT" in r.save_text(4)
    assert "-A INPUT -j DROP" in r.save_text(6)
    assert r.calls[-1] == ("ip6tables", "-A", "INPUT", "-j", "DROP")
    out = ok(r, "ip6tables-save")
    assert out.startswith("# Generated by ip6tables-save v1.8.9 on ")
    out = ok(FakeRunner(), "iptables-nft-save -t nat")
    assert out.startswith("# Generated by iptables-nft-save v1.8.9 (nf_tables) on ")


def test_old_version_rejects_new_options() -> None:
    r = FakeRunner(mode="legacy", version="1.4.21")
    rc, _, err = run(r, "iptables -C INPUT -j ACCEPT")
    assert rc == 1  # -C exists in 1.4.21: just no such rule
    rc, _, err = run(r, "iptables -w 5 -A INPUT -j ACCEPT")
    assert (rc, err.splitlines()[0]) == (2, "Bad argument `5'")
    rc, _, err = run(FakeRunner(version="1.4.10"), "iptables -C INPUT -j ACCEPT")
    assert rc == 2 and 'unknown option "-C"' in err
    # getopt's refusal exits 1, as measured on 1.8.7, 1.8.9 and 1.8.11
    rc, _, err = run(r, "iptables-restore -w", "")
    assert rc == 1 and "invalid option -- 'w'" in err
    rc, _, err = run(r, "iptables-restore --wait=2", "")
    assert rc == 1 and "unrecognized option '--wait=2'" in err
    rc, _, err = run(r, "iptables -t nat -A POSTROUTING -j MASQUERADE --random-fully")
    assert rc == 2 and "--random-fully" in err


def test_mixed_backends_warning() -> None:
    r = FakeRunner(mode="nft")
    ok(r, "iptables -A INPUT -j ACCEPT")
    ok(r, "iptables-legacy -A INPUT -j DROP")
    rc, out, err = run(r, "iptables-save")
    assert (
        err == "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n"
    )
    assert "-A INPUT -j DROP" not in out
    rc, out, err = run(r, "iptables -S")
    assert err == "# Warning: iptables-legacy tables present, use iptables-legacy to see them\n"
    assert run(r, "iptables-legacy-save")[2] == ""


def test_fault_lock_held() -> None:
    r = FakeRunner(mode="legacy")
    r.faults.lock_held(calls=2)
    assert run(r, "iptables-save")[0] == 0  # save never takes the lock
    assert run(r, "iptables -A INPUT -j ACCEPT") == (
        4,
        "",
        "Another app is currently holding the xtables lock. "
        "Perhaps you want to use the -w option?\n",
    )
    assert run(r, "iptables-restore -w 1", "*filter\nCOMMIT\n") == (
        4,
        "",
        "Can't lock /run/xtables.lock: Resource temporarily unavailable\n"
        "Another app is currently holding the xtables lock. Stopped waiting after 1s.\n",
    )
    assert run(r, "iptables -A INPUT -j ACCEPT")[0] == 0
    # nft takes no lock: arming it there would test nothing, so it is refused
    n = FakeRunner(mode="nft")
    with pytest.raises(ValueError, match="takes no xtables lock"):
        n.faults.lock_held(calls=1)
    assert run(n, "iptables -w 1 -A INPUT -j ACCEPT")[0] == 0
    # -w without seconds waits: the caller's timeout fires
    r.faults.lock_held(calls=1)
    with pytest.raises(RunnerTimeout):
        r.run(["iptables", "-w", "-A", "INPUT", "-j", "ACCEPT"], timeout=2.0)


def test_fault_timeout_missing_fail() -> None:
    r = FakeRunner()
    r.faults.timeout(calls=1)
    with pytest.raises(RunnerTimeout) as ei:
        r.run(["iptables", "-S"], timeout=3.0)
    assert ei.value.timeout == 3.0
    assert r.run(["iptables", "-S"]).returncode == 0
    r.faults.missing_binary("iptables-restore")
    with pytest.raises(FileNotFoundError):
        r.run(["/usr/sbin/iptables-restore"], input=b"")
    r.faults.fail(calls=1, returncode=3, stderr="boom\n")
    res = r.run(["iptables", "-S"])
    assert (res.returncode, res.stderr) == (3, b"boom\n")
    assert r.run(["iptables", "-S"]).returncode == 0
    assert len(r.calls) == 5


def test_parse_errors_are_rendered() -> None:
    r = FakeRunner(mode="legacy")
    rc, _, err = run(r, "iptables -A INPUT -j NOPE")
    assert (rc, err) == (
        2,
        "iptables v1.8.9 (legacy): Couldn't load target `NOPE':No such file "
        "or directory\n\nTry `iptables -h' or 'iptables --help' for more "
        "information.\n",
    )
    rc, out, _ = run(r, "iptables -h")
    assert rc == 0 and out.startswith("iptables v1.8.9 (legacy)\n\nUsage: iptables -[ACD]")


def test_nft_builtin_chains_are_lazy() -> None:
    # verified on iptables-nft 1.8.9: built-ins exist once used, `-X` drops empty
    # ACCEPT ones, and -Z/-D/-R on a missing one fail differently from legacy
    r = FakeRunner(mode="nft")
    ok(r, "iptables -A INPUT -j ACCEPT")
    assert run(r, "iptables -Z FORWARD")[2] == "iptables: No chain/target/match by that name.\n"
    assert ok(r, "iptables -v -Z") == "Zeroing chain `INPUT'\n"
    assert run(r, "iptables -D OUTPUT 1")[2] == "iptables: No chain/target/match by that name.\n"
    # measured on iptables-nft 1.8.9 in a namespace (differential test): "Bad rule"
    assert run(r, "iptables -Z OUTPUT 1")[2] == (
        "iptables: Bad rule (does a matching rule exist in that chain?).\n"
    )
    ok(r, "iptables -P OUTPUT DROP")
    ok(r, "iptables -F FORWARD")
    assert run(r, "iptables -D OUTPUT 1")[2] == "iptables: Index of deletion too big.\n"
    assert (
        run(r, "iptables -R OUTPUT 1 -j ACCEPT")[2] == "iptables: Index of replacement too big.\n"
    )
    ok(r, "iptables -D INPUT 1")
    ok(r, "iptables -X")
    assert ok(r, "iptables -v -Z") == "Zeroing chain `OUTPUT'\n"
    assert ok(r, "iptables -v -F") == (
        "Flushing chain `INPUT'\nFlushing chain `FORWARD'\nFlushing chain `OUTPUT'\n"
    )
    leg = FakeRunner(mode="legacy")
    ok(leg, "iptables -A INPUT -j ACCEPT")
    ok(leg, "iptables -Z FORWARD")
    assert run(leg, "iptables -D OUTPUT 1")[2] == "iptables: Index of deletion too big.\n"


@pytest.mark.parametrize("mode", BACKENDS)
def test_verbose_prints(mode: str) -> None:
    r = FakeRunner(mode=mode)
    assert ok(r, "iptables -v -A INPUT -s 1.2.3.4/32 -j ACCEPT") == (
        "ACCEPT  all opt -- in * out *  1.2.3.4/32  -> 0.0.0.0/0  \n"
    )
    ok(r, "iptables -N FOO")
    assert ok(r, "iptables -v -X FOO") == "Deleting chain `FOO'\n"
    out = ok(r, "iptables-restore -v", "# hi\n*filter\n-A INPUT -j ACCEPT\nCOMMIT\n")
    assert out == (
        "# hi\nFlushing chain `INPUT'\nFlushing chain `FORWARD'\n"
        "Flushing chain `OUTPUT'\nACCEPT  all opt -- in * out *  0.0.0.0/0  -> "
        "0.0.0.0/0  \n"
    )


def test_insert_expanded_rules_reverse() -> None:
    r = FakeRunner()
    ok(r, "iptables -A INPUT -j ACCEPT")
    k = r.kernel()
    specs = tuple(
        RuleSpec(text=f"-s {a}/32 -j DROP", target="DROP", goto=False, jump_chain=None)
        for a in ("1.1.1.1", "2.2.2.2")
    )
    k.execute(Command(op="I", chain="INPUT", rulenum=1, rule=specs[0], rules=specs))
    assert r.save_text().splitlines()[4:7] == [
        "-A INPUT -s 2.2.2.2/32 -j DROP",
        "-A INPUT -s 1.1.1.1/32 -j DROP",
        "-A INPUT -j ACCEPT",
    ]


def test_a_tests_own_look_at_the_host_is_not_a_call_and_spends_no_fault() -> None:
    from iptwrap.fake import FakeIPTables

    ipt = FakeIPTables(mode="legacy")
    ipt.append_rule("filter", "INPUT", "-j", "ACCEPT")
    before = ipt.calls
    ipt.fake.faults.fail(calls=1, returncode=1, stderr="armed for the next real call\n")
    assert ipt.rules("filter", "INPUT") == ["-A INPUT -j ACCEPT"]
    assert "*filter" in ipt.dump()
    assert ipt.calls == before
    with pytest.raises(ValueError, match="save command only"):
        ipt.fake.inspect(["iptables", "-F"])
    res = ipt.fake.run(["iptables", "-S"])
    assert (res.returncode, res.stderr) == (1, b"armed for the next real call\n")
