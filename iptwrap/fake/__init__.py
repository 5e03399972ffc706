"""The in-memory fake: iptables, iptables-save and iptables-restore on fake kernel state.

``FakeRunner`` emulates the binaries (argv in; exit code, stdout, stderr out, exactly
as iptables 1.8.9 answers on the chosen backend). ``FakeIPTables`` is the production
``IPTables`` client over it, plus inspection helpers for tests.
"""

from ._client import FakeIPTables
from ._faults import Faults
from ._runner import FakeRunner

__all__ = ["FakeIPTables", "FakeRunner", "Faults"]
