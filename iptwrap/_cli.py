"""The ``iptwrap`` command (and ``python -m iptwrap``): save, diff, apply, demo.

Errors are one line on stderr and exit 2 (``--debug`` shows the traceback); ``diff``
exits 0 when the kernel equals the file, 1 when it differs. argparse: the library
gains no dependency for its command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import shlex
import sys
import time
from typing import Callable, List, Optional, Sequence, TextIO

from ._client import IPTables
from ._dump import Dump, SavedTable, parse_save
from ._errors import IPTablesError, SaveFormatError
from ._interface import Interface
from ._payload import check_payload, checked_table
from ._types import Protocol

__all__ = ["main"]

ClientFactory = Callable[[argparse.Namespace], Interface]


def _common(defaults: bool) -> argparse.ArgumentParser:
    """The options every subcommand takes, before or after its name.

    The subcommands' copies have no defaults (``SUPPRESS``): a default there would
    overwrite what was given before the subcommand, and ``iptwrap --netns blue apply``
    would apply to the host.
    """
    common = argparse.ArgumentParser(add_help=False)

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    common.add_argument(
        "--netns", metavar="NAME|PATH", default=default(None), help="in this network namespace"
    )
    common.add_argument(
        "--mode", choices=("auto", "nft", "legacy"), default=default("auto"), help="backend"
    )
    common.add_argument(
        "-6", dest="ipv6", action="store_true", default=default(False), help="ip6tables"
    )
    common.add_argument(
        "--debug", action="store_true", default=default(False), help="show tracebacks"
    )
    return common


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="iptwrap", description=__doc__, parents=[_common(True)])
    common = _common(False)
    sub = parser.add_subparsers(dest="command", required=True)
    save = sub.add_parser("save", parents=[common], help="print the current rules")
    save.add_argument("--table", "-t", help="one table (default: all)")
    save.add_argument("--json", action="store_true", help="the typed dump as JSON")
    diff = sub.add_parser("diff", parents=[common], help="the kernel's tables against FILE")
    diff.add_argument("file", help="iptables-save text ('-': stdin)")
    apply = sub.add_parser("apply", parents=[common], help="make the tables in FILE so")
    apply.add_argument("file", help="iptables-save text ('-': stdin)")
    apply.add_argument("--dry-run", action="store_true", help="print the payload, apply nothing")
    apply.add_argument("--check", action="store_true", help="also iptables-restore --test it")
    trace = sub.add_parser("trace", help="what the rules in FILE do to one packet (no root)")
    trace.add_argument("packet", help='e.g. "tcp 198.51.100.2:40000 -> 203.0.113.1:8080 iif eth0"')
    trace.add_argument("--save", required=True, metavar="FILE", help="the host's iptables-save")
    trace.add_argument("--network", required=True, metavar="NET.json", help="its interfaces")
    trace.add_argument("--json", action="store_true", help="the trace as JSON")
    sub.add_parser(
        "demo", parents=[common], help="the demo, on the fake (no root); see iptwrap demo --help"
    )
    return parser


def _real_client(args: argparse.Namespace) -> Interface:
    protocol = Protocol.IPV6 if args.ipv6 else Protocol.IPV4
    return IPTables(protocol, mode=args.mode, netns=args.netns)


def main(
    argv: Optional[Sequence[str]] = None,
    *,
    client: ClientFactory = _real_client,
    stdout: Optional[TextIO] = None,
    stderr: Optional[TextIO] = None,
) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "demo":  # the demo's own options pass through
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        if args.command == "demo":
            from ._demo import main as demo

            extra = ["--backend", args.mode] if args.mode != "auto" else []
            return demo([*extra, *(["--ipv6"] if args.ipv6 else []), *rest])
        if args.command == "trace":
            return _trace(args, out)
        ipt = client(args)
        if args.command == "save":
            return _save(ipt, args, out)
        text = _read(args.file)
        if args.command == "diff":
            return _diff(ipt, text, out)
        return _apply(ipt, text, args, out, err)
    except (IPTablesError, SaveFormatError, OSError, ValueError) as exc:
        if args.debug:
            raise
        err.write(f"iptwrap: {type(exc).__name__}: {exc}\n")
        return 2


def _trace(args: argparse.Namespace, out: TextIO) -> int:
    from .trace import trace
    from .trace._text import network_from_json, parse_packet, trace_to_json

    packet = parse_packet(args.packet)
    net = network_from_json(json.loads(_read(args.network)))
    result = trace(parse_save(_read(args.save)), packet, net)
    if args.json:
        json.dump(trace_to_json(result), out, indent=2)
        out.write("\n")
    else:
        out.write(result.render())
    return 0


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as f:
        return f.read()


def _save(ipt: Interface, args: argparse.Namespace, out: TextIO) -> int:
    data = ipt.save(checked_table(args.table) if args.table else None)
    if args.json:
        json.dump(dataclasses.asdict(parse_save(data)), out, indent=2)
        out.write("\n")
    else:
        out.write(data.decode("utf-8"))
    return 0


def _diff(ipt: Interface, text: str, out: TextIO) -> int:
    wanted = parse_save(text)
    differs = False
    for name, table in wanted.tables.items():
        kernel = parse_save(ipt.save(checked_table(name))).tables.get(name, SavedTable(name))
        want = _lines(ipt, table, canonical=True)
        have = _lines(ipt, kernel, canonical=False)
        delta = list(
            difflib.unified_diff(have, want, f"kernel *{name}", f"file *{name}", lineterm="")
        )
        if delta:
            differs = True
            out.write("\n".join(delta) + "\n")
    return 1 if differs else 0


def _lines(ipt: Interface, table: SavedTable, canonical: bool) -> List[str]:
    """The table as comparable lines: declarations without counters, then the rules,
    the file's written as the binary would save them (its canonical text)."""
    identity = getattr(ipt, "identity", None) if canonical else None
    lines = [f":{c.name} {c.policy or '-'}" for c in table.chains.values()]
    for chain in table.chains.values():
        texts: List[Optional[str]] = [r.spec for r in chain.rules]
        if identity is not None and texts:
            tokens = [tuple(shlex.split(t)) for t in texts]
            found = identity.texts(table.name, chain.name, tokens)
            texts = [f if f is not None else t for f, t in zip(found, texts)]
        lines += [f"-A {chain.name} {t}".rstrip() for t in texts]
    return lines


def _apply(ipt: Interface, text: str, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    wanted: Dump = parse_save(text)  # refuses what is not save text, naming the line
    payload = wanted.render(counters=False)
    check_payload(payload)
    rules = sum(t.rule_count() for t in wanted.tables.values())
    if args.dry_run:
        if args.check:
            ipt.check_restore(payload)  # every table of the file declares its chains
        out.write(payload.decode("utf-8"))
        return 0
    if args.check:
        raise ValueError("--check asks iptables-restore --test only: use it with --dry-run")
    start = time.monotonic()
    tty = err.isatty()
    if tty:
        err.write(f"applying {rules} rules to {len(wanted.tables)} tables ...")
        err.flush()
    ipt.restore_all(payload, flush=True)
    if tty:
        err.write(f" done in {time.monotonic() - start:.1f}s\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
