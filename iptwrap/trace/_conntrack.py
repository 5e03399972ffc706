"""Connection tracking, as far as the tracer needs it.

A flow's first packet creates an entry with the NAT the rules chose; later packets of
the flow, in either direction, are ESTABLISHED, get the same translation (replies the
reverse one) and skip the nat tables, as in the kernel. With no entry, a TCP SYN is
NEW and so is a bare ACK (nf_conntrack_tcp_loose, the default); SYN+ACK, FIN, RST and
SYN+FIN cannot start a connection and are INVALID (nf_conntrack_proto_tcp's table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

__all__ = ["Conntrack", "Entry", "Tuple5"]

# (proto, src, sport, dst, dport): ports are None for ICMP (its id is not modelled)
Tuple5 = Tuple[int, str, Optional[int], str, Optional[int]]


@dataclass
class Entry:
    original: Tuple5
    reply: Tuple5  # what the reply looks like on the wire (after NAT)
    mark: int = 0  # the connection's mark (CONNMARK)
    dnat: bool = False
    snat: bool = False
    seen_reply: bool = False


class Conntrack:
    """Flows remembered across ``trace()`` calls (pass the same object each time)."""

    def __init__(self) -> None:
        self._by_tuple: Dict[Tuple5, Tuple[Entry, bool]] = {}  # tuple -> (entry, is_reply)
        # per-rule state that lives in the kernel between packets (statistic --mode nth)
        self.nth: Dict[Tuple[str, str, str], int] = {}

    def find(self, key: Tuple5) -> Optional[Tuple[Entry, bool]]:
        return self._by_tuple.get(key)

    def add(self, entry: Entry) -> None:
        self._by_tuple[entry.original] = (entry, False)
        self._by_tuple[entry.reply] = (entry, True)

    def __len__(self) -> int:
        return len({id(e) for e, _r in self._by_tuple.values()})


def reverse(t: Tuple5) -> Tuple5:
    proto, src, sport, dst, dport = t
    return proto, dst, dport, src, sport
