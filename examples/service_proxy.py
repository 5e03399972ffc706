"""A small service proxy, kube-proxy-style: virtual IPs load-balanced over endpoints.

Each service is a cluster IP and port; traffic to it is spread over its endpoints the
way kube-proxy's iptables mode does it:

- nat ``SP-SERVICES`` (from PREROUTING and OUTPUT): one rule per service, matching its
  cluster IP and port, jumping to ``SP-SVC-<hash>``;
- ``SP-SVC-<hash>``: one rule per endpoint, each taking its share with ``-m statistic
  --mode random --probability 1/n`` (the last takes the rest), jumping to
  ``SP-SEP-<hash>-<i>``;
- ``SP-SEP-...``: marks hairpin traffic (the endpoint reaching its own service) for
  masquerade, then DNATs to the endpoint;
- ``SP-POSTROUTING`` masquerades what carries the mark (0x4000).

A :class:`iptwrap.Syncer` keeps it in the kernel as kube-proxy's partial syncs do: the
first sync (and one an hour) reads the kernel; the others send only the chains whose
rules changed, so an endpoint added to one service of a thousand is a few hundred bytes.

    python examples/service_proxy.py          # on the fake: prints the payloads
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Dict, List, Sequence

from iptwrap import Interface, Jump, Syncer, SyncResult

PREFIX = "SP-"
MASQ_MARK = "0x4000"
Rule = List[str]


@dataclass(frozen=True)
class Service:
    name: str  # namespace/name:port, kube-proxy's comment
    cluster_ip: str
    port: int
    endpoints: Sequence[str]  # "ip:port"
    proto: str = "tcp"


def _chain_id(name: str) -> str:
    """A short stable name: chain names are limited to 28 characters."""
    return hashlib.sha256(name.encode()).hexdigest()[:10].upper()


def desired(services: Sequence[Service]) -> Dict[str, Dict[str, List[Rule]]]:
    chains: Dict[str, List[Rule]] = {
        "SP-SERVICES": [],
        "SP-MARK-MASQ": [["-j", "MARK", "--or-mark", MASQ_MARK]],
        "SP-POSTROUTING": [
            ["-m", "mark", "--mark", f"{MASQ_MARK}/{MASQ_MARK}", "-j", "MASQUERADE"]
        ],
    }
    for service in services:
        svc = f"SP-SVC-{_chain_id(service.name)}"
        chains["SP-SERVICES"].append(
            ["-d", f"{service.cluster_ip}/32", "-p", service.proto, "-m", "comment",
             "--comment", f"{service.name} cluster IP", "-m", service.proto,
             "--dport", str(service.port), "-j", svc]
        )  # fmt: skip
        rules: List[Rule] = []
        count = len(service.endpoints)
        for i, endpoint in enumerate(service.endpoints):
            sep = f"SP-SEP-{_chain_id(service.name)}-{i}"
            share = [] if i == count - 1 else [
                "-m", "statistic", "--mode", "random", "--probability", f"{1 / (count - i):.11f}"
            ]  # fmt: skip
            rules.append(["-m", "comment", "--comment", service.name, *share, "-j", sep])
            address = endpoint.rsplit(":", 1)[0]
            chains[sep] = [
                ["-s", f"{address}/32", "-j", "SP-MARK-MASQ"],
                ["-p", service.proto, "-m", service.proto, "-j", "DNAT",
                 "--to-destination", endpoint],
            ]  # fmt: skip
        chains[svc] = rules
    return {"nat": chains}


JUMPS = [
    Jump("nat", "PREROUTING", ("-j", "SP-SERVICES")),
    Jump("nat", "OUTPUT", ("-j", "SP-SERVICES")),
    Jump("nat", "POSTROUTING", ("-j", "SP-POSTROUTING")),
]


class Proxy:
    """The proxy's rules, synced as the services change."""

    def __init__(self, ipt: Interface) -> None:
        self._syncer = Syncer(ipt, PREFIX)

    def sync(self, services: Sequence[Service]) -> SyncResult:
        return self._syncer.sync(desired(services), JUMPS)

    def stop(self) -> SyncResult:
        return self._syncer.teardown()


def main() -> None:
    from iptwrap.fake import FakeIPTables

    ipt = FakeIPTables()
    proxy = Proxy(ipt)
    dns = Service("kube-system/kube-dns:dns", "203.0.113.10", 53, ["198.51.100.2:53"], "udp")
    web = Service("default/web:http", "203.0.113.20", 80, ["198.51.100.3:8080"])
    first = proxy.sync([dns, web])
    web = Service(web.name, web.cluster_ip, web.port, [*web.endpoints, "198.51.100.4:8080"])
    second = proxy.sync([dns, web])
    print(f"# first sync: {len(first.payload)} bytes; an endpoint added: {len(second.payload)}")
    print(second.payload.decode(), end="")


if __name__ == "__main__":
    main()
