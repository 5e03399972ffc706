from __future__ import annotations

from typing import Iterator, Tuple

import pytest

from iptwrap import IPTables, Protocol

from .netns import BACKENDS, FAMILIES, Namespace, namespace, require
from .targets import IDS, PARAMS, Target, make_target


@pytest.fixture
def ns() -> Iterator[Namespace]:
    require()
    yield from namespace()


@pytest.fixture(
    params=[(b, f) for b in BACKENDS for f in FAMILIES],
    ids=[f"{b}-ipv{f}" for b in BACKENDS for f in FAMILIES],
)
def real(request: pytest.FixtureRequest, ns: Namespace) -> Tuple[IPTables, Namespace, str, int]:
    """An IPTables client in a fresh namespace, per backend and family."""
    backend, family = request.param
    require(backend)
    proto = Protocol.IPV6 if family == 6 else Protocol.IPV4
    return IPTables(proto, mode=backend, netns=ns.name, lock_timeout=3), ns, backend, family


@pytest.fixture(params=PARAMS, ids=IDS)
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The contract's subject: FakeIPTables, or IPTables in a fresh namespace."""
    yield from make_target(*request.param)
