"""``--to-destination`` with an IPv6 address or brackets in iptables (IPv4), per release.

Recorded from the real binaries of each release in namespaces (both backends answer
alike); tests/integration/test_nat_to_addresses.py compares them live.
"""

from __future__ import annotations

import pytest

from iptwrap.fake import FakeRunner

ANSWERS = {
    "1.8.7": {
        "[2001:db8::1]:80": "Port `db8::1]:80' not valid",
        "2001:db8::1": "Port `db8::1' not valid",
        "192.0.2.1:80:90": "Invalid port:port syntax - use dash",
        "[192.0.2.1]:80": 'Bad IP address "[192.0.2.1]"',
        "2001:db8::1-2001:db8::2": "Port `db8::1-2001:db8::2' not valid",
    },
    "1.8.9": {
        "[2001:db8::1]:80": "Invalid address format",
        "2001:db8::1": 'Bad IP address "2001:db8::1"',
        "192.0.2.1:80:90": 'Bad IP address "192.0.2.1:80:90"',
        "[192.0.2.1]:80": "Invalid address format",
        "2001:db8::1-2001:db8::2": 'Bad IP address "2001:db8::1"',
    },
}
ANSWERS["1.8.11"] = ANSWERS["1.8.9"]


@pytest.mark.parametrize("backend", ["nft", "legacy"])
@pytest.mark.parametrize("release", sorted(ANSWERS))
def test_nat_to_with_the_other_family(backend: str, release: str) -> None:
    fake = FakeRunner(mode=backend, version=release)
    tag = "nf_tables" if backend == "nft" else "legacy"
    for value, message in ANSWERS[release].items():
        res = fake.run(
            ["iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "-j", "DNAT",
             "--to-destination", value]
        )  # fmt: skip
        assert res.returncode == 2
        assert res.stderr.decode().splitlines()[0] == f"iptables v{release} ({tag}): {message}"
