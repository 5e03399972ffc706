"""The small vocabulary of the API: tables, chains, positions, families, backends."""

from __future__ import annotations

import enum
from typing import Union

from typing_extensions import Literal

__all__ = [
    "Table",
    "Chain",
    "RulePosition",
    "Protocol",
    "Mode",
    "TableName",
    "TableLike",
    "ChainLike",
]


class _StrEnum(str, enum.Enum):
    def __str__(self) -> str:
        return str(self.value)


class Table(_StrEnum):
    """The netfilter tables iptables knows."""

    FILTER = "filter"
    NAT = "nat"
    MANGLE = "mangle"
    RAW = "raw"
    SECURITY = "security"


class Chain(_StrEnum):
    """The built-in chains (user chains are plain strings)."""

    PREROUTING = "PREROUTING"
    INPUT = "INPUT"
    FORWARD = "FORWARD"
    OUTPUT = "OUTPUT"
    POSTROUTING = "POSTROUTING"


class RulePosition(_StrEnum):
    """Where ``ensure_rule`` puts a missing rule: ``-A`` (end) or ``-I`` (start)."""

    APPEND = "-A"
    PREPEND = "-I"


class Protocol(_StrEnum):
    """The address family a client drives: ``iptables`` or ``ip6tables``."""

    IPV4 = "IPv4"
    IPV6 = "IPv6"


class Mode(_StrEnum):
    """The iptables backend: the nf_tables compat layer or the legacy x_tables one."""

    NFT = "nft"
    LEGACY = "legacy"


# The table names as a type, so that mypy catches "NAT" or "filtr" where a literal is
# written; a name read at run time goes through Table(name), which checks it.
TableName = Literal["filter", "nat", "mangle", "raw", "security"]
TableLike = Union[Table, TableName]
ChainLike = Union[Chain, str]
