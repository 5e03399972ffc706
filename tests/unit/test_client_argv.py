"""The exact argv each method sends, for each version gate (cf. Kubernetes' TestIPTablesWaitFlag).

No process is started: a recording runner answers in place of the binaries, so no
network namespace is needed and the host's rules are never touched.
"""

from __future__ import annotations

from typing import Callable, List

import pytest

from iptwrap import (
    Binaries,
    IPTables,
    Mode,
    Protocol,
    Result,
    RulePosition,
    Table,
    VersionError,
)

from .recording import RecordingRunner

V = {
    "1.4.10": "iptables v1.4.10",
    "1.4.20": "iptables v1.4.20",
    "1.4.21": "iptables v1.4.21",
    "1.4.22": "iptables v1.4.22",
    "1.6.1": "iptables v1.6.1",
    "1.6.2": "iptables v1.6.2",
    "1.8.9-nft": "iptables v1.8.9 (nf_tables)",
    "1.8.9-legacy": "iptables v1.8.9 (legacy)",
}

# The lock flags each version gets on a plain iptables command (lock_timeout=5).
WAIT_FLAGS = [
    ("1.4.10", []),
    ("1.4.20", ["-w"]),
    ("1.4.21", ["-w"]),
    ("1.4.22", ["-w", "5"]),
    ("1.6.1", ["-w", "5", "-W", "100000"]),
    ("1.6.2", ["-w", "5", "-W", "100000"]),
    ("1.8.9-nft", ["-w", "5"]),
    ("1.8.9-legacy", ["-w", "5"]),
]


def client(version: str, **kw: object) -> tuple[IPTables, RecordingRunner]:
    runner = RecordingRunner(V[version])
    return IPTables(runner=runner, lock_timeout=5, **kw), runner  # type: ignore[arg-type]


@pytest.mark.parametrize("version,wait", WAIT_FLAGS, ids=[w[0] for w in WAIT_FLAGS])
def test_wait_flags_per_version(version: str, wait: List[str]) -> None:
    ipt, runner = client(version)
    ipt.flush_chain(Table.FILTER, "FOO")
    assert runner.calls == [["iptables", *wait, "-t", "filter", "-F", "FOO"]]


RESTORE_FLAGS = [
    ("1.4.22", []),
    ("1.6.1", []),
    ("1.6.2", ["-w", "5"]),
    ("1.8.9-nft", ["-w", "5"]),
    ("1.8.9-legacy", ["-w", "5"]),
]


@pytest.mark.parametrize("version,wait", RESTORE_FLAGS, ids=[w[0] for w in RESTORE_FLAGS])
def test_restore_wait_flag_per_version(version: str, wait: List[str], tmp_path) -> None:
    ipt, runner = client(version, lock_file=str(tmp_path / "xt.lock"))
    ipt.restore("nat", b"*nat\nCOMMIT\n", flush=False, counters=True)
    assert runner.calls == [["iptables-restore", "-T", "nat", "--noflush", "--counters", *wait]]
    assert runner.inputs == [b"*nat\nCOMMIT\n"]


def test_old_restore_holds_the_lock_file_itself(tmp_path) -> None:
    import fcntl
    import os

    path = tmp_path / "xt.lock"
    seen: List[bool] = []

    def probe(_argv: List[str]) -> None:
        # While the child "runs", the lock must be held: a second flock fails.
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append(False)
        except BlockingIOError:
            seen.append(True)
        finally:
            os.close(fd)

    runner = RecordingRunner(V["1.6.1"], on_call=probe)
    ipt = IPTables(runner=runner, lock_file=str(path))
    ipt.restore_all(b"*filter\nCOMMIT\n")
    assert seen == [True]
    # and released afterwards
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)


def test_lock_timeout_is_rounded_up_to_whole_seconds() -> None:
    runner = RecordingRunner(V["1.8.9-legacy"])
    IPTables(runner=runner, lock_timeout=1.2).flush_chain("filter", "X")
    assert runner.calls[0][:3] == ["iptables", "-w", "2"]


Call = Callable[[IPTables], object]
METHODS: List[tuple[str, Call, List[str]]] = [
    (
        "ensure_chain",
        lambda i: i.ensure_chain(Table.NAT, "KUBE-SVC"),
        ["-t", "nat", "-N", "KUBE-SVC"],
    ),
    ("flush_chain", lambda i: i.flush_chain("nat", "X"), ["-t", "nat", "-F", "X"]),
    ("delete_chain", lambda i: i.delete_chain("filter", "X"), ["-t", "filter", "-X", "X"]),
    ("chain_exists", lambda i: i.chain_exists("raw", "X"), ["-t", "raw", "-S", "X", "1"]),
    ("list_chains", lambda i: i.list_chains("mangle"), ["-t", "mangle", "-S"]),
    (
        "rename_chain",
        lambda i: i.rename_chain("filter", "A", "B"),
        ["-t", "filter", "-E", "A", "B"],
    ),
    (
        "set_policy",
        lambda i: i.set_policy("filter", "FORWARD", "DROP"),
        ["-t", "filter", "-P", "FORWARD", "DROP"],
    ),
    ("zero_table", lambda i: i.zero_counters("filter"), ["-t", "filter", "-Z"]),
    ("zero_chain", lambda i: i.zero_counters("filter", "INPUT"), ["-t", "filter", "-Z", "INPUT"]),
    (
        "zero_rule",
        lambda i: i.zero_counters("filter", "INPUT", 3),
        ["-t", "filter", "-Z", "INPUT", "3"],
    ),
    (
        "append_rule",
        lambda i: i.append_rule("filter", "INPUT", "-s", "192.0.2.1", "-j", "DROP"),
        ["-t", "filter", "-A", "INPUT", "-s", "192.0.2.1", "-j", "DROP"],
    ),
    (
        "insert_rule",
        lambda i: i.insert_rule("filter", "INPUT", 2, "-j", "ACCEPT"),
        ["-t", "filter", "-I", "INPUT", "2", "-j", "ACCEPT"],
    ),
    (
        "delete_rule",
        lambda i: i.delete_rule("filter", "INPUT", "-j", "ACCEPT"),
        ["-t", "filter", "-D", "INPUT", "-j", "ACCEPT"],
    ),
    ("list_rules", lambda i: i.list_rules("filter", "INPUT"), ["-t", "filter", "-S", "INPUT"]),
]


@pytest.mark.parametrize("name,call,tail", METHODS, ids=[m[0] for m in METHODS])
def test_method_argv(name: str, call: Call, tail: List[str]) -> None:
    ipt, runner = client("1.8.9-nft")
    call(ipt)
    assert runner.calls == [["iptables", "-w", "5", *tail]]


def test_ensure_rule_checks_then_appends_or_prepends() -> None:
    not_found = (1, b"", b"iptables: Bad rule (does a matching rule exist in that chain?).\n")
    runner = RecordingRunner(
        V["1.8.9-nft"], replies=[not_found, (0, b"", b""), (0, b"", b""), not_found]
    )
    ipt = IPTables(runner=runner, lock_timeout=5)
    assert ipt.ensure_rule(RulePosition.APPEND, "nat", "POSTROUTING", "-j", "MASQUERADE") is False
    assert ipt.ensure_rule(RulePosition.PREPEND, "filter", "INPUT", "-j", "ACCEPT") is True
    assert ipt.ensure_rule(RulePosition.PREPEND, "filter", "INPUT", "-j", "DROP") is False
    w = ["iptables", "-w", "5"]
    assert runner.calls == [
        [*w, "-t", "nat", "-C", "POSTROUTING", "-j", "MASQUERADE"],
        [*w, "-t", "nat", "-A", "POSTROUTING", "-j", "MASQUERADE"],
        [*w, "-t", "filter", "-C", "INPUT", "-j", "ACCEPT"],
        [*w, "-t", "filter", "-C", "INPUT", "-j", "DROP"],
        [*w, "-t", "filter", "-I", "INPUT", "-j", "DROP"],
    ]


def test_ensure_chain_reports_existing() -> None:
    exists = (1, b"", b"iptables: Chain already exists.\n")
    runner = RecordingRunner(V["1.8.9-legacy"], replies=[exists])
    assert IPTables(runner=runner).ensure_chain("filter", "FOO") is True
    assert IPTables(runner=runner).ensure_chain("filter", "FOO") is False


def test_delete_rule_absent_is_not_an_error() -> None:
    runner = RecordingRunner(
        V["1.8.9-nft"],
        replies=[
            (1, b"", b"iptables: Bad rule (does a matching rule exist in that chain?).\n"),
            (1, b"", b"iptables: No chain/target/match by that name.\n"),
        ],
    )
    ipt = IPTables(runner=runner)
    assert ipt.delete_rule("filter", "INPUT", "-j", "ACCEPT") is False
    assert ipt.delete_rule("filter", "NOPE", "-j", "ACCEPT") is False
    assert ipt.delete_rule("filter", "INPUT", "-j", "ACCEPT") is True


@pytest.mark.parametrize(
    "protocol,mode,expected",
    [
        (Protocol.IPV4, "auto", ("iptables", "iptables-save", "iptables-restore")),
        (Protocol.IPV6, "auto", ("ip6tables", "ip6tables-save", "ip6tables-restore")),
        (Protocol.IPV4, "nft", ("iptables-nft", "iptables-nft-save", "iptables-nft-restore")),
        (
            Protocol.IPV6,
            "legacy",
            ("ip6tables-legacy", "ip6tables-legacy-save", "ip6tables-legacy-restore"),
        ),
    ],
)
def test_binaries_per_mode(protocol: Protocol, mode: str, expected: tuple[str, str, str]) -> None:
    b = Binaries.for_mode(protocol, mode)
    assert (b.iptables, b.save, b.restore) == expected


def test_save_argv_and_save_into() -> None:
    runner = RecordingRunner(
        V["1.8.9-nft"], replies=[(0, b"*nat\nCOMMIT\n", b""), (0, b"*filter\nCOMMIT\n", b"")]
    )
    ipt = IPTables(runner=runner)
    buf = bytearray(b"# before\n")
    ipt.save_into(Table.NAT, buf)
    import io

    stream = io.BytesIO()
    ipt.save_into("filter", stream, counters=True)
    assert bytes(buf) == b"# before\n*nat\nCOMMIT\n"
    assert stream.getvalue() == b"*filter\nCOMMIT\n"
    assert runner.calls == [["iptables-save", "-t", "nat"], ["iptables-save", "-c", "-t", "filter"]]


def test_version_and_mode_probed_once() -> None:
    class Counting(RecordingRunner):
        probes = 0

        def run(self, argv, *, input=None, timeout=None):  # type: ignore[no-untyped-def]
            if list(argv)[1:] == ["--version"]:
                Counting.probes += 1
            return super().run(argv, input=input, timeout=timeout)

    runner = Counting("iptables v1.8.9 (legacy)")
    ipt = IPTables(runner=runner)
    assert ipt.mode is Mode.LEGACY
    assert str(ipt.version) == "1.8.9"
    ipt.flush_chain("filter", "X")
    ipt.flush_chain("filter", "Y")
    assert Counting.probes == 1
    assert ipt.has_random_fully()


def test_old_version_is_legacy_and_lacks_random_fully() -> None:
    ipt, _ = client("1.4.21")
    assert ipt.mode is Mode.LEGACY
    assert not ipt.has_random_fully()


def test_requested_mode_mismatch_is_a_version_error() -> None:
    runner = RecordingRunner("iptables v1.8.9 (nf_tables)")
    ipt = IPTables(runner=runner, mode="legacy", binaries=Binaries("iptables", "s", "r"))
    with pytest.raises(VersionError, match="legacy"):
        ipt.flush_chain("filter", "X")
    assert not ipt.present()


class _KernelThatCanonicalises(RecordingRunner):
    """Answers ``-S`` of a scratch chain with the rule the kernel would print for it."""

    def __init__(self, version_line: str, chain_listing: bytes, canonical: bytes) -> None:
        super().__init__(version_line)
        self.chain_listing = chain_listing
        self.canonical = canonical

    def run(self, argv, *, input=None, timeout=None):  # type: ignore[no-untyped-def]
        result = super().run(argv, input=input, timeout=timeout)
        if "-S" in argv:
            chain = argv[argv.index("-S") + 1]
            if chain.startswith("IPTWRAP-ID-"):
                return Result(
                    argv,
                    0,
                    b"-N "
                    + chain.encode()
                    + b"\n-A "
                    + chain.encode()
                    + b" "
                    + self.canonical
                    + b"\n",
                    b"",
                )
            return Result(argv, 0, self.chain_listing, b"")
        return result


def test_ensure_rule_without_check_support_asks_the_kernel_and_reads_the_chain() -> None:
    """Before 1.4.11 (no -C) and on any release the engine does not model, identity is
    the kernel's own text: the spec goes into a scratch chain, ``-S`` reads it back."""
    spec = b"-s 192.0.2.1/32 -p tcp -m tcp --dport 22 -j ACCEPT"
    runner = _KernelThatCanonicalises(
        V["1.4.10"], b"-P INPUT ACCEPT\n-A INPUT " + spec + b"\n", spec
    )
    ipt = IPTables(runner=runner)
    args = ["-s", "192.0.2.1", "-p", "TCP", "--dport", "ssh", "-j", "ACCEPT"]
    assert ipt.ensure_rule(RulePosition.APPEND, "filter", "INPUT", *args)
    load, read, drop, listing = runner.calls
    scratch = read[-1]
    assert scratch.startswith("IPTWRAP-ID-") and load[0] == drop[0] == "iptables-restore"
    assert runner.inputs[0] == (
        f"*filter\n:{scratch} - [0:0]\n-A {scratch} {' '.join(args)}\nCOMMIT\n".encode()
    )
    assert runner.inputs[2] == f"*filter\n-F {scratch}\n-X {scratch}\nCOMMIT\n".encode()
    assert listing == ["iptables", "-t", "filter", "-S", "INPUT"]
    # the kernel's answer is kept: the same spec again costs one -S
    assert ipt.ensure_rule(RulePosition.APPEND, "filter", "INPUT", *args)
    assert runner.calls[4:] == [["iptables", "-t", "filter", "-S", "INPUT"]]
    runner.canonical = b"-j DROP"
    assert not ipt.ensure_rule(RulePosition.APPEND, "filter", "INPUT", "-j", "DROP")
    assert runner.calls[-1] == ["iptables", "-t", "filter", "-A", "INPUT", "-j", "DROP"]
    assert all("-C" not in c for c in runner.calls)


@pytest.mark.parametrize(
    "version_line, rule_by_rule",
    [
        ("iptables v1.8.7 (nf_tables)", True),  # -Z CHAIN keeps the rules' counters there
        ("iptables v1.8.7 (legacy)", False),
        ("iptables v1.8.9 (nf_tables)", False),
        ("iptables v1.8.11 (nf_tables)", False),
    ],
)
def test_zero_counters_per_release(version_line: str, rule_by_rule: bool) -> None:
    save = b"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n-A INPUT -j RETURN\nCOMMIT\n"
    runner = RecordingRunner(version_line, replies=[(0, b"", b""), (0, save, b"")])
    IPTables(runner=runner).zero_counters("filter", "INPUT")
    wait = ["-w", "5"]
    assert runner.calls[0] == ["iptables", *wait, "-t", "filter", "-Z", "INPUT"]
    if not rule_by_rule:
        assert len(runner.calls) == 1
        return
    assert runner.calls[1] == ["iptables-save", "-t", "filter"]
    assert runner.calls[2] == ["iptables-restore", "--noflush", *wait]
    # never "-Z INPUT" and "-Z INPUT 1" in one restore: 1.8.7's nft restore crashes on it
    assert runner.inputs[2] == b"*filter\n-Z INPUT 1\n-Z INPUT 2\nCOMMIT\n"
