"""The demo: real agents' rulesets applied through the fake, printed as iptables-save.

``iptwrap demo`` (or ``./ci/demo``). No root, no kernel: the production client
runs over ``iptwrap.fake.FakeRunner``, which answers as iptables 1.8.9 would.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from ._errors import IPTablesError
from ._scenarios import SCENARIOS
from ._types import Protocol, RulePosition


def main(argv: Optional[List[str]] = None) -> int:
    from .fake import FakeIPTables, FakeRunner

    parser = argparse.ArgumentParser(prog="iptwrap demo", description=__doc__)
    parser.add_argument("--backend", choices=("nft", "legacy"), default="nft")
    parser.add_argument("--ipv6", action="store_true", help="drive ip6tables instead")
    parser.add_argument(
        "--scenario",
        choices=sorted(SCENARIOS),
        action="append",
        help="run only these (default: all)",
    )
    parser.add_argument(
        "--show-calls", action="store_true", help="print every argv the client sent"
    )
    args = parser.parse_args(argv)

    out = sys.stdout
    host = FakeRunner(mode=args.backend)
    protocol = Protocol.IPV6 if args.ipv6 else Protocol.IPV4
    ipt = FakeIPTables(protocol, mode=args.backend, runner=host)
    out.write(
        f"# iptwrap demo on the fake ({ipt.binaries.iptables} v{ipt.version}, "
        f"{ipt.mode.value} backend)\n"
    )
    for name in args.scenario or list(SCENARIOS):
        scenario, doc = SCENARIOS[name]
        before = len(host.calls)
        scenario(ipt)
        out.write(f"# scenario {name}: {doc} ({len(host.calls) - before} calls)\n")
        if args.show_calls:
            for call in host.calls[before:]:
                out.write("#   " + " ".join(call) + "\n")

    # Ensuring again changes nothing: identity is canonical, not textual.
    again = ipt.ensure_rule(RulePosition.APPEND, "filter", "INPUT", "-i", "lo", "-j", "ACCEPT")
    out.write(f"# ensure_rule of an existing rule again -> already existed: {again}\n")
    # Errors are typed, with the backend's own message.
    try:
        ipt.delete_chain("filter", "DOCKER-USER")
    except IPTablesError as exc:
        out.write(f"# delete_chain DOCKER-USER -> {type(exc).__name__}: {exc}\n")
    out.write(ipt.dump())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
