"""Publishing a container's port, docker-style: DNAT, the filter accept, hairpin masquerade.

A container on bridge ``br0`` serves on port 80 at 192.0.2.10; the host publishes it
on port 8080 of all its addresses. Three pieces make that work, as dockerd writes them:

- nat ``PUB-DNAT``, reached from PREROUTING (and from OUTPUT, for the host's own
  clients) for traffic to a local address: DNAT the host port to the container;
- filter ``PUB-FWD``, first in FORWARD: accept that traffic on its way to the bridge
  (the host's FORWARD policy may well be DROP), and the replies;
- nat ``PUB-POST``, from POSTROUTING: masquerade hairpin traffic (a container reaching
  its own published port), so that the reply goes back through the host.

The agent owns every chain named ``PUB-*`` and the jumps into them; ``ipt.sync`` makes
the kernel exactly so, sends nothing when it already is, and ``ipt.teardown("PUB-")``
removes it all.

    python examples/publish_port.py          # on the fake: prints the rules
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from iptwrap import Interface, Jump, RulePosition, SyncResult

PREFIX = "PUB-"
Rule = List[str]


@dataclass(frozen=True)
class Published:
    """One published port: host_port on every host address -> container_ip:container_port."""

    container_ip: str
    container_port: int
    host_port: int
    proto: str = "tcp"
    bridge: str = "br0"


def desired(ports: Sequence[Published]) -> Tuple[Dict[str, Dict[str, List[Rule]]], List[Jump]]:
    """The chains the agent owns, and the jumps into them, for these published ports."""
    dnat: List[Rule] = []
    forward: List[Rule] = []
    hairpin: List[Rule] = []
    bridges = sorted({p.bridge for p in ports})
    for p in ports:
        to = f"{p.container_ip}:{p.container_port}"
        dnat.append(
            ["!", "-i", p.bridge, "-p", p.proto, "-m", p.proto, "--dport", str(p.host_port),
             "-j", "DNAT", "--to-destination", to]
        )  # fmt: skip
        forward.append(
            ["-d", f"{p.container_ip}/32", "!", "-i", p.bridge, "-o", p.bridge, "-p", p.proto,
             "-m", p.proto, "--dport", str(p.container_port), "-j", "ACCEPT"]
        )  # fmt: skip
        hairpin.append(
            ["-s", f"{p.container_ip}/32", "-d", f"{p.container_ip}/32", "-p", p.proto,
             "-m", p.proto, "--dport", str(p.container_port), "-j", "MASQUERADE"]
        )  # fmt: skip
    for bridge in bridges:  # replies to the outside, for every bridge with a published port
        forward.append(
            ["-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]
        )
    chains = {
        "nat": {"PUB-DNAT": dnat, "PUB-POST": hairpin},
        "filter": {"PUB-FWD": forward},
    }
    local = ["-m", "addrtype", "--dst-type", "LOCAL"]
    jumps = [
        Jump("nat", "PREROUTING", (*local, "-j", "PUB-DNAT")),
        Jump("nat", "OUTPUT", ("!", "-d", "127.0.0.0/8", *local, "-j", "PUB-DNAT")),
        Jump("nat", "POSTROUTING", ("-j", "PUB-POST")),
        Jump("filter", "FORWARD", ("-j", "PUB-FWD"), RulePosition.PREPEND),
    ]
    return chains, jumps


def publish(ipt: Interface, ports: Sequence[Published]) -> SyncResult:
    """Make the kernel publish exactly ``ports`` (nothing is sent when it already does)."""
    chains, jumps = desired(ports)
    return ipt.sync(PREFIX, chains, jumps)


def unpublish_all(ipt: Interface) -> SyncResult:
    """Remove every chain this agent owns and every jump into one."""
    return ipt.teardown(PREFIX)


def main() -> None:
    from iptwrap.fake import FakeIPTables

    ipt = FakeIPTables()
    web = Published("192.0.2.10", 80, 8080)
    first = publish(ipt, [web, Published("192.0.2.11", 5432, 15432)])
    again = publish(ipt, [web, Published("192.0.2.11", 5432, 15432)])
    print(f"# first sync sent {len(first.payload)} bytes; the second sent {len(again.payload)}")
    print(ipt.dump(), end="")


if __name__ == "__main__":
    main()
