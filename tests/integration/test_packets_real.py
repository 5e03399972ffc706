"""The packet harness against the kernel: every tracer scenario, on both backends.

The harness does not know what a scenario should do (the tracer predicts that); these
tests prove the harness itself: an observation is complete, internally consistent, names
the scenario's own rule lines, and is the same when taken twice, and when taken in a
lab that has run nothing before. Six scenarios whose answer is beyond doubt pin it to
the obvious outcome as a sanity check.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Callable, Dict, Iterator, Optional

import pytest

from .netns import BACKENDS
from .packets import (
    BUILTIN_CHAINS,
    OUTCOMES,
    ROLES,
    Lab,
    Observation,
    Scenario,
    counter_order,
    labs,
    tables_of,
)
from .trace_corpus import BY_NAME, CORPUS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=BACKENDS)
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """One set of namespaces per backend, shared by every scenario."""
    yield from labs(request.param)


def _is_address(value: Optional[str], family: int) -> bool:
    return value is not None and ipaddress.ip_address(value).version == family


def assert_consistent(scenario: Scenario, obs: Observation) -> None:
    packet = scenario.packet
    assert obs.scenario == scenario.name
    assert obs.outcome in OUTCOMES, obs
    seen = (obs.seen_src, obs.seen_sport, obs.seen_dst, obs.seen_dport)
    if obs.outcome == "delivered":
        assert obs.receiver in ROLES, obs
        assert _is_address(obs.seen_src, scenario.family), obs
        assert _is_address(obs.seen_dst, scenario.family), obs
        if packet.proto == "icmp":
            assert obs.seen_sport is None and obs.seen_dport is None, obs
        else:
            assert obs.seen_sport is not None and 0 < obs.seen_sport < 65536, obs
            assert obs.seen_dport in scenario.ports, obs  # only our listeners answer
        assert obs.reject is None and obs.reject_from is None, obs
    else:
        assert obs.receiver is None and seen == (None,) * 4, obs
    if obs.outcome == "rejected":
        assert obs.reject is not None, obs
        kind, icmp_type, code = obs.reject
        if kind == "tcp-reset":
            assert packet.proto == "tcp" and obs.reject == ("tcp-reset", None, None), obs
            assert obs.reject_from is None, obs
        else:
            assert kind == "icmp", obs
            errors = (3, 4, 5, 11, 12) if scenario.family == 4 else (1, 2, 3, 4)
            assert icmp_type in errors and code is not None and 0 <= code < 256, obs
            assert _is_address(obs.reject_from, scenario.family), obs
    if obs.outcome == "dropped":
        assert obs.reject is None and obs.reject_from is None, obs

    # counters: the scenario's own lines or built-in policies, each moved, in order
    assert obs.counters, f"{scenario.name}: no counter moved, yet the router saw a packet"
    assert len(obs.packets) == len(obs.counters) and all(n > 0 for n in obs.packets), obs
    assert len(set(obs.counters)) == len(obs.counters), obs
    lines = {line.strip() for line in scenario.save.splitlines()}
    for table, chain, rule in obs.counters:
        assert table in tables_of(scenario.save), obs
        if rule is None:
            assert chain in BUILTIN_CHAINS[table], obs
        else:
            assert rule in lines and rule.split()[1] == chain, (rule, obs)
    assert list(obs.counters) == sorted(obs.counters, key=counter_order(scenario.save))


# The answers beyond doubt, as a check on the harness (the tracer supplies the rest).
EXPECTED: Dict[str, Callable[[Observation], bool]] = {
    "filter_forward_accept": lambda o: (
        (o.outcome, o.receiver, o.seen_src, o.seen_dst, o.seen_dport)
        == ("delivered", "server", "198.51.100.2", "192.0.2.2", 80)
    ),
    "filter_forward_policy_drop": lambda o: (
        o.outcome == "dropped" and o.counters == (("filter", "FORWARD", None),)
    ),
    "filter_reject_tcp_reset": lambda o: (
        o.outcome == "rejected" and o.reject == ("tcp-reset", None, None)
    ),
    "dnat_port_forward": lambda o: (
        (o.outcome, o.receiver, o.seen_dst, o.seen_dport)
        == ("delivered", "server", "192.0.2.2", 80)
    ),
    "masquerade_eth1": lambda o: (
        (o.outcome, o.receiver, o.seen_src) == ("delivered", "server", "192.0.2.1")
    ),
    "ipv6_filter_accept": lambda o: (
        (o.outcome, o.receiver, o.seen_dst) == ("delivered", "server", "2001:db8:2::2")
    ),
}


def test_the_corpus_is_well_formed() -> None:
    assert len(CORPUS) >= 25 and len(BY_NAME) == len(CORPUS)
    assert set(EXPECTED) <= set(BY_NAME)
    for s in CORPUS:
        assert s.family in (4, 6) and s.comment, s.name
        assert _is_address(s.packet.dst, s.family), s.name
        assert s.packet.src is None or _is_address(s.packet.src, s.family), s.name
        if s.packet.proto in ("tcp", "udp"):
            assert s.packet.dport is not None and s.packet.sport is not None, s.name
            assert s.ports, s.name
        else:
            assert s.packet.proto == "icmp" and s.packet.dport is None and not s.ports, s.name
        assert tables_of(s.save) and s.save.count("COMMIT") == len(tables_of(s.save)), s.name
    sports = [s.packet.sport for s in CORPUS]
    assert len(set(sports)) == len(sports), "each scenario has its own source port"


@pytest.mark.parametrize("scenario", CORPUS, ids=[s.name for s in CORPUS])
def test_observation_is_complete_and_stable(lab: Lab, scenario: Scenario) -> None:
    first = lab.observe(scenario)
    # the kernel prints every rule exactly as the scenario wrote it, so a counter's
    # line is the scenario's own line
    saved = {line.strip() for line in lab.save(scenario.family).splitlines()}
    for line in scenario.save.splitlines():
        if line.startswith("-A "):
            assert line.strip() in saved, f"{lab.backend} prints differently: {line}"
    second = lab.observe(scenario)
    assert first == second, f"{first.detail} / {second.detail}"
    assert_consistent(scenario, first)
    if scenario.name in EXPECTED:
        assert EXPECTED[scenario.name](first), first


# After the whole corpus ran in the shared lab: the same answers from a lab that has
# seen nothing, for scenarios that could feel left-over state (a rule set with no
# conntrack user after NAT ones; nth counting; NOTRACK; a stateful FORWARD).
FRESH = ("multiport_both_directions", "statistic_nth", "raw_notrack_skips_nat", "kube_service")


def test_a_fresh_lab_sees_the_same(lab: Lab) -> None:
    with Lab(lab.backend) as fresh:
        names = [fresh.name(role) for role in ROLES]
        for name in FRESH:
            assert fresh.observe(BY_NAME[name]) == lab.observe(BY_NAME[name]), name
    assert not [n for n in names if os.path.exists(f"/run/netns/{n}")], "namespaces left"
