"""DNAT/SNAT ``--to-*`` spellings with the other family's address, or brackets, in
iptables (IPv4): the fake answers each as the real binary of each release does.

From 1.8.9 the IPv4 ``--to-*`` goes through the same parser as IPv6 (``[..]`` is
"Invalid address format"; two colons mean no port); 1.8.7 read everything after the
first colon as the port. Measured on both backends.
"""

from __future__ import annotations

from typing import List, Tuple

import pytest

from iptwrap.fake import FakeRunner

from .netns import BACKENDS, RELEASES, Namespace, release_binary, require_release

SPELLINGS = [
    ("DNAT", "--to-destination", "[2001:db8::1]:80"),
    ("DNAT", "--to-destination", "2001:db8::1"),
    ("DNAT", "--to-destination", "2001:db8::1-2001:db8::2"),
    ("DNAT", "--to-destination", "192.0.2.1:80:90"),
    ("DNAT", "--to-destination", "[192.0.2.1]:80"),
    ("DNAT", "--to-destination", "[192.0.2.1"),
    ("DNAT", "--to-destination", "192.0.2.1:80-90"),
    ("SNAT", "--to-source", "[2001:db8::1]"),
    ("SNAT", "--to-source", "2001:db8::5"),
    ("SNAT", "--to-source", "198.51.100.1-198.51.100.9:1024-2048"),
]


def _answer(res_rc: int, stderr: bytes) -> Tuple[int, str]:
    lines = stderr.decode().strip().splitlines()
    return res_rc, lines[0] if lines else ""


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_nat_to_spellings_as_each_release_reads_them(
    ns: Namespace, backend: str, release: str
) -> None:
    require_release(release, backend)
    prog = release_binary(release, backend, 4)
    fake = FakeRunner(mode=backend, version=release)
    for target, option, value in SPELLINGS:
        chain = "PREROUTING" if target == "DNAT" else "POSTROUTING"
        argv: List[str] = ["-t", "nat", "-A", chain, "-p", "tcp", "-j", target, option, value]
        real = ns.exec(prog, "-w", "5", *argv)
        emulated = fake.run([f"iptables-{backend}", "-w", "5", *argv])
        assert _answer(emulated.returncode, emulated.stderr) == _answer(
            real.returncode, real.stderr.replace(prog.encode(), f"iptables-{backend}".encode())
        ), (release, value)
