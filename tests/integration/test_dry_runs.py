"""What ``iptables-restore --test`` (a dry run's ``check=True``) catches, per backend.

Measured on 1.8.9 in a namespace: nft's ``--test`` parses the payload and stops, so it
finds only what the parser refuses; legacy's also applies the payload to its copy of
the table, so it finds missing chains and rules too. Neither asks the kernel, so a
rule the kernel's own checks refuse (a target outside its table or hook) passes both.
docs/batch-and-sync.md carries the same table.
"""

from __future__ import annotations

from typing import Dict, Tuple

import pytest

import iptwrap
from iptwrap import IPTables

from .netns import BACKENDS, Namespace


def _rules(ns: Namespace, backend: str) -> list:
    """User chains and rules: legacy instantiates a table (empty) when a restore names it."""
    text = ns.save(backend)
    return [line for line in text.splitlines() if line.startswith("-A") or " - [" in line]


# name: (payload, caught by --test on nft, caught on legacy); the real restore refuses all
CASES: Dict[str, Tuple[str, bool, bool]] = {
    "unknown option": ("*filter\n-A INPUT --bogus\nCOMMIT\n", True, True),
    "append to a missing chain": ("*filter\n-A NOPE -j ACCEPT\nCOMMIT\n", False, True),
    "delete a missing rule": ("*filter\n-D INPUT -s 192.0.2.9 -j ACCEPT\nCOMMIT\n", False, True),
    "jump to a missing chain": ("*filter\n-A INPUT -j NOPE\nCOMMIT\n", False, True),
    "delete a chain in use": ("*filter\n-X USED\nCOMMIT\n", False, True),
    "create a chain that exists": ("*filter\n-N USED\nCOMMIT\n", False, True),
    "DNAT in filter": (
        "*filter\n-A INPUT -j DNAT --to-destination 192.0.2.1\nCOMMIT\n",
        False,
        False,
    ),
    "MASQUERADE in PREROUTING": ("*nat\n-A PREROUTING -j MASQUERADE\nCOMMIT\n", False, False),
    "tcp-reset without -p tcp": (
        "*filter\n-A INPUT -j REJECT --reject-with tcp-reset\nCOMMIT\n",
        False,
        False,
    ),
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_what_a_checked_dry_run_catches(ns: Namespace, backend: str) -> None:
    ipt = IPTables(mode=backend, netns=ns.name)
    ipt.ensure_chain("filter", "USED")
    ipt.append_rule("filter", "INPUT", "-j", "USED")
    before = _rules(ns, backend)
    for name, (payload, on_nft, on_legacy) in CASES.items():
        caught = on_nft if backend == "nft" else on_legacy
        data = payload.encode()
        if caught:
            with pytest.raises(iptwrap.RestoreError):
                ipt.check_restore(data)
        else:
            ipt.check_restore(data)  # passes: only the real restore finds it
        with pytest.raises(iptwrap.IPTablesError):
            ipt.restore_all(data, flush=False)
        assert _rules(ns, backend) == before, name


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_checked_dry_run_of_a_batch_names_the_operation(ns: Namespace, backend: str) -> None:
    ipt = IPTables(mode=backend, netns=ns.name)
    before = _rules(ns, backend)
    with pytest.raises(iptwrap.BatchError) as err, ipt.batch(dry_run=True, check=True) as b:
        b.append_rule("filter", "INPUT", "-j", "ACCEPT")
        b.append_rule("filter", "INPUT", "-m", "comment", "--comment", "x", "--bogus")
    assert err.value.operation is not None and err.value.operation.index == 1
    with ipt.batch(dry_run=True, check=True) as ok:
        ok.ensure_chain("filter", "AGENT")
        ok.append_rule("filter", "AGENT", "-j", "RETURN")
    assert ok.result.payload == b"*filter\n:AGENT - [0:0]\n-A AGENT -j RETURN\nCOMMIT\n"
    assert not ok.result.applied
    assert _rules(ns, backend) == before
