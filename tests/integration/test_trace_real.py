"""The tracer against the kernel: every scenario of the corpus, on both backends.

For each scenario the tracer predicts, from the saved rules alone, what happens to the
packet and to the answers it draws (a TCP connection's SYN-ACK and ACK, an echo's
reply), with one Conntrack for the exchange. The harness sends the real packet through
real namespaces (tests/integration/packets.py). They must agree on:
- the outcome (delivered where, dropped, rejected with which ICMP type or reset);
- the addresses and ports the receiver saw (NAT applied);
- the rules and policies whose packet counters moved.

A REJECT makes the router send an ICMP error or a reset: the tracer predicts that packet
too, as a locally generated RELATED one (the kernel attaches it to the rejected flow),
from the router's address towards the sender (an error) or from the rejected packet's
destination (a reset).
"""

from __future__ import annotations

import ipaddress
from typing import Dict, Iterator, List, Optional, Set, Tuple

import pytest

from iptwrap import parse_save
from iptwrap.trace import Conntrack, Network, Packet, Trace, trace

from .netns import BACKENDS
from .packets import Lab, Observation, Scenario, labs
from .trace_corpus import CORPUS

pytestmark = pytest.mark.integration

ROUTER = Network(
    interfaces={
        "eth0": ["198.51.100.1/24", "2001:db8:1::1/64"],
        "eth1": ["192.0.2.1/24", "2001:db8:2::1/64"],
        "lo": ["127.0.0.1/8", "203.0.113.1/32", "::1/128", "2001:db8:ff::1/128"],
    },
    forwarding=True,
)
# which namespace sits behind each router interface
BEHIND = {"eth0": "client", "eth1": "server"}
IIF = {"client": "eth0", "server": "eth1"}
Counter = Tuple[str, str, Optional[str]]


@pytest.fixture(scope="module", params=BACKENDS)
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    yield from labs(request.param)


def _packet(sc: Scenario) -> Packet:
    spec = sc.packet
    iif = IIF.get(spec.origin)
    if spec.proto == "icmp":
        return Packet("icmp", spec.src or _default_src(sc), spec.dst, iif=iif)
    return Packet(spec.proto, spec.src or _default_src(sc), spec.dst, spec.sport, spec.dport,
                  iif=iif)  # fmt: skip


def _default_src(sc: Scenario) -> Optional[str]:
    """The sender's own address (the router's is picked by the tracer from its route)."""
    origin = sc.packet.origin
    if origin == "router":
        return None
    if sc.family == 6:
        return "2001:db8:1::2" if origin == "client" else "2001:db8:2::2"
    return "198.51.100.2" if origin == "client" else "192.0.2.2"


def _receiver(t: Trace, origin: str) -> Optional[str]:
    if t.outcome == "delivered":
        return "router"
    if t.outcome in ("forwarded", "sent"):
        return BEHIND.get(t.out_interface or "")
    return None


def _reply(t: Trace, receiver: str) -> Packet:
    """What the receiver sends back, as it enters (or leaves) the router."""
    p = t.packet
    assert p.src is not None
    kind: Dict[str, object] = {}
    if p.proto in ("icmp", "icmpv6", "ipv6-icmp"):
        kind = {"icmp_type": 0 if p.family == 4 else 129}
    else:
        kind = {"tcp_flags": "SA"} if p.proto == "tcp" else {}
    return Packet(p.proto, p.dst, p.src, p.dport, p.sport, iif=IIF.get(receiver), **kind)  # type: ignore[arg-type]


def _counted(t: Trace) -> Set[Counter]:
    return {(s.table, s.chain, s.rule) for s in t.steps if s.rule is not None or
            s.action in ("ACCEPT", "DROP")}  # fmt: skip


def predict(sc: Scenario) -> Tuple[Trace, Optional[str], Set[Counter]]:
    """The first packet's trace, its receiver, and every counter the exchange moves."""
    dump = parse_save(sc.save)
    ct = Conntrack()
    first = trace(dump, _packet(sc), ROUTER, conntrack=ct)
    receiver = _receiver(first, sc.packet.origin)
    counted = _counted(first)
    if receiver is not None and sc.packet.proto != "udp":
        back = trace(dump, _reply(first, receiver), ROUTER, conntrack=ct)
        counted |= _counted(back)
        if sc.packet.proto == "tcp" and back.outcome not in ("dropped", "rejected", "unknown"):
            ack = _packet(sc).with_(
                tcp_flags="A",
                src=first.packet.src if sc.packet.origin == "router" else _packet(sc).src,
            )
            counted |= _counted(trace(dump, ack, ROUTER, conntrack=ct))
    if first.outcome == "rejected" and first.reject is not None and sc.packet.origin != "router":
        counted |= _counted(trace(dump, _error(first), ROUTER, ctstate="RELATED"))
    return first, receiver, counted


def _error(t: Trace) -> Packet:
    """The ICMP error or the reset a REJECT sends back to the packet's sender."""
    p, reject = t.packet, t.reject
    assert p.src is not None and reject is not None
    if reject[0] == "tcp-reset":
        return Packet("tcp", p.dst, p.src, p.dport, p.sport, tcp_flags="RA")
    source = ROUTER.source_for(ipaddress.ip_address(p.src))
    proto = "icmp" if p.family == 4 else "icmpv6"
    return Packet(proto, str(source), p.src, icmp_type=reject[1], icmp_code=reject[2] or 0)


def _observed_outcome(obs: Observation, sc: Scenario) -> Tuple[str, Optional[str]]:
    """The harness's answer in the tracer's terms; an error sent by the server itself
    (no listener) means the router forwarded the packet."""
    routers = {"198.51.100.1", "192.0.2.1", "203.0.113.1", "2001:db8:1::1", "2001:db8:2::1"}
    if obs.outcome == "rejected" and obs.reject_from is not None and obs.reject_from not in routers:
        return "delivered", "server"
    return obs.outcome, obs.receiver


@pytest.mark.parametrize("sc", CORPUS, ids=[s.name for s in CORPUS])
def test_the_tracer_agrees_with_the_kernel(lab: Lab, sc: Scenario) -> None:
    first, receiver, counted = predict(sc)
    obs = lab.observe(sc)
    outcome, got_receiver = _observed_outcome(obs, sc)
    assert first.outcome != "unknown", first.render()
    if receiver is not None:
        assert (outcome, got_receiver) == ("delivered", receiver), (obs, first.render())
        if obs.outcome == "delivered":
            p = first.packet
            seen = (obs.seen_src, obs.seen_sport, obs.seen_dst, obs.seen_dport)
            want = (
                (p.src, p.sport, p.dst, p.dport)
                if p.proto != "icmp"
                else (p.src, None, p.dst, None)
            )
            assert seen == tuple(
                str(ipaddress.ip_address(x)) if isinstance(x, str) else x for x in want
            ), (obs, first.render())
    else:
        assert outcome == first.outcome, (obs, first.render())
        if first.outcome == "rejected":
            assert obs.reject == first.reject, (obs, first.render())
    kernel = set(obs.counters)
    assert counted == kernel, (
        f"tracer only: {sorted(counted - kernel, key=str)}; kernel only: "
        f"{sorted(kernel - counted, key=str)}\n{first.render()}"
    )


def test_the_corpus_is_covered() -> None:
    names: List[str] = [s.name for s in CORPUS]
    assert len(names) == len(set(names)) >= 30
