"""A /0 mask makes the address irrelevant: libxtables ignores the name (``any/0``).

From go-iptables' test suite: ip6tables takes ``-s 0/0``, ``-d any/0`` and ``-s foo/0``,
iptables takes ``-s ::/0``. The fake answers each spelling as the real binary does
(exit code, message, and the rule ``-S`` prints), on both backends and families.
"""

from __future__ import annotations

from typing import Callable, List, Tuple

import pytest

from iptwrap.fake import FakeRunner

from .netns import BACKENDS, Namespace

SPELLINGS = [
    ["-s", "::/0"],
    ["-s", "0/0"],
    ["-d", "any/0"],
    ["-s", "foo/0"],
    ["!", "-s", "foo/0"],
    ["-s", "192.0.2.1/0"],
    ["-s", "2001:db8::1/0"],
    ["-s", "0.0.0.0/0,192.0.2.1"],
    ["-s", "foo/1"],
]


Run = Callable[[List[str]], Tuple[int, str, str]]


def _answer(run: Run, prog: str, args: List[str]) -> Tuple[int, str, List[str]]:
    added = run([prog, "-w", "5", "-A", "INPUT", *args, "-j", "ACCEPT"])
    listed = run([prog, "-w", "5", "-S", "INPUT"])
    rules = [line for line in listed[1].splitlines() if line.startswith("-A")]
    run([prog, "-w", "5", "-F", "INPUT"])
    return added[0], added[2].strip().splitlines()[0] if added[2].strip() else "", rules


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", [4, 6])
def test_null_masks_as_the_binaries_take_them(ns: Namespace, backend: str, family: int) -> None:
    prog = f"{'ip6' if family == 6 else 'ip'}tables-{backend}"
    fake = FakeRunner(mode=backend)

    def real(argv: List[str]) -> Tuple[int, str, str]:
        res = ns.exec(*argv)
        return res.returncode, res.stdout.decode(), res.stderr.decode()

    def emulated(argv: List[str]) -> Tuple[int, str, str]:
        res = fake.run(argv)
        return res.returncode, res.stdout.decode(), res.stderr.decode()

    for args in SPELLINGS:
        assert _answer(emulated, prog, args) == _answer(real, prog, args), args
