"""The spellings of the matches pinned by ``tests/data/spec_real/more_matches.jsonl``,
and how one is measured on the real binaries.

``python -m tests.integration.more_matches`` (as root) runs every spelling with
``iptables-nft`` and ``iptables-legacy`` (and the ip6tables ones) in a fresh network
namespace and rewrites the data file; ``test_more_matches_real.py`` runs them again
and compares, so the file cannot go stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

from .netns import BACKENDS, Namespace

DATA = Path(__file__).resolve().parents[1] / "data" / "spec_real" / "more_matches.jsonl"

# (family, table, chain, args)
Case = Tuple[int, str, str, List[str]]


def _both(table: str, chain: str, *args: str) -> List[Case]:
    return [(4, table, chain, list(args)), (6, table, chain, list(args))]


def _v4(table: str, chain: str, *args: str) -> List[Case]:
    return [(4, table, chain, list(args))]


def _v6(table: str, chain: str, *args: str) -> List[Case]:
    return [(6, table, chain, list(args))]


F = "filter"
CASES: List[Case] = [
    # ---- ecn
    *_both(F, "INPUT", "-p", "tcp", "-m", "ecn", "--ecn-tcp-cwr", "-j", "ACCEPT"),
    *_both(F, "INPUT", "-p", "tcp", "-m", "ecn", "!", "--ecn-tcp-ece"),
    *_both(F, "INPUT", "-m", "ecn", "--ecn-ip-ect", "1"),
    *_both(F, "INPUT", "-m", "ecn", "!", "--ecn-ip-ect", "0x3"),
    *_both(F, "INPUT", "-p", "tcp", "-m", "ecn", "--ecn-ip", "2", "--ecn-tcp-c", "--ecn-tcp-e"),
    *_both(F, "INPUT", "-p", "tcp", "-m", "ecn", "!", "--ecn-tcp-cwr", "!", "--ecn-ip-ect", "0"),
    *_both(F, "INPUT", "-m", "ecn", "--ecn-ip-ect", "4"),
    *_both(F, "INPUT", "-m", "ecn", "--ecn-ip-ect", "x"),
    *_both(F, "INPUT", "-m", "ecn", "--ecn-ip-ect", "-1"),
    *_both(F, "INPUT", "-m", "ecn"),
    *_both(F, "INPUT", "-m", "ecn", "--ecn-tcp", "-j", "ACCEPT"),
    *_both(F, "INPUT", "-p", "tcp", "-m", "ecn", "--ecn-tcp-cwr", "--ecn-tcp-cwr"),
    *_both(F, "INPUT", "-m", "ecn", "--ecn-tcp-cwr"),
    *_both(F, "INPUT", "-p", "udp", "-m", "ecn", "--ecn-tcp-ece"),
    *_both(F, "INPUT", "!", "-p", "tcp", "-m", "ecn", "--ecn-tcp-ece"),
    *_both(F, "INPUT", "-p", "udp", "-m", "ecn", "--ecn-ip-ect", "2"),
    *_both("mangle", "POSTROUTING", "-m", "ecn", "--ecn-ip-ect", "3"),
    # ---- devgroup
    *_both(F, "INPUT", "-m", "devgroup", "--src-group", "1"),
    *_both(F, "OUTPUT", "-m", "devgroup", "!", "--dst-group", "0x10/0xff"),
    *_both(F, "FORWARD", "-m", "devgroup", "--src-group", "0", "--dst-group", "default"),
    *_both(F, "FORWARD", "-m", "devgroup", "--src", "7/7", "!", "--dst", "0xffffffff"),
    *_both(F, "INPUT", "-m", "devgroup", "--src-group", "foo"),
    *_both(F, "INPUT", "-m", "devgroup", "--src-group", "1/"),
    *_both(F, "INPUT", "-m", "devgroup", "--src-group", "1/x"),
    *_both(F, "INPUT", "-m", "devgroup", "--src-group", "4294967296"),
    *_both(F, "INPUT", "-m", "devgroup", "--src-group", ""),
    *_both(F, "INPUT", "-m", "devgroup"),
    *_both(F, "INPUT", "-m", "devgroup", "--src-group", "1", "--src-group", "2"),
    *_both(F, "OUTPUT", "-m", "devgroup", "--src-group", "1"),
    *_both(F, "INPUT", "-m", "devgroup", "--dst-group", "1"),
    *_both("mangle", "PREROUTING", "-m", "devgroup", "--src-group", "1"),
    *_both("mangle", "POSTROUTING", "-m", "devgroup", "--dst-group", "1"),
    # ---- cpu
    *_both(F, "INPUT", "-m", "cpu", "--cpu", "0"),
    *_both(F, "INPUT", "-m", "cpu", "!", "--cpu", "0x1f"),
    *_both(F, "INPUT", "-m", "cpu", "--cp", "4294967295"),
    *_both(F, "INPUT", "-m", "cpu", "--cpu", "4294967296"),
    *_both(F, "INPUT", "-m", "cpu", "--cpu", "x"),
    *_both(F, "INPUT", "-m", "cpu", "--cpu", "-1"),
    *_both(F, "INPUT", "-m", "cpu"),
    *_both(F, "INPUT", "-m", "cpu", "--cpu", "1", "--cpu", "2"),
    # ---- realm (IPv4)
    *_v4(F, "INPUT", "-m", "realm", "--realm", "1"),
    *_v4(F, "OUTPUT", "-m", "realm", "!", "--realm", "0x10/0xf0"),
    *_v4(F, "FORWARD", "-m", "realm", "--realm", "cosmos"),
    *_v4(F, "FORWARD", "-m", "realm", "--realm", "0"),
    *_v4(F, "FORWARD", "-m", "realm", "--realm", "0/0xffffffff"),
    *_v4(F, "FORWARD", "-m", "realm", "--realm", "010"),
    *_v4(F, "INPUT", "-m", "realm", "--realm", "foo"),
    *_v4(F, "INPUT", "-m", "realm", "--realm", "1/x"),
    *_v4(F, "INPUT", "-m", "realm", "--realm", "1/"),
    *_v4(F, "INPUT", "-m", "realm", "--realm", "4294967296"),
    *_v4(F, "INPUT", "-m", "realm"),
    *_v4(F, "INPUT", "-m", "realm", "--realm", "1", "--realm", "2"),
    *_v4("mangle", "PREROUTING", "-m", "realm", "--realm", "1"),
    *_v4("mangle", "POSTROUTING", "-m", "realm", "--realm", "1"),
    *_v6(F, "INPUT", "-m", "realm", "--realm", "1"),
    # ---- ipcomp
    *_both(F, "INPUT", "-p", "ipcomp", "-m", "ipcomp", "--ipcompspi", "5"),
    *_both(F, "INPUT", "-p", "108", "-m", "ipcomp", "!", "--ipcompspi", "1:10"),
    *_both(F, "INPUT", "-p", "ipcomp", "-m", "ipcomp", "--compres"),
    *_both(F, "INPUT", "-p", "ipcomp", "-m", "ipcomp"),
    *_both(F, "INPUT", "-p", "ipcomp", "-m", "ipcomp", "--ipcompspi", "0:4294967295"),
    *_both(F, "INPUT", "-p", "ipcomp", "-m", "ipcomp", "!", "--ipcompspi", "0:4294967295"),
    *_both(F, "INPUT", "-p", "ipcomp", "-m", "ipcomp", "--ipcompspi", "7:3", "--comp"),
    *_both(F, "INPUT", "-p", "ipcomp", "-m", "ipcomp", "--ipcompspi", ":5"),
    *_both(F, "INPUT", "-p", "ipcomp", "-m", "ipcomp", "--ipcompspi", "5:"),
    *_both(F, "INPUT", "-p", "ipcomp", "-m", "ipcomp", "--ipcompspi", "x"),
    *_both(F, "INPUT", "-p", "ipcomp", "-m", "ipcomp", "--ipcompspi", "1:2:3"),
    *_both(F, "INPUT", "-p", "ipcomp", "-m", "ipcomp", "!", "--compres"),
    *_both(F, "INPUT", "-m", "ipcomp", "--ipcompspi", "5"),
    *_both(F, "INPUT", "!", "-p", "ipcomp", "-m", "ipcomp", "--ipcompspi", "5"),
    # ---- connlabel
    *_both(F, "INPUT", "-m", "connlabel", "--label", "1"),
    *_both(F, "INPUT", "-m", "connlabel", "!", "--label", "0x7f", "--set"),
    *_both(F, "INPUT", "-m", "connlabel", "--label", "128"),
    *_both(F, "INPUT", "-m", "connlabel", "--label", "foo"),
    *_both(F, "INPUT", "-m", "connlabel", "--label", ""),
    *_both(F, "INPUT", "-m", "connlabel", "--set"),
    *_both(F, "INPUT", "-m", "connlabel"),
    # ---- cluster
    *_both(
        "mangle",
        "PREROUTING",
        *("-m", "cluster", "--cluster-total-nodes", "2", "--cluster-local-node", "1"),
        *("--cluster-hash-seed", "0xdeadbeef"),
    ),
    *_both(
        F,
        "INPUT",
        *("-m", "cluster", "--cluster-total-nodes", "4", "!", "--cluster-local-nodemask", "5"),
        *("--cluster-hash-seed", "1"),
    ),
    *_both(
        F,
        "INPUT",
        *("-m", "cluster", "--cluster-total", "32", "--cluster-local-node", "32"),
        *("--cluster-h", "4294967295"),
    ),
    *_both(
        F,
        "INPUT",
        *("-m", "cluster", "--cluster-total-nodes", "2", "--cluster-local-node", "3"),
        *("--cluster-hash-seed", "1"),
    ),
    *_both(
        F,
        "INPUT",
        *("-m", "cluster", "--cluster-total-nodes", "2", "--cluster-local-nodemask", "4"),
        *("--cluster-hash-seed", "1"),
    ),
    *_both(F, "INPUT", "-m", "cluster", "--cluster-total-nodes", "2", "--cluster-local-node", "1"),
    *_both(F, "INPUT", "-m", "cluster", "--cluster-local-node", "1", "--cluster-hash-seed", "1"),
    *_both(F, "INPUT", "-m", "cluster", "--cluster-total-nodes", "2", "--cluster-hash-seed", "1"),
    *_both(
        F,
        "INPUT",
        *("-m", "cluster", "--cluster-total-nodes", "2", "--cluster-local-node", "1"),
        *("--cluster-local-nodemask", "1", "--cluster-hash-seed", "1"),
    ),
    *_both(
        F,
        "INPUT",
        *("-m", "cluster", "--cluster-total-nodes", "33", "--cluster-local-node", "1"),
        *("--cluster-hash-seed", "1"),
    ),
    *_both(
        F,
        "INPUT",
        *("-m", "cluster", "--cluster-total-nodes", "2", "--cluster-local-node", "0"),
        *("--cluster-hash-seed", "1"),
    ),
    *_both(
        F,
        "INPUT",
        *("-m", "cluster", "!", "--cluster-total-nodes", "2", "--cluster-local-node", "1"),
        *("--cluster-hash-seed", "1"),
    ),
    *_both(F, "INPUT", "-m", "cluster", "--cluster-local", "1"),
    *_both(F, "INPUT", "-m", "cluster"),
    # ---- ah (IPv6)
    *_v6(F, "INPUT", "-m", "ah", "--ahspi", "5"),
    *_v6(F, "INPUT", "-m", "ah", "!", "--ahspi", "1:2", "--ahlen", "8", "--ahres"),
    *_v6(F, "INPUT", "-m", "ah", "!", "--ahlen", "0"),
    *_v6(F, "INPUT", "-m", "ah", "--ahlen", "0"),
    *_v6(F, "INPUT", "-m", "ah"),
    *_v6(F, "INPUT", "-m", "ah", "--ahspi", "0:4294967295", "--ahl", "4294967295"),
    *_v6(F, "INPUT", "-m", "ah", "!", "--ahspi", "0:4294967295"),
    *_v6(F, "INPUT", "-m", "ah", "--ahspi", "9:3"),
    *_v6(F, "INPUT", "-m", "ah", "--ahspi", ":3"),
    *_v6(F, "INPUT", "-m", "ah", "--ahspi", "x"),
    *_v6(F, "INPUT", "-m", "ah", "--ahlen", "x"),
    *_v6(F, "INPUT", "-m", "ah", "--ahlen", "4294967296"),
    *_v6(F, "INPUT", "-m", "ah", "!", "--ahres"),
    *_v6(F, "INPUT", "-m", "ah", "--ah", "1"),
    *_v6(F, "INPUT", "-p", "udp", "-m", "ah", "--ahspi", "5"),
    *_v6(F, "INPUT", "-p", "ah", "-m", "ah", "--ahspi", "5"),
    *_v6(F, "INPUT", "-m", "ah", "--ahspi", "5", "--ahspi", "6"),
    # ---- eui64 (IPv6)
    *_v6(F, "INPUT", "-m", "eui64"),
    *_v6(F, "FORWARD", "-m", "eui64", "-j", "DROP"),
    *_v6("mangle", "PREROUTING", "-m", "eui64"),
    *_v6(F, "OUTPUT", "-m", "eui64"),
    *_v6("mangle", "POSTROUTING", "-m", "eui64"),
    *_v6(F, "INPUT", "-m", "eui64", "--eui64"),
    *_v6(F, "INPUT", "-m", "eui64", "!", "-s", "2001:db8::1"),
    *_v4(F, "INPUT", "-m", "eui64"),
]


def _prog(backend: str, family: int, tool: str = "") -> str:
    return f"{'ip6' if family == 6 else 'ip'}tables-{backend}{tool}"


def measure(ns: Namespace, backend: str, case: Case) -> Dict[str, Any]:
    """What one spelling does: (rc, stderr) of the ``-A``, and when it was accepted the
    rule's ``iptables-save`` lines and ``-L -n -v -x`` lines (then the chain is flushed)."""
    family, table, chain, args = case
    prog = _prog(backend, family)
    res = ns.exec(prog, "-t", table, "-A", chain, *args)
    out: Dict[str, Any] = {"rc": res.returncode, "stderr": res.stderr.decode()}
    if res.returncode != 0:
        return out
    save = ns.exec(_prog(backend, family, "-save"), "-t", table).stdout.decode()
    out["save_lines"] = [x for x in save.splitlines() if x.startswith(f"-A {chain} ")]
    listing = ns.exec(prog, "-t", table, "-L", chain, "-n", "-v", "-x").stdout.decode()
    out["list_L_lines"] = listing.splitlines()[2:]
    ns.exec(prog, "-t", table, "-F", chain)
    return out


def record(ns: Namespace, backend: str, case: Case) -> Dict[str, Any]:
    """``measure`` in the data file's fields."""
    got = measure(ns, backend, case)
    if got["rc"] == 0:
        return {
            "save_lines": got["save_lines"],
            "list_L_lines": got["list_L_lines"],
            "warnings": got["stderr"],
        }
    return {"rc": got["rc"], "stderr": got["stderr"]}


def main() -> None:
    rows: List[Dict[str, Any]] = []
    ns = Namespace()
    try:
        for family, table, chain, args in CASES:
            per = {b: record(ns, b, (family, table, chain, args)) for b in BACKENDS}
            head = {"family": family, "table": table, "chain": chain, "args": args}
            if per["nft"] == per["legacy"]:
                rows.append({"backends": ["legacy", "nft"], **head, **per["nft"]})
            else:
                for b in ("legacy", "nft"):
                    rows.append({"backends": [b], **head, **per[b]})
    finally:
        ns.close()
    DATA.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} records -> {DATA}", file=sys.stderr)


if __name__ == "__main__":
    main()
