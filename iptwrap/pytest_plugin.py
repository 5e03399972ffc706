"""pytest fixtures for agents' tests, registered by entry point (``pytest11``).

- ``fake_iptables``: a fresh :class:`~iptwrap.fake.FakeIPTables` per test.
- ``fake_host``: a fresh :class:`~iptwrap.fake.FakeRunner`, one host holding both
  families (hand it to ``FakeIPTables(..., runner=fake_host)`` for each).
- ``netns_iptables``: the real :class:`~iptwrap.IPTables` in a network namespace made
  for the test and always removed; skipped, with the reason, without root or ``ip``.

Which backend, family and release: the ``iptwrap`` marker, on a test, class or module::

    @pytest.mark.iptwrap(mode="legacy", ipv6=True, version="1.8.7")
    def test_on_legacy_ipv6(fake_iptables): ...

    @pytest.mark.iptwrap(mode="both")      # the test runs once per backend
    def test_on_either(fake_iptables): ...

The default is nft, IPv4, 1.8.9. This module is loaded by pytest only; the library
never imports it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from typing import Any, Dict, Iterator

import pytest

from ._client import IPTables
from ._types import Protocol
from .fake import FakeIPTables, FakeRunner

__all__ = ["fake_iptables", "fake_host", "netns_iptables"]

_MODES = ("nft", "legacy")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "iptwrap(mode='nft'|'legacy'|'both', ipv6=False, version='1.8.9'): the backend, "
        "family and release of the iptwrap fixtures",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("iptwrap")
    uses = {"fake_iptables", "fake_host", "netns_iptables"} & set(metafunc.fixturenames)
    if marker is None or not uses or marker.kwargs.get("mode") != "both":
        return
    metafunc.parametrize("_iptwrap_mode", list(_MODES), ids=list(_MODES), indirect=True)


def _settings(request: pytest.FixtureRequest) -> Dict[str, Any]:
    marker = request.node.get_closest_marker("iptwrap")
    kwargs: Dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    unknown = set(kwargs) - {"mode", "ipv6", "version"}
    if unknown:
        raise pytest.UsageError(f"iptwrap marker: unknown arguments {sorted(unknown)}")
    mode = kwargs.get("mode", "nft")
    if mode == "both":
        mode = request.getfixturevalue("_iptwrap_mode")  # the parametrised backend
    if mode not in _MODES:
        raise pytest.UsageError(f"iptwrap marker: mode must be nft, legacy or both, not {mode!r}")
    return {
        "mode": mode,
        "protocol": Protocol.IPV6 if kwargs.get("ipv6") else Protocol.IPV4,
        "version": kwargs.get("version", "1.8.9"),
    }


@pytest.fixture
def _iptwrap_mode(request: pytest.FixtureRequest) -> str:
    """The backend of a ``mode="both"`` test (parametrised by pytest_generate_tests)."""
    return str(getattr(request, "param", "nft"))


@pytest.fixture
def fake_host(request: pytest.FixtureRequest, _iptwrap_mode: str) -> FakeRunner:
    """One in-memory host (IPv4 and IPv6 state) answering as the marker says."""
    s = _settings(request)
    return FakeRunner(mode=s["mode"], version=s["version"])


@pytest.fixture
def fake_iptables(request: pytest.FixtureRequest, fake_host: FakeRunner) -> FakeIPTables:
    """The production client over ``fake_host``: nft and IPv4 unless the marker says."""
    s = _settings(request)
    return FakeIPTables(s["protocol"], mode=s["mode"], version=s["version"], runner=fake_host)


def _skip_reason() -> str:
    if os.geteuid() != 0:
        return "netns_iptables needs root (to make a network namespace)"
    if shutil.which("ip") is None:
        return "netns_iptables needs `ip` (iproute2)"
    return ""


@pytest.fixture
def netns_iptables(request: pytest.FixtureRequest, _iptwrap_mode: str) -> Iterator[IPTables]:
    """The real client in a network namespace of its own, removed after the test."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    s = _settings(request)
    binary = f"{'ip6' if s['protocol'] is Protocol.IPV6 else 'ip'}tables-{s['mode']}"
    if shutil.which(binary) is None:
        pytest.skip(f"netns_iptables needs {binary} (apt-get install iptables)")
    name = f"iptw-{uuid.uuid4().hex[:10]}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot make a network namespace: {made.stderr.decode().strip()}")
    try:
        yield IPTables(s["protocol"], mode=s["mode"], netns=name)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
