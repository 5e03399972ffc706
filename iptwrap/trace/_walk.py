"""The packet's path: hooks in the kernel's order, chains, jumps, NAT and routing.

The order of tables in each hook was proven with real packets (tests/data/
traversal.md): PREROUTING raw, mangle, nat; INPUT mangle, filter, security, nat;
FORWARD mangle, filter, security; OUTPUT raw, mangle, nat, filter, security;
POSTROUTING mangle, nat. nat runs for a connection's first packet only, once per kind
of translation, and not at all when nothing in the ruleset makes the kernel track
connections (measured: the nat chains are then skipped even with rules in them).
"""

from __future__ import annotations

import ipaddress
from typing import Any, List, Optional, Tuple

from .._errors import InvalidArgumentError
from .._rulespec.evaluable import RuleParts
from ._conntrack import Conntrack, Entry, Tuple5, reverse
from ._matches import State, rule_matches
from ._model import Network, Packet, Step, Trace
from ._ruleset import Ruleset, load

__all__ = ["trace", "EVALUATED_TARGETS"]

HOOK_TABLES = {
    "PREROUTING": ("raw", "mangle", "nat"),
    "INPUT": ("mangle", "filter", "security", "nat"),
    "FORWARD": ("mangle", "filter", "security"),
    "OUTPUT": ("raw", "mangle", "nat", "filter", "security"),
    "POSTROUTING": ("mangle", "nat"),
}
_DST_NAT_HOOKS = ("PREROUTING", "OUTPUT")

# Targets that change nothing the tracer models and let the packet go on.
_PASS = frozenset(
    {"LOG", "NFLOG", "TRACE", "AUDIT", "TCPMSS", "DSCP", "TOS", "TTL", "HL", "CHECKSUM",
     "CLASSIFY", "ECN", "SECMARK", "CONNSECMARK", "IDLETIMER", "LED", "RATEEST", "HMARK",
     "TCPOPTSTRIP"}
)  # fmt: skip
_VERDICTS = frozenset({"ACCEPT", "DROP", "RETURN", "REJECT"})
_NAT = frozenset({"DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP"})
EVALUATED_TARGETS = tuple(
    sorted(_PASS | _VERDICTS | _NAT | {"MARK", "CONNMARK", "CT", "NOTRACK", "SET"})
)
# What makes the kernel track connections in a namespace (and so run the nat chains).
_CT_MATCHES = frozenset({"conntrack", "state", "connmark", "connbytes", "connlimit", "helper"})
_CT_TARGETS = _NAT | {"CT", "NOTRACK", "CONNMARK"}

_REJECT4 = {
    None: (3, 3), "icmp-net-unreachable": (3, 0), "icmp-host-unreachable": (3, 1),
    "icmp-proto-unreachable": (3, 2), "icmp-port-unreachable": (3, 3),
    "icmp-net-prohibited": (3, 9), "icmp-host-prohibited": (3, 10),
    "icmp-admin-prohibited": (3, 13),
}  # fmt: skip
_REJECT6 = {
    None: (1, 4), "icmp6-no-route": (1, 0), "no-route": (1, 0),
    "icmp6-adm-prohibited": (1, 1), "adm-prohibited": (1, 1),
    "icmp6-addr-unreachable": (1, 3), "addr-unreach": (1, 3),
    "icmp6-port-unreachable": (1, 4), "port-unreach": (1, 4),
    "icmp6-policy-fail": (1, 5), "icmp6-reject-route": (1, 6),
}  # fmt: skip


class _Stop(Exception):
    """The packet's fate is sealed (dropped, rejected, unknown)."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


class _Walk:
    def __init__(self, rs: Ruleset, s: State, t: Trace, tracked: bool) -> None:
        self.rs = rs
        self.s = s
        self.t = t
        self.tracked = tracked  # the kernel tracks connections in this namespace
        self.untracked = False  # NOTRACK / CT --notrack on this packet
        self.nat_done = {"dst": False, "src": False}

    # ------------------------------------------------------------- hooks
    def hook(self, name: str, tables: Tuple[str, ...]) -> None:
        self.s.hook = name
        for table in tables:
            if table == "nat":
                kind = "dst" if name in _DST_NAT_HOOKS else "src"
                if (
                    not self.tracked
                    or self.untracked
                    or self.s.ctstate != "NEW"
                    or self.nat_done[kind]
                ):
                    continue
                self.nat_done[kind] = True
            if self.rs.chain(table, name) is None:
                continue
            verdict = self.chain(table, name)
            if verdict == "DROP":
                raise _Stop("dropped")
            if verdict == "REJECT":
                raise _Stop("rejected")

    def chain(self, table: str, base: str) -> str:
        """Run a base chain and its jumps; the verdict: ACCEPT, DROP or REJECT."""
        stack: List[Tuple[str, int]] = []
        chain, i = base, 0
        while True:
            rules = self.rs.chain(table, chain)
            entries = rules.rules if rules is not None else []
            if i >= len(entries):
                if chain == base:
                    policy = rules.policy if rules is not None else "ACCEPT"
                    self.t.steps.append(Step(table, chain, None, policy or "ACCEPT"))
                    return policy or "ACCEPT"
                self.t.steps.append(Step(table, chain, None, "RETURN"))
                if not stack:
                    return self._policy(table, base)
                chain, i = stack.pop()
                continue
            entry = entries[i]
            i += 1
            parts = self.rs.parts(table, chain, entry)
            key = (table, chain, entry.line)
            held = parts if isinstance(parts, str) else rule_matches(parts, self.s, key)
            if held is False:
                continue
            target = parts.target if not isinstance(parts, str) else None
            if isinstance(held, str):
                if target in _PASS:
                    self.t.unknown.append(f"{entry.line}: {held} (its {target} changes nothing)")
                    continue
                self.t.steps.append(Step(table, chain, entry.line, f"unknown: {held}"))
                self.t.unknown.append(f"{entry.line}: {held}")
                raise _Stop("unknown")
            assert not isinstance(parts, str)
            outcome = self.target(table, chain, entry.line, parts)
            if outcome == "continue":
                continue
            if outcome == "RETURN":
                if not stack:
                    return self._policy(table, base)
                chain, i = stack.pop()
                continue
            if outcome.startswith("jump ") or outcome.startswith("goto "):
                if outcome.startswith("jump "):
                    stack.append((chain, i))
                chain, i = outcome[5:], 0
                continue
            return outcome

    def _policy(self, table: str, base: str) -> str:
        rules = self.rs.chain(table, base)
        policy = (rules.policy if rules is not None else None) or "ACCEPT"
        self.t.steps.append(Step(table, base, None, policy))
        return policy

    # ------------------------------------------------------------- targets
    def target(self, table: str, chain: str, line: str, parts: RuleParts) -> str:
        name, st = parts.target, parts.target_state
        s = self.s

        def step(action: str) -> None:
            self.t.steps.append(Step(table, chain, line, action))

        if name is None:
            step("none")  # counted, no target
            return "continue"
        if name in ("ACCEPT", "DROP", "RETURN"):
            step(name)
            return name
        if name == "REJECT":
            step(name)
            how = st.reject_with
            if how == "tcp-reset":
                self.t.reject = ("tcp-reset", None, None)
            else:
                table_ = _REJECT6 if s.family == 6 else _REJECT4
                icmp_type, code = table_.get(how, table_[None])
                self.t.reject = ("icmp", icmp_type, code)
            return "REJECT"
        if st is None:  # a user chain
            step(("goto " if parts.goto else "jump ") + name)
            return ("goto " if parts.goto else "jump ") + name
        step(name)
        if name in _PASS:
            return "continue"
        if name == "MARK":
            s.mark = (s.mark & ~st.mask & 0xFFFFFFFF) ^ (st.value or 0)
            return "continue"
        if name == "CONNMARK":
            self._connmark(st)
            return "continue"
        if name in ("NOTRACK", "CT"):
            if name == "NOTRACK" or st.notrack:
                self.untracked = True
                s.ctstate = "UNTRACKED"
            return "continue"
        if name == "SET":
            self.t.unknown.append(f"{line}: SET's change to the set is not applied")
            return "continue"
        if name in _NAT:
            self._nat(name, st)
            return "ACCEPT"
        self.t.unknown.append(f"{line}: -j {name} is not evaluated")
        raise _Stop("unknown")

    def _connmark(self, st: Any) -> None:
        s = self.s
        if st.mode == "set":
            s.ctmark = (s.ctmark & ~st.mask & 0xFFFFFFFF) ^ st.value
        elif st.mode == "save":
            s.ctmark = (s.ctmark & ~st.ctmask & 0xFFFFFFFF) ^ (s.mark & st.nfmask)
        elif st.mode == "restore":
            s.mark = (s.mark & ~st.nfmask & 0xFFFFFFFF) ^ (s.ctmark & st.ctmask)

    def _nat(self, name: str, st: Any) -> None:
        s = self.s
        if name in ("DNAT", "SNAT"):
            addr, ports = _nat_to(st.to, s.family)
            if addr is not None and "-" in addr:
                lo = addr.split("-")[0]
                self.t.unknown.append(f"{name} to a range {addr}: the kernel picks; took {lo}")
                addr = lo
            if name == "DNAT":
                s.dnat = True
                if addr is not None:
                    s.dst = ipaddress.ip_address(addr)
                s.dport = _pick_port(ports, s.dport)
            else:
                s.snat = True
                if addr is not None:
                    s.src = ipaddress.ip_address(addr)
                s.sport = _pick_port(ports, s.sport)
        elif name == "MASQUERADE":
            s.snat = True
            new = s.net.primary(s.oif or "", s.family)
            if new is None:
                self.t.unknown.append(f"MASQUERADE: {s.oif} has no address")
                raise _Stop("dropped")
            s.src = new
            s.sport = _pick_port(st.ports, s.sport)
        elif name == "REDIRECT":
            s.dnat = True
            if s.hook == "OUTPUT":
                s.dst = ipaddress.ip_address("::1" if s.family == 6 else "127.0.0.1")
            else:
                new = s.net.primary(s.iif or "", s.family)
                if new is None:
                    raise _Stop("dropped")
                s.dst = new
            if st.ports is not None:
                s.dport = int(st.ports.split("-")[0])
        elif name == "NETMAP":
            net = ipaddress.ip_network(st.to, strict=False)
            mask = int(net.netmask)
            if s.hook in _DST_NAT_HOOKS:
                s.dnat = True
                s.dst = ipaddress.ip_address((int(s.dst) & ~mask) | int(net.network_address))
            else:
                s.snat = True
                s.src = ipaddress.ip_address((int(s.src) & ~mask) | int(net.network_address))


def _nat_to(to: Optional[str], family: int) -> Tuple[Optional[str], Optional[str]]:
    """``ip[-ip][:port[-port]]`` (IPv6 ``[ip]:port``) -> (addresses, ports)."""
    if not to:
        return None, None
    if to.startswith("["):
        inside, _sep, rest = to[1:].partition("]")
        return inside, rest[1:] if rest.startswith(":") else None
    if to.startswith(":"):
        return None, to[1:]
    if family == 4 and ":" in to:
        addr, _sep, ports = to.partition(":")
        return addr, ports
    return to, None


def _pick_port(ports: Optional[str], current: Optional[int]) -> Optional[int]:
    """NAT keeps the port when it is in the range (and unused); else the range's first."""
    if not ports or current is None:
        return current
    lo, _sep, hi = ports.partition("-")
    if int(lo) <= current <= int(hi or lo):
        return current
    return int(lo)


def _tracks(rs: Ruleset) -> bool:
    for chains in rs.tables.values():
        for rules in chains.values():
            for entry in rules.rules:
                words = entry.spec.split()
                for flag, name in zip(words, words[1:]):
                    if flag == "-m" and name in _CT_MATCHES:
                        return True
                    if flag in ("-j", "-g") and name in _CT_TARGETS:
                        return True
    return False


def _key(s: State) -> Tuple5:
    return s.proto, str(s.src), s.sport, str(s.dst), s.dport


def trace(
    host: object,
    packet: Packet,
    net: Network,
    *,
    conntrack: Optional[Conntrack] = None,
    ctstate: Optional[str] = None,
) -> Trace:
    """What ``host``'s rules do to ``packet`` on a host with network ``net``.

    ``ctstate`` forces the packet's conntrack state, for a packet conntrack ties to an
    existing flow without being part of it: ``"RELATED"`` for the ICMP error or the
    reset a REJECT makes the host send (the kernel attaches it to the rejected flow).
    """
    if ctstate not in (None, "NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"):
        raise InvalidArgumentError(f"ctstate must be a conntrack state, not {ctstate!r}")
    family = packet.family or 4
    rs = load(host, family)
    ct = conntrack if conntrack is not None else Conntrack()
    dst = ipaddress.ip_address(packet.dst)
    local_out = packet.iif is None
    src_text = packet.src
    oif: Optional[str] = None
    if local_out:
        found = net.route(dst)
        oif = found[0] if found else None
        if src_text is None:
            chosen = net.source_for(dst)
            if chosen is None:
                raise _no_route(packet)
            src_text = str(chosen)
    assert src_text is not None
    s = State(
        family=family,
        proto=packet.proto_number,
        src=ipaddress.ip_address(src_text),
        dst=dst,
        sport=packet.sport,
        dport=packet.dport,
        tcp_flags=packet.tcp_flags,
        icmp_type=packet.icmp_type,
        icmp_code=packet.icmp_code,
        mark=packet.mark,
        hook="",
        iif=packet.iif,
        oif=oif,
        net=net,
        nth=ct.nth,
        set_test=rs.set_test,
        set_type=rs.set_type,
    )
    t = Trace(outcome="unknown", packet=packet.with_(src=src_text))
    tracked = _tracks(rs)
    first = _key(s)
    found_ct = ct.find(first) if tracked and ctstate is None else None
    if ctstate is not None:
        s.ctstate = ctstate
    elif found_ct is not None:
        entry, is_reply = found_ct
        s.ctstate, s.entry, s.reply, s.ctmark = "ESTABLISHED", entry, is_reply, entry.mark
        s.dnat, s.snat = entry.dnat, entry.snat
    elif s.proto == 6 and not _tcp_may_start(packet.tcp_flags):
        s.ctstate = "INVALID"
    w = _Walk(rs, s, t, tracked)
    try:
        if local_out:
            _local(w, s, net)
        else:
            _incoming(w, s, net)
    except _Stop as stop:
        t.outcome = stop.outcome
    t.ctstate = s.ctstate
    t.packet = packet.with_(
        src=str(s.src), dst=str(s.dst), sport=s.sport, dport=s.dport, mark=s.mark
    )
    if t.outcome in ("delivered", "forwarded", "sent") and tracked and not w.untracked:
        if s.entry is None and s.ctstate == "NEW" and ctstate is None:
            ct.add(Entry(first, reverse(_key(s)), s.ctmark, s.dnat, s.snat))
        elif s.entry is not None:
            s.entry.mark = s.ctmark
    return t


def _tcp_may_start(flags: str) -> bool:
    """nf_conntrack_tcp from no connection: a SYN starts one, and so does an ACK (the
    loose pick-up, on by default); SYN+ACK, FIN, RST, SYN+FIN or no flag is INVALID."""
    f = set(flags.upper())
    if "R" in f:
        return False
    if "S" in f:
        return "A" not in f and "F" not in f
    return "A" in f and "F" not in f


def _no_route(packet: Packet) -> Exception:
    return InvalidArgumentError(f"no route to {packet.dst} to pick a source address from")


def _established_nat(s: State, hook: str) -> None:
    """A later packet of a NATed flow gets the flow's translation, without nat chains."""
    e = s.entry
    if e is None:
        return
    if not s.reply:
        if hook in _DST_NAT_HOOKS and e.dnat:
            s.dst, s.dport = ipaddress.ip_address(e.reply[1]), e.reply[2]
        if hook not in _DST_NAT_HOOKS and e.snat:
            s.src, s.sport = ipaddress.ip_address(e.reply[3]), e.reply[4]
    else:  # undo: the SNAT at the first hook, the DNAT at the last
        if hook in _DST_NAT_HOOKS and e.snat:
            s.dst, s.dport = ipaddress.ip_address(e.original[1]), e.original[2]
        if hook not in _DST_NAT_HOOKS and e.dnat:
            s.src, s.sport = ipaddress.ip_address(e.original[3]), e.original[4]


def _incoming(w: _Walk, s: State, net: Network) -> None:
    w.hook("PREROUTING", HOOK_TABLES["PREROUTING"])
    _established_nat(s, "PREROUTING")
    if net.is_local(s.dst):
        w.hook("INPUT", HOOK_TABLES["INPUT"])
        _established_nat(s, "INPUT")
        w.t.outcome = "delivered"
        return
    if not net.forwarding:
        w.t.unknown.append("forwarding is off: the kernel drops what is not for this host")
        raise _Stop("dropped")
    found = net.route(s.dst)
    if found is None:
        w.t.unknown.append(f"no route to {s.dst}")
        raise _Stop("dropped")
    s.oif = found[0]
    w.hook("FORWARD", HOOK_TABLES["FORWARD"])
    w.hook("POSTROUTING", HOOK_TABLES["POSTROUTING"])
    _established_nat(s, "POSTROUTING")
    w.t.outcome, w.t.out_interface = "forwarded", s.oif


def _local(w: _Walk, s: State, net: Network) -> None:
    w.hook("OUTPUT", HOOK_TABLES["OUTPUT"])
    _established_nat(s, "OUTPUT")
    found = net.route(s.dst)  # rerouted after OUTPUT's DNAT
    if found is None:
        w.t.unknown.append(f"no route to {s.dst}")
        raise _Stop("dropped")
    s.oif = found[0]
    w.hook("POSTROUTING", HOOK_TABLES["POSTROUTING"])
    _established_nat(s, "POSTROUTING")
    if s.oif == "lo":
        # looped back: PREROUTING and INPUT again, their nat already decided
        s.iif, s.oif = "lo", None
        w.hook("PREROUTING", ("raw", "mangle"))
        w.hook("INPUT", ("mangle", "filter", "security"))
        w.t.outcome = "delivered"
        return
    w.t.outcome, w.t.out_interface = "sent", s.oif
