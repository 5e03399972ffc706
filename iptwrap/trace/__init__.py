"""The packet tracer: what a host's rules do to one packet, with no root and no traffic.

``trace(host, packet, network, conntrack=None)`` walks the packet through the hooks in
the kernel's order, evaluating the rules the rule engine parsed: matches, jumps,
gotos, returns, policies, NAT (routing redone after DNAT), marks, REJECT. A match or
target it cannot evaluate makes the outcome "unknown" when the verdict depends on it;
it never guesses. The integration suite proves it against real packets.
"""

from ._conntrack import Conntrack
from ._matches import EVALUATED_MATCHES
from ._model import Network, Packet, Route, Step, Trace
from ._walk import EVALUATED_TARGETS, trace

__all__ = [
    "Conntrack",
    "EVALUATED_MATCHES",
    "EVALUATED_TARGETS",
    "Network",
    "Packet",
    "Route",
    "Step",
    "Trace",
    "trace",
]
