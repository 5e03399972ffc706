"""The match modules (``-m NAME`` and the implicit protocol matches), by concern.

Importing the package registers every match with :mod:`iptwrap._rulespec.ext`. The
value parsers other modules share (marks, TOS, DSCP, the ICMP type tables) are public
names of their module.
"""

from __future__ import annotations

from . import (  # noqa: F401  (register)
    accounting,
    conntrack,
    hosts,
    icmp,
    ipv6,
    marks,
    misc,
    ports,
    rates,
    routing,
)

__all__: list[str] = []
