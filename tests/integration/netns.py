"""Throwaway network namespaces for real-kernel tests.

Every real-kernel test runs in a namespace made for it and deleted after it, so the
host's own rules are never read or written. Skips carry the exact reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from typing import Iterator, List, Optional

import pytest

BACKENDS = ("nft", "legacy")
FAMILIES = (4, 6)
# The releases in the field: 1.8.9 is the host's (Debian 12); the others come from
# Debian's archive, unpacked by ci/releases.sh into $IPTWRAP_RELEASES_DIR.
HOST_RELEASE = "1.8.9"
OTHER_RELEASES = ("1.8.7", "1.8.11")
RELEASES = ("1.8.7", HOST_RELEASE, "1.8.11")
RELEASES_DIR = os.environ.get("IPTWRAP_RELEASES_DIR", "/var/cache/iptwrap/releases")


def release_binary(release: str, backend: str, family: int) -> str:
    """The iptables binary of a release and backend (add ``-save``/``-restore``)."""
    prog = f"{'ip6' if family == 6 else 'ip'}tables-{backend}"
    if release == HOST_RELEASE:
        return prog
    return os.path.join(RELEASES_DIR, release, "bin", prog)


def require_release(release: str, backend: str) -> None:
    """Skip (or fail under CI as root) when a release's binaries are not unpacked."""
    require(backend)
    if release == HOST_RELEASE:
        return
    path = release_binary(release, backend, 4)
    if not os.access(path, os.X_OK):
        reason = f"iptables {release} is not unpacked at {path} (run ci/test as root)"
        if os.environ.get("IPTWRAP_REQUIRE_REAL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def skip_reason(backend: Optional[str] = None) -> Optional[str]:
    if os.geteuid() != 0:
        return "real-kernel tests need root (network namespaces, iptables)"
    if shutil.which("ip") is None:
        return "no `ip` binary (iproute2) to create network namespaces"
    for b in [backend] if backend else list(BACKENDS):
        for name in (f"iptables-{b}", f"ip6tables-{b}", f"iptables-{b}-restore"):
            if shutil.which(name) is None:
                return f"no {name} binary (apt-get install iptables)"
    return None


def require(backend: Optional[str] = None) -> None:
    """Skip with the stated reason, or fail when CI demands the real kernel.

    ``ci/test`` sets ``IPTWRAP_REQUIRE_REAL=1`` when it runs as root: there a missing
    binary or namespace support is a broken CI machine, not a reason to skip.
    """
    reason = skip_reason(backend)
    if reason is None:
        return
    if os.environ.get("IPTWRAP_REQUIRE_REAL") == "1":
        pytest.fail(f"real-kernel test cannot run: {reason}")
    pytest.skip(reason)


def _run(argv: List[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, capture_output=True, check=False)


class Namespace:
    """A named network namespace (``ip netns add``), removed on close."""

    def __init__(self) -> None:
        self.name = f"iptw-{uuid.uuid4().hex[:10]}"
        res = _run(["ip", "netns", "add", self.name])
        if res.returncode != 0:
            reason = f"cannot create a network namespace: {res.stderr.decode().strip()}"
            if os.environ.get("IPTWRAP_REQUIRE_REAL") == "1":
                pytest.fail(reason)
            pytest.skip(reason)
        _run(["ip", "-n", self.name, "link", "set", "lo", "up"])

    def exec(self, *argv: str, input: Optional[bytes] = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *argv],
            input=input,
            capture_output=True,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
        )

    def save(self, backend: str, family: int = 4) -> str:
        prog = f"{'ip6' if family == 6 else 'ip'}tables-{backend}-save"
        out = self.exec(prog).stdout.decode()
        return "\n".join(line for line in out.splitlines() if not line.startswith("#"))

    def close(self) -> None:
        _run(["ip", "netns", "del", self.name])


def namespace() -> Iterator[Namespace]:
    ns = Namespace()
    try:
        yield ns
    finally:
        ns.close()
