"""Rulesets real agents write, as calls on an ``Interface``.

They drive the demo (``python -m iptwrap``) and the contract suite, which runs each
one on the fake and on the real kernel and requires the same ``iptables-save``. Only
documentation addresses are used (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
2001:db8::/32).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Tuple

from ._interface import Interface
from ._types import RulePosition, Table

__all__ = ["SCENARIOS", "Scenario"]

Scenario = Callable[[Interface], None]

A, P = RulePosition.APPEND, RulePosition.PREPEND


# fmt: off
# (the rule arguments read best one rule per line, as iptables users write them)


def _net(ipt: Interface, v4: str, v6: str) -> str:
    return v6 if ipt.is_ipv6() else v4


def host_firewall(ipt: Interface) -> None:
    """A host firewall: stateful INPUT/FORWARD with REJECT and DROP, default-deny FORWARD."""
    admin = _net(ipt, "198.51.100.0/24", "2001:db8:100::/48")
    ipt.ensure_rule(A, Table.FILTER, "INPUT", "-i", "lo", "-j", "ACCEPT")
    ipt.ensure_rule(A, Table.FILTER, "INPUT", "-m", "conntrack", "--ctstate",
                    "ESTABLISHED,RELATED", "-j", "ACCEPT")
    ipt.ensure_rule(A, Table.FILTER, "INPUT", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP")
    ipt.ensure_rule(A, Table.FILTER, "INPUT", "-s", admin, "-p", "tcp", "--dport", "ssh",
                    "-m", "comment", "--comment", "admin ssh", "-j", "ACCEPT")
    ipt.ensure_rule(A, Table.FILTER, "INPUT", "-p", "tcp", "-m", "multiport",
                    "--dports", "80,443", "-j", "ACCEPT")
    ipt.ensure_rule(A, Table.FILTER, "INPUT", "-p", "tcp", "-j", "REJECT", "--reject-with",
                    "tcp-reset")
    ipt.ensure_rule(A, Table.FILTER, "INPUT", "-j", "DROP")
    ipt.set_policy(Table.FILTER, "FORWARD", "DROP")
    ipt.ensure_rule(A, Table.FILTER, "FORWARD", "-m", "conntrack", "--ctstate",
                    "RELATED,ESTABLISHED", "-j", "ACCEPT")
    ipt.ensure_rule(A, Table.FILTER, "FORWARD", "-j", "REJECT")


def port_forwarding(ipt: Interface) -> None:
    """An edge router: DNAT a public port to an inside host, SNAT the inside network out."""
    public = _net(ipt, "203.0.113.1", "2001:db8:203::1")
    inside_host = _net(ipt, "192.0.2.10", "2001:db8:192::10")
    inside_net = _net(ipt, "192.0.2.0/24", "2001:db8:192::/64")
    to_dest = f"[{inside_host}]:8080" if ipt.is_ipv6() else f"{inside_host}:8080"
    ipt.ensure_rule(A, Table.NAT, "PREROUTING", "-d", public, "-p", "tcp", "--dport", "80",
                    "-j", "DNAT", "--to-destination", to_dest)
    ipt.ensure_rule(A, Table.NAT, "POSTROUTING", "-s", inside_net, "-o", "eth0",
                    "-j", "SNAT", "--to-source", public)
    ipt.ensure_rule(A, Table.FILTER, "FORWARD", "-d", inside_host, "-p", "tcp", "--dport", "8080",
                    "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT")


def local_services(ipt: Interface) -> None:
    """``-m addrtype --dst-type LOCAL`` traffic sent to a user chain of its own."""
    ipt.ensure_chain(Table.NAT, "LOCAL-SERVICES")
    ipt.ensure_rule(A, Table.NAT, "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL",
                    "-j", "LOCAL-SERVICES")
    ipt.ensure_rule(A, Table.NAT, "LOCAL-SERVICES", "-p", "tcp", "--dport", "2222",
                    "-j", "REDIRECT", "--to-ports", "22")


def docker_bridge(ipt: Interface) -> None:
    """dockerd's bridge NAT: DOCKER chains, isolation stages, MASQUERADE, a published port."""
    bridge = _net(ipt, "198.51.100.0/24", "2001:db8:d0c::/64")
    container = _net(ipt, "198.51.100.2", "2001:db8:d0c::2")
    to_dest = f"[{container}]:80" if ipt.is_ipv6() else f"{container}:80"
    loopback = _net(ipt, "127.0.0.0/8", "::1/128")
    ipt.ensure_chain(Table.NAT, "DOCKER")
    ipt.ensure_rule(A, Table.NAT, "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKER")
    ipt.ensure_rule(A, Table.NAT, "OUTPUT", "!", "-d", loopback, "-m", "addrtype",
                    "--dst-type", "LOCAL", "-j", "DOCKER")
    ipt.ensure_rule(A, Table.NAT, "POSTROUTING", "-s", bridge, "!", "-o", "docker0", "-j", "MASQUERADE")
    ipt.ensure_rule(A, Table.NAT, "DOCKER", "-i", "docker0", "-j", "RETURN")
    for chain in ("DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER"):
        ipt.ensure_chain(Table.FILTER, chain)
    ipt.ensure_rule(A, Table.FILTER, "FORWARD", "-j", "DOCKER-USER")
    ipt.ensure_rule(A, Table.FILTER, "FORWARD", "-j", "DOCKER-ISOLATION-STAGE-1")
    ipt.ensure_rule(A, Table.FILTER, "FORWARD", "-o", "docker0", "-m", "conntrack",
                    "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")
    ipt.ensure_rule(A, Table.FILTER, "FORWARD", "-o", "docker0", "-j", "DOCKER")
    ipt.ensure_rule(A, Table.FILTER, "FORWARD", "-i", "docker0", "!", "-o", "docker0", "-j", "ACCEPT")
    ipt.ensure_rule(A, Table.FILTER, "DOCKER-ISOLATION-STAGE-1", "-i", "docker0", "!", "-o",
                    "docker0", "-j", "DOCKER-ISOLATION-STAGE-2")
    ipt.ensure_rule(A, Table.FILTER, "DOCKER-ISOLATION-STAGE-1", "-j", "RETURN")
    ipt.ensure_rule(A, Table.FILTER, "DOCKER-ISOLATION-STAGE-2", "-o", "docker0", "-j", "DROP")
    ipt.ensure_rule(A, Table.FILTER, "DOCKER-ISOLATION-STAGE-2", "-j", "RETURN")
    ipt.ensure_rule(A, Table.FILTER, "DOCKER-USER", "-j", "RETURN")
    ipt.ensure_rule(A, Table.FILTER, "DOCKER", "-d", container, "!", "-i", "docker0", "-o",
                    "docker0", "-p", "tcp", "--dport", "80", "-j", "ACCEPT")
    ipt.ensure_rule(A, Table.NAT, "DOCKER", "!", "-i", "docker0", "-p", "tcp", "--dport", "8080",
                    "-j", "DNAT", "--to-destination", to_dest)


def kube_proxy(ipt: Interface) -> None:
    """kube-proxy's iptables mode: services, endpoints with statistic, hairpin masquerade."""
    pods = _net(ipt, "203.0.113.0/24", "2001:db8:203::/64")
    vip = _net(ipt, "203.0.113.200", "2001:db8:203::200")
    eps = [_net(ipt, f"203.0.113.{n}", f"2001:db8:203::{n}") for n in (2, 3, 4)]
    for chain in ("KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-MARK-MASQ", "KUBE-SVC-DNS",
                  "KUBE-SEP-A", "KUBE-SEP-B", "KUBE-SEP-C"):
        ipt.ensure_chain(Table.NAT, chain)
    ipt.ensure_rule(P, Table.NAT, "PREROUTING", "-m", "comment", "--comment",
                    "kubernetes service portals", "-j", "KUBE-SERVICES")
    ipt.ensure_rule(P, Table.NAT, "OUTPUT", "-m", "comment", "--comment",
                    "kubernetes service portals", "-j", "KUBE-SERVICES")
    ipt.ensure_rule(P, Table.NAT, "POSTROUTING", "-m", "comment", "--comment",
                    "kubernetes postrouting rules", "-j", "KUBE-POSTROUTING")
    ipt.ensure_rule(A, Table.NAT, "KUBE-POSTROUTING", "-m", "mark", "!", "--mark",
                    "0x4000/0x4000", "-j", "RETURN")
    ipt.ensure_rule(A, Table.NAT, "KUBE-POSTROUTING", "-j", "MARK", "--xor-mark", "0x4000")
    ipt.ensure_rule(A, Table.NAT, "KUBE-POSTROUTING", "-m", "comment", "--comment",
                    "kubernetes service traffic requiring SNAT", "-j", "MASQUERADE", "--random-fully")
    ipt.ensure_rule(A, Table.NAT, "KUBE-MARK-MASQ", "-j", "MARK", "--or-mark", "0x4000")
    ipt.ensure_rule(A, Table.NAT, "KUBE-SERVICES", "-d", vip, "-p", "udp", "-m", "comment",
                    "--comment", "kube-system/kube-dns:dns cluster IP", "-m", "udp",
                    "--dport", "53", "-j", "KUBE-SVC-DNS")
    ipt.ensure_rule(A, Table.NAT, "KUBE-SVC-DNS", "!", "-s", pods, "-d", vip, "-p", "udp",
                    "--dport", "53", "-j", "KUBE-MARK-MASQ")
    probabilities = ["0.33333333349", "0.50000000000", None]
    for ep, chain, prob in zip(eps, ("KUBE-SEP-A", "KUBE-SEP-B", "KUBE-SEP-C"), probabilities):
        stat: List[str] = ["-m", "statistic", "--mode", "random", "--probability", prob] if prob else []
        ipt.ensure_rule(A, Table.NAT, "KUBE-SVC-DNS", "-m", "comment", "--comment",
                        f"kube-system/kube-dns:dns -> {ep}", *stat, "-j", chain)
        target = f"[{ep}]:53" if ipt.is_ipv6() else f"{ep}:53"
        ipt.ensure_rule(A, Table.NAT, chain, "-s", ep, "-j", "KUBE-MARK-MASQ")
        ipt.ensure_rule(A, Table.NAT, chain, "-p", "udp", "-m", "udp", "-j", "DNAT",
                        "--to-destination", target)


# fmt: on


SCENARIOS: Dict[str, Tuple[Scenario, str]] = {
    name: (fn, (fn.__doc__ or "").strip())
    for name, fn in (
        ("host-firewall", host_firewall),
        ("port-forwarding", port_forwarding),
        ("local-services", local_services),
        ("docker-bridge", docker_bridge),
        ("kube-proxy", kube_proxy),
    )
}
