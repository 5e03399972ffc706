"""Scenarios for the packet tracer: a router ruleset and one packet each.

Every ``save`` is what ``iptables-save`` prints for the router (rules in its canonical
form, so a counter read from the kernel names the very line written here), with every
table the scenario needs. The topology and its addresses are those of
``tests/integration/packets.py``: client 198.51.100.2 / 2001:db8:1::2 behind the
router's eth0 (198.51.100.1 / 2001:db8:1::1), server 192.0.2.2 / 2001:db8:2::2 behind its
eth1 (192.0.2.1 / 2001:db8:2::1), and 203.0.113.1 / 2001:db8:ff::1 on the router's lo.

The corpus does not say what should happen: that is the tracer's to predict and
``packets.observe`` to measure. Each scenario uses its own source port only so that a
capture is easy to read (conntrack is flushed between observations anyway).
"""

from __future__ import annotations

import textwrap
from typing import Dict, List, Optional

from .packets import PacketSpec, Scenario


def _save(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


def _tcp(
    dst: str, dport: int, sport: int, origin: str = "client", src: Optional[str] = None
) -> PacketSpec:
    return PacketSpec("tcp", src, sport, dst, dport, origin)


def _udp(
    dst: str, dport: int, sport: int, origin: str = "client", src: Optional[str] = None
) -> PacketSpec:
    return PacketSpec("udp", src, sport, dst, dport, origin)


def _ping(dst: str, ident: int, origin: str = "client", src: Optional[str] = None) -> PacketSpec:
    return PacketSpec("icmp", src, ident, dst, None, origin)


_FORWARD_ESTABLISHED = "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"

CORPUS: List[Scenario] = [
    # -- filter verdicts ----------------------------------------------------------------
    Scenario(
        "filter_forward_accept",
        4,
        _save(f"""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            {_FORWARD_ESTABLISHED}
            -A FORWARD -d 192.0.2.2/32 -i eth0 -o eth1 -p tcp -m tcp --dport 80 -j ACCEPT
            COMMIT
        """),
        _tcp("192.0.2.2", 80, 40001),
        (80,),
        "An ACCEPT rule in FORWARD under a DROP policy: the SYN matches the rule, the "
        "SYN-ACK and the ACK the ESTABLISHED rule.",
    ),
    Scenario(
        "filter_forward_policy_drop",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -p tcp -m tcp --dport 22 -j ACCEPT
            COMMIT
        """),
        _tcp("192.0.2.2", 80, 40002),
        (80,),
        "No rule matches, the FORWARD policy DROP decides: one SYN, no answer.",
    ),
    Scenario(
        "filter_reject_default",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
            COMMIT
        """),
        _tcp("192.0.2.2", 80, 40003),
        (80,),
        "A bare -j REJECT (saved with its default, icmp-port-unreachable): ICMP 3/3 from "
        "the router's address on the client's side; the error leaves by the router's OUTPUT.",
    ),
    Scenario(
        "filter_reject_host_prohibited",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -d 192.0.2.2/32 -p tcp -j REJECT --reject-with icmp-host-prohibited
            COMMIT
        """),
        _tcp("192.0.2.2", 80, 40004),
        (80,),
        "REJECT --reject-with icmp-host-prohibited: ICMP 3/10.",
    ),
    Scenario(
        "filter_reject_tcp_reset",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -p tcp -j REJECT --reject-with tcp-reset
            COMMIT
        """),
        _tcp("192.0.2.2", 80, 40005),
        (80,),
        "REJECT --reject-with tcp-reset: the client's connect() is refused with no ICMP.",
    ),
    Scenario(
        "input_udp_accept",
        4,
        _save("""
            *filter
            :INPUT DROP [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A INPUT -i lo -j ACCEPT
            -A INPUT -i eth0 -p udp -m udp --dport 53 -j ACCEPT
            COMMIT
        """),
        _udp("198.51.100.1", 53, 40006),
        (53,),
        "A datagram to the router itself, accepted in INPUT under a DROP policy: delivered "
        "to the router's listener, FORWARD never seen.",
    ),
    Scenario(
        "udp_no_listener",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            COMMIT
        """),
        _udp("192.0.2.2", 5353, 40007),
        (53,),
        "Forwarded, but nothing listens on the server's port: the server's own kernel "
        "answers ICMP 3/3 (reject_from is the server, not the router).",
    ),
    Scenario(
        "iprange_reject_udp",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -m iprange --src-range 198.51.100.100-198.51.100.200 -j ACCEPT
            -A FORWARD -p udp -j REJECT --reject-with icmp-port-unreachable
            COMMIT
        """),
        _udp("192.0.2.2", 53, 40008),
        (53,),
        "-m iprange: the client (198.51.100.2) is outside the range, so the next rule "
        "rejects the datagram with ICMP 3/3 from the router.",
    ),
    Scenario(
        "multiport_both_directions",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -p tcp -m multiport --ports 22,80,443 -j ACCEPT
            COMMIT
        """),
        _tcp("192.0.2.2", 80, 40009),
        (80,),
        "-m multiport --ports matches a source or a destination port, so one stateless "
        "rule passes SYN, SYN-ACK and ACK. No rule needs conntrack here.",
    ),
    Scenario(
        "jump_goto_return",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            :CHECK - [0:0]
            :CHECK-TCP - [0:0]
            -A FORWARD -j CHECK
            -A FORWARD -p tcp -m tcp --dport 80 -j ACCEPT
            -A FORWARD -p tcp -m tcp --sport 80 -j ACCEPT
            -A CHECK -p tcp -g CHECK-TCP
            -A CHECK -j DROP
            -A CHECK-TCP -p tcp -m tcp --dport 22 -j DROP
            -A CHECK-TCP -j RETURN
            COMMIT
        """),
        _tcp("192.0.2.2", 80, 40010),
        (80,),
        "-g then RETURN: RETURN from a chain entered by goto resumes after the -j CHECK "
        "in FORWARD, not inside CHECK (whose next rule would DROP).",
    ),
    # -- ICMP echo ----------------------------------------------------------------------
    Scenario(
        "icmp_echo_forward",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -p icmp -j ACCEPT
            COMMIT
        """),
        _ping("192.0.2.2", 40011),
        (),
        "An echo request forwarded to the server; the reply crosses FORWARD too.",
    ),
    Scenario(
        "icmp_echo_input_drop",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A INPUT -p icmp -m icmp --icmp-type 8 -j DROP
            COMMIT
        """),
        _ping("198.51.100.1", 40012),
        (),
        "An echo request to the router dropped in INPUT: no reply.",
    ),
    Scenario(
        "icmp_echo_reject_admin",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -p icmp -j REJECT --reject-with icmp-admin-prohibited
            COMMIT
        """),
        _ping("192.0.2.2", 40013),
        (),
        "A forwarded echo request rejected with icmp-admin-prohibited: ICMP 3/13.",
    ),
    # -- NAT ----------------------------------------------------------------------------
    Scenario(
        "dnat_lo_address",
        4,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -d 203.0.113.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80
            COMMIT
        """),
        _tcp("203.0.113.1", 8080, 40014),
        (80, 8080),
        "Port forwarding of the router's lo address 203.0.113.1:8080 to 192.0.2.2:80: the "
        "server sees the client's own address and 192.0.2.2:80; INPUT is never reached.",
    ),
    Scenario(
        "dnat_port_forward",
        4,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -d 198.51.100.1/32 -i eth0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80
            COMMIT
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
            -A FORWARD -d 192.0.2.2/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -j ACCEPT
            COMMIT
        """),
        _tcp("198.51.100.1", 8080, 40015),
        (80, 8080),
        "Port forwarding of 198.51.100.1:8080 (eth0's address) to 192.0.2.2:80; FORWARD "
        "already sees the translated destination, and --ctstate DNAT matches.",
    ),
    Scenario(
        "snat_eth1",
        4,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A POSTROUTING -o eth1 -p tcp -j SNAT --to-source 192.0.2.1
            COMMIT
        """),
        _tcp("192.0.2.2", 80, 40016),
        (80,),
        "SNAT on the way out of eth1: the server sees 192.0.2.1, the source port kept.",
    ),
    Scenario(
        "masquerade_eth1",
        4,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A POSTROUTING -o eth1 -j MASQUERADE
            COMMIT
        """),
        _tcp("192.0.2.2", 80, 40017),
        (80,),
        "MASQUERADE on eth1: the server sees eth1's address 192.0.2.1.",
    ),
    Scenario(
        "redirect_local_port",
        4,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -i eth0 -p tcp -m tcp --dport 8080 -j REDIRECT --to-ports 9090
            COMMIT
        """),
        _tcp("192.0.2.2", 8080, 40018),
        (8080, 9090),
        "REDIRECT of a connection meant for the server to the router's port 9090: "
        "delivered to the router, at the primary address of the interface it came in on "
        "(198.51.100.1).",
    ),
    Scenario(
        "dnat_to_localhost",
        4,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -d 198.51.100.1/32 -i eth0 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 127.0.0.1:80
            COMMIT
        """),
        _tcp("198.51.100.1", 8081, 40019),
        (80, 8081),
        "DNAT to 127.0.0.1 from outside: works only because the router has "
        "route_localnet=1 on eth0 (a kube-proxy nodePort-on-localhost pattern).",
    ),
    Scenario(
        "hairpin_nat",
        4,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -d 203.0.113.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80
            -A POSTROUTING -s 192.0.2.0/24 -d 192.0.2.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
            COMMIT
        """),
        _tcp("203.0.113.1", 8080, 40020, origin="server"),
        (80, 8080),
        "Hairpin: the server reaches itself through the router's published address; the "
        "masquerade makes the server see 192.0.2.1 (the router has send_redirects=0).",
    ),
    Scenario(
        "statistic_nth",
        4,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -d 198.51.100.1/32 -p tcp -m tcp --dport 8080 -m statistic --mode nth --every 2 --packet 0 -j DNAT --to-destination 192.0.2.2:80
            -A PREROUTING -d 198.51.100.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:81
            COMMIT
        """),
        _tcp("198.51.100.1", 8080, 40021),
        (80, 81, 8080),
        "-m statistic --mode nth --every 2 --packet 0 on a freshly loaded rule: which of the "
        "two DNATs the first connection gets.",
    ),
    Scenario(
        "addrtype_local_user_chain",
        4,
        _save("""
            *filter
            :INPUT DROP [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :LOCAL-IN - [0:0]
            -A INPUT -m addrtype --dst-type LOCAL -j LOCAL-IN
            -A LOCAL-IN -d 198.51.100.1/32 -j DROP
            -A LOCAL-IN -p udp -m udp --dport 53 -j ACCEPT
            COMMIT
        """),
        _udp("203.0.113.1", 53, 40022),
        (53,),
        "-m addrtype --dst-type LOCAL sends a datagram to the lo address 203.0.113.1 into a "
        "user chain, which accepts it.",
    ),
    Scenario(
        "raw_notrack_skips_nat",
        4,
        _save("""
            *raw
            :PREROUTING ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A PREROUTING -p tcp -m tcp --dport 8080 -j CT --notrack
            COMMIT
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -d 198.51.100.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80
            COMMIT
        """),
        _tcp("198.51.100.1", 8080, 40023),
        (80, 8080),
        "CT --notrack in raw: the SYN is untracked, so nat/PREROUTING never sees it and "
        "the router's own listener on 8080 gets the connection instead of the server.",
    ),
    Scenario(
        "mark_connmark",
        4,
        _save("""
            *mangle
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -i eth0 -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x1/0xffffffff
            -A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff
            COMMIT
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -m mark --mark 0x1 -j ACCEPT
            -A FORWARD -m connmark --mark 0x1 -j ACCEPT
            COMMIT
        """),
        _tcp("192.0.2.2", 80, 40024),
        (80,),
        "MARK in mangle, saved to the connection with CONNMARK: the client's packets pass "
        "FORWARD by their mark, the server's replies by the connection's mark.",
    ),
    Scenario(
        "server_origin_stateful",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT
            -A FORWARD -i eth0 -o eth1 -m state --state NEW -j DROP
            -A FORWARD -i eth1 -o eth0 -j ACCEPT
            COMMIT
        """),
        _tcp("198.51.100.2", 80, 40025, origin="server"),
        (80,),
        "A connection opened from the server's side (enters on eth1) to the client: the "
        "outbound rule takes the SYN, the state rule the answers.",
    ),
    # -- generated by the router ------------------------------------------------------------
    Scenario(
        "router_output_dnat",
        4,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A OUTPUT -d 203.0.113.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80
            COMMIT
        """),
        _tcp("203.0.113.1", 8080, 40026, origin="router"),
        (80, 8080),
        "The router itself connects to its own lo address; nat/OUTPUT DNATs it to the "
        "server (the source was chosen for the original, local route).",
    ),
    Scenario(
        "router_output_drop",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A OUTPUT -o eth1 -p udp -j DROP
            COMMIT
        """),
        _udp("192.0.2.2", 53, 40027, origin="router"),
        (53,),
        "A datagram from the router dropped in its own OUTPUT: sendto() fails at once "
        "(EPERM), nothing leaves.",
    ),
    Scenario(
        "router_echo_bound_source",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT DROP [0:0]
            -A OUTPUT -s 198.51.100.1/32 -o eth1 -p icmp -m icmp --icmp-type 8 -j ACCEPT
            COMMIT
        """),
        _ping("192.0.2.2", 40034, origin="router", src="198.51.100.1"),
        (),
        "The router pings the server from its eth0 address (bound by the sender) out of "
        "eth1; OUTPUT's DROP policy lets only that pass; the reply comes in by INPUT.",
    ),
    # -- real-world shapes ----------------------------------------------------------------
    Scenario(
        "kube_service",
        4,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            :KUBE-MARK-MASQ - [0:0]
            :KUBE-POSTROUTING - [0:0]
            :KUBE-SEP-Y - [0:0]
            :KUBE-SERVICES - [0:0]
            :KUBE-SVC-X - [0:0]
            -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
            -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
            -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
            -A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
            -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
            -A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
            -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
            -A KUBE-SEP-Y -s 192.0.2.2/32 -m comment --comment "default/web" -j KUBE-MARK-MASQ
            -A KUBE-SEP-Y -p tcp -m comment --comment "default/web" -m tcp -j DNAT --to-destination 192.0.2.2:80
            -A KUBE-SERVICES -d 203.0.113.10/32 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-SVC-X
            -A KUBE-SVC-X ! -s 192.0.2.0/24 -d 203.0.113.10/32 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
            -A KUBE-SVC-X -m comment --comment "default/web -> 192.0.2.2:80" -j KUBE-SEP-Y
            COMMIT
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            :KUBE-FORWARD - [0:0]
            -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
            -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
            -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
            -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
            COMMIT
        """),
        _tcp("203.0.113.10", 80, 40028),
        (80,),
        "A kube-proxy ClusterIP service (203.0.113.10:80, an address configured nowhere) "
        "with one endpoint, the server: KUBE-SERVICES -> KUBE-SVC-X marks 0x4000 (the "
        "client is outside the pod range 192.0.2.0/24) -> KUBE-SEP-Y DNATs; KUBE-FORWARD "
        "accepts by the mark; KUBE-POSTROUTING clears it and masquerades.",
    ),
    Scenario(
        "docker_publish",
        4,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            :DOCKER - [0:0]
            -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
            -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
            -A POSTROUTING -s 192.0.2.0/24 ! -o eth1 -j MASQUERADE
            -A POSTROUTING -s 192.0.2.2/32 -d 192.0.2.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
            -A DOCKER -i eth1 -j RETURN
            -A DOCKER ! -i eth1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80
            COMMIT
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            :DOCKER - [0:0]
            :DOCKER-ISOLATION-STAGE-1 - [0:0]
            :DOCKER-ISOLATION-STAGE-2 - [0:0]
            :DOCKER-USER - [0:0]
            -A FORWARD -j DOCKER-USER
            -A FORWARD -j DOCKER-ISOLATION-STAGE-1
            -A FORWARD -o eth1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
            -A FORWARD -o eth1 -j DOCKER
            -A FORWARD -i eth1 ! -o eth1 -j ACCEPT
            -A FORWARD -i eth1 -o eth1 -j ACCEPT
            -A DOCKER -d 192.0.2.2/32 ! -i eth1 -o eth1 -p tcp -m tcp --dport 80 -j ACCEPT
            -A DOCKER-ISOLATION-STAGE-1 -i eth1 ! -o eth1 -j DOCKER-ISOLATION-STAGE-2
            -A DOCKER-ISOLATION-STAGE-1 -j RETURN
            -A DOCKER-ISOLATION-STAGE-2 -o eth1 -j DROP
            -A DOCKER-ISOLATION-STAGE-2 -j RETURN
            -A DOCKER-USER -j RETURN
            COMMIT
        """),
        _tcp("198.51.100.1", 8080, 40029),
        (80, 8080),
        "docker run -p 8080:80 with the router's eth1 side as the bridge network (eth1 in "
        "place of docker0, 192.0.2.0/24 the bridge subnet, the server the container): "
        "DOCKER DNAT from PREROUTING by addrtype LOCAL, DOCKER-USER and the isolation "
        "stages RETURN, filter DOCKER accepts; the reply passes the ESTABLISHED rule.",
    ),
    # -- IPv6 -----------------------------------------------------------------------------
    Scenario(
        "ipv6_filter_accept",
        6,
        _save(f"""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            {_FORWARD_ESTABLISHED}
            -A FORWARD -d 2001:db8:2::2/128 -p tcp -m tcp --dport 80 -j ACCEPT
            COMMIT
        """),
        _tcp("2001:db8:2::2", 80, 40030),
        (80,),
        "IPv6: an ACCEPT rule in FORWARD under a DROP policy.",
    ),
    Scenario(
        "ipv6_dnat",
        6,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -d 2001:db8:1::1/128 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [2001:db8:2::2]:80
            COMMIT
        """),
        _tcp("2001:db8:1::1", 8080, 40031),
        (80, 8080),
        "IPv6 port forwarding [2001:db8:1::1]:8080 -> [2001:db8:2::2]:80.",
    ),
    Scenario(
        "ipv6_reject_default",
        6,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp6-port-unreachable
            COMMIT
        """),
        _tcp("2001:db8:2::2", 80, 40032),
        (80,),
        "IPv6 REJECT with its default, icmp6-port-unreachable: ICMPv6 1/4.",
    ),
    Scenario(
        "ipv6_echo_router_lo",
        6,
        _save("""
            *filter
            :INPUT DROP [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            -A INPUT -d 2001:db8:ff::1/128 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT
            COMMIT
        """),
        _ping("2001:db8:ff::1", 40033),
        (),
        "IPv6 echo request to the router's lo address, accepted in INPUT (the reply is "
        "locally generated: OUTPUT, not FORWARD).",
    ),
    # -- matches the tracer reads from its model of the host ------------------------------
    Scenario(
        "limit_burst",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -m limit --limit 1/min -j ACCEPT
            COMMIT
        """),
        _tcp("192.0.2.2", 80, 40134),
        (80,),
        "limit with its default burst of 5: the bucket starts full, so the SYN, the SYN-ACK "
        "and the ACK all match.",
    ),
    Scenario(
        "rpfilter_raw",
        4,
        _save("""
            *raw
            :PREROUTING ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A PREROUTING -m rpfilter --invert -j DROP
            COMMIT
        """),
        _tcp("192.0.2.2", 80, 40135),
        (80,),
        "Reverse-path filtering in raw: the client's and the server's sources route back "
        "through their own interfaces, so the DROP never matches.",
    ),
    Scenario(
        "netmap_prefix",
        4,
        _save("""
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -d 203.0.113.2/32 -j NETMAP --to 192.0.2.0/24
            COMMIT
        """),
        _tcp("203.0.113.2", 80, 40136),
        (80,),
        "NETMAP keeps the host bits: 203.0.113.2 becomes 192.0.2.2 before routing.",
    ),
    Scenario(
        "router_to_itself",
        4,
        _save("""
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A INPUT -i lo -p tcp -m tcp --dport 80 -j ACCEPT
            -A INPUT -p tcp -m tcp --dport 80 -j DROP
            COMMIT
        """),
        _tcp("203.0.113.1", 80, 40137, origin="router"),
        (80,),
        "A connection from the router to its own lo address loops back: OUTPUT, "
        "POSTROUTING, then PREROUTING and INPUT on lo, where -i lo accepts it.",
    ),
]

BY_NAME: Dict[str, Scenario] = {s.name: s for s in CORPUS}
assert len(BY_NAME) == len(CORPUS), "scenario names must be unique"
