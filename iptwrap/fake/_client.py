"""``FakeIPTables``: the real client over the in-memory kernel, plus inspection."""

from __future__ import annotations

from typing import List, Optional, Tuple, Union

from .._client import IPTables
from .._ipset import IPSet
from .._payload import chain_name, table_name
from .._settings import DEFAULT_CALL_TIMEOUT, DEFAULT_LOCK_TIMEOUT, Binaries, RetryPolicy
from .._types import ChainLike, Mode, Protocol, TableLike
from ._runner import FakeRunner

__all__ = ["FakeIPTables", "FakeIPSet"]


class FakeIPTables(IPTables):
    """``IPTables`` over a :class:`FakeRunner`: the same interface, no root, no kernel.

    Everything above the runner (argv building, version gates, retries, error
    classification) is the production code. Several clients may share one
    ``FakeRunner`` (one host): pass ``runner=`` to give an IPv6 client the same host
    as an IPv4 one.
    """

    def __init__(
        self,
        protocol: Protocol = Protocol.IPV4,
        *,
        mode: Union[Mode, str] = "nft",
        version: str = "1.8.9",
        runner: Optional[FakeRunner] = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT,
        retry: Optional[RetryPolicy] = None,
    ) -> None:
        mode_value = Mode(mode).value
        self.fake = runner if runner is not None else FakeRunner(mode=mode_value, version=version)
        super().__init__(
            protocol,
            mode=mode_value,
            binaries=Binaries.for_mode(Protocol(protocol), None),
            lock_timeout=lock_timeout,
            call_timeout=call_timeout,
            retry=retry,
            runner=self.fake,
        )

    # ------------------------------------------------------------- inspection

    def dump(self, table: Optional[TableLike] = None, *, counters: bool = False) -> str:
        """The fake's ``iptables-save`` text, without the comment lines."""
        argv = [self.binaries.save] + (["-c"] if counters else [])
        if table is not None:
            argv += ["-t", table_name(table)]
        out = self.fake.inspect(argv).stdout.decode("utf-8")  # not one of the calls
        return "".join(line + "\n" for line in out.splitlines() if not line.startswith("#"))

    def rules(self, table: TableLike, chain: ChainLike) -> List[str]:
        """The canonical ``-A CHAIN ...`` lines of one chain, as iptables-save prints them."""
        prefix = f"-A {chain_name(chain)}"
        return [
            line
            for line in self.dump(table).splitlines()
            if line == prefix or line.startswith(prefix + " ")
        ]

    @property
    def calls(self) -> List[Tuple[str, ...]]:
        """The argv of every call made to the fake host (by any client sharing it)."""
        return list(self.fake.calls)


class FakeIPSet(IPSet):
    """``IPSet`` over a :class:`FakeRunner`: the fake host's ``ipset`` binary.

    Pass the ``runner`` of a :class:`FakeIPTables` (``ipt.fake``) to share one host:
    its rules then see the sets, and a set a rule references cannot be destroyed.
    """

    def __init__(
        self,
        *,
        runner: Optional[FakeRunner] = None,
        call_timeout: Optional[float] = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        self.fake = runner if runner is not None else FakeRunner()
        super().__init__(runner=self.fake, call_timeout=call_timeout)

    @property
    def calls(self) -> List[Tuple[str, ...]]:
        """The argv of every call made to the fake host (by any client sharing it)."""
        return list(self.fake.calls)
