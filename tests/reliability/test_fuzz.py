"""Hostile input, fuzzed with hypothesis: newline and NUL anywhere, quotes, very long
strings, unicode, leading "-", "--" options in chain names, huge rule numbers.

For each target: no untyped exception, and no value smuggled into another argv slot or
another restore line. ``IPTWRAP_FUZZ_EXAMPLES`` sets the examples per target (CI: 10^4).
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence

from hypothesis import example, given, settings
from hypothesis import strategies as st

import iptwrap
from iptwrap import IPTables, RulePosition, SaveFormatError, parse_save
from iptwrap.fake import FakeRunner
from iptwrap.fake._restore import tokenize

from ..unit.recording import RecordingRunner

EXAMPLES = int(os.environ.get("IPTWRAP_FUZZ_EXAMPLES", "10000"))
# derandomised in CI by the profile tests/conftest.py loads; ./ci/fuzz runs them at random
FUZZ = settings(max_examples=EXAMPLES)

nasty_text = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(list(" \t\n\r\0\"'\\#-!*:[]{}$;|&`") + ["--", "-j", "-A"]), max_size=12
    ).map("".join),
    st.sampled_from(
        [
            "-F",
            "--flush",
            "-X",
            "--",
            "!",
            "",
            " ",
            "a\nb",
            "x\0y",
            "COMMIT",
            "*nat",
            ":INPUT ACCEPT [0:0]",
            "A" * 300,
            "ÜBER",
            "\u2028",
        ]
    ),
    st.text(min_size=200, max_size=5000).map(lambda s: s[:5000]),
)
names = st.one_of(nasty_text, st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,27}", fullmatch=True))
numbers = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.booleans())


def _client() -> tuple[IPTables, RecordingRunner]:
    runner = RecordingRunner()
    return IPTables(runner=runner), runner


@FUZZ
@given(table=names, chain=names, args=st.lists(nasty_text, max_size=8))
def test_client_argv_has_no_smuggling(table: str, chain: str, args: List[str]) -> None:
    ipt, runner = _client()
    try:  # any name, on purpose: mypy refuses a str where a TableName goes
        ipt.append_rule(table, chain, *args)  # type: ignore[arg-type]
    except iptwrap.InvalidArgumentError:
        assert runner.calls == []  # refused before any process started
        return
    (argv,) = runner.calls
    # exactly: binary, -w N, -t TABLE, -A CHAIN, then each argument in its own slot
    assert argv[:3] == ["iptables", "-w", "5"]
    assert argv[3:7] == ["-t", table, "-A", chain]
    assert argv[7:] == args
    assert not chain.startswith("-") and table.isascii() and table.islower()
    assert all("\n" not in a and "\0" not in a for a in argv)


@FUZZ
@given(chain=names, number=numbers, args=st.lists(nasty_text, max_size=5))
def test_rule_numbers_and_positions(chain: str, number: int, args: List[str]) -> None:
    ipt, runner = _client()
    try:
        ipt.insert_rule("filter", chain, number, *args)
    except iptwrap.InvalidArgumentError:
        assert runner.calls == []
        return
    assert isinstance(number, int) and not isinstance(number, bool) and number >= 1
    assert runner.calls[0][7] == str(number)


@FUZZ
@given(ops=st.lists(st.tuples(names, st.lists(nasty_text, max_size=6)), min_size=1, max_size=6))
@example(ops=[("0", ["-t"])])  # found on a fresh machine: "-A 0 -t" reached iptables-restore
@example(ops=[("0", ["", "-t"])])  # the same run's second finding
def test_batch_payload_lines_parse_back_to_the_same_tokens(
    ops: List[tuple[str, List[str]]],
) -> None:
    ipt, runner = _client()
    batch = ipt.batch()
    accepted = []
    for chain, args in ops:
        try:
            batch.append_rule("filter", chain, *args)
            accepted.append((chain, args))
        except iptwrap.InvalidArgumentError:
            continue
    result = batch.commit()
    if not accepted:
        assert runner.calls == []
        return
    lines = result.payload.decode().split("\n")
    assert lines[0] == "*filter" and lines[-2] == "COMMIT" and lines[-1] == ""
    body = lines[1:-2]
    assert len(body) == len(accepted)  # nothing smuggled onto a line of its own
    for line, (chain, args) in zip(body, accepted):
        assert tokenize(line, "iptables-restore") == ["-A", chain, *args]


@FUZZ
@given(ops=st.lists(st.tuples(names, st.lists(nasty_text, max_size=6)), min_size=1, max_size=6))
def test_bulk_append_sends_what_the_call_loop_sends(ops: List[tuple[str, List[str]]]) -> None:
    """append_rules quotes a whole batch in one pass; it must agree with rule-by-rule."""
    ipt, _runner = _client()
    loop = ipt.batch()
    accepted = []
    for chain, args in ops:
        try:
            loop.append_rule("filter", chain, *args)
            accepted.append((chain, args))
        except iptwrap.InvalidArgumentError:
            continue
    bulk = ipt.batch()
    for chain, args in accepted:
        bulk.append_rules("filter", chain, [args])
    if len(accepted) == len(ops):
        whole = ipt.batch()
        for chain, args in ops:
            whole.append_rules("filter", chain, [args])
        assert whole.commit().payload == loop.commit().payload
    else:
        loop.commit()
    assert bulk.commit().payload == loop.result.payload


@FUZZ
@given(
    argv=st.lists(nasty_text, max_size=10),
    prog=st.sampled_from(
        ["iptables", "ip6tables", "iptables-legacy", "iptables-nft-save", "ip6tables-restore"]
    ),
    mode=st.sampled_from(["nft", "legacy"]),
)
def test_fake_runner_never_raises_untyped(argv: List[str], prog: str, mode: str) -> None:
    runner = FakeRunner(mode=mode)
    data: Optional[bytes] = None
    if prog.endswith("restore"):
        data = "\n".join(argv).encode("utf-8", "surrogatepass")
        argv = []
    res = runner.run([prog, *argv], input=data)
    assert res.returncode in (0, 1, 2, 3, 4)
    assert isinstance(res.stdout, bytes) and isinstance(res.stderr, bytes)


restore_lines = st.one_of(
    nasty_text,
    st.sampled_from(
        [
            "*filter",
            "*nat",
            "*raw",
            "COMMIT",
            ":INPUT ACCEPT [0:0]",
            ":X - [0:0]",
            ":X - [x:y]",
            "-A INPUT -j ACCEPT",
            "-A X -j X",
            "[1:2] -A INPUT -j DROP",
            "-X X",
            "-F",
            "-N Y",
            "-I INPUT 99 -j ACCEPT",
            "-D INPUT 1",
            '-A INPUT -m comment --comment "a \\" b" -j ACCEPT',
            "# comment",
            "",
        ]
    ),
)


@FUZZ
@given(
    lines=st.lists(restore_lines, max_size=12),
    flags=st.lists(
        st.sampled_from(["--noflush", "-c", "--test", "-T", "nat", "-w", "1"]), max_size=3
    ),
    mode=st.sampled_from(["nft", "legacy"]),
)
def test_fake_restore_payloads(lines: List[str], flags: Sequence[str], mode: str) -> None:
    runner = FakeRunner(mode=mode)
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    res = runner.run(["iptables-restore", *flags], input=data)
    assert res.returncode in (0, 1, 2, 3, 4)
    save = runner.run(["iptables-save"])
    assert save.returncode == 0
    # whatever was applied is valid save output that parses back
    parse_save(save.stdout)


@FUZZ
@given(lines=st.lists(restore_lines, max_size=15))
def test_parse_save_is_typed(lines: List[str]) -> None:
    try:
        dump = parse_save("\n".join(lines))
    except SaveFormatError:
        return
    again = parse_save(dump.render())
    assert again.render() == dump.render()


@FUZZ
@given(chain=names, args=st.lists(nasty_text, max_size=6))
def test_fake_client_end_to_end(chain: str, args: List[str]) -> None:
    from iptwrap.fake import FakeIPTables

    ipt = FakeIPTables()
    try:
        ipt.ensure_chain("filter", chain)
        ipt.ensure_rule(RulePosition.APPEND, "filter", chain, *args)
    except (iptwrap.InvalidArgumentError, iptwrap.IPTablesError):
        pass
    parse_save(ipt.save())
