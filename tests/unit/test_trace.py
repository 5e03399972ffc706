"""The tracer's semantics, on the fake: each expectation is the kernel's behaviour
(tests/data/traversal.md, the netfilter sources), not the tracer's own output.
The integration suite (test_trace_real.py) checks the same against real packets."""

from __future__ import annotations

from typing import Any, List, Optional

import pytest

from iptwrap import InvalidArgumentError, SetSpec, parse_save
from iptwrap.fake import FakeIPSet, FakeIPTables, FakeRunner
from iptwrap.trace import Conntrack, Network, Packet, Route, trace
from iptwrap.trace._text import network_from_json, parse_packet, trace_to_json

NET = Network(
    interfaces={
        "eth0": ["198.51.100.1/24", "2001:db8:1::1/64"],
        "eth1": ["192.0.2.1/24", "2001:db8:2::1/64"],
        "lo": ["127.0.0.1/8", "203.0.113.1/32"],
    },
    routes=[Route("0.0.0.0/0", "eth1", via="192.0.2.254")],
)


def host(*rules: List[str], policy: Optional[str] = None) -> FakeIPTables:
    ipt = FakeIPTables()
    for r in rules:
        table: Any = "filter"
        if r[0] == "-t":
            table, r = r[1], r[2:]
        if r[0] == "-N":
            ipt.ensure_chain(table, r[1])
        else:
            ipt.append_rule(table, r[0], *r[1:])
    if policy:
        ipt.set_policy("filter", "FORWARD", policy)
    return ipt


def syn(
    src: str = "198.51.100.2",
    dst: str = "192.0.2.2",
    dport: int = 80,
    sport: int = 40000,
    tcp_flags: str = "S",
    mark: int = 0,
) -> Packet:
    return Packet("tcp", src, dst, sport, dport, iif="eth0", tcp_flags=tcp_flags, mark=mark)


def test_forwarded_by_policy_then_dropped_by_a_rule() -> None:
    ipt = host()
    t = trace(ipt, syn(), NET)
    assert (t.outcome, t.out_interface) == ("forwarded", "eth1")
    ipt = host(["FORWARD", "-p", "tcp", "--dport", "80", "-j", "DROP"])
    t = trace(ipt, syn(), NET)
    assert t.outcome == "dropped"
    assert [(s.chain, s.action) for s in t.steps] == [("FORWARD", "DROP")]
    assert trace(ipt, syn(dport=81), NET).outcome == "forwarded"


def test_policy_drop_and_its_step() -> None:
    t = trace(host(policy="DROP"), syn(), NET)
    assert t.outcome == "dropped"
    assert [(s.table, s.chain, s.rule, s.action) for s in t.steps] == [
        ("filter", "FORWARD", None, "DROP")
    ]


def test_jump_return_goto() -> None:
    ipt = host(
        ["-N", "A"], ["-N", "B"], ["-N", "C"],
        ["FORWARD", "-j", "A"],
        ["FORWARD", "-j", "DROP"],
        ["A", "-p", "udp", "-j", "ACCEPT"],  # not for tcp
        ["A", "-g", "B"],
        ["B", "-j", "C"],
        ["C", "-j", "RETURN"],
        ["B", "-s", "198.51.100.2", "-j", "RETURN"],
        ["A", "-j", "ACCEPT"],  # skipped: A went to B by goto
    )  # fmt: skip
    t = trace(ipt, syn(), NET)
    # B returns to FORWARD (the goto replaced A), where the DROP rule is next
    assert [s.action for s in t.steps] == ["jump A", "goto B", "jump C", "RETURN", "RETURN", "DROP"]
    assert t.outcome == "dropped"


def test_an_implicit_return_is_a_step_without_rule() -> None:
    t = trace(host(["-N", "A"], ["FORWARD", "-j", "A"]), syn(), NET)
    assert [(s.chain, s.rule, s.action) for s in t.steps] == [
        ("FORWARD", "-A FORWARD -j A", "jump A"),
        ("A", None, "RETURN"),
        ("FORWARD", None, "ACCEPT"),
    ]


@pytest.mark.parametrize(
    "args, reject",
    [
        ([], ("icmp", 3, 3)),
        (["--reject-with", "icmp-host-prohibited"], ("icmp", 3, 10)),
        (["--reject-with", "icmp-net-unreachable"], ("icmp", 3, 0)),
        (["--reject-with", "icmp-admin-prohibited"], ("icmp", 3, 13)),
        (["--reject-with", "tcp-reset"], ("tcp-reset", None, None)),
    ],
)
def test_reject_with(args: List[str], reject: object) -> None:
    t = trace(host(["FORWARD", "-p", "tcp", "-j", "REJECT", *args]), syn(), NET)
    assert (t.outcome, t.reject) == ("rejected", reject)


def test_dnat_reroutes_and_masquerade_takes_the_out_interfaces_address() -> None:
    ipt = host(
        ["-t", "nat", "PREROUTING", "-d", "203.0.113.1", "-p", "tcp", "--dport", "8080",
         "-j", "DNAT", "--to-destination", "192.0.2.2:80"],
        ["-t", "nat", "POSTROUTING", "-o", "eth1", "-j", "MASQUERADE"],
    )  # fmt: skip
    t = trace(ipt, syn(dst="203.0.113.1", dport=8080), NET)
    # 203.0.113.1 is local before DNAT; after it the packet is forwarded (routing redone)
    assert (t.outcome, t.out_interface) == ("forwarded", "eth1")
    assert (t.packet.src, t.packet.sport, t.packet.dst, t.packet.dport) == (
        "192.0.2.1",
        40000,
        "192.0.2.2",
        80,
    )
    assert [s.chain for s in t.steps if s.rule] == ["PREROUTING", "POSTROUTING"]


def test_nat_runs_only_when_the_kernel_tracks_connections() -> None:
    # measured (traversal.md): with nothing that needs conntrack, nat chains are skipped
    ipt = host(["-t", "nat", "PREROUTING", "-j", "LOG"])
    assert [s.table for s in trace(ipt, syn(), NET).steps] == []
    ipt = host(
        ["-t", "nat", "PREROUTING", "-j", "LOG"], ["OUTPUT", "-m", "state", "--state", "INVALID"]
    )
    assert "nat" in [s.table for s in trace(ipt, syn(), NET).steps]


def test_notrack_in_raw_skips_nat() -> None:
    dnat = ["-t", "nat", "PREROUTING", "-p", "tcp", "-j", "DNAT", "--to-destination", "192.0.2.9"]
    t = trace(host(dnat), syn(), NET)
    assert t.packet.dst == "192.0.2.9"
    t = trace(host(dnat, ["-t", "raw", "PREROUTING", "-j", "CT", "--notrack"]), syn(), NET)
    assert (t.packet.dst, t.ctstate) == ("192.0.2.2", "UNTRACKED")


def test_redirect_goes_to_the_incoming_interfaces_address() -> None:
    ipt = host(["-t", "nat", "PREROUTING", "-p", "tcp", "--dport", "80", "-j", "REDIRECT",
                "--to-ports", "3128"])  # fmt: skip
    t = trace(ipt, syn(), NET)
    assert t.outcome == "delivered"
    assert (t.packet.dst, t.packet.dport) == ("198.51.100.1", 3128)


def test_conntrack_flow_reply_is_de_natted_and_established() -> None:
    ipt = host(
        ["-t", "nat", "PREROUTING", "-p", "tcp", "--dport", "8080", "-j", "DNAT",
         "--to-destination", "192.0.2.2:80"],
        ["FORWARD", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-j", "ACCEPT"],
        ["FORWARD", "-m", "conntrack", "--ctstate", "NEW", "-m", "conntrack", "--ctstate", "DNAT",
         "-j", "ACCEPT"],
        policy="DROP",
    )  # fmt: skip
    ct = Conntrack()
    first = trace(ipt, syn(dst="203.0.113.1", dport=8080), NET, conntrack=ct)
    assert first.outcome == "forwarded" and first.ctstate == "NEW"
    assert len(ct) == 1
    reply = Packet("tcp", "192.0.2.2", "198.51.100.2", 80, 40000, iif="eth1", tcp_flags="SA")
    back = trace(ipt, reply, NET, conntrack=ct)
    assert (back.outcome, back.out_interface, back.ctstate) == ("forwarded", "eth0", "ESTABLISHED")
    assert (back.packet.src, back.packet.sport) == ("203.0.113.1", 8080)
    assert all(s.table != "nat" for s in back.steps)
    # without the Conntrack, the same reply is NEW and meets the policy
    assert trace(ipt, reply, NET).outcome == "dropped"


def test_syn_fin_is_invalid_and_a_bare_ack_is_new() -> None:
    ipt = host(["FORWARD", "-m", "state", "--state", "INVALID", "-j", "DROP"])
    assert trace(ipt, syn(tcp_flags="SF"), NET).outcome == "dropped"
    t = trace(ipt, syn(tcp_flags="A"), NET)
    assert (t.outcome, t.ctstate) == ("forwarded", "NEW")
    # a SYN-ACK, a FIN or a RST cannot start a connection (measured: a router's SYN-ACK
    # to an untracked SYN is not NATed, tests/integration/test_trace_real.py)
    for flags in ("SA", "F", "R", "RA"):
        assert trace(ipt, syn(tcp_flags=flags), NET).ctstate == "INVALID", flags


def test_addrtype_local_into_a_user_chain() -> None:
    ipt = host(
        ["-t", "nat", "-N", "SVC"],
        ["-t", "nat", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "SVC"],
        ["-t", "nat", "SVC", "-p", "tcp", "-j", "DNAT", "--to-destination", "192.0.2.7"],
    )
    assert trace(ipt, syn(dst="203.0.113.1"), NET).packet.dst == "192.0.2.7"
    assert trace(ipt, syn(dst="192.0.2.2"), NET).packet.dst == "192.0.2.2"  # not LOCAL


def test_local_output_picks_the_source_from_the_route() -> None:
    t = trace(host(), Packet("udp", None, "192.0.2.50", 5353, 53), NET)
    assert (t.outcome, t.out_interface, t.packet.src) == ("sent", "eth1", "192.0.2.1")
    t = trace(host(), Packet("udp", None, "8.8.8.8", 5353, 53), NET)  # default route
    assert (t.out_interface, t.packet.src) == ("eth1", "192.0.2.1")
    t = trace(host(), Packet("tcp", None, "203.0.113.1", 40000, 22), NET)
    assert (t.outcome, t.packet.src) == ("delivered", "203.0.113.1")


def test_output_dnat_reroutes_a_local_packet() -> None:
    ipt = host(
        [
            "-t",
            "nat",
            "OUTPUT",
            "-d",
            "198.51.100.50",
            "-j",
            "DNAT",
            "--to-destination",
            "192.0.2.2",
        ]
    )
    t = trace(ipt, Packet("udp", None, "198.51.100.50", 5353, 53), NET)
    assert (t.outcome, t.out_interface, t.packet.dst) == ("sent", "eth1", "192.0.2.2")


def test_marks_and_connmarks() -> None:
    ipt = host(
        ["-t", "mangle", "PREROUTING", "-j", "MARK", "--set-xmark", "0x4000/0x4000"],
        ["-t", "mangle", "PREROUTING", "-j", "CONNMARK", "--save-mark"],
        ["FORWARD", "-m", "mark", "--mark", "0x4000/0x4000", "-j", "DROP"],
    )
    assert trace(ipt, syn(), NET).outcome == "dropped"
    assert trace(ipt, syn(mark=0), NET).steps[0].action == "MARK"


def test_statistic_nth_counts_across_calls_and_random_is_unknown() -> None:
    ipt = host(["FORWARD", "-m", "statistic", "--mode", "nth", "--every", "3", "--packet", "1",
                "-j", "DROP"])  # fmt: skip
    ct = Conntrack()
    got = [trace(ipt, syn(sport=40000 + i), NET, conntrack=ct).outcome for i in range(6)]
    assert got == ["forwarded", "dropped", "forwarded", "forwarded", "dropped", "forwarded"]
    ipt = host(["FORWARD", "-m", "statistic", "--mode", "random", "--probability", "0.5",
                "-j", "DROP"])  # fmt: skip
    t = trace(ipt, syn(), NET)
    assert t.outcome == "unknown" and "0.50000" in t.unknown[0]


def test_an_unknown_match_decides_only_when_it_matters() -> None:
    ipt = host(["FORWARD", "-m", "length", "--length", "100", "-j", "LOG"])
    t = trace(ipt, syn(), NET)
    assert t.outcome == "forwarded" and "length" in t.unknown[0]
    ipt = host(["FORWARD", "-m", "length", "--length", "100", "-j", "DROP"])
    t = trace(ipt, syn(), NET)
    assert t.outcome == "unknown" and t.steps[-1].action.startswith("unknown: -m length")


def test_multiport_iprange_and_sets() -> None:
    runner = FakeRunner()
    FakeIPSet(runner=runner).create_set(SetSpec("AG-BLOCK", "hash:net"))
    FakeIPSet(runner=runner).add_entry("AG-BLOCK", "198.51.100.0/28")
    ipt = FakeIPTables(runner=runner)
    ipt.append_rule(
        "filter", "FORWARD", "-m", "set", "--match-set", "AG-BLOCK", "src", "-j", "DROP"
    )
    ipt.append_rule("filter", "FORWARD", "-p", "tcp", "-m", "multiport", "--dports", "22,8000:8100",
                    "-m", "iprange", "--src-range", "198.51.100.20-198.51.100.30", "-j", "REJECT")  # fmt: skip
    assert trace(runner, syn(src="198.51.100.2"), NET).outcome == "dropped"
    assert trace(runner, syn(src="198.51.100.25", dport=8080), NET).outcome == "rejected"
    assert trace(runner, syn(src="198.51.100.25", dport=80), NET).outcome == "forwarded"
    assert trace(runner, syn(src="198.51.100.31", dport=22), NET).outcome == "forwarded"
    # a Dump knows no sets: the set match is unknown, and it decides
    dump = parse_save(runner.inspect(["iptables-save"]).stdout)
    assert trace(dump, syn(), NET).outcome == "unknown"


def test_ipv6_forward_and_dnat() -> None:
    v6 = FakeIPTables(__import__("iptwrap").Protocol.IPV6)
    v6.append_rule("nat", "PREROUTING", "-d", "2001:db8:1::1", "-p", "tcp", "--dport", "8080",
                   "-j", "DNAT", "--to-destination", "[2001:db8:2::2]:80")  # fmt: skip
    t = trace(v6, Packet("tcp", "2001:db8:1::2", "2001:db8:1::1", 40000, 8080, iif="eth0"), NET)
    assert (t.outcome, t.out_interface, t.packet.dst, t.packet.dport) == (
        "forwarded",
        "eth1",
        "2001:db8:2::2",
        80,
    )
    v6.append_rule("filter", "FORWARD", "-j", "REJECT")
    t = trace(v6, Packet("tcp", "2001:db8:1::2", "2001:db8:1::1", 40000, 8080, iif="eth0"), NET)
    assert (t.outcome, t.reject) == ("rejected", ("icmp", 1, 4))


def test_forwarding_off_and_no_route() -> None:
    off = Network({"eth0": ["198.51.100.1/24"]}, forwarding=False)
    assert trace(host(), syn(), off).outcome == "dropped"
    alone = Network({"eth0": ["198.51.100.1/24"]})
    t = trace(host(), syn(), alone)
    assert t.outcome == "dropped" and "no route" in t.unknown[0]


def test_packet_text_and_network_json() -> None:
    p = parse_packet("tcp 198.51.100.2:40000 -> 203.0.113.1:8080 iif eth0")
    assert (p.src, p.sport, p.dst, p.dport, p.iif) == (
        "198.51.100.2",
        40000,
        "203.0.113.1",
        8080,
        "eth0",
    )
    p = parse_packet("udp [2001:db8::1]:53 -> [2001:db8::2]:53 iif eth1 mark 0x10")
    assert (p.src, p.sport, p.mark, p.family) == ("2001:db8::1", 53, 16, 6)
    p = parse_packet("icmp - -> 192.0.2.2")
    assert (p.src, p.iif, p.icmp_type) == (None, None, 8)
    for bad in [
        "tcp 1.2.3.4:1 2.3.4.5:2",
        "tcp 1.2.3.4:1 -> 2.3.4.5:2 iif",
        "bogus 1.2.3.4 -> 2.3.4.5",
    ]:
        with pytest.raises(InvalidArgumentError):
            parse_packet(bad)
    with pytest.raises(InvalidArgumentError):
        Packet("tcp", "2001:db8::1", "192.0.2.1", 1, 2)
    net = network_from_json({"interfaces": {"eth0": ["198.51.100.1/24"]}, "routes": [
        {"dst": "0.0.0.0/0", "dev": "eth0", "via": "198.51.100.254"}]})  # fmt: skip
    assert net.route(__import__("ipaddress").ip_address("8.8.8.8")) == ("eth0", "198.51.100.254")
    with pytest.raises(InvalidArgumentError):
        network_from_json({"routes": []})
    doc = trace_to_json(trace(host(), syn(), NET))
    assert doc["outcome"] == "forwarded" and doc["packet"]["dport"] == 80


def test_save_text_is_a_host_too() -> None:
    text = (
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        '-A FORWARD -p tcp -m comment --comment "say \\"no\\"" -m tcp --dport 80 -j DROP\nCOMMIT\n'
    )
    t = trace(text, syn(), NET)
    assert t.outcome == "dropped"
    assert (
        t.steps[0].rule
        == '-A FORWARD -p tcp -m comment --comment "say \\"no\\"" -m tcp --dport 80 -j DROP'
    )


def test_the_cli_prints_the_trace(tmp_path: Any) -> None:
    import io
    import json

    from iptwrap._cli import main

    ipt = host(["-t", "nat", "PREROUTING", "-p", "tcp", "--dport", "8080", "-j", "DNAT",
                "--to-destination", "192.0.2.2:80"])  # fmt: skip
    save = tmp_path / "rules.save"
    save.write_text(ipt.dump())
    netfile = tmp_path / "net.json"
    netfile.write_text(json.dumps({"interfaces": NET.interfaces, "routes": [
        {"dst": "0.0.0.0/0", "dev": "eth1", "via": "192.0.2.254"}]}))  # fmt: skip
    argv = ["trace", "--save", str(save), "--network", str(netfile),
            "tcp 198.51.100.2:40000 -> 203.0.113.1:8080 iif eth0"]  # fmt: skip
    out = io.StringIO()
    assert main(argv, stdout=out) == 0
    text = out.getvalue()
    assert "DNAT --to-destination 192.0.2.2:80" in text
    assert text.splitlines()[-1].startswith("outcome: forwarded via eth1")
    out = io.StringIO()
    assert main([*argv[:-1], "--json", argv[-1]], stdout=out) == 0
    assert json.loads(out.getvalue())["packet"]["dst"] == "192.0.2.2"
    err = io.StringIO()
    assert main([*argv[:-1], "tcp nonsense"], stdout=io.StringIO(), stderr=err) == 2
    assert "InvalidArgumentError" in err.getvalue()


def test_a_related_packet_skips_nat_and_meets_related_rules() -> None:
    ipt = host(
        ["-t", "nat", "OUTPUT", "-j", "DNAT", "--to-destination", "192.0.2.9"],
        ["OUTPUT", "-m", "conntrack", "--ctstate", "RELATED", "-j", "DROP"],
    )
    error = Packet("icmp", "198.51.100.1", "198.51.100.2", icmp_type=3, icmp_code=3)
    t = trace(ipt, error, NET, ctstate="RELATED")
    assert (t.outcome, t.packet.dst) == ("dropped", "198.51.100.2")
    assert trace(ipt, error, NET).packet.dst == "192.0.2.9"  # as a NEW packet it is DNATed
    with pytest.raises(InvalidArgumentError):
        trace(ipt, error, NET, ctstate="BOGUS")


def test_rpfilter_and_limit() -> None:
    ipt = host(["-t", "raw", "PREROUTING", "-m", "rpfilter", "--invert", "-j", "DROP"])
    assert trace(ipt, syn(), NET).outcome == "forwarded"  # 198.51.100.2 is behind eth0
    spoofed = Packet("tcp", "192.0.2.77", "198.51.100.9", 1, 2, iif="eth0")  # lives behind eth1
    assert trace(ipt, spoofed, NET).outcome == "dropped"
    own = Packet("tcp", "192.0.2.1", "198.51.100.9", 1, 2, iif="eth0")  # the host's own address
    assert trace(ipt, own, NET).outcome == "dropped"
    loose = host(["-t", "raw", "PREROUTING", "-m", "rpfilter", "--loose", "--invert", "-j", "DROP"])
    assert trace(loose, spoofed, NET).outcome == "forwarded"
    ipt = host(["FORWARD", "-m", "limit", "--limit", "1/min", "--limit-burst", "2", "-j", "ACCEPT"],
               policy="DROP")  # fmt: skip
    ct = Conntrack()
    got = [trace(ipt, syn(sport=41000 + i), NET, conntrack=ct).outcome for i in range(3)]
    assert got == ["forwarded", "forwarded", "unknown"]
