"""Faults: a missing binary, a child killed by SIGKILL, a hung child, a restore failing in a
later table, a namespace that vanishes. Each gives a typed error and leaves the state as the
kernel left it (checked with iptables-save).
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import iptwrap
from iptwrap import Binaries, IPTables

from ..integration.netns import BACKENDS, Namespace, namespace, require
from .test_concurrency import record_figure


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def rules(ns: Namespace, backend: str) -> str:
    return ns.save(backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_binary(backend: str) -> None:
    require(backend)
    for ns in namespace():
        ipt = IPTables(
            mode=backend,
            netns=ns.name,
            binaries=Binaries("/nonexistent/iptables", "/nonexistent/s", "/nonexistent/r"),
        )
        assert not ipt.present()
        # through `ip netns exec` a missing binary is exit 1 + 'exec of "..." failed'
        with pytest.raises(iptwrap.BinaryNotFoundError):
            ipt.ensure_chain("filter", "X")
    direct = IPTables(
        binaries=Binaries("/nonexistent/iptables", "/nonexistent/s", "/nonexistent/r")
    )
    with pytest.raises(iptwrap.BinaryNotFoundError):
        direct.ensure_chain("filter", "X")


@pytest.mark.parametrize("backend", BACKENDS)
def test_child_killed_by_sigkill(backend: str, tmp_path: Path) -> None:
    require(backend)
    real = f"iptables-{backend}"
    wrapper = script(
        tmp_path,
        "iptables",
        f'if [ "$1" = --version ]; then exec {real} "$@"; fi\n{real} "$@"\nkill -KILL $$\n',
    )
    restore = script(
        tmp_path, "iptables-restore", f'head -n 3 | {real}-restore "$@"\nkill -KILL $$\n'
    )
    for ns in namespace():
        ipt = IPTables(
            mode=backend, netns=ns.name, binaries=Binaries(wrapper, f"{real}-save", restore)
        )
        with pytest.raises(iptwrap.CommandKilledError) as err:
            ipt.append_rule("filter", "INPUT", "-s", "192.0.2.1", "-j", "ACCEPT")
        assert err.value.returncode == -9
        # the real binary had finished its work before the kill: the kernel kept it
        assert "-A INPUT -s 192.0.2.1/32 -j ACCEPT" in rules(ns, backend)
        before = rules(ns, backend)
        with pytest.raises(iptwrap.IPTablesError):
            # the child sees only 3 lines (no COMMIT): iptables applies nothing
            ipt.restore_all(
                b"*filter\n-A INPUT -s 192.0.2.2 -j DROP\n-A INPUT -j DROP\nCOMMIT\n", flush=False
            )
        assert rules(ns, backend) == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_hung_child_times_out_and_is_killed(backend: str, tmp_path: Path) -> None:
    require(backend)
    marker = f"iptw-hang-{uuid.uuid4().hex[:8]}"
    real = f"iptables-{backend}"
    wrapper = script(
        tmp_path,
        "iptables",
        f'if [ "$1" = --version ]; then exec {real} "$@"; fi\nexec sleep 30 {marker}\n'.replace(
            f"sleep 30 {marker}", f"sh -c 'sleep 30' {marker}"
        ),
    )
    for ns in namespace():
        ipt = IPTables(
            mode=backend,
            netns=ns.name,
            call_timeout=1.0,
            lock_timeout=1.0,
            binaries=Binaries(wrapper, f"{real}-save", f"{real}-restore"),
        )
        ipt.present()
        start = time.monotonic()
        with pytest.raises(iptwrap.CommandTimeoutError):
            ipt.append_rule("filter", "INPUT", "-j", "ACCEPT")
        elapsed = time.monotonic() - start
        record_figure(
            {
                "test": "hung_child",
                "backend": backend,
                "call_timeout": 1.0,
                "lock_timeout": 1.0,
                "seconds_to_error": round(elapsed, 3),
            }
        )
        assert elapsed < 1.0 + 1.0 + 1.0
        time.sleep(0.2)
        left = subprocess.run(["pgrep", "-f", marker], capture_output=True).stdout
        assert left == b"", "the hung child outlived its timeout"
        assert "-A INPUT" not in rules(ns, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_restore_failing_in_a_later_table(backend: str) -> None:
    require(backend)
    for ns in namespace():
        ipt = IPTables(mode=backend, netns=ns.name)
        payload = (
            b"*filter\n-A INPUT -s 192.0.2.1 -j ACCEPT\nCOMMIT\n"
            b"*nat\n-A POSTROUTING -s 192.0.2.0/24 -j MASQUERADE\n-A POSTROUTING -j NOPE\nCOMMIT\n"
        )
        with pytest.raises(iptwrap.RestoreError) as err:
            ipt.restore_all(payload, flush=False)
        assert err.value.line in (6, 7)
        assert err.value.line_text in ("-A POSTROUTING -j NOPE", "COMMIT")
        after = rules(ns, backend)
        # both backends commit the first table; nothing of the failing one is applied
        assert "-A INPUT -s 192.0.2.1/32 -j ACCEPT" in after
        assert "MASQUERADE" not in after


@pytest.mark.parametrize("backend", BACKENDS)
def test_namespace_vanishing(backend: str) -> None:
    require(backend)
    for ns in namespace():
        ipt = IPTables(mode=backend, netns=ns.name)
        ipt.ensure_chain("filter", "X")
        subprocess.run(["ip", "netns", "del", ns.name], check=True)
        with pytest.raises(iptwrap.NamespaceNotFoundError) as err:
            ipt.chain_exists("filter", "X")
        assert not iptwrap.is_not_found(err.value)
        with pytest.raises(iptwrap.NamespaceNotFoundError):
            ipt.restore_all(b"*filter\nCOMMIT\n")
        assert not os.path.exists(f"/run/netns/{ns.name}")
