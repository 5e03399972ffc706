"""iptwrap benchmarks: every figure measured side by side in one run, printed as a ratio.

    sudo .venv/bin/python benchmarks/run.py            # full run (root: real kernel)
    .venv/bin/python benchmarks/run.py --quick         # smaller N, for a smoke test

Real-kernel figures run in a network namespace made for the run and deleted after it,
for the nft and the legacy backend. Each figure is the median of --repeat runs.
Fake figures need no root.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from typing import Callable, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from iptwrap import (  # noqa: E402
    IPSet,
    IPTables,
    Jump,
    RulePosition,
    SetSpec,
    SubprocessRunner,
    Syncer,
    parse_save,
)
from iptwrap._runner import Result  # noqa: E402
from iptwrap.fake import FakeIPTables  # noqa: E402

Row = Tuple[str, str, str, str, str]
ROWS: List[Row] = []


def median_time(
    fn: Callable[[], object], repeat: int, setup: Optional[Callable[[], object]] = None
) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_medians(
    fns: Dict[str, Callable[[], object]],
    repeat: int,
    setup: Optional[Callable[[], object]] = None,
) -> Dict[str, float]:
    """Median time of each function, run in alternation (rotating the order each round).

    A shared VM drifts over seconds: measuring all of A, then all of B, folds that
    drift into the ratio. Alternating puts both under the same load.
    """
    names = list(fns)
    times: Dict[str, List[float]] = {name: [] for name in names}
    for round_ in range(repeat):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            if setup is not None:
                setup()
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def report(figure: str, backend: str, ours: str, theirs: str, ratio: str) -> None:
    ROWS.append((figure, backend, ours, theirs, ratio))
    print(f"{figure:<58} {backend:<7} {ours:>14} {theirs:>26} {ratio:>12}", flush=True)


class Netns:
    def __init__(self) -> None:
        self.name = f"iptw-bench-{uuid.uuid4().hex[:8]}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)

    def run(self, argv: List[str], data: Optional[bytes] = None) -> bytes:
        res = subprocess.run(
            ["ip", "netns", "exec", self.name, *argv],
            input=data,
            capture_output=True,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
        )
        if res.returncode != 0:
            raise RuntimeError(f"{argv}: {res.stderr.decode()}")
        return res.stdout

    def close(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], check=False)


class _Keep:
    """A batch that does nothing but keep each call's arguments: the Python floor."""

    def __init__(self) -> None:
        self.calls: List[Tuple[str, ...]] = []

    def append_rule(self, table: str, chain: str, *args: str) -> None:
        self.calls.append(args)


def rule(i: int) -> List[str]:
    return [
        "-s",
        f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
        "-p",
        "tcp",
        "--dport",
        str(1 + i % 60000),
        "-j",
        "ACCEPT",
    ]


def payload(chain: str, n: int, offset: int = 0) -> bytes:
    lines = (
        ["*filter"] + [f"-A {chain} {' '.join(rule(i + offset))}" for i in range(n)] + ["COMMIT"]
    )
    return ("\n".join(lines) + "\n").encode()


def bench_real(backend: str, repeat: int, sizes: List[int], loop_n: int) -> None:
    ns = Netns()
    try:
        ipt = IPTables(mode=backend, netns=ns.name)
        ipt.ensure_chain("filter", "BENCH")
        restore = [f"iptables-{backend}-restore", "--noflush"]
        save = [f"iptables-{backend}-save", "-t", "filter"]

        def reset() -> None:
            ipt.flush_chain("filter", "BENCH")

        # create N rules
        for n in sizes:
            data = payload("BENCH", n)
            rules = [rule(i) for i in range(n)]

            def via_batch(rules: List[List[str]] = rules) -> None:
                with ipt.batch() as b:
                    b.append_rules("filter", "BENCH", rules)

            def via_calls(rules: List[List[str]] = rules) -> None:
                with ipt.batch() as b:
                    for r in rules:
                        b.append_rule("filter", "BENCH", *r)

            def bare_floor(rules: List[List[str]] = rules, d: bytes = data) -> None:
                # the least the idiom can cost in CPython: the save, the raw restore,
                # and a loop of method calls that only keep their arguments
                keep = _Keep()
                ns.run(save)
                for r in rules:
                    keep.append_rule("filter", "BENCH", *r)
                ns.run(restore, d)

            def via_idiom(rules: List[List[str]] = rules) -> None:
                with ipt.batch() as b:
                    b.ensure_chain("filter", "BENCH")
                    for r in rules:
                        b.append_rule("filter", "BENCH", *r)

            got = paired_medians(
                {
                    "raw": lambda d=data: ns.run(restore, d),  # type: ignore[misc]
                    "bulk": via_batch,
                    "calls": via_calls,
                    "idiom": via_idiom,
                    # the least ensure_chain can cost: one read of the table first
                    "floor": lambda d=data: (ns.run(save), ns.run(restore, d)),  # type: ignore[misc]
                    "bare": bare_floor,
                },
                2 * repeat + 1,
                reset,
            )
            raw, ours, calls, idiom = got["raw"], got["bulk"], got["calls"], got["idiom"]
            floor, bare = got["floor"], got["bare"]
            report(
                f"create {n} rules: batch vs raw restore --noflush",
                backend,
                f"{ours:.3f}s",
                f"{raw:.3f}s",
                f"{ours / raw:.2f}x",
            )
            report(
                "  (the same, one append_rule call per rule)",
                backend,
                f"{calls:.3f}s",
                f"{raw:.3f}s",
                f"{calls / raw:.2f}x",
            )
            report(
                "  (the same, after ensure_chain in the batch)",
                backend,
                f"{idiom:.3f}s",
                f"{raw:.3f}s",
                f"{idiom / raw:.2f}x",
            )
            report(
                "  (floor for that: one raw save, then the raw restore)",
                backend,
                f"{floor:.3f}s",
                f"{raw:.3f}s",
                f"{floor / raw:.2f}x",
            )
            report(
                "  (floor + a bare Python loop of the calls, no checks)",
                backend,
                f"{bare:.3f}s",
                f"{raw:.3f}s",
                f"{bare / raw:.2f}x",
            )
        data = payload("BENCH", loop_n)
        reset()
        start = time.perf_counter()
        for i in range(loop_n):
            ns.run([f"iptables-{backend}", "-A", "BENCH", *rule(i)])
        loop = time.perf_counter() - start
        reset()
        ours = median_time(lambda: ipt.restore("filter", data, flush=False), repeat, reset)
        report(
            f"create {loop_n} rules: batch vs per-rule -A loop",
            backend,
            f"{ours:.3f}s",
            f"{loop:.3f}s",
            f"{loop / ours:.0f}x faster",
        )

        # ensure N present rules
        n = loop_n
        reset()
        ns.run(restore, payload("BENCH", n))
        rules = [rule(i) for i in range(n)]  # built once, as an agent holds its rules

        def ensure_batch() -> None:
            with ipt.batch() as b:
                for r in rules:
                    b.ensure_rule(RulePosition.APPEND, "filter", "BENCH", *r)
            assert not b.result.changed

        desired = {"filter": {"BENCH": rules}}
        ensure_batch()  # warm the canonical cache, as a resyncing agent has it
        got = paired_medians(
            {
                "save": lambda: ns.run(save),
                "batch": ensure_batch,
                "sync": lambda: ipt.sync("BENCH", desired),
            },
            2 * repeat + 1,
        )
        raw_save, ours, ours_sync = got["save"], got["batch"], got["sync"]
        report(
            f"ensure {n} present rules: batch vs one raw save",
            backend,
            f"{ours:.4f}s",
            f"{raw_save:.4f}s",
            f"{ours / raw_save:.2f}x",
        )
        report(
            f"ensure {n} present rules: sync vs one raw save",
            backend,
            f"{ours_sync:.4f}s",
            f"{raw_save:.4f}s",
            f"{ours_sync / raw_save:.2f}x",
        )
        start = time.perf_counter()
        for i in range(n):
            ns.run([f"iptables-{backend}", "-C", "BENCH", *rule(i)])
        check_loop = time.perf_counter() - start
        report(
            f"ensure {n} present rules: batch vs -C loop",
            backend,
            f"{ours:.4f}s",
            f"{check_loop:.3f}s",
            f"{check_loop / ours:.0f}x faster",
        )

        # delete N rules
        def refill() -> None:
            reset()
            ns.run(restore, payload("BENCH", n))

        def delete_batch() -> None:
            with ipt.batch() as b:
                for r in rules:
                    b.delete_rule("filter", "BENCH", *r)

        ours = median_time(delete_batch, repeat, refill)
        refill()
        start = time.perf_counter()
        for i in range(n):
            ns.run([f"iptables-{backend}", "-D", "BENCH", *rule(i)])
        del_loop = time.perf_counter() - start
        report(
            f"delete {n} rules: batch vs per-rule -D loop",
            backend,
            f"{ours:.4f}s",
            f"{del_loop:.3f}s",
            f"{del_loop / ours:.0f}x faster",
        )
        reset()
        ipt.delete_chain("filter", "BENCH")

        bench_kube_sync(ipt, backend, repeat)
        bench_parse(ns, backend, repeat)
        bench_single_calls(ns, backend, repeat)
    finally:
        ns.close()


class _Recording:
    """A SubprocessRunner that remembers the argv of its last call (the baseline's)."""

    def __init__(self) -> None:
        self.inner = SubprocessRunner()
        self.last: List[str] = []

    def run(
        self, argv: Sequence[str], *, input: Optional[bytes] = None, timeout: Optional[float] = None
    ) -> Result:
        self.last = list(argv)
        return self.inner.run(argv, input=input, timeout=timeout)


def bench_single_calls(ns: Netns, backend: str, repeat: int) -> None:
    """Run :func:`single_calls` inside the namespace, as an agent runs on its host: the
    client calls the binaries directly, with no ``ip netns exec`` in front to hide the
    cost of its own process handling."""
    here = os.path.abspath(__file__)
    out = ns.run([sys.executable, here, "--single-calls", backend, "--repeat", str(repeat)])
    for line in out.decode().splitlines():
        figure, ours, theirs, ratio = line.split("\t")
        report(figure, backend, ours, theirs, ratio)


def single_calls(backend: str, repeat: int, calls: int = 200) -> None:
    """One rule call as most agents make it, against ``subprocess.run`` of the same argv.

    The baseline runs exactly the argv the client ran, with no timeout: what a
    hand-rolled wrapper costs. Alternated, median per call. Prints tab-separated rows.
    """
    rec = _Recording()
    ipt = IPTables(mode=backend, runner=rec)
    ipt.ensure_chain("filter", "SINGLE")
    spec = rule(7)
    env = {**os.environ, "LC_ALL": "C"}

    def argv_of(call: Callable[[], object]) -> List[str]:
        call()
        return list(rec.last)

    ipt.append_rule("filter", "SINGLE", *spec)
    check = argv_of(lambda: ipt.ensure_rule(RulePosition.APPEND, "filter", "SINGLE", *spec))
    delete = argv_of(lambda: ipt.delete_rule("filter", "SINGLE", *spec))
    append = argv_of(lambda: ipt.append_rule("filter", "SINGLE", *spec))

    def bare(argv: List[str]) -> None:
        subprocess.run(argv, capture_output=True, env=env, check=False)

    def many(fn: Callable[[], object]) -> Callable[[], None]:
        def go() -> None:
            for _ in range(calls):
                fn()

        return go

    def present() -> None:
        ipt.ensure_rule(RulePosition.APPEND, "filter", "SINGLE", *spec)

    def cycle() -> None:
        ipt.delete_rule("filter", "SINGLE", *spec)
        ipt.append_rule("filter", "SINGLE", *spec)

    def bare_cycle() -> None:
        bare(delete)
        bare(append)

    got = paired_medians(
        {
            "ensure": many(present),
            "bare_check": many(lambda: bare(check)),
            "cycle": many(cycle),
            "bare_cycle": many(bare_cycle),
        },
        2 * repeat + 1,
    )
    per = 1000.0 / calls
    for figure, ours, theirs in (
        ("one ensure_rule (present) vs subprocess.run of its argv", "ensure", "bare_check"),
        ("one delete_rule + append_rule vs subprocess.run of theirs", "cycle", "bare_cycle"),
    ):
        print(
            f"{figure}\t{got[ours] * per:.2f}ms\t{got[theirs] * per:.2f}ms\t"
            f"{got[ours] / got[theirs]:.2f}x"
        )


def kube_rules(services: int, endpoints: int, changed: int = -1) -> Dict[str, List[List[str]]]:
    chains: Dict[str, List[List[str]]] = {"KPX-SERVICES": []}
    for s in range(services):
        vip = f"10.96.{s >> 8}.{s & 255}"
        svc = f"KPX-SVC-{s:05d}"
        chains["KPX-SERVICES"].append(
            [
                "-d",
                f"{vip}/32",
                "-p",
                "tcp",
                "-m",
                "comment",
                "--comment",
                f"ns/svc-{s}:http cluster IP",
                "-m",
                "tcp",
                "--dport",
                "80",
                "-j",
                svc,
            ]
        )
        chains[svc] = []
        eps = endpoints + (1 if s == changed else 0)
        for e in range(eps):
            sep = f"KPX-SEP-{s:05d}-{e}"
            prob = (
                []
                if e == eps - 1
                else [
                    "-m",
                    "statistic",
                    "--mode",
                    "random",
                    "--probability",
                    f"{1.0 / (eps - e):.11f}",
                ]
            )
            chains[svc].append(["-m", "comment", "--comment", f"ns/svc-{s}:http", *prob, "-j", sep])
            ep = f"10.244.{(s * 8 + e) >> 8 & 255}.{(s * 8 + e) & 255}"
            chains[sep] = [
                ["-s", f"{ep}/32", "-j", "KPX-MARK-MASQ"],
                ["-p", "tcp", "-m", "tcp", "-j", "DNAT", "--to-destination", f"{ep}:8080"],
            ]
    chains["KPX-MARK-MASQ"] = [["-j", "MARK", "--or-mark", "0x4000"]]
    return chains


def bench_kube_sync(ipt: IPTables, backend: str, repeat: int) -> None:
    services, endpoints = 1000, 3
    jumps = [Jump("nat", "PREROUTING", ("-j", "KPX-SERVICES"))]
    full = {"nat": kube_rules(services, endpoints)}
    first = ipt.sync("KPX-", full, jumps)
    rules = sum(len(r) for r in full["nat"].values())
    changed = {"nat": kube_rules(services, endpoints, changed=500)}
    syncer = Syncer(ipt, "KPX-")
    syncer.sync(full, jumps)
    t_read, t_mem, t_full, t_floor, size_read, size_mem = [], [], [], [], [], []
    t_read_floor: List[float] = []
    floor = b"*nat\n:KPX-FLOOR - [0:0]\nCOMMIT\n"
    for _ in range(2 * repeat + 1):  # each round measures all four, under the same load
        # the least any change can cost: one empty chain (legacy replaces the table)
        start = time.perf_counter()
        ipt.restore_all(floor, flush=False)
        t_floor.append(time.perf_counter() - start)
        ipt.delete_chain("nat", "KPX-FLOOR")
        # the least a sync that reads the kernel can cost: one save, one such restore
        start = time.perf_counter()
        ipt.save("nat")
        ipt.restore_all(floor, flush=False)
        t_read_floor.append(time.perf_counter() - start)
        ipt.delete_chain("nat", "KPX-FLOOR")
        # stateless: reads the kernel, sends the difference
        ipt.sync("KPX-", full, jumps)
        start = time.perf_counter()
        res = ipt.sync("KPX-", changed, jumps)
        t_read.append(time.perf_counter() - start)
        size_read.append(len(res.payload))
        # stateful (kube-proxy's partial sync): trusts what it applied last
        syncer.sync(full, jumps)
        start = time.perf_counter()
        res = syncer.sync(changed, jumps)
        t_mem.append(time.perf_counter() - start)
        size_mem.append(len(res.payload))
        # a full resync rewrites every chain: what an agent without diffing sends
        start = time.perf_counter()
        ipt.restore("nat", first.payload, flush=False)
        t_full.append(time.perf_counter() - start)
    full_t = statistics.median(t_full)
    med = statistics.median
    report(
        f"kube-like ({services} svc, {rules} rules), 1 svc changed: payload",
        backend,
        f"{med(size_mem):.0f}B",
        f"{len(first.payload)}B full",
        f"{med(size_mem) / len(first.payload):.2%}",
    )
    report(
        "kube-like, 1 svc changed: Syncer (partial) vs full resync",
        backend,
        f"{med(t_mem):.4f}s",
        f"{full_t:.3f}s",
        f"{med(t_mem) / full_t:.2f}x",
    )
    report(
        "kube-like: floor, any 1-chain change (restore) vs full resync",
        backend,
        f"{med(t_floor):.4f}s",
        f"{full_t:.3f}s",
        f"{med(t_floor) / full_t:.2f}x",
    )
    report(
        "kube-like, 1 svc changed: ipt.sync (reads kernel) vs full resync",
        backend,
        f"{med(t_read):.3f}s",
        f"{full_t:.3f}s",
        f"{med(t_read) / full_t:.2f}x",
    )
    report(
        "kube-like: floor for that: one save + a 1-chain restore",
        backend,
        f"{med(t_read_floor):.3f}s",
        f"{full_t:.3f}s",
        f"{med(t_read_floor) / full_t:.2f}x",
    )
    assert med(size_read) == med(size_mem)
    ipt.teardown("KPX-")


def bench_parse(ns: Netns, backend: str, repeat: int) -> None:
    n = 50_000
    ns.run([f"iptables-{backend}", "-N", "PARSE"])
    ns.run([f"iptables-{backend}-restore", "--noflush"], payload("PARSE", n))
    save = [f"iptables-{backend}-save", "-t", "filter"]
    data = ns.run(save)
    got = paired_medians(
        {"save": lambda: ns.run(save), "parse": lambda: parse_save(data)}, 2 * repeat + 1
    )
    saved, parsed = got["save"], got["parse"]
    assert parse_save(data)["filter"].rule_count() == n
    report(
        f"parse_save of {n} rules vs iptables-save producing them",
        backend,
        f"{parsed:.3f}s",
        f"{saved:.3f}s",
        f"{parsed / saved:.2f}x",
    )
    ns.run([f"iptables-{backend}", "-F", "PARSE"])
    ns.run([f"iptables-{backend}", "-X", "PARSE"])


def bench_fake(repeat: int, n: int, chain_n: int) -> None:
    data = payload("BIG", n).replace(b"*filter\n", b"*filter\n:BIG - [0:0]\n")
    fake = FakeIPTables(mode="nft")
    start = time.perf_counter()
    fake.restore_all(data)
    restore_t = time.perf_counter() - start
    start = time.perf_counter()
    out = fake.save("filter")
    save_t = time.perf_counter() - start
    assert out.count(b"\n-A BIG ") == n
    report(
        f"fake: restore {n} rules + save back",
        "fake",
        f"{restore_t + save_t:.2f}s",
        f"restore {restore_t:.2f}s save {save_t:.2f}s",
        "",
    )

    # Memory in a fresh process: what the fake holds once the rules are in (its parse
    # caches included), the transient peak of the restore, and the process's peak RSS
    # (interpreter and the 100k-line payload itself included).
    probe = (
        "import resource, sys, tracemalloc; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])\n"
        "from run import payload\nfrom iptwrap.fake import FakeIPTables\n"
        "n = int(sys.argv[3]); data = payload('BIG', n).replace(b'*filter\\n', b'*filter\\n:BIG - [0:0]\\n')\n"
        "fake = FakeIPTables(mode='nft'); fake.save()\n"
        "traced = sys.argv[4] == '1'\n"
        "if traced: tracemalloc.start()\n"
        "fake.restore_all(data); assert len(fake.rules('filter', 'BIG')) == n\n"
        "held, peak = tracemalloc.get_traced_memory() if traced else (0, 0)\n"
        "print(held, peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    here = os.path.dirname(os.path.abspath(__file__))

    def run_probe(traced: str) -> List[int]:
        res = subprocess.run(
            [sys.executable, "-c", probe, here, os.path.join(here, ".."), str(n), traced],
            capture_output=True,
            check=True,
            text=True,
        )
        return [int(x) for x in res.stdout.split()]

    held, peak, _ = run_probe("1")
    rss_kb = run_probe("0")[2]  # without tracemalloc's own overhead
    report(
        f"fake: memory holding {n} rules (fresh process)",
        "fake",
        f"{held / 2**20:.0f} MB held",
        f"restore peak {peak / 2**20:.0f} MB, RSS {rss_kb / 1024:.0f} MB",
        "",
    )

    fake = FakeIPTables(mode="nft")
    fake.restore_all(payload("BIG", chain_n).replace(b"*filter\n", b"*filter\n:BIG - [0:0]\n"))
    ops = 2000
    specs = [rule(i * 3 % chain_n) for i in range(ops)]
    timings = []
    for _pass in ("cold", "warm"):  # cold: first ensure of each spec parses it in full
        start = time.perf_counter()
        for spec in specs:
            fake.ensure_rule(RulePosition.APPEND, "filter", "BIG", *spec)
        timings.append((time.perf_counter() - start) / ops)
    report(
        f"fake: ensure_rule on a {chain_n}-rule chain (present), per call",
        "fake",
        f"{timings[1] * 1e6:.0f}us warm",
        f"{timings[0] * 1e6:.0f}us on first sight of a spec",
        "",
    )


def bench_ipset(repeat: int, n: int) -> None:
    """Filling a set with ``n`` entries: IPSet against a raw ``ipset restore``."""
    ns = Netns()
    try:
        ipset = IPSet(netns=ns.name)
        spec = SetSpec("BENCH", "hash:ip", maxelem=max(65536, 2 * n))
        ipset.create_set(spec)
        entries = [f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}" for i in range(n)]
        data = "".join(f"add BENCH {e}\n" for e in entries).encode()

        def batch() -> None:
            with ipset.batch() as b:
                b.add_entries("BENCH", entries)

        got = paired_medians(
            {
                "raw": lambda: ns.run(["ipset", "-exist", "restore"], data),
                "batch": batch,
                "sync": lambda: ipset.sync_entries(spec, entries),
            },
            2 * repeat + 1,
            lambda: ipset.flush_set("BENCH"),
        )
        for name, figure in (
            ("batch", f"ipset: add {n} entries, batch vs raw ipset restore"),
            ("sync", f"ipset: sync_entries of {n} (swap) vs raw ipset restore"),
        ):
            report(
                figure,
                "ipset",
                f"{got[name]:.3f}s",
                f"{got['raw']:.3f}s",
                f"{got[name] / got['raw']:.2f}x",
            )
    finally:
        ns.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-real", action="store_true", help="fake figures only")
    parser.add_argument(
        "--backend", choices=("nft", "legacy"), action="append", help="only this backend"
    )
    parser.add_argument("--no-fake", action="store_true", help="real-kernel figures only")
    parser.add_argument("--single-calls", metavar="BACKEND", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single_calls:  # run by bench_single_calls, inside the namespace
        single_calls(args.single_calls, args.repeat)
        return 0
    repeat = 1 if args.quick else args.repeat
    print(
        f"# machine: {platform.node()} {platform.machine()} {os.cpu_count()} cpus, "
        f"kernel {platform.release()}, Python {platform.python_version()}"
    )
    print(f"{'figure':<58} {'backend':<7} {'ours':>14} {'baseline':>26} {'ratio':>12}")
    real = not args.no_real and os.geteuid() == 0 and shutil.which("ip") is not None
    if real:
        sizes = [200] if args.quick else [1000, 5000, 10000]
        for backend in args.backend or ("nft", "legacy"):
            bench_real(backend, repeat, sizes, 100 if args.quick else 1000)
        if shutil.which("ipset") is not None:
            bench_ipset(repeat, 1000 if args.quick else 100_000)
    else:
        print("# real-kernel figures skipped (need root and ip netns)")
    if not args.no_fake:
        bench_fake(repeat, 5000 if args.quick else 100_000, 1000 if args.quick else 10_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
