"""One real packet through a real router: what the kernel did to it.

The harness behind the packet tracer's ground truth. Three throwaway network namespaces
(``client``, ``router``, ``server``, named ``iptw-...``) are wired with veth pairs made
inside them; the router gets a scenario's ``iptables-save`` text through
``iptables-<backend>-restore``; one packet (a TCP SYN by ``connect()``, a UDP datagram or
an ICMP echo request) is sent from one namespace, and the :class:`Observation` records
what the kernel did: who received it and with which addresses, or which ICMP error or
TCP reset came back, and which of the router's rule counters moved.

Topology (fixed; documentation addresses only)::

    client eth0 198.51.100.2/24 2001:db8:1::2/64  (default via the router)
       |
    router eth0 198.51.100.1/24 2001:db8:1::1/64
           eth1 192.0.2.1/24    2001:db8:2::1/64
           lo   127.0.0.1/8 203.0.113.1/32 2001:db8:ff::1/128
       |
    server eth0 192.0.2.2/24    2001:db8:2::2/64  (default via the router)

Router sysctls (inside its namespace only): ``ip_forward=1``, IPv6 ``forwarding=1``,
``rp_filter=0``, ``route_localnet=1`` on every interface (for DNAT to 127.0.0.1, the
``dnat_to_localhost`` scenario), ``send_redirects=0`` (a packet routed back out of the
interface it came in on would otherwise draw an ICMP redirect, rate-limited per peer, so
not repeatable). In all three namespaces: ICMP error rate limits off
(``icmp_ratelimit=0``, ``icmp.ratelimit=0``: the kernel allows only ~6 errors to one peer
before it goes quiet, and the corpus sends more than that), IPv6 without link-local
addresses, DAD, router solicitations or delayed MLD reports, and every neighbour entry
permanent, so no ARP/ND/MLD packet crosses the router's ip6tables during an observation.

Per backend one :class:`Lab` (three namespaces) serves every scenario: before each
observation both families' raw/mangle/nat/filter tables are replaced (tables the scenario
does not name are loaded empty with ACCEPT policies, so every table exists on both
backends; their counters are not reported), and the router's conntrack table is flushed
through ctnetlink (an ``IPCTNL_MSG_CT_DELETE`` without a tuple; there is no ``conntrack``
binary on the machine). So each scenario uses its own source port only for readability.

Sockets are opened inside a namespace by a short-lived thread that ``setns()``-es itself
into it (a socket keeps the namespace it was made in); this process never leaves its own
namespace, and the iptables binaries run under ``ip netns exec``.

How the outcome is read:
- TCP: a non-blocking ``connect()`` from ``(src, sport)`` with a 0.6 s timeout (under the
  kernel's 1 s SYN retransmission, so exactly one SYN). Connected: the listener whose
  ``accept()`` returns is the receiver (``accept()``'s peer, ``getsockname()``).
  Refused or unreachable: a matching ICMP error read by a raw socket in the sender's
  namespace gives ``("icmp", type, code)``; a refusal without one is ``("tcp-reset", None,
  None)``. No answer in time, with no ICMP error: dropped. The raw socket is watched while
  connect() is pending, because over IPv6 the first ICMPv6 error does not end it: with a
  REJECT in FORWARD, ``connect()`` fails with ECONNREFUSED only after the retransmitted
  SYN, ~1.02 s (measured, both backends; over IPv4 the ICMP error ends it at once).
- UDP: one datagram; delivered when a listener's ``recvmsg()`` gets it (source from the
  peer address, destination from ``IP_PKTINFO``/``IPV6_PKTINFO``, port from the socket),
  rejected on a matching ICMP error, else dropped after 0.5 s.
- ICMP: one echo request from a raw socket. Delivered when the echo reply comes back;
  the receiver is the namespace whose raw ICMP socket saw the request (a raw socket gets a
  copy of every ICMP packet delivered locally, after INPUT), and ``seen_src``/``seen_dst``
  are that request's addresses. Rejected on a matching ICMP error, else dropped.

``counters`` are the router's rules and built-in policies (of the scenario's tables and
family) whose packet counter moved, from ``iptables-<backend>-save -c`` before and after.
They cover every packet of the exchange, not only the first: a delivered TCP connection
is SYN, SYN-ACK and ACK; an echo is request and reply; a REJECT's ICMP error or reset is
sent by the router itself, so it also crosses the router's OUTPUT and POSTROUTING chains.
``packets`` gives how many packets each counter counted.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import ipaddress
import os
import select
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, TypeVar

from .netns import Namespace, require

ROLES = ("client", "router", "server")
ORIGINS = ROLES
PROTOS = ("tcp", "udp", "icmp")
OUTCOMES = ("delivered", "dropped", "rejected")
TABLES = ("raw", "mangle", "nat", "filter")
BUILTIN_CHAINS: Dict[str, Tuple[str, ...]] = {
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
}

# Addresses of the fixed topology, for scenarios and the tracer's Network.
CLIENT4, ROUTER4_CLIENT_SIDE = "198.51.100.2", "198.51.100.1"
SERVER4, ROUTER4_SERVER_SIDE = "192.0.2.2", "192.0.2.1"
ROUTER4_LO = "203.0.113.1"
CLIENT6, ROUTER6_CLIENT_SIDE = "2001:db8:1::2", "2001:db8:1::1"
SERVER6, ROUTER6_SERVER_SIDE = "2001:db8:2::2", "2001:db8:2::1"
ROUTER6_LO = "2001:db8:ff::1"

TCP_CONNECT_TIMEOUT = 0.6
WAIT = 0.5  # UDP and ICMP: how long to wait for a listener, a reply or an error
ACCEPT_WAIT = 0.3  # after a connect succeeded: how long a listener may take to accept
QUIET = 0.4  # after setup: how long without an MLD report before the first observation
ERROR_GRACE = 0.05  # after a refused connect: how long the ICMP error may lag

Counter = Tuple[str, str, Optional[str]]


@dataclass(frozen=True)
class PacketSpec:
    """The one packet: ``proto`` "tcp"/"udp"/"icmp"; ``src`` the address the sender binds
    (None: the kernel chooses); ``sport`` its port (for ICMP: the echo identifier);
    ``origin`` the namespace that sends it ("client": enters the router on eth0,
    "server": on eth1, "router": generated by the router itself)."""

    proto: str
    src: Optional[str]
    sport: Optional[int]
    dst: str
    dport: Optional[int]
    origin: str
    icmp_type: Optional[int] = None  # only echo request (8, or 128 for IPv6) is sent


@dataclass(frozen=True)
class Scenario:
    """A router ruleset (``iptables-save`` text with every table it needs, for the
    scenario's family) and one packet; ``ports`` are listened on (``packet.proto``, the
    wildcard address) in all three namespaces."""

    name: str
    family: int
    save: str
    packet: PacketSpec
    ports: Tuple[int, ...] = ()
    comment: str = ""


@dataclass(frozen=True)
class Observation:
    """What the kernel did to one packet (see the module docstring for the method)."""

    scenario: str
    backend: str
    outcome: str  # "delivered" | "dropped" | "rejected"
    receiver: Optional[str]  # "client" | "router" | "server" when delivered
    seen_src: Optional[str]
    seen_sport: Optional[int]  # None for ICMP
    seen_dst: Optional[str]
    seen_dport: Optional[int]  # None for ICMP
    reject: Optional[Tuple[str, Optional[int], Optional[int]]]
    reject_from: Optional[str]  # the ICMP error's source as the sender saw it
    counters: Tuple[Counter, ...]  # (table, chain, rule as saved without [p:b] | None)
    packets: Tuple[int, ...]  # packets counted, one per counters entry
    detail: str = field(default="", compare=False)  # how it was read, for humans


# --- namespaces -------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def in_netns(name: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a new thread that has entered namespace ``name``; the calling
    thread never changes namespace. For opening sockets: they stay in that namespace."""
    values: List[T] = []
    errors: List[BaseException] = []

    def run() -> None:
        try:
            fd = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, _CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({name}): {os.strerror(err)}")
            finally:
                os.close(fd)
            values.append(fn())
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"netns-{name}")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return values[0]


def _check(res: subprocess.CompletedProcess[bytes], what: str) -> None:
    if res.returncode != 0:
        err = res.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"{what} failed ({res.returncode}): {err}")


MACS = {
    ("router", "eth0"): "02:00:00:00:01:01",
    ("client", "eth0"): "02:00:00:00:01:02",
    ("router", "eth1"): "02:00:00:00:02:01",
    ("server", "eth0"): "02:00:00:00:02:02",
}

_HOST_SYSCTLS = [
    "net.ipv4.icmp_ratelimit=0",
    "net.ipv6.icmp.ratelimit=0",
    "net.ipv6.conf.all.accept_dad=0",
    "net.ipv6.conf.default.accept_dad=0",
    "net.ipv6.conf.all.addr_gen_mode=1",
    "net.ipv6.conf.default.addr_gen_mode=1",
    "net.ipv6.conf.all.router_solicitations=0",
    "net.ipv6.conf.default.router_solicitations=0",
    "net.ipv6.conf.all.accept_ra=0",
    "net.ipv6.conf.default.accept_ra=0",
    "net.ipv6.conf.all.mldv1_unsolicited_report_interval=0",
    "net.ipv6.conf.default.mldv1_unsolicited_report_interval=0",
    "net.ipv6.conf.all.mldv2_unsolicited_report_interval=0",
    "net.ipv6.conf.default.mldv2_unsolicited_report_interval=0",
]

_ROUTER_SYSCTLS = [
    "net.ipv4.ip_forward=1",
    "net.ipv6.conf.all.forwarding=1",
    "net.ipv4.conf.all.rp_filter=0",
    "net.ipv4.conf.default.rp_filter=0",
    "net.ipv4.conf.eth0.rp_filter=0",
    "net.ipv4.conf.eth1.rp_filter=0",
    "net.ipv4.conf.all.route_localnet=1",
    "net.ipv4.conf.eth0.route_localnet=1",
    "net.ipv4.conf.eth1.route_localnet=1",
    "net.ipv4.conf.all.send_redirects=0",
    "net.ipv4.conf.default.send_redirects=0",
    "net.ipv4.conf.eth0.send_redirects=0",
    "net.ipv4.conf.eth1.send_redirects=0",
]


def _empty_tables(family: int, skip: Sequence[str] = ()) -> str:
    out: List[str] = []
    for table in TABLES:
        if table in skip:
            continue
        out.append(f"*{table}")
        out.extend(f":{chain} ACCEPT [0:0]" for chain in BUILTIN_CHAINS[table])
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def tables_of(save: str) -> List[str]:
    return [line[1:].strip() for line in save.splitlines() if line.startswith("*")]


# --- counters ---------------------------------------------------------------------------


def parse_counters(save_c: str) -> List[Tuple[Counter, int]]:
    """``iptables-save -c`` text -> [((table, chain, rule | None for a policy), packets)],
    in the order printed (policies first, as the ``:`` lines come first)."""
    out: List[Tuple[Counter, int]] = []
    table = ""
    for raw in save_c.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            parts = line[1:].split()
            if len(parts) >= 3 and parts[1] != "-":
                packets = int(parts[2].strip("[]").split(":")[0])
                out.append(((table, parts[0], None), packets))
        elif line.startswith("["):
            prefix, _, rule = line.partition(" ")
            packets = int(prefix.strip("[]").split(":")[0])
            chain = rule.split()[1]
            out.append(((table, chain, rule), packets))
    return out


def counter_order(save: str) -> Callable[[Counter], Tuple[int, int, int]]:
    """Sort key for counters: table (raw, mangle, nat, filter), then chain in the order
    the scenario declares them, then rule position, with a policy after its chain's
    rules (where a packet meets it)."""
    chains: Dict[Tuple[str, str], int] = {}
    rules: Dict[Tuple[str, str, str], int] = {}
    table = ""
    for raw in save.splitlines():
        line = raw.strip()
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            chains.setdefault((table, line[1:].split()[0]), len(chains))
        elif line.startswith("-A "):
            rules.setdefault((table, line.split()[1], line), len(rules))

    def key(counter: Counter) -> Tuple[int, int, int]:
        table, chain, rule = counter
        rank = TABLES.index(table) if table in TABLES else len(TABLES)
        position = 1 << 30 if rule is None else rules.get((table, chain, rule), 1 << 29)
        return rank, chains.get((table, chain), 1 << 30), position

    return key


# --- packets ----------------------------------------------------------------------------


def _norm(addr: str) -> str:
    return str(ipaddress.ip_address(addr.split("%")[0]))


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass
class _IcmpSeen:
    """A parsed ICMP message as a raw socket received it."""

    src: str
    dst: Optional[str]
    type: int
    code: int
    body: bytes  # after the 4-byte ICMP header


def _read_icmp(sock: socket.socket, family: int) -> Optional[_IcmpSeen]:
    try:
        data, anc, _flags, addr = sock.recvmsg(65535, 256, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return None
    if family == 4:
        ihl = (data[0] & 0x0F) * 4
        src = socket.inet_ntop(socket.AF_INET, data[12:16])
        dst: Optional[str] = socket.inet_ntop(socket.AF_INET, data[16:20])
        icmp = data[ihl:]
    else:
        src = _norm(addr[0])
        dst = None
        for level, kind, value in anc:
            if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                dst = _norm(socket.inet_ntop(socket.AF_INET6, value[:16]))
        icmp = data
    if len(icmp) < 4:
        return None
    return _IcmpSeen(src, dst, icmp[0], icmp[1], icmp[4:])


def _icmp_socket(family: int) -> socket.socket:
    if family == 4:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    else:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    sock.setblocking(False)
    return sock


def _is_error(family: int, icmp_type: int) -> bool:
    return icmp_type in ((3, 4, 5, 11, 12) if family == 4 else (1, 2, 3, 4))


def _error_matches(family: int, seen: _IcmpSeen, packet: PacketSpec, ident: int) -> bool:
    """Does this ICMP error quote our packet? (Protocol and source port, or echo id;
    the quoted header is the one the sender sent, NAT undone by the router.)"""
    if not _is_error(family, seen.type):
        return False
    body = seen.body[4:]  # unused/pointer/MTU word
    if family == 4:
        if len(body) < 20:
            return False
        ihl = (body[0] & 0x0F) * 4
        proto, inner = body[9], body[ihl:]
    else:
        if len(body) < 40:
            return False
        proto, inner = body[6], body[40:]  # no extension headers in what we send
    want = {"tcp": 6, "udp": 17, "icmp": 1 if family == 4 else 58}[packet.proto]
    if proto != want or len(inner) < 8:
        return False
    if packet.proto == "icmp":
        return bool(struct.unpack("!H", inner[4:6])[0] == ident)
    return packet.sport is None or struct.unpack("!H", inner[0:2])[0] == packet.sport


@dataclass
class _Verdict:
    """What one send came to, before the counters are read."""

    outcome: str
    receiver: Optional[str] = None
    seen: Tuple[Optional[str], Optional[int], Optional[str], Optional[int]] = (None,) * 4
    reject: Optional[Tuple[str, Optional[int], Optional[int]]] = None
    reject_from: Optional[str] = None
    detail: str = ""


# --- the lab ----------------------------------------------------------------------------


class Lab:
    """Three namespaces wired as the module docstring draws them, for one backend.

    ``observe(scenario)`` may be called any number of times; each call replaces the
    router's tables and flushes its conntrack table first. ``close()`` deletes the
    namespaces (use it as a context manager)."""

    def __init__(self, backend: str) -> None:
        require(backend)
        self.backend = backend
        self.ns: Dict[str, Namespace] = {}
        try:
            for role in ROLES:
                self.ns[role] = Namespace()
            self._wire()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for ns in self.ns.values():
            ns.close()
        self.ns = {}

    def name(self, role: str) -> str:
        return self.ns[role].name

    # topology

    def _ip_batch(self, role: str, commands: Sequence[str]) -> None:
        res = self.ns[role].exec("ip", "-batch", "-", input="\n".join(commands).encode() + b"\n")
        _check(res, f"ip -batch in {role}")

    def _sysctl(self, role: str, settings: Sequence[str]) -> None:
        _check(self.ns[role].exec("sysctl", "-q", "-w", *settings), f"sysctl in {role}")

    def _wire(self) -> None:
        client, server = self.name("client"), self.name("server")
        for role in ROLES:
            self._sysctl(role, _HOST_SYSCTLS)
        # Both veth pairs are made inside the router's namespace, their peers moved
        # straight into the client's and the server's: nothing touches the host's.
        self._ip_batch(
            "router",
            [
                f"link add eth0 address {MACS['router', 'eth0']} type veth"
                f" peer name eth0 address {MACS['client', 'eth0']} netns {client}",
                f"link add eth1 address {MACS['router', 'eth1']} type veth"
                f" peer name eth0 address {MACS['server', 'eth0']} netns {server}",
            ],
        )
        self._sysctl("router", _ROUTER_SYSCTLS)
        self._ip_batch(
            "router",
            [
                f"addr add {ROUTER4_CLIENT_SIDE}/24 dev eth0",
                f"addr add {ROUTER6_CLIENT_SIDE}/64 dev eth0 nodad",
                f"addr add {ROUTER4_SERVER_SIDE}/24 dev eth1",
                f"addr add {ROUTER6_SERVER_SIDE}/64 dev eth1 nodad",
                f"addr add {ROUTER4_LO}/32 dev lo",
                f"addr add {ROUTER6_LO}/128 dev lo nodad",
                f"neigh add {CLIENT4} lladdr {MACS['client', 'eth0']} dev eth0 nud permanent",
                f"neigh add {CLIENT6} lladdr {MACS['client', 'eth0']} dev eth0 nud permanent",
                f"neigh add {SERVER4} lladdr {MACS['server', 'eth0']} dev eth1 nud permanent",
                f"neigh add {SERVER6} lladdr {MACS['server', 'eth0']} dev eth1 nud permanent",
                "link set eth0 up",
                "link set eth1 up",
            ],
        )
        hosts = (
            ("client", CLIENT4, CLIENT6, ROUTER4_CLIENT_SIDE, ROUTER6_CLIENT_SIDE, "eth0"),
            ("server", SERVER4, SERVER6, ROUTER4_SERVER_SIDE, ROUTER6_SERVER_SIDE, "eth1"),
        )
        for role, mine4, mine6, gw4, gw6, router_side in hosts:
            gw_mac = MACS["router", router_side]
            self._ip_batch(
                role,
                [
                    f"addr add {mine4}/24 dev eth0",
                    f"addr add {mine6}/64 dev eth0 nodad",
                    f"neigh add {gw4} lladdr {gw_mac} dev eth0 nud permanent",
                    f"neigh add {gw6} lladdr {gw_mac} dev eth0 nud permanent",
                    "link set eth0 up",
                    f"route add default via {gw4} dev eth0",
                    f"route add default via {gw6} dev eth0",
                ],
            )
        self._settle()

    def _mld_reports(self) -> Tuple[int, ...]:
        def read() -> int:
            with open("/proc/thread-self/net/snmp6") as f:
                for line in f:
                    if line.startswith("Icmp6OutMLDv2Reports"):
                        return int(line.split()[1])
            return 0

        return tuple(in_netns(self.name(role), read) for role in ROLES)

    def _settle(self) -> None:
        """Wait out the MLD reports each namespace sends when its interfaces come up
        (they cross the router's ip6tables PREROUTING and OUTPUT chains): until no
        namespace has sent one for QUIET seconds."""
        deadline = time.monotonic() + 5
        last, since = self._mld_reports(), time.monotonic()
        while time.monotonic() - since < QUIET:
            if time.monotonic() > deadline:
                raise RuntimeError(f"MLD reports still going after 5 s: {last}")
            time.sleep(0.05)
            now = self._mld_reports()
            if now != last:
                last, since = now, time.monotonic()

    # rules

    def _prog(self, family: int, suffix: str) -> str:
        return f"{'ip6' if family == 6 else 'ip'}tables-{self.backend}-{suffix}"

    def restore(self, family: int, text: str) -> None:
        argv = [self._prog(family, "restore")]
        if self.backend == "legacy":
            argv += ["-w", "5"]  # /run/xtables.lock is shared with the host's users
        res = self.ns["router"].exec(*argv, input=text.encode())
        _check(res, f"{argv[0]} of\n{text}")

    def save(self, family: int, counters: bool = False) -> str:
        argv = [self._prog(family, "save")] + (["-c"] if counters else [])
        res = self.ns["router"].exec(*argv)
        _check(res, argv[0])
        return res.stdout.decode()

    def load(self, scenario: Scenario) -> None:
        """Replace both families' tables: the scenario's text (tables it does not name
        loaded empty) in its family, empty tables in the other."""
        other = 4 if scenario.family == 6 else 6
        self.restore(other, _empty_tables(other))
        own = _empty_tables(scenario.family, skip=tables_of(scenario.save))
        self.restore(scenario.family, own + scenario.save.strip() + "\n")

    def flush_conntrack(self) -> None:
        """Empty the router's conntrack table (all families) through ctnetlink."""

        def flush() -> None:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
            try:
                sock.bind((0, 0))
                # nlmsghdr: IPCTNL_MSG_CT_DELETE of NFNL_SUBSYS_CTNETLINK, REQUEST|ACK;
                # nfgenmsg version 0, so the family is ignored and every entry goes
                msg = struct.pack("=IHHII", 20, (1 << 8) | 2, 0x1 | 0x4, 1, 0)
                msg += struct.pack("=BBH", socket.AF_INET, 0, 0)
                sock.send(msg)
                sock.settimeout(2)
                reply = sock.recv(4096)
                kind = struct.unpack("=H", reply[4:6])[0]
                if kind == 2:  # NLMSG_ERROR: an ack carries error 0
                    code = struct.unpack("=i", reply[16:20])[0]
                    if code not in (0, -errno.ENOENT):
                        raise OSError(-code, f"conntrack flush: {os.strerror(-code)}")
            finally:
                sock.close()

        in_netns(self.name("router"), flush)

    def conntrack(self) -> str:
        """The router's conntrack table as /proc/net/nf_conntrack shows it."""
        res = self.ns["router"].exec("cat", "/proc/net/nf_conntrack")
        return res.stdout.decode()

    # one observation

    def observe(self, scenario: Scenario) -> Observation:
        packet = scenario.packet
        if packet.proto not in PROTOS or packet.origin not in ORIGINS:
            raise ValueError(f"{scenario.name}: bad packet {packet}")
        self.load(scenario)
        self.flush_conntrack()
        sockets: List[socket.socket] = []
        try:
            listeners = self._listen(scenario, sockets)
            errors = in_netns(self.name(packet.origin), lambda: _icmp_socket(scenario.family))
            sockets.append(errors)
            requests: Dict[str, socket.socket] = {}
            if packet.proto == "icmp":
                for role in ROLES:
                    requests[role] = in_netns(
                        self.name(role), lambda: _icmp_socket(scenario.family)
                    )
                    sockets.append(requests[role])
            before = self._counters(scenario)
            if packet.proto == "tcp":
                verdict = self._tcp(scenario, listeners, errors, sockets)
            elif packet.proto == "udp":
                verdict = self._udp(scenario, listeners, errors, sockets)
            else:
                verdict = self._icmp(scenario, requests, errors, sockets)
            after = self._counters(scenario)
        finally:
            for sock in sockets:
                if sock.type == socket.SOCK_STREAM:
                    # close with a reset: no FIN exchange, no TIME_WAIT
                    with contextlib.suppress(OSError):
                        linger = struct.pack("ii", 1, 0)
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                sock.close()
        key = counter_order(scenario.save)
        moved = sorted(
            ((c, n - before.get(c, 0)) for c, n in after.items() if n != before.get(c, 0)),
            key=lambda item: key(item[0]),
        )
        return Observation(
            scenario=scenario.name,
            backend=self.backend,
            counters=tuple(c for c, _ in moved),
            packets=tuple(n for _, n in moved),
            outcome=verdict.outcome,
            receiver=verdict.receiver,
            seen_src=verdict.seen[0],
            seen_sport=verdict.seen[1],
            seen_dst=verdict.seen[2],
            seen_dport=verdict.seen[3],
            reject=verdict.reject,
            reject_from=verdict.reject_from,
            detail=verdict.detail,
        )

    def _counters(self, scenario: Scenario) -> Dict[Counter, int]:
        wanted = set(tables_of(scenario.save))
        out: Dict[Counter, int] = {}
        for counter, packets in parse_counters(self.save(scenario.family, counters=True)):
            if counter[0] in wanted:
                if counter in out:
                    raise ValueError(f"{scenario.name}: the rule {counter} appears twice")
                out[counter] = packets
        return out

    def _listen(self, scenario: Scenario, keep: List[socket.socket]) -> Dict[socket.socket, str]:
        """Listening sockets for every port, in every namespace -> their namespace."""
        proto = scenario.packet.proto
        if proto == "icmp":
            return {}
        af = socket.AF_INET6 if scenario.family == 6 else socket.AF_INET

        def make(port: int) -> socket.socket:
            kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
            sock = socket.socket(af, kind)
            keep.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if af == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if proto == "udp":
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            elif proto == "udp":
                sock.setsockopt(socket.IPPROTO_IP, 8, 1)  # IP_PKTINFO
            sock.bind(("::" if af == socket.AF_INET6 else "0.0.0.0", port))
            if proto == "tcp":
                sock.listen(8)
            sock.setblocking(False)
            return sock

        listeners: Dict[socket.socket, str] = {}
        for role in ROLES:
            for port in scenario.ports:
                listeners[in_netns(self.name(role), functools.partial(make, port))] = role
        return listeners

    def _sender(self, scenario: Scenario, kind: int, proto: int = 0) -> socket.socket:
        packet = scenario.packet
        af = socket.AF_INET6 if scenario.family == 6 else socket.AF_INET

        def make() -> socket.socket:
            sock = socket.socket(af, kind, proto)
            try:
                if kind != socket.SOCK_RAW:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if packet.src is not None or (packet.sport and kind != socket.SOCK_RAW):
                    port = packet.sport if kind != socket.SOCK_RAW and packet.sport else 0
                    wildcard = "::" if af == socket.AF_INET6 else "0.0.0.0"
                    sock.bind((packet.src or wildcard, port))
                sock.setblocking(False)
            except BaseException:
                sock.close()
                raise
            return sock

        return in_netns(self.name(packet.origin), make)

    def _wait_error(
        self, scenario: Scenario, errors: socket.socket, ident: int, timeout: float
    ) -> Optional[_IcmpSeen]:
        deadline = time.monotonic() + timeout
        while True:
            while True:
                seen = _read_icmp(errors, scenario.family)
                if seen is None:
                    break
                if _error_matches(scenario.family, seen, scenario.packet, ident):
                    return seen
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            select.select([errors], [], [], left)

    @staticmethod
    def _rejected_by(seen: _IcmpSeen, detail: str) -> _Verdict:
        reject = ("icmp", seen.type, seen.code)
        return _Verdict("rejected", reject=reject, reject_from=seen.src, detail=detail)

    def _tcp(
        self,
        scenario: Scenario,
        listeners: Dict[socket.socket, str],
        errors: socket.socket,
        keep: List[socket.socket],
    ) -> _Verdict:
        packet = scenario.packet
        assert packet.dport is not None, f"{scenario.name}: TCP needs a dport"
        sock = self._sender(scenario, socket.SOCK_STREAM)
        keep.append(sock)
        code = sock.connect_ex((packet.dst, packet.dport))
        seen: Optional[_IcmpSeen] = None
        if code == errno.EINPROGRESS:
            # Wait for the connect, and watch for an ICMP error meanwhile: over IPv6 the
            # first error does not abort connect() (see the module docstring), so once
            # one is seen the connect gets only ERROR_GRACE more.
            code = -1
            deadline = time.monotonic() + TCP_CONNECT_TIMEOUT
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                _, writable, _ = select.select([errors], [sock], [], left)
                if writable:
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    break
                if seen is None:
                    seen = self._wait_error(scenario, errors, 0, 0)
                    if seen is not None:
                        deadline = min(deadline, time.monotonic() + ERROR_GRACE)
        if code == 0:
            deadline = time.monotonic() + ACCEPT_WAIT
            while time.monotonic() < deadline:
                ready, _, _ = select.select(list(listeners), [], [], deadline - time.monotonic())
                for listener in ready:
                    try:
                        conn, peer = listener.accept()
                    except BlockingIOError:
                        continue
                    keep.append(conn)
                    local = conn.getsockname()
                    return _Verdict(
                        "delivered",
                        listeners[listener],
                        (_norm(peer[0]), peer[1], _norm(local[0]), local[1]),
                        detail="connect() succeeded, accept() returned",
                    )
            raise RuntimeError(f"{scenario.name}: connected, but none of our listeners accepted")
        name = "no answer" if code == -1 else errno.errorcode.get(code, str(code))
        if seen is None:
            seen = self._wait_error(scenario, errors, 0, ERROR_GRACE if code != -1 else 0)
        if seen is not None:
            return self._rejected_by(seen, f"connect(): {name}, ICMP error seen")
        if code == errno.ECONNREFUSED:
            return _Verdict(
                "rejected",
                reject=("tcp-reset", None, None),
                detail="connect(): ECONNREFUSED, no ICMP",
            )
        return _Verdict("dropped", detail=f"connect(): {name}, no ICMP error")

    def _udp(
        self,
        scenario: Scenario,
        listeners: Dict[socket.socket, str],
        errors: socket.socket,
        keep: List[socket.socket],
    ) -> _Verdict:
        packet = scenario.packet
        assert packet.dport is not None, f"{scenario.name}: UDP needs a dport"
        sock = self._sender(scenario, socket.SOCK_DGRAM)
        keep.append(sock)
        payload = f"iptw {scenario.name}".encode()
        try:
            sock.sendto(payload, (packet.dst, packet.dport))
        except OSError as exc:
            if exc.errno != errno.EPERM:
                raise
            return _Verdict("dropped", detail="sendto(): EPERM (dropped on the way out)")
        deadline = time.monotonic() + WAIT
        while True:
            for listener, role in listeners.items():
                try:
                    data, anc, _flags, peer = listener.recvmsg(65535, 256)
                except BlockingIOError:
                    continue
                if data != payload:
                    continue
                dst = None
                for level, kind, value in anc:
                    if level == socket.IPPROTO_IP and kind == 8:  # struct in_pktinfo
                        dst = socket.inet_ntop(socket.AF_INET, value[8:12])
                    elif level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                        dst = _norm(socket.inet_ntop(socket.AF_INET6, value[:16]))
                local = listener.getsockname()
                return _Verdict(
                    "delivered",
                    role,
                    (_norm(peer[0]), peer[1], dst, local[1]),
                    detail="recvmsg() got the datagram",
                )
            seen = self._wait_error(scenario, errors, 0, 0)
            if seen is not None:
                return self._rejected_by(seen, "ICMP error seen")
            left = deadline - time.monotonic()
            if left <= 0:
                return _Verdict("dropped", detail=f"nothing in {WAIT} s")
            select.select([*listeners, errors], [], [], left)

    def _icmp(
        self,
        scenario: Scenario,
        requests: Dict[str, socket.socket],
        errors: socket.socket,
        keep: List[socket.socket],
    ) -> _Verdict:
        packet = scenario.packet
        family = scenario.family
        echo_request, echo_reply = (8, 0) if family == 4 else (128, 129)
        if packet.icmp_type not in (None, echo_request):
            raise ValueError(f"{scenario.name}: only echo requests are sent")
        ident = packet.sport if packet.sport is not None else 0x4950
        payload = f"iptw {scenario.name}".encode()
        header = struct.pack("!BBHHH", echo_request, 0, 0, ident, 1)
        if family == 4:  # the kernel fills in the ICMPv6 checksum itself
            header = struct.pack("!BBHHH", echo_request, 0, _checksum(header + payload), ident, 1)
        proto = socket.IPPROTO_ICMP if family == 4 else socket.IPPROTO_ICMPV6
        sock = self._sender(scenario, socket.SOCK_RAW, proto)
        keep.append(sock)
        try:
            sock.sendto(header + payload, (packet.dst, 0))
        except OSError as exc:
            if exc.errno != errno.EPERM:
                raise
            return _Verdict("dropped", detail="sendto(): EPERM (dropped on the way out)")
        receiver: Optional[Tuple[str, _IcmpSeen]] = None
        deadline = time.monotonic() + WAIT
        replied = False
        while True:
            for role, raw in requests.items():
                while True:
                    seen = _read_icmp(raw, family)
                    if seen is None:
                        break
                    if seen.type == echo_request and seen.body[4:] == payload and receiver is None:
                        receiver = (role, seen)
                    if (
                        raw is requests[packet.origin]
                        and seen.type == echo_reply
                        and seen.body[4:] == payload
                    ):
                        replied = True
                    if raw is requests[packet.origin] and _error_matches(
                        family, seen, packet, ident
                    ):
                        return self._rejected_by(seen, "ICMP error seen")
            if replied and receiver is not None:
                role, seen = receiver
                return _Verdict(
                    "delivered",
                    role,
                    (seen.src, None, seen.dst, None),
                    detail="echo reply came back; raw socket saw the request",
                )
            left = deadline - time.monotonic()
            if left <= 0:
                what = f"request seen by {receiver[0]}" if receiver else "request seen by nobody"
                return _Verdict("dropped", detail=f"no echo reply in {WAIT} s ({what})")
            select.select(list(requests.values()), [], [], left)


def observe(scenario: Scenario, backend: str) -> Observation:
    """One observation in a lab of its own (fresh namespaces, deleted after)."""
    with Lab(backend) as lab:
        return lab.observe(scenario)


def labs(backend: str) -> Iterator[Lab]:
    """A pytest-fixture body: one lab, always closed."""
    lab = Lab(backend)
    try:
        yield lab
    finally:
        lab.close()
