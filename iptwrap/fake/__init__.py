"""The in-memory fake: iptables, iptables-save and iptables-restore on fake kernel state.

``FakeRunner`` emulates the binaries (argv in; exit code, stdout, stderr out, exactly
as iptables 1.8.9 and ipset 7.17 answer on the chosen backend). ``FakeIPTables`` and
``FakeIPSet`` are the production clients over it, plus inspection helpers for tests.
"""

from ._client import FakeIPSet, FakeIPTables
from ._faults import Faults
from ._runner import FakeRunner

__all__ = ["FakeIPSet", "FakeIPTables", "FakeRunner", "Faults"]
