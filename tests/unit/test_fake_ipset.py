"""The fake ``ipset`` against ``tests/data/ipset.jsonl`` (real ipset 7.17), plus what
the data does not cover.

Every recorded case is replayed through a fresh :class:`FakeRunner` (``pre``, then
``cmd`` with ``stdin``) and rc, stdout, stderr and ``ipset save`` afterwards must match
after the recording's masks (``tests/ipset_data.py``). Member lines of hash sets are
compared as a multiset: the kernel prints them in hash order, the fake in insertion
order.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iptwrap.fake._runner import FakeRunner
from tests.ipset_data import ids, load, mask

CASES = load()

# What the fake cannot answer yet, with the reason (everything else must match).
# every recorded case is emulated (the iptables interplay included)
NOT_EMULATED: Dict[str, str] = {}


def _sorted_members(text: Optional[str]) -> Optional[List[str]]:
    """Lines with each run of member lines (``add`` lines, ``Members:``) sorted."""
    if text is None:
        return None
    out: List[str] = []
    run: List[str] = []
    members = False
    for line in text.split("\n"):
        is_member = (
            line.startswith("add ") or line.startswith("<member>") or (members and line != "")
        )
        if line.startswith("Members:") or line.startswith("<members>"):
            out += sorted(run)
            run = []
            out.append(line)
            members = True
            continue
        if line == "" or line.startswith("</members>"):
            members = False
            is_member = False
        if is_member:
            run.append(line)
        else:
            out += sorted(run)
            run = []
            out.append(line)
    return out + sorted(run)


def _is_ordered_list(case: Dict[str, Any]) -> bool:
    """list:set members keep their order in the kernel too (before/after)."""
    return "list_set" in case["id"]


def replay(case: Dict[str, Any]) -> Tuple[int, str, str, str]:
    runner = FakeRunner(mode=case["backend"] or "nft")
    for argv in case["pre"]:
        runner.run(argv)
    stdin = case["stdin"].encode() if case["stdin"] is not None else None
    res = runner.run(case["cmd"], input=stdin)
    after = runner.run(["ipset", "save"]).stdout.decode()
    return res.returncode, res.stdout.decode(), res.stderr.decode(), after


def _norm(text: Optional[str], case: Dict[str, Any]) -> Any:
    masked = mask(text, case)
    return masked if _is_ordered_list(case) else _sorted_members(masked)


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_recorded_case(case: Dict[str, Any]) -> None:
    if case["id"] in NOT_EMULATED:
        pytest.skip(NOT_EMULATED[case["id"]])
    rc, out, err, after = replay(case)
    assert (rc, _norm(err, case), _norm(out, case)) == (
        case["rc"],
        _norm(case["stderr"], case),
        _norm(case["stdout"], case),
    )
    assert _norm(after, case) == _norm(case["after"], case)


def test_not_emulated_are_recorded() -> None:
    assert set(NOT_EMULATED) <= {c["id"] for c in CASES}


# ---------------------------------------------------------------- beyond the recording


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_timeouts_count_down_and_expire() -> None:
    runner = FakeRunner()
    clock = Clock()
    runner.ipsets.clock = clock
    runner.run(["ipset", "create", "A", "hash:ip", "timeout", "100"])
    runner.run(["ipset", "add", "A", "192.0.2.1"])
    runner.run(["ipset", "add", "A", "192.0.2.2", "timeout", "0"])
    clock.now += 30.5
    save = runner.run(["ipset", "save", "A"]).stdout.decode().splitlines()
    assert save[1:] == ["add A 192.0.2.1 timeout 69", "add A 192.0.2.2 timeout 0"]
    clock.now += 70
    assert runner.run(["ipset", "test", "A", "192.0.2.1"]).returncode == 1
    save = runner.run(["ipset", "save", "A"]).stdout.decode().splitlines()
    assert save[1:] == ["add A 192.0.2.2 timeout 0"]


def test_initval_is_deterministic_unless_given() -> None:
    a, b = FakeRunner(), FakeRunner()
    for r in (a, b):
        r.run(["ipset", "create", "A", "hash:ip"])
        r.run(["ipset", "create", "B", "hash:net", "initval", "0x0000beef"])
    assert a.run(["ipset", "save"]).stdout == b.run(["ipset", "save"]).stdout
    assert b"initval 0x0000beef" in a.run(["ipset", "save", "B"]).stdout


def test_runner_integration_calls_faults_and_queries() -> None:
    runner = FakeRunner()
    assert runner.run(["/usr/sbin/ipset", "create", "S", "hash:ip,port"]).returncode == 0
    assert ("/usr/sbin/ipset", "create", "S", "hash:ip,port") in runner.calls
    assert runner.ipsets.exists("S") and runner.ipsets.dimension("S") == 2
    assert runner.ipsets.family("S") == "inet" and runner.ipsets.family("Z") is None
    runner.faults.fail(returncode=1, stderr=b"boom\n")
    res = runner.run(["ipset", "add", "S", "192.0.2.1,80"])
    assert (res.returncode, res.stderr) == (1, b"boom\n")


def test_rule_reference_blocks_destroy_across_backends_and_families() -> None:
    runner = FakeRunner(mode="nft")
    runner.run(["ipset", "create", "S6", "hash:ip", "family", "inet6"])
    res = runner.run(["ip6tables-legacy", "-A", "INPUT", "-m", "set", "--match-set", "S6", "src"])
    assert res.returncode == 0, res.stderr
    res = runner.run(["ipset", "destroy", "S6"])
    assert res.returncode == 1
    assert b"in use by a kernel component" in res.stderr
    assert b"References: 1" in runner.run(["ipset", "list", "-t", "S6"]).stdout
    runner.run(["ip6tables-legacy", "-F"])
    assert runner.run(["ipset", "destroy", "S6"]).returncode == 0


def test_iptables_restore_sees_sets() -> None:
    runner = FakeRunner(mode="legacy")
    runner.run(["ipset", "create", "S", "hash:ip"])
    data = b"*filter\n-A INPUT -m set --match-set S src -j DROP\nCOMMIT\n"
    res = runner.run(["iptables-restore"], input=data)
    assert res.returncode == 0, res.stderr


_V4 = st.integers(min_value=0, max_value=255).map(lambda n: f"192.0.2.{n}")


@given(st.lists(st.tuples(st.sampled_from(["add", "del"]), _V4), max_size=30))
def test_hash_ip_is_a_set_of_addresses(ops: List[Tuple[str, str]]) -> None:
    """Any add/del sequence with -exist leaves exactly the model's members, and save
    restores to the same set."""
    runner = FakeRunner()
    runner.run(["ipset", "create", "A", "hash:ip"])
    model: Counter[str] = Counter()
    for op, ip in ops:
        assert runner.run(["ipset", "-exist", op, "A", ip]).returncode == 0
        if op == "add":
            model[ip] = 1
        else:
            model.pop(ip, None)
    saved = runner.run(["ipset", "save"]).stdout
    members = sorted(line.split()[2] for line in saved.decode().splitlines()[1:])
    assert members == sorted(model)
    other = FakeRunner()
    assert other.run(["ipset", "restore"], input=saved).returncode == 0
    assert other.run(["ipset", "save"]).stdout == saved


def test_missing_binary_fault_applies_to_ipset() -> None:
    runner = FakeRunner()
    runner.faults.missing_binary("ipset")
    with pytest.raises(FileNotFoundError):
        runner.run(["ipset", "list"])


@pytest.mark.parametrize(
    ("steps", "want"),
    [
        # measured on ipset 7.17 in a namespace (not in the recording)
        (
            ["create G list:set", "create H hash:ip", "add G H before Z"],
            (1, "ipset v7.17: The set to which you referred with 'before' or 'after' does "
             "not exist.\n"),
        ),
        (["create A hash:ip", "destroy A B"],
         (2, "ipset v7.17: Unknown argument B\nTry `ipset help' for more information.\n")),
        (["create E hash:ip,port", "add E 192.0.2.1,icmp:8/0"], (0, "")),
        (["create B hash:net", "add B 192.0.2.0/24", "add B 192.0.2.8/29 nomatch",
          "test B 192.0.2.9"], (1, "192.0.2.9 is NOT in set B.\n")),
        (["create C hash:ip", "add C 192.0.2.8/30", "test C 192.0.2.8/30"],
         (0, "Warning: 192.0.2.8/30 is in set C.\n")),
    ],
)  # fmt: skip
def test_measured_outside_the_recording(steps: List[str], want: Tuple[int, str]) -> None:
    runner = FakeRunner()
    for step in steps[:-1]:
        assert runner.run(["ipset", *step.split()]).returncode == 0
    res = runner.run(["ipset", *steps[-1].split()])
    assert (res.returncode, res.stderr.decode()) == want
