"""Rule specs checked against the real iptables 1.8.9 binaries (legacy and nft) in
throwaway network namespaces, beyond the vectors of ``tests/data``.

The expectations (``tests/data/spec_real/*.jsonl``, one named-field record a line) were recorded by running ``iptables -A`` / ``iptables-save`` /
``iptables -L -n -v -x`` in a fresh netns per backend and family (with a user chain
``MYCHAIN`` in every table); they pin down canonical forms, listing texts, misuse
messages and the chains the kernel accepts a rule in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from iptwrap._rulespec.errors import (
    FakeError,
)
from iptwrap._rulespec.listing import format_listing_line
from iptwrap._rulespec.model import Command, ParseContext, RuleSpec
from iptwrap._rulespec.parser import parse_command

from .parsing import ctx, refused, render


def _ctx(family: int, backend: str) -> ParseContext:
    return ctx(family, backend, lambda table, chain: chain == "MYCHAIN")


def _parse(backend: str, family: int, table: str, chain: str, args: List[str]) -> Command:
    return parse_command(["-t", table, "-A", chain, *args], _ctx(family, backend))


DATA = Path(__file__).resolve().parents[1] / "data" / "spec_real"


def _load(name: str) -> List[Dict[str, Any]]:
    return [json.loads(x) for x in (DATA / name).read_text().splitlines() if x.strip()]


OK_CASES = _load("accepted.jsonl")
ERR_CASES = _load("refused.jsonl")
HOOK_CASES = _load("hooks.jsonl")


def _ids(cases: List[Dict[str, Any]]) -> List[str]:
    return [
        f"{i}-{','.join(c['backends'])}-v{c['family']}-" + " ".join(c["args"])[:60]
        for i, c in enumerate(cases)
    ]


@pytest.mark.parametrize("case", OK_CASES, ids=_ids(OK_CASES))
def test_accepted_rule(case: Dict[str, Any]) -> None:
    family, table, chain, args = case["family"], case["table"], case["chain"], case["args"]
    save, listing, warn = case["save_lines"], case["list_L_lines"], case["warnings"]
    for backend in case["backends"]:
        cmd = _parse(backend, family, table, chain, args)
        got = [f"-A {chain}" + (f" {r.text}" if r.text else "") for r in cmd.rules]
        assert got == save, backend
        assert [format_listing_line(0, 0, r) for r in cmd.rules] == listing, backend
        warnings = "".join(x[8:] + "\n" for x in cmd.extra if x.startswith("warning:"))
        assert warnings == warn
        assert not refused(cmd.rules[0], table, chain)


@pytest.mark.parametrize("case", ERR_CASES, ids=_ids(ERR_CASES))
def test_refused_by_parser(case: Dict[str, Any]) -> None:
    family, table, chain, args = case["family"], case["table"], case["chain"], case["args"]
    rc, stderr = case["rc"], case["stderr"]
    prog = "ip6tables" if family == 6 else "iptables"
    for backend in case["backends"]:
        with pytest.raises(FakeError) as ei:
            _parse(backend, family, table, chain, args)
        assert render(ei.value, prog, backend) == (rc, stderr)


def _hook_ids(cases: List[Dict[str, Any]]) -> List[str]:
    return _ids(cases)


@pytest.mark.parametrize("case", HOOK_CASES, ids=_hook_ids(HOOK_CASES))
def test_kernel_restrictions(case: Dict[str, Any]) -> None:
    family, args = case["family"], case["args"]
    places = [(w, False) for w in case["accepted_in"]] + [(w, True) for w in case["refused_in"]]
    for backend in case["backends"]:
        for where, expect in places:
            table, chain = where.split("/")
            rule: Optional[RuleSpec] = None
            try:
                rule = _parse(backend, family, table, chain, args).rule
            except FakeError:
                pytest.fail(f"{backend} {where}: parse error")
            assert rule is not None
            assert refused(rule, table, chain) is expect, (backend, where)
