"""The fake's command-line parser against the ground truth recorded from iptables 1.8.9.

Driven by ``tests/data/canon.jsonl`` (rule canonicalisation per backend and family) and
the command-line cases of ``tests/data/errors.jsonl``.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import pytest

from iptwrap._rulespec.errors import (
    FakeError,
    ParameterProblem,
    Raw,
)
from iptwrap._rulespec.listing import format_listing_line
from iptwrap._rulespec.model import Command, ParseContext
from iptwrap._rulespec.parser import parse_command

from .parsing import ctx, refused, render

DATA = Path(__file__).resolve().parents[1] / "data"
BUILTIN = frozenset({"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"})


def _load(name: str) -> List[Dict[str, Any]]:
    with open(DATA / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# the releases whose rule text the fake models: 1.8.9, and 1.8.11 (recorded by
# ci/record_ground_truth.py into tests/data/releases/)
MODELLED = ("1.8.9", "1.8.11", "1.8.7")
CANON = [
    {**case, "release": release}
    for release in MODELLED
    for case in _load("canon.jsonl" if release == "1.8.9" else f"releases/{release}/canon.jsonl")
]
ERRORS = [r for r in _load("errors.jsonl") if r["cmd"] and r["cmd"][0] in ("iptables", "ip6tables")]


def _ctx(
    family: int,
    backend: str,
    chains: Set[Tuple[str, str]],
    sets: Optional[Set[str]] = None,
    version: str = "1.8.9",
) -> ParseContext:
    return ctx(
        family,
        backend,
        lambda table, chain: (table, chain) in chains,
        lambda name: name in (sets or set()),
        version,
    )


def _canon_id(r: Dict[str, Any]) -> str:
    return f"{r['release']}-{r['id']}-{r['backend']}-v{r['family']}-{r['table']}-{r['chain']}"


@pytest.mark.parametrize("case", CANON, ids=[_canon_id(r) for r in CANON])
def test_canon(case: Dict[str, Any]) -> None:
    chains: Set[Tuple[str, str]] = set()
    for pre in case["pre"]:
        toks = shlex.split(pre)
        if "-N" in toks:
            chains.add((case["table"], toks[toks.index("-N") + 1]))
    ctx = _ctx(case["family"], case["backend"], chains, version=case["release"])
    argv = ["-t", case["table"], "-A", case["chain"], *case["args"]]
    prog = ctx.prog
    try:
        cmd: Optional[Command] = parse_command(argv, ctx)
        err: Optional[FakeError] = None
    except FakeError as e:
        cmd, err = None, e
    if case["rc"] == 0:
        assert err is None, render(err, prog, case["backend"], case["release"])
        assert cmd is not None and cmd.rule is not None
        expected = case.get("save_lines") or [case["save_line"]]
        got = [
            f"-A {case['chain']}" + (f" {r.text}" if r.text else "") + r.save_suffix
            for r in cmd.rules
        ]
        assert got == expected
        assert cmd.rule is cmd.rules[0]
        assert format_listing_line(0, 0, cmd.rule) == case["list_L_line"]
        assert not refused(cmd.rule, case["table"], case["chain"])
    elif err is not None:
        assert render(err, prog, case["backend"], case["release"]) == (case["rc"], case["stderr"])
    else:
        # accepted by the parser: the kernel must refuse it
        assert cmd is not None and cmd.rule is not None
        assert refused(cmd.rule, case["table"], case["chain"]), case["stderr"]


def _err_id(r: Dict[str, Any]) -> str:
    return f"{r['id']}-{r['backend']}"


@pytest.mark.parametrize("case", ERRORS, ids=[_err_id(r) for r in ERRORS])
def test_errors_cmdline(case: Dict[str, Any]) -> None:
    prog = case["cmd"][0]
    family = 6 if prog == "ip6tables" else 4
    chains: Set[Tuple[str, str]] = set()
    for pre in case.get("pre") or []:
        toks = shlex.split(pre)
        table = toks[toks.index("-t") + 1] if "-t" in toks else "filter"
        if "-N" in toks:
            chains.add((table, toks[toks.index("-N") + 1]))
    ctx = _ctx(family, case["backend"], chains)
    try:
        cmd: Optional[Command] = parse_command(case["cmd"][1:], ctx)
        err: Optional[FakeError] = None
    except FakeError as e:
        cmd, err = None, e
    if err is not None:
        assert render(err, prog, case["backend"]) == (case["rc"], case["stderr"])
        return
    assert cmd is not None
    assert case["rc"] not in (2, 3), f"expected a parse error: {case['stderr']!r}"
    if case["rc"] == 0:
        warnings = "".join(
            x[len("warning:") :] + "\n" for x in cmd.extra if x.startswith("warning:")
        )
        assert warnings == case["stderr"]
        after = [ln for ln in (case.get("after") or "").split("\n") if ln.startswith("-A")]
        if after and cmd.op == "A" and cmd.rule is not None:
            assert f"-A {cmd.chain} {cmd.rule.text}" == after[-1]
    kernel = "RULE_APPEND failed" in case["stderr"] or "Invalid argument." in case["stderr"]
    if kernel and cmd.rule is not None and case["id"] != "masq_in_user_chain_linked_prerouting":
        assert cmd.chain is not None
        assert refused(cmd.rule, cmd.table, cmd.chain)


# ---------------------------------------------------------------- focused unit tests


def _parse(*argv: str, family: int = 4, backend: str = "nft", **kw: Any) -> Command:
    chains = kw.pop("chains", set())
    return parse_command(list(argv), _ctx(family, backend, chains, kw.pop("sets", None)))


def test_commands_and_options() -> None:
    c = _parse("-L", "INPUT", "3", "-n", "-v", "-x", "--line-numbers", "-Z")
    assert (c.op, c.chain, c.rulenum, c.numeric, c.verbose, c.exact, c.line_numbers) == (
        "L",
        "INPUT",
        3,
        True,
        True,
        True,
        True,
    )
    assert c.zero_after_list
    c = _parse("-I", "INPUT", "2", "-c", "5", "300", "-j", "ACCEPT")
    assert (c.op, c.rulenum, c.counters) == ("I", 2, (5, 300))
    c = _parse("-I", "FORWARD", "-j", "DROP")
    assert c.rulenum == 1
    c = _parse("-D", "INPUT", "4")
    assert (c.op, c.rulenum, c.rule) == ("D", 4, None)
    c = _parse("--new", "FOO")
    assert (c.op, c.chain) == ("N", "FOO")
    c = _parse("-E", "FOO", "BAR")
    assert (c.op, c.chain, c.new_name) == ("E", "FOO", "BAR")
    c = _parse("-t", "nat", "-P", "POSTROUTING", "ACCEPT")
    assert (c.op, c.table, c.chain, c.policy) == ("P", "nat", "POSTROUTING", "ACCEPT")
    assert _parse("-w", "-F").wait == -1.0
    assert _parse("-w", "5", "-X").wait == 5.0
    assert _parse("-w5", "-S").wait == 5.0
    assert _parse("-h").op == "h"
    assert _parse("-V").op == "V"
    c = _parse("-nvL")
    assert (c.op, c.numeric, c.verbose) == ("L", True, True)
    c = _parse("--append=INPUT", "--goto=FOO", "-mcomment", "--comm=x", chains={("filter", "FOO")})
    assert c.rule is not None and c.rule.text == "-m comment --comment x -g FOO"
    # -s -d -p -j -i -o read the whole token when the value is attached (argv[optind-1])
    with pytest.raises(ParameterProblem) as ei:
        _parse("-A", "INPUT", "--jump=ACCEPT")
    assert ei.value.message == "Chain '--jump=ACCEPT' does not exist"


def test_misuse_messages() -> None:
    cases = [
        (["-A", "INPUT", "-s", "1.2.3.4", "-I", "INPUT"], "Cannot use -I with -A"),
        (["-S", "-n"], "Illegal option `-n' with this command"),
        (["-A", "INPUT", "--line-numbers"], "Illegal option `--line-numbers' with this command"),
        (["-I", "INPUT", "0"], "Invalid rule number `0'"),
        (["-A", "INPUT", "!", "-j", "ACCEPT"], "cannot have ! before -j"),
        (["-A", "INPUT", "-j", "ACCEPT", "!"], "nothing appropriate following !"),
        (["-A", "INPUT", "!", "-p", "all"], "rule would never match protocol"),
        (["-A", "INPUT", "-m", "foo"], "Couldn't load match `foo':No such file or directory\n"),
        (["-A", "INPUT", "-m", "osf"], "fake: match 'osf' is not emulated"),
        (["-A", "INPUT", "-m", "bpf"], "fake: match 'bpf' is not emulated"),
        (["-A", "INPUT", "-w", "x"], "wait seconds not numeric"),
        (["-P", "INPUT"], "-P requires a chain and a policy"),
        (["-N", "-foo"], "chain name not allowed to start with `-'"),
        (["-N", "LOG"], "chain name may not clash with target name"),
        (["-F", "INPUT", "-j", "ACCEPT"], "Illegal option `-j' with this command"),
    ]
    for argv, msg in cases:
        with pytest.raises(ParameterProblem) as ei:
            _parse(*argv)
        assert ei.value.message == msg, argv
    with pytest.raises(Raw) as raw:
        _parse("-A", "INPUT", "-6")
    assert raw.value.returncode == 2
    assert raw.value.stderr == "Try `iptables -h' or 'iptables --help' for more information.\n"
    # LED's module is absent: its load warning comes before its own misuse message
    with pytest.raises(Raw) as raw:
        _parse("-A", "INPUT", "-j", "LED")
    assert raw.value.stderr.splitlines()[:2] == [
        "Warning: Extension LED revision 0 not supported, missing kernel module?",
        'iptables v1.8.9 (nf_tables): LED: option "--led-trigger-id" must be specified',
    ]


def test_restore_family_skip_and_table_option() -> None:
    ctx = ParseContext(
        prog="iptables-restore",
        family=4,
        backend="nft",
        version="1.8.9",
        chain_exists=lambda t, c: False,
        restore=True,
    )
    assert parse_command(["-t", "filter", "-A", "INPUT", "-6", "-j", "ACCEPT"], ctx).op == "nop"
    with pytest.raises(ParameterProblem):
        parse_command(["-t", "filter", "-t", "nat", "-A", "INPUT"], ctx)


def test_multi_address_expansion_is_cross_product() -> None:
    c = _parse("-A", "INPUT", "-s", "10.0.0.1,10.0.0.2", "-d", "1.1.1.1,2.2.2.0/24", "-j", "DROP")
    assert [r.text for r in c.rules] == [
        "-s 10.0.0.1/32 -d 1.1.1.1/32 -j DROP",
        "-s 10.0.0.1/32 -d 2.2.2.0/24 -j DROP",
        "-s 10.0.0.2/32 -d 1.1.1.1/32 -j DROP",
        "-s 10.0.0.2/32 -d 2.2.2.0/24 -j DROP",
    ]


def test_implicit_match_and_option_routing() -> None:
    # --sport goes back to the tcp match even after another -m (only same-name clones close it)
    c = _parse(
        "-A",
        "INPUT",
        "-p",
        "tcp",
        "!",
        "--dport",
        "22",
        "-m",
        "comment",
        "--comment",
        "x",
        "--sport",
        "5",
        backend="legacy",
    )
    assert c.rule is not None
    assert c.rule.text == "-p tcp -m tcp --sport 5 ! --dport 22 -m comment --comment x"
    # abbreviated long options resolve like getopt_long
    c = _parse("-t", "nat", "-A", "PREROUTING", "-j", "DNAT", "--to-dest", "10.0.0.1")
    assert c.rule is not None and c.rule.text == "-j DNAT --to-destination 10.0.0.1"


def test_set_match_consults_context() -> None:
    c = _parse(
        "-A", "INPUT", "-m", "set", "!", "--match-set", "blk", "src,dst", "-j", "DROP", sets={"blk"}
    )
    assert c.rule is not None
    assert c.rule.text == "-m set ! --match-set blk src,dst -j DROP"
    assert c.rule.listing[7] == "! match-set blk src,dst"


def test_jump_to_user_chain() -> None:
    c = _parse("-A", "INPUT", "-g", "FOO", chains={("filter", "FOO")})
    assert c.rule is not None
    assert (c.rule.target, c.rule.goto, c.rule.jump_chain) == ("FOO", True, "FOO")
    c = _parse("-A", "INPUT", "-j", "ACCEPT")
    assert c.rule is not None and (c.rule.target, c.rule.jump_chain) == ("ACCEPT", None)


def test_restrictions() -> None:
    r = _parse("-t", "nat", "-A", "POSTROUTING", "-j", "MASQUERADE").rule
    assert r is not None
    assert (r.valid_hooks, r.valid_tables) == (frozenset({"POSTROUTING"}), frozenset({"nat"}))
    r = _parse("-A", "OUTPUT", "-m", "owner", "--uid-owner", "0").rule
    assert r is not None and r.valid_hooks == frozenset({"OUTPUT", "POSTROUTING"})
    r = _parse("-A", "INPUT", "-p", "udp", "-m", "tcp", backend="legacy").rule
    assert r is not None and r.kernel_refusal == "Invalid argument"
    assert r.valid_tables == frozenset()


def test_listing_formats() -> None:
    c = _parse(
        "-A",
        "INPUT",
        "!",
        "-s",
        "10.0.0.0/8",
        "-i",
        "eth0",
        "-p",
        "tcp",
        "--dport",
        "22",
        "-j",
        "ACCEPT",
    )
    assert c.rule is not None
    line = format_listing_line(123456789, 987654321, c.rule, 1, exact=False)
    assert line == (
        "1     123M  988M ACCEPT     6    --  eth0   *      !10.0.0.0/8           "
        "0.0.0.0/0            tcp dpt:22"
    )
    line = format_listing_line(0, 0, c.rule, verbose=False)
    assert line == "ACCEPT     6    -- !10.0.0.0/8           0.0.0.0/0            tcp dpt:22"


def test_interface_warning() -> None:
    c = _parse("-A", "INPUT", "-i", "a/b", "-j", "ACCEPT")
    assert c.extra == (
        "warning:Warning: weird character in interface `a/b' ('/' and ' ' are not allowed by "
        "the kernel).",
    )
