"""Input validation, restore quoting, and the real subprocess runner (no iptables needed)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Dict, List

import pytest

import iptwrap
from iptwrap import IPTables, SubprocessRunner
from iptwrap._payload import chain_name, quote_token, restore_line, table_name
from iptwrap._watchdog import WATCHDOG

from .recording import RecordingRunner


@pytest.mark.parametrize(
    "bad", ["", "-F", "!x", "a b", "a\nb", "x\0", "A" * 29, 'q"uote', "back\\slash"]
)
def test_bad_chain_names_never_reach_a_process(bad: str) -> None:
    runner = RecordingRunner()
    ipt = IPTables(runner=runner)
    with pytest.raises(iptwrap.InvalidArgumentError):
        ipt.ensure_chain("filter", bad)
    assert runner.calls == []


@pytest.mark.parametrize("bad", ["NAT", "no such", "-t", "", "x\n"])
def test_bad_table_names(bad: str) -> None:
    with pytest.raises(iptwrap.InvalidArgumentError):
        table_name(bad)  # type: ignore[arg-type]


def test_good_names() -> None:
    assert chain_name("KUBE-SVC-ABCDEFGHIJKLMNOP") == "KUBE-SVC-ABCDEFGHIJKLMNOP"
    assert chain_name(iptwrap.Chain.INPUT) == "INPUT"
    assert chain_name("A" * 28) == "A" * 28
    assert table_name(iptwrap.Table.MANGLE) == "mangle"


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "nul\0", 5])
def test_rule_arguments_refuse_line_breaks_and_nul(bad: object) -> None:
    runner = RecordingRunner()
    with pytest.raises(iptwrap.InvalidArgumentError):
        IPTables(runner=runner).append_rule("filter", "INPUT", "-m", "comment", "--comment", bad)  # type: ignore[arg-type]
    assert runner.calls == []


def test_rule_numbers_are_positive_ints() -> None:
    ipt = IPTables(runner=RecordingRunner())
    for bad in (0, -1, True, "1"):
        with pytest.raises(iptwrap.InvalidArgumentError):
            ipt.insert_rule("filter", "INPUT", bad, "-j", "ACCEPT")  # type: ignore[arg-type]


def test_restore_payload_checks() -> None:
    ipt = IPTables(runner=RecordingRunner())
    with pytest.raises(iptwrap.InvalidArgumentError):
        ipt.restore_all(b"*filter\n-A INPUT -j ACCEPT\0\nCOMMIT\n")
    with pytest.raises(iptwrap.InvalidArgumentError):
        ipt.restore_all(b"\xff\xfe")
    with pytest.raises(iptwrap.InvalidArgumentError):
        ipt.restore_all("*filter\nCOMMIT\n")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "token,quoted",
    [
        ("ACCEPT", "ACCEPT"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("a comment", '"a comment"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("it's", '"it\\\'s"'),
        ("back\\slash", '"back\\\\slash"'),
        ("", '""'),
        ("#notacomment", '"#notacomment"'),
    ],
)
def test_quote_token(token: str, quoted: str) -> None:
    assert quote_token(token) == quoted


def test_restore_line_refuses_newline_smuggling() -> None:
    with pytest.raises(iptwrap.InvalidArgumentError):
        restore_line(["-A", "INPUT", "-m", "comment", "--comment", "x\n-A INPUT -j DROP"])


def test_policy_values() -> None:
    runner = RecordingRunner()
    with pytest.raises(iptwrap.InvalidArgumentError):
        IPTables(runner=runner).set_policy("filter", "INPUT", "RETURN")
    assert runner.calls == []


def test_constructor_validation() -> None:
    with pytest.raises(iptwrap.InvalidArgumentError):
        IPTables(mode="bogus")
    with pytest.raises(iptwrap.InvalidArgumentError):
        IPTables(lock_timeout=0)
    with pytest.raises(iptwrap.InvalidArgumentError):
        IPTables(runner=RecordingRunner(), netns="x")
    with pytest.raises(ValueError):
        SubprocessRunner(netns="../etc")
    with pytest.raises(ValueError):
        SubprocessRunner(netns="-n")


def test_interface_is_satisfied() -> None:
    assert isinstance(IPTables(runner=RecordingRunner()), iptwrap.Interface)


def test_subprocess_runner_env_and_no_shell() -> None:
    runner = SubprocessRunner(env={"IPTW_X": "1"})
    res = runner.run(
        [sys.executable, "-c", "import os;print(os.environ['LC_ALL'], os.environ['IPTW_X'])"]
    )
    assert res.returncode == 0 and res.stdout == b"C 1\n"
    # shell metacharacters are just bytes in one argv slot
    res = runner.run(["echo", "$(id) ; rm -rf /"])
    assert res.stdout == b"$(id) ; rm -rf /\n"
    res = runner.run(["cat"], input=b"payload")
    assert res.stdout == b"payload"


def test_subprocess_runner_kills_on_timeout() -> None:
    runner = SubprocessRunner()
    start = time.monotonic()
    with pytest.raises(iptwrap.RunnerTimeout):
        runner.run(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.3)
    assert time.monotonic() - start < 5


def test_subprocess_runner_timeout_keeps_what_the_child_wrote() -> None:
    with pytest.raises(iptwrap.RunnerTimeout) as e:
        SubprocessRunner().run(["sh", "-c", "echo partial; exec sleep 30"], timeout=0.3)
    assert e.value.stdout == b"partial\n" and e.value.timeout == 0.3


def test_subprocess_runner_deadlines_are_per_call() -> None:
    """Concurrent calls: the short one times out, the others finish; nothing is left."""
    runner = SubprocessRunner()
    outcomes: Dict[str, str] = {}

    def call(name: str, argv: List[str], timeout: float) -> None:
        try:
            outcomes[name] = runner.run(argv, timeout=timeout).stdout.decode().strip()
        except iptwrap.RunnerTimeout:
            outcomes[name] = "timeout"

    threads = [
        threading.Thread(target=call, args=("slow", ["sleep", "30"], 0.2)),
        *(
            threading.Thread(target=call, args=(f"ok{i}", ["sh", "-c", f"sleep 0.3; echo {i}"], 20))
            for i in range(4)
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert outcomes == {"slow": "timeout", **{f"ok{i}": str(i) for i in range(4)}}
    assert WATCHDOG.pending() == {"armed": 0}


def test_a_deadline_firing_on_a_child_already_gone_is_not_a_timeout() -> None:
    proc = subprocess.Popen(["true"], start_new_session=True)
    proc.wait()
    deadline = WATCHDOG.arm(proc, 0)
    for _ in range(200):
        if deadline.fired:
            break
        time.sleep(0.01)
    assert deadline.fired and WATCHDOG.disarm(deadline) is False


def test_subprocess_runner_timeout_in_a_forked_child() -> None:
    SubprocessRunner().run(["true"], timeout=5)  # the parent's watchdog thread exists
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            SubprocessRunner().run(["sleep", "30"], timeout=0.2)
        except iptwrap.RunnerTimeout:
            os._exit(0)
        os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_subprocess_runner_missing_binary() -> None:
    with pytest.raises(FileNotFoundError):
        SubprocessRunner().run(["/nonexistent/iptables", "-S"])


def test_subprocess_runner_netns_prefix(mocker) -> None:
    popen = mocker.patch("iptwrap._runner.subprocess.Popen")
    popen.return_value.communicate.return_value = (b"", b"")
    popen.return_value.returncode = 0
    SubprocessRunner(netns="blue").run(["iptables", "-S"])
    argv = popen.call_args.args[0]
    assert argv == ["ip", "netns", "exec", "blue", "iptables", "-S"]
    assert "shell" not in popen.call_args.kwargs


def test_a_namespace_path_runs_through_nsenter_and_a_name_through_ip_netns() -> None:
    from iptwrap._runner import SubprocessRunner

    assert SubprocessRunner(netns="/proc/1234/ns/net").prefix == [
        "nsenter",
        "--net=/proc/1234/ns/net",
        "--",
    ]
    assert SubprocessRunner(netns="blue").prefix == ["ip", "netns", "exec", "blue"]
    for bad in ("relative/path", "-blue", ""):
        with pytest.raises(ValueError):
            SubprocessRunner(netns=bad)
