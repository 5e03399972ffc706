"""Record ground truth from an iptables release's binaries, in network namespaces.

Replays the inputs of ``tests/data/canon.jsonl`` (a rule appended with ``-A``) and
``tests/data/errors.jsonl`` (a misuse) against another release's binaries, each case
in a fresh network namespace, and writes records of the same shape, so the releases
can be compared field by field (``--compare``). Needs root.

    python3 ci/record_ground_truth.py --release 1.8.11 --out tests/data/releases/1.8.11
    python3 ci/record_ground_truth.py --compare tests/data/releases/1.8.11

The binaries are looked up by their plain names (``iptables``, ``ip6tables-save``, ...)
in ``$IPTWRAP_RELEASES_DIR/RELEASE/{nft,legacy}/`` (``ci/releases.sh`` makes them), so
messages name the programs as the 1.8.9 recording does.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
RELEASES_DIR = Path(os.environ.get("IPTWRAP_RELEASES_DIR", "/var/cache/iptwrap/releases"))
Record = Dict[str, object]


class Netns:
    def __init__(self, path: str) -> None:
        self.name = f"iptw-rec-{uuid.uuid4().hex[:8]}"
        self.env = {**os.environ, "LC_ALL": "C", "PATH": f"{path}:{os.environ['PATH']}"}
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)

    def run(self, argv: List[str], stdin: Optional[str] = None) -> Tuple[int, str, str]:
        try:
            res = subprocess.run(
                ["ip", "netns", "exec", self.name, *argv],
                input=(stdin or "").encode(),
                capture_output=True,
                env=self.env,
                timeout=20,
            )
        except subprocess.TimeoutExpired:
            return -1, "", "timeout"
        return res.returncode, res.stdout.decode(), res.stderr.decode()

    def close(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], check=False)


def netns(path: str) -> Iterator[Netns]:
    ns = Netns(path)
    try:
        yield ns
    finally:
        ns.close()


def _rule_lines(text: str, chain: str) -> List[str]:
    head = f"-A {chain}"
    return [line for line in text.splitlines() if line == head or line.startswith(head + " ")]


def _one_or_many(record: Record, key: str, lines: List[str]) -> None:
    """The first rule a spec made, and all of them when it made several (``-s a,b``)."""
    record[key] = lines[0] if lines else None
    if len(lines) > 1:
        record[key + "s"] = lines


def canon_case(path: str, case: Record) -> Record:
    family = case["family"]
    prog = "ip6tables" if family == 6 else "iptables"
    table, chain, args = str(case["table"]), str(case["chain"]), list(case["args"])  # type: ignore[call-overload]
    out: Record = {k: case[k] for k in ("id", "backend", "family", "table", "chain", "args", "pre")}
    for ns in netns(path):
        for pre in case["pre"]:  # type: ignore[attr-defined]
            ns.run([prog, "-t", table, *shlex.split(pre)])
        before_save = _rule_lines(ns.run([f"{prog}-save", "-t", table])[1], chain)
        before_s = _rule_lines(ns.run([prog, "-t", table, "-S", chain])[1], chain)
        rc, _o, err = ns.run([prog, "-t", table, "-A", chain, *args])
        out["rc"], out["stderr"] = rc, err
        save = _rule_lines(ns.run([f"{prog}-save", "-t", table])[1], chain)[len(before_save) :]
        listed = _rule_lines(ns.run([prog, "-t", table, "-S", chain])[1], chain)[len(before_s) :]
        _one_or_many(out, "save_line", save if rc == 0 else [])
        _one_or_many(out, "list_rules_line", listed if rc == 0 else [])
        out["check_rc"], _o, out["check_stderr"] = ns.run([prog, "-t", table, "-C", chain, *args])
        listing = ns.run([prog, "-t", table, "-L", chain, "-n", "-v", "-x"])[1].splitlines()
        first = 2 + len(before_s)  # after the two header lines and the rules of ``pre``
        out["list_L_line"] = listing[first] if rc == 0 and len(listing) > first else None
    return out


def _uncommented(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("#"))


# Cases the recording holds that a replay cannot make again: a lock held by another
# process while the command runs, an environment prefix, a payload kept as a summary.
UNREPLAYABLE = {
    "restore_error_in_big_file": "its 1,000-line payload is recorded as a summary",
    "lock_held_restore_w1": "needs another process holding the xtables lock",
    "lock_held_restore_noflush_w1": "needs another process holding the xtables lock",
    "lock_held_ip6tables_append_nowait": "needs another process holding the xtables lock",
    "lock_env_XTABLES_LOCKFILE": "the command is an environment assignment",
}

_COMMANDS = {"-A", "-I", "-D", "-R", "-N", "-X", "-E", "-P", "-F", "-Z", "-C", "-S", "-L"}


def _command_chain(cmd: List[object]) -> Optional[str]:
    for i, word in enumerate(cmd[:-1]):
        if word in _COMMANDS and not str(cmd[i + 1]).startswith("-"):
            return str(cmd[i + 1])
    return None


def error_case(path: str, case: Record) -> Record:
    cmd = list(case["cmd"])  # type: ignore[call-overload]
    six = str(cmd[0]).startswith("ip6")
    out: Record = {k: case[k] for k in ("backend", "id", "desc", "cmd") if k in case}
    for key in ("pre", "stdin"):
        if key in case:
            out[key] = case[key]
    for ns in netns(path):
        for pre in case.get("pre") or []:  # type: ignore[attr-defined]
            ns.run(shlex.split(pre))
        rc, stdout, stderr = ns.run(cmd, case.get("stdin"))  # type: ignore[arg-type]
        out.update(rc=rc, stdout=stdout, stderr=stderr)
        saver = "ip6tables-save" if six else "iptables-save"
        out["after"] = _uncommented(ns.run([saver])[1])
        out["after_c"] = _uncommented(ns.run([saver, "-c"])[1])
        table = cmd[cmd.index("-t") + 1] if "-t" in cmd[:-1] else "filter"
        prog = "ip6tables" if six else "iptables"
        # the 1.8.9 recording keeps `-S` (of the table, or of the command's chain) where
        # it can: record both, the comparison takes the one it kept
        out["after_S"] = ns.run([prog, "-t", str(table), "-S"])[1].rstrip("\n")
        chain = _command_chain(cmd)
        if chain is not None:
            listed = ns.run([prog, "-t", str(table), "-S", chain])[1]
            out["after_S_chain"] = listed.rstrip("\n")
    return out


def load(path: Path) -> List[Record]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def record(release: str, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, replay in (("canon.jsonl", canon_case), ("errors.jsonl", error_case)):
        rows = []
        for case in load(DATA / name):
            path = str(RELEASES_DIR / release / str(case["backend"]))
            rows.append(replay(path, case))
        (out_dir / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"{len(rows)} records -> {out_dir / name}", file=sys.stderr)


def _key(record: Record) -> Tuple[object, ...]:
    return (record["backend"], record["id"], record.get("family"))


def _as_recorded(old: Record, rec: Record) -> Record:
    """An error record in the 1.8.9 recording's conventions: ``-S`` where its ``after``
    starts with ``-P``, and stdout without its last newline."""
    rec = dict(rec)
    if str(old.get("after") or "").startswith("-P"):
        kept = [rec.get("after_S"), rec.get("after_S_chain")]
        same_shape = [k for k in kept if str(k).count("-P ") == str(old["after"]).count("-P ")]
        rec["after"] = old["after"] if old["after"] in kept else (same_shape or kept)[0]
    elif "] -A " in str(old.get("after") or "") or "] -I " in str(old.get("after") or ""):
        rec["after"] = rec.get("after_c")  # recorded with counters
    stdout, was = rec.get("stdout"), old.get("stdout")
    if isinstance(stdout, str) and isinstance(was, str):
        if not was.startswith("#"):
            stdout = _uncommented(stdout) + ("\n" if stdout.endswith("\n") else "")
        rec["stdout"] = stdout if was.endswith("\n") else stdout.rstrip("\n")
    return rec


def compare(out_dir: Path) -> int:
    """Print every field that differs from the 1.8.9 recording; the count of cases."""
    differing = 0
    for name in ("canon.jsonl", "errors.jsonl"):
        base = {_key(r): r for r in load(DATA / name)}
        for rec in load(out_dir / name):
            old = base[_key(rec)]
            if rec["id"] in UNREPLAYABLE:
                continue
            if name == "errors.jsonl":
                rec = _as_recorded(old, rec)
            # an error record leaves what it did not capture as None
            fields = sorted(
                k
                for k in set(old) | set(rec)
                if k not in ("elapsed_s", "after_S", "after_S_chain", "after_c")
                and old.get(k) != rec.get(k)
                and not (name == "errors.jsonl" and old.get(k) is None)
            )
            if fields:
                differing += 1
                what = rec.get("args") or rec.get("cmd")
                print(f"{name} {rec['backend']} {rec['id']} {what}")
                for f in fields:
                    print(f"    {f}: 1.8.9 {old.get(f)!r}\n    {' ' * len(f)}  this {rec.get(f)!r}")
    return differing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--release")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--compare", type=Path)
    args = ap.parse_args()
    if args.compare:
        print(f"{compare(args.compare)} cases differ", file=sys.stderr)
        return
    if not args.release or not args.out:
        ap.error("--release and --out, or --compare")
    record(args.release, args.out)


if __name__ == "__main__":
    main()
