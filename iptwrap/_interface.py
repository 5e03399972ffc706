"""``Interface``: what agents program against, satisfied by the real and fake clients.

It mirrors Kubernetes' ``pkg/util/iptables`` ``Interface`` in Python naming, plus the
listing and chain verbs go-iptables users rely on, and everything the README tells
agents to use: ``batch``, ``sync``, ``teardown``, ``save``, ``check_restore``. Type your agent's dependency as
``iptwrap.Interface`` and hand it ``IPTables(...)`` in production and
``iptwrap.fake.FakeIPTables(...)`` in unit tests.
"""

from __future__ import annotations

import threading
from typing import IO, TYPE_CHECKING, Callable, List, Optional, Sequence, Union

from typing_extensions import Protocol as _Protocol
from typing_extensions import runtime_checkable

from ._listing import ChainPolicy, RuleCounters
from ._types import ChainLike, Protocol, RulePosition, TableLike

if TYPE_CHECKING:  # the annotations only: these modules import the client
    from ._batch import Batch
    from ._sync import DesiredChains, Jump, SyncResult

__all__ = ["Interface"]


@runtime_checkable
class Interface(_Protocol):
    @property
    def protocol(self) -> Protocol: ...

    def is_ipv6(self) -> bool: ...

    def present(self) -> bool: ...

    def has_random_fully(self) -> bool: ...

    def ensure_chain(self, table: TableLike, chain: ChainLike) -> bool: ...

    def flush_chain(self, table: TableLike, chain: ChainLike) -> None: ...

    def delete_chain(self, table: TableLike, chain: ChainLike) -> None: ...

    def chain_exists(self, table: TableLike, chain: ChainLike) -> bool: ...

    def list_chains(self, table: TableLike) -> List[str]: ...

    def rename_chain(self, table: TableLike, old: ChainLike, new: ChainLike) -> None: ...

    def set_policy(self, table: TableLike, chain: ChainLike, policy: str) -> None: ...

    def zero_counters(
        self, table: TableLike, chain: Optional[ChainLike] = None, rule_number: Optional[int] = None
    ) -> None: ...

    def ensure_rule(
        self, position: RulePosition, table: TableLike, chain: ChainLike, *args: str
    ) -> bool: ...

    def append_rule(self, table: TableLike, chain: ChainLike, *args: str) -> None: ...

    def insert_rule(
        self, table: TableLike, chain: ChainLike, position: int, *args: str
    ) -> None: ...

    def delete_rule(self, table: TableLike, chain: ChainLike, *args: str) -> bool: ...

    def list_rules(self, table: TableLike, chain: ChainLike) -> List[str]: ...

    def list_rules_with_counters(
        self, table: TableLike, chain: ChainLike
    ) -> List[RuleCounters]: ...

    def save_into(
        self, table: TableLike, buffer: Union[bytearray, IO[bytes]], *, counters: bool = False
    ) -> None: ...

    def restore(
        self, table: TableLike, data: bytes, *, flush: bool = True, counters: bool = False
    ) -> None: ...

    def restore_all(self, data: bytes, *, flush: bool = True, counters: bool = False) -> None: ...

    def save(self, table: Optional[TableLike] = None, *, counters: bool = False) -> bytes: ...

    def check_restore(self, data: bytes) -> None: ...

    def rule_exists(self, table: TableLike, chain: ChainLike, *args: str) -> bool: ...

    def get_policy(self, table: TableLike, chain: ChainLike) -> Optional[ChainPolicy]: ...

    def delete_rule_number(self, table: TableLike, chain: ChainLike, number: int) -> None: ...

    def batch(self, *, dry_run: bool = False, check: bool = False) -> Batch: ...

    def sync(
        self,
        prefix: str,
        chains: DesiredChains,
        jumps: Sequence[Jump] = (),
        *,
        dry_run: bool = False,
        check: bool = False,
    ) -> SyncResult: ...

    def teardown(
        self, prefix: str, *, dry_run: bool = False, check: bool = False
    ) -> SyncResult: ...

    def monitor(
        self,
        canary: ChainLike,
        tables: Sequence[TableLike],
        reload: Callable[[], object],
        interval: float,
        stop: threading.Event,
    ) -> None: ...
