"""A host firewall with SNAT for a LAN: a router between a LAN and the outside.

The host has ``eth0`` to the outside (a fixed address) and ``eth1`` to a LAN; it
forwards the LAN's traffic out, source-NATed to its own address, and accepts little:

- filter ``HF-INPUT`` (from INPUT): loopback; replies (conntrack); SSH from the
  admin networks; the ports it serves; ICMP echo, rate-limited; everything from the
  LAN. The INPUT policy is DROP, so what no rule accepts is dropped;
- filter ``HF-FORWARD`` (from FORWARD, policy DROP): replies, and new traffic from the
  LAN to the outside;
- nat ``HF-POSTROUTING``: SNAT of the LAN to the outside address (MASQUERADE when the
  address is dynamic).

The chains are synced first and the policies set after, so that no moment drops the
SSH session that applies them.

    python examples/host_firewall.py          # on the fake: prints the rules
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from iptwrap import Interface, Jump, RulePosition, SyncResult

PREFIX = "HF-"
Rule = List[str]


@dataclass(frozen=True)
class Firewall:
    lan: str = "198.51.100.0/24"
    lan_if: str = "eth1"
    wan_if: str = "eth0"
    wan_address: Optional[str] = "203.0.113.1"  # None: dynamic, MASQUERADE
    admin_networks: Sequence[str] = ("192.0.2.0/24",)
    open_tcp_ports: Sequence[int] = field(default_factory=lambda: [80, 443])


def desired(fw: Firewall) -> Dict[str, Dict[str, List[Rule]]]:
    established = ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]
    inbound: List[Rule] = [
        ["-i", "lo", "-j", "ACCEPT"],
        established,
        ["-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"],
    ]
    inbound += [
        ["-s", net, "-p", "tcp", "-m", "tcp", "--dport", "22", "-j", "ACCEPT"]
        for net in fw.admin_networks
    ]
    inbound += [
        ["-i", fw.wan_if, "-p", "tcp", "-m", "tcp", "--dport", str(port), "-j", "ACCEPT"]
        for port in fw.open_tcp_ports
    ]
    inbound += [
        ["-p", "icmp", "-m", "icmp", "--icmp-type", "8", "-m", "limit", "--limit", "10/sec",
         "-j", "ACCEPT"],
        ["-i", fw.lan_if, "-s", fw.lan, "-j", "ACCEPT"],
    ]  # fmt: skip
    forward: List[Rule] = [
        established,
        ["-i", fw.lan_if, "-o", fw.wan_if, "-s", fw.lan, "-j", "ACCEPT"],
    ]
    if fw.wan_address is None:
        out: Rule = ["-s", fw.lan, "-o", fw.wan_if, "-j", "MASQUERADE"]
    else:
        out = ["-s", fw.lan, "-o", fw.wan_if, "-j", "SNAT", "--to-source", fw.wan_address]
    return {
        "filter": {"HF-INPUT": inbound, "HF-FORWARD": forward},
        "nat": {"HF-POSTROUTING": [out]},
    }


JUMPS = [
    Jump("filter", "INPUT", ("-j", "HF-INPUT"), RulePosition.PREPEND),
    Jump("filter", "FORWARD", ("-j", "HF-FORWARD"), RulePosition.PREPEND),
    Jump("nat", "POSTROUTING", ("-j", "HF-POSTROUTING")),
]


def apply(ipt: Interface, fw: Firewall) -> SyncResult:
    """Sync the chains, then close the policies (nothing is sent when already so)."""
    result = ipt.sync(PREFIX, desired(fw), JUMPS)
    for chain in ("INPUT", "FORWARD"):
        policy = ipt.get_policy("filter", chain)
        if policy is None or policy.policy != "DROP":
            ipt.set_policy("filter", chain, "DROP")
    return result


def remove(ipt: Interface) -> SyncResult:
    """Open the policies first, then remove the chains: no moment drops everything."""
    for chain in ("INPUT", "FORWARD"):
        ipt.set_policy("filter", chain, "ACCEPT")
    return ipt.teardown(PREFIX)


def main() -> None:
    from iptwrap.fake import FakeIPTables

    ipt = FakeIPTables()
    apply(ipt, Firewall())
    print(ipt.dump(), end="")


if __name__ == "__main__":
    main()
