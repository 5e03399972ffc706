"""One writer process of the concurrency test: N threads ensuring/deleting overlapping rules.

Phase 1 (chaos, for --seconds): each thread picks random operations on a shared set of
rules and chains. Phase 2: each thread ensures its final rules once. Prints one JSON
line: counts per operation, exceptions by class (typed = IPTablesError subclasses).
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections import Counter
from typing import List, Optional

import iptwrap
from iptwrap import IPTables, Protocol, RulePosition

RULES = [["-s", f"203.0.113.{n}", "-j", "ACCEPT"] for n in range(12)]
CHAINS = [f"REL-C{n}" for n in range(4)]


def final_rules(proc: int, thread: int) -> List[List[str]]:
    """What this thread ensures last: overlaps with the other threads and processes."""
    return [["-s", f"198.51.100.{(proc * 4 + thread + k) % 10}", "-j", "ACCEPT"] for k in range(3)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--netns", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--proc", type=int, required=True)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument(
        "--lock",
        choices=["default", "off"],
        default="default",
        help="default: construct the client as a newcomer would; off: ensure_lock_file=False",
    )
    ap.add_argument("--start-at", type=float, required=True)
    args = ap.parse_args()

    if args.lock == "default":
        ipt = IPTables(Protocol.IPV4, mode=args.backend, netns=args.netns, lock_timeout=10)
    else:
        ipt = IPTables(
            Protocol.IPV4,
            mode=args.backend,
            netns=args.netns,
            lock_timeout=10,
            ensure_lock_file=False,
        )
    ops: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    untyped: List[str] = []
    lock = threading.Lock()

    def record(name: str, exc: Optional[BaseException] = None) -> None:
        with lock:
            ops[name] += 1
            if exc is not None:
                if isinstance(exc, iptwrap.IPTablesError):
                    errors[type(exc).__name__] += 1
                else:
                    untyped.append(f"{type(exc).__name__}: {exc}")

    def thread(tid: int) -> None:
        rng = random.Random(args.proc * 100 + tid)
        while time.time() < args.start_at:
            time.sleep(0.001)
        stop = args.start_at + args.seconds
        while time.time() < stop:
            op = rng.choice(
                ["ensure", "ensure", "delete", "ensure_chain", "delete_chain", "jump", "unjump"]
            )
            try:
                if op == "ensure":
                    ipt.ensure_rule(RulePosition.APPEND, "filter", "REL-SHARED", *rng.choice(RULES))
                elif op == "delete":
                    ipt.delete_rule("filter", "REL-SHARED", *rng.choice(RULES))
                elif op == "ensure_chain":
                    ipt.ensure_chain("filter", rng.choice(CHAINS))
                elif op == "delete_chain":
                    ipt.delete_chain("filter", rng.choice(CHAINS))
                elif op == "jump":
                    ipt.ensure_rule(
                        RulePosition.APPEND,
                        "filter",
                        "REL-SHARED",
                        "-p",
                        "udp",
                        "-j",
                        rng.choice(CHAINS),
                    )
                else:
                    ipt.delete_rule("filter", "REL-SHARED", "-p", "udp", "-j", rng.choice(CHAINS))
                record(op)
            except Exception as exc:  # noqa: BLE001 - counted, typed or not
                record(op, exc)
        for spec in final_rules(args.proc, tid):
            try:
                ipt.ensure_rule(RulePosition.APPEND, "filter", "REL-FINAL", *spec)
                record("final")
            except Exception as exc:  # noqa: BLE001
                record("final", exc)

    threads = [threading.Thread(target=thread, args=(t,)) for t in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"ops": dict(ops), "errors": dict(errors), "untyped": untyped}))


if __name__ == "__main__":
    main()
