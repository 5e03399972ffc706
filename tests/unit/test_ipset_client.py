"""IPSet's argv, its checks before anything runs, and how it reads ipset's answers.

The messages replayed here were printed by ipset 7.17 in a namespace; the integration
suite (tests/integration/test_ipset_client_real.py) runs the same calls for real.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import pytest

from iptwrap import (
    BinaryNotFoundError,
    EntryExistsError,
    EntryNotFoundError,
    InvalidArgumentError,
    IPSet,
    IPSetError,
    IPSetParameterError,
    NamespaceNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    Result,
    SetExistsError,
    SetFullError,
    SetInUseError,
    SetNotFoundError,
    SetSpec,
    classify_ipset,
)


class Script:
    """Answers each call with the next reply; records argv and stdin."""

    def __init__(self, *replies: Result) -> None:
        self.replies = list(replies)
        self.calls: List[List[str]] = []
        self.inputs: List[Optional[bytes]] = []

    def run(
        self, argv: Sequence[str], *, input: Optional[bytes] = None, timeout: Optional[float] = None
    ) -> Result:
        self.calls.append(list(argv))
        self.inputs.append(input)
        if self.replies:
            return self.replies.pop(0)
        return Result(list(argv), 0, b"", b"")


def fail(message: str, rc: int = 1) -> Result:
    return Result([], rc, b"", f"ipset v7.17: {message}\n".encode())


def test_create_words_follow_the_spec() -> None:
    script = Script()
    ipset = IPSet(runner=script)
    ipset.create_set(
        SetSpec("AG-A", "hash:net", "inet6", hashsize=4096, maxelem=1000, timeout=60, counters=True)
    )
    ipset.create_set(SetSpec("AG-P", "bitmap:port", range="1024-65535"), ignore_exists=False)
    ipset.create_set(SetSpec("AG-L", "list:set", comment=True))
    assert script.calls == [
        [
            "ipset",
            "create",
            "AG-A",
            "hash:net",
            "family",
            "inet6",
            "hashsize",
            "4096",
            "maxelem",
            "1000",
            "timeout",
            "60",
            "counters",
            "-exist",
        ],  # fmt: skip
        ["ipset", "create", "AG-P", "bitmap:port", "range", "1024-65535"],
        ["ipset", "create", "AG-L", "list:set", "comment", "-exist"],
    ]


@pytest.mark.parametrize(
    "make",
    [
        lambda: SetSpec("x" * 32),
        lambda: SetSpec("has space"),
        lambda: SetSpec("-exist"),
        lambda: SetSpec(""),
        lambda: SetSpec("AG", "hash:bogus"),
        lambda: SetSpec("AG", family="ipv4"),
        lambda: SetSpec("AG", hashsize=10),
        lambda: SetSpec("AG", maxelem=0),
        lambda: SetSpec("AG", timeout=-1),
        lambda: SetSpec("AG", timeout=True),  # type: ignore[arg-type]
        lambda: SetSpec("AG", "bitmap:port"),  # no range
        lambda: SetSpec("AG", "bitmap:ip", range="192.0.2.0/24\nflush"),
    ],
)
def test_a_bad_spec_is_refused_when_made(make: object) -> None:
    with pytest.raises(InvalidArgumentError):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    "entry",
    ["", "192.0.2.1 timeout 5", "192.0.2.1\nflush AG", "-exist", '"x"', "a\\b", 7],
)
def test_an_entry_that_could_smuggle_words_is_refused(entry: object) -> None:
    script = Script()
    ipset = IPSet(runner=script)
    with pytest.raises(InvalidArgumentError):
        ipset.add_entry("AG", entry)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        ipset.batch().add_entries("AG", ["192.0.2.1", entry])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError):
        ipset.sync_entries(SetSpec("AG"), ["192.0.2.1", entry])  # type: ignore[list-item]
    assert script.calls == []


def test_a_comment_is_quoted_and_checked() -> None:
    script = Script()
    ipset = IPSet(runner=script)
    ipset.add_entry("AG", "192.0.2.1", comment="web tier", timeout=30)
    assert script.calls[-1] == [
        "ipset", "add", "AG", "192.0.2.1", "timeout", "30", "comment", '"web tier"', "-exist",
    ]  # fmt: skip
    for bad in ['say "hi"', "back\\slash", "x" * 256, "line\nbreak"]:
        with pytest.raises(InvalidArgumentError):
            ipset.add_entry("AG", "192.0.2.1", comment=bad)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("The set with the given name does not exist", SetNotFoundError),
        ("Sets cannot be swapped: the second set does not exist", SetNotFoundError),
        ("Set cannot be created: set with the same name already exists", SetExistsError),
        ("Set cannot be renamed: a set with the new name already exists", SetExistsError),
        ("Element cannot be added to the set: it's already added", EntryExistsError),
        ("Element cannot be deleted from the set: it's not added", EntryNotFoundError),
        ("Set cannot be destroyed: it is in use by a kernel component", SetInUseError),
        ("Hash is full, cannot add more elements", SetFullError),
        ("Syntax error: typename 'hash:bogus' is unknown", IPSetParameterError),
        (
            "Syntax error: cannot parse 2001:db8::1: resolving to IPv4 address failed",
            IPSetParameterError,
        ),
        ("The sets cannot be swapped: their type does not match", IPSetParameterError),
        ("Timeout cannot be used: set was created without timeout support", IPSetParameterError),
        ("Kernel error received: Operation not permitted", PermissionDeniedError),
        ("Error in line 3: The set with the given name does not exist", SetNotFoundError),
        ("something new", IPSetError),
    ],
)
def test_ipset_messages_are_classified(message: str, error: type) -> None:
    assert classify_ipset(1, f"ipset v7.17: {message}\n".encode()) is error


def test_namespace_and_binary_failures_keep_their_shared_classes() -> None:
    assert (
        classify_ipset(1, b'Cannot open network namespace "gone": No such file or directory\n')
        is NamespaceNotFoundError
    )
    assert (
        classify_ipset(1, b'exec of "ipset" failed: No such file or directory\n')
        is BinaryNotFoundError
    )

    class Missing:
        def run(
            self,
            argv: Sequence[str],
            *,
            input: Optional[bytes] = None,
            timeout: Optional[float] = None,
        ) -> Result:
            raise FileNotFoundError(2, "No such file or directory", argv[0])

    with pytest.raises(BinaryNotFoundError):
        IPSet(runner=Missing()).list_sets()


def test_ignore_flags_decide_what_is_an_error() -> None:
    ipset = IPSet(runner=Script(fail("Element cannot be deleted from the set: it's not added")))
    ipset.delete_entry("AG", "192.0.2.1")  # ignore_missing by default
    ipset = IPSet(runner=Script(fail("Element cannot be deleted from the set: it's not added")))
    with pytest.raises(EntryNotFoundError) as missing:
        ipset.delete_entry("AG", "192.0.2.1", ignore_missing=False)
    assert isinstance(missing.value, NotFoundError)
    ipset = IPSet(runner=Script(fail("The set with the given name does not exist")))
    ipset.destroy_set("AG", ignore_missing=True)
    ipset = IPSet(
        runner=Script(fail("Set cannot be destroyed: it is in use by a kernel component"))
    )
    with pytest.raises(SetInUseError):
        ipset.destroy_set("AG", ignore_missing=True)


def test_test_entry_reads_the_exit_code_and_the_message() -> None:
    present = Result([], 0, b"", b"Warning: 192.0.2.1 is in set AG.\n")
    absent = Result([], 1, b"", b"192.0.2.2 is NOT in set AG.\n")
    ipset = IPSet(
        runner=Script(present, absent, fail("The set with the given name does not exist"))
    )
    assert ipset.test_entry("AG", "192.0.2.1") is True
    assert ipset.test_entry("AG", "192.0.2.2") is False
    with pytest.raises(SetNotFoundError):
        ipset.test_entry("AG", "192.0.2.3")


def test_listing_reads_save_output() -> None:
    saved = (
        b"create AG hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 "
        b"initval 0x1\nadd AG 192.0.2.1,tcp:80 timeout 20\nadd AG 192.0.2.1,udp:53\n"
        b"create AG2 hash:ip family inet\nadd AG2 192.0.2.9\n"
    )
    script = Script(Result([], 0, saved, b""), Result([], 0, b"AG\nAG2\n", b""))
    ipset = IPSet(runner=script)
    assert ipset.list_entries("AG") == ["192.0.2.1,tcp:80", "192.0.2.1,udp:53"]
    assert ipset.list_sets() == ["AG", "AG2"]
    assert script.calls == [["ipset", "save", "AG"], ["ipset", "list", "-n"]]


def test_a_batch_is_one_exist_restore_and_blames_the_line() -> None:
    script = Script(
        fail(
            "Error in line 3: Syntax error: cannot parse 192.0.2.300: resolving to IPv4 address failed"
        )
    )
    ipset = IPSet(runner=script)
    batch = ipset.batch()
    batch.create_set(SetSpec("AG"))
    batch.add_entries("AG", ["192.0.2.1", "192.0.2.300"])
    batch.delete_entry("AG", "192.0.2.7")
    with pytest.raises(IPSetParameterError) as failed:
        batch.commit()
    assert failed.value.line == 3
    assert failed.value.operation == "add_entry(AG, 192.0.2.300)"
    assert script.calls == [["ipset", "-exist", "restore"]]
    assert script.inputs[0] == (
        b"create AG hash:ip family inet\nadd AG 192.0.2.1\nadd AG 192.0.2.300\ndel AG 192.0.2.7\n"
    )
    with pytest.raises(RuntimeError):
        batch.add_entry("AG", "192.0.2.8")


def test_an_exception_in_the_block_sends_nothing() -> None:
    script = Script()
    with pytest.raises(KeyError), IPSet(runner=script).batch() as batch:
        batch.add_entry("AG", "192.0.2.1")
        raise KeyError("agent bug")
    assert script.calls == []


def test_sync_entries_fills_a_scratch_set_and_swaps_it_in() -> None:
    script = Script()
    result = IPSet(runner=script).sync_entries(SetSpec("AG", "hash:net"), ["192.0.2.0/24"])
    assert script.calls == [["ipset", "-exist", "restore"]]
    lines = result.payload.decode().splitlines()
    scratch = lines[1].split()[1]
    assert scratch != "AG" and len(scratch) <= 31
    assert lines == [
        "create AG hash:net family inet",
        f"create {scratch} hash:net family inet",
        f"flush {scratch}",
        f"add {scratch} 192.0.2.0/24",
        f"swap {scratch} AG",
        f"destroy {scratch}",
    ]
    assert result.applied


def test_a_failed_sync_destroys_its_scratch_set() -> None:
    script = Script(fail("Error in line 4: Syntax error: cannot parse bad"))
    with pytest.raises(IPSetParameterError):
        IPSet(runner=script).sync_entries(SetSpec("AG"), ["192.0.2.1", "bad"])
    assert script.calls[1][:2] == ["ipset", "destroy"]
    assert script.calls[1][2].startswith("iptw-")


def test_netns_goes_to_the_subprocess_runner() -> None:
    with pytest.raises(InvalidArgumentError):
        IPSet(netns="blue", runner=Script())
    with pytest.raises(InvalidArgumentError):
        IPSet(call_timeout=0)
    assert "blue" in repr(IPSet(netns="blue"))
