"""The contract's targets: the fake and the real kernel, per backend and family.

A behaviour the fake gets wrong is a bug in the fake, so the same tests run against
``FakeIPTables`` and ``IPTables`` in a fresh network namespace (``target`` fixture in
``conftest.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

from iptwrap import Binaries, IPTables, Protocol, TableName
from iptwrap.fake import FakeIPTables

from .netns import (
    BACKENDS,
    FAMILIES,
    HOST_RELEASE,
    OTHER_RELEASES,
    Namespace,
    namespace,
    release_binary,
    require_release,
)

# The fake and the host's binaries (1.8.9), then the other releases' real binaries.
PARAMS = [(k, b, f, HOST_RELEASE) for k in ("fake", "real") for b in BACKENDS for f in FAMILIES]
PARAMS += [("real", b, f, r) for r in OTHER_RELEASES for b in BACKENDS for f in FAMILIES]
IDS = [f"{k}-{b}-ipv{f}" + ("" if r == HOST_RELEASE else f"-{r}") for k, b, f, r in PARAMS]


@dataclass
class Target:
    ipt: IPTables
    kind: str
    backend: str
    family: int
    ns: Optional[Namespace] = None  # the real kernel's namespace
    release: str = HOST_RELEASE

    def save(self, table: Optional[TableName] = None) -> str:
        out = self.ipt.save(table).decode()
        return "".join(line + "\n" for line in out.splitlines() if not line.startswith("#"))

    def addr(self, n: int) -> str:
        return f"2001:db8::{n}" if self.family == 6 else f"192.0.2.{n}"

    def host(self, n: int) -> str:
        return f"{self.addr(n)}/{128 if self.family == 6 else 32}"


def make_target(
    kind: str, backend: str, family: int, release: str = HOST_RELEASE
) -> Iterator[Target]:
    proto = Protocol.IPV6 if family == 6 else Protocol.IPV4
    if kind == "fake":
        yield Target(FakeIPTables(proto, mode=backend), kind, backend, family)
        return
    require_release(release, backend)
    binary = release_binary(release, backend, family)
    binaries = Binaries(binary, f"{binary}-save", f"{binary}-restore")
    for ns in namespace():
        ipt = IPTables(proto, mode=backend, netns=ns.name, binaries=binaries)
        yield Target(ipt, kind, backend, family, ns, release)
