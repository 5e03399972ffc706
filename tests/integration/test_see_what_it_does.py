"""What a person sees when a call cannot work: checked against the real binaries.

- Not allowed (no root, no CAP_NET_ADMIN): every call is one ``PermissionDeniedError``
  with a hint, on both backends and through ``ip netns exec``; ``present()`` is False.
- Mistakes caught before anything runs: each is something the real binary refuses
  too (so the check never refuses a valid call), with a message that says what to do.
"""

from __future__ import annotations

import shutil
from typing import List, Sequence

import pytest

import iptwrap
from iptwrap import IPTables, Protocol
from iptwrap._runner import SubprocessRunner

from .netns import BACKENDS, Namespace

# nobody, without supplementary groups or capabilities
UNPRIVILEGED = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]


class _Unprivileged(SubprocessRunner):
    """Runs each command as nobody: inside the namespace, or (outer) around ip netns exec."""

    def __init__(self, netns: str, outer: bool = False) -> None:
        super().__init__()
        self._ns = netns
        self._outer = outer

    def _full_argv(self, argv: Sequence[str]) -> List[str]:
        enter = ["ip", "netns", "exec", self._ns]
        if self._outer:
            return [*UNPRIVILEGED, *enter, *argv]
        return [*enter, *UNPRIVILEGED, *argv]


@pytest.fixture
def setpriv() -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("no setpriv (util-linux) to drop privileges")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", [4, 6])
def test_an_unprivileged_client_gets_one_error_with_a_hint(
    ns: Namespace, setpriv: None, backend: str, family: int
) -> None:
    proto = Protocol.IPV6 if family == 6 else Protocol.IPV4
    ipt = IPTables(proto, mode=backend, runner=_Unprivileged(ns.name), ensure_lock_file=False)
    assert ipt.present() is False
    calls = [
        lambda: ipt.list_chains("filter"),
        lambda: ipt.save("filter"),
        lambda: ipt.save(),
        lambda: ipt.append_rule("filter", "INPUT", "-j", "ACCEPT"),
        lambda: ipt.restore_all(b"*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", flush=False),
    ]
    for call in calls:
        with pytest.raises(iptwrap.PermissionDeniedError, match="CAP_NET_ADMIN"):
            call()
    assert "-A INPUT" not in ns.save(backend, family)


def test_an_unprivileged_namespace_entry_is_the_same_error(ns: Namespace, setpriv: None) -> None:
    ipt = IPTables(runner=_Unprivileged(ns.name, outer=True), ensure_lock_file=False)
    assert ipt.present() is False
    with pytest.raises(iptwrap.PermissionDeniedError, match="Operation not permitted"):
        ipt.list_chains("filter")


# ---- every mistake the client refuses first, the binaries refuse too


def _refused_by_the_binary(ns: Namespace, backend: str, family: int, argv: List[str]) -> None:
    prog = f"{'ip6' if family == 6 else 'ip'}tables-{backend}"
    res = ns.exec(prog, "-w", "5", *argv)
    assert res.returncode != 0, (prog, argv, res.stdout, res.stderr)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_binaries_refuse_what_the_client_refuses_first(ns: Namespace, backend: str) -> None:
    from tests.unit.test_hints import OTHER_FAMILY, TARGET_OUTSIDE

    for family in (4, 6):
        for table in ("NAT", "filtr", "Mangle "):
            _refused_by_the_binary(ns, backend, family, ["-t", table, "-S"])
        for table, chain in (("filter", "INPUT"), ("nat", "POSTROUTING"), ("raw", "PREROUTING")):
            _refused_by_the_binary(ns, backend, family, ["-t", table, "-X", chain])
    for proto, rule, _hint in OTHER_FAMILY:
        family = 6 if proto is Protocol.IPV6 else 4
        table, chain = ("nat", "PREROUTING") if "DNAT" in rule else ("filter", "INPUT")
        _refused_by_the_binary(ns, backend, family, ["-t", table, "-A", chain, *rule])
        ipt = IPTables(proto, mode=backend, netns=ns.name)
        with pytest.raises(iptwrap.InvalidArgumentError):
            ipt.append_rule(table, chain, *rule)  # type: ignore[arg-type]
    for table, chain, rule, _hint in TARGET_OUTSIDE:
        _refused_by_the_binary(ns, backend, 4, ["-t", table, "-A", chain, *rule])
    for family in (4, 6):
        assert "-A " not in ns.save(backend, family)


# ---- a namespace given as a path, as CNI plugins are handed it


def test_a_namespace_path_works_like_its_name(ns: Namespace) -> None:
    import subprocess

    by_path = IPTables(netns=f"/run/netns/{ns.name}", ensure_lock_file=False)
    by_path.ensure_chain("filter", "BYPATH")
    assert "BYPATH" in IPTables(netns=ns.name).list_chains("filter")
    holder = subprocess.Popen(["ip", "netns", "exec", ns.name, "sleep", "30"])
    try:
        proc_path = f"/proc/{holder.pid}/ns/net"
        assert "BYPATH" in IPTables(netns=proc_path).list_chains("filter")
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(iptwrap.NamespaceNotFoundError):
        IPTables(netns="/run/netns/iptw-no-such-namespace").list_chains("filter")
    with pytest.raises(iptwrap.NamespaceNotFoundError):
        IPTables(netns="/etc/hostname").list_chains("filter")  # a file, not a namespace


# ---- the pytest plugin's real-kernel fixture

pytest_plugins = ["pytester"]


def test_netns_iptables_is_a_real_namespace_and_always_removed(pytester: pytest.Pytester) -> None:
    from .netns import require

    require()
    pytester.makepyfile(
        """
        import pytest, subprocess

        @pytest.mark.iptwrap(mode="both")
        def test_real(netns_iptables, tmp_path_factory):
            netns_iptables.ensure_chain("filter", "FIXTURE")
            assert "FIXTURE" in netns_iptables.list_chains("filter")
            with open("names.txt", "a") as f:
                f.write(repr(netns_iptables).split("netns='")[1].split("'")[0] + "\\n")
            raise AssertionError("a failing test still removes its namespace")
        """
    )
    result = pytester.runpytest_inprocess("-q")
    result.assert_outcomes(failed=2)
    names = (pytester.path / "names.txt").read_text().split()
    assert len(names) == 2 and all(n.startswith("iptw-") for n in names)
    import subprocess

    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [n for n in names if n in listed]
