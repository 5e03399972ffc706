"""Classification of real iptables 1.8.9 failures (tests/data/errors.jsonl), both backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

import iptwrap as ipt
from iptwrap._errors import is_lock_contention, restore_failed_line

DATA = Path(__file__).resolve().parent.parent / "data"

NF, ALR, IN_USE, PARAM, JUMP, REJ = (
    ipt.NotFoundError,
    ipt.AlreadyExistsError,
    ipt.ChainInUseError,
    ipt.ParameterError,
    ipt.JumpTargetNotFoundError,
    ipt.RuleRejectedError,
)
# What each recorded failure *means* for a caller, decided per case (not derived from
# the classifier): the class the error must be an instance of.
EXPECTED: Dict[str, type] = {
    "append_missing_chain": NF,
    "append_missing_chain_nat": NF,
    "new_existing_chain": ALR,
    "new_builtin_chain": ALR,
    "new_chain_named_ACCEPT": PARAM,
    "new_chain_name_29": PARAM,
    "new_chain_with_space": PARAM,
    "new_chain_leading_bang": PARAM,
    "delete_nonempty_chain": IN_USE,
    "delete_referenced_chain": IN_USE,
    "delete_all_user_chains_with_ref": IN_USE,
    "delete_chain_missing": NF,
    "rename_missing": NF,
    "rename_builtin": NF,
    "rename_to_builtin_name": ALR,
    "flush_missing": NF,
    "zero_missing": NF,
    "list_missing": NF,
    "delete_nonmatching": NF,
    "delete_nospec": NF,
    "check_nonmatching": NF,
    "check_missing_chain": NF,
    "check_missing_target_chain": JUMP,
    "insert_empty_pos2": ipt.InvalidRuleNumberError,
    "zero_rule_num_oob": ipt.InvalidRuleNumberError,
    "policy_user_chain": ipt.BadPolicyError,
    "policy_reject": ipt.BadPolicyError,
    "policy_nat_drop": PARAM,
    "bad_table_list": ipt.TableNotFoundError,
    "bad_table_append": ipt.TableNotFoundError,
    "save_bad_table": ipt.TableNotFoundError,
    "raw_has_no_input": NF,
    "unknown_target": JUMP,
    "jump_missing_chain": JUMP,
    "goto_missing_chain": JUMP,
    "goto_builtin_verdict": JUMP,
    "jump_other_table": JUMP,
    "dnat_in_filter": REJ,
    "snat_in_filter": REJ,
    "masq_in_prerouting": REJ,
    "masq_in_user_chain_linked_prerouting": REJ,
    "reject_in_nat": REJ,
    "reject_tcp_reset_no_proto": REJ,
    "owner_in_input": REJ,
    "addrtype_limit_iface_in_output": REJ,
    "dnat_no_to": PARAM,
    "drop_in_nat": PARAM,
    "invalid_port_big": PARAM,
    "dup_source": PARAM,
    "two_commands": PARAM,
    "extra_positional": PARAM,
    "set_missing": PARAM,
    "restore_unknown_table": ipt.TableNotFoundError,
    "restore_jump_missing_chain": JUMP,
    "lock_held_restore_w1": ipt.LockTimeoutError,
    "lock_held_restore_noflush_w1": ipt.LockTimeoutError,
}


def _cases() -> List[Tuple[str, str, int, str]]:
    cases = []
    for line in (DATA / "errors.jsonl").read_text().splitlines():
        d = json.loads(line)
        if d["rc"] != 0 and d["id"] in EXPECTED:
            cases.append((d["backend"], d["id"], d["rc"], d["stderr"]))
    return cases


CASES = _cases()


def test_every_expected_case_is_in_the_data() -> None:
    ids = {c[1] for c in CASES}
    # lock contention and a few others were only recorded on one backend
    assert ids == set(EXPECTED)


@pytest.mark.parametrize("backend,case,rc,stderr", CASES, ids=[f"{c[1]}-{c[0]}" for c in CASES])
def test_recorded_failure_is_classified(backend: str, case: str, rc: int, stderr: str) -> None:
    cls = ipt.classify(rc, stderr.encode())
    assert issubclass(cls, EXPECTED[case]), (case, backend, cls)
    assert is_lock_contention(rc, stderr.encode()) == (EXPECTED[case] is ipt.LockTimeoutError)


def test_kernel_rejection_with_exit_4_is_not_lock_contention() -> None:
    stderr = b"iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT\n"
    assert ipt.classify(4, stderr) is ipt.RuleRejectedError
    assert not is_lock_contention(4, stderr)
    assert ipt.classify(4, b"something else entirely\n") is ipt.ResourceError


def test_not_found_helper() -> None:
    err = ipt.NotFoundError(
        ["iptables"], 1, b"", b"iptables: No chain/target/match by that name.\n"
    )
    assert ipt.is_not_found(err)
    assert not ipt.is_not_found(ipt.LockTimeoutError(["iptables"], 4))
    assert not ipt.is_not_found(ValueError("x"))
    restore = ipt.RestoreError(["iptables-restore"], 1, cause=ipt.NotFoundError)
    assert ipt.is_not_found(restore)


def test_missing_netns_is_its_own_class() -> None:
    stderr = b'Cannot open network namespace "nope": No such file or directory\n'
    assert ipt.classify(1, stderr) is ipt.NamespaceNotFoundError


@pytest.mark.parametrize(
    "stderr,line",
    [
        (b"iptables-restore v1.8.9 (nf_tables): x\nError occurred at line: 3\nTry `...'\n", 3),
        (b"iptables-restore: line 2 failed: No chain/target/match by that name.\n", 2),
        (b"iptables-restore: COMMIT expected at line 3\n", 3),
        (b"iptables-restore v1.8.9 (legacy): Can't set policy `B' on `INPUT' line 2: Bad\n", 2),
        (b"something without a line\n", None),
    ],
)
def test_restore_line_extraction(stderr: bytes, line: object) -> None:
    assert restore_failed_line(stderr) == line


def test_error_message_names_command_and_first_line() -> None:
    err = ipt.ParameterError(
        ["iptables", "-A", "INPUT", "--foo"],
        2,
        b"",
        b'iptables v1.8.9 (nf_tables): unknown option "--foo"\nTry `iptables -h\'\n',
    )
    assert "unknown option" in str(err) and "exit 2" in str(err) and "--foo" in str(err)
    assert err.stderr_text.startswith("iptables v1.8.9")


@pytest.mark.parametrize(
    "stderr,cls",
    [
        # seen with 15 concurrent iptables-nft writers in one namespace (reliability suite)
        (
            b"iptables v1.8.9 (nf_tables):  RULE_DELETE failed (No such file or directory): rule in chain S\n",
            ipt.NotFoundError,
        ),
        (
            b"iptables v1.8.9 (nf_tables):  CHAIN_ADD failed (File exists): chain C1\n",
            ipt.AlreadyExistsError,
        ),
    ],
)
def test_nft_races_between_writers(stderr: bytes, cls: type) -> None:
    assert ipt.classify(4, stderr) is cls
    assert not is_lock_contention(4, stderr)


def test_killed_child_is_typed() -> None:
    assert ipt.classify(-9, b"") is ipt.CommandKilledError


# legacy restore says only "line N failed": a -D or -C of a rule spec has one cause
@pytest.mark.parametrize(
    "line, cause",
    [
        ("-D INPUT -s 192.0.2.9/32 -j ACCEPT", ipt.NotFoundError),
        ("-D NOPE -j ACCEPT", ipt.NotFoundError),
        ("--delete INPUT -j DROP", ipt.NotFoundError),
        ("-C INPUT -j DROP", ipt.NotFoundError),
        ("-D INPUT 5", ipt.IPTablesError),  # a number: "too big" is a cause too
        ("-X BUSY", ipt.IPTablesError),
        ("-I INPUT 9 -j ACCEPT", ipt.IPTablesError),
        ("-A NOPE -j ACCEPT", ipt.IPTablesError),
    ],
)
def test_bare_legacy_restore_failures_are_classified_by_the_line(line: str, cause: type) -> None:
    from iptwrap._errors import restore_cause

    assert restore_cause(1, b"iptables-restore: line 2 failed\n", line) is cause
    # with a message, the message decides; without the line, nothing is guessed
    assert restore_cause(1, b"iptables-restore: line 2 failed\n", None) is ipt.IPTablesError
    assert restore_cause(4, b"iptables-restore: line 2 failed\n", line) is ipt.ResourceError


NOT_ROOT = [json.loads(line) for line in (DATA / "not_root.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("case", NOT_ROOT, ids=[" ".join(c["cmd"]) for c in NOT_ROOT])
def test_not_root_is_one_error_with_a_hint_whatever_the_backend(case: dict) -> None:
    """The four ways an unprivileged call fails (recorded as a plain user) are one class."""
    cls = ipt.classify(case["rc"], case["stderr"].encode())
    assert cls is ipt.PermissionDeniedError
    exc = cls(case["cmd"], case["rc"], b"", case["stderr"].encode())
    assert str(exc).endswith("(run as root, or with CAP_NET_ADMIN in the network namespace)")


@pytest.mark.parametrize("case", NOT_ROOT, ids=[" ".join(c["cmd"]) for c in NOT_ROOT])
def test_present_is_false_and_calls_raise_when_not_allowed(case: dict) -> None:
    from iptwrap.fake import FakeIPTables

    fake = FakeIPTables(mode="legacy" if case["backend"] == "legacy" else "nft")
    fake.fake.faults.fail(calls=100, returncode=case["rc"], stderr=case["stderr"])
    assert fake.present() is False
    with pytest.raises(ipt.PermissionDeniedError):
        fake.save("filter")
    with pytest.raises(ipt.PermissionDeniedError):
        fake.restore_all(b"*filter\n-A INPUT -j ACCEPT\nCOMMIT\n")  # not a RestoreError
